/* routed_accept.c - accepting clients on a listener, within limits */

/*
 * Every stream listener of spillway-routed (socketmap, control) accepts
 * through here, so that no client, however many connections it opens,
 * can stop the loop or take another client's place:
 *
 * - Per peer: a uid (unix sockets by SO_PEERCRED, loopback TCP by the
 *   kernel's socket table, util/peercred.h), else the peer's address, may
 *   hold at most max_per_peer connections on this listener.  One more is
 *   accepted and closed at once, so it does not wait in the backlog.
 * - Out of descriptors (EMFILE, ENFILE): libevent would call us again at
 *   once, forever, at the lookups' priority.  A reserve descriptor is
 *   given up to accept and close the waiting connection, the listener
 *   pauses (100 ms, doubling to 2 s while it lasts) and resumes by itself.
 * - Warnings that clients cause are rate-limited (util/ratelimit.h): one
 *   line per cause per minute, with the count held back.
 *
 * Owns: the listener's event, its pause timer, the table of connections
 * per peer.  The process-wide reserve descriptor is shared by all
 * listeners (one loop thread).
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "util/ratelimit.h"
#include "routed_accept.h"

#define PAUSE_MIN_MS 100
#define PAUSE_MAX_MS 2000
#define WARN_EVERY   60 /* seconds between two lines of one cause */

struct peer_count {
    char key[72]; /* "uid:N" or "addr:ADDRESS" */
    size_t n;
};

struct routed_listener {
    struct event_base *base;
    struct event *ev, *pause;
    int fd;
    char name[32];
    size_t max_per_peer;
    routed_accept_fn cb;
    void *arg;
    struct peer_count *peers;
    size_t npeers, apeers;
    long pause_ms;
    unsigned long refused_over, refused_nofile;
    struct sw_ratelimit rl_over, rl_nofile, rl_other;
};

static int reserve = -1; /* /dev/null, given up when descriptors run out */

/* reserve_open - keep one descriptor in hand */
static void
reserve_open(void)
{
    if (reserve < 0)
        reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* peer_key - what a connection counts against */
static void
peer_key(const struct sw_peer *p, char *key, size_t size)
{
    if (p->uid_known)
        (void) snprintf(key, size, "uid:%ld", (long) p->uid);
    else
        (void) snprintf(key, size, "addr:%s", p->addr);
}

/* peer_find - the count of a key, added when new (NULL: out of memory) */
static struct peer_count *
peer_find(struct routed_listener *l, const char *key, bool add)
{
    struct peer_count *pc;
    size_t i;

    for (i = 0; i < l->npeers; i++)
        if (strcmp(l->peers[i].key, key) == 0)
            return &l->peers[i];
    if (!add)
        return NULL;
    if (l->npeers == l->apeers) {
        size_t na = l->apeers ? l->apeers * 2 : 8;

        if ((pc = realloc(l->peers, na * sizeof(*pc))) == NULL)
            return NULL;
        l->peers = pc;
        l->apeers = na;
    }
    pc = &l->peers[l->npeers++];
    (void) snprintf(pc->key, sizeof(pc->key), "%s", key);
    pc->n = 0;
    return pc;
}

/* warn_limited - one line per cause per interval */
static void
warn_limited(struct sw_ratelimit *rl, const char *what, const struct routed_listener *l,
             const char *detail)
{
    unsigned long held;

    if (sw_ratelimit_check(rl, &held))
        sw_warn("%s: %s: %s (%lu more since the last such line)", l->name, what, detail, held);
}

/* resume_cb - the pause is over: accept again */
static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_listener *l = arg;

    (void) fd;
    (void) what;
    (void) event_add(l->ev, NULL);
}

/* out_of_descriptors - refuse the waiting client and pause */
static void
out_of_descriptors(struct routed_listener *l, int err)
{
    struct timeval tv;
    char detail[160];
    int fd;

    if (reserve >= 0) {
        (void) close(reserve);
        reserve = -1;
        if ((fd = accept(l->fd, NULL, NULL)) >= 0)
            (void) close(fd);
        reserve_open();
    }
    l->refused_nofile++;
    l->pause_ms = l->pause_ms ? l->pause_ms * 2 : PAUSE_MIN_MS;
    if (l->pause_ms > PAUSE_MAX_MS)
        l->pause_ms = PAUSE_MAX_MS;
    (void) snprintf(detail, sizeof(detail), "%s: new connections paused for %ld ms",
                    strerror(err), l->pause_ms);
    warn_limited(&l->rl_nofile, "accept", l, detail);
    tv.tv_sec = l->pause_ms / 1000;
    tv.tv_usec = (l->pause_ms % 1000) * 1000;
    (void) event_del(l->ev);
    (void) evtimer_add(l->pause, &tv);
}

/* accept_cb - take every waiting client, within the limits */
static void
accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    struct routed_listener *l = arg;
    struct peer_count *pc;
    struct sw_peer peer;
    char key[72], detail[160];
    int fd, n;

    (void) what;
    /* Bounded: a flood of clients cannot keep this callback running. */
    for (n = 0; n < 64; n++) {
        if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
            if (errno == EMFILE || errno == ENFILE)
                out_of_descriptors(l, errno);
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
                     && errno != ECONNABORTED)
                warn_limited(&l->rl_other, "accept", l, strerror(errno));
            return;
        }
        l->pause_ms = 0;
        (void) sw_peer_get(fd, &peer);
        peer_key(&peer, key, sizeof(key));
        if ((pc = peer_find(l, key, true)) == NULL) {
            warn_limited(&l->rl_other, "accept", l, "out of memory: connection refused");
            (void) close(fd);
            continue;
        }
        if (pc->n >= l->max_per_peer) {
            l->refused_over++;
            (void) snprintf(detail, sizeof(detail), "%s has %zu connections (the most): refused",
                            key, pc->n);
            warn_limited(&l->rl_over, "limit", l, detail);
            (void) close(fd);
            continue;
        }
        pc->n++;
        l->cb(fd, &peer, l->arg);
    }
}

/* routed_listener_new - accept on fd (listening, non-blocking) */
struct routed_listener *
routed_listener_new(struct event_base *base, int fd, const char *name, int priority,
                    size_t max_per_peer, routed_accept_fn cb, void *arg)
{
    struct routed_listener *l = calloc(1, sizeof(*l));
    const struct sw_ratelimit rl = SW_RATELIMIT_INIT(WARN_EVERY);

    if (l == NULL)
        return NULL;
    l->base = base;
    l->fd = fd;
    (void) snprintf(l->name, sizeof(l->name), "%s", name);
    l->max_per_peer = max_per_peer ? max_per_peer : 1;
    l->cb = cb;
    l->arg = arg;
    l->rl_over = l->rl_nofile = l->rl_other = rl;
    reserve_open();
    if ((l->ev = event_new(base, fd, EV_READ | EV_PERSIST, accept_cb, l)) == NULL
        || (l->pause = evtimer_new(base, resume_cb, l)) == NULL
        || event_priority_set(l->ev, priority) != 0 || event_add(l->ev, NULL) < 0) {
        routed_listener_free(l);
        return NULL;
    }
    return l;
}

/* routed_listener_release - a connection of this peer was closed */
void
routed_listener_release(struct routed_listener *l, const struct sw_peer *peer)
{
    struct peer_count *pc;
    char key[72];

    if (l == NULL)
        return;
    peer_key(peer, key, sizeof(key));
    if ((pc = peer_find(l, key, false)) != NULL && pc->n > 0 && --pc->n == 0) {
        /* Forget idle peers: the table stays as small as the clients. */
        *pc = l->peers[--l->npeers];
    }
}

/* routed_listener_refused - connections refused over the limit, and for
 * want of descriptors */
void
routed_listener_refused(const struct routed_listener *l, unsigned long *over,
                        unsigned long *nofile)
{
    *over = l ? l->refused_over : 0;
    *nofile = l ? l->refused_nofile : 0;
}

/* routed_listener_free - stop accepting (the listening fd is the caller's) */
void
routed_listener_free(struct routed_listener *l)
{
    if (l == NULL)
        return;
    if (l->ev)
        event_free(l->ev);
    if (l->pause)
        event_free(l->pause);
    free(l->peers);
    free(l);
}
