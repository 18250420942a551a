/* routed_metrics.c - spillway-routed: the Prometheus endpoint */

/*
 * routed.metrics = "inet:127.0.0.1:9426" (or "unix:/path") serves
 * GET /metrics in the Prometheus text format, through libevent's HTTP
 * server on the daemon's own loop.  Every sample is computed from memory
 * when the scrape arrives: the counters kept in rd->stats, the routing
 * table, the relays' administrative states, their health and their use
 * of max_per_hour.  The HTTP events run at the loop's lower priority, so
 * a scrape never delays a lookup by more than one callback.
 *
 * The names are a contract documented in spillway-routed(8); a test
 * scrapes them (tests/e2e/t35-metrics.sh).
 */
#include "config.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/classify.h"
#include "global/health.h"
#include "util/listen.h"
#include "util/log.h"
#include "util/logsrc.h"
#include "util/maillog.h"
#include "util/metrics.h"
#include "util/ratelimit.h"
#include "routed.h"

#define METRICS_MAX_BYTES (4u << 20) /* an exposition larger than this is an error */

struct routed_metrics {
    struct routed *rd;
    struct evhttp *http;
    struct evconnlistener *listener; /* libevent's, inside http */
    struct event *resume;
    struct sw_ratelimit rl_accept;
    int fd;
};

/* ------------------------------------------------------------ counting */

/* named_add - count one more for name; a full table counts under "other" */
static void
named_add(struct routed_named *t, size_t *n, const char *name)
{
    size_t i;

    for (i = 0; i < *n; i++)
        if (strcmp(t[i].name, name) == 0) {
            t[i].n++;
            return;
        }
    if (*n == ROUTED_NAMED_MAX - 1 && strcmp(name, "other") != 0) {
        named_add(t, n, "other");
        return;
    }
    (void) snprintf(t[*n].name, sizeof(t[*n].name), "%s", name);
    t[(*n)++].n = 1;
}

static size_t
class_index(unsigned cls)
{
    return (cls & SW_CLASS_REPUTATION) ? 1 : (cls & SW_CLASS_THROTTLE) ? 2 : 0;
}

static const char *const class_names[ROUTED_EV_CLASSES] = { "other", "reputation", "throttle" };

/* named_find - the count for name, 0 when it has none yet */
static unsigned long
named_find(const struct routed_named *t, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].n;
    return 0;
}

/* routed_count_outcome - deferrals and bounces by relay (deliveries are
 * counted by routed_count_evidence) */
void
routed_count_outcome(struct routed *rd, const char *relay, int status)
{
    if (status == SW_OUTCOME_DEFERRED)
        named_add(rd->stats.deferred, &rd->stats.ndeferred, relay);
    else if (status == SW_OUTCOME_BOUNCED)
        named_add(rd->stats.bounced, &rd->stats.nbounced, relay);
}

/* routed_count_evidence - a delivery outcome or a bounce, before the engine */
void
routed_count_evidence(struct routed *rd, const struct sw_evidence *ev)
{
    if (ev->success) {
        named_add(rd->stats.delivered, &rd->stats.ndelivered, ev->relay[0] ? ev->relay : "none");
        return;
    }
    if ((size_t) ev->source < ROUTED_EV_SOURCES)
        rd->stats.evidence_by[ev->source][class_index(ev->cls)]++;
}

/* The events a decision line may carry (global/route.c, global/engine.c,
 * routed_decide.c, routed_verbs.c). */
static const char *const decision_events[] = {
    "divert", "hold", "probe", "return", "expire", "pin", "release", "reroute", "stay", "relay",
    NULL,
};

/* known_event - one of decision_events */
static bool
known_event(const char *name)
{
    size_t i;

    for (i = 0; decision_events[i]; i++)
        if (strcmp(decision_events[i], name) == 0)
            return true;
    return false;
}

/* routed_count_decision - one logged decision */
void
routed_count_decision(struct routed *rd, const char *event)
{
    named_add(rd->stats.decisions, &rd->stats.ndecisions, event);
}

/* ------------------------------------------------------------ exposition */

/* Short helpers: one sample with 0, 1 or 2 labels. */
static bool
s0(struct sw_buf *b, const char *name, double v)
{
    return sw_metrics_sample(b, name, NULL, v);
}

static bool
s1(struct sw_buf *b, const char *name, const char *k, const char *v, double x)
{
    const char *l[] = { k, v, NULL };

    return sw_metrics_sample(b, name, l, x);
}

static bool
s2(struct sw_buf *b, const char *name, const char *k1, const char *v1, const char *k2,
   const char *v2, double x)
{
    const char *l[] = { k1, v1, k2, v2, NULL };

    return sw_metrics_sample(b, name, l, x);
}

#define FAM(b, n, t, h) sw_metrics_family((b), (n), SW_METRIC_##t, (h))

/* other_lines - mail log lines that were no delivery result (a Sendmail
 * line with several recipients gives several outcomes: never below 0) */
static unsigned long
other_lines(const struct routed_stats *st)
{
    unsigned long counted = st->log_outcomes + st->log_bad + st->log_refused + st->log_untimely
                            + st->log_unused;

    return st->log_lines > counted ? st->log_lines - counted : 0;
}

/* put_by_relay - a counter by relay: every configured relay at 0 before
 * its first event (a rate() needs the zero), then any other name seen */
static bool
put_by_relay(const struct routed *rd, struct sw_buf *b, const char *name, const char *help,
             const struct routed_named *t, size_t n)
{
    const struct sw_conf *c = rd->conf;
    bool ok = sw_metrics_family(b, name, SW_METRIC_COUNTER, help);
    size_t i;

    for (i = 0; ok && i < c->nrelays; i++)
        ok = s1(b, name, "relay", c->relays[i].name,
                (double) named_find(t, n, c->relays[i].name));
    for (i = 0; ok && i < n; i++)
        if (sw_conf_relay(c, t[i].name) == NULL) /* a relay since removed by a reload */
            ok = s1(b, name, "relay", t[i].name, (double) t[i].n);
    return ok;
}

/* put_source - the mail log source: its state, its silence, its failures */
static bool
put_source(const struct routed *rd, struct sw_buf *b)
{
    static const char *const states[] = { "ok", "missing", "unreadable", "silent" };
    const struct routed_stats *st = &rd->stats;
    enum sw_srcstate state = (enum sw_srcstate) st->source_state;
    time_t now = sw_ratelimit_now();
    long age = now > st->source_quiet ? (long) (now - st->source_quiet) : 0;
    bool have = rd->conf->routed.maillog != NULL;
    bool ok;
    size_t i;

    ok = FAM(b, "spillway_maillog_source_state", GAUGE,
             "1 for the state of the mail log source (none: routed.maillog is not set).")
         && s1(b, "spillway_maillog_source_state", "state", "none", have ? 0 : 1);
    for (i = 0; ok && i < SW_SRC_STATES; i++)
        ok = s1(b, "spillway_maillog_source_state", "state", states[i],
                have && state == (enum sw_srcstate) i ? 1 : 0);
    ok = ok && FAM(b, "spillway_maillog_last_line_seconds", GAUGE,
                   "Seconds since the mail log's last line (since start if none came).");
    if (have)
        ok = ok && s0(b, "spillway_maillog_last_line_seconds", (double) age);
    ok = ok && FAM(b, "spillway_maillog_source_failures_total", COUNTER,
                   "Times the mail log source became missing, unreadable or silent.");
    for (i = SW_SRC_MISSING; ok && i < SW_SRC_STATES; i++)
        ok = s1(b, "spillway_maillog_source_failures_total", "state", states[i],
                (double) st->source_failures[i]);
    return ok;
}

/* put_process - what this daemon has done since it started */
static bool
put_process(const struct routed *rd, struct sw_buf *b)
{
    const struct routed_stats *st = &rd->stats;
    bool ok = true;
    size_t i, j;

    ok = ok && FAM(b, "spillway_build_info", GAUGE, "Always 1; the version in a label.")
         && s1(b, "spillway_build_info", "version", PACKAGE_VERSION, 1);
    ok = ok && FAM(b, "spillway_start_time_seconds", GAUGE, "When spillway-routed started (Unix time).")
         && s0(b, "spillway_start_time_seconds", (double) rd->started);
    ok = ok && FAM(b, "spillway_lookups_total", COUNTER, "Socketmap lookups, by answer.")
         && s1(b, "spillway_lookups_total", "result", "found", (double) st->found)
         && s1(b, "spillway_lookups_total", "result", "notfound", (double) st->notfound)
         && s1(b, "spillway_lookups_total", "result", "malformed", (double) st->malformed);
    ok = ok && FAM(b, "spillway_socketmap_connections_total", COUNTER, "Socketmap connections accepted.")
         && s0(b, "spillway_socketmap_connections_total", (double) st->connections);
    ok = ok && FAM(b, "spillway_maillog_lines_total", COUNTER, "Mail log lines read, by result.")
         && s1(b, "spillway_maillog_lines_total", "result", "outcome", (double) st->log_outcomes)
         && s1(b, "spillway_maillog_lines_total", "result", "unparsable", (double) st->log_bad)
         && s1(b, "spillway_maillog_lines_total", "result", "refused", (double) st->log_refused)
         && s1(b, "spillway_maillog_lines_total", "result", "untimely", (double) st->log_untimely)
         && s1(b, "spillway_maillog_lines_total", "result", "unused", (double) st->log_unused)
         && s1(b, "spillway_maillog_lines_total", "result", "other", (double) other_lines(st));
    ok = ok && FAM(b, "spillway_milter_records_total", COUNTER,
                   "Evidence records from spillway-milter, by result.")
         && s1(b, "spillway_milter_records_total", "result", "trusted", (double) st->evidence_trusted)
         && s1(b, "spillway_milter_records_total", "result", "untrusted",
               (double) (st->evidence - st->evidence_trusted))
         && s1(b, "spillway_milter_records_total", "result", "unparsable", (double) st->evidence_bad)
         && s1(b, "spillway_milter_records_total", "result", "refused", (double) st->evidence_refused);
    ok = ok && FAM(b, "spillway_state_saves_total", COUNTER,
                   "State file writes, by result (a failed one is retried with back-off).")
         && s1(b, "spillway_state_saves_total", "result", "ok", (double) st->saves)
         && s1(b, "spillway_state_saves_total", "result", "failed", (double) st->saves_failed);
    ok = ok && FAM(b, "spillway_state_save_failing", GAUGE,
                   "1 while the routing state is not on disk because the last save failed.")
         && s0(b, "spillway_state_save_failing", sw_backoff_failing(&rd->save_backoff) ? 1 : 0);
    ok = ok && FAM(b, "spillway_renders_total", COUNTER,
                   "Transport table renders, by result (a failed one is retried with back-off).")
         && s1(b, "spillway_renders_total", "result", "ok", (double) st->renders)
         && s1(b, "spillway_renders_total", "result", "failed", (double) st->renders_failed);
    ok = ok && FAM(b, "spillway_render_failing", GAUGE,
                   "1 while the rendered tables are behind because the last render failed.")
         && s0(b, "spillway_render_failing", st->render_failing ? 1 : 0);
    ok = ok && FAM(b, "spillway_evidence_total", COUNTER,
                   "Failed deliveries (source log) and bounces (source dsn) seen, by class.");
    for (i = SW_EV_LOG; ok && i <= SW_EV_DSN; i++)
        for (j = 0; ok && j < ROUTED_EV_CLASSES; j++)
            ok = s2(b, "spillway_evidence_total", "source", sw_ev_source_name((enum sw_ev_source) i),
                    "class", class_names[j], (double) st->evidence_by[i][j]);
    ok = ok && put_by_relay(rd, b, "spillway_delivered_total",
                            "Deliveries the mail log reports as sent, by spillway relay.",
                            st->delivered, st->ndelivered);
    ok = ok && put_by_relay(rd, b, "spillway_deferred_total",
                            "Deliveries the mail log reports as deferred, by spillway relay.",
                            st->deferred, st->ndeferred);
    ok = ok && put_by_relay(rd, b, "spillway_bounced_total",
                            "Deliveries the mail log reports as bounced, by spillway relay.",
                            st->bounced, st->nbounced);
    ok = ok && FAM(b, "spillway_flushes_total", COUNTER,
                   "Queue flushes (routed.flush or flush_etrn) run, by result.")
         && s1(b, "spillway_flushes_total", "result", "ok", (double) st->flushes)
         && s1(b, "spillway_flushes_total", "result", "failed", (double) st->flushes_failed);
    ok = ok && put_source(rd, b);
    ok = ok && FAM(b, "spillway_decisions_total", COUNTER, "Decisions logged, by event.");
    /* Every event there is, from 0 (a rate() needs the zero); then any
     * other name counted (none today). */
    for (i = 0; ok && decision_events[i]; i++)
        ok = s1(b, "spillway_decisions_total", "event", decision_events[i],
                (double) named_find(st->decisions, st->ndecisions, decision_events[i]));
    for (i = 0; ok && i < st->ndecisions; i++)
        if (!known_event(st->decisions[i].name))
            ok = s1(b, "spillway_decisions_total", "event", st->decisions[i].name,
                    (double) st->decisions[i].n);
    return ok;
}

/* The per-scope series: a walk of the table, in its own order (Prometheus
 * needs none), at most routed.metrics_scopes of them.  A scrape runs in
 * one callback of the loop, so its size bounds how long a lookup may wait
 * (bench/run-metrics.sh: 10,000 scopes sorted and listed took 15 ms). */
struct scope_walk {
    struct sw_buf *b;
    time_t now;
    long left;    /* series still allowed */
    bool seconds; /* spillway_scope_diverted_seconds, else _diverted */
    bool ok;
    size_t count[SW_STATE_PINNED + 1];
    size_t omitted;
};

static bool
count_scope(const struct sw_scope *s, void *arg)
{
    struct scope_walk *w = arg;

    if (s->state <= SW_STATE_PINNED)
        w->count[s->state]++;
    return true;
}

static bool
put_scope(const struct sw_scope *s, void *arg)
{
    struct scope_walk *w = arg;
    const char *l[] = { "scope", s->key, "relay", s->relay ? s->relay : "",
                        "state", sw_state_name(s->state), NULL };

    if (s->state == SW_STATE_PRIMARY)
        return true;
    if (w->left <= 0)
        return false; /* the cap: the rest are only counted */
    w->left--;
    w->ok = w->seconds ? s1(w->b, "spillway_scope_diverted_seconds", "scope", s->key,
                            (double) (w->now > s->since ? w->now - s->since : 0))
                       : sw_metrics_sample(w->b, "spillway_scope_diverted", l, 1);
    return w->ok;
}

/* put_scopes - scopes not on the primary path, and counts by state */
static bool
put_scopes(const struct routed *rd, struct sw_buf *b, time_t now)
{
    struct scope_walk w = { .b = b, .now = now, .ok = true };
    size_t i, off;
    bool ok;

    sw_route_each(rd->route, count_scope, &w);
    off = w.count[SW_STATE_DIVERTED] + w.count[SW_STATE_PROBING] + w.count[SW_STATE_PINNED];
    w.omitted = off > (size_t) rd->conf->routed.metrics_scopes
                    ? off - (size_t) rd->conf->routed.metrics_scopes
                    : 0;
    ok = FAM(b, "spillway_scope_diverted", GAUGE,
             "1 for each scope not on the primary path, with its relay and state.");
    w.left = rd->conf->routed.metrics_scopes;
    sw_route_each(rd->route, put_scope, &w);
    ok = ok && w.ok
         && FAM(b, "spillway_scope_diverted_seconds", GAUGE,
                "Seconds since each scope not on the primary path entered its state.");
    w.left = rd->conf->routed.metrics_scopes;
    w.seconds = true;
    sw_route_each(rd->route, put_scope, &w);
    ok = ok && w.ok
         && FAM(b, "spillway_scope_series_omitted", GAUGE,
                "Scopes off the primary path left out of the two series above "
                "(routed.metrics_scopes).")
         && s0(b, "spillway_scope_series_omitted", (double) w.omitted);
    ok = ok && FAM(b, "spillway_scopes", GAUGE, "Scopes in the routing table, by state.");
    for (i = 0; ok && i <= SW_STATE_PINNED; i++)
        ok = s1(b, "spillway_scopes", "state", sw_state_name((enum sw_state) i),
                (double) w.count[i]);
    return ok;
}

/* put_relays - administrative state, health, budget */
static bool
put_relays(const struct routed *rd, struct sw_buf *b)
{
    static const char *const admins[] = { "enabled", "disabled", "draining" };
    const struct sw_conf *c = rd->conf;
    const struct sw_relay_health *h;
    const struct sw_policy p = routed_policy(rd);
    enum sw_rstate rs;
    size_t i, j, up;
    bool ok;

    ok = FAM(b, "spillway_relay_admin", GAUGE, "1 for the administrative state of each relay.");
    for (i = 0; ok && i < c->nrelays; i++)
        for (j = 0; ok && j < 3; j++)
            ok = s2(b, "spillway_relay_admin", "relay", c->relays[i].name, "state", admins[j],
                    rd->admin[i] == (enum sw_relay_admin) j ? 1 : 0);
    ok = ok && FAM(b, "spillway_relay_health", GAUGE,
                   "1 for the health state of each relay (unprobed, unknown, up, partial, down).");
    for (i = 0; ok && i < c->nrelays; i++) {
        h = rd->health ? &rd->health[i] : NULL;
        rs = h ? sw_health_state(h, &up) : SW_RSTATE_UNPROBED;
        for (j = SW_RSTATE_UNPROBED; ok && j <= SW_RSTATE_DOWN; j++)
            ok = s2(b, "spillway_relay_health", "relay", c->relays[i].name, "state",
                    sw_rstate_name((enum sw_rstate) j), rs == (enum sw_rstate) j ? 1 : 0);
    }
    ok = ok && FAM(b, "spillway_relay_usable", GAUGE,
                   "1 if the alternate may take a new diversion now (enabled, not down, not "
                   "listed, within its budget).");
    for (i = 0; ok && i < c->nrelays; i++)
        if (c->relays[i].role == SW_ROLE_ALTERNATE)
            ok = s1(b, "spillway_relay_usable", "relay", c->relays[i].name,
                    sw_policy_ineligible(&p, &c->relays[i], NULL, true) == NULL ? 1 : 0);
    ok = ok && FAM(b, "spillway_relay_sent_last_hour", GAUGE,
                   "Deliveries through the relay in the last hour (the max_per_hour budget's use).");
    for (i = 0; ok && i < c->nrelays; i++)
        ok = s1(b, "spillway_relay_sent_last_hour", "relay", c->relays[i].name,
                rd->hour ? (double) rd->hour[i] : 0);
    ok = ok && FAM(b, "spillway_relay_max_per_hour", GAUGE,
                   "The relay's max_per_hour budget (relays that have one).");
    for (i = 0; ok && i < c->nrelays; i++)
        if (c->relays[i].max_per_hour > 0)
            ok = s1(b, "spillway_relay_max_per_hour", "relay", c->relays[i].name,
                    (double) c->relays[i].max_per_hour);
    return ok;
}

/* put_addresses - each resolved address of each relay */
static bool
put_addresses(const struct routed *rd, struct sw_buf *b)
{
    static const char *const states[] = { "unknown", "up", "down" };
    const struct sw_conf *c = rd->conf;
    const struct sw_haddr *a;
    size_t i, k, j;
    bool ok;

    ok = FAM(b, "spillway_address_state", GAUGE,
             "1 for the probe state of each address of a probed relay (unknown, up, down).");
    for (i = 0; ok && rd->health && i < c->nrelays; i++)
        for (k = 0; ok && rd->health[i].probed && k < rd->health[i].naddrs; k++)
            for (j = 0, a = &rd->health[i].addr[k]; ok && j < 3; j++) {
                const char *l[] = { "relay", c->relays[i].name, "address", a->ip, "state",
                                    states[j], NULL };

                ok = sw_metrics_sample(b, "spillway_address_state", l,
                                       (size_t) a->state == j ? 1 : 0);
            }
    ok = ok && FAM(b, "spillway_address_probe_seconds", GAUGE,
                   "Duration of the last good probe of each address.");
    for (i = 0; ok && rd->health && i < c->nrelays; i++)
        for (k = 0; ok && k < rd->health[i].naddrs; k++)
            if ((a = &rd->health[i].addr[k])->ms[SW_MARK_DONE] > 0)
                ok = s2(b, "spillway_address_probe_seconds", "relay", c->relays[i].name, "address",
                        a->ip, (double) a->ms[SW_MARK_DONE] / 1000.0);
    ok = ok && FAM(b, "spillway_address_listed", GAUGE,
                   "1 if the address is listed in a configured DNSBL zone.");
    for (i = 0; ok && rd->health && i < c->nrelays; i++)
        for (k = 0; ok && k < rd->health[i].naddrs; k++)
            ok = s2(b, "spillway_address_listed", "relay", c->relays[i].name, "address",
                    rd->health[i].addr[k].ip, rd->health[i].addr[k].listed[0] ? 1 : 0);
    return ok;
}

bool
routed_metrics_render(const struct routed *rd, struct sw_buf *out)
{
    time_t now = time(NULL);

    return put_process(rd, out) && put_scopes(rd, out, now) && put_relays(rd, out)
           && put_addresses(rd, out)
           && (rd->cluster_metrics == NULL || rd->cluster_metrics(rd, out));
}

/* ------------------------------------------------------------ HTTP */

static void
reply_text(struct evhttp_request *req, int code, const char *reason, const char *body)
{
    struct evbuffer *eb = evbuffer_new();

    if (eb == NULL) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    (void) evbuffer_add(eb, body, strlen(body));
    (void) evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                             "text/plain; charset=utf-8");
    evhttp_send_reply(req, code, reason, eb);
    evbuffer_free(eb);
}

/* request_cb - GET /metrics; / says where to look; the rest is 404 */
static void
request_cb(struct evhttp_request *req, void *arg)
{
    struct routed_metrics *m = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    struct evbuffer *eb;
    struct sw_buf out;

    if (path == NULL || strcmp(path, "/") == 0) {
        reply_text(req, 200, "OK", "spillway-routed: metrics at /metrics\n");
        return;
    }
    if (strcmp(path, "/metrics") != 0) {
        reply_text(req, 404, "Not Found", "not found: try /metrics\n");
        return;
    }
    sw_buf_init(&out, METRICS_MAX_BYTES);
    if (!routed_metrics_render(m->rd, &out) || (eb = evbuffer_new()) == NULL) {
        sw_warn("metrics: exposition larger than %u bytes or out of memory", METRICS_MAX_BYTES);
        sw_buf_free(&out);
        reply_text(req, 500, "Internal Server Error", "metrics: too large or out of memory\n");
        return;
    }
    (void) evbuffer_add(eb, out.data, out.len);
    (void) evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                             "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", eb);
    evbuffer_free(eb);
    sw_buf_free(&out);
}

/* The endpoint of the process: libevent hands the error callback its own
 * argument (the evhttp), not ours.  One endpoint per process. */
static struct routed_metrics *the_metrics;

/* resume_cb - accept scrapes again after a pause */
static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_metrics *m = arg;

    (void) fd;
    (void) what;
    (void) evconnlistener_enable(m->listener);
}

/* accept_error_cb - libevent could not accept a scrape
 *
 * Out of descriptors, the listening socket stays readable and libevent
 * would call again at once, forever: pause the listener for a second
 * (routed_accept.c does the same for the socketmap and control sockets). */
static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
    struct routed_metrics *m = the_metrics;
    int e = EVUTIL_SOCKET_ERROR();
    struct timeval one = { 1, 0 };
    unsigned long held;

    (void) arg;
    if (m == NULL)
        return;
    if (sw_ratelimit_check(&m->rl_accept, &held))
        sw_warn("metrics: accept: %s: scrapes paused for 1s (%lu more since the last such line)",
                strerror(e), held);
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        (void) evconnlistener_disable(lev);
        (void) evtimer_add(m->resume, &one);
    }
}

struct routed_metrics *
routed_metrics_start(struct routed *rd, struct sw_buf *err)
{
    struct evhttp_bound_socket *bound = NULL;
    struct routed_metrics *m;
    struct sw_endpoint ep;

    if (rd->conf->routed.metrics == NULL)
        return NULL;
    if (!sw_endpoint_parse(rd->conf->routed.metrics, &ep, err))
        return NULL;
    if ((m = calloc(1, sizeof(*m))) == NULL || (m->http = evhttp_new(rd->base)) == NULL) {
        free(m);
        sw_buf_printf(err, "metrics: out of memory");
        return NULL;
    }
    m->rd = rd;
    m->rl_accept = (struct sw_ratelimit) SW_RATELIMIT_INIT(60);
    /* Scrapes are small GETs: anything else is refused by libevent. */
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_max_headers_size(m->http, 8192);
    evhttp_set_max_body_size(m->http, 0);
    evhttp_set_timeout(m->http, 10);
    evhttp_set_gencb(m->http, request_cb, m);
    if ((m->fd = sw_endpoint_listen(&ep, 16, 0660, err)) < 0
        || (bound = evhttp_accept_socket_with_handle(m->http, m->fd)) == NULL
        || (m->listener = evhttp_bound_socket_get_listener(bound)) == NULL
        || (m->resume = evtimer_new(rd->base, resume_cb, m)) == NULL) {
        if (m->fd >= 0 && bound == NULL)
            (void) close(m->fd);
        evhttp_free(m->http);
        free(m);
        if (err->len == 0)
            sw_buf_printf(err, "metrics: cannot serve on %s", rd->conf->routed.metrics);
        return NULL;
    }
    the_metrics = m;
    evconnlistener_set_error_cb(m->listener, accept_error_cb);
    sw_info("metrics: listening endpoint=%s", rd->conf->routed.metrics);
    if (!ep.is_unix && strcmp(ep.host, "127.0.0.1") != 0 && strcmp(ep.host, "::1") != 0
        && strncmp(ep.host, "127.", 4) != 0)
        sw_warn("metrics: %s is not a loopback address: whoever reaches it reads the "
                "routing table and the destinations diverted", ep.host);
    return m;
}

void
routed_metrics_stop(struct routed_metrics *m)
{
    if (m == NULL)
        return;
    evhttp_free(m->http); /* closes the bound socket */
    if (the_metrics == m)
        the_metrics = NULL;
    if (m->resume)
        event_free(m->resume);
    free(m);
}
