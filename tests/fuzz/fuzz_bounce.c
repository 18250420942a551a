/* fuzz_bounce.c - fuzz target: sw_bounce_parse() and sw_bounce_reason() on hostile messages */

/*
 * The input is one message as the milter would see it, any bytes.  It is
 * parsed from a heap copy of exactly its length (so AddressSanitizer sees
 * any read past it; the message is not NUL-terminated), every recipient
 * record goes through sw_bounce_reason() and sw_bounce_rcpt_failed(), and
 * the result is checked against the contract of bounce.h:
 *
 *  - the kind is one of the four and the return value says DSN or TEXT;
 *    NONE and OTHER have no recipients;
 *  - every string is terminated inside its array; the counts are within
 *    the limits; recipients are not empty; diagnostics are one line
 *    without control bytes; a status is empty or C.S.D; a code is 0 or a
 *    reply code; hosts are lower case without a trailing dot; IPs are
 *    valid IPv4 or IPv6 text;
 *  - the reason is terminated, its length is what was returned, it fits
 *    any buffer size and is a prefix of the full reason when cut;
 *  - the same input parses to the same result.
 *
 * A broken contract abort()s so the fuzzer reports it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/bounce.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* terminated - a NUL within the array */
static bool
terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

/* check_reason - sw_bounce_reason() into buffers of every small size */
static void
check_reason(const struct sw_bounce_rcpt *r)
{
    char full[SW_BOUNCE_DIAG_MAX + 64], cut[16];
    size_t n, m, size;

    n = sw_bounce_reason(r, full, sizeof(full));
    if (n >= sizeof(full) || strlen(full) != n || !fz_plain(full, false))
        abort();
    for (size = 1; size <= sizeof(cut); size++) {
        memset(cut, 'x', sizeof(cut));
        m = sw_bounce_reason(r, cut, size);
        if (m >= size || strlen(cut) != m || strncmp(cut, full, m) != 0)
            abort();
    }
    if (sw_bounce_reason(r, cut, 0) != 0)
        abort();
}

/* check_rcpt - the contract of one record */
static void
check_rcpt(const struct sw_bounce_rcpt *r)
{
    if (!terminated(r->rcpt, sizeof(r->rcpt)) || !terminated(r->action, sizeof(r->action))
        || !terminated(r->status, sizeof(r->status))
        || !terminated(r->remote_mta, sizeof(r->remote_mta))
        || !terminated(r->diagnostic, sizeof(r->diagnostic))
        || !terminated(r->command, sizeof(r->command)))
        abort();
    /* A record without an address is a failure whose address could not be read. */
    if ((r->rcpt[0] == '\0' && !sw_bounce_rcpt_failed(r)) || !fz_plain(r->diagnostic, false)
        || !fz_status_shape(r->status))
        abort();
    if (r->code != 0 && (r->code < 200 || r->code > 599))
        abort();
    check_reason(r);
    (void) sw_bounce_rcpt_failed(r);
}

/* check - the contract of a whole result */
static void
check(const struct sw_bounce *b, bool ret)
{
    unsigned char bin[sizeof(struct in6_addr)];
    const char *h;
    size_t i;

    if (b->kind != SW_BOUNCE_NONE && b->kind != SW_BOUNCE_DSN && b->kind != SW_BOUNCE_TEXT
        && b->kind != SW_BOUNCE_OTHER)
        abort();
    if (ret != (b->kind == SW_BOUNCE_DSN || b->kind == SW_BOUNCE_TEXT))
        abort();
    if (b->nrcpt > SW_BOUNCE_RCPTS_MAX || b->nhosts > SW_BOUNCE_HOSTS_MAX
        || b->nips > SW_BOUNCE_IPS_MAX)
        abort();
    if ((b->kind == SW_BOUNCE_NONE || b->kind == SW_BOUNCE_OTHER) && b->nrcpt != 0)
        abort();
    if (ret && b->nrcpt == 0)
        abort();
    if (!terminated(b->reporting_mta, sizeof(b->reporting_mta))
        || !terminated(b->tag, sizeof(b->tag)) || !terminated(b->message_id, sizeof(b->message_id)))
        abort();
    if (*sw_bounce_kind_name(b->kind) == '\0')
        abort();
    for (i = 0; i < b->nrcpt; i++)
        check_rcpt(&b->rcpt[i]);
    for (i = 0; i < b->nhosts; i++) {
        h = b->hosts[i];
        if (!terminated(h, sizeof(b->hosts[i])) || h[0] == '\0' || h[strlen(h) - 1] == '.')
            abort();
        for (; *h; h++)
            if (*h >= 'A' && *h <= 'Z')
                abort();
    }
    for (i = 0; i < b->nips; i++)
        if (!terminated(b->ips[i], sizeof(b->ips[i]))
            || (inet_pton(AF_INET, b->ips[i], bin) != 1
                && inet_pton(AF_INET6, b->ips[i], bin) != 1))
            abort();
}

/* LLVMFuzzerTestOneInput - one message */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sw_bounce b, again;
    char *copy;
    bool ret;

    if ((copy = malloc(size ? size : 1)) == NULL)
        abort();
    memcpy(copy, data, size);
    ret = sw_bounce_parse(copy, size, &b);
    check(&b, ret);
    if (sw_bounce_parse(copy, size, &again) != ret || memcmp(&b, &again, sizeof(b)) != 0)
        abort();
    free(copy);
    return 0;
}
