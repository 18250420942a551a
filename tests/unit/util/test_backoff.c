/* test_backoff.c - retry with a doubling delay (backoff.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "util/backoff.h"

/* A sequence of attempts: what each reports and the wait after it. */
static const struct step {
    bool ok;
    enum sw_backoff_change change;
    long delay_ms;
    bool failing;
} steps[] = {
    { true, SW_BACKOFF_SAME, 0, false },       /* all well: nothing to say */
    { false, SW_BACKOFF_FAILING, 1000, true }, /* the first failure: said once */
    { false, SW_BACKOFF_SAME, 2000, true },    /* then only doubled */
    { false, SW_BACKOFF_SAME, 4000, true },
    { false, SW_BACKOFF_SAME, 8000, true },
    { false, SW_BACKOFF_SAME, 16000, true },
    { false, SW_BACKOFF_SAME, 32000, true },
    { false, SW_BACKOFF_SAME, 60000, true }, /* capped at one minute */
    { false, SW_BACKOFF_SAME, 60000, true },
    { true, SW_BACKOFF_RECOVERED, 0, false }, /* recovered: said once */
    { true, SW_BACKOFF_SAME, 0, false },
    { false, SW_BACKOFF_FAILING, 1000, true }, /* a new fault starts short again */
    { true, SW_BACKOFF_RECOVERED, 0, false },
};

static void
test_sequence(void **state)
{
    struct sw_backoff b = SW_BACKOFF_INIT(1000, 60000);
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        assert_int_equal(sw_backoff_result(&b, steps[i].ok), steps[i].change);
        assert_int_equal(sw_backoff_delay(&b), steps[i].delay_ms);
        assert_int_equal(sw_backoff_failing(&b), steps[i].failing);
    }
}

/* Odd limits: a cap below the minimum, and a cap near LONG_MAX, never
 * give a wait above the cap or below zero. */
static const struct limits_case {
    long min_ms, max_ms;
    int attempts;
    long last_ms;
} limits_cases[] = {
    { 5000, 1000, 3, 1000 },
    { 1, 3, 10, 3 },
    { 1000, 0x7fffffffffffffffL, 80, 0x7fffffffffffffffL },
    { 0, 1000, 5, 0 },
};

static void
test_limits(void **state)
{
    size_t i;
    int k;

    (void) state;
    for (i = 0; i < sizeof(limits_cases) / sizeof(limits_cases[0]); i++) {
        struct sw_backoff b = SW_BACKOFF_INIT(limits_cases[i].min_ms, limits_cases[i].max_ms);

        for (k = 0; k < limits_cases[i].attempts; k++) {
            (void) sw_backoff_result(&b, false);
            assert_true(sw_backoff_delay(&b) >= 0);
            assert_true(sw_backoff_delay(&b) <= limits_cases[i].max_ms);
        }
        assert_int_equal(sw_backoff_delay(&b), limits_cases[i].last_ms);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence),
        cmocka_unit_test(test_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
