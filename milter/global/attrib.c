/* attrib.c - which configured relay and pool a delivery went through */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "global/attrib.h"

/* split_nexthop - host (without brackets) and port of a nexthop */
static void
split_nexthop(const char *nh, char *host, size_t size, int *port)
{
    const char *end, *colon;
    size_t n;

    *port = 25;
    if (*nh == '[') {
        end = strchr(nh, ']');
        n = end ? (size_t) (end - nh - 1) : strlen(nh + 1);
        colon = end && end[1] == ':' ? end + 1 : NULL;
        nh++;
    } else {
        colon = strchr(nh, ':');
        n = colon ? (size_t) (colon - nh) : strlen(nh);
    }
    if (n >= size)
        n = size - 1;
    memcpy(host, nh, n);
    host[n] = '\0';
    if (colon)
        *port = atoi(colon + 1); /* validated by conf.c */
}

/* same_host - case-insensitive, ignoring one trailing dot */
static bool
same_host(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la && a[la - 1] == '.')
        la--;
    if (lb && b[lb - 1] == '.')
        lb--;
    return la && la == lb && strncasecmp(a, b, la) == 0;
}

/* sw_attrib_relay - the configured relay of a logged delivery */
const struct sw_relay *
sw_attrib_relay(const struct sw_conf *conf, const char *host, const char *addr, int port)
{
    char h[256];
    int p;
    size_t i;

    for (i = 0; i < conf->nrelays; i++) {
        split_nexthop(conf->relays[i].nexthop, h, sizeof(h), &p);
        if (!same_host(h, host) && !same_host(h, addr))
            continue;
        if (port && p != port)
            continue;
        return &conf->relays[i];
    }
    return NULL;
}

/* resolved_to - one of the relay's resolved addresses is addr, or came
 * from host */
static bool
resolved_to(const struct sw_relay_health *h, const char *host, const char *addr)
{
    size_t k;

    for (k = 0; h && k < h->naddrs; k++)
        if ((addr && same_host(h->addr[k].ip, addr)) || (host && same_host(h->addr[k].name, host)))
            return true;
    return false;
}

/* sw_attrib_relay_resolved - by the configured nexthop, else by what it
 * resolved to */
const struct sw_relay *
sw_attrib_relay_resolved(const struct sw_policy *p, const char *host, const char *addr, int port)
{
    const struct sw_relay *r, *found = NULL;
    size_t i;

    if ((r = sw_attrib_relay(p->conf, host, addr, port)) != NULL)
        return r;
    for (i = 0; i < p->conf->nrelays; i++) {
        r = &p->conf->relays[i];
        if ((port && r->port != port) || !resolved_to(sw_policy_health(p, r), host, addr))
            continue;
        if (found)
            return NULL; /* two relays: the log cannot say which */
        found = r;
    }
    return found;
}

/* sw_attrib_pool - the pool of a relay */
const struct sw_pool *
sw_attrib_pool(const struct sw_conf *conf, const struct sw_relay *relay)
{
    size_t i;

    for (i = 0; relay && i < conf->npools; i++)
        if (sw_strv_has(&conf->pools[i].relays, relay->name))
            return &conf->pools[i];
    return NULL;
}

/* sw_cidr_match - is ip inside cidr? */
bool
sw_cidr_match(const char *cidr, const char *ip)
{
    unsigned char net[16], a[16];
    char buf[64];
    const char *slash = strchr(cidr, '/');
    size_t n = slash ? (size_t) (slash - cidr) : strlen(cidr), bytes;
    int af, width;
    long bits;

    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, cidr, n);
    buf[n] = '\0';
    af = strchr(buf, ':') ? AF_INET6 : AF_INET;
    width = af == AF_INET6 ? 128 : 32;
    if (inet_pton(af, buf, net) != 1 || inet_pton(af, ip, a) != 1)
        return false;
    bits = slash ? strtol(slash + 1, NULL, 10) : width;
    if (bits < 0 || bits > width)
        return false;
    bytes = (size_t) bits / 8;
    if (memcmp(net, a, bytes) != 0)
        return false;
    if (bits % 8 == 0)
        return true;
    return ((net[bytes] ^ a[bytes]) & (0xff00 >> (bits % 8)) & 0xff) == 0;
}

/* sw_attrib_named_pool - the pool a bounce's hosts or IPs name */
const struct sw_pool *
sw_attrib_named_pool(const struct sw_conf *conf, const char *const *hosts, size_t nhosts,
                     const char *const *ips, size_t nips)
{
    const struct sw_pool *p;
    size_t i, j, k;

    for (i = 0; i < conf->npools; i++) {
        p = &conf->pools[i];
        for (j = 0; j < p->hosts.n; j++)
            for (k = 0; k < nhosts; k++)
                if (hosts[k][0] && sw_domain_match(p->hosts.v[j], hosts[k]))
                    return p;
        for (j = 0; j < p->egress.n; j++)
            for (k = 0; k < nips; k++)
                if (sw_cidr_match(p->egress.v[j], ips[k]))
                    return p;
    }
    return NULL;
}
