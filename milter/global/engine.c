/* engine.c - automatic decisions from evidence: thresholds, holds, returns */

/*
 * Trackers are created by trouble only: a destination that never failed
 * through the primary costs nothing, so memory follows incidents, not
 * traffic.  The consequence, documented in spillway.conf(5): a
 * destination's ratio counts the successes since its first event in the
 * window, not before.  Pools always have a tracker (there are few).
 *
 * Each tracker keeps at most SW_ENGINE_MAX_EVENTS events and as many
 * successes, newest last; older entries than the longest rule window are
 * dropped as new ones arrive.  Costs are linear in that bound.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "global/engine.h"

#define SW_ENGINE_MIN_BUCKETS 64
#define SW_USAGE_MINUTES      60

struct tev {
    time_t t;
    unsigned cls;
    enum sw_ev_source src;
    uint64_t id; /* hash of (queue id, recipient) */
};

struct tracker {
    char *key;
    struct tracker *next;
    struct tev *ev;
    size_t nev, evcap;
    time_t *succ;
    size_t nsucc, succap;
    struct sw_evidence evid[SW_SCOPE_EVIDENCE]; /* the first of this episode */
    size_t nevid;
    bool warned; /* "no eligible relay" said for this episode */
    time_t last;
};

struct usage {
    char name[SW_EV_NAME_MAX + 1];
    unsigned long count[SW_USAGE_MINUTES];
    time_t minute[SW_USAGE_MINUTES];
};

struct sw_engine {
    struct tracker **bucket;
    size_t nbuckets, count;
    struct usage *use;
    size_t nuse;
    unsigned long *hour; /* per conf relay, rebuilt by sw_engine_usage */
    size_t nhour;
};

/* hash - FNV-1a over n strings */
static uint64_t
hash(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL;

    for (; a && *a; a++)
        h = (h ^ (unsigned char) *a) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (; b && *b; b++)
        h = (h ^ (unsigned char) *b) * 1099511628211ULL;
    return h;
}

/* sw_engine_new - no trackers yet */
struct sw_engine *
sw_engine_new(void)
{
    struct sw_engine *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return NULL;
    e->nbuckets = SW_ENGINE_MIN_BUCKETS;
    if ((e->bucket = calloc(e->nbuckets, sizeof(*e->bucket))) == NULL) {
        free(e);
        return NULL;
    }
    return e;
}

/* tracker_free - one tracker */
static void
tracker_free(struct tracker *t)
{
    free(t->key);
    free(t->ev);
    free(t->succ);
    free(t);
}

/* sw_engine_free - everything */
void
sw_engine_free(struct sw_engine *e)
{
    struct tracker *t, *next;
    size_t i;

    if (e == NULL)
        return;
    for (i = 0; i < e->nbuckets; i++)
        for (t = e->bucket[i]; t; t = next) {
            next = t->next;
            tracker_free(t);
        }
    free(e->bucket);
    free(e->use);
    free(e->hour);
    free(e);
}

/* find - tracker by key */
static struct tracker *
find(const struct sw_engine *e, const char *key)
{
    struct tracker *t;

    for (t = e->bucket[hash(key, NULL) & (e->nbuckets - 1)]; t; t = t->next)
        if (strcmp(t->key, key) == 0)
            return t;
    return NULL;
}

/* grow - double the buckets past a load of 1 */
static void
grow(struct sw_engine *e)
{
    struct tracker **nb, *t, *next;
    size_t i, n = e->nbuckets * 2, h;

    if (e->count < e->nbuckets || (nb = calloc(n, sizeof(*nb))) == NULL)
        return;
    for (i = 0; i < e->nbuckets; i++)
        for (t = e->bucket[i]; t; t = next) {
            next = t->next;
            h = hash(t->key, NULL) & (n - 1);
            t->next = nb[h];
            nb[h] = t;
        }
    free(e->bucket);
    e->bucket = nb;
    e->nbuckets = n;
}

/* obtain - tracker by key, created if absent (NULL: out of memory) */
static struct tracker *
obtain(struct sw_engine *e, const char *key)
{
    struct tracker *t = find(e, key);
    size_t h;

    if (t)
        return t;
    if ((t = calloc(1, sizeof(*t))) == NULL || (t->key = strdup(key)) == NULL) {
        free(t);
        return NULL;
    }
    grow(e);
    h = hash(key, NULL) & (e->nbuckets - 1);
    t->next = e->bucket[h];
    e->bucket[h] = t;
    e->count++;
    return t;
}

/* max_window - the longest rule window (at least a minute) */
static long
max_window(const struct sw_conf *c)
{
    long w = sw_conf_max_window(c);

    return w > 60 ? w : 60;
}

/* prune - drop what is older than the longest window */
static void
prune(struct tracker *t, time_t now, long window)
{
    size_t i = 0;

    while (i < t->nev && t->ev[i].t < now - window)
        i++;
    if (i) {
        memmove(t->ev, t->ev + i, (t->nev - i) * sizeof(*t->ev));
        t->nev -= i;
    }
    for (i = 0; i < t->nsucc && t->succ[i] < now - window; i++)
        ;
    if (i) {
        memmove(t->succ, t->succ + i, (t->nsucc - i) * sizeof(*t->succ));
        t->nsucc -= i;
    }
    if (t->nev == 0) { /* the episode is over */
        t->nevid = 0;
        t->warned = false;
    }
}

/* push - append to a bounded array, dropping the oldest when full */
static bool
push(void **arr, size_t *n, size_t *cap, size_t elem, const void *item)
{
    char *p;
    size_t nc;

    if (*n == SW_ENGINE_MAX_EVENTS) {
        memmove(*arr, (char *) *arr + elem, (*n - 1) * elem);
        --*n;
    } else if (*n == *cap) {
        nc = *cap ? *cap * 2 : 8;
        if (nc > SW_ENGINE_MAX_EVENTS)
            nc = SW_ENGINE_MAX_EVENTS;
        if ((p = realloc(*arr, nc * elem)) == NULL)
            return false;
        *arr = p;
        *cap = nc;
    }
    memcpy((char *) *arr + *n * elem, item, elem);
    ++*n;
    return true;
}

/* add_event - one distinct event (a retry of the same message and
 * recipient is not a new one) and its evidence */
static void
add_event(struct tracker *t, const struct sw_evidence *ev, time_t now, long window)
{
    struct tev te = { ev->time, ev->cls, ev->source, hash(ev->id, ev->rcpt) };
    size_t i;

    prune(t, now, window);
    t->last = now;
    for (i = 0; i < t->nev; i++)
        if (t->ev[i].id == te.id)
            return;
    if (!push((void **) &t->ev, &t->nev, &t->evcap, sizeof(te), &te))
        return;
    if (t->nevid < SW_SCOPE_EVIDENCE)
        t->evid[t->nevid++] = *ev;
}

/* add_success - one delivery through the primary */
static void
add_success(struct tracker *t, time_t when, time_t now, long window)
{
    prune(t, now, window);
    (void) push((void **) &t->succ, &t->nsucc, &t->succap, sizeof(when), &when);
}

/* count - events of some classes, and successes, within a window */
static void
count(const struct tracker *t, time_t now, long window, unsigned classes, long *events,
      long *successes, long *n_log, long *n_dsn)
{
    size_t i;

    *events = *successes = *n_log = *n_dsn = 0;
    for (i = 0; i < t->nev; i++)
        if (t->ev[i].t >= now - window && (t->ev[i].cls & classes)) {
            ++*events;
            if (t->ev[i].src == SW_EV_DSN)
                ++*n_dsn;
            else
                ++*n_log;
        }
    for (i = 0; i < t->nsucc; i++)
        if (t->succ[i] >= now - window)
            ++*successes;
}

/* sw_engine_window - for explain */
void
sw_engine_window(const struct sw_engine *e, const char *key, time_t now, long window,
                 unsigned classes, long *events, long *successes)
{
    const struct tracker *t = find(e, key);
    long a, b;

    *events = *successes = 0;
    if (t)
        count(t, now, window, classes, events, successes, &a, &b);
}

/* rule_named - a scope's rule in the current config */
static const struct sw_rule *
rule_named(const struct sw_conf *c, const char *name)
{
    size_t i;

    for (i = 0; name && i < c->nrules; i++)
        if (strcmp(c->rules[i].name, name) == 0)
            return &c->rules[i];
    return NULL;
}

/* usage_add - one delivery through a relay, for its hourly budget */
static void
usage_add(struct sw_engine *e, const char *relay, time_t when)
{
    struct usage *u = NULL, *nu;
    time_t minute = when / 60;
    size_t i, slot = (size_t) (minute % SW_USAGE_MINUTES);

    for (i = 0; i < e->nuse && u == NULL; i++)
        if (strcmp(e->use[i].name, relay) == 0)
            u = &e->use[i];
    if (u == NULL) {
        if ((nu = realloc(e->use, (e->nuse + 1) * sizeof(*nu))) == NULL)
            return;
        e->use = nu;
        u = &e->use[e->nuse++];
        memset(u, 0, sizeof(*u));
        (void) snprintf(u->name, sizeof(u->name), "%s", relay);
    }
    if (u->minute[slot] != minute) {
        u->minute[slot] = minute;
        u->count[slot] = 0;
    }
    u->count[slot]++;
}

/* sw_engine_usage - deliveries in the last hour, per configured relay */
const unsigned long *
sw_engine_usage(struct sw_engine *e, const struct sw_conf *conf, time_t now)
{
    unsigned long *h;
    size_t i, k, m;

    if (e->nhour < conf->nrelays) {
        if ((h = realloc(e->hour, conf->nrelays * sizeof(*h))) == NULL)
            return NULL;
        e->hour = h;
        e->nhour = conf->nrelays;
    }
    for (i = 0; i < conf->nrelays; i++) {
        e->hour[i] = 0;
        for (k = 0; k < e->nuse; k++) {
            if (strcmp(e->use[k].name, conf->relays[i].name) != 0)
                continue;
            for (m = 0; m < SW_USAGE_MINUTES; m++)
                if (e->use[k].minute[m] > now / 60 - SW_USAGE_MINUTES)
                    e->hour[i] += e->use[k].count[m];
        }
    }
    return e->hour;
}

/* fill - the automatic decision's evidence summary */
static void
fill(struct sw_decision *d, const struct tracker *t, const struct sw_rule *rule, const char *pool,
     time_t now)
{
    long ev, succ, nl, nd;

    count(t, now, rule->window, rule->classes, &ev, &succ, &nl, &nd);
    (void) snprintf(d->pool, sizeof(d->pool), "%s", pool);
    (void) snprintf(d->rule, sizeof(d->rule), "%s", rule->name);
    d->events = ev;
    d->successes = succ;
    d->window = rule->window;
    d->ratio = ev + succ ? (double) ev / (double) (ev + succ) : 0;
    d->n_log = nl;
    d->n_dsn = nd;
    if (t->nevid)
        (void) snprintf(d->first, sizeof(d->first), "%s", t->evid[0].text);
}

/* What one event means for one scope. */
struct scope_ctx {
    enum sw_scope_kind kind;
    const char *name;   /* domain or pool */
    const char *domain; /* for eligibility: NULL for a pool */
    char key[SW_SCOPE_KEY_MAX + 1];
    struct tracker *t;
    const struct sw_evidence *ev;
    sw_decision_fn fn;
    void *ctx;
};

/* relapse - new evidence while probing: back to diverted, hold doubled */
static void
relapse(const struct sw_policy *p, struct sw_route *r, struct scope_ctx *sc)
{
    const struct sw_scope *s = sw_route_get(r, sc->kind, sc->name);
    const struct sw_rule *rule = rule_named(p->conf, s->rule);
    const struct sw_relay *relay = sw_conf_relay(p->conf, s->relay);
    struct sw_decision d;
    long hold = s->hold * 2, hold_max = rule ? rule->hold_max : s->hold * 2;
    char rname[SW_EV_NAME_MAX + 1], rlname[SW_EV_NAME_MAX + 1];

    if (hold > hold_max)
        hold = hold_max;
    if (relay == NULL || sw_policy_ineligible(p, relay, sc->domain, false))
        relay = sw_policy_choose(p, sc->domain, sc->name, NULL);
    if (relay == NULL)
        return; /* stays probing: nothing better to offer */
    (void) snprintf(rname, sizeof(rname), "%s", s->rule ? s->rule : "");
    (void) snprintf(rlname, sizeof(rlname), "%s", relay->name);
    if (sw_route_divert(r, sc->kind, sc->name, rlname, rname, sc->ev->time, hold, sc->t->evid,
                        sc->t->nevid, &d)
        != SW_ROUTE_OK)
        return;
    if (rule)
        fill(&d, sc->t, rule, sc->ev->pool, sc->ev->time);
    d.hold = hold;
    (void) snprintf(d.reason, sizeof(d.reason), "relapse while probing");
    sc->fn(&d, sc->ctx);
}

/* evaluate - rules of this scope kind against the tracker */
static void
evaluate(const struct sw_policy *p, struct sw_route *r, struct scope_ctx *sc)
{
    const struct sw_conf *c = p->conf;
    const struct sw_relay *relay;
    const struct sw_rule *rule;
    struct sw_decision d;
    struct sw_buf why;
    long ev, succ, nl, nd;
    double ratio;
    size_t i;

    for (i = 0; i < c->nrules; i++) {
        rule = &c->rules[i];
        if (rule->scope != sc->kind || !(rule->classes & sc->ev->cls))
            continue;
        count(sc->t, sc->ev->time, rule->window, rule->classes, &ev, &succ, &nl, &nd);
        ratio = (double) ev / (double) (ev + succ);
        if (ev < rule->events || ratio < rule->ratio)
            continue;
        sw_buf_init(&why, 512);
        relay = sw_policy_choose(p, sc->domain, sc->name, &why);
        if (relay
            && sw_route_divert(r, sc->kind, sc->name, relay->name, rule->name, sc->ev->time,
                               rule->hold, sc->t->evid, sc->t->nevid, &d)
                   == SW_ROUTE_OK) {
            fill(&d, sc->t, rule, sc->ev->pool, sc->ev->time);
            sc->fn(&d, sc->ctx);
        } else if (relay == NULL && !sc->t->warned) {
            /* One warning per episode: deferring on the primary is better
             * than misrouting, and the operator must know. */
            memset(&d, 0, sizeof(d));
            d.event = "stay";
            (void) snprintf(d.scope, sizeof(d.scope), "%s", sc->key);
            (void) snprintf(d.from, sizeof(d.from), "primary");
            (void) snprintf(d.to, sizeof(d.to), "primary");
            d.time = sc->ev->time;
            d.uid = SW_UID_NONE;
            fill(&d, sc->t, rule, sc->ev->pool, sc->ev->time);
            (void) snprintf(d.reason, sizeof(d.reason), "no eligible alternate: %s",
                            sw_buf_str(&why));
            sc->t->warned = true;
            sc->fn(&d, sc->ctx);
        }
        sw_buf_free(&why);
        return;
    }
}

/* on_event - one piece of trouble for one scope */
static void
on_event(struct sw_engine *e, const struct sw_policy *p, struct sw_route *r, struct scope_ctx *sc)
{
    struct sw_scope *s;

    if (!sw_scope_key(sc->kind, sc->name, sc->key, sizeof(sc->key))
        || (sc->t = obtain(e, sc->key)) == NULL)
        return;
    add_event(sc->t, sc->ev, sc->ev->time, max_window(p->conf));
    if ((s = sw_route_find_key(r, sc->key)) != NULL) {
        if (s->state == SW_STATE_DIVERTED)
            s->last_evidence = sc->ev->time;
        else if (s->state == SW_STATE_PROBING)
            relapse(p, r, sc);
        return;
    }
    evaluate(p, r, sc);
}

/* on_success - a delivery through the primary */
static void
on_success(struct sw_engine *e, const struct sw_policy *p, struct sw_route *r,
           const struct sw_evidence *ev, sw_decision_fn fn, void *ctx)
{
    const struct sw_scope *s = NULL;
    const struct sw_rule *rule;
    struct tracker *t;
    struct sw_decision d;
    char key[SW_SCOPE_KEY_MAX + 1];
    long window = max_window(p->conf);

    if (ev->domain[0] && sw_scope_key(SW_SCOPE_DESTINATION, ev->domain, key, sizeof(key))
        && (t = find(e, key)) != NULL)
        add_success(t, ev->time, ev->time, window);
    if (ev->pool[0] && sw_scope_key(SW_SCOPE_POOL, ev->pool, key, sizeof(key))
        && (t = obtain(e, key)) != NULL)
        add_success(t, ev->time, ev->time, window);
    /* A probing scope that this delivery belongs to counts it. */
    if (ev->domain[0])
        s = sw_route_find_destination(r, ev->domain);
    if (s == NULL && ev->pool[0])
        s = sw_route_get(r, SW_SCOPE_POOL, ev->pool);
    if (s == NULL || s->state != SW_STATE_PROBING)
        return;
    rule = rule_named(p->conf, s->rule);
    (void) snprintf(key, sizeof(key), "%s", s->key);
    if (sw_route_probe_success(r, key, ev->time, rule ? rule->recover_successes : 10, &d)) {
        (void) snprintf(d.pool, sizeof(d.pool), "%s", ev->pool);
        fn(&d, ctx);
    }
}

/* sw_engine_observe - one observation */
void
sw_engine_observe(struct sw_engine *e, const struct sw_policy *p, struct sw_route *r,
                  const struct sw_observation *o, sw_decision_fn fn, void *ctx)
{
    const struct sw_evidence *ev = &o->ev;
    const struct sw_relay *relay = sw_conf_relay(p->conf, ev->relay);
    struct scope_ctx sc;

    if (ev->success) {
        if (relay && relay->role == SW_ROLE_ALTERNATE)
            usage_add(e, relay->name, ev->time);
        if (o->via_primary)
            on_success(e, p, r, ev, fn, ctx);
        return;
    }
    /* Only trusted trouble through the primary pool counts against it;
     * "other" never does (DESIGN.md 3). */
    if (!o->via_primary || !ev->trusted || !(ev->cls & (SW_CLASS_REPUTATION | SW_CLASS_THROTTLE)))
        return;
    memset(&sc, 0, sizeof(sc));
    sc.ev = ev;
    sc.fn = fn;
    sc.ctx = ctx;
    if (ev->domain[0]) {
        sc.kind = SW_SCOPE_DESTINATION;
        sc.name = sc.domain = ev->domain;
        on_event(e, p, r, &sc);
    }
    if (ev->pool[0]) {
        sc.kind = SW_SCOPE_POOL;
        sc.name = ev->pool;
        sc.domain = NULL;
        on_event(e, p, r, &sc);
    }
}

/* sw_engine_sweep - forget idle trackers */
void
sw_engine_sweep(struct sw_engine *e, time_t now, long max_age)
{
    struct tracker **pp, *t;
    size_t i;

    for (i = 0; i < e->nbuckets; i++)
        for (pp = &e->bucket[i]; (t = *pp) != NULL;) {
            if (t->last < now - max_age
                && (t->nsucc == 0 || t->succ[t->nsucc - 1] < now - max_age)) {
                *pp = t->next;
                tracker_free(t);
                e->count--;
            } else {
                pp = &t->next;
            }
        }
}

/* sw_engine_trackers - how many */
size_t
sw_engine_trackers(const struct sw_engine *e)
{
    return e->count;
}
