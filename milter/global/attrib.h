/* attrib.h - which configured relay and pool a delivery went through */
#ifndef SW_ATTRIB_H
#define SW_ATTRIB_H

#include "global/conf.h"
#include "global/policy.h"

/*
 * The MTA logs the relay as "host[addr]:port" (Postfix) or "host. [addr]"
 * (Sendmail, no port).  A configured relay matches when its nexthop host
 * equals the logged host or address (case-insensitive, trailing dot
 * ignored) and, when both are known, the ports agree (25 by default).
 * Pure.
 */
const struct sw_relay *sw_attrib_relay(const struct sw_conf *conf, const char *host,
                                       const char *addr, int port);
/* sw_attrib_relay, else the relay whose resolved addresses (p->health)
 * the MTA names: a partial relay answered by its up addresses is logged
 * "192.0.2.1[192.0.2.1]:25", an MX-style nexthop by its MX host
 * "mx1.example.net[192.0.2.1]:25".  An address or host that two relays
 * resolved to names neither (NULL). */
const struct sw_relay *sw_attrib_relay_resolved(const struct sw_policy *p, const char *host,
                                                const char *addr, int port);
/* The first pool that lists the relay, or NULL. */
const struct sw_pool *sw_attrib_pool(const struct sw_conf *conf, const struct sw_relay *relay);

/*
 * A bounce names a pool (DESIGN.md 3) when one of the hosts it names (its
 * Reporting-MTA, the Received lines) matches one of the pool's host
 * patterns, or one of the IP addresses it names lies in the pool's egress
 * CIDRs.  The first pool that matches, or NULL.
 */
const struct sw_pool *sw_attrib_named_pool(const struct sw_conf *conf, const char *const *hosts,
                                           size_t nhosts, const char *const *ips, size_t nips);
/* An address against "192.0.2.0/24", "2001:db8::/32" or a bare address. */
bool sw_cidr_match(const char *cidr, const char *ip);

#endif
