/* health.h - relay health from probes and DNSBL listings: pure state */
#ifndef SW_HEALTH_H
#define SW_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "global/conf.h"

/*
 * DESIGN.md 6.  Each address a relay's nexthop resolves to has a state,
 * changed only by `fall` consecutive failed probes (up to down) or `rise`
 * consecutive good ones (down to up); the first result of an unknown
 * address decides at once.  A down address is probed again with an
 * exponential back-off (interval doubled per failure, capped at
 * backoff_max); an address on its way to a change is re-checked after a
 * quarter of the interval, so a change is confirmed quickly.
 *
 * A relay is: unprobed (no probe configured: usable), unknown (nothing
 * known yet: usable, since nothing says otherwise), up, partial (some
 * addresses up, some down: answers name the up ones), down (resolution
 * failed, or every address probed and down: not usable), and listed
 * (one of its addresses is on a DNSBL: not usable as an alternate).
 *
 * Nothing here reads a clock, logs or does I/O.  The arrays are fixed:
 * a relay keeps at most SW_HEALTH_ADDRS addresses.
 */
#define SW_HEALTH_ADDRS   16
#define SW_HEALTH_WHY_MAX 200
#define SW_IP_MAX         46 /* INET6_ADDRSTRLEN */
#define SW_HOST_MAX       255

enum sw_hstate { SW_HSTATE_UNKNOWN, SW_HSTATE_UP, SW_HSTATE_DOWN };
enum sw_rstate { SW_RSTATE_UNPROBED, SW_RSTATE_UNKNOWN, SW_RSTATE_UP, SW_RSTATE_PARTIAL,
                 SW_RSTATE_DOWN };

/* Timings of the last good probe, milliseconds from the start. */
enum sw_probe_mark { SW_MARK_CONNECT, SW_MARK_BANNER, SW_MARK_EHLO, SW_MARK_TLS, SW_MARK_DONE,
                     SW_MARKS };

struct sw_haddr {
    char ip[SW_IP_MAX + 1];
    char name[SW_HOST_MAX + 1]; /* the host it was resolved from: TLS verifies it */
    enum sw_hstate state;
    int fails, oks;      /* consecutive */
    time_t next;         /* next probe due */
    time_t changed;      /* last change of state (0: never) */
    time_t last;         /* last probe result */
    bool in_flight;      /* a probe is running */
    char why[SW_HEALTH_WHY_MAX + 1]; /* last failure, "EHLO: timeout after 10s" */
    long ms[SW_MARKS];   /* last good probe */
    char tls[32];        /* "TLSv1.3", "" without TLS */
    char listed[96];     /* "bl.test=127.0.0.2", "" if not listed */
};

struct sw_relay_health {
    bool probed;   /* a probe is configured */
    bool resolved; /* DNS has answered at least once */
    char dns_error[128];
    struct sw_haddr addr[SW_HEALTH_ADDRS];
    size_t naddrs;
};

const char *sw_hstate_name(enum sw_hstate s);
const char *sw_rstate_name(enum sw_rstate s);

/* A probe result for one address; true if its state changed.  Sets the
 * next probe time. */
bool sw_health_result(struct sw_haddr *a, const struct sw_probe_conf *pc, bool ok,
                      const char *why, time_t now);
/* Replace the address set after a resolution (n may be 0 after NXDOMAIN):
 * addresses still present keep their state, new ones are due now.  true
 * if the set changed, or the host an address was resolved from. */
bool sw_health_set_addrs(struct sw_relay_health *h, const char (*ips)[SW_IP_MAX + 1],
                         const char (*names)[SW_HOST_MAX + 1], size_t n, time_t now);
/* The relay's state, and how many addresses are up. */
enum sw_rstate sw_health_state(const struct sw_relay_health *h, size_t *up);
/* NULL if the relay may carry mail, else a constant reason ("is down",
 * "is listed in a DNSBL"). */
const char *sw_health_unusable(const struct sw_relay_health *h);
/* true if answers must name the up addresses (the relay is partial). */
bool sw_health_pinned(const struct sw_relay_health *h);
/* One line for status and the log: "up 4/4", "partial 2/4", ... */
void sw_health_summary(const struct sw_relay_health *h, char *out, size_t size);

#endif
