/* routed_cluster_out.c - records out: batched into one call per loop turn */

/*
 * What a node writes in one turn of the event loop (a burst of mail log
 * lines, a batch of evidence datagrams, a reconcile's re-assertions) goes
 * to Redis in at most three calls: one XADD whose entry holds every record
 * (a field "r" each), one HSET of the decisions, one HSET of the relays.
 * That keeps the calls in flight, which cluster.queue bounds, few under a
 * burst.  A batch holds CL_BATCH records; a full one goes at once.
 * While the link is down nothing is kept: the records are dropped and
 * counted, and the reconcile that follows the link's return repairs the
 * decisions.
 */
#include "config.h"

#include <event2/event.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "routed_cluster.h"

/* drop - empty the outbox, counting its records as dropped */
static void
drop(struct cl_outbox *o, struct routed_cluster *cl, bool count)
{
    size_t i;

    for (i = 0; i < o->n; i++) {
        free(o->rec[i]);
        free(o->field[i]);
    }
    if (count)
        cl->dropped += o->n;
    o->n = 0;
}

/* hset - one HSET of every record of the batch of type t that has a field */
static void
hset(struct routed_cluster *cl, enum sw_crec_type t, const char *name)
{
    struct cl_outbox *o = &cl->out;
    const char *argv[2 + 2 * CL_BATCH];
    size_t lens[2 + 2 * CL_BATCH], i, argc = 2;
    char hk[128];

    argv[0] = "HSET";
    argv[1] = cl_key(cl, name, hk, sizeof(hk));
    for (i = 0; i < o->n; i++)
        if (o->type[i] == t && o->field[i]) {
            argv[argc] = o->field[i];
            lens[argc++] = strlen(o->field[i]);
            argv[argc] = o->rec[i];
            lens[argc++] = o->len[i];
        }
    if (argc == 2)
        return;
    lens[0] = 4;
    lens[1] = strlen(argv[1]);
    (void) cl_call(&cl->cmd, cl_ignore_cb, (int) argc, argv, lens);
}

/* cl_flush - the batch to Redis now */
void
cl_flush(struct routed_cluster *cl)
{
    struct cl_outbox *o = &cl->out;
    const char *argv[6 + 2 * CL_BATCH];
    size_t lens[6 + 2 * CL_BATCH], i, argc = 6;
    char sk[128], max[24];

    if (o->n == 0)
        return;
    if (cl->phase != CL_UP && cl->phase != CL_SYNCING) {
        drop(o, cl, true);
        return;
    }
    hset(cl, SW_CREC_DECISION, "decisions");
    hset(cl, SW_CREC_RELAY, "relays");
    (void) snprintf(max, sizeof(max), "%ld", cl->rd->conf->cluster.stream_max);
    argv[0] = "XADD";
    argv[1] = cl_key(cl, "stream", sk, sizeof(sk));
    argv[2] = "MAXLEN";
    argv[3] = "~";
    argv[4] = max;
    argv[5] = "*";
    for (i = 0; i < 6; i++)
        lens[i] = strlen(argv[i]);
    for (i = 0; i < o->n; i++) {
        argv[argc] = "r";
        lens[argc++] = 1;
        argv[argc] = o->rec[i];
        lens[argc++] = o->len[i];
    }
    if (cl_call(&cl->cmd, cl_ignore_cb, (int) argc, argv, lens)) {
        for (i = 0; i < o->n; i++)
            cl->published[o->type[i]]++;
        drop(o, cl, false);
    } else {
        cl->dropped--; /* cl_call counted the call: count the records */
        drop(o, cl, true);
    }
}

/* flush_cb - the end of the loop turn that filled the batch */
static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    cl_flush(arg);
}

/* cl_publish - one record into the batch (for dec and relay records also
 * the hash under field: the scope, the relay) */
bool
cl_publish(struct routed_cluster *cl, const struct sw_crec *r, const char *field)
{
    struct cl_outbox *o = &cl->out;
    struct timeval now = { 0, 0 };
    struct sw_buf b;

    if (cl->phase != CL_UP && cl->phase != CL_SYNCING) {
        cl->dropped++;
        return false;
    }
    if (o->ev == NULL && (o->ev = evtimer_new(cl->rd->base, flush_cb, cl)) == NULL) {
        cl->dropped++;
        return false;
    }
    sw_buf_init(&b, 1024);
    if (!sw_crec_encode(r, &cl->keys, &b)) {
        sw_warn("cluster: a %s record does not fit: not shared", sw_crec_type_name(r->type));
        sw_buf_free(&b);
        return false;
    }
    o->field[o->n] = NULL;
    if ((o->rec[o->n] = strdup(sw_buf_str(&b))) == NULL
        || (field && (o->field[o->n] = strdup(field)) == NULL)) {
        free(o->rec[o->n]);
        sw_buf_free(&b);
        cl->dropped++;
        return false;
    }
    o->len[o->n] = b.len;
    o->type[o->n] = r->type;
    o->n++;
    sw_buf_free(&b);
    if (o->n == CL_BATCH)
        cl_flush(cl);
    else if (!evtimer_pending(o->ev, NULL))
        (void) evtimer_add(o->ev, &now);
    return true;
}

/* cl_outbox_free - at stop: what was not written is dropped */
void
cl_outbox_free(struct routed_cluster *cl)
{
    drop(&cl->out, cl, true);
    if (cl->out.ev)
        event_free(cl->out.ev);
    cl->out.ev = NULL;
}
