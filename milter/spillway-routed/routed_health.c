/* routed_health.c - resolve every relay, probe every address, apply */

/*
 * The glue of DESIGN.md 6 on spillway-routed's loop: a one-second tick
 * starts what is due (a resolution when the TTL ran out, a probe when an
 * address's next time came), c-ares and the probes call back, and the
 * pure state in health.c decides what changed.  A change is logged once,
 * then routing follows: scopes leave an alternate that went down (if
 * another is eligible; else they wait on the primary, held), and the
 * tables are rendered again (a partial relay is named by its up
 * addresses).  Lookups never wait on any of this: they read rd->health,
 * and the loop serves them before probe steps (routed_main.c, new_base).
 * Resolution is in routed_resolve.c.
 *
 * Owns: the health array (rd->health points to it, indexed like
 * conf->relays and rebuilt on reload), the DNS channel for relay names,
 * the probes in flight, the TLS contexts (one per CA file).
 */
#include "config.h"

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "routed.h"
#include "routed_dns.h"
#include "routed_health_impl.h"
#include "routed_probe.h"

struct inflight {
    struct routed_health *hm;
    unsigned gen;
    size_t relay;
    char ip[SW_IP_MAX + 1];
    struct routed_probe *probe;
    struct inflight *prev, *next;
};

struct tlsctx {
    char *ca_file; /* NULL: default paths */
    SSL_CTX *ctx;
};

/* ---------------------------------------------------------------- TLS */

/* tls_for - the shared client context for a CA file */
static SSL_CTX *
tls_for(struct routed_health *hm, const char *ca_file)
{
    struct tlsctx *t;
    SSL_CTX *ctx;
    size_t i;

    for (i = 0; i < hm->ntls; i++)
        if ((ca_file == NULL && hm->tls[i].ca_file == NULL)
            || (ca_file && hm->tls[i].ca_file && strcmp(ca_file, hm->tls[i].ca_file) == 0))
            return hm->tls[i].ctx;
    if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
        return NULL;
    if (ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1
                : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        sw_error("health: cannot load CA certificates from %s: STARTTLS probes will fail",
                 ca_file ? ca_file : "OpenSSL's default paths");
    }
    if ((t = realloc(hm->tls, (hm->ntls + 1) * sizeof(*t))) == NULL) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    hm->tls = t;
    t[hm->ntls].ca_file = ca_file ? strdup(ca_file) : NULL;
    t[hm->ntls].ctx = ctx;
    hm->ntls++;
    return ctx;
}

/* tls_free - every context */
static void
tls_free(struct routed_health *hm)
{
    size_t i;

    for (i = 0; i < hm->ntls; i++) {
        SSL_CTX_free(hm->tls[i].ctx);
        free(hm->tls[i].ca_file);
    }
    free(hm->tls);
    hm->tls = NULL;
    hm->ntls = 0;
}

/* ---------------------------------------------------------------- effects */

/* log_state - one line when a relay's state changes */
static bool
log_state(struct routed_health *hm, size_t i)
{
    const struct sw_relay *r = &hm->rd->conf->relays[i];
    enum sw_rstate st = sw_health_state(&hm->h[i], NULL);
    char sum[160];

    if (st == hm->rt[i].state)
        return false;
    sw_health_summary(&hm->h[i], sum, sizeof(sum));
    if (st == SW_RSTATE_DOWN)
        sw_warn("relay: name=%s role=%s state=%s was=%s health=\"%s\" eligible=no", r->name,
                r->role == SW_ROLE_PRIMARY ? "primary" : "alternate", sw_rstate_name(st),
                sw_rstate_name(hm->rt[i].state), sum);
    else
        sw_info("relay: name=%s role=%s state=%s was=%s health=\"%s\"%s", r->name,
                r->role == SW_ROLE_PRIMARY ? "primary" : "alternate", sw_rstate_name(st),
                sw_rstate_name(hm->rt[i].state), sum,
                st == SW_RSTATE_PARTIAL ? " answers=up-addresses" : "");
    hm->rt[i].state = st;
    return true;
}

/* apply - routing follows a change of health */
static void
apply(struct routed_health *hm)
{
    struct routed *rd = hm->rd;

    routed_revalidate(rd, time(NULL), "health", false);
    routed_changed(rd);
}

/* addresses_changed - routed_resolve.c found another address set for relay i */
static void
addresses_changed(struct routed_health *hm, size_t i)
{
    (void) log_state(hm, i);
    routed_dnsbl_relays_changed(hm->rd);
    apply(hm);
}

/* ---------------------------------------------------------------- timing */

/* jitter - up to a tenth of the interval added to the next probe */
static time_t
jitter(const struct sw_probe_conf *pc)
{
    return pc->interval >= 10 ? (time_t) arc4random_uniform((uint32_t) (pc->interval / 10 + 1)) : 0;
}

/* ---------------------------------------------------------------- probes */

/* unlink_probe - take a probe off the list */
static void
unlink_probe(struct routed_health *hm, struct inflight *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        hm->probes = f->next;
    if (f->next)
        f->next->prev = f->prev;
}

/* log_address - one line per change of an address's state */
static void
log_address(struct routed_health *hm, size_t i, const struct sw_haddr *a, enum sw_hstate was,
            const struct routed_probe_result *res)
{
    const struct sw_relay *r = &hm->rd->conf->relays[i];
    struct sw_buf line;
    char sum[160];

    sw_health_summary(&hm->h[i], sum, sizeof(sum));
    sw_buf_init(&line, 1024);
    if (a->state == SW_HSTATE_DOWN) {
        (void) sw_buf_adds(&line, " probe=\"");
        (void) sw_buf_add_escaped(&line, res->why, SW_HEALTH_WHY_MAX);
        (void) sw_buf_printf(&line, "\" fails=%d next=%lds", a->fails, (long) (a->next - a->last));
        sw_warn("health: relay=%s address=%s state=%s was=%s%s relay_health=\"%s\"", r->name,
                a->ip, sw_hstate_name(a->state), sw_hstate_name(was), sw_buf_str(&line), sum);
    } else {
        (void) sw_buf_printf(&line, " ms=%ld/%ld/%ld/%ld/%ld%s%s", res->ms[SW_MARK_CONNECT],
                             res->ms[SW_MARK_BANNER], res->ms[SW_MARK_EHLO], res->ms[SW_MARK_TLS],
                             res->ms[SW_MARK_DONE], res->tls[0] ? " tls=" : "", res->tls);
        sw_info("health: relay=%s address=%s state=%s was=%s%s relay_health=\"%s\"", r->name,
                a->ip, sw_hstate_name(a->state), sw_hstate_name(was), sw_buf_str(&line), sum);
    }
    sw_buf_free(&line);
}

/* probe_cb - a probe finished */
static void
probe_cb(const struct routed_probe_result *res, void *arg)
{
    struct inflight *f = arg;
    struct routed_health *hm = f->hm;
    struct sw_relay_health *h;
    struct sw_haddr *a = NULL;
    enum sw_hstate was;
    bool changed;
    size_t k;

    unlink_probe(hm, f);
    if (f->gen != hm->gen || f->relay >= hm->n) {
        free(f);
        return;
    }
    h = &hm->h[f->relay];
    for (k = 0; k < h->naddrs; k++)
        if (strcmp(h->addr[k].ip, f->ip) == 0)
            a = &h->addr[k];
    if (a != NULL) {
        was = a->state;
        if (res->ok) {
            memcpy(a->ms, res->ms, sizeof(a->ms));
            SW_COPY(a->tls, res->tls);
        }
        changed = sw_health_result(a, &hm->rd->conf->relays[f->relay].probe, res->ok, res->why,
                                   time(NULL));
        a->next += jitter(&hm->rd->conf->relays[f->relay].probe);
        if (changed) {
            log_address(hm, f->relay, a, was, res);
            (void) log_state(hm, f->relay);
            apply(hm);
        } else if (!res->ok) {
            sw_debug("health: relay=%s address=%s probe failed (%d in a row): %s",
                     hm->rd->conf->relays[f->relay].name, a->ip, a->fails, res->why);
        }
    }
    free(f);
}

/* start_probe - one address of relay i */
static void
start_probe(struct routed_health *hm, size_t i, struct sw_haddr *a)
{
    const struct sw_relay *r = &hm->rd->conf->relays[i];
    const struct sw_probe_conf *pc = &r->probe;
    SSL_CTX *ctx = pc->starttls ? tls_for(hm, pc->ca_file) : NULL;
    struct inflight *f = calloc(1, sizeof(*f));
    struct routed_probe *pr;

    if (f == NULL)
        return;
    f->hm = hm;
    f->gen = hm->gen;
    f->relay = i;
    SW_COPY(f->ip, a->ip);
    f->next = hm->probes;
    if (hm->probes)
        hm->probes->prev = f;
    hm->probes = f;
    a->in_flight = true;
    /* On a NULL return the callback has run and f is gone. */
    pr = routed_probe_start(hm->rd->base, a->ip, r->port, pc->name ? pc->name : a->name,
                            pc->helo ? pc->helo : hm->helo, pc, ctx, probe_cb, f);
    if (pr)
        f->probe = pr;
}

/* tick_cb - start what is due */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_health *hm = arg;
    time_t now = time(NULL);
    struct sw_relay_health *h;
    size_t i, k;

    (void) fd;
    (void) what;
    for (i = 0; i < hm->n; i++) {
        h = &hm->h[i];
        if (hm->rt[i].next_resolve <= now)
            routed_resolve(hm, i, now);
        if (!h->probed)
            continue;
        for (k = 0; k < h->naddrs; k++)
            if (!h->addr[k].in_flight && h->addr[k].next <= now)
                start_probe(hm, i, &h->addr[k]);
    }
}

/* ---------------------------------------------------------------- life */

/* cancel_all - every probe in flight, without callbacks */
static void
cancel_all(struct routed_health *hm)
{
    struct inflight *f, *next;

    for (f = hm->probes; f; f = next) {
        next = f->next;
        routed_probe_cancel(f->probe);
        free(f);
    }
    hm->probes = NULL;
}

/* open_dns - the channel for relay names */
static void
open_dns(struct routed_health *hm)
{
    const struct sw_conf *c = hm->rd->conf;
    struct sw_buf err;

    sw_buf_init(&err, 1024);
    if ((hm->dns = routed_dns_new(hm->rd->base, c->dns.resolver, c->dns.timeout, &err)) == NULL)
        sw_error("dns: %s: relay names are not resolved, their health is unknown",
                 sw_buf_str(&err));
    sw_buf_free(&err);
}

/* build - arrays for the current config; old entries follow relays by
 * name when the nexthop and probe are the same */
static bool
build(struct routed_health *hm, const struct sw_conf *old)
{
    const struct sw_conf *c = hm->rd->conf;
    struct sw_relay_health *h = calloc(c->nrelays + 1, sizeof(*h));
    struct relay_rt *rt = calloc(c->nrelays + 1, sizeof(*rt));
    const struct sw_relay *was;
    size_t i, k;

    if (h == NULL || rt == NULL) {
        free(h);
        free(rt);
        return false;
    }
    for (i = 0; i < c->nrelays; i++) {
        was = old ? sw_conf_relay(old, c->relays[i].name) : NULL;
        if (was && hm->h && strcmp(was->nexthop, c->relays[i].nexthop) == 0
            && was->probe.enabled == c->relays[i].probe.enabled) {
            h[i] = hm->h[was - old->relays];
            rt[i] = hm->rt[was - old->relays];
            for (k = 0; k < h[i].naddrs; k++)
                h[i].addr[k].in_flight = false; /* cancelled */
            if (rt[i].pending > 0)
                rt[i].next_resolve = 0; /* its queries died with the channel */
            rt[i].pending = 0;
        } else {
            rt[i].state = c->relays[i].probe.enabled ? SW_RSTATE_UNKNOWN : SW_RSTATE_UNPROBED;
        }
        h[i].probed = c->relays[i].probe.enabled;
    }
    free(hm->h);
    free(hm->rt);
    hm->h = h;
    hm->rt = rt;
    hm->n = c->nrelays;
    hm->rd->health = h;
    return true;
}

/* routed_health_start - resolve and probe from now on */
struct routed_health *
routed_health_start(struct routed *rd)
{
    struct routed_health *hm = calloc(1, sizeof(*hm));
    struct timeval one = { 1, 0 };

    if (hm == NULL)
        return NULL;
    hm->rd = rd;
    hm->addresses_changed = addresses_changed;
    if (gethostname(hm->helo, sizeof(hm->helo) - 1) != 0 || hm->helo[0] == '\0')
        SW_COPY(hm->helo, "localhost");
    if (!build(hm, NULL) || (hm->tick = event_new(rd->base, -1, EV_PERSIST, tick_cb, hm)) == NULL
        || event_add(hm->tick, &one) < 0) {
        routed_health_stop(hm);
        return NULL;
    }
    open_dns(hm);
    return hm;
}

/* routed_health_reload - rd->conf is the new generation, old the last */
void
routed_health_reload(struct routed_health *hm, const struct sw_conf *old)
{
    if (hm == NULL)
        return;
    cancel_all(hm);
    hm->gen++;
    routed_dns_free(hm->dns); /* stale callbacks see DNS_CANCELLED */
    hm->dns = NULL;
    tls_free(hm);
    if (!build(hm, old))
        sw_error("health: out of memory at reload: health state kept as it was");
    open_dns(hm);
}

/* routed_health_stop - cancel and free */
void
routed_health_stop(struct routed_health *hm)
{
    if (hm == NULL)
        return;
    cancel_all(hm);
    routed_probe_cancel_all();
    hm->gen++;
    routed_dns_free(hm->dns);
    if (hm->tick)
        event_free(hm->tick);
    tls_free(hm);
    hm->rd->health = NULL;
    free(hm->h);
    free(hm->rt);
    free(hm);
}
