/* test_deadline.c - a coalesced deadline with a bound (deadline.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "util/deadline.h"

/*
 * A scenario is a list of events on a fake clock: a request, or the
 * runner checking whether the work is due (and running it when it is).
 * Each case says when the work ran.
 */
#define REQ(t) { (t), true }
#define CHK(t) { (t), false }
struct ev {
    time_t t;
    bool request;
};

static const struct deadline_case {
    const char *name;
    time_t delay, bound, settle;
    struct ev ev[16];
    size_t nev;
    time_t ran[8]; /* expected run times, in order */
    size_t nran;
    bool pending_after;
} cases[] = {
    { "one request: after the delay", 1, 1, 0,
      { REQ(100), CHK(100), CHK(101) }, 3, { 101 }, 1, false },
    /* The issue: a decision every half second would move a "1 s later"
     * flush for ever.  With bound 1 it runs 1 s after the first. */
    { "a steady stream cannot postpone the first flush", 1, 1, 0,
      { REQ(100), REQ(100), CHK(100), REQ(101), CHK(101), REQ(101), REQ(102), CHK(102) }, 8,
      { 101, 102 }, 2, false },
    { "a burst coalesces into one run", 35, 90, 35,
      { REQ(100), REQ(110), REQ(120), CHK(150), CHK(155) }, 5, { 155 }, 1, false },
    /* Requests every 20 s for ever: the second flush runs at first + 90,
     * then again within 90 s of the oldest request it did not serve. */
    { "the second flush within its bound", 35, 90, 35,
      { REQ(100), REQ(120), REQ(140), REQ(160), REQ(180), CHK(189), CHK(190), REQ(200),
        REQ(220), REQ(240), CHK(244), CHK(245), CHK(275), CHK(280) },
      14, { 190, 245, 275 }, 3, false },
    { "nothing asked, nothing run", 1, 1, 0, { CHK(100), CHK(200) }, 2, { 0 }, 0, false },
    { "a run leaves the young requests pending", 35, 90, 35,
      { REQ(100), REQ(150), REQ(185), CHK(190) }, 4, { 190 }, 1, true },
};

static void
test_cases(void **state)
{
    size_t i, k, nran;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct deadline_case *c = &cases[i];
        struct sw_deadline d = { false, 0, 0 };
        time_t ran[16];

        nran = 0;
        for (k = 0; k < c->nev; k++) {
            if (c->ev[k].request) {
                sw_deadline_request(&d, c->ev[k].t);
                continue;
            }
            if (d.pending && sw_deadline_due(&d, c->delay, c->bound) <= c->ev[k].t) {
                ran[nran++] = c->ev[k].t;
                sw_deadline_ran(&d, c->ev[k].t, c->settle);
            }
        }
        if (nran != c->nran)
            print_error("case \"%s\": ran %zu times, expected %zu\n", c->name, nran, c->nran);
        assert_int_equal(nran, c->nran);
        for (k = 0; k < nran; k++) {
            if (ran[k] != c->ran[k])
                print_error("case \"%s\": run %zu at %ld, expected %ld\n", c->name, k,
                            (long) ran[k], (long) c->ran[k]);
            assert_int_equal(ran[k], c->ran[k]);
        }
        assert_int_equal(d.pending, c->pending_after);
    }
}

/* The bound holds for any stream: every request is served by a run at
 * least settle after it and at most bound after it, when the runner
 * checks every second. */
static void
test_bound_holds(void **state)
{
    static const time_t gaps[] = { 1, 2, 3, 5, 7, 11, 20, 34, 35, 36, 60 };
    size_t g;
    time_t t, req[1000], served[1000];
    size_t nreq, k, next;

    (void) state;
    for (g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
        struct sw_deadline d = { false, 0, 0 };

        nreq = 0;
        next = 0;
        for (t = 0; t < 1200; t++) {
            if (t < 800 && t % gaps[g] == 0) {
                sw_deadline_request(&d, t);
                req[nreq++] = t;
            }
            if (d.pending && sw_deadline_due(&d, 35, 90) <= t) {
                sw_deadline_ran(&d, t, 35);
                for (; next < nreq && req[next] <= t - 35; next++)
                    served[next] = t;
            }
        }
        assert_false(d.pending);
        assert_int_equal(next, nreq);
        for (k = 0; k < nreq; k++) {
            assert_true(served[k] - req[k] >= 35);
            if (served[k] - req[k] > 90)
                print_error("gap %ld: request at %ld served at %ld\n", (long) gaps[g],
                            (long) req[k], (long) served[k]);
            assert_true(served[k] - req[k] <= 90);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_bound_holds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
