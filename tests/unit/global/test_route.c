/* test_route.c - routing state per scope with a fake clock (route.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "global/decision.h"
#include "global/route.h"

/* The fake clock: plain time_t values. */
#define T0 ((time_t) 1700000000)

static int
setup(void **state)
{
    *state = sw_route_new();
    return *state ? 0 : -1;
}

static int
teardown(void **state)
{
    sw_route_free(*state);
    return 0;
}

/* expect_decision - every field of a decision */
static void
expect_decision(const struct sw_decision *d, const char *event, const char *scope, const char *from,
                const char *to, time_t when, time_t until, long uid, const char *rule,
                const char *reason)
{
    if (strcmp(d->event, event) != 0 || strcmp(d->scope, scope) != 0 || strcmp(d->from, from) != 0
        || strcmp(d->to, to) != 0 || d->time != when || d->until != until || d->uid != uid
        || strcmp(d->rule, rule) != 0 || strcmp(d->reason, reason) != 0)
        print_error("decision %s scope=%s from=%s to=%s time=%lld until=%lld uid=%ld "
                    "rule=%s reason=%s\n expected %s scope=%s from=%s to=%s time=%lld "
                    "until=%lld uid=%ld rule=%s reason=%s\n",
                    d->event, d->scope, d->from, d->to, (long long) d->time, (long long) d->until,
                    d->uid, d->rule, d->reason, event, scope, from, to, (long long) when,
                    (long long) until, uid, rule, reason);
    assert_string_equal(d->event, event);
    assert_string_equal(d->scope, scope);
    assert_string_equal(d->from, from);
    assert_string_equal(d->to, to);
    assert_int_equal(d->time, when);
    assert_int_equal(d->until, until);
    assert_int_equal(d->uid, uid);
    assert_string_equal(d->rule, rule);
    assert_string_equal(d->reason, reason);
}

static void
test_pin_creates_scope(void **state)
{
    struct sw_route *r = *state;
    const struct sw_scope *s;
    struct sw_decision d;

    assert_int_equal(sw_route_count(r), 0);
    assert_null(sw_route_get(r, SW_SCOPE_DESTINATION, "example.com"));
    assert_int_equal(sw_route_pin(r, SW_SCOPE_DESTINATION, "example.com", "alt-eu", T0, T0 + 7200,
                                  "provider incident 4711", 0, &d),
                     SW_ROUTE_OK);
    expect_decision(&d, "pin", "destination:example.com", "primary", "alt-eu", T0, T0 + 7200, 0,
                    "operator", "provider incident 4711");
    assert_int_equal(sw_route_count(r), 1);
    s = sw_route_get(r, SW_SCOPE_DESTINATION, "example.com");
    assert_non_null(s);
    assert_string_equal(s->key, "destination:example.com");
    assert_string_equal(s->name, "example.com");
    assert_int_equal(s->kind, SW_SCOPE_DESTINATION);
    assert_int_equal(s->state, SW_STATE_PINNED);
    assert_string_equal(s->relay, "alt-eu");
    assert_int_equal(s->since, T0);
    assert_int_equal(s->until, T0 + 7200);
    assert_string_equal(s->rule, "operator");
    assert_string_equal(s->reason, "provider incident 4711");
    assert_int_equal(s->uid, 0);
    /* The same name as a pool is another scope. */
    assert_null(sw_route_get(r, SW_SCOPE_POOL, "example.com"));
    assert_int_equal(sw_route_pin(r, SW_SCOPE_POOL, "m365", "alt-us", T0 + 5, 0, NULL, 1000, &d),
                     SW_ROUTE_OK);
    expect_decision(&d, "pin", "pool:m365", "primary", "alt-us", T0 + 5, 0, 1000, "operator", "");
    assert_int_equal(sw_route_count(r), 2);
    s = sw_route_get(r, SW_SCOPE_POOL, "m365");
    assert_non_null(s);
    assert_int_equal(s->kind, SW_SCOPE_POOL);
    assert_string_equal(s->name, "m365");
}

static void
test_repin_reports_old_relay(void **state)
{
    struct sw_route *r = *state;
    const struct sw_scope *s;
    struct sw_decision d;

    assert_int_equal(sw_route_pin(r, SW_SCOPE_DESTINATION, "example.com", "alt-eu", T0, T0 + 100,
                                  "first", 0, &d),
                     SW_ROUTE_OK);
    assert_int_equal(sw_route_pin(r, SW_SCOPE_DESTINATION, "example.com", "alt-us", T0 + 10,
                                  T0 + 3600, "second", 1001, &d),
                     SW_ROUTE_OK);
    expect_decision(&d, "pin", "destination:example.com", "alt-eu", "alt-us", T0 + 10, T0 + 3600,
                    1001, "operator", "second");
    assert_int_equal(sw_route_count(r), 1);
    s = sw_route_get(r, SW_SCOPE_DESTINATION, "example.com");
    assert_string_equal(s->relay, "alt-us");
    assert_int_equal(s->since, T0 + 10);
    assert_int_equal(s->until, T0 + 3600);
    assert_int_equal(s->uid, 1001);
    assert_string_equal(s->reason, "second");
}

static void
test_release(void **state)
{
    struct sw_route *r = *state;
    struct sw_decision d;

    assert_int_equal(sw_route_release(r, SW_SCOPE_DESTINATION, "example.com", T0, 0, &d),
                     SW_ROUTE_NOENT);
    assert_int_equal(
        sw_route_pin(r, SW_SCOPE_DESTINATION, "example.com", "alt-eu", T0, T0 + 7200, "why", 0, &d),
        SW_ROUTE_OK);
    /* Another kind with the same name is not released. */
    assert_int_equal(sw_route_release(r, SW_SCOPE_POOL, "example.com", T0, 0, &d), SW_ROUTE_NOENT);
    assert_int_equal(sw_route_release(r, SW_SCOPE_DESTINATION, "example.com", T0 + 60, 1002, &d),
                     SW_ROUTE_OK);
    expect_decision(&d, "release", "destination:example.com", "alt-eu", "primary", T0 + 60, 0, 1002,
                    "operator", "why");
    assert_int_equal(sw_route_count(r), 0);
    assert_null(sw_route_get(r, SW_SCOPE_DESTINATION, "example.com"));
    assert_null(sw_route_find_destination(r, "example.com"));
    assert_int_equal(sw_route_release(r, SW_SCOPE_DESTINATION, "example.com", T0, 0, &d),
                     SW_ROUTE_NOENT);
    assert_int_equal(sw_route_release(r, SW_SCOPE_DESTINATION, "", T0, 0, &d), SW_ROUTE_BADARG);
}

static void
test_bad_arguments(void **state)
{
    struct sw_route *r = *state;
    struct sw_decision d;
    char long_name[300];

    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(sw_route_pin(r, SW_SCOPE_DESTINATION, "", "alt-eu", T0, 0, "", 0, &d),
                     SW_ROUTE_BADARG);
    assert_int_equal(sw_route_pin(r, SW_SCOPE_DESTINATION, "x.org", NULL, T0, 0, "", 0, &d),
                     SW_ROUTE_BADARG);
    assert_int_equal(sw_route_pin(r, SW_SCOPE_DESTINATION, "x.org", "", T0, 0, "", 0, &d),
                     SW_ROUTE_BADARG);
    assert_int_equal(sw_route_pin(r, SW_SCOPE_DESTINATION, long_name, "alt-eu", T0, 0, "", 0, &d),
                     SW_ROUTE_BADARG);
    assert_int_equal(sw_route_count(r), 0);
    assert_null(sw_route_get(r, SW_SCOPE_DESTINATION, long_name));
}

/* A long reason is cut to SW_REASON_MAX bytes, in the scope and decision. */
static void
test_reason_is_capped(void **state)
{
    struct sw_route *r = *state;
    struct sw_decision d;
    char reason[1000];

    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    assert_int_equal(sw_route_pin(r, SW_SCOPE_DESTINATION, "x.org", "alt-eu", T0, 0, reason, 0, &d),
                     SW_ROUTE_OK);
    assert_int_equal(strlen(d.reason), SW_REASON_MAX);
    assert_int_equal(strlen(sw_route_get(r, SW_SCOPE_DESTINATION, "x.org")->reason), SW_REASON_MAX);
}

/* The governing destination scope: the domain, else the nearest parent. */
static const struct find_case {
    const char *domain;
    const char *scope; /* expected key, NULL: primary */
} find_cases[] = {
    { "example.com", "destination:example.com" },
    { "a.b.example.com", "destination:example.com" },
    { "sub.example.com", "destination:sub.example.com" },
    { "x.sub.example.com", "destination:sub.example.com" },
    { "a.x.sub.example.com", "destination:sub.example.com" },
    { "other.example.com", "destination:example.com" },
    { "example.org", NULL },
    { "com", NULL },
    { "notexample.com", NULL },
    { "example.com.evil", NULL },
    { "m365", NULL }, /* a pool scope is not a destination */
    { "x.m365", NULL },
};

static void
test_find_destination(void **state)
{
    struct sw_route *r = *state;
    const struct sw_scope *s;
    struct sw_decision d;
    size_t i;
    int failed = 0;

    assert_null(sw_route_find_destination(r, "example.com"));
    assert_int_equal(
        sw_route_pin(r, SW_SCOPE_DESTINATION, "example.com", "alt-eu", T0, 0, "", 0, &d),
        SW_ROUTE_OK);
    assert_int_equal(
        sw_route_pin(r, SW_SCOPE_DESTINATION, "sub.example.com", "alt-us", T0, 0, "", 0, &d),
        SW_ROUTE_OK);
    assert_int_equal(sw_route_pin(r, SW_SCOPE_POOL, "m365", "alt-eu", T0, 0, "", 0, &d),
                     SW_ROUTE_OK);
    for (i = 0; i < sizeof(find_cases) / sizeof(find_cases[0]); i++) {
        s = sw_route_find_destination(r, find_cases[i].domain);
        if ((s == NULL) != (find_cases[i].scope == NULL)
            || (s && strcmp(s->key, find_cases[i].scope) != 0)) {
            print_error("find_destination(%s): %s, expected %s\n", find_cases[i].domain,
                        s ? s->key : "primary",
                        find_cases[i].scope ? find_cases[i].scope : "primary");
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

/* Expiry at the deadline, with decisions passed to the callback. */
struct expired {
    size_t n;
    struct sw_decision d[8];
};

static void
record(const struct sw_decision *d, void *ctx)
{
    struct expired *e = ctx;

    if (e->n < 8)
        e->d[e->n] = *d;
    e->n++;
}

static void
test_expire(void **state)
{
    struct sw_route *r = *state;
    struct expired e = { 0 };
    struct sw_decision d;

    assert_int_equal(sw_route_next_deadline(r), 0);
    assert_int_equal(sw_route_expire(r, T0 + 1000000, record, &e), 0);
    assert_int_equal(
        sw_route_pin(r, SW_SCOPE_DESTINATION, "b.example", "alt-us", T0, T0 + 200, "two", 7, &d),
        SW_ROUTE_OK);
    assert_int_equal(
        sw_route_pin(r, SW_SCOPE_DESTINATION, "a.example", "alt-eu", T0, T0 + 100, "one", 7, &d),
        SW_ROUTE_OK);
    assert_int_equal(sw_route_pin(r, SW_SCOPE_POOL, "m365", "alt-eu", T0, 0, "forever", 7, &d),
                     SW_ROUTE_OK);
    assert_int_equal(sw_route_next_deadline(r), T0 + 100);

    /* now < until: kept */
    assert_int_equal(sw_route_expire(r, T0 + 99, record, &e), 0);
    assert_int_equal(e.n, 0);
    assert_int_equal(sw_route_count(r), 3);

    /* now == until: released with event "expire" */
    assert_int_equal(sw_route_expire(r, T0 + 100, record, &e), 1);
    assert_int_equal(e.n, 1);
    expect_decision(&e.d[0], "expire", "destination:a.example", "alt-eu", "primary", T0 + 100,
                    T0 + 100, 7, "operator", "one");
    assert_null(sw_route_get(r, SW_SCOPE_DESTINATION, "a.example"));
    assert_int_equal(sw_route_count(r), 2);
    assert_int_equal(sw_route_next_deadline(r), T0 + 200);

    /* now > until, no callback: still expires */
    assert_int_equal(sw_route_expire(r, T0 + 5000, NULL, NULL), 1);
    assert_null(sw_route_get(r, SW_SCOPE_DESTINATION, "b.example"));
    /* until 0: never expires */
    assert_int_equal(sw_route_next_deadline(r), 0);
    assert_int_equal(sw_route_expire(r, T0 + 100000000, record, &e), 0);
    assert_int_equal(sw_route_count(r), 1);
    assert_non_null(sw_route_get(r, SW_SCOPE_POOL, "m365"));
}

/* Only pinned scopes expire; restored diverted ones wait for their rule. */
static void
test_expire_only_pins(void **state)
{
    struct sw_route *r = *state;
    struct sw_scope t;

    memset(&t, 0, sizeof(t));
    t.key = "destination:held.example";
    t.kind = SW_SCOPE_DESTINATION;
    t.state = SW_STATE_DIVERTED;
    t.relay = "alt-eu";
    t.since = T0;
    t.until = T0 + 10;
    t.hold = 10;
    t.uid = SW_UID_NONE;
    assert_int_equal(sw_route_restore(r, &t), SW_ROUTE_OK);
    assert_int_equal(sw_route_expire(r, T0 + 100, NULL, NULL), 0);
    assert_int_equal(sw_route_count(r), 1);
}

static void
test_reroute(void **state)
{
    struct sw_route *r = *state;
    const struct sw_scope *s;
    struct sw_decision d;

    assert_int_equal(sw_route_reroute(r, "destination:example.com", "alt-us", T0, "x", &d),
                     SW_ROUTE_NOENT);
    assert_int_equal(sw_route_pin(r, SW_SCOPE_DESTINATION, "example.com", "alt-eu", T0, T0 + 7200,
                                  "incident", 0, &d),
                     SW_ROUTE_OK);
    assert_int_equal(sw_route_reroute(r, "destination:example.com", "alt-us", T0 + 30,
                                      "relay alt-eu is disabled", &d),
                     SW_ROUTE_OK);
    expect_decision(&d, "reroute", "destination:example.com", "alt-eu", "alt-us", T0 + 30,
                    T0 + 7200, 0, "operator", "relay alt-eu is disabled");
    s = sw_route_get(r, SW_SCOPE_DESTINATION, "example.com");
    assert_string_equal(s->relay, "alt-us");
    assert_int_equal(s->state, SW_STATE_PINNED);
    assert_int_equal(s->until, T0 + 7200);
    assert_int_equal(s->since, T0);
    assert_string_equal(s->reason, "incident"); /* the operator's reason stays */
    assert_int_equal(sw_route_reroute(r, "destination:example.com", "", T0, "x", &d),
                     SW_ROUTE_BADARG);
    assert_int_equal(sw_route_reroute(r, "destination:example.com", NULL, T0, "x", &d),
                     SW_ROUTE_BADARG);
    assert_int_equal(sw_route_reroute(r, "example.com", "alt-us", T0, "x", &d), SW_ROUTE_NOENT);
    assert_string_equal(sw_route_get(r, SW_SCOPE_DESTINATION, "example.com")->relay, "alt-us");
}

static void
test_restore(void **state)
{
    struct sw_route *r = *state;
    const struct sw_scope *s;
    struct sw_scope t;

    memset(&t, 0, sizeof(t));
    t.key = "destination:a.example";
    t.kind = SW_SCOPE_DESTINATION;
    t.state = SW_STATE_PROBING;
    t.relay = "alt-eu";
    t.since = T0 - 50;
    t.until = T0 + 1800;
    t.hold = 3600;
    t.rule = "pool-reputation";
    t.reason = "3 events in 10m";
    t.uid = SW_UID_NONE;
    assert_int_equal(sw_route_restore(r, &t), SW_ROUTE_OK);
    s = sw_route_get(r, SW_SCOPE_DESTINATION, "a.example");
    assert_non_null(s);
    assert_ptr_not_equal(s->key, t.key); /* copied */
    assert_string_equal(s->key, t.key);
    assert_string_equal(s->name, "a.example");
    assert_int_equal(s->state, SW_STATE_PROBING);
    assert_string_equal(s->relay, "alt-eu");
    assert_int_equal(s->since, T0 - 50);
    assert_int_equal(s->until, T0 + 1800);
    assert_int_equal(s->hold, 3600);
    assert_string_equal(s->rule, "pool-reputation");
    assert_string_equal(s->reason, "3 events in 10m");
    assert_int_equal(s->uid, SW_UID_NONE);
    assert_ptr_equal(sw_route_find_destination(r, "x.a.example"), s);

    /* duplicates, primary state, missing relay, bad key: refused */
    assert_int_equal(sw_route_restore(r, &t), SW_ROUTE_BADARG);
    t.key = "destination:b.example";
    t.state = SW_STATE_PRIMARY;
    assert_int_equal(sw_route_restore(r, &t), SW_ROUTE_BADARG);
    t.state = SW_STATE_PINNED;
    t.relay = NULL;
    assert_int_equal(sw_route_restore(r, &t), SW_ROUTE_BADARG);
    t.relay = "alt-eu";
    t.key = "b.example";
    assert_int_equal(sw_route_restore(r, &t), SW_ROUTE_BADARG);
    t.key = NULL;
    assert_int_equal(sw_route_restore(r, &t), SW_ROUTE_BADARG);
    assert_int_equal(sw_route_count(r), 1);
    /* rule and reason may be absent */
    t.key = "pool:m365";
    t.kind = SW_SCOPE_POOL;
    t.rule = NULL;
    t.reason = NULL;
    assert_int_equal(sw_route_restore(r, &t), SW_ROUTE_OK);
    s = sw_route_get(r, SW_SCOPE_POOL, "m365");
    assert_non_null(s);
    assert_int_equal(s->state, SW_STATE_PINNED);
    assert_int_equal(sw_route_count(r), 2);
    /* a restored pin expires like any other */
    assert_int_equal(sw_route_next_deadline(r), T0 + 1800);
    assert_int_equal(sw_route_expire(r, T0 + 1800, NULL, NULL), 1);
    assert_null(sw_route_get(r, SW_SCOPE_POOL, "m365"));
    assert_non_null(sw_route_get(r, SW_SCOPE_DESTINATION, "a.example"));
}

static void
test_sorted(void **state)
{
    static const struct {
        enum sw_scope_kind kind;
        const char *name;
    } pins[] = {
        { SW_SCOPE_POOL, "m365" },
        { SW_SCOPE_DESTINATION, "zeta.example" },
        { SW_SCOPE_DESTINATION, "alpha.example" },
        { SW_SCOPE_POOL, "google" },
        { SW_SCOPE_DESTINATION, "a.alpha.example" },
        { SW_SCOPE_DESTINATION, "mid.example" },
    };
    static const char *const want[] = {
        "destination:a.alpha.example",
        "destination:alpha.example",
        "destination:mid.example",
        "destination:zeta.example",
        "pool:google",
        "pool:m365",
    };
    struct sw_route *r = *state;
    const struct sw_scope **v;
    struct sw_decision d;
    size_t i, n = 99;

    v = sw_route_sorted(r, &n);
    assert_non_null(v);
    assert_int_equal(n, 0);
    free(v);
    for (i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
        assert_int_equal(sw_route_pin(r, pins[i].kind, pins[i].name, "alt-eu", T0, 0, "", 0, &d),
                         SW_ROUTE_OK);
    v = sw_route_sorted(r, &n);
    assert_non_null(v);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < n; i++) {
        if (strcmp(v[i]->key, want[i]) != 0)
            print_error("sorted[%zu] = %s, expected %s\n", i, v[i]->key, want[i]);
        assert_string_equal(v[i]->key, want[i]);
    }
    free(v);
}

/* 10,000 scopes: the table grows, every scope stays reachable. */
static void
test_many_scopes(void **state)
{
    enum { N = 10000 };
    struct sw_route *r = *state;
    const struct sw_scope **v;
    const struct sw_scope *s;
    struct sw_decision d;
    char name[64], sub[80];
    size_t i, n;

    for (i = 0; i < N; i++) {
        (void) snprintf(name, sizeof(name), "d%05zu.example", i);
        assert_int_equal(sw_route_pin(r, SW_SCOPE_DESTINATION, name, "alt-eu", T0,
                                      T0 + 1 + (time_t) ((i * 7919) % N), "", 0, &d),
                         SW_ROUTE_OK);
    }
    assert_int_equal(sw_route_count(r), N);
    assert_int_equal(sw_route_next_deadline(r), T0 + 1);
    for (i = 0; i < N; i++) {
        (void) snprintf(name, sizeof(name), "d%05zu.example", i);
        (void) snprintf(sub, sizeof(sub), "mx.%s", name);
        s = sw_route_find_destination(r, sub);
        if (s == NULL || strcmp(s->name, name) != 0)
            print_error("scope %s not found after growth\n", name);
        assert_non_null(s);
        assert_string_equal(s->name, name);
    }
    v = sw_route_sorted(r, &n);
    assert_non_null(v);
    assert_int_equal(n, N);
    for (i = 1; i < n; i++)
        assert_true(strcmp(v[i - 1]->key, v[i]->key) < 0);
    free(v);

    /* Half expire (deadlines T0+1 .. T0+N, each once). */
    assert_int_equal(sw_route_expire(r, T0 + N / 2, NULL, NULL), N / 2);
    assert_int_equal(sw_route_count(r), N / 2);
    assert_int_equal(sw_route_next_deadline(r), T0 + N / 2 + 1);

    /* Release all: the rest by release, the expired ones are gone. */
    n = 0;
    for (i = 0; i < N; i++) {
        (void) snprintf(name, sizeof(name), "d%05zu.example", i);
        if (sw_route_release(r, SW_SCOPE_DESTINATION, name, T0, 0, &d) == SW_ROUTE_OK)
            n++;
    }
    assert_int_equal(n, N / 2);
    assert_int_equal(sw_route_count(r), 0);
    assert_null(sw_route_find_destination(r, "mx.d00042.example"));
    assert_int_equal(sw_route_next_deadline(r), 0);

    /* And again: the grown table takes a second round. */
    for (i = 0; i < N; i++) {
        (void) snprintf(name, sizeof(name), "e%05zu.example", i);
        assert_int_equal(sw_route_pin(r, SW_SCOPE_POOL, name, "alt-eu", T0, 0, "", 0, &d),
                         SW_ROUTE_OK);
    }
    assert_int_equal(sw_route_count(r), N);
    for (i = 0; i < N; i++) {
        (void) snprintf(name, sizeof(name), "e%05zu.example", i);
        assert_int_equal(sw_route_release(r, SW_SCOPE_POOL, name, T0, 0, &d), SW_ROUTE_OK);
    }
    assert_int_equal(sw_route_count(r), 0);
}

/* A decision line is key=value with no bare words: the evidence of two
 * sources is one value ("log:2,dsn:1"), and quoted texts are escaped. */
static void
test_decision_line(void **state)
{
    struct sw_decision d;
    struct sw_buf b;

    (void) state;
    memset(&d, 0, sizeof(d));
    d.event = "divert";
    (void) snprintf(d.scope, sizeof(d.scope), "destination:example.com");
    (void) snprintf(d.from, sizeof(d.from), "primary");
    (void) snprintf(d.to, sizeof(d.to), "alt-eu");
    (void) snprintf(d.rule, sizeof(d.rule), "pool-reputation");
    (void) snprintf(d.pool, sizeof(d.pool), "m365");
    (void) snprintf(d.first, sizeof(d.first), "550 \"quoted\"");
    d.uid = SW_UID_NONE;
    d.events = 3;
    d.window = 600;
    d.ratio = 1.0;
    d.hold = 1800;
    d.n_log = 2;
    d.n_dsn = 1;
    sw_buf_init(&b, 4096);
    assert_true(sw_decision_format(&d, &b));
    assert_non_null(strstr(sw_buf_str(&b), " evidence=log:2,dsn:1 first=\"550 \\\"quoted\\\"\""));
    sw_buf_reset(&b);
    d.n_log = 0;
    assert_true(sw_decision_format(&d, &b));
    assert_non_null(strstr(sw_buf_str(&b), " evidence=dsn:1 first="));
    sw_buf_free(&b);
}

static void
test_names(void **state)
{
    static const enum sw_state states[] = { SW_STATE_PRIMARY, SW_STATE_DIVERTED, SW_STATE_PROBING,
                                            SW_STATE_PINNED };
    static const char *const words[] = { "primary", "diverted", "probing", "pinned" };
    enum sw_state st;
    char key[SW_SCOPE_KEY_MAX + 1];
    size_t i;

    (void) state;
    for (i = 0; i < 4; i++) {
        assert_string_equal(sw_state_name(states[i]), words[i]);
        st = SW_STATE_PRIMARY;
        assert_true(sw_state_parse_name(words[i], &st));
        assert_int_equal(st, states[i]);
    }
    assert_false(sw_state_parse_name("Pinned", &st));
    assert_false(sw_state_parse_name("", &st));
    assert_string_equal(sw_scope_kind_name(SW_SCOPE_DESTINATION), "destination");
    assert_string_equal(sw_scope_kind_name(SW_SCOPE_POOL), "pool");
    assert_true(sw_scope_key(SW_SCOPE_POOL, "m365", key, sizeof(key)));
    assert_string_equal(key, "pool:m365");
    assert_true(sw_scope_key(SW_SCOPE_DESTINATION, "x.org", key, sizeof(key)));
    assert_string_equal(key, "destination:x.org");
    assert_false(sw_scope_key(SW_SCOPE_DESTINATION, "", key, sizeof(key)));
    assert_false(sw_scope_key(SW_SCOPE_DESTINATION, "x.org", key, 17));
    assert_true(sw_scope_key(SW_SCOPE_DESTINATION, "x.org", key, 18));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pin_creates_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repin_reports_old_relay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reason_is_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_destination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_only_pins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reroute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_scopes, setup, teardown),
        cmocka_unit_test(test_decision_line),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
