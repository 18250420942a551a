/* test_smtpreply.c - the prober's reply parser (smtpreply.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/smtpreply.h"

static const struct reply_case {
    const char *name;
    const char *in;
    enum sw_reply_status st;
    int code;
    const char *text;
    unsigned ext;
    size_t used; /* 0: all of it */
} cases[] = {
    { "banner", "220 mx.example ESMTP\r\n", SW_REPLY_DONE, 220, "mx.example ESMTP", 0, 0 },
    { "bare LF", "220 hi\n", SW_REPLY_DONE, 220, "hi", 0, 0 },
    { "code only", "250\r\n", SW_REPLY_DONE, 250, "", 0, 0 },
    { "ehlo", "250-relay.example\r\n250-PIPELINING\r\n250-starttls\r\n250 SIZE 1000\r\n",
      SW_REPLY_DONE, 250, "relay.example", SW_EXT_STARTTLS | SW_EXT_PIPELINING | SW_EXT_SIZE, 0 },
    { "keyword must be whole", "250-x\r\n250-STARTTLSX\r\n250 8BITMIME\r\n", SW_REPLY_DONE, 250,
      "x", SW_EXT_8BITMIME, 0 },
    { "not yet complete", "250-x\r\n250 y", SW_REPLY_MORE, 0, NULL, 0, 0 },
    { "stops after the reply", "220 ok\r\n250 smuggled\r\n", SW_REPLY_DONE, 220, "ok", 0, 8 },
    { "mixed codes", "250-x\r\n251 y\r\n", SW_REPLY_BAD, 0, NULL, 0, 0 },
    { "not a code", "hello\r\n", SW_REPLY_BAD, 0, NULL, 0, 0 },
    { "1xx is not a reply", "199 x\r\n", SW_REPLY_BAD, 0, NULL, 0, 0 },
    { "bad separator", "250x\r\n", SW_REPLY_BAD, 0, NULL, 0, 0 },
    { "control bytes made safe", "421 a\001b\r\n", SW_REPLY_DONE, 421, "a?b", 0, 0 },
};

/* test_cases - each row fed whole */
static void
test_cases(void **state)
{
    struct sw_reply r;
    size_t i, used;
    enum sw_reply_status st;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sw_reply_init(&r);
        st = sw_reply_feed(&r, cases[i].in, strlen(cases[i].in), &used);
        print_message("case %s\n", cases[i].name);
        assert_int_equal(st, cases[i].st);
        if (st == SW_REPLY_BAD) {
            assert_non_null(r.error);
            continue;
        }
        assert_int_equal(used, cases[i].used ? cases[i].used : strlen(cases[i].in));
        if (st != SW_REPLY_DONE)
            continue;
        assert_int_equal(r.code, cases[i].code);
        assert_string_equal(r.text, cases[i].text);
        assert_int_equal(r.ext, cases[i].ext);
    }
}

/* test_byte_at_a_time - the socket may deliver one byte per read */
static void
test_byte_at_a_time(void **state)
{
    const char *in = "250-a.example\r\n250-STARTTLS\r\n250 OK\r\n";
    struct sw_reply r;
    enum sw_reply_status st = SW_REPLY_MORE;
    size_t i, used;

    (void) state;
    sw_reply_init(&r);
    for (i = 0; i < strlen(in); i++) {
        assert_int_equal(st, SW_REPLY_MORE);
        st = sw_reply_feed(&r, in + i, 1, &used);
        assert_int_equal(used, 1);
    }
    assert_int_equal(st, SW_REPLY_DONE);
    assert_int_equal(r.code, 250);
    assert_true(r.ext & SW_EXT_STARTTLS);
}

/* test_limits - long lines and endless replies are refused */
static void
test_limits(void **state)
{
    char line[SW_REPLY_LINE_MAX + 10];
    struct sw_reply r;
    size_t used;
    int i;

    (void) state;
    memset(line, 'a', sizeof(line));
    memcpy(line, "250 ", 4);
    sw_reply_init(&r);
    assert_int_equal(sw_reply_feed(&r, line, sizeof(line), &used), SW_REPLY_BAD);
    assert_string_equal(r.error, "reply line longer than 1000 bytes");
    /* once bad, always bad */
    assert_int_equal(sw_reply_feed(&r, "250 ok\r\n", 8, &used), SW_REPLY_BAD);

    sw_reply_init(&r);
    for (i = 0; i < SW_REPLY_LINES_MAX; i++)
        assert_int_equal(sw_reply_feed(&r, "250-x\r\n", 7, &used), SW_REPLY_MORE);
    assert_int_equal(sw_reply_feed(&r, "250-x\r\n", 7, &used), SW_REPLY_BAD);
    assert_string_equal(r.error, "reply longer than 100 lines");

    /* the kept text is capped */
    memset(line, 'b', sizeof(line));
    memcpy(line, "250 ", 4);
    memcpy(line + 500, "\r\n", 2);
    sw_reply_init(&r);
    assert_int_equal(sw_reply_feed(&r, line, 502, &used), SW_REPLY_DONE);
    assert_int_equal(strlen(r.text), SW_REPLY_TEXT_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_byte_at_a_time),
        cmocka_unit_test(test_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
