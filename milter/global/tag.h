/* tag.h - X-Spillway-Tag: an HMAC-SHA256 over an outbound message's identity */
#ifndef SW_TAG_H
#define SW_TAG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"

/*
 * Outbound mail gets a header
 *     X-Spillway-Tag: v=1; t=1763812345; k=2026a; h=Base64urlHMAC
 * where h is the first SW_TAG_MAC_LEN bytes of HMAC-SHA256(key,
 * "spillway-tag/1|" t "|" message-id), and message-id is the message's
 * Message-ID header as written, or empty when it has none (the tag then
 * ends in "; m=0", and verification ignores the returned Message-ID: a
 * relay on the way may have added one).  A bounce that
 * returns the header (and the Message-ID) proves that it answers mail we
 * really sent, recently: forging one needs the key.
 *
 * Keys come from a file the milter reads at start and on reload:
 *     # comment
 *     2026b 64-hex-digit-secret      <- the current key: signs and verifies
 *     2026a 64-hex-digit-secret      <- the previous one: verifies only
 * so a key can rotate while bounces of mail signed with the old one are
 * still in flight.  Key ids are [A-Za-z0-9._-]{1,16}; secrets are 32 to 64
 * bytes written in hex.
 *
 * A returned tag is read by one strict grammar (after unfolding):
 *     tag = *WSP "v=1" sep "t=" time sep "k=" keyid sep "h=" mac
 *           [sep "m=0"] *WSP
 *     sep = ";" 1*16WSP      (WSP: space or tab: folding may add or re-indent)
 *     time = %x31-39 0*11DIGIT       (no sign, no leading zero)
 *     keyid = 1*16(ALPHA / DIGIT / "." / "_" / "-")   (compared exactly)
 *     mac = 22(base64url)            (SW_TAG_MAC_LEN bytes, no padding)
 * Field names are lower case, in this order, each once; nothing else may
 * follow.  Anything else is "invalid": an attacker who has seen one tag
 * cannot vary its text ("; x=1", "V=1", "t=0...") into tags that verify.
 * A tag that verifies has one canonical form, "k=ID t=TIME h=MAC", which
 * is what de-duplication keys on (guard.h): the white space and the m=0
 * flag (which changes nothing when the Message-ID is empty) are left out.
 *
 * Binding: the MAC covers the time and the Message-ID, the identity every
 * copy of the message shares.  It cannot cover the recipient: the milter
 * adds one header to the message and every recipient gets the same one.
 * Covering more of the header (From, Date, Subject) would not help either:
 * whoever holds a copy holds those too and returns them verbatim, while a
 * genuine bounce may return them rewritten.  What bounds a recipient who
 * forges bounces with the tag he saw is the per-tag cap (guard.h).
 *
 * Pure except for sw_tag_keys_load() (reads a file).  A loaded key set is
 * immutable and may be shared by threads.
 */
#define SW_TAG_HEADER   "X-Spillway-Tag"
#define SW_TAG_MAC_LEN  16 /* bytes of the HMAC kept (128 bits) */
#define SW_TAG_KEYS_MAX 2
#define SW_TAG_ID_MAX   16
#define SW_TAG_MAX      128 /* longest header value we write or read */
#define SW_TAG_H_LEN    22  /* base64url characters of the MAC */
#define SW_TAG_CANON_MAX 64 /* "k=ID t=TIME h=MAC" and its NUL fit */

enum sw_tag_state {
    SW_TAG_ABSENT,   /* no tag in the bounce */
    SW_TAG_VALID,    /* ours, signed with a key we hold, not too old */
    SW_TAG_EXPIRED,  /* ours, but older than the configured age */
    SW_TAG_INVALID,  /* malformed, unknown key, wrong HMAC, or from the future */
    SW_TAG_UNCHECKED /* no keys configured: cannot tell */
};

struct sw_tag_key {
    char id[SW_TAG_ID_MAX + 1];
    unsigned char secret[64];
    size_t len;
};

struct sw_tag_keys {
    size_t n; /* 0..SW_TAG_KEYS_MAX; key[0] signs */
    struct sw_tag_key key[SW_TAG_KEYS_MAX];
};

/* Read a key file; on failure false and "file:line: problem" in err. */
bool sw_tag_keys_load(const char *path, struct sw_tag_keys *keys, struct sw_buf *err);
/* The same from text (tests, fuzzing); name is used in messages. */
bool sw_tag_keys_parse(const char *text, size_t len, const char *name, struct sw_tag_keys *keys,
                       struct sw_buf *err);

/* The header value for a message; false when there is no key. */
bool sw_tag_make(const struct sw_tag_keys *keys, time_t now, const char *message_id, char *out,
                 size_t size);
/* Check a returned tag against the returned Message-ID.  max_age 0: any
 * age.  A tag more than 5 minutes in the future is invalid. */
enum sw_tag_state sw_tag_verify(const struct sw_tag_keys *keys, const char *tag,
                                const char *message_id, time_t now, long max_age);
/* The same, and for a tag that verifies (valid or expired) its canonical
 * form in canon (NULL, or SW_TAG_CANON_MAX bytes); "" otherwise. */
enum sw_tag_state sw_tag_check(const struct sw_tag_keys *keys, const char *tag,
                               const char *message_id, time_t now, long max_age, char *canon);

const char *sw_tag_state_name(enum sw_tag_state s); /* "valid", ... */

#endif
