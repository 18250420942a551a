/* test_ratelimit.c - one log line per cause per interval (ratelimit.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "util/ratelimit.h"

/* One cause, a sequence of events: when each is logged and what it says
 * was held back. */
static const struct step {
    time_t now;
    bool logged;
    unsigned long held; /* when logged */
} steps[] = {
    { 100, true, 0 },  /* the first event: at once */
    { 100, false, 0 }, /* the same second */
    { 105, false, 0 },
    { 159, false, 0 }, /* interval 60: still held back */
    { 160, true, 3 },  /* a line, with the three held back */
    { 161, false, 0 },
    { 300, true, 1 },  /* a quiet while, then one held back */
    { 400, true, 0 },  /* nothing held back */
    { 350, true, 0 },  /* the clock went back: logged, never silenced */
    { 351, false, 0 },
};

static void
test_sequence(void **state)
{
    struct sw_ratelimit rl = SW_RATELIMIT_INIT(60);
    unsigned long held;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        held = 12345;
        assert_int_equal(sw_ratelimit_pass(&rl, steps[i].now, &held), steps[i].logged);
        if (steps[i].logged)
            assert_int_equal(held, steps[i].held);
        else
            assert_int_equal(held, 12345); /* untouched */
    }
}

static void
test_no_interval(void **state)
{
    struct sw_ratelimit rl = SW_RATELIMIT_INIT(0);
    unsigned long held;
    int i;

    (void) state;
    for (i = 0; i < 5; i++) {
        assert_true(sw_ratelimit_pass(&rl, 10, &held));
        assert_int_equal(held, 0);
    }
}

static void
test_causes_apart(void **state)
{
    struct sw_ratelimit a = SW_RATELIMIT_INIT(10), b = SW_RATELIMIT_INIT(10);
    unsigned long held;

    (void) state;
    assert_true(sw_ratelimit_pass(&a, 1, &held));
    assert_false(sw_ratelimit_pass(&a, 2, &held));
    assert_true(sw_ratelimit_pass(&b, 2, &held)); /* another cause: its own line */
    assert_int_equal(held, 0);
}

static void
test_monotonic(void **state)
{
    time_t a = sw_ratelimit_now(), b = sw_ratelimit_now();

    (void) state;
    assert_true(a > 0);
    assert_true(b >= a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence),
        cmocka_unit_test(test_no_interval),
        cmocka_unit_test(test_causes_apart),
        cmocka_unit_test(test_monotonic),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
