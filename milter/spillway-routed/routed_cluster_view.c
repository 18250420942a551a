/* routed_cluster_view.c - the cluster as the rest of the daemon sees it */

/*
 * The calls the daemon makes into the cluster (a decision taken, evidence
 * accepted, a relay's state set) and what it shows of it (status, metrics).
 * With no cluster group every call is a no-op.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "global/engine.h"
#include "util/metrics.h"
#include "routed_cluster.h"

/* Decisions every node takes by itself, from the clock or from what only
 * it can see (its DNSBL answers): not shared. */
static bool
local_only(const char *event)
{
    static const char *const words[] = { "expire", "probe", "hold", "stay", NULL };
    size_t i;

    for (i = 0; words[i]; i++)
        if (strcmp(event, words[i]) == 0)
            return true;
    return false;
}

/* routed_cluster_adopt - scopes from before the cluster (or from the state
 * file of a node that had none) become this node's, dated by their start */
void
routed_cluster_adopt(struct routed *rd)
{
    const struct sw_scope **v;
    struct sw_scope *s;
    size_t i, n;

    if (rd->cluster == NULL || (v = sw_route_sorted(rd->route, &n)) == NULL)
        return;
    for (i = 0; i < n; i++)
        if (v[i]->node[0] == '\0' && (s = sw_route_find_key(rd->route, v[i]->key)) != NULL) {
            (void) snprintf(s->node, sizeof(s->node), "%s", rd->conf->cluster.node);
            s->at = (long long) s->since * 1000;
        }
    free(v);
}

/* routed_cluster_decided - one decision of this node (routed_record) */
void
routed_cluster_decided(struct routed *rd, const struct sw_decision *d)
{
    struct routed_cluster *cl = rd->cluster;
    struct sw_scope *s;
    struct cl_relay *slot;
    long long now;

    if (cl == NULL || d->node[0] || local_only(d->event))
        return;
    now = cl_now_ms();
    if (strcmp(d->event, "relay") == 0) {
        if ((slot = cl_relay_slot(cl, d->scope + 6)) == NULL)
            return;
        slot->at = now;
        (void) snprintf(slot->node, sizeof(slot->node), "%s", rd->conf->cluster.node);
        cl_publish_relay(cl, d->scope + 6);
        return;
    }
    if ((s = sw_route_find_key(rd->route, d->scope)) != NULL) {
        (void) snprintf(s->node, sizeof(s->node), "%s", rd->conf->cluster.node);
        s->at = now;
        cl_tomb_remove(cl, d->scope);
    } else {
        cl_tomb_add(cl, d->scope, now, rd->conf->cluster.node);
    }
    cl_publish_scope(cl, d->scope, d);
}

/* routed_cluster_evidence - an observation this node accepted */
void
routed_cluster_evidence(struct routed *rd, const struct sw_observation *ob)
{
    struct sw_crec *r;

    if (rd->cluster == NULL || (r = calloc(1, sizeof(*r))) == NULL)
        return;
    r->type = SW_CREC_EVIDENCE;
    (void) snprintf(r->node, sizeof(r->node), "%s", rd->conf->cluster.node);
    r->at = cl_now_ms();
    r->ev = ob->ev;
    r->via_primary = ob->via_primary;
    (void) cl_publish(rd->cluster, r, NULL);
    free(r);
}

static const char *
phase_name(const struct routed_cluster *cl)
{
    if (!cl->degraded)
        return "ok";
    return cl->phase == CL_SYNCING ? "reconciling" : "degraded";
}

/* status_json - the member ,"cluster":{...} */
static void
status_json(const struct routed *rd, const struct routed_cluster *cl, struct sw_buf *out)
{
    const struct cl_peer *p;
    size_t i;

    sw_buf_adds(out, ",\"cluster\":{\"state\":");
    sw_buf_add_json(out, phase_name(cl));
    sw_buf_adds(out, ",\"node\":");
    sw_buf_add_json(out, rd->conf->cluster.node);
    sw_buf_adds(out, ",\"redis\":");
    sw_buf_add_json(out, cl->master_spec);
    sw_buf_adds(out, ",\"reason\":");
    sw_buf_add_json(out, cl->degraded ? cl->reason : "");
    sw_buf_printf(out, ",\"since\":%lld,\"rtt\":%.6f,\"dropped\":%lu,\"failures\":%lu",
                  (long long) cl->since, cl->rtt, cl->dropped, cl->failures);
    for (i = 0; i < 4; i++)
        sw_buf_printf(out, ",\"published_%s\":%lu,\"received_%s\":%lu",
                      sw_crec_type_name((enum sw_crec_type) i), cl->published[i],
                      sw_crec_type_name((enum sw_crec_type) i), cl->received[i]);
    for (i = 0; i < CL_REJ_N; i++)
        sw_buf_printf(out, ",\"rejected_%s\":%lu", cl_reject_name((enum cl_reject) i),
                      cl->rejected[i]);
    sw_buf_adds(out, ",\"peers\":[");
    for (i = 0; i < cl->npeers; i++) {
        p = &cl->peers[i];
        sw_buf_printf(out, "%s{\"node\":", i ? "," : "");
        sw_buf_add_json(out, p->node);
        sw_buf_printf(out,
                      ",\"last\":%lld,\"alive\":%s,\"started\":%lld,\"scopes\":%ld,"
                      "\"state\":",
                      (long long) p->last, cl_peer_alive(cl, p) ? "true" : "false",
                      (long long) p->started, p->scopes);
        sw_buf_add_json(out, p->state);
        sw_buf_addc(out, '}');
    }
    sw_buf_adds(out, "]}");
}

/* status_text - the block of spillwayctl status */
static void
status_text(const struct routed *rd, const struct routed_cluster *cl, struct sw_buf *out)
{
    const struct cl_peer *p;
    size_t i;

    sw_buf_printf(out, "cluster: %s, node %s, redis %s%s, rtt %.1f ms", phase_name(cl),
                  rd->conf->cluster.node, cl->master_spec[0] ? cl->master_spec : "-",
                  rd->conf->cluster.sentinels.n ? " (from sentinel)" : "", cl->rtt * 1000);
    if (cl->degraded && cl->phase != CL_SYNCING)
        sw_buf_printf(out, " (%s)", cl->reason[0] ? cl->reason : "connecting");
    sw_buf_printf(out,
                  "\n  records published: ev %lu, dec %lu, relay %lu, hello %lu; "
                  "received: ev %lu, dec %lu, relay %lu, hello %lu\n",
                  cl->published[0], cl->published[1], cl->published[2], cl->published[3],
                  cl->received[0], cl->received[1], cl->received[2], cl->received[3]);
    sw_buf_printf(out,
                  "  refused: signature %lu, malformed %lu, unknown %lu, stale %lu; "
                  "dropped %lu; link failures %lu\n",
                  cl->rejected[0], cl->rejected[1], cl->rejected[2], cl->rejected[3], cl->dropped,
                  cl->failures);
    for (i = 0; i < cl->npeers; i++) {
        p = &cl->peers[i];
        sw_buf_printf(out, "  peer %-16s last contact %.0fs ago%s, %ld scopes, %s\n", p->node,
                      cl_mono() - p->last_mono, cl_peer_alive(cl, p) ? "" : " (gone)", p->scopes,
                      p->state);
    }
    sw_buf_addc(out, '\n');
}

/* routed_cluster_status - status: a text block, or the JSON member
 * "cluster":{...} (nothing at all without a cluster) */
void
routed_cluster_status(const struct routed *rd, bool json, struct sw_buf *out)
{
    if (rd->cluster == NULL)
        return;
    if (json)
        status_json(rd, rd->cluster, out);
    else
        status_text(rd, rd->cluster, out);
}

/* routed_cluster_metrics - the spillway_cluster_* families */
bool
routed_cluster_metrics(const struct routed *rd, struct sw_buf *b)
{
    const struct routed_cluster *cl = rd->cluster;
    const char *l[5];
    bool ok;
    size_t i;

    if (cl == NULL)
        return true;
    ok = sw_metrics_family(b, "spillway_cluster_up", SW_METRIC_GAUGE,
                           "1 while the link to Redis is up and reconciled")
         && sw_metrics_sample(b, "spillway_cluster_up", NULL, cl->degraded ? 0 : 1)
         && sw_metrics_family(b, "spillway_cluster_peers", SW_METRIC_GAUGE,
                              "peers heard from within cluster.peer_timeout")
         && sw_metrics_sample(b, "spillway_cluster_peers", NULL, (double) cl_peers_alive(cl))
         && sw_metrics_family(b, "spillway_cluster_rtt_seconds", SW_METRIC_GAUGE,
                              "round trip of the last Redis call")
         && sw_metrics_sample(b, "spillway_cluster_rtt_seconds", NULL, cl->rtt)
         && sw_metrics_family(b, "spillway_cluster_records_published_total", SW_METRIC_COUNTER,
                              "records written to Redis, by type")
         && sw_metrics_family(b, "spillway_cluster_records_received_total", SW_METRIC_COUNTER,
                              "peers' records taken, by type");
    for (i = 0; ok && i < 4; i++) {
        l[0] = "type";
        l[1] = sw_crec_type_name((enum sw_crec_type) i);
        l[2] = NULL;
        ok = sw_metrics_sample(b, "spillway_cluster_records_published_total", l,
                               (double) cl->published[i])
             && sw_metrics_sample(b, "spillway_cluster_records_received_total", l,
                                  (double) cl->received[i]);
    }
    ok = ok
         && sw_metrics_family(b, "spillway_cluster_records_rejected_total", SW_METRIC_COUNTER,
                              "records read from Redis and refused, by reason");
    for (i = 0; ok && i < CL_REJ_N; i++) {
        l[0] = "reason";
        l[1] = cl_reject_name((enum cl_reject) i);
        l[2] = NULL;
        ok = sw_metrics_sample(b, "spillway_cluster_records_rejected_total", l,
                               (double) cl->rejected[i]);
    }
    return ok
           && sw_metrics_family(b, "spillway_cluster_records_dropped_total", SW_METRIC_COUNTER,
                                "records not written: Redis down or calls at cluster.queue")
           && sw_metrics_sample(b, "spillway_cluster_records_dropped_total", NULL,
                                (double) cl->dropped)
           && sw_metrics_family(b, "spillway_cluster_link_failures_total", SW_METRIC_COUNTER,
                                "times the link to Redis failed")
           && sw_metrics_sample(b, "spillway_cluster_link_failures_total", NULL,
                                (double) cl->failures);
}
