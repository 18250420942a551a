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
 *
 * Owns: the health array (rd->health points to it, indexed like
 * conf->relays and rebuilt on reload), the DNS channel for relay names,
 * the probes in flight, the TLS contexts (one per CA file).
 */
#include "config.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "routed.h"
#include "routed_dns.h"
#include "routed_probe.h"

#define MX_HOSTS 4 /* MX hosts of one relay that are resolved */

struct relay_rt {
    time_t next_resolve;
    unsigned round; /* id of the resolution in progress */
    int pending;    /* its queries not yet answered */
    bool failed, nx;
    char error[64];
    long ttl;
    size_t n;
    char ips[SW_HEALTH_ADDRS][SW_IP_MAX + 1];
    char names[SW_HEALTH_ADDRS][SW_HOST_MAX + 1];
    enum sw_rstate state; /* last logged */
};

struct inflight {
    struct routed_health *hm;
    unsigned gen;
    size_t relay;
    char ip[SW_IP_MAX + 1];
    struct routed_probe *probe;
    struct inflight *prev, *next;
};

struct qarg {
    struct routed_health *hm;
    unsigned gen, round;
    size_t relay;
    int type;
    char host[SW_HOST_MAX + 1];
};

struct tlsctx {
    char *ca_file; /* NULL: default paths */
    SSL_CTX *ctx;
};

struct routed_health {
    struct routed *rd;
    struct routed_dns *dns;
    struct event *tick;
    struct sw_relay_health *h;
    struct relay_rt *rt;
    size_t n;
    unsigned gen;
    struct inflight *probes;
    struct tlsctx *tls;
    size_t ntls;
    char helo[SW_HOST_MAX + 1];
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

/* log_relay_state - one line when a relay's state changes */
static bool
log_relay_state(struct routed_health *hm, size_t i)
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

    routed_revalidate(rd, time(NULL), "health");
    routed_changed(rd);
}

/* ---------------------------------------------------------------- DNS */

/* spread - seconds before a new address's first probe, at random within
 * the interval (at most 5 s): probes started in one tick would otherwise
 * stay in lock step, and a batch of TLS handshakes is CPU the loop's
 * other work waits for */
static time_t
spread(const struct sw_probe_conf *pc)
{
    long span = pc->interval < 5 ? pc->interval : 5;

    return span > 1 ? (time_t) arc4random_uniform((uint32_t) span) : 0;
}

/* jitter - up to a tenth of the interval added to the next probe */
static time_t
jitter(const struct sw_probe_conf *pc)
{
    return pc->interval >= 10 ? (time_t) arc4random_uniform((uint32_t) (pc->interval / 10 + 1)) : 0;
}

/* finish_round - every query of a resolution has answered */
static void
finish_round(struct routed_health *hm, size_t i, time_t now)
{
    struct relay_rt *rt = &hm->rt[i];
    struct sw_relay_health *h = &hm->h[i];
    const struct sw_conf *c = hm->rd->conf;
    const char *name = c->relays[i].host;
    long ttl = rt->ttl < c->dns.min_ttl ? c->dns.min_ttl
               : rt->ttl > c->dns.max_ttl ? c->dns.max_ttl
                                          : rt->ttl;
    struct sw_buf line;
    bool changed = false;
    size_t k;

    if (rt->n > 0) {
        changed = sw_health_set_addrs(h, (const char (*)[SW_IP_MAX + 1]) rt->ips,
                                      (const char (*)[SW_HOST_MAX + 1]) rt->names, rt->n, now + ttl,
                                      now);
        for (k = 0; k < h->naddrs; k++)
            if (h->addr[k].last == 0 && !h->addr[k].in_flight)
                h->addr[k].next = now + spread(&c->relays[i].probe);
        h->dns_error[0] = '\0';
        rt->next_resolve = now + ttl;
    } else {
        rt->next_resolve = now + c->dns.min_ttl;
        if (rt->failed && h->naddrs > 0) {
            /* A resolver error is not an answer: the old addresses stay. */
            if (strcmp(h->dns_error, rt->error) != 0)
                sw_warn("dns: relay=%s name=%s error=%s keeping=%zu", c->relays[i].name, name,
                        rt->error, h->naddrs);
            SW_COPY(h->dns_error, rt->error);
            return;
        }
        const char *error = rt->nx ? "NXDOMAIN" : rt->error[0] ? rt->error : "no address";

        changed = h->naddrs > 0 || !h->resolved || strcmp(h->dns_error, error) != 0;
        (void) sw_health_set_addrs(h, NULL, NULL, 0, 0, now);
        SW_COPY(h->dns_error, error);
    }
    if (!changed)
        return;
    sw_buf_init(&line, 2048);
    for (k = 0; k < h->naddrs; k++)
        (void) sw_buf_printf(&line, "%s%s", k ? "," : "", h->addr[k].ip);
    if (h->naddrs)
        sw_info("dns: relay=%s name=%s addresses=%s ttl=%ld", c->relays[i].name, name,
                sw_buf_str(&line), ttl);
    else
        sw_warn("dns: relay=%s name=%s addresses=none error=%s", c->relays[i].name, name,
                h->dns_error);
    sw_buf_free(&line);
    (void) log_relay_state(hm, i);
    apply(hm);
}

/* add_answers - addresses of one A/AAAA answer */
static void
add_answers(struct relay_rt *rt, const struct routed_dns_answer *a, const char *host)
{
    size_t k;

    for (k = 0; k < a->n && rt->n < SW_HEALTH_ADDRS; k++) {
        SW_COPY(rt->ips[rt->n], a->addr[k]);
        SW_COPY(rt->names[rt->n], host);
        rt->n++;
    }
    if (a->n && (rt->ttl == 0 || a->ttl < rt->ttl))
        rt->ttl = a->ttl;
}

static void query(struct routed_health *hm, size_t i, const char *host, int type);

/* dns_cb - one answer of a relay's resolution */
static void
dns_cb(const struct routed_dns_answer *a, void *arg)
{
    struct qarg *q = arg;
    struct routed_health *hm = q->hm;
    struct relay_rt *rt;
    size_t k, i = q->relay;

    if (a->status == DNS_CANCELLED || q->gen != hm->gen || i >= hm->n
        || hm->rt[i].round != q->round) {
        free(q);
        return;
    }
    rt = &hm->rt[i];
    rt->pending--;
    if (q->type == 15 && a->status == DNS_OK) {
        for (k = 0; k < a->n && k < MX_HOSTS; k++) {
            query(hm, i, a->host[k], 1);
            query(hm, i, a->host[k], 28);
        }
    } else if (q->type == 15 && a->status == DNS_NODATA) {
        /* No MX records: the name itself is the mail host (RFC 5321 5.1). */
        query(hm, i, q->host, 1);
        query(hm, i, q->host, 28);
    } else if (a->status == DNS_OK) {
        add_answers(rt, a, q->host);
    } else if (a->status == DNS_NXDOMAIN) {
        rt->nx = true;
    } else if (a->status == DNS_FAILED) {
        rt->failed = true;
        SW_COPY(rt->error, a->error);
    }
    free(q);
    if (rt->pending == 0)
        finish_round(hm, i, time(NULL));
}

/* query - one query of the current round */
static void
query(struct routed_health *hm, size_t i, const char *host, int type)
{
    struct qarg *q = calloc(1, sizeof(*q));

    if (q == NULL) {
        hm->rt[i].failed = true;
        SW_COPY(hm->rt[i].error, "out of memory");
        return;
    }
    q->hm = hm;
    q->gen = hm->gen;
    q->round = hm->rt[i].round;
    q->relay = i;
    q->type = type;
    SW_COPY(q->host, host);
    hm->rt[i].pending++;
    routed_dns_query(hm->dns, host, type, dns_cb, q);
}

/* is_literal - a bracketed IP address needs no DNS */
static bool
is_literal(const struct sw_relay *r)
{
    unsigned char b[16];

    return !r->mx
           && (inet_pton(AF_INET, r->host, b) == 1 || inet_pton(AF_INET6, r->host, b) == 1);
}

/* resolve - start a resolution of relay i */
static void
resolve(struct routed_health *hm, size_t i, time_t now)
{
    const struct sw_relay *r = &hm->rd->conf->relays[i];
    struct relay_rt *rt = &hm->rt[i];

    if (r->host == NULL || rt->pending > 0)
        return;
    if (is_literal(r)) {
        SW_COPY(rt->ips[0], r->host);
        SW_COPY(rt->names[0], r->probe.name ? r->probe.name : r->host);
        rt->n = 1;
        rt->ttl = hm->rd->conf->dns.max_ttl;
        finish_round(hm, i, now);
        return;
    }
    if (hm->dns == NULL) {
        rt->next_resolve = now + hm->rd->conf->dns.min_ttl;
        return;
    }
    rt->round++;
    rt->n = 0;
    rt->ttl = 0;
    rt->failed = rt->nx = false;
    rt->error[0] = '\0';
    rt->next_resolve = now + hm->rd->conf->dns.max_ttl; /* until the answers say */
    if (r->mx) {
        query(hm, i, r->host, 15);
    } else {
        query(hm, i, r->host, 1);
        query(hm, i, r->host, 28);
    }
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
            (void) log_relay_state(hm, f->relay);
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
            resolve(hm, i, now);
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

/* routed_health_dns_pending - for status */
size_t
routed_health_dns_pending(const struct routed_health *hm)
{
    return hm ? routed_dns_pending(hm->dns) : 0;
}
