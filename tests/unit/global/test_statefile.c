/* test_statefile.c - the persisted routing state (statefile.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "global/statefile.h"

#define T0   ((time_t) 1700000000)
#define HEAD "v=1\tspillway=state\tsaved=1700000000\n"
#define SCOPE_A                                                            \
    "scope=destination:example.com\tstate=pinned\trelay=alt-eu\tsince=1\t" \
    "until=2\thold=0\tuid=0\trule=operator\treason=x\n"

/* Relay states reported by the decoder. */
struct relays_seen {
    size_t n;
    char name[8][32];
    enum sw_relay_admin admin[8];
};

static void
relay_cb(const char *relay, enum sw_relay_admin admin, void *ctx)
{
    struct relays_seen *rs = ctx;

    if (rs->n < 8) {
        (void) snprintf(rs->name[rs->n], sizeof(rs->name[0]), "%s", relay);
        rs->admin[rs->n] = admin;
    }
    rs->n++;
}

/* same_scope - every persisted field */
static void
same_scope(const struct sw_scope *a, const struct sw_scope *b)
{
    assert_string_equal(a->key, b->key);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->state, b->state);
    assert_string_equal(a->relay, b->relay);
    assert_int_equal(a->since, b->since);
    assert_int_equal(a->until, b->until);
    assert_int_equal(a->hold, b->hold);
    assert_int_equal(a->uid, b->uid);
    assert_string_equal(a->rule ? a->rule : "", b->rule ? b->rule : "");
    assert_string_equal(a->reason ? a->reason : "", b->reason ? b->reason : "");
}

static void
test_round_trip(void **state)
{
    struct relays_seen rs = { 0 };
    const struct sw_scope **va, **vb;
    struct sw_buf text, again;
    struct sw_route *copy;
    struct sw_decision d;
    struct sw_scope t;
    const char *why = NULL;
    size_t line = 99, na, nb, i;
    struct fx f;

    (void) state;
    fx_init(&f);
    fx_set_admin(&f, "alt-eu", SW_ADMIN_DISABLED);
    assert_int_equal(sw_route_pin(f.route, SW_SCOPE_DESTINATION, "example.com", "alt-us", T0,
                                  T0 + 7200, "incident 4711\twith a tab\nand \\ a newline", 1000,
                                  &d),
                     SW_ROUTE_OK);
    assert_int_equal(
        sw_route_pin(f.route, SW_SCOPE_POOL, "m365", "alt-eu2", T0 + 1, 0, "caf\xc3\xa9", 0, &d),
        SW_ROUTE_OK);
    memset(&t, 0, sizeof(t));
    t.key = "destination:held.example";
    t.kind = SW_SCOPE_DESTINATION;
    t.state = SW_STATE_DIVERTED;
    t.relay = "alt-eu2";
    t.since = T0 - 600;
    t.until = T0 + 1200;
    t.hold = 1800;
    t.rule = "pool-reputation";
    t.reason = "3 events in 10m";
    t.uid = SW_UID_NONE;
    assert_int_equal(sw_route_restore(f.route, &t), SW_ROUTE_OK);

    sw_buf_init(&text, 1 << 20);
    assert_true(sw_state_encode(f.route, f.conf, f.admin, T0 + 5, &text));
    /* The header line, then the relay, then scopes in key order. */
    assert_memory_equal(sw_buf_str(&text),
                        "v=1\tspillway=state\tsaved=1700000005\n"
                        "relay=alt-eu\tadmin=disabled\nscope=destination:example.com\t",
                        strlen("v=1\tspillway=state\tsaved=1700000005\n"
                               "relay=alt-eu\tadmin=disabled\nscope=destination:example.com\t"));
    assert_non_null(
        strstr(sw_buf_str(&text), "reason=incident 4711\\twith a tab\\nand \\\\ a newline\n"));

    copy = sw_route_new();
    assert_non_null(copy);
    if (!sw_state_decode(text.data, text.len, copy, relay_cb, &rs, &line, &why))
        print_error("decode failed at line %zu: %s\n%s", line, why, sw_buf_str(&text));
    assert_int_equal(line, 5);
    assert_int_equal(rs.n, 1);
    assert_string_equal(rs.name[0], "alt-eu");
    assert_int_equal(rs.admin[0], SW_ADMIN_DISABLED);

    va = sw_route_sorted(f.route, &na);
    vb = sw_route_sorted(copy, &nb);
    assert_non_null(va);
    assert_non_null(vb);
    assert_int_equal(na, 3);
    assert_int_equal(nb, 3);
    for (i = 0; i < na; i++)
        same_scope(va[i], vb[i]);
    free(va);
    free(vb);
    assert_string_equal(sw_route_get(copy, SW_SCOPE_DESTINATION, "example.com")->reason,
                        "incident 4711\twith a tab\nand \\ a newline");

    /* Encoding the decoded state gives the same text. */
    sw_buf_init(&again, 1 << 20);
    assert_true(sw_state_encode(copy, f.conf, f.admin, T0 + 5, &again));
    assert_string_equal(sw_buf_str(&again), sw_buf_str(&text));
    sw_buf_free(&again);
    sw_buf_free(&text);
    sw_route_free(copy);
    fx_free(&f);
}

/* Nothing to save: the header alone, which decodes to nothing. */
static void
test_empty_state(void **state)
{
    struct relays_seen rs = { 0 };
    const char *why = NULL;
    struct sw_buf text;
    size_t line = 0;
    struct fx f;

    (void) state;
    fx_init(&f);
    sw_buf_init(&text, 4096);
    assert_true(sw_state_encode(f.route, f.conf, f.admin, T0, &text));
    assert_string_equal(sw_buf_str(&text), HEAD);
    assert_true(sw_state_decode(text.data, text.len, f.route, relay_cb, &rs, &line, &why));
    assert_int_equal(line, 1);
    assert_int_equal(rs.n, 0);
    assert_int_equal(sw_route_count(f.route), 0);
    /* draining is saved too, and a NULL callback is allowed */
    fx_set_admin(&f, "alt-uk", SW_ADMIN_DRAINING);
    sw_buf_reset(&text);
    assert_true(sw_state_encode(f.route, f.conf, f.admin, T0, &text));
    assert_string_equal(sw_buf_str(&text), HEAD "relay=alt-uk\tadmin=draining\n");
    assert_true(sw_state_decode(text.data, text.len, f.route, NULL, NULL, &line, &why));
    assert_int_equal(line, 2);
    sw_buf_free(&text);
    fx_free(&f);
}

/* Corrupt files: refused with the line and the reason. */
static const struct corrupt_case {
    const char *name;
    const char *text;
    size_t line;
    const char *why;
} corrupt_cases[] = {
    { "empty", "", 0, "empty" },
    { "wrong version", "v=2\tspillway=state\tsaved=1\n", 1, "version 1" },
    { "not a state file", "v=1\tspillway=config\n", 1, "not a spillway state file" },
    { "no header", SCOPE_A, 1, "not a spillway state file" },
    { "unknown record", HEAD "colour=red\n", 2, "unknown record" },
    { "blank line", HEAD "\n" SCOPE_A, 2, "unknown record" },
    { "bad kv line", HEAD "Scope=x\n", 2, "bad character in key" },
    { "carriage return", "v=1\tspillway=state\tsaved=1\r\n", 1, "control character" },
    { "bad number",
      HEAD "scope=destination:example.com\tstate=pinned\trelay=alt-eu\tsince=abc\t"
           "until=2\thold=0\tuid=0\n",
      2, "bad number" },
    { "negative time",
      HEAD "scope=destination:example.com\tstate=pinned\trelay=alt-eu\tsince=-5\t"
           "until=2\thold=0\tuid=0\n",
      2, "bad number" },
    { "uid below -1",
      HEAD "scope=destination:example.com\tstate=pinned\trelay=alt-eu\tsince=1\t"
           "until=2\thold=0\tuid=-2\n",
      2, "bad number" },
    { "number overflow",
      HEAD "scope=destination:example.com\tstate=pinned\trelay=alt-eu\tsince=1\t"
           "until=99999999999999999999\thold=0\tuid=0\n",
      2, "bad number" },
    { "missing number",
      HEAD "scope=destination:example.com\tstate=pinned\trelay=alt-eu\tsince=1\t"
           "until=2\tuid=0\n",
      2, "bad number" },
    { "state primary",
      HEAD "scope=destination:example.com\tstate=primary\trelay=alt-eu\tsince=1\t"
           "until=2\thold=0\tuid=0\n",
      2, "bad state" },
    { "unknown state",
      HEAD "scope=destination:example.com\tstate=asleep\trelay=alt-eu\tsince=1\t"
           "until=2\thold=0\tuid=0\n",
      2, "bad state" },
    { "missing state",
      HEAD "scope=destination:example.com\trelay=alt-eu\tsince=1\tuntil=2\thold=0\tuid=0\n", 2,
      "bad state" },
    { "missing relay",
      HEAD "scope=destination:example.com\tstate=pinned\tsince=1\tuntil=2\thold=0\tuid=0\n", 2,
      "bad relay" },
    { "empty relay",
      HEAD "scope=destination:example.com\tstate=pinned\trelay=\tsince=1\tuntil=2\thold=0\t"
           "uid=0\n",
      2, "bad relay" },
    { "duplicate scope", HEAD SCOPE_A SCOPE_A, 3, "duplicate" },
    { "unknown scope kind",
      HEAD "scope=sender:example.com\tstate=pinned\trelay=alt-eu\tsince=1\tuntil=2\t"
           "hold=0\tuid=0\n",
      2, "unknown scope kind" },
    { "scope without kind",
      HEAD "scope=example.com\tstate=pinned\trelay=alt-eu\tsince=1\tuntil=2\thold=0\tuid=0\n", 2,
      "unknown scope kind" },
    { "bad escape",
      HEAD "scope=destination:example.com\tstate=pinned\trelay=alt-eu\tsince=1\tuntil=2\t"
           "hold=0\tuid=0\treason=a\\qb\n",
      2, "unknown escape" },
    { "bad relay admin", HEAD "relay=alt-eu\tadmin=asleep\n", 2, "bad relay admin state" },
    { "relay without admin", HEAD "relay=alt-eu\n", 2, "bad relay admin state" },
    { "error after good lines", HEAD "relay=alt-eu\tadmin=disabled\n" SCOPE_A "oops\n", 4,
      "without key=value" },
};

/*
 * BUG cases (minor).
 * - milter/global/statefile.c:119-124: a last line without its newline is
 *   reported at the line before it (*line is counted only after the
 *   newline is found), so an operator looks at the wrong line.
 * - milter/global/statefile.c:71-76 (decode_scope): the scope name is not
 *   checked.  "destination:" (empty) and "destination:exa mple.com" are
 *   restored; the first can never be looked up or released, and both are
 *   written into the rendered transport table as keys ("\tsmtp:..." reads
 *   as a continuation line to postmap; "exa mple.com\t..." gives the key
 *   "exa").  The decoder should refuse names that sw_ctl_scope refuses.
 */
static const struct corrupt_case bug_corrupt_cases[] = {
    { "last line without newline", HEAD "relay=alt-eu\tadmin=disabled", 2, "no final newline" },
    { "only line without newline", "v=1\tspillway=state\tsaved=1", 1, "no final newline" },
    { "empty destination name",
      HEAD "scope=destination:\tstate=pinned\trelay=alt-eu\tsince=1\tuntil=2\thold=0\tuid=0\n", 2,
      "" },
    { "destination name with a space",
      HEAD "scope=destination:exa mple.com\tstate=pinned\trelay=alt-eu\tsince=1\tuntil=2\t"
           "hold=0\tuid=0\n",
      2, "" },
};

static int
run_corrupt(const struct corrupt_case *list, size_t n)
{
    struct sw_route *r;
    const char *why;
    size_t i, line;
    int failed = 0;

    for (i = 0; i < n; i++) {
        const struct corrupt_case *c = &list[i];

        r = sw_route_new();
        assert_non_null(r);
        why = NULL;
        line = 12345;
        if (sw_state_decode(c->text, strlen(c->text), r, NULL, NULL, &line, &why)) {
            print_error("case \"%s\": accepted\n", c->name);
            failed++;
        } else if (line != c->line || why == NULL || strstr(why, c->why) == NULL) {
            print_error("case \"%s\": line %zu \"%s\", expected line %zu \"%s\"\n", c->name, line,
                        why ? why : "(null)", c->line, c->why);
            failed++;
        }
        sw_route_free(r);
    }
    return failed;
}

static void
test_corrupt_table(void **state)
{
    (void) state;
    assert_int_equal(run_corrupt(corrupt_cases, sizeof(corrupt_cases) / sizeof(corrupt_cases[0])),
                     0);
}

/* BUG: see bug_corrupt_cases above. */
static void
test_regression_corrupt_table(void **state)
{
    int failed;

    (void) state;
    failed =
        run_corrupt(bug_corrupt_cases, sizeof(bug_corrupt_cases) / sizeof(bug_corrupt_cases[0]));
    if (failed)
        print_error("REGRESSION milter/global/statefile.c: %d corrupt input(s) accepted or misreported\n",
                    failed);
    assert_int_equal(failed, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_state),
        cmocka_unit_test(test_corrupt_table),
        cmocka_unit_test(test_regression_corrupt_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
