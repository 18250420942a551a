/* routed_verbs.c - what each spillwayctl verb does */

/*
 * One function per verb.  Replies start with "ok\n" or "error: ...\n"
 * (ctl.h); the body is for people, or JSON with --json.  Changes go
 * through the pure engine (route.c) and then routed_record(), which logs
 * them with the operator's uid.  A change (divert, release, relay) is
 * acknowledged only once the state file holds it (written, fsynced,
 * renamed): an operator who was told "ok" must not lose the decision to
 * a crash a moment later.  That write is done on the loop, in the
 * request's callback: a state file of a few KB costs a few ms, and
 * operator requests are rare.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/addr.h"
#include "global/answer.h"
#include "global/sockmap.h"
#include "global/ctl.h"
#include "global/decision.h"
#include "util/duration.h"
#include "global/engine.h"
#include "util/log.h"
#include "routed.h"

/* stamp - ISO 8601 UTC */
static const char *
stamp(time_t t, char *buf, size_t size)
{
    struct tm tm;

    if (t == 0 || gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        (void) snprintf(buf, size, "-");
    return buf;
}

/* error - replace the reply with one error line */
static void
error(struct sw_buf *out, const char *msg)
{
    sw_buf_reset(out);
    sw_buf_printf(out, "error: %s\n", msg);
}

/* durable - save the change now; false (with the reply an error that
 * says why) when it could not be saved.  The change stays in effect and
 * the save is retried (routed_persist.c). */
static bool
durable(struct routed *rd, struct sw_buf *out)
{
    struct sw_buf why, msg;
    bool ok;

    sw_buf_init(&why, 4096);
    ok = routed_state_save_durable(rd, &why);
    if (!ok) {
        sw_buf_init(&msg, 8192);
        sw_buf_printf(&msg,
                      "not saved: %s: the change is in effect but would be lost if "
                      "spillway-routed stopped now; the save is retried",
                      sw_buf_str(&why));
        error(out, sw_buf_str(&msg));
        sw_buf_free(&msg);
    }
    sw_buf_free(&why);
    return ok;
}

/* scope_text - one scope, for status and explain */
static void
scope_text(const struct sw_scope *s, time_t now, struct sw_buf *out)
{
    char t1[32], dur[32];

    sw_buf_printf(out, "  %-40s %-8s -> %-12s since %s", s->key, sw_state_name(s->state), s->relay,
                  stamp(s->since, t1, sizeof(t1)));
    if (s->until) {
        sw_duration_format((long) (s->until - now), dur, sizeof(dur));
        sw_buf_printf(out, " for %s", s->until > now ? dur : "0s");
    }
    if (s->uid != SW_UID_NONE)
        sw_buf_printf(out, " uid=%ld", s->uid);
    if (s->rule)
        sw_buf_printf(out, " rule=%s", s->rule);
    if (s->reason && *s->reason) {
        sw_buf_adds(out, " reason=\"");
        sw_buf_add_escaped(out, s->reason, SW_REASON_MAX);
        sw_buf_addc(out, '"');
    }
    sw_buf_addc(out, '\n');
}

/* scope_json - one scope as a JSON object */
static void
scope_json(const struct sw_scope *s, struct sw_buf *out)
{
    sw_buf_adds(out, "{\"scope\":");
    sw_buf_add_json(out, s->key);
    sw_buf_printf(out, ",\"state\":\"%s\",\"relay\":", sw_state_name(s->state));
    sw_buf_add_json(out, s->relay);
    sw_buf_printf(out, ",\"since\":%lld,\"until\":%lld,\"uid\":%ld,\"rule\":", (long long) s->since,
                  (long long) s->until, s->uid);
    sw_buf_add_json(out, s->rule ? s->rule : "");
    sw_buf_adds(out, ",\"reason\":");
    sw_buf_add_json(out, s->reason ? s->reason : "");
    sw_buf_addc(out, '}');
}

/* verb_status - everything at a glance */
static void
verb_status(struct routed *rd, const struct sw_ctl_request *req, struct sw_buf *out)
{
    const struct sw_conf *c = rd->conf;
    const struct sw_scope **v;
    const struct sw_relay *r;
    time_t now = time(NULL);
    size_t i, n;
    char dur[32];

    if ((v = sw_route_sorted(rd->route, &n)) == NULL) {
        error(out, "out of memory");
        return;
    }
    if (req->json) {
        sw_buf_printf(out, "{\"pid\":%ld,\"uptime\":%lld,\"config\":", (long) getpid(),
                      (long long) (now - rd->started));
        sw_buf_add_json(out, c->path);
        sw_buf_printf(out,
                      ",\"lookups\":{\"total\":%lu,\"found\":%lu,\"notfound\":%lu,"
                      "\"malformed\":%lu},",
                      rd->stats.lookups, rd->stats.found, rd->stats.notfound, rd->stats.malformed);
        routed_maillog_status(rd, true, out);
        sw_buf_printf(out,
                      ",\"evidence\":{\"records\":%lu,\"trusted\":%lu,"
                      "\"bad\":%lu,\"refused\":%lu},\"relays\":[",
                      rd->stats.evidence, rd->stats.evidence_trusted, rd->stats.evidence_bad,
                      rd->stats.evidence_refused);
        for (i = 0; i < c->nrelays; i++) {
            r = &c->relays[i];
            sw_buf_printf(out, "%s{\"name\":", i ? "," : "");
            sw_buf_add_json(out, r->name);
            sw_buf_printf(out,
                          ",\"role\":\"%s\",\"admin\":\"%s\",\"priority\":%d,"
                          "\"weight\":%d,\"jurisdiction\":",
                          r->role == SW_ROLE_PRIMARY ? "primary" : "alternate",
                          sw_admin_name(rd->admin[i]), r->priority, r->weight);
            sw_buf_add_json(out, r->jurisdiction ? r->jurisdiction : "");
            sw_buf_adds(out, ",\"nexthop\":");
            sw_buf_add_json(out, r->nexthop);
            routed_health_json(rd, i, out);
            sw_buf_addc(out, '}');
        }
        sw_buf_adds(out, "],\"pools\":[");
        for (i = 0; i < c->npools; i++) {
            const struct sw_scope *ps = sw_route_get(rd->route, SW_SCOPE_POOL, c->pools[i].name);

            sw_buf_printf(out, "%s{\"name\":", i ? "," : "");
            sw_buf_add_json(out, c->pools[i].name);
            sw_buf_printf(out, ",\"state\":\"%s\"}",
                          sw_state_name(ps ? ps->state : SW_STATE_PRIMARY));
        }
        sw_buf_adds(out, "],\"scopes\":[");
        for (i = 0; i < n; i++) {
            if (i)
                sw_buf_addc(out, ',');
            scope_json(v[i], out);
        }
        sw_buf_adds(out, "]}\n");
    } else {
        sw_duration_format((long) (now - rd->started), dur, sizeof(dur));
        sw_buf_printf(out, "spillway-routed pid %ld, up %s, config %s\n", (long) getpid(), dur,
                      c->path);
        sw_buf_printf(out, "lookups: %lu (found %lu, notfound %lu, malformed %lu)\n",
                      rd->stats.lookups, rd->stats.found, rd->stats.notfound, rd->stats.malformed);
        routed_maillog_status(rd, false, out);
        sw_buf_printf(out,
                      "bounce evidence: %lu records (%lu trusted), %lu bad, %lu refused\n\n",
                      rd->stats.evidence, rd->stats.evidence_trusted, rd->stats.evidence_bad,
                      rd->stats.evidence_refused);
        sw_buf_printf(out, "relays:\n  %-16s %-9s %-9s %4s %6s %-6s %s\n", "NAME", "ROLE", "ADMIN",
                      "PRIO", "WEIGHT", "JURIS", "NEXTHOP");
        for (i = 0; i < c->nrelays; i++) {
            r = &c->relays[i];
            sw_buf_printf(out, "  %-16s %-9s %-9s %4d %6d %-6s %s:%s\n", r->name,
                          r->role == SW_ROLE_PRIMARY ? "primary" : "alternate",
                          sw_admin_name(rd->admin[i]), r->priority, r->weight,
                          r->jurisdiction ? r->jurisdiction : "-", r->transport, r->nexthop);
        }
        routed_health_text(rd, out);
        sw_buf_adds(out, "\npools:\n");
        for (i = 0; i < c->npools; i++) {
            const struct sw_scope *ps = sw_route_get(rd->route, SW_SCOPE_POOL, c->pools[i].name);

            sw_buf_printf(out, "  %-16s %s%s%s\n", c->pools[i].name,
                          sw_state_name(ps ? ps->state : SW_STATE_PRIMARY), ps ? " -> " : "",
                          ps ? ps->relay : "");
        }
        sw_buf_printf(out, "\nscopes off the primary route: %zu\n", n);
        for (i = 0; i < n; i++)
            scope_text(v[i], now, out);
    }
    free(v);
}

/* evidence_text - what led to an automatic diversion */
static void
evidence_text(const struct sw_scope *s, struct sw_buf *out)
{
    const struct sw_evidence *e;
    char t[32];
    size_t i;

    if (s->nev)
        sw_buf_printf(out, "evidence (first %zu):\n", s->nev);
    for (i = 0; i < s->nev; i++) {
        e = &s->ev[i];
        if (e->source == SW_EV_DSN) /* a bounce names a pool, not a relay */
            sw_buf_printf(out, "  %s dsn pool=%s %s rcpt=<", stamp(e->time, t, sizeof(t)),
                          e->pool[0] ? e->pool : "-", e->trusted ? "trusted" : "untrusted");
        else
            sw_buf_printf(out, "  %s %s relay=%s rcpt=<", stamp(e->time, t, sizeof(t)),
                          sw_ev_source_name(e->source), e->relay);
        sw_buf_add_escaped(out, e->rcpt, 256);
        sw_buf_printf(out, "> id=%s dsn=%s class=%s pattern=%s text=\"", e->id, e->dsn,
                      e->cls == SW_CLASS_REPUTATION ? "reputation"
                      : e->cls == SW_CLASS_THROTTLE ? "throttle"
                                                    : "other",
                      e->pattern[0] ? e->pattern : "-");
        sw_buf_add_escaped(out, e->text, SW_EV_TEXT_MAX);
        sw_buf_adds(out, "\"\n");
    }
}

/* evidence_json - the same as a JSON array */
static void
evidence_json(const struct sw_scope *s, struct sw_buf *out)
{
    const struct sw_evidence *e;
    size_t i;

    sw_buf_adds(out, "[");
    for (i = 0; s && i < s->nev; i++) {
        e = &s->ev[i];
        sw_buf_printf(out, "%s{\"time\":%lld,\"source\":\"%s\",\"trusted\":%s,\"class\":\"%s\",",
                      i ? "," : "", (long long) e->time, sw_ev_source_name(e->source),
                      e->trusted ? "true" : "false",
                      e->cls == SW_CLASS_REPUTATION ? "reputation"
                      : e->cls == SW_CLASS_THROTTLE ? "throttle"
                                                    : "other");
        sw_buf_adds(out, "\"relay\":");
        sw_buf_add_json(out, e->relay);
        sw_buf_adds(out, ",\"pool\":");
        sw_buf_add_json(out, e->pool);
        sw_buf_adds(out, ",\"rcpt\":");
        sw_buf_add_json(out, e->rcpt);
        sw_buf_adds(out, ",\"id\":");
        sw_buf_add_json(out, e->id);
        sw_buf_adds(out, ",\"dsn\":");
        sw_buf_add_json(out, e->dsn);
        sw_buf_adds(out, ",\"pattern\":");
        sw_buf_add_json(out, e->pattern);
        sw_buf_adds(out, ",\"text\":");
        sw_buf_add_json(out, e->text);
        sw_buf_addc(out, '}');
    }
    sw_buf_adds(out, "]");
}

/*
 * counting - each rule's count for the scope it would act on: the
 * evidence that has not (or has) reached a threshold, "2 of 3 events in
 * 10m".  JSON: an array of {rule, scope, events, needs, window,
 * successes, ratio, needs_ratio}.
 */
static void
counting(struct routed *rd, const char *domain, const struct sw_pool *pool, bool json,
         struct sw_buf *out)
{
    const struct sw_conf *c = rd->conf;
    const struct sw_rule *r;
    char key[SW_SCOPE_KEY_MAX + 1], win[32];
    long events, successes;
    time_t now = time(NULL);
    size_t i, n = 0;

    if (json)
        sw_buf_adds(out, ",\"counting\":[");
    for (i = 0; i < c->nrules; i++) {
        r = &c->rules[i];
        if (r->scope == SW_SCOPE_POOL ? pool == NULL
                                      || !sw_scope_key(SW_SCOPE_POOL, pool->name, key, sizeof(key))
                                      : !sw_scope_key(SW_SCOPE_DESTINATION, domain, key, sizeof(key)))
            continue;
        sw_engine_window(rd->engine, key, now, r->window, r->classes, &events, &successes);
        sw_duration_format(r->window, win, sizeof(win));
        if (json) {
            sw_buf_printf(out, "%s{\"rule\":", n++ ? "," : "");
            sw_buf_add_json(out, r->name);
            sw_buf_adds(out, ",\"scope\":");
            sw_buf_add_json(out, key);
            sw_buf_printf(out,
                          ",\"events\":%ld,\"needs\":%ld,\"window\":%ld,\"successes\":%ld,"
                          "\"ratio\":%.3f,\"needs_ratio\":%.3f}",
                          events, r->events, r->window, successes,
                          events + successes ? (double) events / (double) (events + successes) : 0.0,
                          r->ratio);
        } else {
            sw_buf_printf(out, "counting: rule %s, %s: %ld of %ld events in %s", r->name, key,
                          events, r->events, win);
            if (r->ratio > 0)
                sw_buf_printf(out, ", %ld successes (ratio %.2f of %.2f needed)", successes,
                              events + successes ? (double) events / (double) (events + successes)
                                                 : 0.0,
                              r->ratio);
            sw_buf_addc(out, '\n');
        }
    }
    if (json)
        sw_buf_addc(out, ']');
}

/* The MTAs routed.mta wires, with the map each one asks. */
static const struct {
    unsigned bit;
    const char *mta, *map;
    bool mailertable;
} wired_maps[] = {
    { SW_WIRED_POSTFIX, "postfix", "transport", false },
    { SW_WIRED_SENDMAIL, "sendmail", "mailertable", true },
};
#define WIRED_MAPS (sizeof(wired_maps) / sizeof(wired_maps[0]))

/* explain_lookups - what each wired MTA's lookup gets, through the
 * socketmap's own code: text lines, or a JSON array */
static void
explain_lookups(struct routed *rd, const struct sw_policy *p, const char *address, bool json,
                struct sw_buf *out)
{
    struct sw_buf keys, reply;
    size_t i, n = 0;

    sw_buf_init(&keys, 4096);
    sw_buf_init(&reply, 1024);
    if (json)
        sw_buf_adds(out, ",\"lookups\":[");
    for (i = 0; i < WIRED_MAPS; i++) {
        if (!(rd->conf->routed.mta & wired_maps[i].bit))
            continue;
        (void) sw_sockmap_walk(p, rd->route, wired_maps[i].mailertable, address, &keys, &reply);
        if (json) {
            sw_buf_printf(out, "%s{\"mta\":\"%s\",\"map\":\"%s\",\"keys\":[%s],\"answer\":",
                          n++ ? "," : "", wired_maps[i].mta, wired_maps[i].map,
                          sw_buf_str(&keys));
            sw_buf_add_json(out, sw_buf_str(&reply));
            sw_buf_addc(out, '}');
        } else {
            sw_buf_printf(out, "lookup:   %s asks %s %s: %s\n", wired_maps[i].mta,
                          wired_maps[i].map, sw_buf_str(&keys), sw_buf_str(&reply));
        }
    }
    if (json)
        sw_buf_addc(out, ']');
    sw_buf_free(&keys);
    sw_buf_free(&reply);
}

/* One explain request, its answer and the route in the MTA's notation.
 * drawn_primary: the scope is probing and this address is in the share
 * Postfix's lookup sends to the primary (the same draw as the socketmap). */
struct explained {
    const struct sw_ctl_request *req;
    const char *domain;
    struct sw_answer a;
    const char *route;
    bool drawn_primary;
};

/* explain_json - the answer as one JSON object */
static void
explain_json(struct routed *rd, const struct sw_policy *p, const struct explained *e,
             struct sw_buf *out)
{
    const struct sw_answer *a = &e->a;

    sw_buf_adds(out, "{\"address\":");
    sw_buf_add_json(out, e->req->address);
    sw_buf_adds(out, ",\"domain\":");
    sw_buf_add_json(out, e->domain);
    sw_buf_adds(out, ",\"pool\":");
    sw_buf_add_json(out, a->pool ? a->pool->name : "");
    sw_buf_adds(out, ",\"route\":");
    sw_buf_add_json(out, a->relay && !a->partial && !e->drawn_primary ? "alternate" : "primary");
    sw_buf_adds(out, ",\"relay\":");
    sw_buf_add_json(out, a->relay && !e->drawn_primary ? a->relay->name : "");
    sw_buf_adds(out, ",\"transport\":");
    sw_buf_add_json(out, a->relay && !e->drawn_primary ? e->route : "");
    sw_buf_printf(out, ",\"probe_draw\":%s",
                  a->scope && a->scope->state == SW_STATE_PROBING
                      ? (e->drawn_primary ? "\"primary\"" : "\"alternate\"")
                      : "null");
    explain_lookups(rd, p, e->req->address, true, out);
    sw_buf_adds(out, ",\"note\":");
    sw_buf_add_json(out, a->why);
    sw_buf_adds(out, ",\"scope\":");
    if (a->scope)
        scope_json(a->scope, out);
    else
        sw_buf_adds(out, "null");
    sw_buf_adds(out, ",\"evidence\":");
    evidence_json(a->scope, out);
    counting(rd, e->domain, a->pool, true, out);
    sw_buf_adds(out, "}\n");
}

/* explain_text - the answer for a reader */
static void
explain_text(struct routed *rd, const struct sw_policy *p, const struct explained *e,
             struct sw_buf *out)
{
    const struct sw_answer *a = &e->a;
    const char *d;

    sw_buf_printf(out, "address:  %s\ndomain:   %s\npool:     %s\n", e->req->address, e->domain,
                  a->pool ? a->pool->name : "(none)");
    if (e->drawn_primary)
        sw_buf_printf(out,
                      "route:    primary: NOTFOUND (probing: this address is in the share of "
                      "addresses sent back to the primary; the others go to relay %s)\n",
                      a->relay->name);
    else if (a->relay && a->partial)
        sw_buf_printf(out, "route:    primary relay %s, by its up addresses: OK %s\n",
                      a->relay->name, e->route);
    else if (a->relay)
        sw_buf_printf(out, "route:    relay %s: OK %s\n", a->relay->name, e->route);
    else
        sw_buf_adds(out, "route:    primary: NOTFOUND (the MTA's own configuration applies)\n");
    explain_lookups(rd, p, e->req->address, false, out);
    if (a->scope) {
        sw_buf_adds(out, "because:\n");
        scope_text(a->scope, time(NULL), out);
        evidence_text(a->scope, out);
    } else {
        sw_buf_adds(out, "because:  no scope is off the primary route for");
        for (d = e->domain; d; d = sw_addr_parent(d))
            sw_buf_printf(out, " destination:%s", d);
        if (a->pool)
            sw_buf_printf(out, " pool:%s", a->pool->name);
        sw_buf_addc(out, '\n');
    }
    counting(rd, e->domain, a->pool, false, out);
    routed_health_explain(rd, a, out);
    if (a->why[0])
        sw_buf_printf(out, "note:     %s\n", a->why);
}

/* verb_explain - the route for one address, and why */
static void
verb_explain(struct routed *rd, const struct sw_ctl_request *req, struct sw_buf *out)
{
    struct sw_policy p = routed_policy(rd);
    char domain[SW_DOMAIN_MAX + 1];
    struct explained e = { req, domain, { 0 }, "", false };
    struct sw_buf route;
    size_t len = strlen(req->address);

    if (sw_addr_transport_key(req->address, len, domain, sizeof(domain)) != SW_KEY_DOMAIN
        && sw_addr_mailertable_key(req->address, len, domain, sizeof(domain)) != SW_KEY_DOMAIN) {
        error(out, "not an address or domain with a routable domain part");
        return;
    }
    sw_answer_domain(&p, rd->route, domain, &e.a);
    sw_buf_init(&route, 1024);
    /* The decision in the notation of the first MTA wired: Postfix's
     * transport, else Sendmail's mailertable. */
    if (e.a.relay && (rd->conf->routed.mta & SW_WIRED_POSTFIX))
        sw_answer_transport(&p, e.a.relay, domain, &route);
    else if (e.a.relay)
        sw_answer_mailertable(&p, e.a.relay, domain, &route);
    e.route = sw_buf_str(&route);
    /* While probing, Postfix's answer for this address is a draw (the
     * same hash the socketmap applies): say which side it fell on. */
    if (e.a.relay && e.a.scope && e.a.scope->state == SW_STATE_PROBING
        && (rd->conf->routed.mta & SW_WIRED_POSTFIX)) {
        struct sw_buf keys, reply;

        sw_buf_init(&keys, 4096);
        sw_buf_init(&reply, 1024);
        (void) sw_sockmap_walk(&p, rd->route, false, req->address, &keys, &reply);
        e.drawn_primary = strncmp(sw_buf_str(&reply), "NOTFOUND", 8) == 0;
        sw_buf_free(&keys);
        sw_buf_free(&reply);
    }
    if (req->json)
        explain_json(rd, &p, &e, out);
    else
        explain_text(rd, &p, &e, out);
    sw_buf_free(&route);
}

/* verb_divert - an operator's pin */
static void
verb_divert(struct routed *rd, const struct sw_ctl_request *req, uid_t uid, struct sw_buf *out)
{
    struct sw_policy p = routed_policy(rd);
    const char *domain = req->kind == SW_SCOPE_DESTINATION ? req->name : NULL;
    const struct sw_relay *relay;
    struct sw_decision d;
    struct sw_buf why;
    const char *no;
    time_t now = time(NULL);

    sw_buf_init(&why, 1024);
    if (req->kind == SW_SCOPE_POOL && sw_conf_pool(rd->conf, req->name) == NULL) {
        sw_buf_printf(&why, "no pool named \"%s\"", req->name);
        goto refuse;
    }
    if (req->to) {
        if ((relay = sw_conf_relay(rd->conf, req->to)) == NULL) {
            sw_buf_printf(&why, "unknown relay \"%s\"", req->to);
            goto refuse;
        }
        if ((no = sw_policy_ineligible(&p, relay, domain, true)) != NULL) {
            sw_buf_printf(&why, "relay %s %s", relay->name, no);
            goto refuse;
        }
    } else if ((relay = sw_policy_choose(&p, domain, req->name, &why)) == NULL) {
        goto refuse;
    }
    if (sw_route_pin(rd->route, req->kind, req->name, relay->name, now, now + req->duration,
                     req->reason, (long) uid, &d)
        != SW_ROUTE_OK) {
        sw_buf_adds(&why, "out of memory");
        goto refuse;
    }
    routed_record(rd, &d);
    routed_changed(rd);
    routed_flush_soon(rd); /* queued mail takes the pin now, as after a divert */
    if (!durable(rd, out)) {
        sw_buf_free(&why);
        return;
    }
    sw_buf_adds(out, "ok\n");
    if (req->json) {
        sw_decision_json(&d, out);
        sw_buf_addc(out, '\n');
    } else {
        sw_decision_format(&d, out);
        sw_buf_addc(out, '\n');
    }
    sw_buf_free(&why);
    return;
refuse:
    error(out, sw_buf_str(&why));
    sw_buf_free(&why);
}

/* verb_release - back to primary */
static void
verb_release(struct routed *rd, const struct sw_ctl_request *req, uid_t uid, struct sw_buf *out)
{
    struct sw_decision d;

    switch (sw_route_release(rd->route, req->kind, req->name, time(NULL), (long) uid, &d)) {
    case SW_ROUTE_OK:
        routed_record(rd, &d);
        routed_changed(rd);
        routed_flush_soon(rd);
        if (!durable(rd, out))
            return;
        sw_buf_adds(out, "ok\n");
        if (req->json)
            sw_decision_json(&d, out);
        else
            sw_decision_format(&d, out);
        sw_buf_addc(out, '\n');
        return;
    case SW_ROUTE_NOENT:
        sw_buf_printf(out, "error: %s:%s is not diverted\n", sw_scope_kind_name(req->kind),
                      req->name);
        return;
    default: error(out, "cannot release (bad scope)");
    }
}

/* primary_refused - the primary relay is not disabled: with it disabled
 * the scopes on the primary route would have nowhere to go.  Moving its
 * mail is a diversion of the pool it serves, which expires. */
static void
primary_refused(const struct sw_conf *c, const struct sw_relay *r, struct sw_buf *out)
{
    const char *pool = NULL; /* the first pool it serves */
    size_t i, j;

    for (i = 0; i < c->npools && pool == NULL; i++)
        for (j = 0; j < c->pools[i].relays.n; j++)
            if (strcmp(c->pools[i].relays.v[j], r->name) == 0) {
                pool = c->pools[i].name;
                break;
            }
    sw_buf_printf(out,
                  "error: relay %s is the primary: to move its mail use `spillwayctl divert "
                  "--pool %s --for DURATION --reason TEXT`\n",
                  r->name, pool ? pool : "NAME");
}

/* verb_relay - enable, disable or drain a relay */
static void
verb_relay(struct routed *rd, const struct sw_ctl_request *req, uid_t uid, struct sw_buf *out)
{
    const struct sw_relay *r = sw_conf_relay(rd->conf, req->relay);
    struct sw_decision d;
    time_t now = time(NULL);
    size_t idx;

    if (r == NULL) {
        sw_buf_printf(out, "error: unknown relay \"%s\"\n", req->relay);
        return;
    }
    if (r->role == SW_ROLE_PRIMARY && req->admin == SW_ADMIN_DISABLED) {
        primary_refused(rd->conf, r, out);
        return;
    }
    idx = (size_t) (r - rd->conf->relays);
    memset(&d, 0, sizeof(d));
    d.event = "relay";
    (void) snprintf(d.scope, sizeof(d.scope), "relay:%s", r->name);
    (void) snprintf(d.from, sizeof(d.from), "%s", sw_admin_name(rd->admin[idx]));
    (void) snprintf(d.to, sizeof(d.to), "%s", sw_admin_name(req->admin));
    d.time = now;
    d.uid = (long) uid;
    rd->admin[idx] = req->admin;
    routed_record(rd, &d);
    routed_revalidate(rd, now, "operator", true);
    routed_changed(rd);
    routed_flush_soon(rd); /* a drained or enabled relay changes routes */
    if (!durable(rd, out))
        return;
    sw_buf_adds(out, "ok\n");
    if (req->json)
        sw_decision_json(&d, out);
    else
        sw_decision_format(&d, out);
    sw_buf_addc(out, '\n');
}

/* verb_reload - re-read the configuration; the warnings of a reload taken
 * are passed on, one "warning:" line each (or a JSON list) */
static void
verb_reload(struct routed *rd, const struct sw_ctl_request *req, uid_t uid, struct sw_buf *out)
{
    struct sw_buf err, warn;
    const char *p, *nl;
    bool first = true;

    sw_buf_init(&err, 8192);
    sw_buf_init(&warn, 8192);
    if (!routed_reload(rd, (long) uid, &err, &warn)) {
        sw_buf_printf(out, "error: reload refused, the running configuration stays: %s\n",
                      sw_buf_str(&err));
        goto done;
    }
    sw_buf_adds(out, "ok\n");
    if (req->json) {
        sw_buf_adds(out, "{\"reloaded\":");
        sw_buf_add_json(out, rd->conf->path);
        sw_buf_adds(out, ",\"warnings\":[");
    } else {
        sw_buf_printf(out, "reloaded %s\n", rd->conf->path);
    }
    for (p = sw_buf_str(&warn); *p; p = nl + 1) {
        struct sw_buf line;

        if ((nl = strchr(p, '\n')) == NULL)
            break;
        sw_buf_init(&line, 8192);
        (void) sw_buf_add(&line, p, (size_t) (nl - p));
        if (req->json) {
            if (!first)
                sw_buf_addc(out, ',');
            sw_buf_add_json(out, sw_buf_str(&line));
        } else {
            sw_buf_printf(out, "warning: %s\n", sw_buf_str(&line));
        }
        sw_buf_free(&line);
        first = false;
    }
    if (req->json)
        sw_buf_adds(out, "]}\n");
done:
    sw_buf_free(&err);
    sw_buf_free(&warn);
}

/* verb_history - recent decisions, oldest first */
static void
verb_history(struct routed *rd, const struct sw_ctl_request *req, struct sw_buf *out)
{
    const struct sw_decision *d;
    time_t since = req->duration ? time(NULL) - req->duration : 0;
    size_t i, n = sw_history_count(rd->history);
    char t[32];
    bool first = true;

    if (req->json)
        sw_buf_adds(out, "[");
    for (i = 0; i < n; i++) {
        d = sw_history_get(rd->history, i);
        if (d->time < since)
            continue;
        if (req->json) {
            if (!first)
                sw_buf_addc(out, ',');
            sw_decision_json(d, out);
        } else {
            sw_buf_printf(out, "%s ", stamp(d->time, t, sizeof(t)));
            sw_decision_format(d, out);
            sw_buf_addc(out, '\n');
        }
        first = false;
    }
    if (req->json)
        sw_buf_adds(out, "]\n");
}

/* routed_verb - dispatch one request */
void
routed_verb(struct routed *rd, const struct sw_ctl_request *req, uid_t uid, struct sw_buf *out)
{
    switch (req->verb) {
    case SW_CTL_STATUS:
        sw_buf_adds(out, "ok\n");
        verb_status(rd, req, out);
        break;
    case SW_CTL_EXPLAIN:
        sw_buf_adds(out, "ok\n");
        verb_explain(rd, req, out);
        break;
    case SW_CTL_DIVERT: verb_divert(rd, req, uid, out); break;
    case SW_CTL_RELEASE: verb_release(rd, req, uid, out); break;
    case SW_CTL_RELAY: verb_relay(rd, req, uid, out); break;
    case SW_CTL_HISTORY:
        sw_buf_adds(out, "ok\n");
        verb_history(rd, req, out);
        break;
    case SW_CTL_RELOAD: verb_reload(rd, req, uid, out); break;
    }
    if (out->overflow) {
        sw_buf_reset(out);
        sw_buf_adds(out, "error: reply too large\n");
    }
}
