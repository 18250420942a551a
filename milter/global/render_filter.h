/* render_filter.h - Postfix pcre tables that keep reputation bounces queued */
#ifndef SW_RENDER_FILTER_H
#define SW_RENDER_FILTER_H

#include <stdbool.h>

#include "util/buf.h"
#include "global/policy.h"

/*
 * dsn-filter.pcre, for smtp_delivery_status_filter (DESIGN.md 4): a 5xx
 * from a primary relay whose text the pattern library classes as
 * reputation or throttle becomes a 4xx, original text kept, so the message
 * stays queued and its next attempt takes the alternate route.  The key
 * Postfix looks up is "X.Y.Z host NAME[ADDR] said: REPLY"; each rule names,
 * without case, every NAME Postfix may print for a primary relay: its
 * configured host, each address it resolved to (a partial relay is
 * answered by its up addresses, and Postfix then prints the address as
 * the name) and each host those came from (the MX hosts of an MX-style
 * nexthop), from p->health.  A resolved name or address that is also an
 * alternate's is left out, so alternates' replies are left alone.  The
 * text changes with the resolved addresses: render it again then.
 * Postfix stops at the first table that fails (MTA-FACTS.md): list this
 * static table first.
 *
 * reply-filter.pcre, for smtp_reply_filter on a dedicated primary
 * transport with smtp_fallback_relay: the same replies, rewritten per line
 * before the SMTP client acts, so the fallback relay is tried in the same
 * attempt.  Pure functions.
 */
bool sw_render_dsn_filter(const struct sw_policy *p, struct sw_buf *out);
bool sw_render_reply_filter(const struct sw_policy *p, struct sw_buf *out);

#endif
