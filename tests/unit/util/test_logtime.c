/* test_logtime.c - the time a mail log line carries (logtime.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "util/logtime.h"

/* now = 2026-12-03T09:58:12Z; the BSD cases run with TZ=UTC (set below)
 * and one table runs in Europe/Berlin. */
#define NOW 1796291892L

static const struct parse_case {
    const char *line;
    time_t now;
    bool ok;
    time_t want;
} parse_cases[] = {
    /* BSD, postlogd's and rsyslog's default */
    { "Dec  3 09:58:12 mta postfix/smtp[1]: x", NOW, true, NOW },
    { "Dec 03 09:58:12 mta postfix/smtp[1]: x", NOW, true, NOW },
    { "Dec  3 09:58:12.123456 mta postfix/smtp[1]: x", NOW, true, NOW },
    { "Dec  3 09:48:12 mta x", NOW, true, NOW - 600 },
    /* the year nearest now: read on 1 January, 31 December is last year's */
    { "Dec 31 23:59:59 mta x", 1798761600L /* 2027-01-01T00:00:00Z */, true, 1798761599L },
    /* read on 31 December (a clock ahead), 1 January is next year's */
    { "Jan  1 00:00:01 mta x", 1798761599L, true, 1798761601L },
    /* half a year back or ahead: the past (old), never next year */
    { "Jun  3 09:58:12 mta x", NOW, true, 1780480692L },
    { "Jun  2 09:58:12 mta x", NOW, true, 1780394292L },
    /* two months ahead of now: last year's */
    { "Dec  4 09:58:12 mta x", 1796291892L - 60L * 86400L, true, 1764842292L },
    /* RFC 3339 */
    { "2026-12-03T09:58:12Z mta x", NOW, true, NOW },
    { "2026-12-03T09:58:12.999+00:00 mta x", NOW, true, NOW },
    { "2026-12-03T10:58:12.123456+01:00 mta x", NOW, true, NOW },
    { "2026-12-03T04:28:12-05:30 mta x", NOW, true, NOW },
    { "2024-02-29T00:00:00Z x", NOW, true, 1709164800L },
    /* not timestamps */
    { "", NOW, false, 0 },
    { "postfix/smtp[1]: ABC: to=<a@b>", NOW, false, 0 },
    { "Foo  3 09:58:12 mta x", NOW, false, 0 },
    { "Dec 32 09:58:12 mta x", NOW, false, 0 },
    { "Dec  3 24:58:12 mta x", NOW, false, 0 },
    { "Dec  3 09:58:1", NOW, false, 0 },
    { "Dec  3 09:58:12x mta", NOW, false, 0 },
    { "2026-12-03T09:58:12 mta x", NOW, false, 0 }, /* no zone */
    { "2026-13-03T09:58:12Z x", NOW, false, 0 },
    { "2026-12-03T09:58:12+25:00 x", NOW, false, 0 },
    { "2026-12-0", NOW, false, 0 },
};

static void
run_parse(const struct parse_case *cases, size_t n)
{
    size_t i;
    time_t t;

    for (i = 0; i < n; i++) {
        t = 0;
        if (sw_logtime_parse(cases[i].line, strlen(cases[i].line), cases[i].now, &t) != cases[i].ok)
            fail_msg("case %zu (%s): parse %s", i, cases[i].line,
                     cases[i].ok ? "failed" : "succeeded");
        if (cases[i].ok && t != cases[i].want)
            fail_msg("case %zu (%s): got %lld, want %lld", i, cases[i].line, (long long) t,
                     (long long) cases[i].want);
    }
}

static void
test_parse_utc(void **state)
{
    (void) state;
    assert_int_equal(setenv("TZ", "UTC", 1), 0);
    tzset();
    run_parse(parse_cases, sizeof(parse_cases) / sizeof(parse_cases[0]));
}

/* BSD stamps are local time; RFC 3339 ones carry their zone. */
static const struct parse_case berlin_cases[] = {
    { "Dec  3 10:58:12 mta x", NOW, true, NOW },         /* CET, +01:00 */
    { "Jul  3 12:00:00 mta x", NOW, true, 1783072800L }, /* CEST, +02:00 */
    { "2026-12-03T09:58:12Z mta x", NOW, true, NOW },    /* the zone wins */
    { "2026-12-03T10:58:12+01:00 mta x", NOW, true, NOW },
};

static void
test_parse_local(void **state)
{
    (void) state;
    assert_int_equal(setenv("TZ", "Europe/Berlin", 1), 0);
    tzset();
    run_parse(berlin_cases, sizeof(berlin_cases) / sizeof(berlin_cases[0]));
    assert_int_equal(setenv("TZ", "UTC", 1), 0);
    tzset();
}

static const struct check_case {
    long delta; /* line time - now */
    enum sw_logtime_verdict want;
} check_cases[] = {
    { 0, SW_LOGTIME_OK },
    { SW_LOGTIME_MAX_FUTURE, SW_LOGTIME_OK },
    { SW_LOGTIME_MAX_FUTURE + 1, SW_LOGTIME_FUTURE },
    { 86400L * 365, SW_LOGTIME_FUTURE },
    { -SW_LOGTIME_MAX_AGE, SW_LOGTIME_OK },
    { -SW_LOGTIME_MAX_AGE - 1, SW_LOGTIME_OLD },
    { -86400L * 180, SW_LOGTIME_OLD },
};

static void
test_check(void **state)
{
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++)
        if (sw_logtime_check((time_t) (NOW + check_cases[i].delta), NOW) != check_cases[i].want)
            fail_msg("case %zu: delta %ld", i, check_cases[i].delta);
    assert_string_equal(sw_logtime_verdict_name(SW_LOGTIME_FUTURE), "future");
    assert_string_equal(sw_logtime_verdict_name(SW_LOGTIME_NONE), "undated");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_utc),
        cmocka_unit_test(test_parse_local),
        cmocka_unit_test(test_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
