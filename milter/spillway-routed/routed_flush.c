/* routed_flush.c - let deferred mail try the new route */

/*
 * After a switch the deferred mail would wait for its next retry (up to
 * Postfix's maximal_backoff_time).  routed.flush (an argv, run without a
 * shell, e.g. ["postqueue", "-f"]) asks the MTA to retry now, and again a
 * little after 30 s: each Postfix client keeps its last resolved address
 * for 30 s, so an early flush may still use the old route (MTA-FACTS.md).
 * The child is reaped with every other one on SIGCHLD.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "routed.h"

#define SW_FLUSH_FIRST_S  1
#define SW_FLUSH_SECOND_S 35
#define SW_FLUSH_PATH     "/usr/sbin:/usr/bin:/sbin:/bin"

/* run - fork and exec the flush command */
static void
run(struct routed *rd)
{
    const struct sw_strv *argv = &rd->conf->routed.flush;
    sigset_t none;
    pid_t pid;

    if (argv->n == 0)
        return;
    if ((pid = fork()) < 0) {
        sw_warn("flush: fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        (void) sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        if (strchr(argv->v[0], '/') == NULL)
            (void) setenv("PATH", SW_FLUSH_PATH, 1);
        execvp(argv->v[0], argv->v);
        _exit(127);
    }
    sw_debug("flush: started %s (pid %ld)", argv->v[0], (long) pid);
}

/* timer_cb - one scheduled flush */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    run(arg);
}

/* routed_flush_soon - now-ish, and after the resolve cache expired */
void
routed_flush_soon(struct routed *rd)
{
    static const int delay[2] = { SW_FLUSH_FIRST_S, SW_FLUSH_SECOND_S };
    struct timeval tv = { 0, 0 };
    int i;

    if (rd->conf->routed.flush.n == 0)
        return;
    for (i = 0; i < 2; i++) {
        if (rd->flush_timer[i] == NULL
            && (rd->flush_timer[i] = evtimer_new(rd->base, timer_cb, rd)) == NULL)
            continue;
        tv.tv_sec = delay[i];
        (void) evtimer_add(rd->flush_timer[i], &tv); /* a pending one moves later */
    }
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
