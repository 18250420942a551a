/* render.h - the fail-static routing tables (Postfix, Sendmail), as text */
#ifndef SW_RENDER_H
#define SW_RENDER_H

#include <stdbool.h>

#include "util/buf.h"
#include "global/policy.h"
#include "global/route.h"

/*
 * The source text of a Postfix indexed transport table (transport(5))
 * that routes exactly as the socketmap answers now: for a destination
 * scope both "example.com" and ".example.com" (a key matches the domain or
 * its subdomains, not both: MTA-FACTS.md), for a pool-wide scope "*" or
 * the pool's destination patterns.  Postfix keeps using the last table
 * when spillway-routed is down.  Pure.
 */
bool sw_render_transport(const struct sw_policy *p, const struct sw_route *r, struct sw_buf *out);

/*
 * The same routes as a Sendmail mailertable source, for makemap(8):
 * "example.com relay:[alt.example.net]", ".example.com ..." for its
 * subdomains, and "." for the catch-all.  Sendmail consults it when
 * FEATURE(`mailertable') names the built map (conf/sendmail.mc).  Pure.
 */
bool sw_render_mailertable(const struct sw_policy *p, const struct sw_route *r,
                           struct sw_buf *out);

#endif
