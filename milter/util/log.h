/* log.h - syslog and stderr logging */
#ifndef SW_LOG_H
#define SW_LOG_H

#include <stdbool.h>

/*
 * Facility mail.  Levels mean: info for decisions, warning for recoverable
 * trouble, error for what affects mail, debug only with -v.  Callers escape
 * untrusted values before they reach a format (sw_buf_add_escaped).
 */
void sw_log_open(const char *ident, bool to_stderr, bool verbose);
void sw_log_close(void);
void sw_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sw_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sw_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up failure: log, print to stderr, exit(1). */
void sw_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
