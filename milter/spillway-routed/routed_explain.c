/* routed_explain.c - spillwayctl explain: the route for one address, and why */

/*
 * The answer of sw_answer_domain() in the notation of the first MTA
 * wired, what each wired MTA's own lookup gets (through the socketmap's
 * code, the probing draw included), the scope that decided with its
 * evidence, and each rule's count for the scopes it would act on.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/addr.h"
#include "global/answer.h"
#include "global/classify.h"
#include "global/sockmap.h"
#include "global/ctl.h"
#include "util/duration.h"
#include "global/engine.h"
#include "routed.h"

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
            sw_buf_printf(out, "  %s dsn pool=%s %s rcpt=<", routed_stamp(e->time, t, sizeof(t)),
                          e->pool[0] ? e->pool : "-", e->trusted ? "trusted" : "untrusted");
        else
            sw_buf_printf(out, "  %s %s relay=%s rcpt=<", routed_stamp(e->time, t, sizeof(t)),
                          sw_ev_source_name(e->source), e->relay);
        sw_buf_add_escaped(out, e->rcpt, 256);
        sw_buf_printf(out, "> id=%s dsn=%s class=%s pattern=%s text=\"", e->id, e->dsn,
                      sw_class_name(e->cls), e->pattern[0] ? e->pattern : "-");
        sw_buf_add_escaped(out, e->text, SW_EV_TEXT_MAX);
        sw_buf_adds(out, "\"\n");
    }
}

/* evidence_json - the same as a JSON array */
static void
evidence_json(const struct sw_scope *s, struct sw_buf *out)
{
    const struct sw_evidence *e;
    size_t i, f;

    sw_buf_adds(out, "[");
    for (i = 0; s && i < s->nev; i++) {
        e = &s->ev[i];
        const char *const field[][2] = {
            { "relay", e->relay }, { "pool", e->pool }, { "rcpt", e->rcpt },       { "id", e->id },
            { "dsn", e->dsn },     { "pattern", e->pattern }, { "text", e->text },
        };

        sw_buf_printf(out, "%s{\"time\":%lld,\"source\":\"%s\",\"trusted\":%s,\"class\":\"%s\"",
                      i ? "," : "", (long long) e->time, sw_ev_source_name(e->source),
                      e->trusted ? "true" : "false", sw_class_name(e->cls));
        for (f = 0; f < sizeof(field) / sizeof(field[0]); f++) {
            sw_buf_printf(out, ",\"%s\":", field[f][0]);
            sw_buf_add_json(out, field[f][1]);
        }
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
        routed_scope_json(a->scope, out);
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
        routed_scope_text(a->scope, time(NULL), out);
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

/* routed_explain - the route for one address, and why */
void
routed_explain(struct routed *rd, const struct sw_ctl_request *req, struct sw_buf *out)
{
    struct sw_policy p = routed_policy(rd);
    char domain[SW_DOMAIN_MAX + 1];
    struct explained e = { req, domain, { 0 }, "", false };
    struct sw_buf route;
    size_t len = strlen(req->address);

    if (sw_addr_transport_key(req->address, len, domain, sizeof(domain)) != SW_KEY_DOMAIN
        && sw_addr_mailertable_key(req->address, len, domain, sizeof(domain)) != SW_KEY_DOMAIN) {
        routed_reply_error(out, "not an address or domain with a routable domain part");
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
