/* routed_cluster.c - the link to Redis: connect, deadlines, read, reconcile */

/*
 * DESIGN.md 5.8.  Routing never waits on any of this: lookups are answered
 * from the routing table in memory, and every Redis call runs on the event
 * loop with a deadline of our own (hiredis 0.14 has none).  The link is
 * either up or failing; a failure (connection lost or refused, a deadline
 * passed, an error reply such as READONLY from a demoted master or LOADING
 * from a restarting one) drops every connection, logs "cluster:
 * state=degraded" once, and retries with back-off, asking the Sentinels
 * for the master again when there are some.  While the link is down
 * nothing is queued: records are dropped and counted, and what matters is
 * repaired by the reconcile that follows every (re)connection: this node
 * reads the shared picture, takes the decisions newer than its own, and
 * re-asserts its own decisions that Redis lacks (a restart with an empty
 * database, writes lost in a failover).  The same reconcile runs every
 * cluster.reassert while up.
 *
 * Keys (PREFIX is cluster.prefix):
 *   PREFIX stream      a stream of signed records (XADD MAXLEN ~ stream_max)
 *   PREFIX decisions   a hash: scope -> the signed record of its state
 *   PREFIX relays      a hash: relay -> its administrative state
 */
#include "config.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "routed_cluster.h"

#define CL_TICK_MS    100
#define CL_BLOCK_MS   1000 /* XREAD BLOCK: the reader answers at least this often */
#define CL_SCAN_COUNT "500"
#define CL_READ_COUNT "1000"

static void read_next(struct routed_cluster *cl);
static void open_master(struct routed_cluster *cl);

/* ---------------------------------------------------------------------- */
/* finding the master */

/* auth - AUTH [user] password on a new connection, if configured */
static void
auth(struct cl_conn *c)
{
    struct routed_cluster *cl = c->cl;
    const char *argv[3] = { "AUTH", cl->user, cl->pass };
    size_t lens[3] = { 4, strlen(cl->user), strlen(cl->pass) };

    if (cl->pass[0] == '\0')
        return;
    if (cl->user[0])
        (void) cl_call(c, cl_ignore_cb, 3, argv, lens);
    else {
        argv[1] = cl->pass;
        lens[1] = lens[2];
        (void) cl_call(c, cl_ignore_cb, 2, argv, lens);
    }
}

/* master_cb - a Sentinel named the master: [ip, port] */
static void
master_cb(redisAsyncContext *ac, void *reply, void *priv)
{
    struct routed_cluster *cl;
    struct cl_conn *c;
    redisReply *r = reply;
    struct sw_buf err;
    char spec[96];
    bool ok;

    if (!cl_reply_ok(ac, reply, priv, &c))
        return;
    cl = c->cl;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
        cl_fail(cl, "sentinel %s does not know master \"%s\"",
                cl->rd->conf->cluster.sentinels.v[cl->sentinel_next], cl->rd->conf->cluster.master);
        return;
    }
    (void) snprintf(spec, sizeof(spec),
                    strchr(r->element[0]->str, ':') ? "inet:[%s]:%s" : "inet:%s:%s",
                    r->element[0]->str, r->element[1]->str);
    sw_buf_init(&err, 256);
    ok = sw_endpoint_parse(spec, &cl->master, &err);
    sw_buf_free(&err);
    if (!ok) {
        cl_fail(cl, "sentinel named a master we cannot use: %s", spec);
        return;
    }
    if (strcmp(spec, cl->master_spec) != 0 && cl->master_spec[0])
        sw_info("cluster: master=%s (was %s) from sentinel %s", spec, cl->master_spec,
                cl->rd->conf->cluster.sentinels.v[cl->sentinel_next]);
    (void) snprintf(cl->master_spec, sizeof(cl->master_spec), "%s", spec);
    cl_conn_close(&cl->sen);
    open_master(cl);
}

/* discover - ask the next Sentinel where the master is */
static void
discover(struct routed_cluster *cl)
{
    const struct sw_cluster_conf *k = &cl->rd->conf->cluster;
    const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", k->master };
    size_t lens[3] = { 8, 23, strlen(k->master) };
    struct sw_endpoint ep;
    struct sw_buf err;

    cl->phase = CL_DISCOVER;
    sw_buf_init(&err, 256);
    if (!sw_endpoint_parse(k->sentinels.v[cl->sentinel_next], &ep, &err)) {
        sw_buf_free(&err);
        cl_fail(cl, "sentinel %s: bad endpoint", k->sentinels.v[cl->sentinel_next]);
        return;
    }
    sw_buf_free(&err);
    if (!cl_conn_open(&cl->sen, &ep))
        return;
    (void) cl_call(&cl->sen, master_cb, 3, argv, lens);
}

/* ---------------------------------------------------------------------- */
/* reconcile: the shared picture against ours */

static void scan_cb(redisAsyncContext *ac, void *reply, void *priv);

/* scan - the next HSCAN batch of PREFIX decisions */
static void
scan(struct routed_cluster *cl, const char *cursor)
{
    char k[128];
    const char *argv[5] = { "HSCAN", cl_key(cl, "decisions", k, sizeof(k)), cursor, "COUNT",
                            CL_SCAN_COUNT };
    size_t lens[5] = { 5, strlen(argv[1]), strlen(cursor), 5, strlen(CL_SCAN_COUNT) };

    if (!cl_call(&cl->cmd, scan_cb, 5, argv, lens))
        cl->scanning = false;
}

/* collect - delete a field of the picture if it still holds this value
 * (a node may have written a new decision since it was read) */
static void
collect(struct routed_cluster *cl, const redisReply *field, const redisReply *value)
{
    static const char script[] = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then "
                                 "return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";
    char k[128];
    const char *argv[6] = { "EVAL",     script,    "1", cl_key(cl, "decisions", k, sizeof(k)),
                            field->str, value->str };
    size_t lens[6] = { 4, sizeof(script) - 1, 1, strlen(argv[3]), field->len, value->len };

    (void) cl_call(&cl->cmd, cl_ignore_cb, 6, argv, lens);
}

/* scan_cb - one batch: [cursor, [field, value, ...]] */
static void
scan_cb(redisAsyncContext *ac, void *reply, void *priv)
{
    struct routed_cluster *cl;
    struct cl_conn *c;
    redisReply *r = reply, *v;
    size_t i;

    if (!cl_reply_ok(ac, reply, priv, &c))
        return;
    cl = c->cl;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
        cl_fail(cl, "HSCAN: unexpected reply");
        return;
    }
    v = r->element[1];
    for (i = 0; i + 1 < v->elements; i += 2)
        if (v->element[i]->type == REDIS_REPLY_STRING
            && v->element[i + 1]->type == REDIS_REPLY_STRING
            && cl_apply(cl, v->element[i + 1]->str, v->element[i + 1]->len, false))
            collect(cl, v->element[i], v->element[i + 1]);
    if (strcmp(r->element[0]->str, "0") != 0) {
        scan(cl, r->element[0]->str);
        return;
    }
    cl_apply_done(cl); /* save, render, flush once for the whole picture */
    cl->scanning = false;
    cl_reassert(cl);
    if (cl->phase == CL_SYNCING) {
        cl->phase = CL_UP;
        (void) sw_backoff_result(&cl->backoff, true);
        cl_set_state(cl, false);
        read_next(cl);
    }
}

/* relays_cb - HGETALL PREFIX relays: [field, value, ...] */
static void
relays_cb(redisAsyncContext *ac, void *reply, void *priv)
{
    struct cl_conn *c;
    redisReply *r = reply;
    size_t i;

    if (!cl_reply_ok(ac, reply, priv, &c))
        return;
    if (r->type != REDIS_REPLY_ARRAY)
        return;
    for (i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i + 1]->type == REDIS_REPLY_STRING)
            (void) cl_apply(c->cl, r->element[i + 1]->str, r->element[i + 1]->len, false);
    cl_apply_done(c->cl);
}

/* reconcile - read the whole shared picture, then re-assert ours */
static void
reconcile(struct routed_cluster *cl)
{
    char k[128];
    const char *argv[2] = { "HGETALL", cl_key(cl, "relays", k, sizeof(k)) };
    size_t lens[2] = { 7, strlen(argv[1]) };

    if (cl->scanning)
        return;
    cl->gen++;
    cl->scanning = true;
    cl->next_reassert = cl_mono() + (double) cl->rd->conf->cluster.reassert;
    (void) cl_call(&cl->cmd, relays_cb, 2, argv, lens);
    scan(cl, "0");
}

/* role_cb - the server we reached must be the master */
static void
role_cb(redisAsyncContext *ac, void *reply, void *priv)
{
    struct cl_conn *c;
    redisReply *r = reply;

    if (!cl_reply_ok(ac, reply, priv, &c))
        return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING
        || strcmp(r->element[0]->str, "master") != 0) {
        cl_fail(c->cl, "%s is not a master (%s)", c->cl->master_spec,
                r->type == REDIS_REPLY_ARRAY && r->elements && r->element[0]->str
                    ? r->element[0]->str
                    : "?");
        return;
    }
    c->cl->phase = CL_SYNCING;
    reconcile(c->cl);
}

/* open_master - connect both connections to the master, check its role */
static void
open_master(struct routed_cluster *cl)
{
    const char *argv[1] = { "ROLE" };
    size_t lens[1] = { 4 };

    cl->phase = CL_CONNECTING;
    if (!cl_conn_open(&cl->cmd, &cl->master) || !cl_conn_open(&cl->rdr, &cl->master))
        return;
    auth(&cl->cmd);
    auth(&cl->rdr);
    (void) cl_call(&cl->cmd, role_cb, 1, argv, lens);
}

/* ---------------------------------------------------------------------- */
/* the reader */

static void read_cb(redisAsyncContext *ac, void *reply, void *priv);

/* read_next - XREAD BLOCK from where we are */
static void
read_next(struct routed_cluster *cl)
{
    char k[128], block[16];
    const char *argv[8];
    size_t lens[8], i;

    if (cl->reading || cl->phase != CL_UP)
        return;
    (void) snprintf(block, sizeof(block), "%d", CL_BLOCK_MS);
    argv[0] = "XREAD";
    argv[1] = "COUNT";
    argv[2] = CL_READ_COUNT;
    argv[3] = "BLOCK";
    argv[4] = block;
    argv[5] = "STREAMS";
    argv[6] = cl_key(cl, "stream", k, sizeof(k));
    argv[7] = cl->last_id;
    for (i = 0; i < 8; i++)
        lens[i] = strlen(argv[i]);
    cl->reading = cl_call(&cl->rdr, read_cb, 8, argv, lens);
}

/* read_cb - nil (nothing new) or [[stream, [[id, [f, v, ...]], ...]]] */
static void
read_cb(redisAsyncContext *ac, void *reply, void *priv)
{
    struct routed_cluster *cl;
    struct cl_conn *c;
    redisReply *r = reply, *entries, *e, *fv;
    size_t i, j;

    if (!cl_reply_ok(ac, reply, priv, &c))
        return;
    cl = c->cl;
    cl->reading = false;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY
        && r->element[0]->elements == 2 && r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
        entries = r->element[0]->element[1];
        for (i = 0; i < entries->elements; i++) {
            e = entries->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2
                || e->element[0]->type != REDIS_REPLY_STRING)
                continue;
            (void) snprintf(cl->last_id, sizeof(cl->last_id), "%s", e->element[0]->str);
            fv = e->element[1];
            if (fv->type != REDIS_REPLY_ARRAY)
                continue;
            for (j = 0; j + 1 < fv->elements; j += 2)
                if (fv->element[j + 1]->type == REDIS_REPLY_STRING)
                    (void) cl_apply(cl, fv->element[j + 1]->str, fv->element[j + 1]->len, true);
        }
    }
    read_next(cl);
}

/* ---------------------------------------------------------------------- */
/* the tick: deadlines, retries, heartbeats */

/* waiting - an answer is in the socket, not read yet (the loop was busy) */
static bool
waiting(const struct cl_conn *c)
{
    struct pollfd p = { c->ac->c.fd, POLLIN, 0 };

    return c->ac->c.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* overdue - a call on c older than its deadline, with no answer waiting:
 * a loop busy with something else must not be taken for a hung Redis */
static bool
overdue(const struct cl_conn *c, double now, double deadline)
{
    if (c->ac == NULL)
        return false;
    if (!c->connected)
        return now - c->opened > deadline;
    return c->n && now - c->sent[c->head] > deadline && !waiting(c);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_cluster *cl = arg;
    double now = cl_mono(), deadline = (double) cl->rd->conf->cluster.timeout;

    (void) fd;
    (void) what;
    if (overdue(&cl->cmd, now, deadline) || overdue(&cl->sen, now, deadline)
        || overdue(&cl->rdr, now, deadline + CL_BLOCK_MS / 1000.0)) {
        cl_fail(cl, "Redis did not answer within %gs (hung?)", deadline);
        return;
    }
    if (!cl->scanning)
        cl_apply_done(cl); /* a scan the link lost half-way */
    if (cl->phase == CL_IDLE && now >= cl->retry_at) {
        if (cl->rd->conf->cluster.sentinels.n)
            discover(cl);
        else
            open_master(cl);
        return;
    }
    if (cl->phase != CL_UP)
        return;
    if (now >= cl->next_hello) {
        cl->next_hello = now + (double) cl->rd->conf->cluster.heartbeat;
        cl_publish_hello(cl);
    }
    if (now >= cl->next_reassert)
        reconcile(cl);
    cl_reassert_drain(cl);
    read_next(cl);
}

/* ---------------------------------------------------------------------- */
/* start and stop */

/* read_password - "password" or "user password" on the first line */
static bool
read_password(struct routed_cluster *cl, const char *path, struct sw_buf *err)
{
    char line[400], *sp, *nl;
    FILE *f;

    if ((f = fopen(path, "re")) == NULL) {
        sw_buf_printf(err, "cluster.password_file %s: %s", path, strerror(errno));
        return false;
    }
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = '\0';
    (void) fclose(f);
    if ((nl = strchr(line, '\n')) != NULL)
        *nl = '\0';
    if ((sp = strchr(line, ' ')) != NULL) {
        *sp++ = '\0';
        (void) snprintf(cl->user, sizeof(cl->user), "%.*s", (int) sizeof(cl->user) - 1, line);
        (void) snprintf(cl->pass, sizeof(cl->pass), "%.*s", (int) sizeof(cl->pass) - 1, sp);
    } else {
        (void) snprintf(cl->pass, sizeof(cl->pass), "%.*s", (int) sizeof(cl->pass) - 1, line);
    }
    if (cl->pass[0] == '\0') {
        sw_buf_printf(err, "cluster.password_file %s: empty", path);
        return false;
    }
    return true;
}

/* conn_init - one connection's queue */
static bool
conn_init(struct cl_conn *c, struct routed_cluster *cl, const char *name, size_t cap)
{
    c->cl = cl;
    c->name = name;
    c->cap = cap;
    return (c->sent = calloc(cap, sizeof(*c->sent))) != NULL;
}

/* room - the command queue has room: the re-assertions go on */
static void
room(struct routed_cluster *cl)
{
    if (cl->backlog.next < cl->backlog.n)
        cl_reassert_drain(cl);
}

/* routed_cluster_start - NULL with err empty when there is no cluster */
struct routed_cluster *
routed_cluster_start(struct routed *rd, struct sw_buf *err)
{
    const struct sw_cluster_conf *k = &rd->conf->cluster;
    struct routed_cluster *cl;
    struct timeval tv = { 0, CL_TICK_MS * 1000 };

    if (!k->enabled)
        return NULL;
    if ((cl = calloc(1, sizeof(*cl))) == NULL) {
        sw_buf_adds(err, "cluster: out of memory");
        return NULL;
    }
    cl->rd = rd;
    cl->room = room;
    cl->backoff = (struct sw_backoff) SW_BACKOFF_INIT(200, 5000);
    if (!sw_tag_keys_load(k->key_file, &cl->keys, err)
        || (k->password_file && !read_password(cl, k->password_file, err))
        || !conn_init(&cl->cmd, cl, "command", (size_t) k->queue)
        || !conn_init(&cl->rdr, cl, "reader", 4) || !conn_init(&cl->sen, cl, "sentinel", 4)
        || !cl_tomb_init(cl)
        || (cl->tick = event_new(rd->base, -1, EV_PERSIST, tick_cb, cl)) == NULL) {
        if (err->len == 0)
            sw_buf_adds(err, "cluster: out of memory");
        routed_cluster_stop(cl);
        return NULL;
    }
    (void) event_priority_set(cl->tick, ROUTED_PRIO_OTHER);
    (void) evtimer_add(cl->tick, &tv);
    if (k->redis) {
        (void) sw_endpoint_parse(k->redis, &cl->master, err);
        (void) snprintf(cl->master_spec, sizeof(cl->master_spec), "%s", k->redis);
    }
    /* Read the stream from as far back as any rule looks: a node that
     * starts learns its peers' recent evidence. */
    (void) snprintf(cl->last_id, sizeof(cl->last_id), "%lld-0",
                    cl_now_ms() - (long long) sw_conf_max_window(rd->conf) * 1000);
    cl->since = time(NULL);
    cl->degraded = true; /* until the first reconcile is done */
    return cl;
}

/* routed_cluster_stop - close everything (no more records) */
void
routed_cluster_stop(struct routed_cluster *cl)
{
    if (cl == NULL)
        return;
    cl->phase = CL_IDLE;
    cl_conn_close(&cl->cmd);
    cl_conn_close(&cl->rdr);
    cl_conn_close(&cl->sen);
    if (cl->tick)
        event_free(cl->tick);
    free(cl->cmd.sent);
    free(cl->rdr.sent);
    free(cl->sen.sent);
    cl_outbox_free(cl);
    cl_tomb_free(cl);
    cl_backlog_clear(cl);
    OPENSSL_cleanse(&cl->keys, sizeof(cl->keys));
    OPENSSL_cleanse(cl->pass, sizeof(cl->pass));
    free(cl);
}
