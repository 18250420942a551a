/* test_metrics.c - the Prometheus text format (metrics.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "util/metrics.h"

static void
test_family(void **state)
{
    struct sw_buf b;

    (void) state;
    sw_buf_init(&b, 4096);
    assert_true(sw_metrics_family(&b, "spillway_lookups_total", SW_METRIC_COUNTER, "Lookups."));
    assert_true(sw_metrics_family(&b, "spillway_scopes", SW_METRIC_GAUGE, "Scopes."));
    assert_string_equal(sw_buf_str(&b), "# HELP spillway_lookups_total Lookups.\n"
                                        "# TYPE spillway_lookups_total counter\n"
                                        "# HELP spillway_scopes Scopes.\n"
                                        "# TYPE spillway_scopes gauge\n");
    sw_buf_free(&b);
}

static const struct sample_case {
    const char *labels[7];
    double value;
    const char *out;
} sample_cases[] = {
    { { NULL }, 0, "m 0\n" },
    { { NULL }, 12345678901.0, "m 12345678901\n" },
    { { NULL }, -3, "m -3\n" },
    { { NULL }, 0.25, "m 0.250000\n" },
    { { NULL }, 1e20, "m 100000000000000000000.000000\n" },
    { { "relay", "alt-eu", NULL }, 1, "m{relay=\"alt-eu\"} 1\n" },
    { { "scope", "destination:a.example", "relay", "alt", "state", "diverted", NULL },
      1,
      "m{scope=\"destination:a.example\",relay=\"alt\",state=\"diverted\"} 1\n" },
    /* The format's three escapes; other control bytes become '?'. */
    { { "scope", "a\"b\\c\nd\te\x7f", NULL }, 2, "m{scope=\"a\\\"b\\\\c\\nd?e?\"} 2\n" },
    { { "scope", "", NULL }, 1, "m{scope=\"\"} 1\n" },
    /* An odd list: the lone name is ignored rather than read past. */
    { { "relay", "x", "dangling", NULL }, 1, "m{relay=\"x\"} 1\n" },
};

static void
test_samples(void **state)
{
    struct sw_buf b;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(sample_cases) / sizeof(sample_cases[0]); i++) {
        const struct sample_case *c = &sample_cases[i];

        sw_buf_init(&b, 4096);
        assert_true(sw_metrics_sample(&b, "m", c->labels[0] ? c->labels : NULL, c->value));
        if (strcmp(sw_buf_str(&b), c->out) != 0)
            fail_msg("case %zu: got [%s], want [%s]", i, sw_buf_str(&b), c->out);
        sw_buf_free(&b);
    }
}

static void
test_nan(void **state)
{
    struct sw_buf b;

    (void) state;
    sw_buf_init(&b, 64);
    assert_true(sw_metrics_sample(&b, "m", NULL, NAN));
    assert_string_equal(sw_buf_str(&b), "m NaN\n");
    sw_buf_free(&b);
}

/* A label value longer than the cap is cut; a full buffer is an error. */
static void
test_limits(void **state)
{
    char big[SW_METRICS_LABEL_MAX * 2 + 1];
    const char *l[] = { "scope", big, NULL };
    struct sw_buf b;

    (void) state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sw_buf_init(&b, 4096);
    assert_true(sw_metrics_sample(&b, "m", l, 1));
    assert_int_equal(b.len, strlen("m{scope=\"\"} 1\n") + SW_METRICS_LABEL_MAX);
    sw_buf_free(&b);
    sw_buf_init(&b, 16);
    assert_false(sw_metrics_sample(&b, "m", l, 1));
    sw_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family),
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_nan),
        cmocka_unit_test(test_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
