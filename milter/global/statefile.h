/* statefile.h - the persisted routing state: encode and decode */
#ifndef SW_STATEFILE_H
#define SW_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"
#include "global/policy.h"
#include "global/route.h"

/*
 * Text, one record per line (kv.h):
 *   v=1  spillway=state  saved=EPOCH
 *   scope=destination:example.com  state=pinned  relay=alt-eu  since=..  until=..
 *   relay=alt-eu  admin=disabled
 * Encoding and decoding only; the atomic write and the read are the
 * daemon's (routed_persist.c).
 */

/* Called for each relay administrative state found in the file. */
typedef void (*sw_state_relay_fn)(const char *relay, enum sw_relay_admin admin, void *ctx);

bool sw_state_encode(const struct sw_route *r, const struct sw_conf *conf,
                     const enum sw_relay_admin *admin, time_t now, struct sw_buf *out);
/* Decode into an empty route.  false: the file is corrupt; *line and *why
 * say where and what (the caller then starts from safe defaults). */
bool sw_state_decode(const char *text, size_t len, struct sw_route *r, sw_state_relay_fn relay_fn,
                     void *ctx, size_t *line, const char **why);

#endif
