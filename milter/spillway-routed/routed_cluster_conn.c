/* routed_cluster_conn.c - the Redis connections: open, call, deadline, fail */

/*
 * The lowest layer of the cluster (DESIGN.md 5.8): hiredis contexts on the
 * daemon's event loop, each call's send time queued for the deadline that
 * hiredis 0.14 lacks, and the failing of the link: every connection
 * dropped, the state logged once, a retry planned with back-off.  The
 * layers above (routed_cluster.c drives the link, routed_cluster_apply.c
 * takes and makes records) call down into this file only.
 */
#include "config.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "routed_cluster.h"

/* cl_mono - monotonic seconds */
double
cl_mono(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* cl_now_ms - wall clock in ms */
long long
cl_now_ms(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_REALTIME, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* cl_key - PREFIX + name */
const char *
cl_key(const struct routed_cluster *cl, const char *name, char *buf, size_t size)
{
    (void) snprintf(buf, size, "%s%s", cl->rd->conf->cluster.prefix, name);
    return buf;
}

/* ---------------------------------------------------------------------- */
/* connections */

/* cl_conn_close - drop one connection; its callbacks will see a new epoch */
void
cl_conn_close(struct cl_conn *c)
{
    redisAsyncContext *ac = c->ac;

    c->epoch++;
    c->ac = NULL;
    c->connected = false;
    c->head = c->n = 0;
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
}

/* connect_cb - a connection is up, or could not be made */
static void
connect_cb(const redisAsyncContext *ac, int status)
{
    struct cl_conn *c = ac->data;

    if (c == NULL || c->ac != ac)
        return;
    if (status != REDIS_OK) {
        c->ac = NULL; /* hiredis frees it */
        cl_fail(c->cl, "%s connection: %s", c->name, ac->errstr[0] ? ac->errstr : "refused");
        return;
    }
    c->connected = true;
}

/* disconnect_cb - the server closed, or hiredis gave up on it */
static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
    struct cl_conn *c = ac->data;

    if (c == NULL || c->ac != ac)
        return;
    c->ac = NULL; /* hiredis frees it */
    cl_fail(c->cl, "%s connection lost%s%s", c->name, status == REDIS_OK ? "" : ": ",
            status == REDIS_OK ? "" : ac->errstr);
}

/* cl_conn_open - start connecting to ep (non-blocking: ep is numeric) */
bool
cl_conn_open(struct cl_conn *c, const struct sw_endpoint *ep)
{
    redisAsyncContext *ac;

    cl_conn_close(c);
    ac = ep->is_unix ? redisAsyncConnectUnix(ep->path) : redisAsyncConnect(ep->host, ep->port);
    if (ac == NULL || ac->err) {
        cl_fail(c->cl, "%s connection: %s", c->name, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        return false;
    }
    ac->data = c;
    if (redisLibeventAttach(ac, c->cl->rd->base) != REDIS_OK) {
        redisAsyncFree(ac);
        cl_fail(c->cl, "%s connection: cannot attach to the event loop", c->name);
        return false;
    }
    (void) redisAsyncSetConnectCallback(ac, connect_cb);
    (void) redisAsyncSetDisconnectCallback(ac, disconnect_cb);
    c->ac = ac;
    c->opened = cl_mono();
    return true;
}

/* cl_call - one command, its send time queued for the deadline */
bool
cl_call(struct cl_conn *c, void (*fn)(redisAsyncContext *, void *, void *), int argc,
        const char **argv, const size_t *lens)
{
    struct routed_cluster *cl = c->cl;

    if (c->ac == NULL || c->n >= c->cap) {
        cl->dropped++;
        return false;
    }
    if (redisAsyncCommandArgv(c->ac, fn, (void *) (uintptr_t) c->epoch, argc, argv, lens)
        != REDIS_OK) {
        cl->dropped++;
        return false;
    }
    c->sent[(c->head + c->n) % c->cap] = cl_mono();
    c->n++;
    return true;
}

/* cl_reply_ok - the common start of every reply callback: false when the
 * reply belongs to a dropped connection, or failed the link */
bool
cl_reply_ok(redisAsyncContext *ac, void *reply, void *priv, struct cl_conn **cp)
{
    struct cl_conn *c = ac->data;
    redisReply *r = reply;
    double rtt;

    if (c == NULL || (unsigned long) (uintptr_t) priv != c->epoch)
        return false;
    *cp = c;
    if (c->n) {
        rtt = cl_mono() - c->sent[c->head];
        c->head = (c->head + 1) % c->cap;
        c->n--;
        if (c != &c->cl->rdr) /* the reader's calls block on purpose */
            c->cl->rtt = rtt;
    }
    if (r == NULL) {
        cl_fail(c->cl, "%s connection: %s", c->name, ac->errstr[0] ? ac->errstr : "no reply");
        return false;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        /* READONLY (a demoted master), LOADING (a restarting one), NOAUTH,
         * ...: this server cannot be the shared picture now */
        cl_fail(c->cl, "%s connection: Redis replied \"%.120s\"", c->name, r->str);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------------- */
/* state changes */

/* set_state - log a change of state, once */
void
cl_set_state(struct routed_cluster *cl, bool degraded)
{
    const struct sw_cluster_conf *k = &cl->rd->conf->cluster;

    cl->degraded = degraded;
    if (cl->logged == (degraded ? 2 : 1))
        return; /* no change since the last line */
    cl->logged = degraded ? 2 : 1;
    cl->since = time(NULL);
    if (degraded) {
        sw_warn("cluster: state=degraded node=%s redis=%s reason=\"%s\": routing goes on "
                "from this node's own evidence and the shared decisions it knows",
                k->node, cl->master_spec[0] ? cl->master_spec : "-", cl->reason);
        return;
    }
    sw_info("cluster: state=ok node=%s redis=%s%s peers=%zu", k->node, cl->master_spec,
            k->sentinels.n ? " (from sentinel)" : "", cl_peers_alive(cl));
}

/* cl_fail - drop every connection, retry later */
void
cl_fail(struct routed_cluster *cl, const char *fmt, ...)
{
    va_list ap;
    long delay;

    if (cl->phase == CL_IDLE && cl->cmd.ac == NULL && cl->rdr.ac == NULL && cl->sen.ac == NULL)
        return; /* already down: the first cause is the one logged */
    va_start(ap, fmt);
    (void) vsnprintf(cl->reason, sizeof(cl->reason), fmt, ap);
    va_end(ap);
    cl->failures++;
    cl->phase = CL_IDLE;
    cl->reading = cl->scanning = false;
    cl_conn_close(&cl->cmd);
    cl_conn_close(&cl->rdr);
    cl_conn_close(&cl->sen);
    if (cl->rd->conf->cluster.sentinels.n)
        cl->sentinel_next = (cl->sentinel_next + 1) % cl->rd->conf->cluster.sentinels.n;
    (void) sw_backoff_result(&cl->backoff, false);
    delay = sw_backoff_delay(&cl->backoff);
    cl->retry_at = cl_mono() + (double) delay / 1000.0;
    sw_debug("cluster: link failed (%s), retry in %ld ms", cl->reason, delay);
    cl_set_state(cl, true);
}

/* cl_ignore_cb - a reply with nothing to read (AUTH, HSET, XADD) */
void
cl_ignore_cb(redisAsyncContext *ac, void *reply, void *priv)
{
    struct cl_conn *c;

    if (cl_reply_ok(ac, reply, priv, &c) && c->cl->room && c == &c->cl->cmd)
        c->cl->room(c->cl); /* a call less in flight: the backlog may go on */
}

/* cl_peer_alive - heard from within peer_timeout */
bool
cl_peer_alive(const struct routed_cluster *cl, const struct cl_peer *p)
{
    return cl_mono() - p->last_mono <= (double) cl->rd->conf->cluster.peer_timeout;
}

/* cl_peers_alive - peers heard from within peer_timeout */
size_t
cl_peers_alive(const struct routed_cluster *cl)
{
    size_t i, n = 0;

    for (i = 0; i < cl->npeers; i++)
        if (cl_peer_alive(cl, &cl->peers[i]))
            n++;
    return n;
}
