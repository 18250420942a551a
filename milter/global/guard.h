/* guard.h - defences of the evidence channel: de-duplication and rate caps */
#ifndef SW_GUARD_H
#define SW_GUARD_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

/*
 * DESIGN.md 3: evidence from bounces is de-duplicated per message and
 * recipient, capped per message, and rate-capped per source (the SMTP
 * client that delivered the bounce), so that whoever mails us bounces
 * cannot flood spillway-routed, and a single tagged message (whose tag a
 * recipient of it has seen) yields at most SW_GUARD_PER_MESSAGE records.
 *
 * Both tables are direct-mapped caches of fixed size, keyed by a seeded
 * hash: memory is constant, and an entry pushed out by another merely
 * forgets (a duplicate may then pass again; the routing engine also
 * de-duplicates).  Pure: time is an argument.  Not thread-safe: the
 * caller holds a lock.
 */
#define SW_GUARD_PER_MESSAGE 8             /* distinct recipients per message id */
#define SW_GUARD_MESSAGES    8192          /* message ids remembered */
#define SW_GUARD_CLIENTS     1024          /* sources remembered */
#define SW_GUARD_MEMORY      (8L * 86400L) /* a message id is forgotten after this */

enum sw_guard_verdict {
    SW_GUARD_PASS,
    SW_GUARD_DUPLICATE,   /* this message and recipient were seen */
    SW_GUARD_MESSAGE_CAP, /* too many recipients for one message */
    SW_GUARD_RATE         /* the source is over its rate */
};

struct sw_guard;

struct sw_guard *sw_guard_new(uint64_t seed);
void sw_guard_free(struct sw_guard *g);
/* One record: rate is records per minute per client (a token bucket of
 * that size, refilled continuously).  A record that passes is remembered. */
enum sw_guard_verdict sw_guard_check(struct sw_guard *g, const char *client, const char *msgid,
                                     const char *rcpt, time_t now, long rate);
const char *sw_guard_verdict_name(enum sw_guard_verdict v);

#endif
