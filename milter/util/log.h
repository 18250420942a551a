/* log.h - syslog and stderr logging */
#ifndef SW_LOG_H
#define SW_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * Facility mail.  Levels mean: info for decisions, warning for recoverable
 * trouble, error for what affects mail, debug only with -v.  Callers escape
 * untrusted values before they reach a format (sw_buf_add_escaped).
 */
void sw_log_open(const char *ident, bool to_stderr, bool verbose);
void sw_log_close(void);
/* log_facility: "mail" (the default), "daemon", "user", "local0".."local7";
 * false for another name. */
bool sw_log_facility_parse(const char *name, int *facility);
void sw_log_set_facility(int facility);
const char *sw_log_facility_name(int facility);
bool sw_log_verbose(void);
/* when as "2026-12-03T17:15:00+01:00" (size at least 26; the stderr copy's
 * stamp and the one status prints). */
void sw_log_stamp(time_t when, char *out, size_t size);
void sw_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sw_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sw_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up failure: log, print to stderr, exit(1). */
void sw_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
