/* render_tls.h - the TLS policy table for relays reached by address */
#ifndef SW_RENDER_TLS_H
#define SW_RENDER_TLS_H

#include <stdbool.h>

#include "util/buf.h"
#include "global/policy.h"

/* smtp_tls_policy_maps source: "[ADDR]:PORT secure match=NAME
 * servername=NAME" for every resolved address of every relay whose probe
 * verifies TLS, so mail sent to a partial relay's addresses still checks
 * the relay's name.  Pure. */
bool sw_render_tls_policy(const struct sw_policy *p, struct sw_buf *out);

#endif
