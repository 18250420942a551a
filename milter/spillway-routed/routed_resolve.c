/* routed_resolve.c - a relay's nexthop to addresses (c-ares answers) */

/*
 * One resolution ("round") per relay at a time: A and AAAA for a
 * bracketed name, MX first otherwise (then A/AAAA of up to MX_HOSTS
 * hosts, or of the name itself when it has no MX), nothing for an IP
 * literal.  When the round's last answer is in, the address set is
 * merged into the relay's health (health.c) and the next round is due
 * at the TTL, bounded by dns.min_ttl and dns.max_ttl.  A resolver error
 * keeps the old addresses; NXDOMAIN empties the set.  A changed set is
 * reported through hm->addresses_changed: this file calls nothing of
 * routed_health.c, which calls it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "routed_dns.h"
#include "routed_health_impl.h"

#define MX_HOSTS 4 /* MX hosts of one relay that are resolved */

struct qarg {
    struct routed_health *hm;
    unsigned gen, round;
    size_t relay;
    int type;
    char host[SW_HOST_MAX + 1];
};

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
                                      (const char (*)[SW_HOST_MAX + 1]) rt->names, rt->n, now);
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
                sw_warn("dns: relay=%s name=%s error=\"%s\" keeping=%zu", c->relays[i].name, name,
                        rt->error, h->naddrs);
            SW_COPY(h->dns_error, rt->error);
            return;
        }
        const char *error = rt->nx ? "NXDOMAIN" : rt->error[0] ? rt->error : "no address";

        changed = h->naddrs > 0 || !h->resolved || strcmp(h->dns_error, error) != 0;
        (void) sw_health_set_addrs(h, NULL, NULL, 0, now);
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
        sw_warn("dns: relay=%s name=%s addresses=none error=\"%s\"", c->relays[i].name, name,
                h->dns_error);
    sw_buf_free(&line);
    hm->addresses_changed(hm, i);
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

/* routed_resolve - start a resolution of relay i */
void
routed_resolve(struct routed_health *hm, size_t i, time_t now)
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

