/* routed_maillog.c - the MTA's own delivery outcomes, read from its log */

/*
 * Follows routed.maillog (a file, rotated by rename or truncation, or "-"
 * for standard input) from the event loop: inotify wakes it when the file
 * grows (a decision follows its evidence within milliseconds), a timer
 * polls as well (rotation, a file that appears later, inotify limits),
 * and standard input is watched directly.  Each delivery line becomes an
 * observation: attributed to the configured relay it went through (and so
 * to a pool), classified with the pattern library when the remote server
 * refused, and handed to the engine, whose decisions come back through
 * routed_decided().  A line that cannot be parsed is counted and skipped.
 */
#include "config.h"

#include <event2/event.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "global/attrib.h"
#include "global/classify.h"
#include "global/engine.h"
#include "util/follow.h"
#include "util/log.h"
#include "util/maillog.h"
#include "routed.h"

#define SW_MAILLOG_POLL_MS   100
#define SW_MAILLOG_MAX_BURST (4u * 1024u * 1024u) /* bytes per poll */
#define SW_MAILLOG_SWEEP_S   60

struct routed_maillog {
    struct routed *rd;
    struct sw_follow *follow;
    struct event *ev;
    struct event *notify_ev; /* inotify: the file grew */
    int notify_fd;
    int watch;
    unsigned long rotations; /* seen, to move the watch to a new file */
    time_t last_sweep;
    bool failing;
};


/* observe - one recipient's outcome */
static void
observe(struct routed *rd, const struct sw_outcome *op)
{
    const struct sw_outcome o = *op;
    struct sw_policy p;
    struct sw_observation ob;
    struct sw_evidence *ev = &ob.ev;
    const struct sw_relay *relay;
    const struct sw_pool *pool;
    struct sw_verdict v;

    rd->stats.log_outcomes++;
    p = routed_policy(rd); /* a partial or MX-style relay is logged by what it resolved to */
    if ((relay = sw_attrib_relay_resolved(&p, o.relay_host, o.relay_addr, o.relay_port)) == NULL)
        return; /* not through a relay spillway knows */
    pool = sw_attrib_pool(rd->conf, relay);
    memset(&ob, 0, sizeof(ob));
    ev->time = time(NULL);
    ev->source = SW_EV_LOG;
    ev->trusted = true; /* the MTA's own SMTP client saw it */
    ev->success = o.status == SW_OUTCOME_SENT;
    ev->code = o.reply_code;
    SW_COPY(ev->pool, pool ? pool->name : "");
    SW_COPY(ev->relay, relay->name);
    SW_COPY(ev->domain, o.domain);
    SW_COPY(ev->rcpt, o.rcpt);
    SW_COPY(ev->id, o.queue_id);
    SW_COPY(ev->dsn, o.dsn);
    SW_COPY(ev->text, o.text);
    if (!ev->success && o.from_remote && rd->conf->patterns) {
        sw_classify(rd->conf->patterns, o.text, strlen(o.text), &v);
        ev->cls = v.cls;
        if (v.name)
            SW_COPY(ev->pattern, v.name);
    }
    ob.via_primary = relay->role == SW_ROLE_PRIMARY;
    routed_count_evidence(rd, &ob.ev);
    rd->hour = sw_engine_usage(rd->engine, rd->conf, ev->time);
    if (ob.via_primary)
        routed_dnsbl_learn(rd, &ob.ev);
    p = routed_policy(rd);
    sw_engine_observe(rd->engine, &p, rd->route, &ob, routed_decided, rd);
    rd->hour = sw_engine_usage(rd->engine, rd->conf, ev->time);
}

/* on_line - one log line; a Sendmail line may list several recipients */
static void
on_line(const char *line, size_t len, void *arg)
{
    struct routed *rd = arg;
    struct sw_outcome o;
    size_t i;

    rd->stats.log_lines++;
    switch (sw_maillog_parse(line, len, &o)) {
    case SW_MAILLOG_IGNORED: return;
    case SW_MAILLOG_BAD: rd->stats.log_bad++; return;
    case SW_MAILLOG_OUTCOME: break;
    }
    observe(rd, &o);
    for (i = 1; i < o.nrcpt; i++)
        if (sw_maillog_parse_rcpt(line, len, i, &o) == SW_MAILLOG_OUTCOME)
            observe(rd, &o);
}

/* watch_file - (re)point the inotify watch at the path's current file */
static void
watch_file(struct routed_maillog *ml)
{
    if (ml->notify_fd < 0)
        return;
    if (ml->watch >= 0)
        (void) inotify_rm_watch(ml->notify_fd, ml->watch);
    ml->watch = inotify_add_watch(ml->notify_fd, ml->rd->conf->routed.maillog, IN_MODIFY);
}

/* poll_cb - read what is new */
static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_maillog *ml = arg;
    struct routed *rd = ml->rd;
    struct sw_buf err;
    time_t now = time(NULL);
    unsigned long lines, cut, rotations;
    char drain[4096];

    (void) what;
    if (ml->notify_fd >= 0 && fd == ml->notify_fd)
        while (read(ml->notify_fd, drain, sizeof(drain)) > 0)
            ;
    sw_buf_init(&err, 1024);
    if (sw_follow_poll(ml->follow, SW_MAILLOG_MAX_BURST, on_line, rd, &err) < 0) {
        if (sw_follow_fd(ml->follow) < 0 && event_get_fd(ml->ev) >= 0) {
            /* Standard input ended: nothing more will come. */
            sw_info("maillog: %s: end of input", rd->conf->routed.maillog);
            (void) event_del(ml->ev);
            sw_buf_free(&err);
            return;
        }
        if (!ml->failing)
            sw_warn("maillog: %s: %s (retrying)", rd->conf->routed.maillog, sw_buf_str(&err));
        ml->failing = true;
    } else if (ml->failing) {
        sw_info("maillog: %s: reading again", rd->conf->routed.maillog);
        ml->failing = false;
    }
    sw_buf_free(&err);
    sw_follow_stats(ml->follow, &lines, &cut, &rotations);
    if (rotations != ml->rotations || ml->watch < 0) {
        ml->rotations = rotations;
        watch_file(ml);
    }
    /* Budgets decay with time, not only with new lines. */
    rd->hour = sw_engine_usage(rd->engine, rd->conf, now);
    if (now - ml->last_sweep >= SW_MAILLOG_SWEEP_S) {
        sw_engine_sweep(rd->engine, now, 2 * 86400);
        ml->last_sweep = now;
    }
}

/* routed_maillog_start - NULL without error when no maillog is configured */
struct routed_maillog *
routed_maillog_start(struct routed *rd, struct sw_buf *err)
{
    struct routed_maillog *ml;
    struct timeval tv = { 0, SW_MAILLOG_POLL_MS * 1000 };
    int fd;

    if (rd->conf->routed.maillog == NULL)
        return NULL;
    if ((ml = calloc(1, sizeof(*ml))) == NULL) {
        sw_buf_adds(err, "out of memory");
        return NULL;
    }
    ml->rd = rd;
    ml->last_sweep = time(NULL);
    ml->notify_fd = -1;
    ml->watch = -1;
    if ((ml->follow = sw_follow_open(rd->conf->routed.maillog, true, err)) == NULL) {
        free(ml);
        return NULL;
    }
    fd = sw_follow_fd(ml->follow);
    ml->ev = fd >= 0 ? event_new(rd->base, fd, EV_READ | EV_PERSIST, poll_cb, ml)
                     : event_new(rd->base, -1, EV_PERSIST, poll_cb, ml);
    if (ml->ev == NULL || event_add(ml->ev, fd >= 0 ? NULL : &tv) < 0) {
        sw_buf_adds(err, "cannot add the mail log to the event loop");
        routed_maillog_stop(ml);
        return NULL;
    }
    if (fd < 0 && (ml->notify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) >= 0) {
        watch_file(ml);
        ml->notify_ev = event_new(rd->base, ml->notify_fd, EV_READ | EV_PERSIST, poll_cb, ml);
        if (ml->notify_ev == NULL || event_add(ml->notify_ev, NULL) < 0)
            sw_warn("maillog: no inotify: polling every %d ms", SW_MAILLOG_POLL_MS);
    }
    sw_info("maillog: following %s", rd->conf->routed.maillog);
    return ml;
}

/* routed_maillog_stop - stop following */
void
routed_maillog_stop(struct routed_maillog *ml)
{
    if (ml == NULL)
        return;
    if (ml->ev)
        event_free(ml->ev);
    if (ml->notify_ev)
        event_free(ml->notify_ev);
    if (ml->notify_fd >= 0)
        (void) close(ml->notify_fd);
    sw_follow_close(ml->follow);
    free(ml);
}
