/* guard.h - defences of the evidence channel: de-duplication and caps */
#ifndef SW_GUARD_H
#define SW_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

/*
 * DESIGN.md 3: evidence from bounces is de-duplicated per message and
 * recipient, capped per message, and rate-capped per source (the SMTP
 * client that delivered the bounce), so that whoever mails us bounces
 * cannot flood spillway-routed.
 *
 * Trusted records (a valid tag) are keyed by the tag's canonical form
 * (tag.h), so the text of a seen tag cannot be varied into new keys, and
 * one tag yields at most `cap` trusted records (distinct recipients) per
 * SW_GUARD_MEMORY from its first accepted record: a recipient who has
 * seen a tag can forge bounces for other recipients, but no more than the
 * cap.  Untrusted records are keyed by the returned Message-ID and capped
 * at SW_GUARD_PER_MESSAGE.  The two are kept in separate tables: a flood
 * of untrusted records never pushes out what a tag has used of its cap.
 *
 * A record is remembered only when it passes: one refused as a
 * duplicate, by a cap or by the rate never takes or clears an entry.  The
 * tables are set-associative caches of fixed size (SW_GUARD_WAYS entries
 * per set, keyed by a seeded hash): memory is constant; a passing record
 * with a new key takes a free or expired way, else the way seen least
 * recently (which then forgets: a duplicate may pass again, and the
 * routing engine also de-duplicates).  For the trusted table that needs
 * more distinct valid tags in one set than it has ways, that is, mail
 * from us.  Pure: time is an argument.  Not thread-safe: the caller holds
 * a lock.
 */
#define SW_GUARD_PER_MESSAGE 8             /* distinct recipients per key at most */
#define SW_GUARD_CAP_DEFAULT 2             /* trusted records per tag (milter.tag_cap) */
#define SW_GUARD_MESSAGES    8192          /* keys remembered per table */
#define SW_GUARD_WAYS        8             /* entries per set */
#define SW_GUARD_CLIENTS     1024          /* sources remembered */
#define SW_GUARD_MEMORY      (8L * 86400L) /* a key is forgotten this long after its first record */

enum sw_guard_verdict {
    SW_GUARD_PASS,
    SW_GUARD_DUPLICATE,   /* this message (or tag) and recipient were seen */
    SW_GUARD_MESSAGE_CAP, /* untrusted: too many recipients for one message */
    SW_GUARD_TAG_CAP,     /* trusted: the tag has given all its records */
    SW_GUARD_RATE         /* the source is over its rate */
};

struct sw_guard;

struct sw_guard *sw_guard_new(uint64_t seed);
void sw_guard_free(struct sw_guard *g);
/* One record.  key: the tag's canonical form when trusted, else the
 * Message-ID.  rate: records per minute per client (a token bucket of
 * that size, refilled continuously).  cap: trusted records per tag
 * (1..SW_GUARD_PER_MESSAGE).  A record that passes is remembered. */
enum sw_guard_verdict sw_guard_check(struct sw_guard *g, const char *client, bool trusted,
                                     const char *key, const char *rcpt, time_t now, long rate,
                                     unsigned cap);
const char *sw_guard_verdict_name(enum sw_guard_verdict v);

#endif
