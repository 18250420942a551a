/* render_filter.h - Postfix pcre tables that keep reputation bounces queued */
#ifndef SW_RENDER_FILTER_H
#define SW_RENDER_FILTER_H

#include <stdbool.h>

#include "util/buf.h"
#include "global/conf.h"

/*
 * dsn-filter.pcre, for smtp_delivery_status_filter (DESIGN.md 4): a 5xx
 * from a primary relay whose text the pattern library classes as
 * reputation or throttle becomes a 4xx, original text kept, so the message
 * stays queued and its next attempt takes the alternate route.  The key
 * Postfix looks up is "X.Y.Z host NAME[ADDR] said: REPLY"; each rule names
 * a primary relay's host so that alternates' replies are left alone.
 * Postfix stops at the first table that fails (MTA-FACTS.md): list this
 * static table first.
 *
 * reply-filter.pcre, for smtp_reply_filter on a dedicated primary
 * transport with smtp_fallback_relay: the same replies, rewritten per line
 * before the SMTP client acts, so the fallback relay is tried in the same
 * attempt.  Pure functions.
 */
bool sw_render_dsn_filter(const struct sw_conf *conf, struct sw_buf *out);
bool sw_render_reply_filter(const struct sw_conf *conf, struct sw_buf *out);

#endif
