/* routed_cluster_apply.c - records from Redis into this node, ours out */

/*
 * Every record read from Redis is outside input: it must verify with the
 * cluster key (anybody who can write to Redis but lacks the key moves no
 * mail), decode within its bounds, and name only relays and pools this
 * node's configuration has.  What fails is counted by reason and logged
 * at debug level (a flood must not flood the log).
 *
 * Order between decisions: a scope's state carries the node that set it
 * and when (ms); a record applies when it is newer than what this node
 * holds ((at, node) compared in that order, so every node picks the same
 * winner).  Two nodes that reach the same state (the same evidence crossed
 * both thresholds) keep the first of the two, so a diversion is shown as
 * the decision of the node that saw it first.  A record that names this node but is newer than what it holds
 * is adopted too: it is this node's own earlier decision (the state file
 * was lost), and losing an operator's pin is worse than keeping it.
 *
 * Evidence from a peer enters the engine like this node's own, with the
 * peer's event time and an event id made unique by the node's name, so a
 * record read twice (a replay, a re-sent batch) is one event, and two
 * nodes' queue ids never collide.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "global/classify.h"
#include "global/engine.h"
#include "util/log.h"
#include "routed_cluster.h"

#define CL_LIVE_SKEW   300 /* s: a live record stamped further ahead is refused */
#define CL_LIVE_MAXAGE 600 /* s: a live decision older than this waits for a reconcile */

/* newer - (at, node) ordering */
static bool
newer(long long a_at, const char *a_node, long long b_at, const char *b_node)
{
    return a_at > b_at || (a_at == b_at && strcmp(a_node, b_node) > 0);
}

/* cl_reject_name - the word of a refusal (status, metrics, debug lines) */
const char *
cl_reject_name(enum cl_reject why)
{
    static const char *const names[CL_REJ_N] = { "signature", "malformed", "unknown", "stale" };

    return (size_t) why < CL_REJ_N ? names[why] : "?";
}

/* reject - count and say why at debug level */
static void
reject(struct routed_cluster *cl, enum cl_reject why, const char *what)
{
    cl->rejected[why]++;
    sw_debug("cluster: record refused (%s): %s", cl_reject_name(why), what);
}

/* ---------------------------------------------------------------------- */
/* peers */

/* peer_seen - a hello */
static void
peer_seen(struct routed_cluster *cl, const struct sw_crec *r)
{
    struct cl_peer *p = NULL;
    size_t i, oldest = 0;

    for (i = 0; i < cl->npeers; i++) {
        if (strcmp(cl->peers[i].node, r->node) == 0) {
            p = &cl->peers[i];
            break;
        }
        if (cl->peers[i].last < cl->peers[oldest].last)
            oldest = i;
    }
    if (p == NULL) {
        p = cl->npeers < CL_PEERS ? &cl->peers[cl->npeers++] : &cl->peers[oldest];
        memset(p, 0, sizeof(*p));
        (void) snprintf(p->node, sizeof(p->node), "%s", r->node);
        sw_info("cluster: peer=%s seen (started %lld)", r->node, (long long) r->started);
    }
    p->last = (time_t) (r->at / 1000);
    p->last_mono = cl_mono();
    p->started = r->started;
    (void) snprintf(p->state, sizeof(p->state), "%s", r->state);
    p->scopes = r->scopes;
}

/* ---------------------------------------------------------------------- */
/* evidence */

/* apply_evidence - a peer's observation into our engine */
static void
apply_evidence(struct routed_cluster *cl, const struct sw_crec *r)
{
    struct routed *rd = cl->rd;
    struct sw_observation ob;
    struct sw_policy p;
    time_t now = time(NULL);

    if (r->ev.time > now + CL_LIVE_SKEW || r->ev.time < now - sw_conf_max_window(rd->conf) - 60) {
        reject(cl, CL_REJ_STALE, "evidence outside every rule's window");
        return;
    }
    memset(&ob, 0, sizeof(ob));
    ob.ev = r->ev;
    ob.via_primary = r->via_primary;
    /* node/id: distinct across nodes, the same for a record read twice */
    {
        size_t n = strlen(r->node), m = strlen(r->ev.id);

        if (n + 1 + m >= sizeof(ob.ev.id))
            m = n + 1 < sizeof(ob.ev.id) ? sizeof(ob.ev.id) - 1 - n - 1 : 0;
        if (n + 1 >= sizeof(ob.ev.id))
            n = sizeof(ob.ev.id) - 2;
        memcpy(ob.ev.id, r->node, n);
        ob.ev.id[n] = '/';
        memcpy(ob.ev.id + n + 1, r->ev.id, m);
        ob.ev.id[n + 1 + m] = '\0';
    }
    /* not counted in this node's evidence metrics: the peer counts it */
    if (ob.via_primary && ob.ev.trusted && !ob.ev.success)
        routed_dnsbl_learn(rd, &ob.ev);
    rd->hour = sw_engine_usage(rd->engine, rd->conf, now);
    p = routed_policy(rd);
    sw_engine_observe(rd->engine, &p, rd->route, &ob, routed_decided, rd);
    rd->hour = sw_engine_usage(rd->engine, rd->conf, now);
}

/* ---------------------------------------------------------------------- */
/* decisions */

/* changed - routing follows a peer's decision: at once for a record from
 * the stream; for the picture's, once the whole of it is read
 * (cl_apply_done), since saving, rendering and re-arming the expiry walk
 * every scope.  Lookups follow each record at once either way. */
static void
changed(struct routed_cluster *cl, bool live, bool flush)
{
    if (!live) {
        cl->batch_changed = true;
        cl->batch_flush |= flush;
        return;
    }
    routed_changed(cl->rd);
    if (flush)
        routed_flush_soon(cl->rd);
}

/* cl_apply_done - the picture is read: save, render, flush once */
void
cl_apply_done(struct routed_cluster *cl)
{
    if (cl->batch_changed)
        routed_changed(cl->rd);
    if (cl->batch_flush)
        routed_flush_soon(cl->rd);
    cl->batch_changed = cl->batch_flush = false;
}

/* split_scope - "destination:NAME" into kind and name */
static bool
split_scope(const char *key, enum sw_scope_kind *kind, const char **name)
{
    if (strncmp(key, "destination:", 12) == 0) {
        *kind = SW_SCOPE_DESTINATION;
        *name = key + 12;
        return true;
    }
    if (strncmp(key, "pool:", 5) == 0) {
        *kind = SW_SCOPE_POOL;
        *name = key + 5;
        return true;
    }
    return false;
}

/* peer_decision - the line a peer's decision is logged and kept with */
static void
peer_decision(struct routed_cluster *cl, const struct sw_crec *r, const char *from)
{
    const struct sw_crec_decision *c = &r->dec;
    struct sw_decision d;

    memset(&d, 0, sizeof(d));
    d.event = c->event[0] ? c->event : "peer";
    (void) snprintf(d.scope, sizeof(d.scope), "%s", c->scope);
    (void) snprintf(d.from, sizeof(d.from), "%s", from);
    (void) snprintf(d.to, sizeof(d.to), "%s", c->state == SW_STATE_PRIMARY ? "primary" : c->relay);
    d.time = (time_t) (r->at / 1000);
    d.until = c->until;
    d.uid = c->uid;
    d.hold = c->state == SW_STATE_DIVERTED ? c->hold : 0;
    (void) snprintf(d.rule, sizeof(d.rule), "%s", c->rule);
    (void) snprintf(d.reason, sizeof(d.reason), "%s", c->reason);
    (void) snprintf(d.node, sizeof(d.node), "%s", r->node);
    /* The event name is the peer's word; ours are a fixed set (decision.h):
     * keep it, it is checked for syntax by the decoder. */
    routed_record(cl->rd, &d);
}

/* settled - nothing to take from a decision record, given what this node
 * holds for its scope (s, or NULL: primary): the same decision, an older
 * one, one a later release ended, or a release of a scope already
 * primary.  Marks what Redis holds as we do, for the re-assertion. */
static bool
settled(struct routed_cluster *cl, const struct sw_crec *r, struct sw_scope *s, bool live)
{
    const struct sw_crec_decision *c = &r->dec;
    const char *t_node;
    long long t_at;

    if (s == NULL) {
        if (cl_tomb_find(cl, c->scope, &t_at, &t_node)) {
            if (t_at == r->at && strcmp(t_node, r->node) == 0) {
                cl_tomb_seen(cl, c->scope, r->at, r->node); /* Redis has our release */
                return true;
            }
            if (!newer(r->at, r->node, t_at, t_node))
                return true; /* released since: a stale record */
        }
        if (c->state != SW_STATE_PRIMARY)
            return false;
        cl_tomb_add(cl, c->scope, r->at, r->node); /* refuses older records */
        cl_tomb_seen(cl, c->scope, r->at, r->node);
        return true; /* released here already */
    }
    if (s->at == r->at && strcmp(s->node, r->node) == 0) {
        s->gen = cl->gen; /* Redis has what we have */
        return true;
    }
    if (c->state == s->state && s->relay && strcmp(c->relay, s->relay) == 0
        && strcmp(r->node, s->node) != 0) {
        /* Two nodes decided the same from the same evidence: the first of
         * them keeps it (every node picks the older), taken here without
         * a line or a flush.  (One node's two decisions: the newer, as
         * ever.) */
        if (newer(r->at, r->node, s->at, s->node))
            return true; /* ours is the first: the reconcile re-asserts it */
        (void) snprintf(s->node, sizeof(s->node), "%s", r->node);
        s->at = r->at;
        s->since = c->since;
        s->until = c->until;
        s->hold = c->hold;
        s->gen = cl->gen;
        changed(cl, live, false);
        return true;
    }
    /* ours is newer: the reconcile re-asserts it if it is ours */
    return !newer(r->at, r->node, s->at, s->node);
}

/* restore - a peer's non-primary state into the routing table */
static bool
restore(struct routed_cluster *cl, const struct sw_crec *r, enum sw_scope_kind kind)
{
    const struct sw_crec_decision *c = &r->dec;
    struct sw_scope t, *s;

    memset(&t, 0, sizeof(t));
    t.key = (char *) c->scope;
    t.kind = kind;
    t.state = c->state;
    t.relay = (char *) c->relay;
    t.since = c->since;
    t.until = c->until;
    t.hold = c->hold;
    t.rule = (char *) c->rule;
    t.reason = (char *) c->reason;
    t.uid = c->uid;
    (void) snprintf(t.node, sizeof(t.node), "%s", r->node);
    t.at = r->at;
    if (sw_route_restore(cl->rd->route, &t) != SW_ROUTE_OK) {
        sw_warn("cluster: cannot take %s's decision for %s (out of memory?)", r->node, c->scope);
        return false;
    }
    if ((s = sw_route_find_key(cl->rd->route, c->scope)) != NULL)
        s->gen = cl->gen;
    return true;
}

/* apply_decision - a scope's state from a peer, if newer than ours */
static void
apply_decision(struct routed_cluster *cl, const struct sw_crec *r, bool live)
{
    struct routed *rd = cl->rd;
    const struct sw_crec_decision *c = &r->dec;
    struct sw_scope *s = sw_route_find_key(rd->route, c->scope);
    struct sw_decision d;
    enum sw_scope_kind kind;
    const char *name;
    char from[72];
    time_t now = time(NULL);

    if (live && r->at / 1000 < now - CL_LIVE_MAXAGE)
        return; /* the stream's past, read at start: the reconcile has it right */
    if (!split_scope(c->scope, &kind, &name) || settled(cl, r, s, live))
        return;
    if (c->state != SW_STATE_PRIMARY && c->state != SW_STATE_DIVERTED && c->until
        && c->until <= now)
        return; /* a pin that expired: every node let it go by itself */
    (void) snprintf(from, sizeof(from), "%s", s ? s->relay : "primary");
    if (s)
        (void) sw_route_release(rd->route, kind, name, now, SW_UID_NONE, &d);
    if (c->state == SW_STATE_PRIMARY) {
        cl_tomb_add(cl, c->scope, r->at, r->node);
        cl_tomb_seen(cl, c->scope, r->at, r->node);
    } else {
        cl_tomb_remove(cl, c->scope);
        if (!restore(cl, r, kind))
            return;
    }
    peer_decision(cl, r, from);
    changed(cl, live, true);
}

/* apply_relay - a relay's administrative state from a peer */
static void
apply_relay(struct routed_cluster *cl, const struct sw_crec *r, bool live)
{
    struct routed *rd = cl->rd;
    const struct sw_relay *relay = sw_conf_relay(rd->conf, r->relay);
    struct cl_relay *slot = cl_relay_slot(cl, r->relay);
    struct sw_decision d;
    size_t idx;
    time_t now = time(NULL);

    if (relay == NULL || slot == NULL)
        return;
    idx = (size_t) (relay - rd->conf->relays);
    if (slot->at == r->at && strcmp(slot->node, r->node) == 0) {
        slot->gen = cl->gen;
        return;
    }
    if (!newer(r->at, r->node, slot->at, slot->node))
        return;
    if (relay->role == SW_ROLE_PRIMARY && r->admin == SW_ADMIN_DISABLED) {
        reject(cl, CL_REJ_UNKNOWN, "a peer disabled a primary relay");
        return;
    }
    slot->at = r->at;
    (void) snprintf(slot->node, sizeof(slot->node), "%s", r->node);
    slot->gen = cl->gen;
    if (rd->admin[idx] == r->admin)
        return;
    memset(&d, 0, sizeof(d));
    d.event = "relay";
    (void) snprintf(d.scope, sizeof(d.scope), "relay:%s", relay->name);
    (void) snprintf(d.from, sizeof(d.from), "%s", sw_admin_name(rd->admin[idx]));
    (void) snprintf(d.to, sizeof(d.to), "%s", sw_admin_name(r->admin));
    (void) snprintf(d.node, sizeof(d.node), "%s", r->node);
    d.time = now;
    d.uid = SW_UID_NONE;
    rd->admin[idx] = r->admin;
    routed_record(rd, &d);
    routed_revalidate(rd, now, "peer", true);
    changed(cl, live, true);
}

/* collectable - a decision record the shared picture need not keep: a
 * release, or a pin that expired, a day ago or more */
static bool
collectable(const struct sw_crec *r)
{
    time_t day = time(NULL) - CL_TOMBSTONE;

    return r->type == SW_CREC_DECISION && r->at / 1000 < day
           && (r->dec.state == SW_STATE_PRIMARY
               || (r->dec.state == SW_STATE_PINNED && r->dec.until && r->dec.until < day));
}

/* cl_apply - one record from Redis; true when it may be deleted there */
bool
cl_apply(struct routed_cluster *cl, const char *data, size_t len, bool live)
{
    struct sw_crec *r;
    const char *why = "?";
    bool gc = false;

    if ((r = malloc(sizeof(*r))) == NULL)
        return false;
    switch (sw_crec_decode(data, len, &cl->keys, r, &why)) {
    case SW_CREC_OK: gc = !live && collectable(r); break;
    case SW_CREC_BADSIG: reject(cl, CL_REJ_SIGNATURE, why); goto done;
    default: reject(cl, CL_REJ_MALFORMED, why); goto done;
    }
    if (strcmp(r->node, cl_self(cl)) == 0 && (live || r->type != SW_CREC_DECISION)) {
        if (r->type == SW_CREC_RELAY) {
            struct cl_relay *slot = cl_relay_slot(cl, r->relay);

            if (slot && slot->at == r->at)
                slot->gen = cl->gen;
        }
        goto done; /* our own, read back */
    }
    if (!sw_crec_check(r, cl->rd->conf, &why)) {
        reject(cl, CL_REJ_UNKNOWN, why);
        goto done;
    }
    if (strcmp(r->node, cl_self(cl)) != 0)
        cl->received[r->type]++;
    switch (r->type) {
    case SW_CREC_EVIDENCE: apply_evidence(cl, r); break;
    case SW_CREC_DECISION: apply_decision(cl, r, live); break;
    case SW_CREC_RELAY: apply_relay(cl, r, live); break;
    case SW_CREC_HELLO:
        /* the stream's past (read at start) says nothing of who is alive */
        if (r->at / 1000 >= time(NULL) - cl->rd->conf->cluster.peer_timeout)
            peer_seen(cl, r);
        break;
    }
done:
    free(r);
    return gc;
}
