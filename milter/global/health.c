/* health.c - relay health from probes and DNSBL listings: pure state */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "global/health.h"

/* sw_hstate_name - word for logs and the CLI */
const char *
sw_hstate_name(enum sw_hstate s)
{
    switch (s) {
    case SW_HSTATE_UP: return "up";
    case SW_HSTATE_DOWN: return "down";
    default: return "unknown";
    }
}

/* sw_rstate_name - word for logs and the CLI */
const char *
sw_rstate_name(enum sw_rstate s)
{
    switch (s) {
    case SW_RSTATE_UNPROBED: return "unprobed";
    case SW_RSTATE_UP: return "up";
    case SW_RSTATE_PARTIAL: return "partial";
    case SW_RSTATE_DOWN: return "down";
    default: return "unknown";
    }
}

/* backoff - seconds until a down address is probed again */
static long
backoff(const struct sw_probe_conf *pc, int fails)
{
    long wait = pc->interval;
    int k;

    for (k = (int) pc->fall; k < fails && wait < pc->backoff_max; k++)
        wait *= 2;
    return wait < pc->backoff_max ? wait : pc->backoff_max;
}

/* confirm - a quick re-check while a change is pending */
static long
confirm(const struct sw_probe_conf *pc)
{
    return pc->interval >= 4 ? pc->interval / 4 : 1;
}

/* sw_health_result - apply one probe result */
bool
sw_health_result(struct sw_haddr *a, const struct sw_probe_conf *pc, bool ok, const char *why,
                 time_t now)
{
    enum sw_hstate was = a->state;

    a->last = now;
    a->in_flight = false;
    if (ok) {
        a->oks = a->oks < 1000 ? a->oks + 1 : a->oks;
        a->fails = 0;
        if (a->state == SW_HSTATE_UNKNOWN || (a->state == SW_HSTATE_DOWN && a->oks >= pc->rise))
            a->state = SW_HSTATE_UP;
        a->next = now + (a->state == SW_HSTATE_UP ? pc->interval : confirm(pc));
    } else {
        a->fails = a->fails < 1000 ? a->fails + 1 : a->fails;
        a->oks = 0;
        SW_COPY(a->why, why ? why : "failed");
        if (a->state == SW_HSTATE_UNKNOWN || (a->state == SW_HSTATE_UP && a->fails >= pc->fall))
            a->state = SW_HSTATE_DOWN;
        a->next = now + (a->state == SW_HSTATE_DOWN ? backoff(pc, a->fails) : confirm(pc));
    }
    if (a->state != was)
        a->changed = now;
    return a->state != was;
}

/* find_ip - index of an address, or n */
static size_t
find_ip(const struct sw_relay_health *h, const char *ip)
{
    size_t i;

    for (i = 0; i < h->naddrs; i++)
        if (strcmp(h->addr[i].ip, ip) == 0)
            return i;
    return h->naddrs;
}

/* sw_health_set_addrs - merge a fresh resolution */
bool
sw_health_set_addrs(struct sw_relay_health *h, const char (*ips)[SW_IP_MAX + 1],
                    const char (*names)[SW_HOST_MAX + 1], size_t n, time_t now)
{
    struct sw_haddr next[SW_HEALTH_ADDRS];
    size_t i, k, m = 0;
    bool changed;

    for (i = 0; i < n && m < SW_HEALTH_ADDRS; i++) {
        for (k = 0; k < m; k++)
            if (strcmp(next[k].ip, ips[i]) == 0)
                break;
        if (k < m)
            continue; /* listed twice (two MX hosts, one address) */
        if ((k = find_ip(h, ips[i])) < h->naddrs) {
            next[m] = h->addr[k];
        } else {
            memset(&next[m], 0, sizeof(next[m]));
            SW_COPY(next[m].ip, ips[i]);
            next[m].next = now;
        }
        SW_COPY(next[m].name, names[i]);
        m++;
    }
    /* A new host name for a known address is a change too: the status
     * filter names the hosts (render_filter.h). */
    changed = m != h->naddrs;
    for (i = 0; i < m && !changed; i++)
        changed =
            (k = find_ip(h, next[i].ip)) == h->naddrs || strcmp(h->addr[k].name, next[i].name) != 0;
    memcpy(h->addr, next, m * sizeof(next[0]));
    h->naddrs = m;
    h->resolved = true;
    return changed;
}

/* sw_health_state - the relay as a whole */
enum sw_rstate
sw_health_state(const struct sw_relay_health *h, size_t *up)
{
    size_t i, nup = 0, ndown = 0, nunknown = 0;

    for (i = 0; i < h->naddrs; i++) {
        nup += h->addr[i].state == SW_HSTATE_UP;
        ndown += h->addr[i].state == SW_HSTATE_DOWN;
        nunknown += h->addr[i].state == SW_HSTATE_UNKNOWN;
    }
    if (up)
        *up = nup;
    if (!h->probed)
        return SW_RSTATE_UNPROBED;
    if (h->resolved && h->naddrs == 0)
        return SW_RSTATE_DOWN; /* the name resolves to nothing */
    if (nup && ndown)
        return SW_RSTATE_PARTIAL;
    if (ndown && nunknown == 0)
        return SW_RSTATE_DOWN;
    /* Down only once every address is known: the first probe to fail at
     * start must not make an alternate ineligible for a second. */
    return nup ? SW_RSTATE_UP : SW_RSTATE_UNKNOWN;
}

/* sw_health_unusable - why the relay may not carry mail, or NULL */
const char *
sw_health_unusable(const struct sw_relay_health *h)
{
    size_t i;

    if (h == NULL)
        return NULL;
    for (i = 0; i < h->naddrs; i++)
        if (h->addr[i].listed[0])
            return "has an address listed in a DNSBL";
    if (sw_health_state(h, NULL) == SW_RSTATE_DOWN)
        return h->naddrs ? "is down (every address fails its probe)"
                         : "is down (its name does not resolve)";
    return NULL;
}

/* sw_health_pinned - name the up addresses? */
bool
sw_health_pinned(const struct sw_relay_health *h)
{
    return h != NULL && sw_health_state(h, NULL) == SW_RSTATE_PARTIAL;
}

/* sw_health_summary - "partial 2/4" */
void
sw_health_summary(const struct sw_relay_health *h, char *out, size_t size)
{
    size_t up;
    enum sw_rstate st = sw_health_state(h, &up);

    if (st == SW_RSTATE_UNPROBED)
        (void) snprintf(out, size, "unprobed");
    else if (h->naddrs == 0)
        (void) snprintf(out, size, "%s 0/0%s%s", sw_rstate_name(st), h->dns_error[0] ? " dns=" : "",
                        h->dns_error);
    else
        (void) snprintf(out, size, "%s %zu/%zu", sw_rstate_name(st), up, h->naddrs);
}
