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
    assert_string_equal(a->node, b->node); /* a cluster's: who decided, when */
    assert_true(a->at == b->at);
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
    struct sw_state_sink sink = { relay_cb, NULL, NULL };
    struct sw_state_counts n;
    const char *why = NULL;
    size_t na, nb, i;
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
    (void) snprintf(t.node, sizeof(t.node), "mta-2");
    t.at = 1700000000123LL; /* ms */
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
    assert_non_null(strstr(sw_buf_str(&text), "\tnode=mta-2\tat=1700000000123\n"));

    copy = sw_route_new();
    assert_non_null(copy);
    sink.ctx = &rs;
    if (!sw_state_decode(text.data, text.len, copy, &sink, &n, &why))
        print_error("decode failed: %s\n%s", why, sw_buf_str(&text));
    assert_int_equal(n.lines, 5);
    assert_int_equal(n.bad, 0);
    assert_int_equal(n.scopes, 3);
    assert_int_equal(n.relays, 1);
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
    struct sw_state_sink sink = { relay_cb, NULL, &rs };
    struct sw_state_counts n;
    const char *why = NULL;
    struct sw_buf text;
    struct fx f;

    (void) state;
    fx_init(&f);
    sw_buf_init(&text, 4096);
    assert_true(sw_state_encode(f.route, f.conf, f.admin, T0, &text));
    assert_string_equal(sw_buf_str(&text), HEAD);
    assert_true(sw_state_decode(text.data, text.len, f.route, &sink, &n, &why));
    assert_int_equal(n.lines, 1);
    assert_int_equal(rs.n, 0);
    assert_int_equal(sw_route_count(f.route), 0);
    /* draining is saved too, and a NULL callback is allowed */
    fx_set_admin(&f, "alt-uk", SW_ADMIN_DRAINING);
    sw_buf_reset(&text);
    assert_true(sw_state_encode(f.route, f.conf, f.admin, T0, &text));
    assert_string_equal(sw_buf_str(&text), HEAD "relay=alt-uk\tadmin=draining\n");
    assert_true(sw_state_decode(text.data, text.len, f.route, NULL, &n, &why));
    assert_int_equal(n.lines, 2);
    sw_buf_free(&text);
    fx_free(&f);
}

/* Files refused as a whole: nothing is kept. */
static const struct refused_case {
    const char *name;
    const char *text;
    const char *why;
} refused_cases[] = {
    { "empty", "", "empty" },
    { "wrong version", "v=2\tspillway=state\tsaved=1\n" SCOPE_A, "version 1" },
    { "not a state file", "v=1\tspillway=config\n" SCOPE_A, "not a spillway state file" },
    { "header without version", "spillway=state\n" SCOPE_A, "not a spillway state file" },
};

static void
test_refused_table(void **state)
{
    struct sw_state_counts n;
    struct sw_route *r;
    const char *why;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(refused_cases) / sizeof(refused_cases[0]); i++) {
        const struct refused_case *c = &refused_cases[i];

        r = sw_route_new();
        assert_non_null(r);
        why = NULL;
        if (sw_state_decode(c->text, strlen(c->text), r, NULL, &n, &why)
            || why == NULL || strstr(why, c->why) == NULL)
            print_error("case \"%s\": why \"%s\", expected \"%s\"\n", c->name,
                        why ? why : "(accepted)", c->why);
        assert_non_null(why);
        assert_non_null(strstr(why, c->why));
        assert_int_equal(sw_route_count(r), 0);
        sw_route_free(r);
    }
}

/* Damaged files: each bad line is reported with its number and reason,
 * skipped, and every other record kept (issue 13: one bad line used to
 * drop every scope and reset the relays' states). */
#define SCOPE_B                                                               \
    "scope=destination:b.example\tstate=diverted\trelay=alt-eu\tsince=1\t"    \
    "until=2\thold=60\tuid=-1\trule=pool-reputation\treason=y\n"
#define SCOPE_POOL                                                            \
    "scope=pool:m365\tstate=pinned\trelay=alt-us\tsince=1\tuntil=0\thold=0\t" \
    "uid=0\trule=operator\treason=z\n"
#define RELAY_OFF "relay=alt-eu\tadmin=disabled\n"
#define MAXBAD    4
static const struct damaged_case {
    const char *name;
    const char *text;
    size_t scopes, relays;
    size_t bad;
    struct {
        size_t line;
        const char *why;
    } bad_lines[MAXBAD];
} damaged_cases[] = {
    { "clean", HEAD RELAY_OFF SCOPE_A SCOPE_B, 2, 1, 0, { { 0, NULL } } },
    { "unknown record", HEAD "colour=red\n" SCOPE_A, 1, 0, 1, { { 2, "unknown record" } } },
    { "blank line", HEAD "\n" SCOPE_A, 1, 0, 1, { { 2, "unknown record" } } },
    { "bad kv line", HEAD "Scope=x\n" SCOPE_A, 1, 0, 1, { { 2, "bad character in key" } } },
    { "garbage in the middle", HEAD RELAY_OFF SCOPE_A "\x01\x02garbage\n" SCOPE_B SCOPE_POOL,
      3, 1, 1, { { 4, "" } } },
    { "bad number",
      HEAD SCOPE_A "scope=destination:c.example\tstate=pinned\trelay=alt-eu\tsince=abc\t"
                   "until=2\thold=0\tuid=0\n" SCOPE_B,
      2, 0, 1, { { 3, "bad number" } } },
    { "negative time",
      HEAD "scope=destination:c.example\tstate=pinned\trelay=alt-eu\tsince=-5\t"
           "until=2\thold=0\tuid=0\n",
      0, 0, 1, { { 2, "bad number" } } },
    { "uid below -1",
      HEAD "scope=destination:c.example\tstate=pinned\trelay=alt-eu\tsince=1\t"
           "until=2\thold=0\tuid=-2\n",
      0, 0, 1, { { 2, "bad number" } } },
    { "number overflow",
      HEAD "scope=destination:c.example\tstate=pinned\trelay=alt-eu\tsince=1\t"
           "until=99999999999999999999\thold=0\tuid=0\n" RELAY_OFF,
      0, 1, 1, { { 2, "bad number" } } },
    { "missing number",
      HEAD "scope=destination:c.example\tstate=pinned\trelay=alt-eu\tsince=1\t"
           "until=2\tuid=0\n",
      0, 0, 1, { { 2, "bad number" } } },
    { "state primary",
      HEAD "scope=destination:c.example\tstate=primary\trelay=alt-eu\tsince=1\t"
           "until=2\thold=0\tuid=0\n",
      0, 0, 1, { { 2, "bad state" } } },
    { "unknown state",
      HEAD "scope=destination:c.example\tstate=asleep\trelay=alt-eu\tsince=1\t"
           "until=2\thold=0\tuid=0\n",
      0, 0, 1, { { 2, "bad state" } } },
    { "missing state",
      HEAD "scope=destination:c.example\trelay=alt-eu\tsince=1\tuntil=2\thold=0\tuid=0\n", 0, 0,
      1, { { 2, "bad state" } } },
    { "missing relay",
      HEAD "scope=destination:c.example\tstate=pinned\tsince=1\tuntil=2\thold=0\tuid=0\n", 0, 0,
      1, { { 2, "bad relay" } } },
    { "empty relay",
      HEAD "scope=destination:c.example\tstate=pinned\trelay=\tsince=1\tuntil=2\thold=0\t"
           "uid=0\n",
      0, 0, 1, { { 2, "bad relay" } } },
    { "duplicate scope: the first stays", HEAD SCOPE_A SCOPE_A, 1, 0, 1, { { 3, "duplicate" } } },
    { "unknown scope kind",
      HEAD "scope=sender:example.com\tstate=pinned\trelay=alt-eu\tsince=1\tuntil=2\t"
           "hold=0\tuid=0\n" SCOPE_POOL,
      1, 0, 1, { { 2, "unknown scope kind" } } },
    { "scope without kind",
      HEAD "scope=example.com\tstate=pinned\trelay=alt-eu\tsince=1\tuntil=2\thold=0\tuid=0\n", 0,
      0, 1, { { 2, "unknown scope kind" } } },
    { "empty destination name",
      HEAD "scope=destination:\tstate=pinned\trelay=alt-eu\tsince=1\tuntil=2\thold=0\tuid=0\n", 0,
      0, 1, { { 2, "bad scope name" } } },
    { "destination name with a space",
      HEAD "scope=destination:exa mple.com\tstate=pinned\trelay=alt-eu\tsince=1\tuntil=2\t"
           "hold=0\tuid=0\n",
      0, 0, 1, { { 2, "bad scope name" } } },
    { "bad escape",
      HEAD "scope=destination:c.example\tstate=pinned\trelay=alt-eu\tsince=1\tuntil=2\t"
           "hold=0\tuid=0\treason=a\\qb\n" SCOPE_A,
      1, 0, 1, { { 2, "unknown escape" } } },
    { "bad relay admin", HEAD "relay=alt-eu\tadmin=asleep\n" RELAY_OFF, 0, 1, 1,
      { { 2, "bad relay admin state" } } },
    { "relay without admin", HEAD "relay=alt-eu\n", 0, 0, 1, { { 2, "bad relay admin state" } } },
    { "carriage return", "v=1\tspillway=state\tsaved=1\r\n" SCOPE_A, 1, 0, 1,
      { { 1, "control character" } } },
    { "no header: its records still count", SCOPE_A RELAY_OFF, 1, 1, 1,
      { { 1, "no header line" } } },
    { "last line without newline", HEAD SCOPE_A "relay=alt-eu\tadmin=disabled", 1, 0, 1,
      { { 3, "no final newline" } } },
    { "only line without newline", "v=1\tspillway=state\tsaved=1", 0, 0, 1,
      { { 1, "no final newline" } } },
    { "several bad lines", HEAD "x\n" SCOPE_A "y\n" RELAY_OFF "z=\\q\n" SCOPE_B, 2, 1, 3,
      { { 2, "without key=value" }, { 4, "without key=value" }, { 6, "unknown escape" } } },
};

/* The bad lines the decoder reported. */
struct bad_seen {
    size_t n;
    size_t line[MAXBAD];
    char why[MAXBAD][96];
};

static void
bad_cb(size_t line, const char *why, void *ctx)
{
    struct bad_seen *bs = ctx;

    if (bs->n < MAXBAD) {
        bs->line[bs->n] = line;
        (void) snprintf(bs->why[bs->n], sizeof(bs->why[0]), "%s", why);
    }
    bs->n++;
}

static void
test_damaged_table(void **state)
{
    struct sw_state_counts n;
    struct sw_route *r;
    const char *why;
    size_t i, k;
    int failed = 0;

    (void) state;
    for (i = 0; i < sizeof(damaged_cases) / sizeof(damaged_cases[0]); i++) {
        const struct damaged_case *c = &damaged_cases[i];
        struct bad_seen bs = { 0 };
        struct sw_state_sink sink = { NULL, bad_cb, &bs };
        bool ok;

        r = sw_route_new();
        assert_non_null(r);
        why = NULL;
        ok = sw_state_decode(c->text, strlen(c->text), r, &sink, &n, &why);
        if (!ok || n.scopes != c->scopes || sw_route_count(r) != c->scopes
            || n.relays != c->relays || n.bad != c->bad || bs.n != c->bad) {
            print_error("case \"%s\": %s, %zu scopes, %zu relays, %zu bad; expected %zu, %zu, "
                        "%zu\n",
                        c->name, ok ? "read" : why, n.scopes, n.relays, n.bad, c->scopes,
                        c->relays, c->bad);
            failed++;
        }
        for (k = 0; k < bs.n && k < c->bad && k < MAXBAD; k++)
            if (bs.line[k] != c->bad_lines[k].line
                || strstr(bs.why[k], c->bad_lines[k].why) == NULL) {
                print_error("case \"%s\": bad line %zu \"%s\", expected %zu \"%s\"\n", c->name,
                            bs.line[k], bs.why[k], c->bad_lines[k].line, c->bad_lines[k].why);
                failed++;
            }
        sw_route_free(r);
    }
    assert_int_equal(failed, 0);
}

/* The records kept from a damaged file are the ones written. */
static void
test_damaged_keeps_values(void **state)
{
    static const char text[] = HEAD RELAY_OFF "garbage\n" SCOPE_A "scope=pool:x\n" SCOPE_POOL;
    struct relays_seen rs = { 0 };
    struct sw_state_sink sink = { relay_cb, NULL, &rs };
    struct sw_state_counts n;
    const struct sw_scope *s;
    struct sw_route *r = sw_route_new();
    const char *why = NULL;

    (void) state;
    assert_non_null(r);
    assert_true(sw_state_decode(text, strlen(text), r, &sink, &n, &why));
    assert_int_equal(n.bad, 2);
    assert_int_equal(rs.n, 1);
    assert_string_equal(rs.name[0], "alt-eu");
    assert_int_equal(rs.admin[0], SW_ADMIN_DISABLED);
    s = sw_route_get(r, SW_SCOPE_DESTINATION, "example.com");
    assert_non_null(s);
    assert_int_equal(s->state, SW_STATE_PINNED);
    assert_string_equal(s->relay, "alt-eu");
    assert_string_equal(s->reason, "x");
    s = sw_route_get(r, SW_SCOPE_POOL, "m365");
    assert_non_null(s);
    assert_string_equal(s->relay, "alt-us");
    sw_route_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_state),
        cmocka_unit_test(test_refused_table),
        cmocka_unit_test(test_damaged_table),
        cmocka_unit_test(test_damaged_keeps_values),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
