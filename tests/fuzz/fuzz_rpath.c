/* fuzz_rpath.c - fuzz target: return-path addresses (rpath.h) */

/*
 * The input is read twice.  As an envelope recipient at a return-path
 * domain (whoever mails us chooses it): the check must answer one of its
 * states without reading out of bounds, and an address it calls valid or
 * expired must restore a sender whose own tagged address, made for the
 * same day, verifies with the same canonical form (nobody forges a MAC by
 * fuzzing: the seeds carry genuine ones, and their variants must fail).
 * As an envelope sender (what our own users choose): an address it
 * rewrites has a local part of at most 64 octets and verifies back to
 * the same sender, ignoring case.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "global/rpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_KEYS "k1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
#define FZ_NOW  1795354257L

static char *fz_domains[] = { "example.org", "*.example.com" };
static char *fz_skip[] = { "postmaster", "owner-*" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sw_tag_keys keys;
    struct sw_rpath_conf rp;
    struct sw_rpath_check c, again;
    char in[SW_RPATH_ADDR_MAX * 2], out[SW_RPATH_ADDR_MAX], remade[SW_RPATH_ADDR_MAX];
    enum sw_rpath_skip s;
    struct sw_buf err;
    long long day;

    if (keys.n == 0) {
        sw_buf_init(&err, 1024);
        if (!sw_tag_keys_parse(FZ_KEYS, strlen(FZ_KEYS), "keys", &keys, &err))
            abort();
        sw_buf_free(&err);
    }
    memset(&rp, 0, sizeof(rp));
    rp.domain = "bounces.example.net";
    rp.subdomain = "bounces";
    rp.sender_domains.v = fz_domains;
    rp.sender_domains.n = 2;
    rp.skip_senders.v = fz_skip;
    rp.skip_senders.n = 2;
    rp.max_age = 21 * 86400;
    if (size >= sizeof(in))
        size = sizeof(in) - 1;
    memcpy(in, data, size);
    in[size] = '\0';

    sw_rpath_check(&rp, &keys, in, FZ_NOW, &c);
    if (c.state > SW_RPATH_INVALID)
        abort();
    if ((c.state == SW_RPATH_VALID || c.state == SW_RPATH_EXPIRED) != (c.sender[0] != '\0'))
        abort();
    if (c.sender[0]) {
        day = strtoll(strstr(c.id, " d=") + 3, NULL, 10);
        if (sw_rpath_make(&rp, &keys, c.sender, (time_t) (day * 86400), remade, sizeof(remade))
            != SW_RPATH_REWRITE)
            abort();
        sw_rpath_check(&rp, &keys, remade, FZ_NOW, &again);
        if (again.state != c.state || strcmp(again.id, c.id) != 0)
            abort();
    }
    (void) sw_rpath_skip_rcpt(&rp, in);

    s = sw_rpath_make(&rp, &keys, in, FZ_NOW, out, sizeof(out));
    if (s == SW_RPATH_REWRITE) {
        if (strchr(out, '@') == NULL || strchr(out, '@') - out > SW_RPATH_LOCAL_MAX)
            abort();
        sw_rpath_check(&rp, &keys, out, FZ_NOW, &c);
        if (c.state != SW_RPATH_VALID)
            abort();
    } else if (out[0] != '\0')
        abort();
    return 0;
}
