/* attrib.h - which configured relay and pool a delivery went through */
#ifndef SW_ATTRIB_H
#define SW_ATTRIB_H

#include "conf.h"

/*
 * The MTA logs the relay as "host[addr]:port" (Postfix) or "host. [addr]"
 * (Sendmail, no port).  A configured relay matches when its nexthop host
 * equals the logged host or address (case-insensitive, trailing dot
 * ignored) and, when both are known, the ports agree (25 by default).
 * Pure.
 */
const struct sw_relay *sw_attrib_relay(const struct sw_conf *conf, const char *host,
                                       const char *addr, int port);
/* The first pool that lists the relay, or NULL. */
const struct sw_pool *sw_attrib_pool(const struct sw_conf *conf, const struct sw_relay *relay);

#endif
