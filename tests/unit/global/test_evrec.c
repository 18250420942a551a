/* test_evrec.c - the evidence channel's record (evrec.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "global/classify.h"
#include "global/evrec.h"

static struct sw_evrec
sample(void)
{
    struct sw_evrec r;

    memset(&r, 0, sizeof(r));
    r.ev.time = 1763812345;
    r.ev.source = SW_EV_DSN;
    r.ev.cls = SW_CLASS_REPUTATION;
    r.ev.trusted = true;
    r.ev.code = 550;
    strcpy(r.ev.pool, "m365");
    strcpy(r.ev.domain, "bigcorp.example");
    strcpy(r.ev.rcpt, "u@bigcorp.example");
    strcpy(r.ev.id, "<abc@ourorg.example>");
    strcpy(r.ev.dsn, "5.7.606");
    strcpy(r.ev.pattern, "m365-banned-ip");
    strcpy(r.ev.text, "550 5.7.606 Access denied, banned sending IP [40.107.1.2]\tand a tab");
    strcpy(r.tag, "valid");
    strcpy(r.client, "192.0.2.7");
    strcpy(r.ev.egress, "40.107.1.2");
    return r;
}

static void
test_round_trip(void **state)
{
    struct sw_evrec in = sample(), out;
    struct sw_buf b;
    const char *why = NULL;

    (void) state;
    sw_buf_init(&b, SW_EVREC_MAX);
    assert_true(sw_evrec_encode(&in, &b));
    assert_null(memchr(b.data, '\n', b.len));
    if (!sw_evrec_parse(b.data, b.len, &out, &why))
        fail_msg("did not parse back: %s", why);
    assert_int_equal(out.ev.time, in.ev.time);
    assert_int_equal(out.ev.source, SW_EV_DSN);
    assert_int_equal(out.ev.cls, SW_CLASS_REPUTATION);
    assert_true(out.ev.trusted);
    assert_int_equal(out.ev.code, 550);
    assert_string_equal(out.ev.pool, "m365");
    assert_string_equal(out.ev.domain, "bigcorp.example");
    assert_string_equal(out.ev.rcpt, in.ev.rcpt);
    assert_string_equal(out.ev.id, in.ev.id);
    assert_string_equal(out.ev.dsn, "5.7.606");
    assert_string_equal(out.ev.pattern, "m365-banned-ip");
    /* Free text keeps its words; a control byte becomes a space. */
    assert_string_equal(out.ev.text,
                        "550 5.7.606 Access denied, banned sending IP [40.107.1.2] and a tab");
    assert_string_equal(out.tag, "valid");
    assert_string_equal(out.client, "192.0.2.7");
    assert_string_equal(out.ev.egress, "40.107.1.2");
    sw_buf_free(&b);
}

/* Records that must be refused, and why. */
static const struct {
    const char *line;
    const char *why;
} bad[] = {
    { "", "no version" },
    { "v=2\tsource=dsn\ttime=1\tdomain=x.example\tclass=reputation\ttrusted=1",
      "unsupported record version" },
    { "v=1\tsource=mail\ttime=1\tdomain=x.example\tclass=reputation\ttrusted=1", "source" },
    { "v=1\tsource=dsn\tdomain=x.example\tclass=reputation\ttrusted=1", "time" },
    { "v=1\tsource=dsn\ttime=-4\tdomain=x.example\tclass=reputation\ttrusted=1", "time" },
    { "v=1\tsource=dsn\ttime=1\tclass=reputation\ttrusted=1", "domain" },
    { "v=1\tsource=dsn\ttime=1\tdomain=x.example\tclass=spam\ttrusted=1", "class" },
    { "v=1\tsource=dsn\ttime=1\tdomain=x.example\tclass=reputation\ttrusted=yes", "trusted" },
    { "v=1\tsource=dsn\ttime=1\tdomain=x.example\tclass=reputation\ttrusted=1\tcode=99",
      "bad code" },
    { "v=1\tsource=dsn\ttime=1\tdomain=x.example\tclass=reputation\ttrusted=1\trcpt=a\\nb",
      "control characters" },
    { "v=1\tsource=dsn\ttime=1\tdomain=x.example\tclass=reputation\ttrusted=1\tpool="
      "0123456789012345678901234567890123456789012345678901234567890123456789",
      "too long" },
    { "v=1\tsource=dsn\ttime=1\tdomain=x.example\tclass=reputation\ttrusted=1\tegress=40.107.1",
      "bad egress" },
};

static void
test_bad(void **state)
{
    struct sw_evrec r;
    const char *why;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (sw_evrec_parse(bad[i].line, strlen(bad[i].line), &r, &why))
            fail_msg("row %zu accepted", i);
        if (why == NULL || strstr(why, bad[i].why) == NULL)
            fail_msg("row %zu: reason \"%s\" lacks \"%s\"", i, why ? why : "(none)", bad[i].why);
    }
}

static void
test_unknown_keys_ignored(void **state)
{
    static const char line[] = "v=1\tsource=dsn\ttime=5\tdomain=x.example\tclass=throttle\t"
                               "trusted=0\tfuture=1\n";
    struct sw_evrec r;
    const char *why = NULL;

    (void) state;
    assert_true(sw_evrec_parse(line, strlen(line), &r, &why));
    assert_int_equal(r.ev.cls, SW_CLASS_THROTTLE);
    assert_false(r.ev.trusted);
    assert_string_equal(r.ev.pool, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_unknown_keys_ignored),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
