/* routed_cluster_tomb.c - scopes released lately, and by whom */

/*
 * A scope on the primary route is absent from the routing table, so the
 * table cannot say that an older decision for it is stale.  Without this
 * memory, a release made while Redis was away would be undone when the
 * link returns: the picture still holds the pin, and this node takes a
 * pin that names it as its own earlier decision.  So every release
 * (this node's or a peer's) leaves a tombstone, (time, node) of the
 * release, for CL_TOMB_AGE: an older record for the scope is refused, and
 * the reconcile writes this node's releases back when Redis lacks them.
 *
 * Bounded: at most CL_TOMB_MAX tombstones, the oldest dropped first.  In
 * memory only: a node that restarts during an outage forgets its releases
 * of that outage (written down in spillway-routed(8)).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routed_cluster.h"

#define CL_TOMB_BUCKETS 4096

struct cl_tomb {
    char key[SW_SCOPE_KEY_MAX + 1];
    char node[SW_CREC_NODE_MAX + 1];
    long long at;
    unsigned long gen;
    struct cl_tomb *next; /* bucket chain */
};

struct cl_tombs {
    struct cl_tomb *bucket[CL_TOMB_BUCKETS];
    struct cl_tomb **ring; /* insertion order, for eviction */
    size_t head, n;
};

static size_t
hash(const char *s)
{
    size_t h = 5381;

    for (; *s; s++)
        h = h * 33 + (unsigned char) *s;
    return h % CL_TOMB_BUCKETS;
}

/* unlink - take t out of its chain (not the ring) */
static void
unlink_tomb(struct cl_tombs *ts, struct cl_tomb *t)
{
    struct cl_tomb **p;

    for (p = &ts->bucket[hash(t->key)]; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            return;
        }
}

/* cl_tomb_find - the tombstone of a scope: its (at, node) */
bool
cl_tomb_find(const struct routed_cluster *cl, const char *key, long long *at, const char **node)
{
    const struct cl_tomb *t;

    if (cl->tombs == NULL)
        return false;
    for (t = cl->tombs->bucket[hash(key)]; t; t = t->next)
        if (strcmp(t->key, key) == 0) {
            *at = t->at;
            *node = t->node;
            return true;
        }
    return false;
}

/* cl_tomb_seen - Redis holds this release as we do */
void
cl_tomb_seen(struct routed_cluster *cl, const char *key, long long at, const char *node)
{
    struct cl_tomb *t;

    if (cl->tombs == NULL)
        return;
    for (t = cl->tombs->bucket[hash(key)]; t; t = t->next)
        if (strcmp(t->key, key) == 0 && t->at == at && strcmp(t->node, node) == 0)
            t->gen = cl->gen;
}

/* cl_tomb_add - a release of key at (at, node); replaces an older one */
void
cl_tomb_add(struct routed_cluster *cl, const char *key, long long at, const char *node)
{
    struct cl_tombs *ts = cl->tombs;
    struct cl_tomb *t;
    size_t h;

    if (ts == NULL || strlen(key) > SW_SCOPE_KEY_MAX || strlen(node) > SW_CREC_NODE_MAX)
        return;
    h = hash(key);
    for (t = ts->bucket[h]; t; t = t->next)
        if (strcmp(t->key, key) == 0) {
            if (at > t->at || (at == t->at && strcmp(node, t->node) > 0)) {
                t->at = at;
                (void) snprintf(t->node, sizeof(t->node), "%s", node);
                t->gen = 0;
            }
            return;
        }
    if (ts->n == CL_TOMB_MAX) { /* the oldest goes */
        t = ts->ring[ts->head];
        unlink_tomb(ts, t);
        free(t);
        ts->head = (ts->head + 1) % CL_TOMB_MAX;
        ts->n--;
    }
    if ((t = calloc(1, sizeof(*t))) == NULL)
        return;
    (void) snprintf(t->key, sizeof(t->key), "%s", key);
    (void) snprintf(t->node, sizeof(t->node), "%s", node);
    t->at = at;
    t->next = ts->bucket[h];
    ts->bucket[h] = t;
    ts->ring[(ts->head + ts->n) % CL_TOMB_MAX] = t;
    ts->n++;
}

/* cl_tomb_remove - the scope was decided again: no tombstone */
void
cl_tomb_remove(struct routed_cluster *cl, const char *key)
{
    struct cl_tombs *ts = cl->tombs;
    struct cl_tomb *t;
    size_t i;

    if (ts == NULL)
        return;
    for (t = ts->bucket[hash(key)]; t; t = t->next)
        if (strcmp(t->key, key) == 0)
            break;
    if (t == NULL)
        return;
    unlink_tomb(ts, t);
    /* keep the ring dense: move the newest into t's slot */
    for (i = 0; i < ts->n; i++)
        if (ts->ring[(ts->head + i) % CL_TOMB_MAX] == t) {
            ts->ring[(ts->head + i) % CL_TOMB_MAX] = ts->ring[(ts->head + ts->n - 1) % CL_TOMB_MAX];
            break;
        }
    ts->n--;
    free(t);
}

/* cl_tomb_unseen - this node's tombstones Redis lacks, younger than min_at */
void
cl_tomb_unseen(struct routed_cluster *cl, const char *self, long long min_at,
               void (*fn)(struct routed_cluster *, const char *key, long long at))
{
    struct cl_tombs *ts = cl->tombs;
    struct cl_tomb *t;
    size_t i;

    if (ts == NULL)
        return;
    for (i = 0; i < ts->n; i++) {
        t = ts->ring[(ts->head + i) % CL_TOMB_MAX];
        if (t->gen != cl->gen && t->at >= min_at && strcmp(t->node, self) == 0)
            fn(cl, t->key, t->at);
    }
}

bool
cl_tomb_init(struct routed_cluster *cl)
{
    if ((cl->tombs = calloc(1, sizeof(*cl->tombs))) == NULL
        || (cl->tombs->ring = calloc(CL_TOMB_MAX, sizeof(*cl->tombs->ring))) == NULL) {
        free(cl->tombs);
        cl->tombs = NULL;
        return false;
    }
    return true;
}

void
cl_tomb_free(struct routed_cluster *cl)
{
    struct cl_tombs *ts = cl->tombs;
    size_t i;

    if (ts == NULL)
        return;
    for (i = 0; i < ts->n; i++)
        free(ts->ring[(ts->head + i) % CL_TOMB_MAX]);
    free(ts->ring);
    free(ts);
    cl->tombs = NULL;
}
