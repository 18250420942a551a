/* routed_journal.c - the systemd journal as a mail log source (sd-journal) */

/*
 * journald stamps every entry with fields its writer cannot set: _UID,
 * _COMM, _SYSTEMD_UNIT come from the kernel (SCM_CREDENTIALS, /proc, the
 * cgroup).  Those, not SYSLOG_IDENTIFIER, say whether Postfix or Sendmail
 * wrote a delivery line (util/logsrc.h decides).  The system journal is
 * opened local-only and system-only: journals that journal-remote received
 * from other hosts carry what those hosts claimed, and users' own journals
 * are never the MTA's.
 *
 * Non-blocking on the event loop: sd_journal_get_fd() is an inotify
 * descriptor; each wake-up calls sd_journal_process() and reads at most
 * SW_JOURNAL_BATCH entries, then yields to the loop (lookups come first)
 * and continues from a zero timer.  A 1 s timer re-checks as well, as
 * sd_journal_get_timeout() asks of callers that poll.
 */
#include "config.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "util/follow.h"
#include "util/log.h"
#include "routed.h"
#include "routed_journal.h"

#define SW_JOURNAL_BATCH   512 /* entries per callback */
#define SW_JOURNAL_FIELD   128 /* _UID, _COMM, _SYSTEMD_UNIT, the identifier, the pid */
#define SW_JOURNAL_RECHECK 1   /* seconds */

struct routed_journal {
    sd_journal *j;
    struct event *ev;    /* the journal's inotify fd */
    struct event *again; /* a batch was cut, or the periodic re-check */
    uid_t *uids;
    size_t nuids;
    routed_journal_fn fn;
    void *ctx;
    unsigned long entries;
    bool failing;
};

/* field - one field's value, NUL-terminated and cut, into dst; false if absent */
static bool
field(sd_journal *j, const char *name, char *dst, size_t size)
{
    const void *data;
    size_t len, n = strlen(name);

    dst[0] = '\0';
    if (sd_journal_get_data(j, name, &data, &len) < 0 || len <= n
        || ((const char *) data)[n] != '=')
        return false;
    len -= n + 1;
    if (len >= size)
        len = size - 1;
    memcpy(dst, (const char *) data + n + 1, len);
    dst[len] = '\0';
    return true;
}

/* one_entry - rebuild the line, judge its writer, hand it on */
static void
one_entry(struct routed_journal *rj, struct sw_buf *line)
{
    char uid[SW_JOURNAL_FIELD], comm[SW_JOURNAL_FIELD], unit[SW_JOURNAL_FIELD];
    char ident[SW_JOURNAL_FIELD], pid[SW_JOURNAL_FIELD];
    struct sw_journal_writer w;
    const void *data;
    size_t len;
    uint64_t usec;

    rj->entries++;
    if (sd_journal_get_data(rj->j, "MESSAGE", &data, &len) < 0 || len < 8)
        return;
    w.uid = field(rj->j, "_UID", uid, sizeof(uid)) ? uid : NULL;
    w.comm = field(rj->j, "_COMM", comm, sizeof(comm)) ? comm : NULL;
    w.unit = field(rj->j, "_SYSTEMD_UNIT", unit, sizeof(unit)) ? unit : NULL;
    if (!field(rj->j, "SYSLOG_IDENTIFIER", ident, sizeof(ident)))
        SW_COPY(ident, comm);
    if (!field(rj->j, "SYSLOG_PID", pid, sizeof(pid)) && !field(rj->j, "_PID", pid, sizeof(pid)))
        SW_COPY(pid, "0");
    if (sd_journal_get_realtime_usec(rj->j, &usec) < 0)
        return;
    sw_buf_reset(line);
    sw_buf_printf(line, "%s[%s]: ", ident, pid);
    /* MESSAGE may hold any bytes; the length is authoritative. */
    len -= 8;
    if (len > SW_FOLLOW_MAX_LINE)
        len = SW_FOLLOW_MAX_LINE;
    sw_buf_add(line, (const char *) data + 8, len);
    rj->fn(line->data, line->len, (time_t) (usec / 1000000u),
           sw_logsrc_journal_writer(&w, rj->uids, rj->nuids), rj->ctx);
}

/* drain - read what is new, a batch at most */
static void
drain(struct routed_journal *rj)
{
    struct timeval now = { 0, 0 }, later = { SW_JOURNAL_RECHECK, 0 };
    struct sw_buf line;
    int i, r = 0;

    sw_buf_init(&line, SW_FOLLOW_MAX_LINE + 2 * SW_JOURNAL_FIELD + 8);
    for (i = 0; i < SW_JOURNAL_BATCH && (r = sd_journal_next(rj->j)) > 0; i++)
        one_entry(rj, &line);
    sw_buf_free(&line);
    if (r < 0 && !rj->failing) {
        sw_warn("maillog: journal: %s (retrying)", strerror(-r));
        rj->failing = true;
    } else if (r >= 0 && rj->failing) {
        sw_info("maillog: journal: reading again");
        rj->failing = false;
    }
    /* A full batch: more may wait; come back after the loop ran. */
    (void) event_add(rj->again, i == SW_JOURNAL_BATCH ? &now : &later);
}

/* wake_cb - the journal changed, a batch was cut, or the periodic re-check */
static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_journal *rj = arg;

    (void) fd;
    (void) what;
    (void) sd_journal_process(rj->j);
    drain(rj);
}

/* routed_journal_start - open, go to the end, watch */
struct routed_journal *
routed_journal_start(struct event_base *base, const char *dir, const uid_t *uids, size_t nuids,
                     routed_journal_fn fn, void *ctx, struct sw_buf *err)
{
    struct routed_journal *rj = calloc(1, sizeof(*rj));
    int r, fd;

    if (rj == NULL || (nuids && (rj->uids = calloc(nuids, sizeof(*uids))) == NULL)) {
        free(rj);
        sw_buf_adds(err, "out of memory");
        return NULL;
    }
    if (nuids)
        memcpy(rj->uids, uids, nuids * sizeof(*uids));
    rj->nuids = nuids;
    rj->fn = fn;
    rj->ctx = ctx;
    r = *dir ? sd_journal_open_directory(&rj->j, dir, 0)
             : sd_journal_open(&rj->j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
    if (r < 0) {
        sw_buf_printf(err, "cannot open the journal%s%s: %s", *dir ? " in " : "", dir,
                      strerror(-r));
        goto fail;
    }
    /* From the end: what was logged before the start is not news. */
    if ((r = sd_journal_seek_tail(rj->j)) < 0 || (r = sd_journal_previous(rj->j)) < 0) {
        sw_buf_printf(err, "cannot seek to the journal's end: %s", strerror(-r));
        goto fail;
    }
    if ((fd = sd_journal_get_fd(rj->j)) < 0) {
        sw_buf_printf(err, "cannot watch the journal: %s", strerror(-fd));
        goto fail;
    }
    rj->ev = event_new(base, fd, EV_READ | EV_PERSIST, wake_cb, rj);
    rj->again = evtimer_new(base, wake_cb, rj);
    if (rj->ev == NULL || rj->again == NULL || event_priority_set(rj->ev, ROUTED_PRIO_OTHER) < 0
        || event_priority_set(rj->again, ROUTED_PRIO_OTHER) < 0 || event_add(rj->ev, NULL) < 0) {
        sw_buf_adds(err, "cannot add the journal to the event loop");
        goto fail;
    }
    drain(rj);
    return rj;
fail:
    routed_journal_stop(rj);
    return NULL;
}

/* routed_journal_entries - for status */
unsigned long
routed_journal_entries(const struct routed_journal *rj)
{
    return rj ? rj->entries : 0;
}

/* routed_journal_stop - close (NULL is allowed) */
void
routed_journal_stop(struct routed_journal *rj)
{
    if (rj == NULL)
        return;
    if (rj->ev)
        event_free(rj->ev);
    if (rj->again)
        event_free(rj->again);
    if (rj->j)
        sd_journal_close(rj->j);
    free(rj->uids);
    free(rj);
}
