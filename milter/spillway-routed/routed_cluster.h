/* routed_cluster.h - the Redis link's state (internal to routed_cluster*.c) */
#ifndef SW_ROUTED_CLUSTER_H
#define SW_ROUTED_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "global/clusterrec.h"
#include "global/tag.h"
#include "util/backoff.h"
#include "util/listen.h"
#include "routed.h"

/*
 * One node's link to Redis (DESIGN.md 5.8), in three hiredis connections
 * on the daemon's event loop:
 *   command   writes (XADD to the stream, HSET of the shared picture) and
 *             the reconciling reads (HGETALL, HSCAN)
 *   reader    XREAD BLOCK on the stream: peers' records as they come
 *   sentinel  one question to one Sentinel, while the master is sought
 * hiredis 0.14 has no timeouts: every call's send time is queued per
 * connection and the tick (routed_cluster.c) fails the link when the
 * oldest is older than the deadline.  Failing the link frees the
 * contexts; their callbacks then see an older epoch and do nothing.
 */
struct redisAsyncContext;
struct event;

#define CL_PEERS     64
#define CL_RELAYS    64
#define CL_TOMB_MAX  65536 /* releases remembered (routed_cluster_tomb.c) */
#define CL_TOMBSTONE 86400 /* s: a release is remembered, and kept in Redis, this long */
struct cl_tombs;

struct cl_conn {
    struct redisAsyncContext *ac;
    struct routed_cluster *cl;
    const char *name;
    unsigned long epoch; /* bumped when the connection is dropped */
    bool connected;
    double opened; /* monotonic seconds: connect started */
    double *sent;  /* FIFO of send times of calls in flight */
    size_t head, n, cap;
};

struct cl_peer {
    char node[SW_CREC_NODE_MAX + 1];
    time_t last; /* wall clock of its last hello */
    double last_mono;
    time_t started;
    char state[16];
    long scopes;
};

/* who set a relay's administrative state last */
struct cl_relay {
    char name[SW_EV_NAME_MAX + 1];
    char node[SW_CREC_NODE_MAX + 1];
    long long at;
    unsigned long gen;
};

/* re-assertions waiting for room in the command queue */
struct cl_pending {
    char *key;
    long long at; /* 0: the scope's state; else a release at this time */
};
struct cl_backlog {
    struct cl_pending *v;
    size_t n, cap, next;
};

/* records waiting for the end of the loop turn (routed_cluster_out.c) */
#define CL_BATCH 64
struct cl_outbox {
    char *rec[CL_BATCH];
    size_t len[CL_BATCH];
    char *field[CL_BATCH]; /* the hash field, or NULL: the stream only */
    enum sw_crec_type type[CL_BATCH];
    size_t n;
    struct event *ev; /* flushes at the end of the turn */
};

enum cl_phase { CL_IDLE, CL_DISCOVER, CL_CONNECTING, CL_SYNCING, CL_UP };
enum cl_reject { CL_REJ_SIGNATURE, CL_REJ_MALFORMED, CL_REJ_UNKNOWN, CL_REJ_STALE, CL_REJ_N };

struct routed_cluster {
    struct routed *rd;
    struct sw_tag_keys keys;
    char user[128], pass[256];
    struct cl_conn cmd, rdr, sen;
    struct sw_endpoint master;
    char master_spec[96];
    size_t sentinel_next;
    enum cl_phase phase;
    bool degraded; /* the link is not up and reconciled */
    int logged;    /* the state last logged: 0 none yet, 1 ok, 2 degraded */
    char reason[256];
    time_t since; /* wall clock of the last state change */
    double retry_at;
    struct sw_backoff backoff;
    struct event *tick;
    double next_hello, next_reassert;
    char last_id[48]; /* the reader's position in the stream */
    bool reading;
    unsigned long gen; /* reconcile generation */
    bool scanning;
    /* counters, by record type */
    unsigned long published[4], received[4], rejected[CL_REJ_N];
    unsigned long dropped, failures;
    double rtt;
    struct cl_peer peers[CL_PEERS];
    size_t npeers;
    struct cl_relay relays[CL_RELAYS];
    size_t nrelays;
    struct cl_tombs *tombs;
    struct cl_backlog backlog;
    struct cl_outbox out;
    bool batch_changed, batch_flush; /* a batch of the picture changed routes */
    /* set by routed_cluster.c: a command was answered (room in the queue) */
    void (*room)(struct routed_cluster *cl);
};

/* this node's name in the cluster */
static inline const char *
cl_self(const struct routed_cluster *cl)
{
    return cl->rd->conf->cluster.node;
}

/* routed_cluster_conn.c: the lowest layer */
double cl_mono(void);
long long cl_now_ms(void);
const char *cl_key(const struct routed_cluster *cl, const char *name, char *buf, size_t size);
/* The common start of every reply callback: false when the reply belongs
 * to a dropped connection, or failed the link (no reply, an error). */
bool cl_reply_ok(struct redisAsyncContext *ac, void *reply, void *priv, struct cl_conn **cp);
void cl_ignore_cb(struct redisAsyncContext *ac, void *reply, void *priv);
bool cl_conn_open(struct cl_conn *c, const struct sw_endpoint *ep);
void cl_conn_close(struct cl_conn *c);
/* Drop every connection, log the state once, retry with back-off. */
void cl_fail(struct routed_cluster *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cl_set_state(struct routed_cluster *cl, bool degraded);
bool cl_peer_alive(const struct routed_cluster *cl, const struct cl_peer *p);
size_t cl_peers_alive(const struct routed_cluster *cl);
/* One call on a connection; false (counted as dropped) when it is down
 * or CL_QUEUE calls are in flight. */
bool cl_call(struct cl_conn *c, void (*fn)(struct redisAsyncContext *, void *, void *), int argc,
             const char **argv, const size_t *lens);
/* routed_cluster_out.c: publish one record (into the turn's batch: one
 * XADD for all, one HSET each for decisions and relays: field is the
 * scope or the relay); false (counted as dropped) when the link is down */
bool cl_publish(struct routed_cluster *cl, const struct sw_crec *r, const char *field);
void cl_flush(struct routed_cluster *cl);
void cl_outbox_free(struct routed_cluster *cl);
/* routed_cluster_tomb.c: releases, by scope, with their (at, node) */
bool cl_tomb_init(struct routed_cluster *cl);
void cl_tomb_free(struct routed_cluster *cl);
bool cl_tomb_find(const struct routed_cluster *cl, const char *key, long long *at,
                  const char **node);
void cl_tomb_add(struct routed_cluster *cl, const char *key, long long at, const char *node);
void cl_tomb_remove(struct routed_cluster *cl, const char *key);
/* Redis holds this release as we do (this reconcile) */
void cl_tomb_seen(struct routed_cluster *cl, const char *key, long long at, const char *node);
/* fn for each release of self since min_at that this reconcile did not see */
void cl_tomb_unseen(struct routed_cluster *cl, const char *self, long long min_at,
                    void (*fn)(struct routed_cluster *, const char *key, long long at));

/* routed_cluster_apply.c: records in.  One record read from Redis; live:
 * from the stream (freshness checked), else from the picture (a
 * reconcile); true when the picture need not keep it (a release a day
 * old).  cl_apply_done: the picture is read, save, render, flush once. */
bool cl_apply(struct routed_cluster *cl, const char *data, size_t len, bool live);
void cl_apply_done(struct routed_cluster *cl);
const char *cl_reject_name(enum cl_reject why);

/* routed_cluster_own.c: this node's records out.  The record of a scope's
 * current state (primary when absent) after decision d (NULL: a
 * re-assertion); a relay's state; the heartbeat.  cl_reassert: after a
 * reconcile, what Redis lacks of ours goes back, paced by
 * cl_reassert_drain. */
void cl_scope_record(struct routed_cluster *cl, const char *scope, const struct sw_decision *d,
                     struct sw_crec *r);
void cl_publish_scope(struct routed_cluster *cl, const char *scope, const struct sw_decision *d);
void cl_publish_relay(struct routed_cluster *cl, const char *relay);
void cl_publish_hello(struct routed_cluster *cl);
struct cl_relay *cl_relay_slot(struct routed_cluster *cl, const char *name);
void cl_reassert(struct routed_cluster *cl);
void cl_reassert_drain(struct routed_cluster *cl);
void cl_backlog_clear(struct routed_cluster *cl);

#endif
