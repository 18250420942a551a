/* rpath.h - the return path: a tagged envelope sender that brings bounces home */
#ifndef SW_RPATH_H
#define SW_RPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "global/tag.h"
#include "global/conf.h"

/*
 * DESIGN.md 5.7.  Outbound mail leaves with its envelope sender rewritten
 * to an address at a return-path domain whose MX is this site, so that a
 * provider's NDR, which goes to the envelope sender, comes back here even
 * when the sender's mailbox lives at the provider.  Two forms:
 *
 *   fixed domain (return_path.domain = "bounces.example.net"), any sender:
 *       sw0=HHHHHHHH=DDK=example.org=jane.doe@bounces.example.net
 *   per sender domain (return_path.subdomain = "bounces", for the domains
 *   in return_path.sender_domains), so DMARC relaxed alignment holds:
 *       sw1=HHHHHHHH=DDK=jane.doe@bounces.example.org
 *
 * HHHHHHHH: the first 40 bits of HMAC-SHA256(key, "spillway-rp/1|" day "|"
 *           lower-case(original sender)), in base32 (a-z2-7).
 * DD:       the day (days since 1970-01-01 UTC) modulo 1024, base32.
 * K:        the signing key's selector: its key id hashed to one base32
 *           character.  A verifier tries each key with that selector, so
 *           every node holding the same key file (milter.tag_keys)
 *           verifies every node's addresses, and a rotated-out key still
 *           verifies what it signed.
 *
 * Everything is case-insensitive (the MAC covers the lower-cased sender,
 * the base32 and the prefix are read in either case), so a receiver that
 * folds the local part does not break it; the restored sender's local
 * part is then as the receiver folded it (its domain always in lower
 * case), which every mailbox we know of accepts.  The tag is fixed
 * for a sender and a day: greylisting sees one sender per day, and the
 * MTA keeps the rewritten sender of a queued message for all its retries.
 *
 * The local part never exceeds 64 octets (RFC 5321 4.5.3.1.1).  A sender
 * whose tagged form would not fit, whose local part is quoted or not a
 * dot-atom, or who is already a return-path address, is left alone:
 * sw_rpath_make() says why.  (A hashed reference kept by spillway-routed
 * would serve long senders, but would tie the restore to one node's state;
 * 47 octets of sender covers ordinary mailboxes.)
 *
 * Pure: time is an argument; keys and configuration are read only.
 */
#define SW_RPATH_LOCAL_MAX 64   /* RFC 5321 local part */
#define SW_RPATH_ADDR_MAX  320  /* an address as we accept it: 64 + "@" + 253 + slack */
#define SW_RPATH_MAC_CHARS 8    /* 40 bits */
#define SW_RPATH_ID_MAX    32   /* "rp=HHHHHHHH d=NNNNN": the guard's key */


/* Is return-path rewriting configured at all? */
bool sw_rpath_on(const struct sw_rpath_conf *rp);

enum sw_rpath_skip {
    SW_RPATH_REWRITE = 0, /* rewritten */
    SW_RPATH_OFF,         /* not configured, or no key */
    SW_RPATH_NULL,        /* the null sender: never */
    SW_RPATH_SKIPPED,     /* return_path.skip_senders or skip_recipients */
    SW_RPATH_FOREIGN,     /* no return-path domain serves the sender's domain */
    SW_RPATH_ALREADY,     /* already a return-path address */
    SW_RPATH_SYNTAX,      /* quoted, not a dot-atom, no domain */
    SW_RPATH_LONG         /* the tagged form would exceed 64 octets */
};
const char *sw_rpath_skip_name(enum sw_rpath_skip s); /* "rewritten", "long", ... */

/* The tagged address for sender ("<jane@example.org>" or bare) into out
 * (SW_RPATH_ADDR_MAX bytes, no angle brackets), or why not. */
enum sw_rpath_skip sw_rpath_make(const struct sw_rpath_conf *rp, const struct sw_tag_keys *keys,
                                 const char *sender, time_t now, char *out, size_t size);

/* Does a recipient's skip rule leave the sender alone? */
bool sw_rpath_skip_rcpt(const struct sw_rpath_conf *rp, const char *rcpt);

enum sw_rpath_state {
    SW_RPATH_NOT_OURS, /* not at a return-path domain: not our business */
    SW_RPATH_EXEMPT,   /* postmaster@ a return-path domain: the MTA decides */
    SW_RPATH_VALID,    /* restores to a sender; signed by a key we hold, in date */
    SW_RPATH_EXPIRED,  /* genuine but older than max_age */
    SW_RPATH_INVALID   /* malformed, unknown key, wrong MAC, from the future */
};
const char *sw_rpath_state_name(enum sw_rpath_state s);

struct sw_rpath_check {
    enum sw_rpath_state state;
    char sender[SW_RPATH_ADDR_MAX]; /* the original sender when valid or expired */
    char id[SW_RPATH_ID_MAX];       /* canonical form when valid or expired */
    long age_days;
};

/* Judge an envelope recipient ("<...>" or bare). */
void sw_rpath_check(const struct sw_rpath_conf *rp, const struct sw_tag_keys *keys,
                    const char *rcpt, time_t now, struct sw_rpath_check *out);

/* Is domain (lower or mixed case, no trailing dot) a return-path domain? */
bool sw_rpath_is_domain(const struct sw_rpath_conf *rp, const char *domain);

#endif
