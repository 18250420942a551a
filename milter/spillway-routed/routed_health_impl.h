/* routed_health_impl.h - what routed_health.c and routed_resolve.c share */
#ifndef SW_ROUTED_HEALTH_IMPL_H
#define SW_ROUTED_HEALTH_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "global/health.h"
#include "routed.h"

/*
 * Internal to spillway-routed's health code: routed_health.c schedules
 * and probes, routed_resolve.c turns a relay's nexthop into addresses.
 */
struct routed_dns;
struct inflight;
struct tlsctx;

/* A relay's resolution and last logged state, indexed like conf->relays. */
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
    /* Set by routed_health.c; routed_resolve.c calls it when a relay's
     * address set changed (calls go one way: health, then resolve). */
    void (*addresses_changed)(struct routed_health *hm, size_t relay);
};

/* routed_resolve.c: start resolving relay i (answers arrive on the loop). */
void routed_resolve(struct routed_health *hm, size_t i, time_t now);

#endif
