/* routed_cluster_own.c - this node's records: published, and re-asserted */

/*
 * What this node tells the others: the state of a scope after each of its
 * decisions, a relay's administrative state, the heartbeat; and after
 * every reconcile, its decisions and releases that Redis lacked, written
 * back at the pace the command queue allows (half of cluster.queue, driven
 * by the replies).  This is how a decision lost in a failover, or by a
 * Redis restarted empty, returns: its owner writes it again.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "routed_cluster.h"

/* cl_relay_slot - the provenance of a relay's state, by name */
struct cl_relay *
cl_relay_slot(struct routed_cluster *cl, const char *name)
{
    size_t i;

    for (i = 0; i < cl->nrelays; i++)
        if (strcmp(cl->relays[i].name, name) == 0)
            return &cl->relays[i];
    if (cl->nrelays == CL_RELAYS || strlen(name) >= sizeof(cl->relays[0].name))
        return NULL;
    memset(&cl->relays[cl->nrelays], 0, sizeof(cl->relays[0]));
    (void) snprintf(cl->relays[cl->nrelays].name, sizeof(cl->relays[0].name), "%s", name);
    return &cl->relays[cl->nrelays++];
}

/* cl_scope_record - the state of one scope as a dec record */
void
cl_scope_record(struct routed_cluster *cl, const char *scope, const struct sw_decision *d,
                struct sw_crec *r)
{
    const char *event = d ? d->event : "reassert";
    const struct sw_scope *s = sw_route_find_key(cl->rd->route, scope);
    struct sw_crec_decision *c = &r->dec;
    size_t i, n;

    memset(r, 0, sizeof(*r));
    r->type = SW_CREC_DECISION;
    (void) snprintf(r->node, sizeof(r->node), "%s", cl_self(cl));
    (void) snprintf(c->scope, sizeof(c->scope), "%s", scope);
    (void) snprintf(c->event, sizeof(c->event), "%s", event);
    c->uid = SW_UID_NONE;
    if (s == NULL) {
        const char *t_node;

        /* the time of the release, as its tombstone has it */
        if (!cl_tomb_find(cl, scope, &r->at, &t_node))
            r->at = cl_now_ms();
        c->state = SW_STATE_PRIMARY;
        c->since = time(NULL);
        if (d) { /* who released it, and why */
            c->uid = d->uid;
            (void) snprintf(c->reason, sizeof(c->reason), "%s", d->reason);
            (void) snprintf(c->rule, sizeof(c->rule), "%s", d->rule);
        }
        return;
    }
    r->at = s->at ? s->at : cl_now_ms();
    c->state = s->state;
    (void) snprintf(c->relay, sizeof(c->relay), "%s", s->relay ? s->relay : "");
    c->since = s->since;
    c->until = s->until;
    c->hold = s->hold;
    c->uid = s->uid;
    (void) snprintf(c->rule, sizeof(c->rule), "%s", s->rule ? s->rule : "");
    (void) snprintf(c->reason, sizeof(c->reason), "%s", s->reason ? s->reason : "");
    for (i = 0; i < s->nev; i++) {
        n = strlen(c->evids);
        (void) snprintf(c->evids + n, sizeof(c->evids) - n, "%s%s/%s/%s", n ? " " : "", cl_self(cl),
                        s->ev[i].id[0] ? s->ev[i].id : "-", s->ev[i].rcpt[0] ? s->ev[i].rcpt : "-");
    }
}

/* cl_publish_scope - our current state of a scope, to every node */
void
cl_publish_scope(struct routed_cluster *cl, const char *scope, const struct sw_decision *d)
{
    struct sw_crec *r;

    if ((r = malloc(sizeof(*r))) == NULL)
        return;
    cl_scope_record(cl, scope, d, r);
    (void) cl_publish(cl, r, scope);
    free(r);
}

/* cl_publish_relay - a relay's administrative state, set here */
void
cl_publish_relay(struct routed_cluster *cl, const char *relay)
{
    const struct sw_relay *rl = sw_conf_relay(cl->rd->conf, relay);
    struct cl_relay *slot = cl_relay_slot(cl, relay);
    struct sw_crec *r;

    if (rl == NULL || slot == NULL || (r = calloc(1, sizeof(*r))) == NULL)
        return;
    r->type = SW_CREC_RELAY;
    (void) snprintf(r->node, sizeof(r->node), "%s", cl_self(cl));
    r->at = slot->at;
    (void) snprintf(r->relay, sizeof(r->relay), "%s", relay);
    r->admin = cl->rd->admin[rl - cl->rd->conf->relays];
    (void) cl_publish(cl, r, relay);
    free(r);
}

/* cl_publish_hello - the heartbeat */
void
cl_publish_hello(struct routed_cluster *cl)
{
    struct sw_crec *r;

    if ((r = calloc(1, sizeof(*r))) == NULL)
        return;
    r->type = SW_CREC_HELLO;
    (void) snprintf(r->node, sizeof(r->node), "%s", cl_self(cl));
    r->at = cl_now_ms();
    r->started = cl->rd->started;
    (void) snprintf(r->state, sizeof(r->state), "%s", cl->degraded ? "degraded" : "ok");
    r->scopes = (long) sw_route_count(cl->rd->route);
    (void) cl_publish(cl, r, NULL);
    free(r);
}

/* backlog_add - one more re-assertion to make (at 0: a scope's state,
 * else a release at that time) */
static void
backlog_add(struct routed_cluster *cl, const char *key, long long at)
{
    struct cl_backlog *b = &cl->backlog;
    struct cl_pending *p;
    size_t nc;

    if (b->n == b->cap) {
        nc = b->cap ? b->cap * 2 : 256;
        if ((p = realloc(b->v, nc * sizeof(*p))) == NULL)
            return; /* the next reconcile tries again */
        b->v = p;
        b->cap = nc;
    }
    if ((b->v[b->n].key = strdup(key)) == NULL)
        return;
    b->v[b->n++].at = at;
}

/* reassert_scope - ours, and Redis did not have it as we do */
static bool
reassert_scope(const struct sw_scope *s, void *arg)
{
    struct routed_cluster *cl = arg;

    if (s->gen != cl->gen && (s->node[0] == '\0' || strcmp(s->node, cl_self(cl)) == 0))
        backlog_add(cl, s->key, 0);
    return true;
}

/* reassert_release - a release of ours that Redis lacks */
static void
reassert_release(struct routed_cluster *cl, const char *key, long long at)
{
    backlog_add(cl, key, at);
}

/* publish_release - write a release back */
static void
publish_release(struct routed_cluster *cl, const char *key, long long at)
{
    struct sw_crec *r;

    if ((r = calloc(1, sizeof(*r))) == NULL)
        return;
    r->type = SW_CREC_DECISION;
    (void) snprintf(r->node, sizeof(r->node), "%s", cl_self(cl));
    r->at = at;
    (void) snprintf(r->dec.scope, sizeof(r->dec.scope), "%s", key);
    r->dec.state = SW_STATE_PRIMARY;
    r->dec.since = (time_t) (at / 1000);
    r->dec.uid = SW_UID_NONE;
    (void) snprintf(r->dec.event, sizeof(r->dec.event), "reassert");
    (void) cl_publish(cl, r, key);
    free(r);
}

/* cl_reassert_drain - publish the backlog while the command queue has room
 * (half of cluster.queue: lookups' share of the loop stays small, and
 * nothing is dropped); called after a reconcile and on every tick */
void
cl_reassert_drain(struct routed_cluster *cl)
{
    struct cl_backlog *b = &cl->backlog;
    struct cl_pending *p;

    while (b->next < b->n && cl->cmd.ac && cl->cmd.n + 2 <= cl->cmd.cap / 2) {
        p = &b->v[b->next++];
        if (p->at)
            publish_release(cl, p->key, p->at);
        else
            cl_publish_scope(cl, p->key, NULL);
    }
    if (b->next == b->n)
        cl_backlog_clear(cl);
}

/* cl_backlog_clear - forget what was not re-asserted (a new reconcile
 * finds it again) */
void
cl_backlog_clear(struct routed_cluster *cl)
{
    struct cl_backlog *b = &cl->backlog;
    size_t i;

    for (i = 0; i < b->n; i++)
        free(b->v[i].key);
    free(b->v);
    memset(b, 0, sizeof(*b));
}

/* cl_reassert - after a reconcile: what Redis lacks of ours goes back */
void
cl_reassert(struct routed_cluster *cl)
{
    size_t i;

    cl_backlog_clear(cl);
    sw_route_each(cl->rd->route, reassert_scope, cl);
    cl_tomb_unseen(cl, cl_self(cl), cl_now_ms() - (long long) CL_TOMBSTONE * 1000,
                   reassert_release);
    for (i = 0; i < cl->nrelays; i++)
        if (cl->relays[i].gen != cl->gen && strcmp(cl->relays[i].node, cl_self(cl)) == 0)
            cl_publish_relay(cl, cl->relays[i].name);
    if (cl->backlog.n)
        sw_info("cluster: reassert=%zu node=%s: decisions of this node that Redis lacked "
                "are written back",
                cl->backlog.n, cl_self(cl));
    cl_reassert_drain(cl);
}
