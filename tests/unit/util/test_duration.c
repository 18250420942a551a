/* test_duration.c - parse and print durations (duration.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/duration.h"

static const struct parse_case {
    const char *in;
    bool ok;
    long seconds;
} parse_cases[] = {
    { "90", true, 90 },
    { "1", true, 1 },
    { "90s", true, 90 },
    { "10m", true, 600 },
    { "2h", true, 7200 },
    { "1d", true, 86400 },
    { "1w", true, 7 * 86400 },
    { "1h30m", true, 5400 },
    { "1d2h3m4s", true, 86400 + 7200 + 180 + 4 },
    { "0h30m", true, 1800 }, /* a zero group is fine if the total is not */
    { "007m", true, 420 },
    { "366d", true, SW_DURATION_MAX },
    { "31622400", true, SW_DURATION_MAX },
    { "52w2d", true, SW_DURATION_MAX },
    { "", false, 0 },
    { "h", false, 0 },
    { "m5", false, 0 },
    { "-5m", false, 0 },
    { "+5m", false, 0 },
    { "5x", false, 0 },
    { "5M", false, 0 },
    { "5 m", false, 0 },
    { " 5m", false, 0 },
    { "5m ", false, 0 },
    { "5m\n", false, 0 },
    { "1.5h", false, 0 },
    { "0", false, 0 },
    { "0m", false, 0 },
    { "0h0m", false, 0 },
    { "367d", false, 0 },
    { "53w", false, 0 },
    { "31622401", false, 0 },
    { "366d1s", false, 0 },
    { "9223372036854775807s", false, 0 },
    { "99999999999999999999", false, 0 },
    { "9223372036854775807w", false, 0 },
    { "1000000000000000000d", false, 0 },
};

/* The command line's parser: the same, but every group names its unit. */
static const struct parse_case unit_cases[] = {
    { "90s", true, 90 },
    { "30m", true, 1800 },
    { "1h30m", true, 5400 },
    { "366d", true, SW_DURATION_MAX },
    { "52w2d", true, SW_DURATION_MAX },
    { "30", false, 0 },
    { "1", false, 0 },
    { "1h30", false, 0 },
    { "31622400", false, 0 },
    { "0m", false, 0 },
    { "367d", false, 0 },
    { "366d1s", false, 0 },
    { "", false, 0 },
    { "m", false, 0 },
    { "5x", false, 0 },
};

/* check_table - every case of one parser; the number of failures */
static int
check_table(bool (*parse)(const char *, long *), const char *name, const struct parse_case *cases,
            size_t n)
{
    size_t i;
    long v;
    bool ok;
    int failed = 0;

    for (i = 0; i < n; i++) {
        const struct parse_case *c = &cases[i];

        v = -12345;
        ok = parse(c->in, &v);
        if (ok != c->ok || (ok && v != c->seconds)) {
            print_error("%s(\"%s\"): %s %ld, expected %s %ld\n", name, c->in, ok ? "ok" : "refused",
                        v, c->ok ? "ok" : "refused", c->seconds);
            failed++;
        } else if (!ok && v != -12345) {
            print_error("%s(\"%s\"): refused but wrote %ld\n", name, c->in, v);
            failed++;
        }
    }
    return failed;
}

static void
test_parse_unit_table(void **state)
{
    long v;

    (void) state;
    assert_false(sw_duration_parse_unit(NULL, &v));
    assert_int_equal(check_table(sw_duration_parse_unit, "sw_duration_parse_unit", unit_cases,
                                 sizeof(unit_cases) / sizeof(unit_cases[0])),
                     0);
}

static void
test_parse_table(void **state)
{
    long v;

    (void) state;
    assert_false(sw_duration_parse(NULL, &v));
    assert_int_equal(check_table(sw_duration_parse, "sw_duration_parse", parse_cases,
                                 sizeof(parse_cases) / sizeof(parse_cases[0])),
                     0);
}

static const struct format_case {
    long seconds;
    const char *out;
} format_cases[] = {
    { 7200, "2h" },
    { 5400, "1h30m" },
    { 45, "45s" },
    { 0, "0s" },
    { -5, "0s" },
    { 1, "1s" },
    { 60, "1m" },
    { 61, "1m1s" },
    { 3601, "1h1s" },
    { 3661, "1h1m" }, /* at most two groups */
    { 86400, "1d" },
    { 90061, "1d1h" },
    { 86400 + 60, "1d1m" },
    { 7 * 86400, "7d" },
    { SW_DURATION_MAX, "366d" },
};

static void
test_format_table(void **state)
{
    char out[32];
    size_t i;
    int failed = 0;

    (void) state;
    for (i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
        memset(out, 'X', sizeof(out));
        sw_duration_format(format_cases[i].seconds, out, sizeof(out));
        if (strcmp(out, format_cases[i].out) != 0) {
            print_error("sw_duration_format(%ld): \"%s\", expected \"%s\"\n",
                        format_cases[i].seconds, out, format_cases[i].out);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

/* Small buffers: always terminated, never overrun. */
static void
test_format_small_buffer(void **state)
{
    char out[8];

    (void) state;
    memset(out, 'X', sizeof(out));
    sw_duration_format(5400, out, 0);
    assert_int_equal(out[0], 'X');
    sw_duration_format(5400, out, 1);
    assert_string_equal(out, "");
    assert_int_equal(out[1], 'X');
    memset(out, 'X', sizeof(out));
    sw_duration_format(5400, out, 3);
    assert_string_equal(out, "1h");
    assert_int_equal(out[3], 'X');
}

/* What is printed parses back to the same value or, when the third group
 * was dropped, to less by under one unit of the second group. */
static void
test_format_parses_back(void **state)
{
    char out[32];
    long n, v;

    (void) state;
    for (n = 1; n <= 3 * 86400; n += 97) {
        sw_duration_format(n, out, sizeof(out));
        if (!sw_duration_parse(out, &v) || v > n) {
            print_error("%ld printed as \"%s\" parses to %ld\n", n, out, v);
            fail();
        }
        if (n < 3600 && v != n) {
            print_error("%ld printed as \"%s\" parses to %ld (should be exact)\n", n, out, v);
            fail();
        }
        if (n - v >= (n >= 86400 ? 3600 : 60)) {
            print_error("%ld printed as \"%s\" loses %ld seconds\n", n, out, n - v);
            fail();
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_unit_table),
        cmocka_unit_test(test_format_table),
        cmocka_unit_test(test_format_small_buffer),
        cmocka_unit_test(test_format_parses_back),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
