/* test_engine.c - automatic decisions on a fake clock, as tables of steps */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "global/engine.h"
#include "fixture.h"

#define T0 1700000000L

/* Rules under test: a destination rule and a pool rule. */
#define RULES                                                                                    \
    "rules = ( { name = \"rep\"; classes = [\"reputation\"]; scope = \"destination\";\n"         \
    "            threshold = { events = 3; window = \"10m\"; ratio = 0.25; }; hold = \"60s\";\n" \
    "            hold_max = \"150s\"; recover = { share = 0.5; successes = 2; }; },\n"           \
    "          { name = \"thr\"; classes = [\"throttle\"]; scope = \"pool\";\n"                  \
    "            threshold = { events = 4; window = \"5m\"; }; hold = \"30s\"; } );\n"

enum op { EV, OK, HOLD, END };

struct step {
    enum op op;
    long at; /* seconds after T0 */
    const char *domain;
    const char *id; /* queue id (with the domain: the event's identity) */
    unsigned cls;
    const char *relay; /* default m365 (the primary) */
    bool untrusted;
};

struct engine_case {
    const char *name;
    struct step steps[24];
    const char *events;    /* the decisions, in order, space-separated */
    const char *admin_off; /* a relay disabled for the case */
};

#define R  SW_CLASS_REPUTATION
#define TH SW_CLASS_THROTTLE
#define O  0

/* Steps: E an event, EU an untrusted one, EA one through alt-eu, S a
 * success through the primary, H the hold timer, X the end. */
#define E(at, dom, id, cls)               \
    {                                     \
        EV, at, dom, id, cls, NULL, false \
    }
#define EU(at, dom, id, cls)             \
    {                                    \
        EV, at, dom, id, cls, NULL, true \
    }
#define EA(at, dom, id, cls)                  \
    {                                         \
        EV, at, dom, id, cls, "alt-eu", false \
    }
#define S(at, dom, id)                  \
    {                                   \
        OK, at, dom, id, 0, NULL, false \
    }
#define H(at)                                \
    {                                        \
        HOLD, at, NULL, NULL, 0, NULL, false \
    }
#define X                                  \
    {                                      \
        END, 0, NULL, NULL, 0, NULL, false \
    }

static const struct engine_case cases[] = {
    { "three distinct refusals divert",
      { E(0, "fo.example", "A1", R), E(1, "fo.example", "A2", R), E(2, "fo.example", "A3", R), X },
      "divert",
      NULL },
    { "two are below the threshold",
      { E(0, "fo.example", "A1", R), E(1, "fo.example", "A2", R), X },
      "",
      NULL },
    { "retries of one message are one event",
      { E(0, "fo.example", "A1", R), E(300, "fo.example", "A1", R), E(600, "fo.example", "A1", R),
        E(601, "fo.example", "A2", R), X },
      "",
      NULL },
    { "the ratio keeps a busy destination on the primary (3 of 15 < 0.25)",
      { E(0, "fo.example", "A1", R), S(1, "fo.example", "S1"), S(2, "fo.example", "S2"),
        S(3, "fo.example", "S3"), S(4, "fo.example", "S4"), S(5, "fo.example", "S5"),
        S(6, "fo.example", "S6"), S(7, "fo.example", "S7"), S(8, "fo.example", "S8"),
        S(9, "fo.example", "S9"), S(10, "fo.example", "S10"), S(11, "fo.example", "S11"),
        S(12, "fo.example", "S12"), E(13, "fo.example", "A2", R), E(14, "fo.example", "A3", R), X },
      "",
      NULL },
    { "the ratio crossed (3 of 12 >= 0.25)",
      { E(0, "fo.example", "A1", R), S(1, "fo.example", "S1"), S(2, "fo.example", "S2"),
        S(3, "fo.example", "S3"), S(4, "fo.example", "S4"), S(5, "fo.example", "S5"),
        S(6, "fo.example", "S6"), S(7, "fo.example", "S7"), S(8, "fo.example", "S8"),
        S(9, "fo.example", "S9"), E(13, "fo.example", "A2", R), E(14, "fo.example", "A3", R), X },
      "divert",
      NULL },
    { "events outside the window do not add up",
      { E(0, "fo.example", "A1", R), E(400, "fo.example", "A2", R), E(800, "fo.example", "A3", R),
        X },
      "",
      NULL },
    { "other never diverts",
      { E(0, "fo.example", "A1", O), E(1, "fo.example", "A2", O), E(2, "fo.example", "A3", O),
        E(3, "fo.example", "A4", O), X },
      "",
      NULL },
    { "untrusted evidence does not divert on its own",
      { EU(0, "fo.example", "A1", R), EU(1, "fo.example", "A2", R), EU(2, "fo.example", "A3", R),
        X },
      "",
      NULL },
    { "refusals through an alternate do not count against the primary",
      { EA(0, "fo.example", "A1", R), EA(1, "fo.example", "A2", R), EA(2, "fo.example", "A3", R),
        X },
      "",
      NULL },
    { "throttle everywhere: the pool rule",
      { E(0, "a.example", "A1", TH), E(1, "b.example", "B1", TH), E(2, "c.example", "C1", TH),
        E(3, "d.example", "D1", TH), X },
      "divert",
      NULL },
    { "nothing eligible: one warning per episode",
      { E(0, "x.gov.uk", "A1", R), E(1, "x.gov.uk", "A2", R), E(2, "x.gov.uk", "A3", R),
        E(3, "x.gov.uk", "A4", R), E(4, "x.gov.uk", "A5", R), X },
      "stay",
      "alt-uk" },
    { "hold, probing, return",
      { E(0, "fo.example", "A1", R), E(1, "fo.example", "A2", R), E(2, "fo.example", "A3", R),
        H(70), S(80, "fo.example", "S1"), S(81, "fo.example", "S2"), X },
      "divert probe return",
      NULL },
    { "evidence during the hold extends it",
      { E(0, "fo.example", "A1", R), E(1, "fo.example", "A2", R), E(2, "fo.example", "A3", R),
        E(50, "fo.example", "A4", R), H(70), H(115), X },
      "divert probe",
      NULL },
    { "a relapse while probing doubles the hold, capped",
      { E(0, "fo.example", "A1", R), E(1, "fo.example", "A2", R), E(2, "fo.example", "A3", R),
        H(70), E(80, "fo.example", "A4", R), H(150), H(205), E(210, "fo.example", "A5", R), H(300),
        H(365), X },
      "divert probe divert probe divert probe",
      NULL },
};

struct run {
    char events[256];
    long holds[8];
    size_t nholds;
};

/* record - the decision callback */
static void
record(const struct sw_decision *d, void *ctx)
{
    struct run *r = ctx;

    if (r->events[0])
        strncat(r->events, " ", sizeof(r->events) - strlen(r->events) - 1);
    strncat(r->events, d->event, sizeof(r->events) - strlen(r->events) - 1);
    if (strcmp(d->event, "divert") == 0 && r->nholds < 8)
        r->holds[r->nholds++] = d->hold;
}

/* conf_text - the fixture's relays with RULES and the shipped patterns */
static const char *
conf_text(void)
{
    static char text[8192];
    const char *p = getenv("SW_PATTERNS");

    (void) snprintf(text, sizeof(text), "%s%s\nclassify: { patterns = \"%s\"; };\n", FX_CONF_TEXT,
                    RULES, p ? p : "conf/patterns.conf");
    return text;
}

/* play - run one case's steps */
static void
play(const struct engine_case *c, struct fx *f, struct sw_engine *e, struct run *r)
{
    struct sw_observation ob;
    const struct sw_relay *relay;
    const struct step *s;

    memset(r, 0, sizeof(*r));
    for (s = c->steps; s->op != END; s++) {
        if (s->op == HOLD) {
            (void) sw_route_hold_ended(f->route, T0 + s->at, NULL, record, r);
            continue;
        }
        memset(&ob, 0, sizeof(ob));
        relay = sw_conf_relay(f->conf, s->relay ? s->relay : "m365");
        ob.ev.time = T0 + s->at;
        ob.ev.source = SW_EV_LOG;
        ob.ev.trusted = !s->untrusted;
        ob.ev.success = s->op == OK;
        ob.ev.cls = s->cls;
        (void) snprintf(ob.ev.pool, sizeof(ob.ev.pool), "m365");
        (void) snprintf(ob.ev.relay, sizeof(ob.ev.relay), "%s", relay->name);
        (void) snprintf(ob.ev.domain, sizeof(ob.ev.domain), "%s", s->domain);
        (void) snprintf(ob.ev.rcpt, sizeof(ob.ev.rcpt), "u@%s", s->domain);
        (void) snprintf(ob.ev.id, sizeof(ob.ev.id), "%s", s->id);
        (void) snprintf(ob.ev.text, sizeof(ob.ev.text), "550 5.7.606 test %s", s->id);
        ob.via_primary = relay->role == SW_ROLE_PRIMARY;
        sw_engine_observe(e, &f->policy, f->route, &ob, record, r);
    }
}

/* chosen - the relay the policy gives a destination (priority, weight) */
static const char *
chosen(const struct fx *f, const char *domain)
{
    const struct sw_relay *r = sw_policy_choose(&f->policy, domain, domain, NULL);

    assert_non_null(r);
    return r->name;
}

/* test_cases - every table row */
static void
test_cases(void **state)
{
    struct sw_engine *e;
    struct run r;
    struct fx f;
    size_t i;
    int failed = 0;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fx_init_text(&f, conf_text());
        if (cases[i].admin_off)
            fx_set_admin(&f, cases[i].admin_off, SW_ADMIN_DISABLED);
        assert_non_null(e = sw_engine_new());
        play(&cases[i], &f, e, &r);
        if (strcmp(r.events, cases[i].events) != 0) {
            print_error("case \"%s\": decisions \"%s\", expected \"%s\"\n", cases[i].name, r.events,
                        cases[i].events);
            failed++;
        }
        sw_engine_free(e);
        fx_free(&f);
    }
    assert_int_equal(failed, 0);
}

/* test_details - what a diversion says, the doubled and capped holds */
static void
test_details(void **state)
{
    const struct engine_case *c = &cases[sizeof(cases) / sizeof(cases[0]) - 1];
    const struct sw_scope *s;
    struct sw_engine *e;
    struct run r;
    struct fx f;

    (void) state;
    fx_init_text(&f, conf_text());
    assert_non_null(e = sw_engine_new());
    play(c, &f, e, &r);
    assert_int_equal(r.nholds, 3);
    assert_int_equal(r.holds[0], 60);
    assert_int_equal(r.holds[1], 120);
    assert_int_equal(r.holds[2], 150); /* 240 capped at hold_max */
    s = sw_route_get(f.route, SW_SCOPE_DESTINATION, "fo.example");
    assert_non_null(s);
    assert_int_equal(s->state, SW_STATE_PROBING);
    assert_string_equal(s->relay, chosen(&f, "fo.example"));
    assert_true(s->nev >= 3);
    assert_string_equal(s->ev[0].id, "A1");
    sw_engine_free(e);
    fx_free(&f);
}

/* capture - keep the first decision */
static void
capture(const struct sw_decision *d, void *ctx)
{
    struct sw_decision *out = ctx;

    if (out->event == NULL)
        *out = *d;
}

/* test_divert_decision - the evidence summary of the log line */
static void
test_divert_decision(void **state)
{
    struct sw_decision d;
    struct sw_engine *e;
    struct run r;
    struct fx f;

    (void) state;
    (void) r;
    fx_init_text(&f, conf_text());
    assert_non_null(e = sw_engine_new());
    memset(&d, 0, sizeof(d));
    {
        struct sw_observation ob;
        int i;

        for (i = 0; i < 3; i++) {
            memset(&ob, 0, sizeof(ob));
            ob.ev.time = T0 + i;
            ob.ev.trusted = true;
            ob.ev.cls = SW_CLASS_REPUTATION;
            (void) snprintf(ob.ev.pool, sizeof(ob.ev.pool), "m365");
            (void) snprintf(ob.ev.relay, sizeof(ob.ev.relay), "m365");
            (void) snprintf(ob.ev.domain, sizeof(ob.ev.domain), "fo.example");
            (void) snprintf(ob.ev.rcpt, sizeof(ob.ev.rcpt), "u%d@fo.example", i);
            (void) snprintf(ob.ev.id, sizeof(ob.ev.id), "Q%d", i);
            (void) snprintf(ob.ev.text, sizeof(ob.ev.text), "550 5.7.606 number %d", i);
            ob.via_primary = true;
            sw_engine_observe(e, &f.policy, f.route, &ob, capture, &d);
        }
    }
    assert_non_null(d.event);
    assert_string_equal(d.event, "divert");
    assert_string_equal(d.scope, "destination:fo.example");
    assert_string_equal(d.pool, "m365");
    assert_string_equal(d.from, "primary");
    assert_string_equal(d.to, chosen(&f, "fo.example"));
    assert_string_equal(d.rule, "rep");
    assert_int_equal(d.events, 3);
    assert_int_equal(d.window, 600);
    assert_int_equal(d.hold, 60);
    assert_int_equal(d.n_log, 3);
    assert_string_equal(d.first, "550 5.7.606 number 0");
    sw_engine_free(e);
    fx_free(&f);
}

/* test_budget - deliveries through an alternate count for an hour */
static void
test_budget(void **state)
{
    struct sw_observation ob;
    const unsigned long *hour;
    struct sw_engine *e;
    struct fx f;
    size_t alt;
    int i;

    (void) state;
    fx_init_text(&f, conf_text());
    assert_non_null(e = sw_engine_new());
    alt = fx_relay_index(&f, "alt-eu");
    for (i = 0; i < 5; i++) {
        memset(&ob, 0, sizeof(ob));
        ob.ev.time = T0 + i * 600; /* one every 10 minutes */
        ob.ev.trusted = true;
        ob.ev.success = true;
        (void) snprintf(ob.ev.relay, sizeof(ob.ev.relay), "alt-eu");
        (void) snprintf(ob.ev.domain, sizeof(ob.ev.domain), "fo.example");
        sw_engine_observe(e, &f.policy, f.route, &ob, NULL, NULL);
    }
    assert_non_null(hour = sw_engine_usage(e, f.conf, T0 + 4 * 600));
    assert_int_equal(hour[alt], 5);
    assert_int_equal(hour[fx_relay_index(&f, "m365")], 0);
    hour = sw_engine_usage(e, f.conf, T0 + 4 * 600 + 3600 - 1800 + 60);
    assert_int_equal(hour[alt], 3); /* the first two are over an hour old */
    hour = sw_engine_usage(e, f.conf, T0 + 10 * 3600);
    assert_int_equal(hour[alt], 0);
    sw_engine_free(e);
    fx_free(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_details),
        cmocka_unit_test(test_divert_decision),
        cmocka_unit_test(test_budget),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
