/* log.c - syslog and stderr logging */

/*
 * Owns the process's logging settings (set at start-up and at a reload,
 * from the loop's thread, before other threads log).  Lines go to syslog,
 * facility mail unless log_facility says otherwise, and with -e also to
 * stderr with the same "program[pid]: " prefix Postfix uses, so tests and
 * foreground runs see exactly what syslog would.  The stderr copy carries
 * its own timestamp, ISO 8601 with the zone offset (2026-12-03T17:15:00+01:00):
 * a line read on another host or after a DST change is not ambiguous.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static const char *log_ident = "spillway";
static bool log_stderr;
static bool log_verbose;
static int log_facility = LOG_MAIL;

static const struct {
    const char *name;
    int facility;
} facilities[] = {
    { "mail", LOG_MAIL },     { "daemon", LOG_DAEMON }, { "user", LOG_USER },
    { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
    { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
    { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* sw_log_facility_parse - a facility by name (the config's log_facility) */
bool
sw_log_facility_parse(const char *name, int *facility)
{
    size_t i;

    for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
        if (strcmp(facilities[i].name, name) == 0) {
            *facility = facilities[i].facility;
            return true;
        }
    return false;
}

/* sw_log_verbose - -v was given: debug lines are logged */
bool
sw_log_verbose(void)
{
    return log_verbose;
}

/* sw_log_facility_name - the name of a facility ("mail" when unknown) */
const char *
sw_log_facility_name(int facility)
{
    size_t i;

    for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
        if (facilities[i].facility == facility)
            return facilities[i].name;
    return "mail";
}

/* sw_log_set_facility - log there from now on (reopens syslog) */
void
sw_log_set_facility(int facility)
{
    if (facility == log_facility)
        return;
    log_facility = facility;
    closelog();
    openlog(log_ident, LOG_PID | LOG_NDELAY, log_facility);
}

/* sw_log_stamp - when as ISO 8601 with the zone offset, "+01:00" */
void
sw_log_stamp(time_t when, char *out, size_t size)
{
    struct tm tm;
    char base[32];
    long off, a;
    int n;

    if (size == 0)
        return;
    out[0] = '\0';
    if (localtime_r(&when, &tm) == NULL
        || strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return;
    off = tm.tm_gmtoff / 60;
    a = off < 0 ? -off : off;
    n = snprintf(out, size, "%s%c%02ld:%02ld", base, off < 0 ? '-' : '+', a / 60 % 100, a % 60);
    if (n < 0 || (size_t) n >= size)
        out[0] = '\0'; /* too small: no stamp rather than a cut one */
}

/* sw_log_open - choose where lines go */
void
sw_log_open(const char *ident, bool to_stderr, bool verbose)
{
    log_ident = ident;
    log_stderr = to_stderr;
    log_verbose = verbose;
    openlog(ident, LOG_PID | LOG_NDELAY, log_facility);
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
    char stamp[40];

    if (log_stderr) {
        va_copy(ap2, ap);
        sw_log_stamp(time(NULL), stamp, sizeof(stamp));
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
