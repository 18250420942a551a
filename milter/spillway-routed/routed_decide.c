/* routed_decide.c - every state change: log, history, persist, render */

/*
 * The single path a decision takes after the pure engine made it: one
 * syslog line in the shape of DESIGN.md 5.5, a copy in the history ring,
 * and a (coalesced) state save and table render.  Keeping this in one
 * place is what makes "every decision is explainable from the logs" true.
 */
#include "config.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "global/decision.h"
#include "util/log.h"
#include "routed.h"

/* routed_record - log and remember one decision */
void
routed_record(struct routed *rd, const struct sw_decision *d)
{
    struct sw_buf line;

    sw_buf_init(&line, 2048);
    if (sw_decision_format(d, &line))
        sw_info("%s", sw_buf_str(&line));
    else
        sw_warn("decision for %s too long to log", d->scope);
    sw_buf_free(&line);
    sw_history_add(rd->history, d);
    routed_count_decision(rd, d->event);
    if (rd->cluster_decided)
        rd->cluster_decided(rd, d); /* shared with the other nodes */
}

/* routed_decided - an automatic decision: record it, and after a switch
 * let the queue try the new route */
void
routed_decided(const struct sw_decision *d, void *ctx)
{
    struct routed *rd = ctx;

    if (strcmp(d->event, "stay") == 0) {
        struct sw_buf line;

        sw_buf_init(&line, 2048);
        if (sw_decision_format(d, &line))
            sw_warn("%s", sw_buf_str(&line));
        sw_buf_free(&line);
        sw_history_add(rd->history, d);
        routed_count_decision(rd, d->event);
        return;
    }
    routed_record(rd, d);
    routed_changed(rd);
    if (strcmp(d->event, "divert") == 0 || strcmp(d->event, "return") == 0)
        routed_flush_soon(rd);
}

/* routed_changed - the routing state changed: persist and render */
void
routed_changed(struct routed *rd)
{
    routed_state_save_soon(rd);
    routed_render_soon(rd->render);
    routed_schedule_expiry(rd);
}

/* scope_domain - the domain a scope's eligibility is judged for */
static const char *
scope_domain(const struct sw_scope *s)
{
    return s->kind == SW_SCOPE_DESTINATION ? s->name : NULL;
}

/* routed_revalidate - move scopes off relays that can no longer take them */
void
routed_revalidate(struct routed *rd, time_t now, const char *cause, bool release)
{
    /* Without the hourly budgets: a relay at its budget answers the primary
     * for a while (answer.c), but its scopes must not move or end for it. */
    struct sw_policy p = { rd->conf, rd->admin, NULL, rd->health };
    const struct sw_scope **v;
    const struct sw_relay *relay, *alt;
    struct sw_decision d;
    struct sw_buf why;
    char key[SW_SCOPE_KEY_MAX + 1], reason[SW_REASON_MAX + 1];
    const char *no;
    size_t i, n;
    bool changed = false;

    if ((v = sw_route_sorted(rd->route, &n)) == NULL) {
        sw_error("revalidate: out of memory; scopes keep their relays");
        return;
    }
    sw_buf_init(&why, 1024);
    for (i = 0; i < n; i++) {
        relay = sw_conf_relay(rd->conf, v[i]->relay);
        no = relay ? sw_policy_ineligible(&p, relay, scope_domain(v[i]), false)
                   : "is no longer configured";
        if (no == NULL)
            continue;
        (void) snprintf(key, sizeof(key), "%s", v[i]->key);
        sw_buf_reset(&why);
        alt = sw_policy_choose(&p, scope_domain(v[i]), v[i]->name, &why);
        (void) snprintf(reason, sizeof(reason), "%s: relay %s %s", cause, v[i]->relay, no);
        if (alt && sw_route_reroute(rd->route, key, alt->name, now, reason, &d) == SW_ROUTE_OK) {
            routed_record(rd, &d);
        } else if (!release) {
            /* A relay that is down may come back: the scope keeps it and
             * waits on the primary meanwhile (answer.c: held). */
            sw_warn("%s: no eligible alternate for %s (%s): mail waits on the primary until "
                    "relay %s is usable",
                    cause, key, sw_buf_str(&why), v[i]->relay);
            continue;
        } else {
            sw_warn("%s: no eligible alternate for %s (%s): back to primary", cause, key,
                    sw_buf_str(&why));
            if (sw_route_release(rd->route, v[i]->kind, v[i]->name, now, SW_UID_NONE, &d)
                == SW_ROUTE_OK) {
                (void) snprintf(d.reason, sizeof(d.reason), "%s", reason);
                d.event = "return";
                routed_record(rd, &d);
            }
        }
        changed = true;
        /* v[i] may be freed now; v[] is not used past this index again. */
    }
    sw_buf_free(&why);
    free(v);
    if (changed)
        routed_changed(rd);
}

/* record_cb - adapter for sw_route_expire */
static void
record_cb(const struct sw_decision *d, void *arg)
{
    routed_record(arg, d);
}

/* keep_listed - a hold ends only when no IP its evidence blamed is listed */
static bool
keep_listed(const struct sw_scope *s, void *arg, char *why, size_t size)
{
    return routed_dnsbl_scope_listed(arg, s, why, size);
}

/* probe_cb - a hold ended: log it with the share of its rule */
static void
probe_cb(const struct sw_decision *cd, void *arg)
{
    struct routed *rd = arg;
    struct sw_decision d = *cd;
    size_t i;

    if (strcmp(d.event, "hold") == 0) {
        routed_record(rd, &d);
        return;
    }
    d.share = 0.05;
    for (i = 0; i < rd->conf->nrules; i++)
        if (strcmp(rd->conf->rules[i].name, d.rule) == 0)
            d.share = rd->conf->rules[i].recover_share;
    routed_record(rd, &d);
}

/* expire_cb - pins that reached their deadline, holds that ended */
static void
expire_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed *rd = arg;
    time_t now = time(NULL);
    size_t n;

    (void) fd;
    (void) what;
    n = sw_route_expire(rd->route, now, record_cb, rd);
    n += sw_route_hold_ended(rd->route, now, keep_listed, probe_cb, rd);
    if (n)
        routed_changed(rd);
    else
        routed_schedule_expiry(rd);
}

/* routed_schedule_expiry - arm the timer for the next deadline */
void
routed_schedule_expiry(struct routed *rd)
{
    time_t next = sw_route_next_deadline(rd->route), now = time(NULL);
    struct timeval tv = { 0, 0 };

    if (rd->expire_timer == NULL
        && (rd->expire_timer = evtimer_new(rd->base, expire_cb, rd)) == NULL) {
        sw_error("cannot create the expiry timer: pins will not expire");
        return;
    }
    (void) evtimer_del(rd->expire_timer);
    if (next == 0)
        return;
    /* Wall-clock deadline: re-armed after every change and every firing,
     * and at most a minute ahead, so a clock step is caught quickly. */
    tv.tv_sec = next > now ? (next - now > 60 ? 60 : next - now) : 0;
    (void) evtimer_add(rd->expire_timer, &tv);
}
