/* routed_flush.c - let deferred mail try the new route */

/*
 * After a switch the deferred mail would wait for its next retry (up to
 * Postfix's maximal_backoff_time).  routed.flush (an argv, run without a
 * shell, e.g. ["postqueue", "-f"]) asks the MTA to retry now, and again a
 * little after 30 s: each Postfix client keeps its last resolved address
 * for 30 s, so an early flush may still use the old route (MTA-FACTS.md).
 * The child is reaped with every other one on SIGCHLD.
 *
 * routed.flush_etrn instead sends "ETRN #mqueue" to the MTA's SMTP
 * listener from the child (util/etrn.h): Sendmail then runs its queue as
 * root, which spillway-routed's user cannot do with "sendmail -q".
 *
 * Decisions that keep coming must not put the flushes off for ever (each
 * used to move both timers later): the first flush runs
 * SW_FLUSH_FIRST_S after the first decision that asked for it, and the
 * second SW_FLUSH_SECOND_S after the latest one but never more than
 * SW_FLUSH_SECOND_MAX_S after the oldest one it has not served
 * (util/deadline.h, on CLOCK_MONOTONIC seconds).
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/etrn.h"
#include "util/listen.h"
#include "util/log.h"
#include "routed.h"

#define SW_FLUSH_FIRST_S      1
#define SW_FLUSH_SECOND_S     35 /* after Postfix's 30 s resolve cache */
#define SW_FLUSH_SECOND_MAX_S 90
#define SW_FLUSH_PATH         "/usr/sbin:/usr/bin:/sbin:/bin"
/* ETRN: Sendmail's default queue group is "mqueue" (whatever the
 * directory); a run of it is "sendmail -q" done by the daemon itself,
 * which an unprivileged user cannot start otherwise (doc/sendmail-facts.md). */
#define SW_FLUSH_ETRN_QUEUE     "#mqueue"
#define SW_FLUSH_ETRN_TIMEOUT_S 30

/* When each flush runs: delay after the latest request, never later than
 * bound after the oldest unserved one; a run serves the requests at least
 * settle old. */
static const struct {
    time_t delay, bound, settle;
} plan[2] = {
    { SW_FLUSH_FIRST_S, SW_FLUSH_FIRST_S, 0 },
    { SW_FLUSH_SECOND_S, SW_FLUSH_SECOND_MAX_S, SW_FLUSH_SECOND_S },
};

/* mono_now - seconds of CLOCK_MONOTONIC */
static time_t
mono_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return ts.tv_sec;
}

/* etrn - the child's ETRN (routed.flush_etrn): exit 0 when the server
 * took it; the reason of a failure is logged unless flushing already
 * failed (the parent logs when it works again) */
static void
etrn(const char *spec, bool failing)
{
    struct sw_endpoint ep;
    struct sw_buf why;
    char helo[256];

    sw_buf_init(&why, 1024);
    (void) alarm(SW_FLUSH_ETRN_TIMEOUT_S); /* the whole exchange: SIGALRM ends the child */
    if (gethostname(helo, sizeof(helo)) != 0 || helo[0] == '\0' || strpbrk(helo, " \r\n"))
        (void) snprintf(helo, sizeof(helo), "localhost");
    helo[sizeof(helo) - 1] = '\0';
    if (sw_endpoint_parse(spec, &ep, &why) && sw_etrn(&ep, helo, SW_FLUSH_ETRN_QUEUE, &why))
        _exit(0);
    if (!failing)
        sw_warn("flush: etrn=%s queue=%s: %s", spec, SW_FLUSH_ETRN_QUEUE, sw_buf_str(&why));
    _exit(1);
}

/* run - fork and exec the flush command, or ETRN */
static void
run(struct routed *rd)
{
    const struct sw_strv *argv = &rd->conf->routed.flush;
    const char *spec = rd->conf->routed.flush_etrn;
    sigset_t none;
    pid_t pid;

    if (argv->n == 0 && spec == NULL)
        return;
    if ((pid = fork()) < 0) {
        sw_warn("flush: fork: %s", strerror(errno));
        rd->stats.flushes_failed++;
        return;
    }
    if (pid == 0) {
        (void) sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) signal(SIGALRM, SIG_DFL);
        if (spec)
            etrn(spec, rd->flush_failing || rd->flush_quiet);
        if (strchr(argv->v[0], '/') == NULL)
            (void) setenv("PATH", SW_FLUSH_PATH, 1);
        execvp(argv->v[0], argv->v);
        _exit(127);
    }
    rd->flush_child = pid;
    rd->flush_child_quiet = rd->flush_quiet;
    rd->flush_quiet = false; /* only the first run after start */
    sw_debug("flush: started %s (pid %ld)", spec ? "ETRN" : argv->v[0], (long) pid);
}

/* routed_flush_child_exited - the flush command's outcome: a failure is
 * logged when flushing starts to fail, and when it works again */
bool
routed_flush_child_exited(struct routed *rd, pid_t pid, int status)
{
    const char *cmd = rd->conf->routed.flush_etrn ? rd->conf->routed.flush_etrn
                      : rd->conf->routed.flush.n ? rd->conf->routed.flush.v[0]
                                                 : "-";
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

    if (pid != rd->flush_child)
        return false;
    rd->flush_child = 0;
    ok ? rd->stats.flushes++ : rd->stats.flushes_failed++;
    if (!ok && rd->flush_child_quiet) {
        /* At boot the MTA starts after spillway-routed: the run 35 s
         * after start is the one that counts. */
        sw_info("flush: command=%s %s=%d at start (the MTA may not be up yet): again in %d s",
                cmd, WIFEXITED(status) ? "exit" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), SW_FLUSH_SECOND_S);
        return true;
    }
    if (!ok && !rd->flush_failing)
        sw_warn("flush: command=%s %s=%d: queued mail waits for the MTA's own retry; "
                "check routed.%s",
                cmd, WIFEXITED(status) ? "exit" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                rd->conf->routed.flush_etrn ? "flush_etrn" : "flush (run it as the daemon's user)");
    else if (ok && rd->flush_failing)
        sw_info("flush: command=%s works again", cmd);
    rd->flush_failing = !ok;
    return true;
}

/* arm - set timer i for its flush's due time */
static void
arm(struct routed *rd, int i, time_t now)
{
    struct timeval tv = { 0, 0 };
    time_t due = sw_deadline_due(&rd->flush_due[i], plan[i].delay, plan[i].bound);

    tv.tv_sec = due > now ? due - now : 0;
    (void) evtimer_add(rd->flush_timer[i], &tv);
}

/* fire - flush i is due: run it, and arm it again for what it did not serve */
static void
fire(struct routed *rd, int i)
{
    time_t now = mono_now();

    run(rd);
    sw_deadline_ran(&rd->flush_due[i], now, plan[i].settle);
    if (rd->flush_due[i].pending)
        arm(rd, i, now);
}

/* first_cb - the flush soon after a switch */
static void
first_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    fire(arg, 0);
}

/* second_cb - the flush after the resolve cache expired */
static void
second_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    fire(arg, 1);
}

/* routed_flush_soon - now-ish, and after the resolve cache expired */
void
routed_flush_soon(struct routed *rd)
{
    static void (*const cb[2])(evutil_socket_t, short, void *) = { first_cb, second_cb };
    time_t now = mono_now();
    int i;

    if (rd->conf->routed.flush.n == 0 && rd->conf->routed.flush_etrn == NULL)
        return;
    for (i = 0; i < 2; i++) {
        if (rd->flush_timer[i] == NULL
            && (rd->flush_timer[i] = evtimer_new(rd->base, cb[i], rd)) == NULL)
            continue;
        sw_deadline_request(&rd->flush_due[i], now);
        arm(rd, i, now);
    }
}

/* routed_flush_at_start - both flushes, the first one allowed to fail
 * quietly: mail the MTA deferred while spillway-routed was down tries
 * again */
void
routed_flush_at_start(struct routed *rd)
{
    rd->flush_quiet = true;
    routed_flush_soon(rd);
}

/* routed_flush_free - release the timers */
void
routed_flush_free(struct routed *rd)
{
    int i;

    for (i = 0; i < 2; i++)
        if (rd->flush_timer[i])
            event_free(rd->flush_timer[i]);
}
