/* test_kv.c - tab-separated key=value records (kv.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/kv.h"

/* struct sw_kv holds 8 KB of storage: keep it off the stack. */
static struct sw_kv kv;

/* Values that must survive sw_kv_add then sw_kv_parse unchanged. */
static const char *const round_trip_values[] = {
    "",
    "plain",
    "provider incident 4711",
    "a\tb",
    "line1\nline2\n",
    "back\\slash",
    "\\t is not a tab",
    "\\x41 is not an A",
    "\\",
    "\x01\x02\x1f\x7f",
    "\r\n",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7",
    "\xff\xfe latin-1 or worse",
    "a=b=c",
    "key=value\tother=x",
    " leading and trailing ",
    "550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked",
};

/* has_raw_controls - an encoded line must not contain tab/newline/controls
 * except the tabs between fields */
static bool
has_raw_controls(const char *s, size_t n, size_t tabs_allowed)
{
    size_t i, tabs = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '\t') {
            tabs++;
            continue;
        }
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
            return true;
    }
    return tabs != tabs_allowed;
}

static void
test_round_trip_one_field(void **state)
{
    const char *why = NULL;
    struct sw_buf b;
    size_t i;
    int failed = 0;

    (void) state;
    sw_buf_init(&b, SW_KV_MAX_LINE);
    for (i = 0; i < sizeof(round_trip_values) / sizeof(round_trip_values[0]); i++) {
        const char *v = round_trip_values[i];

        sw_buf_reset(&b);
        assert_true(sw_kv_add(&b, "reason", v));
        if (has_raw_controls(b.data, b.len, 0)) {
            print_error("value %zu: encoded line \"%s\" has raw control bytes\n", i, b.data);
            failed++;
        }
        if (!sw_kv_parse(&kv, b.data, b.len, &why)) {
            print_error("value %zu: \"%s\" does not parse back: %s\n", i, b.data, why);
            failed++;
            continue;
        }
        if (kv.n != 1 || strcmp(kv.key[0], "reason") != 0 || strcmp(kv.val[0], v) != 0) {
            print_error("value %zu: encoded \"%s\", parsed back n=%zu \"%s\"\n", i, b.data, kv.n,
                        kv.n ? kv.val[0] : "");
            failed++;
        }
    }
    sw_buf_free(&b);
    assert_int_equal(failed, 0);
}

/* All the values in one record, each under its own key. */
static void
test_round_trip_record(void **state)
{
    const size_t n = sizeof(round_trip_values) / sizeof(round_trip_values[0]);
    const char *why = NULL;
    char key[32];
    struct sw_buf b;
    size_t i;

    (void) state;
    sw_buf_init(&b, SW_KV_MAX_LINE);
    for (i = 0; i < n; i++) {
        (void) snprintf(key, sizeof(key), "k%zu", i);
        assert_true(sw_kv_add(&b, key, round_trip_values[i]));
    }
    assert_true(sw_kv_addl(&b, "neg", -42));
    assert_true(sw_kv_addl(&b, "min", LONG_MIN));
    assert_false(has_raw_controls(b.data, b.len, n + 1));
    if (!sw_kv_parse(&kv, b.data, b.len, &why))
        print_error("record does not parse: %s\n", why);
    assert_int_equal(kv.n, n + 2);
    for (i = 0; i < n; i++) {
        (void) snprintf(key, sizeof(key), "k%zu", i);
        assert_string_equal(kv.key[i], key);
        assert_string_equal(kv.val[i], round_trip_values[i]);
        assert_string_equal(sw_kv_get(&kv, key), round_trip_values[i]);
    }
    assert_string_equal(sw_kv_get(&kv, "neg"), "-42");
    (void) snprintf(key, sizeof(key), "%ld", LONG_MIN);
    assert_string_equal(sw_kv_get(&kv, "min"), key);
    sw_buf_free(&b);
}

/* A field after a newline starts a new line without a tab. */
static void
test_add_separators(void **state)
{
    struct sw_buf b;

    (void) state;
    sw_buf_init(&b, 1024);
    assert_true(sw_kv_add(&b, "v", "1"));
    assert_true(sw_kv_addl(&b, "n", 7));
    assert_true(sw_buf_addc(&b, '\n'));
    assert_true(sw_kv_add(&b, "a", "x\ty"));
    assert_string_equal(sw_buf_str(&b), "v=1\tn=7\na=x\\ty");
    sw_buf_free(&b);
    /* A full buffer reports failure. */
    sw_buf_init(&b, 8);
    assert_false(sw_kv_add(&b, "reason", "too long"));
    sw_buf_free(&b);
}

/* Lines that parse, with what they hold. */
static const struct parse_ok_case {
    const char *line;
    size_t n;
    const char *key[3];
    const char *val[3];
} parse_ok_cases[] = {
    { "", 0, { NULL }, { NULL } },
    { "a=1", 1, { "a" }, { "1" } },
    { "a=", 1, { "a" }, { "" } },
    { "a=1\tb=2", 2, { "a", "b" }, { "1", "2" } },
    { "a=1\tb=2\t", 2, { "a", "b" }, { "1", "2" } },
    { "k_9=x=y", 1, { "k_9" }, { "x=y" } },
    { "k=\\x41\\x7f\\xFf", 1, { "k" }, { "A\x7f\xff" } },
    { "k=\\x09\\t\\n\\\\", 1, { "k" }, { "\t\t\n\\" } },
    { "k=caf\xc3\xa9", 1, { "k" }, { "caf\xc3\xa9" } },
    { "a=1\ta=2\tb=", 3, { "a", "a", "b" }, { "1", "2", "" } },
};

static void
test_parse_ok(void **state)
{
    const char *why;
    size_t i, k;
    int failed = 0;

    (void) state;
    for (i = 0; i < sizeof(parse_ok_cases) / sizeof(parse_ok_cases[0]); i++) {
        const struct parse_ok_case *c = &parse_ok_cases[i];

        why = NULL;
        if (!sw_kv_parse(&kv, c->line, strlen(c->line), &why)) {
            print_error("\"%s\": refused (%s)\n", c->line, why);
            failed++;
            continue;
        }
        if (kv.n != c->n) {
            print_error("\"%s\": %zu fields, expected %zu\n", c->line, kv.n, c->n);
            failed++;
            continue;
        }
        for (k = 0; k < c->n; k++)
            if (strcmp(kv.key[k], c->key[k]) != 0 || strcmp(kv.val[k], c->val[k]) != 0) {
                print_error("\"%s\": field %zu is %s=\"%s\", expected %s=\"%s\"\n", c->line, k,
                            kv.key[k], kv.val[k], c->key[k], c->val[k]);
                failed++;
            }
    }
    assert_int_equal(failed, 0);
}

/* Lines that must be refused, with a word of the reason. */
static const struct parse_bad_case {
    const char *line;
    const char *why;
} parse_bad_cases[] = {
    { "A=1", "bad character in key" },
    { "a-b=1", "bad character in key" },
    { "a b=1", "bad character in key" },
    { "a=1\t\tb=2", "bad character in key" },
    { "a=1\nb=2", "control character in value" },
    { "=1", "without key=value" },
    { "abc", "without key=value" },
    { "a=1\tb", "without key=value" },
    { "k=\\q", "unknown escape" },
    { "k=\\r", "unknown escape" },
    { "k=\\x0", "bad \\x escape" },
    { "k=\\x", "bad \\x escape" },
    { "k=\\x00", "bad \\x escape" },
    { "k=\\x0g", "bad \\x escape" },
    { "k=\\xg0", "bad \\x escape" },
    { "k=\\x0\tb=1", "bad \\x escape" },
    { "k=abc\\", "backslash at end" },
    { "k=\\", "backslash at end" },
    { "k=a\x01"
      "b",
      "control character" },
    { "k=a\x7f", "control character" },
    { "k=a\rb", "control character" },
};

static void
test_parse_errors(void **state)
{
    const char *why;
    size_t i;
    int failed = 0;

    (void) state;
    for (i = 0; i < sizeof(parse_bad_cases) / sizeof(parse_bad_cases[0]); i++) {
        const struct parse_bad_case *c = &parse_bad_cases[i];

        why = NULL;
        if (sw_kv_parse(&kv, c->line, strlen(c->line), &why)) {
            print_error("\"%s\": accepted, expected \"%s\"\n", c->line, c->why);
            failed++;
        } else if (why == NULL || strstr(why, c->why) == NULL) {
            print_error("\"%s\": reason \"%s\", expected \"%s\"\n", c->line, why ? why : "(null)",
                        c->why);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

/* Limits: 32 fields, SW_KV_MAX_LINE bytes. */
static void
test_limits(void **state)
{
    const char *why = NULL;
    struct sw_buf b;
    char key[16], *line;
    size_t i;

    (void) state;
    sw_buf_init(&b, 2 * SW_KV_MAX_LINE);
    for (i = 0; i < SW_KV_MAX_FIELDS; i++) {
        (void) snprintf(key, sizeof(key), "f%zu", i);
        assert_true(sw_kv_addl(&b, key, (long) i));
    }
    assert_true(sw_kv_parse(&kv, b.data, b.len, &why));
    assert_int_equal(kv.n, SW_KV_MAX_FIELDS);
    assert_string_equal(sw_kv_get(&kv, "f31"), "31");
    assert_true(sw_kv_add(&b, "one", "more"));
    assert_false(sw_kv_parse(&kv, b.data, b.len, &why));
    assert_non_null(strstr(why, "too many fields"));

    /* A line of exactly SW_KV_MAX_LINE bytes parses; one more byte does not. */
    line = malloc(SW_KV_MAX_LINE + 2);
    assert_non_null(line);
    memcpy(line, "k=", 2);
    memset(line + 2, 'v', SW_KV_MAX_LINE - 2);
    assert_true(sw_kv_parse(&kv, line, SW_KV_MAX_LINE, &why));
    assert_int_equal(strlen(sw_kv_get(&kv, "k")), SW_KV_MAX_LINE - 2);
    line[SW_KV_MAX_LINE] = 'v';
    assert_false(sw_kv_parse(&kv, line, SW_KV_MAX_LINE + 1, &why));
    assert_non_null(strstr(why, "too long"));
    /* The most fields that fit, each with an empty value. */
    sw_buf_reset(&b);
    for (i = 0; i < SW_KV_MAX_FIELDS; i++)
        assert_true(sw_kv_add(&b, "k", ""));
    assert_true(sw_kv_parse(&kv, b.data, b.len, &why));
    assert_int_equal(kv.n, SW_KV_MAX_FIELDS);
    free(line);
    sw_buf_free(&b);
}

/* sw_kv_get: first match, NULL when absent, exact key comparison. */
static void
test_get(void **state)
{
    static const char line[] = "verb=divert\tscope=example.com\tfor=2h\tfor=3h\treason=";
    const char *why;

    (void) state;
    assert_true(sw_kv_parse(&kv, line, strlen(line), &why));
    assert_string_equal(sw_kv_get(&kv, "verb"), "divert");
    assert_string_equal(sw_kv_get(&kv, "for"), "2h");
    assert_string_equal(sw_kv_get(&kv, "reason"), "");
    assert_null(sw_kv_get(&kv, "to"));
    assert_null(sw_kv_get(&kv, "ver"));
    assert_null(sw_kv_get(&kv, "verbs"));
    assert_true(sw_kv_parse(&kv, "", 0, &why));
    assert_null(sw_kv_get(&kv, "verb"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_one_field),
        cmocka_unit_test(test_round_trip_record),
        cmocka_unit_test(test_add_separators),
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_get),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
