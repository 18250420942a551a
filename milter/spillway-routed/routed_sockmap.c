/* routed_sockmap.c - socketmap listeners and connections */

/*
 * Non-blocking I/O on the event loop; each request is answered from memory
 * (sockmap.c) the moment its netstring is complete, pipelined requests in
 * order.  A malformed or oversized netstring closes that connection only.
 * Postfix closes idle connections after 10 s; we drop ours after
 * SW_SOCKMAP_IDLE so an abandoned client cannot hold descriptors forever,
 * and a request that has begun must be complete within
 * SW_SOCKMAP_REQUEST_TIME (Postfix writes a request at once; a client
 * that trickles bytes is closed).  Accepting, the per-user connection
 * limit (routed.clients_per_user) and running out of descriptors are
 * routed_accept.c's.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/listen.h"
#include "util/log.h"
#include "util/netstring.h"
#include "util/ratelimit.h"
#include "routed.h"
#include "routed_accept.h"
#include "global/sockmap.h"

#define SW_SOCKMAP_IDLE    300 /* seconds */
#define SW_SOCKMAP_REQUEST_TIME 10 /* seconds from a request's first byte to its end */
#define SW_SOCKMAP_INBUF   (SW_SOCKMAP_MAX_REQUEST + 16)
#define SW_SOCKMAP_MAX_OUT (1024u * 1024u) /* unread replies per client */
#define SW_SOCKMAP_BACKLOG 128

struct sm_conn;

struct sm_listener {
    struct routed *rd;
    struct routed_sockmap *sm;
    int fd;
    struct routed_listener *acc;
    char spec[SW_LISTEN_PATH_MAX + 16];
};

struct routed_sockmap {
    struct routed *rd;
    struct sm_listener *l;
    size_t nl;
    struct sm_conn *conns; /* every open client, freed at stop */
};

struct sm_conn {
    struct routed *rd;
    struct routed_sockmap *sm;
    struct sm_conn *prev, *next; /* sm->conns */
    struct routed_listener *from;
    struct sw_peer peer;
    int fd;
    struct event *ev;
    char in[SW_SOCKMAP_INBUF];
    size_t inlen;
    struct sw_buf out;
    size_t outoff;
    struct sw_buf reply; /* scratch: one reply payload */
    short want;          /* EV_READ or EV_WRITE, as registered */
    bool partial;        /* a request has begun: its deadline is armed */
    time_t deadline;     /* monotonic: when a begun request must be complete */
};

/* conn_close - release one client */
static void
conn_close(struct sm_conn *c)
{
    routed_listener_release(c->from, &c->peer);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->sm->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    event_free(c->ev);
    (void) close(c->fd);
    sw_buf_free(&c->out);
    sw_buf_free(&c->reply);
    free(c);
}

/* count - statistics per result */
static void
count(struct routed_stats *st, enum sw_sockmap_result res)
{
    st->lookups++;
    if (res == SW_SOCKMAP_FOUND)
        st->found++;
    else if (res == SW_SOCKMAP_NOTFOUND)
        st->notfound++;
    else
        st->malformed++;
}

/* Warnings that clients cause: one line a minute per cause (one loop thread). */
static struct sw_ratelimit bad_requests = SW_RATELIMIT_INIT(60);
static struct sw_ratelimit unread_replies = SW_RATELIMIT_INIT(60);

/* handle_input - answer every complete request in the buffer */
static bool
handle_input(struct sm_conn *c)
{
    unsigned long held;
    struct sw_policy p = routed_policy(c->rd);
    enum sw_sockmap_result res;
    size_t off = 0, poff, plen, used;
    enum sw_ns_status st;

    for (;;) {
        st = sw_ns_decode(c->in + off, c->inlen - off, SW_SOCKMAP_MAX_REQUEST, &poff, &plen, &used);
        if (st == SW_NS_MORE)
            break;
        if (st != SW_NS_OK) {
            if (sw_ratelimit_check(&bad_requests, &held))
                sw_warn("socketmap: %s request from %s: closing the connection (%lu more "
                        "since the last such line)",
                        st == SW_NS_TOOBIG ? "oversized" : "malformed", c->peer.addr, held);
            c->rd->stats.malformed++;
            return false;
        }
        res = sw_sockmap_rp_answer(&c->rd->conf->milter.rp, &c->rd->rp_keys, c->in + off + poff,
                                   plen, time(NULL), &c->reply);
        if (res == SW_SOCKMAP_BADMAP)
            res = sw_sockmap_answer(&p, c->rd->route, c->in + off + poff, plen, &c->reply);
        else if (c->rd->rp_keys.n == 0 && !c->rd->rp_keys_warned
                 && sw_rpath_on(&c->rd->conf->milter.rp)) {
            sw_warn("return-path: an rp-sender lookup, but no tag key could be read from %s: "
                    "senders leave unrewritten",
                    c->rd->conf->milter.tag_keys ? c->rd->conf->milter.tag_keys : "(none)");
            c->rd->rp_keys_warned = true;
        }
        count(&c->rd->stats, res);
        if (res == SW_SOCKMAP_BADMAP || res == SW_SOCKMAP_MALFORMED)
            sw_debug("socketmap: %s request answered NOTFOUND",
                     res == SW_SOCKMAP_BADMAP ? "unknown map in" : "malformed");
        if (!sw_ns_encode(&c->out, c->reply.data, c->reply.len)) {
            if (sw_ratelimit_check(&unread_replies, &held))
                sw_warn("socketmap: client %s does not read its replies: closing (%lu more "
                        "since the last such line)",
                        c->peer.addr, held);
            return false;
        }
        off += used;
    }
    if (off) {
        memmove(c->in, c->in + off, c->inlen - off);
        c->inlen -= off;
    }
    return true;
}

/* flush_out - write what we can; true if the connection lives on */
static bool
flush_out(struct sm_conn *c)
{
    ssize_t w;

    while (c->outoff < c->out.len) {
        w = send(c->fd, c->out.data + c->outoff, c->out.len - c->outoff, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            return false;
        }
        c->outoff += (size_t) w;
    }
    sw_buf_reset(&c->out);
    c->outoff = 0;
    return true;
}

/* conn_cb - readable, writable or idle */
static void
conn_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sm_conn *c = arg;
    struct timeval idle = { SW_SOCKMAP_IDLE, 0 };
    struct timeval request = { SW_SOCKMAP_REQUEST_TIME, 0 };
    ssize_t n;
    short want;

    if (what & EV_TIMEOUT) {
        if (c->partial)
            sw_debug("socketmap: %s: request incomplete after %ds: closing", c->peer.addr,
                     SW_SOCKMAP_REQUEST_TIME);
        conn_close(c);
        return;
    }
    if (what & EV_READ) {
        n = recv(fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(c);
            return;
        }
        if (n > 0) {
            c->inlen += (size_t) n;
            if (!handle_input(c)) {
                conn_close(c);
                return;
            }
            /* A trickling client renews the event's timeout with every
             * byte: the deadline is checked here as well. */
            if (c->partial && c->inlen > 0 && sw_ratelimit_now() >= c->deadline) {
                sw_debug("socketmap: %s: request incomplete after %ds: closing", c->peer.addr,
                         SW_SOCKMAP_REQUEST_TIME);
                conn_close(c);
                return;
            }
        }
    }
    if (!flush_out(c)) {
        conn_close(c);
        return;
    }
    /* Wait for writability only while replies are queued; stop reading
     * while the client is not reading its answers.  Re-registering costs
     * system calls, so only when the direction changes (a persistent
     * event's idle timeout restarts by itself each time it fires).  While
     * a request is incomplete the timeout is the request's deadline,
     * counted from its first byte: it is set once, not renewed. */
    want = c->out.len > c->outoff ? EV_WRITE : EV_READ;
    if (want != c->want) {
        c->want = want;
        (void) event_del(c->ev);
        (void) event_assign(c->ev, c->rd->base, c->fd, want | EV_PERSIST, conn_cb, c);
        (void) event_add(c->ev, c->partial ? &request : &idle);
    }
    if ((c->inlen > 0) != c->partial) {
        c->partial = c->inlen > 0;
        c->deadline = sw_ratelimit_now() + SW_SOCKMAP_REQUEST_TIME;
        (void) event_add(c->ev, c->partial ? &request : &idle);
    }
}

/* accepted - a new client (routed_accept.c checked its limits) */
static void
accepted(int fd, const struct sw_peer *peer, void *arg)
{
    struct sm_listener *sl = arg;
    struct routed *rd = sl->rd;
    struct timeval idle = { SW_SOCKMAP_IDLE, 0 };
    struct sm_conn *c;

    if ((c = calloc(1, sizeof(*c))) == NULL
        || (c->ev = event_new(rd->base, fd, EV_READ | EV_PERSIST, conn_cb, c)) == NULL) {
        sw_warn("socketmap: out of memory: refusing a connection");
        free(c);
        (void) close(fd);
        routed_listener_release(sl->acc, peer);
        return;
    }
    (void) event_priority_set(c->ev, ROUTED_PRIO_LOOKUP);
    c->rd = rd;
    c->from = sl->acc;
    c->sm = sl->sm;
    c->next = sl->sm->conns;
    if (c->next)
        c->next->prev = c;
    sl->sm->conns = c;
    c->peer = *peer;
    c->fd = fd;
    c->want = EV_READ;
    sw_buf_init(&c->out, SW_SOCKMAP_MAX_OUT);
    sw_buf_init(&c->reply, 4096);
    (void) event_add(c->ev, &idle);
    rd->stats.connections++;
}

/* routed_sockmap_start - bind every configured endpoint */
struct routed_sockmap *
routed_sockmap_start(struct routed *rd, struct sw_buf *err)
{
    const struct sw_strv *specs = &rd->conf->routed.socketmap;
    struct routed_sockmap *sm = calloc(1, sizeof(*sm));
    struct sw_endpoint ep;
    size_t i;

    if (sm == NULL || (sm->l = calloc(specs->n, sizeof(*sm->l))) == NULL) {
        free(sm);
        sw_buf_adds(err, "out of memory");
        return NULL;
    }
    sm->rd = rd;
    sm->nl = specs->n;
    for (i = 0; i < sm->nl; i++)
        sm->l[i].fd = -1;
    for (i = 0; i < specs->n; i++) {
        if (!sw_endpoint_parse(specs->v[i], &ep, err))
            goto fail;
        /* Postfix connects as user postfix; the private/ directory (0700
         * postfix) or the loopback address is the access control. */
        if ((sm->l[i].fd = sw_endpoint_listen(&ep, SW_SOCKMAP_BACKLOG, 0666, err)) < 0)
            goto fail;
        (void) snprintf(sm->l[i].spec, sizeof(sm->l[i].spec), "%s", specs->v[i]);
        sm->l[i].rd = rd;
        sm->l[i].sm = sm;
        sm->l[i].acc = routed_listener_new(rd->base, sm->l[i].fd, "socketmap", ROUTED_PRIO_LOOKUP,
                                           (size_t) rd->conf->routed.clients_per_user, accepted,
                                           &sm->l[i]);
        if (sm->l[i].acc == NULL) {
            sw_buf_adds(err, "cannot add the listener to the event loop");
            goto fail;
        }
        sw_info("socketmap: listening endpoint=%s", specs->v[i]);
    }
    return sm;
fail:
    sw_buf_printf(err, " (socketmap %s)", specs->v[i]);
    routed_sockmap_stop(sm);
    return NULL;
}

/* routed_sockmap_stop - close the clients and the listeners */
void
routed_sockmap_stop(struct routed_sockmap *sm)
{
    size_t i;

    if (sm == NULL)
        return;
    while (sm->conns)
        conn_close(sm->conns); /* before the listeners their counts belong to */
    for (i = 0; i < sm->nl; i++) {
        routed_listener_free(sm->l[i].acc);
        if (sm->l[i].fd >= 0)
            (void) close(sm->l[i].fd);
    }
    free(sm->l);
    free(sm);
}
