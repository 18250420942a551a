/* log.c - syslog and stderr logging */

/*
 * Owns the process's logging settings (set once at start-up, read by every
 * thread afterwards).  Lines go to syslog, facility mail, and with -f also
 * to stderr with the same "program[pid]: " prefix Postfix uses, so tests
 * and foreground runs see exactly what syslog would.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static const char *log_ident = "spillway";
static bool log_stderr;
static bool log_verbose;

/* sw_log_open - choose where lines go */
void
sw_log_open(const char *ident, bool to_stderr, bool verbose)
{
    log_ident = ident;
    log_stderr = to_stderr;
    log_verbose = verbose;
    openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* sw_log_close - close syslog */
void
sw_log_close(void)
{
    closelog();
}

/* vlog - one line at a level */
static void __attribute__((format(printf, 3, 0)))
vlog(int pri, const char *level, const char *fmt, va_list ap)
{
    va_list ap2;
    char stamp[32];
    struct tm tm;
    time_t now;

    if (log_stderr) {
        va_copy(ap2, ap);
        now = time(NULL);
        (void) strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
        (void) fprintf(stderr, "%s %s[%ld]: %s", stamp, log_ident, (long) getpid(), level);
        (void) vfprintf(stderr, fmt, ap2);
        (void) fputc('\n', stderr);
        (void) fflush(stderr);
        va_end(ap2);
    }
    vsyslog(pri, fmt, ap);
}

#define SW_LOG_FN(name, pri, level, guard) \
    void name(const char *fmt, ...)        \
    {                                      \
        va_list ap;                        \
        if (guard)                         \
            return;                        \
        va_start(ap, fmt);                 \
        vlog(pri, level, fmt, ap);         \
        va_end(ap);                        \
    }

SW_LOG_FN(sw_info, LOG_INFO, "", 0)
SW_LOG_FN(sw_warn, LOG_WARNING, "warning: ", 0)
SW_LOG_FN(sw_error, LOG_ERR, "error: ", 0)
SW_LOG_FN(sw_debug, LOG_DEBUG, "debug: ", !log_verbose)

/* sw_fatal - start-up failure */
void
sw_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (!log_stderr) {
        va_list ap2;

        va_copy(ap2, ap);
        (void) fprintf(stderr, "%s: fatal: ", log_ident);
        (void) vfprintf(stderr, fmt, ap2);
        (void) fputc('\n', stderr);
        va_end(ap2);
    }
    vlog(LOG_CRIT, "fatal: ", fmt, ap);
    va_end(ap);
    exit(1);
}
