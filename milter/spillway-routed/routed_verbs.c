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
        routed_reply_error(out, sw_buf_str(&msg));
        sw_buf_free(&msg);
    }
    sw_buf_free(&why);
    return ok;
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
        routed_reply_error(out, "out of memory");
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
        routed_cluster_status(rd, true, out);
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
            routed_scope_json(v[i], out);
        }
        sw_buf_adds(out, "]}\n");
    } else {
        sw_duration_format((long) (now - rd->started), dur, sizeof(dur));
        sw_buf_printf(out, "spillway-routed pid %ld, up %s, config %s\n", (long) getpid(), dur,
                      c->path);
        sw_buf_printf(out, "lookups: %lu (found %lu, notfound %lu, malformed %lu)\n",
                      rd->stats.lookups, rd->stats.found, rd->stats.notfound, rd->stats.malformed);
        routed_maillog_status(rd, false, out);
        routed_cluster_status(rd, false, out);
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
            routed_scope_text(v[i], now, out);
    }
    free(v);
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
    routed_reply_error(out, sw_buf_str(&why));
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
    default: routed_reply_error(out, "cannot release (bad scope)");
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
            sw_buf_printf(out, "%s ", routed_stamp(d->time, t, sizeof(t)));
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
        routed_explain(rd, req, out);
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
