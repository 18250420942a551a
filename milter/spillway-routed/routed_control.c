/* routed_control.c - the operator's control socket */

/*
 * A unix stream socket; one request line per connection, one reply, then
 * close (ctl.h).  Access is decided by the kernel's word on who the peer
 * is (SO_PEERCRED), against the uids and gids resolved from
 * routed.control_users and routed.control_groups at load time, so a
 * lookup in the user database never blocks the loop.  A refused peer gets
 * an error line naming its uid, and the refusal is logged (at most one
 * line a minute, with the count held back).  A connection must deliver its
 * request within SW_CONTROL_TIMEOUT of being accepted, however slowly it
 * trickles, and one user holds at most SW_CONTROL_PER_USER connections
 * (routed_accept.c), so nobody can keep the socket busy.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "global/ctl.h"
#include "util/listen.h"
#include "util/log.h"
#include "util/ratelimit.h"
#include "routed.h"
#include "routed_accept.h"

#define SW_CONTROL_TIMEOUT  10 /* seconds from accept to a complete request */
#define SW_CONTROL_PER_USER 8  /* connections one user may hold */

struct ctl_conn;

struct routed_control {
    struct routed *rd;
    struct ctl_conn *conns; /* every open client, freed at stop */
    int fd;
    struct routed_listener *acc;
    struct sw_ratelimit rl_refused;
};

struct ctl_conn {
    struct routed *rd;
    struct routed_control *ctl;
    struct ctl_conn *prev, *next; /* ctl->conns */
    struct sw_peer peer;
    time_t deadline; /* monotonic: the request is complete by then */
    int fd;
    struct event *ev;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    char in[SW_CTL_MAX_REQUEST + 2];
    size_t inlen;
    struct sw_buf out;
    size_t outoff;
    bool replying;
    bool authorised;
};

/* conn_close - release one client */
static void
conn_close(struct ctl_conn *c)
{
    routed_listener_release(c->ctl->acc, &c->peer);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->ctl->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    event_free(c->ev);
    (void) close(c->fd);
    sw_buf_free(&c->out);
    free(c);
}

/* allowed - is the peer an authorised operator? */
static bool
allowed(const struct routed *rd, uid_t uid, gid_t gid)
{
    size_t i;

    for (i = 0; i < rd->nallowed_uids; i++)
        if (rd->allowed_uids[i] == uid)
            return true;
    for (i = 0; i < rd->nallowed_gids; i++)
        if (rd->allowed_gids[i] == gid)
            return true;
    return false;
}

/* serve - one complete request line */
static void
serve(struct ctl_conn *c, const char *line, size_t len)
{
    static struct sw_ctl_request req; /* large (kv storage); loop thread only */
    struct sw_buf err;
    unsigned long held;

    sw_buf_init(&err, 1024);
    if (!c->authorised) {
        /* The request is read first: closing a unix socket with unread
         * data would reset it before the client reads why. */
        if (sw_ratelimit_check(&c->ctl->rl_refused, &held))
            sw_warn("control: refused uid=%ld gid=%ld pid=%ld: not in "
                    "routed.control_users or routed.control_groups (%lu more refused since the "
                    "last such line)",
                    (long) c->uid, (long) c->gid, (long) c->pid, held);
        sw_buf_printf(&c->out,
                      "error: permission denied: uid %ld is not an "
                      "authorised operator (routed.control_users)\n",
                      (long) c->uid);
    } else if (!sw_ctl_parse(&req, line, len, &err))
        sw_buf_printf(&c->out, "error: %s\n",
                      err.len ? sw_buf_str(&err) : "malformed request (no reason recorded)");
    else
        routed_verb(c->rd, &req, c->uid, &c->out);
    sw_buf_free(&err);
    c->replying = true;
}

/* conn_cb - read the request, then write the reply */
static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ctl_conn *c = arg;
    struct timeval tv = { SW_CONTROL_TIMEOUT, 0 };
    char *nl;
    ssize_t n;

    /* The event's timeout restarts with every byte a client trickles:
     * the deadline from accept is what counts. */
    if ((what & EV_TIMEOUT) || (!c->replying && sw_ratelimit_now() >= c->deadline)) {
        sw_debug("control: uid=%ld pid=%ld sent no complete request in %ds: closing",
                 (long) c->uid, (long) c->pid, SW_CONTROL_TIMEOUT);
        conn_close(c);
        return;
    }
    if (!c->replying) {
        n = recv(fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(c);
            return;
        }
        if (n > 0)
            c->inlen += (size_t) n;
        if ((nl = memchr(c->in, '\n', c->inlen)) != NULL) {
            serve(c, c->in, (size_t) (nl - c->in));
        } else if (c->inlen == sizeof(c->in)) {
            sw_buf_adds(&c->out, "error: request too long\n");
            c->replying = true;
        } else {
            return;
        }
        (void) event_del(c->ev);
        (void) event_assign(c->ev, c->rd->base, c->fd, EV_WRITE | EV_PERSIST, conn_cb, c);
        (void) event_add(c->ev, &tv);
        return;
    }
    while (c->outoff < c->out.len) {
        n = send(fd, c->out.data + c->outoff, c->out.len - c->outoff, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0)
            break;
        c->outoff += (size_t) n;
    }
    conn_close(c);
}

/* accepted - one operator connection (routed_accept.c checked its limits) */
static void
accepted(int fd, const struct sw_peer *peer, void *arg)
{
    struct routed_control *ctl = arg;
    struct routed *rd = ctl->rd;
    struct timeval tv = { SW_CONTROL_TIMEOUT, 0 };
    struct ctl_conn *c;

    if (!peer->uid_known || (c = calloc(1, sizeof(*c))) == NULL) {
        if (!peer->uid_known)
            sw_warn("control: SO_PEERCRED failed: refusing");
        (void) close(fd);
        routed_listener_release(ctl->acc, peer);
        return;
    }
    c->rd = rd;
    c->ctl = ctl;
    c->peer = *peer;
    c->fd = fd;
    c->uid = peer->uid;
    c->gid = peer->gid;
    c->pid = peer->pid;
    c->deadline = sw_ratelimit_now() + SW_CONTROL_TIMEOUT;
    sw_buf_init(&c->out, SW_CTL_MAX_REPLY);
    c->authorised = allowed(rd, peer->uid, peer->gid);
    c->ev = event_new(rd->base, fd, EV_READ | EV_PERSIST, conn_cb, c);
    if (c->ev == NULL) {
        sw_buf_free(&c->out);
        free(c);
        (void) close(fd);
        routed_listener_release(ctl->acc, peer);
        return;
    }
    c->next = ctl->conns;
    if (c->next)
        c->next->prev = c;
    ctl->conns = c;
    (void) event_add(c->ev, &tv);
}

/* routed_control_start - bind the control socket */
struct routed_control *
routed_control_start(struct routed *rd, struct sw_buf *err)
{
    struct routed_control *ctl = calloc(1, sizeof(*ctl));
    struct sw_endpoint ep;
    struct sw_buf spec;

    if (ctl == NULL) {
        sw_buf_adds(err, "out of memory");
        return NULL;
    }
    ctl->rd = rd;
    sw_buf_init(&spec, 4096);
    sw_buf_printf(&spec, "unix:%s", rd->conf->routed.control);
    /* Anyone may connect; SO_PEERCRED decides, and says why not. */
    if (!sw_endpoint_parse(sw_buf_str(&spec), &ep, err)
        || (ctl->fd = sw_endpoint_listen(&ep, 16, 0666, err)) < 0) {
        sw_buf_printf(err, " (control socket %s)", rd->conf->routed.control);
        sw_buf_free(&spec);
        free(ctl);
        return NULL;
    }
    sw_buf_free(&spec);
    ctl->rl_refused = (struct sw_ratelimit) SW_RATELIMIT_INIT(60);
    ctl->acc = routed_listener_new(rd->base, ctl->fd, "control", ROUTED_PRIO_OTHER,
                                   SW_CONTROL_PER_USER, accepted, ctl);
    if (ctl->acc == NULL) {
        sw_buf_adds(err, "cannot add the control socket to the event loop");
        (void) close(ctl->fd);
        free(ctl);
        return NULL;
    }
    return ctl;
}

/* routed_control_stop - close and remove the socket */
void
routed_control_stop(struct routed_control *ctl)
{
    if (ctl == NULL)
        return;
    while (ctl->conns)
        conn_close(ctl->conns);
    routed_listener_free(ctl->acc);
    (void) close(ctl->fd);
    (void) unlink(ctl->rd->conf->routed.control);
    free(ctl);
}
