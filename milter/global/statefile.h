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
/* Called for each line that is skipped: its number (from 1) and why. */
typedef void (*sw_state_bad_fn)(size_t line, const char *why, void *ctx);

struct sw_state_sink {
    sw_state_relay_fn relay; /* may be NULL */
    sw_state_bad_fn bad;     /* may be NULL */
    void *ctx;
};

/* What a decode found. */
struct sw_state_counts {
    size_t lines;  /* lines read, the header included */
    size_t scopes; /* restored */
    size_t relays; /* administrative states reported */
    size_t bad;    /* lines skipped */
};

bool sw_state_encode(const struct sw_route *r, const struct sw_conf *conf,
                     const enum sw_relay_admin *admin, time_t now, struct sw_buf *out);
/*
 * Decode into an empty route.  One damaged line costs that line only:
 * every valid record is kept and each bad line is reported to sink->bad
 * (a missing header, an unparsable or unknown record, a scope that cannot
 * be restored, a last line without its newline).  false, with nothing
 * kept and *why set, only when the file as a whole is not one to read:
 * empty, or a header of another version or another kind of file (its
 * records may mean something else).  counts may be NULL.
 */
bool sw_state_decode(const char *text, size_t len, struct sw_route *r,
                     const struct sw_state_sink *sink, struct sw_state_counts *counts,
                     const char **why);

#endif
