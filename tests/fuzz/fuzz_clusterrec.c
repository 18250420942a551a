/* fuzz_clusterrec.c - fuzz target: one record as a node reads it from Redis */

/*
 * The first input byte chooses the mode; the rest is the record:
 *   odd   the rest is the part before "\tmac=": the target signs it with
 *         the fixed key first, so the fuzzer gets past the MAC and reaches
 *         the field checks (nobody forges an HMAC by mutation);
 *   even  the rest is decoded as it is: the MAC, key id and length checks.
 * A refusal must say why and leave the record zeroed.  A record that is
 * accepted must have fields within their bounds, must encode again (its
 * canonical form is never longer than what was read), and that encoding
 * must decode to the identical struct and encode to the identical bytes.
 */
#include "config.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/clusterrec.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_KEYS "k1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"

/* sign - data "\tmac=" HMAC, as clusterrec.h describes it */
static bool
sign(const struct sw_tag_key *k, const uint8_t *data, size_t size, struct sw_buf *out)
{
    static const char ctx[] = "spillway-cluster/1|";
    unsigned char md[EVP_MAX_MD_SIZE];
    struct sw_buf msg;
    size_t mdlen = 0, i;
    bool ok;

    sw_buf_init(&msg, 2 * SW_CREC_MAX);
    ok = sw_buf_adds(&msg, ctx) && sw_buf_add(&msg, data, size)
         && EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k->secret, k->len,
                      (const unsigned char *) msg.data, msg.len, md, sizeof(md), &mdlen)
                != NULL
         && sw_buf_add(out, data, size) && sw_buf_adds(out, "\tmac=");
    for (i = 0; ok && i < mdlen; i++)
        ok = sw_buf_printf(out, "%02x", md[i]);
    sw_buf_free(&msg);
    return ok;
}

/* zero - every byte of the record is 0 */
static bool
zero(const struct sw_crec *r)
{
    const unsigned char *p = (const unsigned char *) r;
    size_t i;

    for (i = 0; i < sizeof(*r); i++)
        if (p[i])
            return false;
    return true;
}

/* check_fields - what an accepted record promises */
static void
check_fields(const struct sw_crec *r)
{
    if (!sw_crec_node_valid(r->node) || r->at <= 0)
        abort();
    switch (r->type) {
    case SW_CREC_EVIDENCE:
        if (r->ev.domain[0] == '\0' || !fz_plain(r->ev.domain, false)
            || !fz_plain(r->ev.rcpt, false) || !fz_plain(r->ev.id, false)
            || !fz_plain(r->ev.text, false) || !fz_plain(r->ev.pool, false)
            || !fz_plain(r->ev.relay, false) || r->ev.time < 0)
            abort();
        break;
    case SW_CREC_DECISION:
        /* a destination is a lower-case domain; pool names keep their case */
        if (!fz_plain(r->dec.scope, strncmp(r->dec.scope, "pool:", 5) != 0)
            || !fz_plain(r->dec.relay, false) || !fz_plain(r->dec.evids, false)
            || !fz_plain(r->dec.event, true) || r->dec.event[0] == '\0' || r->dec.since < 0
            || r->dec.until < 0 || r->dec.hold < 0 || r->dec.uid < SW_UID_NONE
            || (strncmp(r->dec.scope, "destination:", 12) != 0
                && strncmp(r->dec.scope, "pool:", 5) != 0)
            || (r->dec.state == SW_STATE_PRIMARY) != (r->dec.relay[0] == '\0'))
            abort();
        break;
    case SW_CREC_RELAY:
        if (r->relay[0] == '\0' || !fz_plain(r->relay, false))
            abort();
        break;
    case SW_CREC_HELLO:
        if ((strcmp(r->state, "ok") != 0 && strcmp(r->state, "degraded") != 0) || r->scopes < 0)
            abort();
        break;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sw_tag_keys keys;
    static struct sw_crec r, again;
    struct sw_buf in, b, c;
    const char *why = NULL;
    enum sw_crec_status st;

    if (keys.n == 0) {
        sw_buf_init(&b, 1024);
        if (!sw_tag_keys_parse(FZ_KEYS, strlen(FZ_KEYS), "keys", &keys, &b))
            abort();
        sw_buf_free(&b);
    }
    if (size == 0)
        return 0;
    sw_buf_init(&in, 2 * SW_CREC_MAX);
    sw_buf_init(&b, SW_CREC_MAX);
    sw_buf_init(&c, SW_CREC_MAX);
    if (!(data[0] & 1) || size - 1 > SW_CREC_MAX) {
        if (!sw_buf_add(&in, data + 1, size - 1))
            abort();
    } else if (!sign(&keys.key[0], data + 1, size - 1, &in)) {
        abort();
    }
    st = sw_crec_decode(in.data ? in.data : "", in.len, &keys, &r, &why);
    if (st != SW_CREC_OK) {
        if (why == NULL || *why == '\0' || !zero(&r))
            abort();
        goto done;
    }
    check_fields(&r);
    if (!sw_crec_encode(&r, &keys, &b) || b.len > in.len)
        abort();
    if (sw_crec_decode(b.data, b.len, &keys, &again, &why) != SW_CREC_OK
        || memcmp(&r, &again, sizeof(r)) != 0)
        abort();
    if (!sw_crec_encode(&again, &keys, &c) || c.len != b.len || memcmp(b.data, c.data, b.len) != 0)
        abort();
done:
    sw_buf_free(&in);
    sw_buf_free(&b);
    sw_buf_free(&c);
    return 0;
}
