/* logtime.h - the time a mail log line carries, and whether it is recent enough */
#ifndef SW_LOGTIME_H
#define SW_LOGTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * Evidence is stamped with the time the MTA logged it, not the time
 * spillway-routed read it: a backlog read late must not look like a burst
 * of fresh rejections.  Two shapes at the start of a line:
 *
 *   "Dec  3 09:58:12 host ..."                  BSD syslog (RFC 3164), what
 *                                               postlogd and rsyslog's default
 *                                               write; local time, no year
 *                                               (the latest one that puts it
 *                                               at most a month ahead: read
 *                                               on 1 January, a 31 December
 *                                               line is last year's);
 *                                               ".123456" allowed
 *   "2026-12-03T09:58:12.123456+01:00 host ..." RFC 3339 (rsyslog's
 *                                               RSYSLOG_FileFormat, journalctl
 *                                               -o short-iso); "Z" or an offset
 *
 * A line stamped more than SW_LOGTIME_MAX_FUTURE seconds after now (a
 * forged or clock-broken line) or more than SW_LOGTIME_MAX_AGE before it
 * (a backlog: its delivery is old news, and the engine's windows would
 * count it as new) is not evidence.  Pure: now is an argument; only the
 * BSD form reads the local time zone (mktime).
 */
#define SW_LOGTIME_MAX_FUTURE 300  /* seconds: clock steps between hosts, no more */
#define SW_LOGTIME_MAX_AGE    3600 /* seconds: an hour of backlog at most */

enum sw_logtime_verdict {
    SW_LOGTIME_OK,
    SW_LOGTIME_NONE,   /* no timestamp at the start of the line */
    SW_LOGTIME_FUTURE, /* too far ahead of now */
    SW_LOGTIME_OLD     /* too far behind now */
};

/* The timestamp at the start of line (len bytes) in *t; false if none. */
bool sw_logtime_parse(const char *line, size_t len, time_t now, time_t *t);

/* Is a line stamped t, read at now, evidence? */
enum sw_logtime_verdict sw_logtime_check(time_t t, time_t now);

/* "ok", "undated", "future", "old" */
const char *sw_logtime_verdict_name(enum sw_logtime_verdict v);

#endif
