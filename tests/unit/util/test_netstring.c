/* test_netstring.c - netstring framing (netstring.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/netstring.h"

#define LEN_STRLEN ((size_t) -1)

static const char *
status_name(enum sw_ns_status st)
{
    switch (st) {
    case SW_NS_OK: return "OK";
    case SW_NS_MORE: return "MORE";
    case SW_NS_BAD: return "BAD";
    case SW_NS_TOOBIG: return "TOOBIG";
    }
    return "?";
}

/* One call of sw_ns_decode on the front of a buffer. */
static const struct decode_case {
    const char *name;
    const char *in;
    size_t len; /* LEN_STRLEN: strlen(in) */
    size_t max;
    enum sw_ns_status status;
    size_t off, plen, consumed; /* checked on SW_NS_OK */
} decode_cases[] = {
    { "empty payload", "0:,", LEN_STRLEN, 100, SW_NS_OK, 2, 0, 3 },
    { "hello", "5:hello,", LEN_STRLEN, 100, SW_NS_OK, 2, 5, 8 },
    { "first of two", "5:hello,3:abc,", LEN_STRLEN, 100, SW_NS_OK, 2, 5, 8 },
    { "trailing junk after a complete one", "1:a,xyz", LEN_STRLEN, 100, SW_NS_OK, 2, 1, 4 },
    { "payload with comma and colon", "3:a,b,", LEN_STRLEN, 100, SW_NS_OK, 2, 3, 6 },
    { "payload with NUL", "3:a\0b,", 6, 100, SW_NS_OK, 2, 3, 6 },
    { "two digit length", "12:hello world!,", LEN_STRLEN, 100, SW_NS_OK, 3, 12, 16 },
    { "length equal to max", "10:0123456789,", LEN_STRLEN, 10, SW_NS_OK, 3, 10, 14 },
    { "max 0 allows empty", "0:,", LEN_STRLEN, 0, SW_NS_OK, 2, 0, 3 },
    { "nothing yet", "", 0, 100, SW_NS_MORE, 0, 0, 0 },
    { "digits only", "5", LEN_STRLEN, 100, SW_NS_MORE, 0, 0, 0 },
    { "no payload yet", "5:", LEN_STRLEN, 100, SW_NS_MORE, 0, 0, 0 },
    { "no comma yet", "5:hello", LEN_STRLEN, 100, SW_NS_MORE, 0, 0, 0 },
    { "missing comma", "5:hello!", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "payload longer than the length", "4:hello,", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "non-digit length", "a:", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "non-digit in length", "1a:", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "non-digit without colon yet", "1a", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "empty length", ":,", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "bare colon", ":", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "negative length", "-1:x,", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "plus sign", "+5:hello,", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "leading space", " 5:hello,", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "space before colon", "5 :hello,", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "leading zero", "05:hello,", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "two zeros", "00:,", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "leading zero, prefix only", "05", LEN_STRLEN, 100, SW_NS_BAD, 0, 0, 0 },
    { "over max, payload present", "11:hello world,", LEN_STRLEN, 10, SW_NS_TOOBIG, 0, 0, 0 },
    { "over max, before the payload", "11:", LEN_STRLEN, 10, SW_NS_TOOBIG, 0, 0, 0 },
    { "over max 10000", "10001:", LEN_STRLEN, 10000, SW_NS_TOOBIG, 0, 0, 0 },
    { "at max 10000, waiting", "10000:", LEN_STRLEN, 10000, SW_NS_MORE, 0, 0, 0 },
    { "over max 0", "1:", LEN_STRLEN, 0, SW_NS_TOOBIG, 0, 0, 0 },
    { "9 digits, no limit", "999999999:", LEN_STRLEN, SIZE_MAX, SW_NS_MORE, 0, 0, 0 },
    { "10-digit length", "1234567890:", LEN_STRLEN, SIZE_MAX, SW_NS_TOOBIG, 0, 0, 0 },
    { "10 digits, no colon yet", "1000000000", LEN_STRLEN, SIZE_MAX, SW_NS_TOOBIG, 0, 0, 0 },
    { "20-digit length", "99999999999999999999:", LEN_STRLEN, SIZE_MAX, SW_NS_TOOBIG, 0, 0, 0 },
};

static void
test_decode_table(void **state)
{
    size_t i, len, off, plen, consumed;
    enum sw_ns_status st;
    int failed = 0;

    (void) state;
    for (i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
        const struct decode_case *c = &decode_cases[i];

        len = c->len == LEN_STRLEN ? strlen(c->in) : c->len;
        off = plen = consumed = 12345;
        st = sw_ns_decode(c->in, len, c->max, &off, &plen, &consumed);
        if (st != c->status) {
            print_error("case \"%s\": status %s, expected %s\n", c->name, status_name(st),
                        status_name(c->status));
            failed++;
            continue;
        }
        if (st == SW_NS_OK && (off != c->off || plen != c->plen || consumed != c->consumed)) {
            print_error("case \"%s\": off=%zu len=%zu consumed=%zu, expected %zu %zu %zu\n",
                        c->name, off, plen, consumed, c->off, c->plen, c->consumed);
            failed++;
        }
        if (st != SW_NS_OK && (off != 12345 || plen != 12345 || consumed != 12345)) {
            print_error("case \"%s\": outputs written on %s\n", c->name, status_name(st));
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

/* Every proper prefix of a valid netstring asks for more bytes. */
static const char *const prefix_cases[] = {
    "0:,",
    "5:hello,",
    "12:hello world!,",
    "3:a,b,",
};

static void
test_truncated_prefixes(void **state)
{
    size_t i, n, len, off, plen, consumed;
    enum sw_ns_status st;
    int failed = 0;

    (void) state;
    for (i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
        len = strlen(prefix_cases[i]);
        for (n = 0; n < len; n++) {
            st = sw_ns_decode(prefix_cases[i], n, 100, &off, &plen, &consumed);
            if (st != SW_NS_MORE) {
                print_error("\"%s\" cut to %zu bytes: %s, expected MORE\n", prefix_cases[i], n,
                            status_name(st));
                failed++;
            }
        }
        st = sw_ns_decode(prefix_cases[i], len, 100, &off, &plen, &consumed);
        if (st != SW_NS_OK || consumed != len) {
            print_error("\"%s\" whole: %s consumed %zu\n", prefix_cases[i], status_name(st),
                        consumed);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

/* Pipelined requests: decode, advance by consumed, decode again. */
static void
test_pipelined(void **state)
{
    static const char stream[] = "5:hello,0:,3:abc,11:transport *,2:x";
    static const char *const want[] = { "hello", "", "abc", "transport *" };
    size_t pos = 0, k = 0, off, plen, consumed, len = strlen(stream);
    enum sw_ns_status st;

    (void) state;
    while ((st = sw_ns_decode(stream + pos, len - pos, 100, &off, &plen, &consumed)) == SW_NS_OK) {
        assert_true(k < sizeof(want) / sizeof(want[0]));
        if (plen != strlen(want[k]) || memcmp(stream + pos + off, want[k], plen) != 0)
            print_error("netstring %zu: \"%.*s\", expected \"%s\"\n", k, (int) plen,
                        stream + pos + off, want[k]);
        assert_int_equal(plen, strlen(want[k]));
        assert_memory_equal(stream + pos + off, want[k], plen);
        pos += consumed;
        k++;
    }
    assert_int_equal(k, 4);
    assert_int_equal(st, SW_NS_MORE); /* "2:x" waits for the rest */
    assert_string_equal(stream + pos, "2:x");
}

/* Encoding: exact bytes, then a decode gives the payload back. */
static const struct encode_case {
    const char *payload;
    size_t len;
    const char *wire;
    size_t wire_len;
} encode_cases[] = {
    { "", 0, "0:,", 3 },
    { "hello", 5, "5:hello,", 8 },
    { "NOTFOUND ", 9, "9:NOTFOUND ,", 12 },
    { "OK smtp:[127.0.0.1]:25002", 25, "25:OK smtp:[127.0.0.1]:25002,", 29 },
    { "a,b:c", 5, "5:a,b:c,", 8 },
    { "a\0b", 3, "3:a\0b,", 6 },
};

static void
test_encode_round_trip(void **state)
{
    size_t i, off, plen, consumed;
    struct sw_buf b;
    char *big;

    (void) state;
    sw_buf_init(&b, 1 << 20);
    for (i = 0; i < sizeof(encode_cases) / sizeof(encode_cases[0]); i++) {
        const struct encode_case *c = &encode_cases[i];

        sw_buf_reset(&b);
        assert_true(sw_ns_encode(&b, c->payload, c->len));
        if (b.len != c->wire_len || memcmp(b.data, c->wire, c->wire_len) != 0)
            print_error("encode case %zu: got \"%s\", expected \"%s\"\n", i, sw_buf_str(&b),
                        c->wire);
        assert_int_equal(b.len, c->wire_len);
        assert_memory_equal(b.data, c->wire, c->wire_len);
        assert_int_equal(sw_ns_decode(b.data, b.len, 100, &off, &plen, &consumed), SW_NS_OK);
        assert_int_equal(plen, c->len);
        assert_int_equal(consumed, b.len);
        assert_memory_equal(b.data + off, c->payload, c->len);
    }

    /* A large binary payload: every byte value. */
    big = malloc(100000);
    assert_non_null(big);
    for (i = 0; i < 100000; i++)
        big[i] = (char) (i * 7 + 3);
    sw_buf_reset(&b);
    assert_true(sw_ns_encode(&b, big, 100000));
    assert_int_equal(b.len, 6 + 1 + 100000 + 1);
    assert_int_equal(sw_ns_decode(b.data, b.len, 100000, &off, &plen, &consumed), SW_NS_OK);
    assert_int_equal(plen, 100000);
    assert_memory_equal(b.data + off, big, 100000);
    /* One byte less than the limit needs: refused before the payload. */
    assert_int_equal(sw_ns_decode(b.data, 7, 99999, &off, &plen, &consumed), SW_NS_TOOBIG);
    free(big);

    /* Two encodings back to back decode in order. */
    sw_buf_reset(&b);
    assert_true(sw_ns_encode(&b, "one", 3) && sw_ns_encode(&b, "two", 3));
    assert_string_equal(sw_buf_str(&b), "3:one,3:two,");
    sw_buf_free(&b);

    /* A capped buffer refuses what does not fit. */
    sw_buf_init(&b, 8);
    assert_false(sw_ns_encode(&b, "too long!", 9));
    assert_true(b.overflow);
    sw_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_table),
        cmocka_unit_test(test_truncated_prefixes),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_encode_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
