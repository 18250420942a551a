/* routed_maillog.c - the MTA's own delivery outcomes, read from its log */

/*
 * Follows routed.maillog, a source whose kind says what proves its writer
 * (util/logsrc.h): the systemd journal (routed_journal.c: entries count
 * when journald's trusted fields name the MTA), Postfix's maillog_file
 * (postlog:, checked to be writable only by a trusted user at start, on
 * reload and when it is rotated), or a syslog file or standard input
 * (syslog:, forgeable: evidence only with maillog_trust = "forgeable").
 * Files are followed from the event loop: inotify wakes it when the file
 * grows (a decision follows its evidence within milliseconds), a timer
 * polls as well (rotation, a file that appears later, inotify limits),
 * and standard input is watched directly.  Each delivery line becomes an
 * observation stamped with the line's own time (util/logtime.h; a line too
 * far in the future or the past is not evidence): attributed to the
 * configured relay it went through (and so to a pool), classified with the
 * pattern library when the remote server refused, and handed to the
 * engine, whose decisions come back through routed_decided().  Lines that
 * cannot be parsed, forged entries and untimely lines are counted and
 * warned about once per SW_MAILLOG_WARN_S with their count.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "global/attrib.h"
#include "global/classify.h"
#include "global/engine.h"
#include "global/logtrust.h"
#include "util/follow.h"
#include "util/log.h"
#include "util/logsrc.h"
#include "util/logtime.h"
#include "util/maillog.h"
#include "util/ratelimit.h"
#include "util/userid.h"
#include "routed.h"
#include "routed_journal.h"

#define SW_MAILLOG_POLL_MS   100
#define SW_MAILLOG_MAX_BURST (4u * 1024u * 1024u) /* bytes per poll */
#define SW_MAILLOG_SWEEP_S   60
#define SW_MAILLOG_WARN_S    60 /* one warning per cause per minute */
#define SW_MAILLOG_MAX_USERS 32
#define SW_MAILLOG_KINDS     32 /* unparsable line kinds remembered for -v */
/* A bad source is said again every hour: often enough to be in every
 * hourly log digest and to reach whoever reads the log after a night,
 * rare enough (24 lines a day) not to bury other warnings; the state is
 * in status and the metrics for whoever wants to alert at once. */
#define SW_MAILLOG_REMIND_S 3600

struct routed_maillog {
    struct routed *rd;
    struct sw_logsrc src;
    bool evidence; /* its outcomes count (a proven writer, or accepted as forgeable) */
    bool file_ok;  /* postlog: the file's owner and mode were last found trusted */
    uid_t uids[SW_MAILLOG_MAX_USERS]; /* maillog_users, resolved */
    size_t nuids;
    struct sw_follow *follow;
    struct routed_journal *journal;
    struct event *ev;
    struct event *notify_ev; /* inotify: the file grew */
    int notify_fd;
    int watch;
    unsigned long rotations; /* seen, to move the watch to a new file */
    time_t last_sweep;
    bool failing;
    struct sw_srcwatch alive; /* ok, missing, unreadable, silent (util/logsrc.h) */
    time_t last_look;         /* monotonic: the source is looked at once a second */
    struct sw_ratelimit warn_bad, warn_forged, warn_time;
    char bad_kinds[SW_MAILLOG_KINDS][48]; /* -v: unparsable kinds already shown */
    size_t nbad_kinds;
};

/* counts - are this source's lines evidence now?  A postlog file only
 * while its owner and mode were last found trusted. */
static bool
counts(const struct routed_maillog *ml)
{
    return ml->evidence && (ml->src.kind != SW_LOGSRC_POSTLOG || ml->file_ok);
}

/* warn_limited - one warning per cause per interval, with the count */
static void
warn_limited(struct sw_ratelimit *rl, const char *what, const char *line, size_t len)
{
    struct sw_buf q;
    unsigned long held;

    if (!sw_ratelimit_check(rl, &held))
        return;
    sw_buf_init(&q, 512);
    (void) sw_buf_add_escaped(&q, line, len < 200 ? len : 200);
    sw_warn("maillog: %s count=%lu line=\"%s\"", what, held + 1, sw_buf_str(&q));
    sw_buf_free(&q);
}

/* line_kind - the program that wrote a syslog-style line ("postfix/smtp"
 * of "... mta postfix/smtp[123]: ..."), or "other" */
static void
line_kind(const char *line, size_t len, char *out, size_t size)
{
    const char *end = line + len, *colon, *open, *start;

    (void) snprintf(out, size, "other");
    for (colon = line; (colon = memchr(colon, ':', (size_t) (end - colon))) != NULL; colon++) {
        if (colon == line || colon[-1] != ']' || colon + 1 >= end || colon[1] != ' ')
            continue;
        for (open = colon - 1; open > line && *open != '[' && *open != ' '; open--)
            ;
        if (*open != '[')
            return;
        for (start = open; start > line && start[-1] != ' '; start--)
            ;
        if (open > start)
            (void) snprintf(out, size, "%.*s", (int) (open - start), start);
        return;
    }
}

/* debug_bad - -v: the first unparsable line of each kind, in full */
static void
debug_bad(struct routed_maillog *ml, const char *line, size_t len)
{
    char kind[48];
    struct sw_buf q;
    size_t i;

    if (!sw_log_verbose())
        return;
    line_kind(line, len, kind, sizeof(kind));
    for (i = 0; i < ml->nbad_kinds; i++)
        if (strcmp(ml->bad_kinds[i], kind) == 0)
            return;
    if (ml->nbad_kinds < SW_MAILLOG_KINDS)
        (void) snprintf(ml->bad_kinds[ml->nbad_kinds++], sizeof(ml->bad_kinds[0]), "%s", kind);
    sw_buf_init(&q, 2048);
    (void) sw_buf_add_escaped(&q, line, len < 1000 ? len : 1000);
    sw_debug("maillog: unparsable kind=%s first=yes line=\"%s\" (later lines of this kind are "
             "only counted)",
             kind, sw_buf_str(&q));
    sw_buf_free(&q);
}

/* observe - one recipient's outcome, logged at when */
static void
observe(struct routed *rd, const struct sw_outcome *op, time_t when)
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
    routed_count_outcome(rd, relay->name, (int) o.status);
    memset(&ob, 0, sizeof(ob));
    ev->time = when; /* the line's own time (util/logtime.h) */
    ev->source = SW_EV_LOG;
    ev->trusted = true; /* the MTA's own SMTP client saw it, its writer proven */
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
    routed_cluster_evidence(rd, &ob);
    p = routed_policy(rd);
    sw_engine_observe(rd->engine, &p, rd->route, &ob, routed_decided, rd);
    rd->hour = sw_engine_usage(rd->engine, rd->conf, ev->time);
}

/* outcome_line - one line whose writer is settled; when: its time, or 0
 * to take it from the line itself */
static void
outcome_line(struct routed_maillog *ml, const char *line, size_t len, time_t when)
{
    struct routed *rd = ml->rd;
    struct sw_outcome o;
    enum sw_logtime_verdict tv;
    time_t now = time(NULL);
    size_t i;

    switch (sw_maillog_parse(line, len, &o)) {
    case SW_MAILLOG_IGNORED: return;
    case SW_MAILLOG_BAD:
        rd->stats.log_bad++;
        debug_bad(ml, line, len);
        warn_limited(&ml->warn_bad, "unparsable", line, len);
        return;
    case SW_MAILLOG_OUTCOME: break;
    }
    if (!counts(ml)) {
        rd->stats.log_unused++; /* a source that does not prove its writer */
        return;
    }
    if (when == 0 && !sw_logtime_parse(line, len, now, &when))
        tv = SW_LOGTIME_NONE;
    else
        tv = sw_logtime_check(when, now);
    if (tv != SW_LOGTIME_OK) {
        rd->stats.log_untimely++;
        warn_limited(&ml->warn_time,
                     tv == SW_LOGTIME_NONE  ? "undated"
                     : tv == SW_LOGTIME_OLD ? "too old"
                                            : "in the future",
                     line, len);
        return;
    }
    observe(rd, &o, when);
    for (i = 1; i < o.nrcpt; i++)
        if (sw_maillog_parse_rcpt(line, len, i, &o) == SW_MAILLOG_OUTCOME)
            observe(rd, &o, when);
}

/* on_line - one line of a file or of standard input */
static void
on_line(const char *line, size_t len, void *arg)
{
    struct routed_maillog *ml = arg;

    ml->rd->stats.log_lines++;
    sw_srcwatch_line(&ml->alive, sw_ratelimit_now());
    outcome_line(ml, line, len, 0);
}

/* on_entry - one journal entry: only the MTA's count */
static void
on_entry(const char *line, size_t len, time_t when, enum sw_writer_verdict writer, void *arg)
{
    struct routed_maillog *ml = arg;
    struct sw_outcome o;

    sw_srcwatch_line(&ml->alive, sw_ratelimit_now());
    if (writer == SW_WRITER_MTA) {
        ml->rd->stats.log_lines++;
        outcome_line(ml, line, len, when);
        return;
    }
    /* Another program's entry: news only when it looks like a delivery. */
    if (sw_maillog_parse(line, len, &o) == SW_MAILLOG_IGNORED)
        return;
    ml->rd->stats.log_lines++;
    ml->rd->stats.log_refused++;
    warn_limited(&ml->warn_forged,
                 writer == SW_WRITER_UID ? "refused writer=uid (not a trusted mail log user)"
                                         : "refused writer=program (not an MTA program or unit)",
                 line, len);
}

/* check_file - postlog: may only a trusted user write the file? */
static bool
check_file(struct routed_maillog *ml, bool quiet_if_missing, struct sw_buf *why)
{
    struct stat st;

    if (stat(ml->src.path, &st) != 0) {
        if (!quiet_if_missing)
            sw_buf_printf(why, "%s: %s", ml->src.path, strerror(errno));
        return false;
    }
    return sw_logsrc_file_trusted(st.st_uid, st.st_mode, ml->uids, ml->nuids, why);
}

/* recheck_file - before each poll: still trusted?  A path that is missing
 * for a moment (rotation by rename) changes nothing: the follower reads on
 * in the file it had, which was judged. */
static void
recheck_file(struct routed_maillog *ml)
{
    struct sw_buf why;
    struct stat st;
    bool ok;

    if (ml->src.kind != SW_LOGSRC_POSTLOG || (stat(ml->src.path, &st) != 0 && errno == ENOENT))
        return;
    sw_buf_init(&why, 1024);
    ok = check_file(ml, true, &why);
    if (ok != ml->file_ok) /* once per change, not once per poll */
        ok ? sw_info("maillog: %s: owner and mode trusted: its lines are evidence", ml->src.path)
           : sw_warn("maillog: %s: %s: its lines are not evidence until that is fixed",
                     ml->src.path, why.len ? sw_buf_str(&why) : "missing");
    ml->file_ok = ok;
    sw_buf_free(&why);
}

/* watch_file - (re)point the inotify watch at the path's current file */
static void
watch_file(struct routed_maillog *ml)
{
    if (ml->notify_fd < 0)
        return;
    if (ml->watch >= 0)
        (void) inotify_rm_watch(ml->notify_fd, ml->watch);
    ml->watch = inotify_add_watch(ml->notify_fd, ml->src.path, IN_MODIFY);
}

/* access_now - can the source be read?  Standard input and the system
 * journal are only ever silent; a file or journal directory can also be
 * missing or unreadable (a read error of the follower counts too). */
static enum sw_srcstate
access_now(const struct routed_maillog *ml)
{
    struct stat st;

    if (ml->src.path[0] == '\0' || strcmp(ml->src.path, "-") == 0)
        return SW_SRC_OK;
    if (stat(ml->src.path, &st) != 0)
        return errno == ENOENT || errno == ENOTDIR ? SW_SRC_MISSING : SW_SRC_UNREADABLE;
    if (access(ml->src.path, R_OK) != 0 || ml->failing)
        return SW_SRC_UNREADABLE;
    return SW_SRC_OK;
}

/* advice - what to do about a bad state */
static const char *
advice(enum sw_srcstate s)
{
    switch (s) {
    case SW_SRC_MISSING: return "no delivery outcomes reach the engine: check routed.maillog";
    case SW_SRC_UNREADABLE:
        return "no delivery outcomes reach the engine: let spillway-routed's user read it";
    case SW_SRC_SILENT:
        return "no line for longer than routed.maillog_silence: is the MTA logging there?";
    case SW_SRC_OK: break;
    }
    return "";
}

/* look - the source's state, logged once per change and reminded */
static void
look(struct routed_maillog *ml)
{
    struct routed *rd = ml->rd;
    time_t now = sw_ratelimit_now();
    enum sw_srcstate was = ml->alive.state;
    enum sw_srcwatch_say say;
    char age[32];

    if (ml->alive.looked && now == ml->last_look)
        return;
    ml->last_look = now;
    /* for the metrics (routed_metrics.c reads, never calls up here) */
    rd->stats.source_quiet = now - sw_srcwatch_age(&ml->alive, now);
    say = sw_srcwatch_check(&ml->alive, access_now(ml), now, rd->conf->routed.maillog_silence,
                            SW_MAILLOG_REMIND_S);
    rd->stats.source_state = (int) ml->alive.state;
    if (say == SW_SRCWATCH_QUIET)
        return;
    if (ml->alive.lined)
        (void) snprintf(age, sizeof(age), "%lds", (long) sw_srcwatch_age(&ml->alive, now));
    else
        (void) snprintf(age, sizeof(age), "none");
    if (say == SW_SRCWATCH_CHANGED && ml->alive.state != SW_SRC_OK)
        rd->stats.source_failures[ml->alive.state]++;
    if (ml->alive.state == SW_SRC_OK)
        sw_info("maillog: source=%s state=ok was=%s last_line_age=%s", rd->conf->routed.maillog,
                sw_srcstate_name(was), age);
    else
        sw_warn("maillog: source=%s state=%s was=%s last_line_age=%s reminder=%s: %s",
                rd->conf->routed.maillog, sw_srcstate_name(ml->alive.state),
                sw_srcstate_name(say == SW_SRCWATCH_REMIND ? ml->alive.state : was), age,
                say == SW_SRCWATCH_REMIND ? "yes" : "no", advice(ml->alive.state));
}

/* tick - budgets decay with time, not only with new lines; old engine
 * entries are swept */
static void
tick(struct routed_maillog *ml)
{
    struct routed *rd = ml->rd;
    time_t now = time(NULL);

    look(ml);
    rd->hour = sw_engine_usage(rd->engine, rd->conf, now);
    if (now - ml->last_sweep >= SW_MAILLOG_SWEEP_S) {
        sw_engine_sweep(rd->engine, now, 2 * 86400);
        ml->last_sweep = now;
    }
}

/* poll_cb - read what is new */
static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_maillog *ml = arg;
    struct sw_buf err;
    unsigned long lines, cut, rotations;
    char drain[4096];

    (void) what;
    if (ml->notify_fd >= 0 && fd == ml->notify_fd)
        while (read(ml->notify_fd, drain, sizeof(drain)) > 0)
            ;
    /* postlog: the file's owner and mode before its lines are read (a
     * stat per poll), so that a file that appeared or was replaced is
     * judged before its first line counts. */
    recheck_file(ml);
    sw_buf_init(&err, 1024);
    if (sw_follow_poll(ml->follow, SW_MAILLOG_MAX_BURST, on_line, ml, &err) < 0) {
        if (sw_follow_fd(ml->follow) < 0 && event_get_fd(ml->ev) >= 0) {
            /* Standard input ended: nothing more will come. */
            sw_info("maillog: end path=%s", ml->src.path);
            (void) event_del(ml->ev);
            sw_buf_free(&err);
            return;
        }
        if (!ml->failing)
            sw_warn("maillog: %s: %s (retrying)", ml->src.path, sw_buf_str(&err));
        ml->failing = true;
    } else if (ml->failing) {
        sw_info("maillog: reading path=%s again=yes", ml->src.path);
        ml->failing = false;
    }
    sw_buf_free(&err);
    sw_follow_stats(ml->follow, &lines, &cut, &rotations);
    if (rotations != ml->rotations || ml->watch < 0) {
        ml->rotations = rotations;
        watch_file(ml);
    }
    tick(ml);
}

/* routed_maillog_recheck - at a reload that keeps the source: is a postlog
 * file still trusted, and is the source still one to warn about? */
void
routed_maillog_recheck(struct routed_maillog *ml)
{
    struct sw_buf why;
    const char *warning;

    if (ml == NULL)
        return;
    if ((warning = sw_logtrust_warning(ml->rd->conf)) != NULL)
        sw_warn("maillog: %s", warning);
    if (ml->src.kind != SW_LOGSRC_POSTLOG)
        return;
    recheck_file(ml);
    sw_buf_init(&why, 1024);
    if (!ml->file_ok && !check_file(ml, false, &why))
        sw_warn("maillog: %s: %s: its lines are not evidence until that is fixed", ml->src.path,
                sw_buf_str(&why));
    sw_buf_free(&why);
}

/* resolve_users - routed.maillog_users as uids; absent: postfix (if that
 * user exists) and root */
static bool
resolve_users(struct routed_maillog *ml, const struct sw_conf *c, struct sw_buf *err)
{
    static const char *const defaults[] = { "postfix", "root" };
    const struct sw_strv *u = &c->routed.maillog_users;
    size_t i, n = u->n ? u->n : 2;
    const char *name;

    for (i = 0; i < n && ml->nuids < SW_MAILLOG_MAX_USERS; i++) {
        name = u->n ? u->v[i] : defaults[i];
        if (sw_uid_of(name, &ml->uids[ml->nuids])) {
            ml->nuids++;
        } else if (u->n) {
            sw_buf_printf(err, "routed.maillog_users: no such user %s", name);
            return false;
        }
    }
    return true;
}

/* routed_maillog_status - the source and its counters, text or JSON */
void
routed_maillog_status(const struct routed *rd, bool json, struct sw_buf *out)
{
    const struct routed_maillog *ml = rd->maillog;
    const char *spec = rd->conf->routed.maillog ? rd->conf->routed.maillog : "";
    const char *kind = ml ? sw_logsrc_kind_name(ml->src.kind) : "none";
    bool forgeable = ml && sw_logsrc_forgeable(&ml->src);
    bool evidence = ml && counts(ml);

    if (json) {
        sw_buf_adds(out, "\"maillog\":{\"source\":");
        sw_buf_add_json(out, spec);
        sw_buf_printf(out,
                      ",\"kind\":\"%s\",\"forgeable\":%s,\"evidence\":%s,\"lines\":%lu,"
                      "\"outcomes\":%lu,\"unparsable\":%lu,\"refused\":%lu,\"untimely\":%lu,"
                      "\"unused\":%lu}",
                      kind, forgeable ? "true" : "false", evidence ? "true" : "false",
                      rd->stats.log_lines, rd->stats.log_outcomes, rd->stats.log_bad,
                      rd->stats.log_refused, rd->stats.log_untimely, rd->stats.log_unused);
        if (ml) {
            out->len--; /* the state inside the same object */
            sw_buf_printf(out, ",\"state\":\"%s\",\"last_line_age\":%ld}",
                          sw_srcstate_name(ml->alive.state),
                          ml->alive.lined ? (long) sw_srcwatch_age(&ml->alive, sw_ratelimit_now())
                                          : -1L);
        }
        return;
    }
    if (ml == NULL) {
        sw_buf_adds(out, "mail log: none\n");
        return;
    }
    sw_buf_printf(out, "mail log: %s (%s, %s, %s)\n", spec, kind,
                  forgeable ? "FORGEABLE: any local user can write it" : "writer proven",
                  evidence ? "evidence" : "NOT evidence");
    sw_buf_printf(out,
                  "  %lu lines, %lu outcomes, %lu unparsable, %lu refused (not the MTA), "
                  "%lu untimely, %lu unused\n",
                  rd->stats.log_lines, rd->stats.log_outcomes, rd->stats.log_bad,
                  rd->stats.log_refused, rd->stats.log_untimely, rd->stats.log_unused);
    if (ml->alive.lined)
        sw_buf_printf(out, "  path=%s state=%s last_line_age=%lds\n",
                      ml->src.path[0] ? ml->src.path : "journal", sw_srcstate_name(ml->alive.state),
                      (long) sw_srcwatch_age(&ml->alive, sw_ratelimit_now()));
    else
        sw_buf_printf(out, "  path=%s state=%s last_line_age=none\n",
                      ml->src.path[0] ? ml->src.path : "journal", sw_srcstate_name(ml->alive.state));
}

/* start_file - follow a file or standard input */
static bool
start_file(struct routed_maillog *ml, struct sw_buf *err)
{
    struct routed *rd = ml->rd;
    struct timeval tv = { 0, SW_MAILLOG_POLL_MS * 1000 };
    int fd;

    if ((ml->follow = sw_follow_open(ml->src.path, true, err)) == NULL)
        return false;
    fd = sw_follow_fd(ml->follow);
    ml->ev = fd >= 0 ? event_new(rd->base, fd, EV_READ | EV_PERSIST, poll_cb, ml)
                     : event_new(rd->base, -1, EV_PERSIST, poll_cb, ml);
    if (ml->ev == NULL || event_add(ml->ev, fd >= 0 ? NULL : &tv) < 0) {
        sw_buf_adds(err, "cannot add the mail log to the event loop");
        return false;
    }
    if (fd < 0 && (ml->notify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) >= 0) {
        watch_file(ml);
        ml->notify_ev = event_new(rd->base, ml->notify_fd, EV_READ | EV_PERSIST, poll_cb, ml);
        if (ml->notify_ev == NULL || event_add(ml->notify_ev, NULL) < 0)
            sw_warn("maillog: no inotify: polling every %d ms", SW_MAILLOG_POLL_MS);
    }
    return true;
}

/* sweep_cb - journal sources: what the file poll does for files */
static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    tick(arg);
}

/* routed_maillog_start - follow c's routed.maillog; NULL without error when
 * none is configured.  A postlog file that others may write, a forgeable
 * source not accepted by c (only the legacy bare path gets this far: the
 * config check refuses "syslog:" without maillog_trust) are reported. */
struct routed_maillog *
routed_maillog_start(struct routed *rd, const struct sw_conf *c, struct sw_buf *err)
{
    struct routed_maillog *ml;
    struct timeval tv = { SW_MAILLOG_SWEEP_S / 6, 0 };
    const struct sw_ratelimit rl = SW_RATELIMIT_INIT(SW_MAILLOG_WARN_S);
    const char *warning;

    if (c->routed.maillog == NULL)
        return NULL;
    if ((ml = calloc(1, sizeof(*ml))) == NULL) {
        sw_buf_adds(err, "out of memory");
        return NULL;
    }
    ml->rd = rd;
    ml->last_sweep = time(NULL);
    ml->notify_fd = -1;
    ml->watch = -1;
    ml->warn_bad = ml->warn_forged = ml->warn_time = rl;
    sw_srcwatch_init(&ml->alive, sw_ratelimit_now());
    if (!sw_logsrc_parse(c->routed.maillog, &ml->src, err) || !resolve_users(ml, c, err))
        goto fail;
    ml->evidence = sw_logtrust_accepts(c, &ml->src);
    if (ml->src.kind == SW_LOGSRC_POSTLOG) {
        /* Refuse a file that others can write: naming it postlog would make
         * forged lines evidence.  A file not there yet is checked when it
         * appears (recheck_file). */
        if (!(ml->file_ok = check_file(ml, true, err)) && err->len) {
            sw_buf_adds(err, ": a postlog source must be writable only by root or the MTA's "
                             "user (routed.maillog_users); fix its owner and mode, or name it "
                             "syslog:PATH");
            goto fail;
        }
    } else if (ml->src.kind == SW_LOGSRC_JOURNAL && ml->src.path[0]) {
        ml->file_ok = check_file(ml, false, err);
        if (!ml->file_ok) {
            sw_buf_adds(err, ": journal files in a directory that others can write prove "
                             "nothing");
            goto fail;
        }
    }
    if (ml->src.kind == SW_LOGSRC_JOURNAL) {
        if ((ml->journal = routed_journal_start(rd->base, ml->src.path, ml->uids, ml->nuids,
                                                on_entry, ml, err))
                == NULL
            || (ml->ev = event_new(rd->base, -1, EV_PERSIST, sweep_cb, ml)) == NULL
            || event_add(ml->ev, &tv) < 0) {
            if (!err->len)
                sw_buf_adds(err, "cannot add the journal to the event loop");
            goto fail;
        }
    } else if (!start_file(ml, err)) {
        goto fail;
    }
    if ((warning = sw_logtrust_warning(c)) != NULL)
        sw_warn("maillog: %s", warning);
    sw_info("maillog: following source=%s kind=%s forgeable=%s evidence=%s", c->routed.maillog,
            sw_logsrc_kind_name(ml->src.kind), sw_logsrc_forgeable(&ml->src) ? "yes" : "no",
            ml->evidence ? "yes" : "no");
    look(ml); /* a source missing at start is said at start */
    return ml;
fail:
    routed_maillog_stop(ml);
    return NULL;
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
    routed_journal_stop(ml->journal);
    free(ml);
}
