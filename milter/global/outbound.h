/* outbound.h - which mail leaves through us: only that is tagged */
#ifndef SW_OUTBOUND_H
#define SW_OUTBOUND_H

#include <stdbool.h>

#include "global/conf.h"

/*
 * A tag proves that a bounce answers mail we sent, so only mail that
 * leaves through us may carry one: mail from a client in
 * milter.outbound.networks (like Postfix's mynetworks; loopback by
 * default), from a local (unix socket) client, or, with
 * milter.outbound.authenticated, from a sender who logged in with SMTP
 * AUTH (libmilter's {auth_authen} macro at MAIL FROM).  Mail from anyone
 * else is inbound: tagging it would hand a valid tag to whoever mailed
 * us.  Pure.
 */

/* client: the connecting address as text, "local" for a unix socket, or
 * "unknown"; authenticated: MAIL FROM came with a non-empty {auth_authen}. */
bool sw_outbound(const struct sw_milter_conf *m, const char *client, bool authenticated);

#endif
