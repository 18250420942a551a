/* logsrc.h - where mail log lines come from, and whether their writer is proven */
#ifndef SW_LOGSRC_H
#define SW_LOGSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "util/buf.h"

/*
 * A delivery outcome read from a log moves mail only if the MTA wrote it.
 * Three kinds of source, told apart by what proves the writer:
 *
 *   journal          the systemd journal: journald stamps each entry with
 *                    the sender's _UID, _COMM and _SYSTEMD_UNIT from the
 *                    kernel; an entry counts when those name the MTA
 *                    (sw_logsrc_journal_writer), never SYSLOG_IDENTIFIER
 *                    alone, which the writer chooses.
 *   postlog:FILE     Postfix's own maillog_file, written by postlogd: only
 *                    root and the MTA's user may write it (owner in the
 *                    trusted list, no write bit for group or other).
 *   syslog:FILE, -   a syslog daemon's file or a pipe: any local user can
 *                    put a line there (logger -t postfix/smtp).  Forgeable.
 *
 * Spec strings (routed.maillog): "journal", "journal:DIR" (journal files
 * in DIR, e.g. written by systemd-journal-remote), "postlog:/path",
 * "syslog:/path", "syslog:-" (standard input).  A bare path or "-" (the
 * form before sources had kinds) is read as syslog and flagged legacy.
 * Pure functions: no I/O, the caller stats files and reads entries.
 */
enum sw_logsrc_kind { SW_LOGSRC_JOURNAL, SW_LOGSRC_POSTLOG, SW_LOGSRC_SYSLOG };

#define SW_LOGSRC_PATH_MAX 4096

struct sw_logsrc {
    enum sw_logsrc_kind kind;
    char path[SW_LOGSRC_PATH_MAX]; /* file, "-", journal directory; "" = the system journal */
    bool legacy;                   /* a bare path or "-" */
};

/* Parse a spec; false with a message in err (empty, unknown kind, a
 * relative path, a path too long). */
bool sw_logsrc_parse(const char *spec, struct sw_logsrc *out, struct sw_buf *err);

/* "journal", "postlog", "syslog" */
const char *sw_logsrc_kind_name(enum sw_logsrc_kind kind);

/* True when any local user can add lines to the source. */
bool sw_logsrc_forgeable(const struct sw_logsrc *src);

/* A file (postlog) or journal directory or file that only a trusted user
 * may write: owner in owners[], no write bit for group or other.  False
 * with the reason in why. */
bool sw_logsrc_file_trusted(uid_t owner, mode_t mode, const uid_t *owners, size_t nowners,
                            struct sw_buf *why);

/* The trusted fields of one journal entry, as journald wrote them (NULL
 * when absent; values without the "NAME=" part). */
struct sw_journal_writer {
    const char *uid;  /* _UID */
    const char *comm; /* _COMM, the kernel's 15-byte process name */
    const char *unit; /* _SYSTEMD_UNIT */
};

enum sw_writer_verdict {
    SW_WRITER_MTA,    /* a trusted uid running an MTA program or in an MTA unit */
    SW_WRITER_UID,    /* no _UID, or one not in the trusted list */
    SW_WRITER_PROGRAM /* a trusted uid, but neither an MTA program nor an MTA unit */
};

/* Decide who wrote a journal entry: _UID in uids[], and _COMM one of the
 * MTA's delivery programs (Postfix: smtp lmtp local virtual pipe error
 * retry discard; Sendmail: sendmail sendmail-mta sm-mta) or _SYSTEMD_UNIT
 * postfix.service, postfix@*.service or sendmail.service.  Both parts are
 * needed: a user can name a copy of logger "smtp", and root's cron jobs
 * are no MTA either. */
enum sw_writer_verdict sw_logsrc_journal_writer(const struct sw_journal_writer *w,
                                                const uid_t *uids, size_t nuids);

/* "mta", "uid", "program" */
const char *sw_writer_verdict_name(enum sw_writer_verdict v);

/*
 * Is the source alive?  A source that is missing, that cannot be read, or
 * that has written no line for longer than a threshold gives no evidence,
 * and without evidence nothing is ever diverted: the daemon must say so.
 * struct sw_srcwatch is the pure state machine behind that warning, its
 * status line and its metrics; the caller looks at the source (stat,
 * read errors) and passes what it found and the time (CLOCK_MONOTONIC
 * seconds).  It answers when to log: once per change of state, then a
 * reminder at most every remind seconds while the state is bad.  A source
 * that goes missing or unreadable after it was fine is reported only when
 * that lasted SW_SRCWATCH_GRACE_S (a rotation by rename leaves the path
 * missing until the writer reopens it); the first look reports at once,
 * so the warning comes at start.  One owner per struct, no locks.
 */
enum sw_srcstate { SW_SRC_OK, SW_SRC_MISSING, SW_SRC_UNREADABLE, SW_SRC_SILENT };
#define SW_SRC_STATES       (SW_SRC_SILENT + 1)
#define SW_SRCWATCH_GRACE_S 10

struct sw_srcwatch {
    enum sw_srcstate state;   /* as last reported */
    enum sw_srcstate pending; /* what the last look found */
    bool looked;              /* sw_srcwatch_check ran once */
    time_t pending_since;     /* when pending began */
    time_t started;           /* when watching began */
    time_t reachable;         /* when the source was last found again (silence counts from here) */
    bool lined;               /* a line came */
    time_t last_line;         /* when the last one came */
    time_t reported;          /* when the state was last logged */
};

enum sw_srcwatch_say {
    SW_SRCWATCH_QUIET,   /* nothing to log */
    SW_SRCWATCH_CHANGED, /* the state changed: log it (warning, or info for ok) */
    SW_SRCWATCH_REMIND   /* still bad: log it again */
};

void sw_srcwatch_init(struct sw_srcwatch *w, time_t now);
/* A line (or journal entry) came. */
void sw_srcwatch_line(struct sw_srcwatch *w, time_t now);
/* access: what a look at the source found (SW_SRC_OK, _MISSING or
 * _UNREADABLE); silence: seconds without a line after which an accessible
 * source is silent (0: never); remind: seconds between reminders. */
enum sw_srcwatch_say sw_srcwatch_check(struct sw_srcwatch *w, enum sw_srcstate access,
                                       time_t now, time_t silence, time_t remind);
/* Seconds since the last line, or since watching began if none came. */
time_t sw_srcwatch_age(const struct sw_srcwatch *w, time_t now);
/* "ok", "missing", "unreadable", "silent" */
const char *sw_srcstate_name(enum sw_srcstate s);

#endif
