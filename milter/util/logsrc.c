/* logsrc.c - where mail log lines come from, and whether their writer is proven */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/logsrc.h"

/* Programs whose log lines are delivery outcomes: Postfix's delivery
 * agents (master.cf's command column) and Sendmail's daemon names.  The
 * kernel cuts _COMM to 15 bytes; none of these is that long. */
static const char *const mta_programs[] = { "smtp",     "lmtp",         "local",  "virtual",
                                            "pipe",     "error",        "retry",  "discard",
                                            "sendmail", "sendmail-mta", "sm-mta", NULL };

/* sw_logsrc_kind_name - the word of a kind */
const char *
sw_logsrc_kind_name(enum sw_logsrc_kind kind)
{
    switch (kind) {
    case SW_LOGSRC_JOURNAL: return "journal";
    case SW_LOGSRC_POSTLOG: return "postlog";
    case SW_LOGSRC_SYSLOG: return "syslog";
    }
    return "?";
}

/* set_path - copy an absolute path (or "-" when dash_ok) */
static bool
set_path(struct sw_logsrc *out, const char *kind, const char *p, bool dash_ok, struct sw_buf *err)
{
    size_t n = strlen(p);

    if (!(p[0] == '/' || (dash_ok && strcmp(p, "-") == 0))) {
        sw_buf_printf(err, "%s: needs an absolute path%s, not \"%s\"", kind,
                      dash_ok ? " or \"-\" (standard input)" : "", p);
        return false;
    }
    if (n >= sizeof(out->path)) {
        sw_buf_printf(err, "%s: path longer than %zu bytes", kind, sizeof(out->path) - 1);
        return false;
    }
    memcpy(out->path, p, n + 1);
    return true;
}

/* sw_logsrc_parse - a spec string into a source */
bool
sw_logsrc_parse(const char *spec, struct sw_logsrc *out, struct sw_buf *err)
{
    memset(out, 0, sizeof(*out));
    if (strcmp(spec, "journal") == 0) {
        out->kind = SW_LOGSRC_JOURNAL;
        return true;
    }
    if (strncmp(spec, "journal:", 8) == 0) {
        out->kind = SW_LOGSRC_JOURNAL;
        return set_path(out, "journal", spec + 8, false, err);
    }
    if (strncmp(spec, "postlog:", 8) == 0) {
        out->kind = SW_LOGSRC_POSTLOG;
        return set_path(out, "postlog", spec + 8, false, err);
    }
    if (strncmp(spec, "syslog:", 7) == 0) {
        out->kind = SW_LOGSRC_SYSLOG;
        return set_path(out, "syslog", spec + 7, true, err);
    }
    if (spec[0] == '/' || strcmp(spec, "-") == 0) {
        out->kind = SW_LOGSRC_SYSLOG;
        out->legacy = true;
        return set_path(out, "syslog", spec, true, err);
    }
    sw_buf_printf(err,
                  "unknown source \"%s\": write \"journal\", \"postlog:/path\" or "
                  "\"syslog:/path\"",
                  spec);
    return false;
}

/* sw_logsrc_forgeable - any local user can write it */
bool
sw_logsrc_forgeable(const struct sw_logsrc *src)
{
    return src->kind == SW_LOGSRC_SYSLOG;
}

/* sw_logsrc_file_trusted - only a trusted owner may write it */
bool
sw_logsrc_file_trusted(uid_t owner, mode_t mode, const uid_t *owners, size_t nowners,
                       struct sw_buf *why)
{
    size_t i;

    for (i = 0; i < nowners; i++)
        if (owners[i] == owner)
            break;
    if (i == nowners) {
        sw_buf_printf(why, "owned by uid %ld, which is not a trusted mail log writer",
                      (long) owner);
        return false;
    }
    if (mode & (S_IWGRP | S_IWOTH)) {
        sw_buf_printf(why, "writable by %s (mode %04o)",
                      (mode & S_IWOTH) ? "every user" : "its group", (unsigned) (mode & 07777));
        return false;
    }
    return true;
}

/* parse_uid - a decimal _UID value */
static bool
parse_uid(const char *s, uid_t *uid)
{
    char *end;
    unsigned long v;

    if (s == NULL || *s < '0' || *s > '9')
        return false;
    v = strtoul(s, &end, 10);
    if (*end != '\0' || v > (unsigned long) (uid_t) -1)
        return false;
    *uid = (uid_t) v;
    return true;
}

/* mta_unit - postfix.service, postfix@INSTANCE.service, sendmail.service */
static bool
mta_unit(const char *unit)
{
    size_t n;

    if (unit == NULL)
        return false;
    if (strcmp(unit, "postfix.service") == 0 || strcmp(unit, "sendmail.service") == 0)
        return true;
    n = strlen(unit);
    return strncmp(unit, "postfix@", 8) == 0 && n > 8 + 8 && strcmp(unit + n - 8, ".service") == 0;
}

/* sw_logsrc_journal_writer - is the MTA the writer of this entry? */
enum sw_writer_verdict
sw_logsrc_journal_writer(const struct sw_journal_writer *w, const uid_t *uids, size_t nuids)
{
    const char *const *p;
    uid_t uid;
    size_t i;

    if (!parse_uid(w->uid, &uid))
        return SW_WRITER_UID;
    for (i = 0; i < nuids; i++)
        if (uids[i] == uid)
            break;
    if (i == nuids)
        return SW_WRITER_UID;
    if (mta_unit(w->unit))
        return SW_WRITER_MTA;
    for (p = mta_programs; w->comm && *p; p++)
        if (strcmp(w->comm, *p) == 0)
            return SW_WRITER_MTA;
    return SW_WRITER_PROGRAM;
}

/* sw_writer_verdict_name - for logs and counters */
const char *
sw_writer_verdict_name(enum sw_writer_verdict v)
{
    switch (v) {
    case SW_WRITER_MTA: return "mta";
    case SW_WRITER_UID: return "uid";
    case SW_WRITER_PROGRAM: return "program";
    }
    return "?";
}

/* sw_srcstate_name - the word of a source state */
const char *
sw_srcstate_name(enum sw_srcstate s)
{
    switch (s) {
    case SW_SRC_OK: return "ok";
    case SW_SRC_MISSING: return "missing";
    case SW_SRC_UNREADABLE: return "unreadable";
    case SW_SRC_SILENT: return "silent";
    }
    return "?";
}

/* sw_srcwatch_init - start watching at now */
void
sw_srcwatch_init(struct sw_srcwatch *w, time_t now)
{
    memset(w, 0, sizeof(*w));
    w->state = w->pending = SW_SRC_OK;
    w->started = w->reachable = w->pending_since = w->reported = now;
}

/* sw_srcwatch_line - a line came */
void
sw_srcwatch_line(struct sw_srcwatch *w, time_t now)
{
    w->lined = true;
    w->last_line = now;
}

/* sw_srcwatch_age - seconds without a line */
time_t
sw_srcwatch_age(const struct sw_srcwatch *w, time_t now)
{
    time_t from = w->lined ? w->last_line : w->started;

    return now > from ? now - from : 0;
}

/* sw_srcwatch_check - the state now, and whether to log it */
enum sw_srcwatch_say
sw_srcwatch_check(struct sw_srcwatch *w, enum sw_srcstate access, time_t now, time_t silence,
                  time_t remind)
{
    enum sw_srcstate found = access;
    bool first = !w->looked;
    time_t quiet_from;

    w->looked = true;
    /* A file that appears again has had no chance to be written yet:
     * silence counts from then, or from the last line if later. */
    if (access == SW_SRC_OK && (w->pending == SW_SRC_MISSING || w->pending == SW_SRC_UNREADABLE))
        w->reachable = now;
    quiet_from = w->lined && w->last_line > w->reachable ? w->last_line : w->reachable;
    if (found == SW_SRC_OK && silence > 0 && now - quiet_from > silence)
        found = SW_SRC_SILENT;
    if (found != w->pending) {
        w->pending = found;
        w->pending_since = now;
    }
    if (found != w->state) {
        /* Silence was measured already, and a source that works again
         * is news at once; missing or unreadable must last the grace. */
        if (!first && w->state == SW_SRC_OK
            && (found == SW_SRC_MISSING || found == SW_SRC_UNREADABLE)
            && now - w->pending_since < SW_SRCWATCH_GRACE_S)
            return SW_SRCWATCH_QUIET;
        w->state = found;
        w->reported = now;
        return SW_SRCWATCH_CHANGED;
    }
    if (w->state != SW_SRC_OK && remind > 0 && now - w->reported >= remind) {
        w->reported = now;
        return SW_SRCWATCH_REMIND;
    }
    return SW_SRCWATCH_QUIET;
}
