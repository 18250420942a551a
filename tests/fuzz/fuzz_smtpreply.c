/* fuzz_smtpreply.c - fuzz target: what a probed server sends, and texts that name IPs */

/*
 * The first byte picks the chunk size the bytes arrive in (the prober
 * feeds whatever the socket gave).  Every complete reply must have a
 * 2xx-5xx code and printable text; a parser that says BAD must say why
 * and keep saying BAD; it must never take more than it was given.  The
 * same input, as a reply text, goes through sw_text_ips (the DNSBL code
 * reads IPs out of rejection texts): each address it returns must be
 * numeric and unique, and must make a DNSBL query name.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/dnsbl.h"
#include "fuzz_check.h"
#include "util/smtpreply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* replies - feed in chunks, check each reply */
static void
replies(const char *in, size_t n, size_t chunk)
{
    struct sw_reply r;
    enum sw_reply_status st;
    size_t off = 0, used, len;
    int done = 0;

    sw_reply_init(&r);
    while (off < n && done < 1000) {
        len = n - off < chunk ? n - off : chunk;
        st = sw_reply_feed(&r, in + off, len, &used);
        if (used > len)
            abort();
        off += used;
        if (st == SW_REPLY_BAD) {
            if (r.error == NULL || sw_reply_feed(&r, "250 ok\r\n", 8, &used) != SW_REPLY_BAD)
                abort();
            return;
        }
        if (st == SW_REPLY_DONE) {
            if (r.code < 200 || r.code > 599 || r.lines < 1 || !fz_plain(r.text, false))
                abort();
            done++;
            sw_reply_init(&r);
        } else if (used != len) {
            abort(); /* MORE means everything was taken */
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[4096], ips[8][SW_IP_MAX + 1], name[400];
    size_t n, i, k;

    if (size == 0)
        return 0;
    replies((const char *) data + 1, size - 1, (size_t) data[0] % 64 + 1);
    n = size - 1 < sizeof(text) - 1 ? size - 1 : sizeof(text) - 1;
    memcpy(text, data + 1, n);
    text[n] = '\0';
    n = sw_text_ips(text, ips, 8);
    for (i = 0; i < n; i++) {
        if (!sw_dnsbl_query_name(ips[i], "bl.example", name, sizeof(name)))
            abort();
        for (k = 0; k < i; k++)
            if (strcmp(ips[i], ips[k]) == 0)
                abort();
    }
    return 0;
}
