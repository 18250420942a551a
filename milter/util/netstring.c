/* netstring.c - netstring framing for the socketmap protocol */

/*
 * The socketmap protocol (Postfix socketmap_table(5), Sendmail's socket
 * map) frames each request and reply as a netstring: decimal length,
 * colon, payload, comma.  Pure functions over caller buffers; no state.
 */
#include "config.h"

#include "util/netstring.h"

/* Longest length prefix accepted: more digits than this cannot be sane. */
#define SW_NS_MAX_DIGITS 9

/* sw_ns_decode - decode the netstring at the start of buf */
enum sw_ns_status
sw_ns_decode(const char *buf, size_t len, size_t max_payload, size_t *payload_off,
             size_t *payload_len, size_t *consumed)
{
    size_t i, n = 0;

    for (i = 0; i < len && buf[i] != ':'; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return SW_NS_BAD;
        if (i >= SW_NS_MAX_DIGITS)
            return SW_NS_TOOBIG;
        /* No leading zeros: "0:," is the only length that starts with 0. */
        if (i == 1 && buf[0] == '0')
            return SW_NS_BAD;
        n = n * 10 + (size_t) (buf[i] - '0');
    }
    if (i == len)
        return SW_NS_MORE;
    if (i == 0)
        return SW_NS_BAD;
    if (n > max_payload)
        return SW_NS_TOOBIG;
    /* digits, ':', payload, ',' */
    if (len - i - 1 < n + 1)
        return SW_NS_MORE;
    if (buf[i + 1 + n] != ',')
        return SW_NS_BAD;
    *payload_off = i + 1;
    *payload_len = n;
    *consumed = i + 1 + n + 1;
    return SW_NS_OK;
}

/* sw_ns_encode - append one netstring */
bool
sw_ns_encode(struct sw_buf *out, const char *payload, size_t len)
{
    return sw_buf_printf(out, "%zu:", len) && sw_buf_add(out, payload, len)
           && sw_buf_addc(out, ',');
}
