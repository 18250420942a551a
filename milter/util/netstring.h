/* netstring.h - netstring framing for the socketmap protocol */
#ifndef SW_NETSTRING_H
#define SW_NETSTRING_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* Outcome of decoding the front of a byte stream. */
enum sw_ns_status {
    SW_NS_OK,    /* one complete netstring decoded */
    SW_NS_MORE,  /* a valid prefix: wait for more bytes */
    SW_NS_BAD,   /* malformed: the peer must be dropped */
    SW_NS_TOOBIG /* the length exceeds the caller's limit */
};

/*
 * Decode one netstring ("LEN:PAYLOAD,") at the start of buf.  On SW_NS_OK
 * the payload is buf[*payload_off .. *payload_off + *payload_len) and the
 * netstring used *consumed bytes.  The length is checked against
 * max_payload before any payload byte is needed, so an oversized request
 * is refused as soon as its length is read.
 */
enum sw_ns_status sw_ns_decode(const char *buf, size_t len, size_t max_payload, size_t *payload_off,
                               size_t *payload_len, size_t *consumed);

/* Append "LEN:PAYLOAD," to out. */
bool sw_ns_encode(struct sw_buf *out, const char *payload, size_t len);

#endif
