/* clusterrec.c - the records nodes share through Redis: sign, verify, encode, decode */

/*
 * The line format is kv.h's, like the evidence channel's (evrec.c); what
 * differs is who may write it: anybody who can reach Redis.  So decoding
 * goes in this order, and stops at the first failure:
 *
 *   1. length (SW_CREC_MAX), then the last "\tmac=" and its 64 hex digits;
 *   2. the key named by the first "\tk=" field (a plain byte scan: kv
 *      escaping keeps tabs out of values, so "\tk=" always starts a field);
 *   3. the HMAC over the context and every byte before "\tmac=", compared
 *      in constant time;
 *   4. only then sw_kv_parse(), the version, and every field's bounds.
 *
 * Step 2 reads one field before the MAC is checked; it only selects a
 * key, and a record whose id is not one of ours is refused as unsigned.
 *
 * Owns nothing: pure functions on caller memory, no clock, no I/O.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/addr.h"
#include "util/duration.h"
#include "util/kv.h"
#include "global/classify.h"
#include "global/clusterrec.h"

#define SW_CREC_CONTEXT    "spillway-cluster/1|"
#define SW_CREC_MAC_FIELD  "\tmac="
#define SW_CREC_MAC_HEX    64                          /* hex digits of HMAC-SHA256 */
#define SW_CREC_TIME_MAX   7258118400LL                /* 2200-01-01: later is no time */
#define SW_CREC_AT_MAX     (SW_CREC_TIME_MAX * 1000LL) /* the same in milliseconds */
#define SW_CREC_UID_MAX    2147483647LL                /* uid_t as a positive int */
#define SW_CREC_SCOPES_MAX 100000000LL                 /* scopes one node reports */
#define SW_CREC_EVENT_MAX  (sizeof(((struct sw_crec_decision *) 0)->event) - 1)

/* sw_crec_type_name - the word of type= */
const char *
sw_crec_type_name(enum sw_crec_type t)
{
    switch (t) {
    case SW_CREC_EVIDENCE: return "ev";
    case SW_CREC_DECISION: return "dec";
    case SW_CREC_RELAY: return "relay";
    case SW_CREC_HELLO: return "hello";
    }
    return "ev";
}

/* type_parse - inverse of sw_crec_type_name */
static bool
type_parse(const char *s, enum sw_crec_type *t)
{
    static const enum sw_crec_type all[] = { SW_CREC_EVIDENCE, SW_CREC_DECISION, SW_CREC_RELAY,
                                             SW_CREC_HELLO };
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(s, sw_crec_type_name(all[i])) == 0) {
            *t = all[i];
            return true;
        }
    return false;
}

/* name_ok - [A-Za-z0-9._-]{1,max}: node, relay, pool, rule and pattern names */
static bool
name_ok(const char *s, size_t max)
{
    size_t n = 0;

    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
              || *s == '.' || *s == '_' || *s == '-'))
            return false;
    return n > 0 && n <= max;
}

/* sw_crec_node_valid - a node name */
bool
sw_crec_node_valid(const char *s)
{
    return sw_node_name_valid(s); /* conf_cluster.c: cluster.node has the same rule */
}

/* ---------------------------------------------------------------- MAC */

/* mac_hex - the hex HMAC-SHA256 of the context and data under one key */
static bool
mac_hex(const struct sw_tag_key *k, const char *data, size_t len, char hex[SW_CREC_MAC_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char msg[sizeof(SW_CREC_CONTEXT) - 1 + SW_CREC_MAX];
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t ctx = sizeof(SW_CREC_CONTEXT) - 1, mdlen = 0, i;

    if (len > SW_CREC_MAX)
        return false;
    memcpy(msg, SW_CREC_CONTEXT, ctx);
    memcpy(msg + ctx, data, len);
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k->secret, k->len, msg, ctx + len, md,
                  sizeof(md), &mdlen)
            == NULL
        || mdlen * 2 != SW_CREC_MAC_HEX)
        return false;
    for (i = 0; i < mdlen; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[SW_CREC_MAC_HEX] = '\0';
    return true;
}

/* find_last - offset of the last occurrence of pat in data, or len */
static size_t
find_last(const char *data, size_t len, const char *pat)
{
    size_t n = strlen(pat), i;

    for (i = len >= n ? len - n + 1 : 0; i-- > 0;)
        if (memcmp(data + i, pat, n) == 0)
            return i;
    return len;
}

/* find_key - the key named by the first "\tk=" field, or NULL */
static const struct sw_tag_key *
find_key(const char *data, size_t len, const struct sw_tag_keys *keys)
{
    size_t i, n;

    for (i = 0; i + 3 <= len; i++)
        if (memcmp(data + i, "\tk=", 3) == 0)
            break;
    if (i + 3 > len)
        return NULL;
    data += i + 3;
    len -= i + 3;
    for (n = 0; n < len && data[n] != '\t'; n++)
        if (n == SW_TAG_ID_MAX)
            return NULL;
    for (i = 0; i < keys->n; i++)
        if (strlen(keys->key[i].id) == n && memcmp(keys->key[i].id, data, n) == 0)
            return &keys->key[i];
    return NULL;
}

/* ---------------------------------------------------------------- encode */

/* add_ll - key=number for the types kv.h has no adder for */
static bool
add_ll(struct sw_buf *out, const char *key, long long v)
{
    char num[32];

    (void) snprintf(num, sizeof(num), "%lld", v);
    return sw_kv_add(out, key, num);
}

/* add_opt - key=value, left out when the value is empty */
static bool
add_opt(struct sw_buf *out, const char *key, const char *v)
{
    return *v == '\0' || sw_kv_add(out, key, v);
}

/* encode_ev - an evidence record's fields */
static bool
encode_ev(const struct sw_crec *r, struct sw_buf *out)
{
    const struct sw_evidence *e = &r->ev;
    bool ok = true;

    ok &= add_ll(out, "time", (long long) e->time);
    ok &= sw_kv_add(out, "source", sw_ev_source_name(e->source));
    ok &= add_opt(out, "pool", e->pool);
    ok &= add_opt(out, "relay", e->relay);
    ok &= sw_kv_add(out, "domain", e->domain);
    ok &= add_opt(out, "rcpt", e->rcpt);
    ok &= add_opt(out, "id", e->id);
    if (e->code)
        ok &= sw_kv_addl(out, "code", e->code);
    ok &= add_opt(out, "dsn", e->dsn);
    ok &= sw_kv_add(out, "class", sw_class_name(e->cls));
    ok &= add_opt(out, "pattern", e->pattern);
    ok &= sw_kv_addl(out, "trusted", e->trusted ? 1 : 0);
    ok &= sw_kv_addl(out, "success", e->success ? 1 : 0);
    ok &= sw_kv_addl(out, "via_primary", r->via_primary ? 1 : 0);
    ok &= add_opt(out, "egress", e->egress);
    ok &= add_opt(out, "text", e->text);
    return ok;
}

/* encode_dec - a decision's fields */
static bool
encode_dec(const struct sw_crec_decision *d, struct sw_buf *out)
{
    bool ok = true;

    ok &= sw_kv_add(out, "scope", d->scope);
    ok &= sw_kv_add(out, "state", sw_state_name(d->state));
    ok &= add_opt(out, "relay", d->relay);
    ok &= add_ll(out, "since", (long long) d->since);
    if (d->until)
        ok &= add_ll(out, "until", (long long) d->until);
    ok &= sw_kv_addl(out, "hold", d->hold);
    ok &= add_opt(out, "rule", d->rule);
    ok &= add_opt(out, "reason", d->reason);
    ok &= sw_kv_addl(out, "uid", d->uid);
    ok &= sw_kv_add(out, "event", d->event);
    ok &= add_opt(out, "evids", d->evids);
    return ok;
}

/* sw_crec_encode - one signed line (no newline) appended to out */
bool
sw_crec_encode(const struct sw_crec *r, const struct sw_tag_keys *keys, struct sw_buf *out)
{
    char hex[SW_CREC_MAC_HEX + 1];
    size_t start = out->len;
    struct sw_crec check;
    const char *why;
    bool ok = true;

    if (keys == NULL || keys->n == 0)
        return false;
    ok &= sw_kv_addl(out, "v", SW_CREC_VERSION);
    ok &= sw_kv_add(out, "type", sw_crec_type_name(r->type));
    ok &= sw_kv_add(out, "node", r->node);
    ok &= add_ll(out, "at", r->at);
    ok &= sw_kv_add(out, "k", keys->key[0].id);
    switch (r->type) {
    case SW_CREC_EVIDENCE: ok &= encode_ev(r, out); break;
    case SW_CREC_DECISION: ok &= encode_dec(&r->dec, out); break;
    case SW_CREC_RELAY:
        ok &= sw_kv_add(out, "relay", r->relay);
        ok &= sw_kv_add(out, "admin", sw_admin_name(r->admin));
        break;
    case SW_CREC_HELLO:
        ok &= add_ll(out, "started", (long long) r->started);
        ok &= sw_kv_add(out, "state", r->state);
        ok &= sw_kv_addl(out, "scopes", r->scopes);
        break;
    }
    ok = ok && out->len - start + strlen(SW_CREC_MAC_FIELD) + SW_CREC_MAC_HEX <= SW_CREC_MAX
         && mac_hex(&keys->key[0], out->data + start, out->len - start, hex)
         && sw_buf_adds(out, SW_CREC_MAC_FIELD) && sw_buf_adds(out, hex);
    /* What we write, every node must read: a field out of bounds fails
     * here, at its writer, not as a refusal on every peer.  (One more
     * HMAC per record; records are few: decisions, evidence.) */
    ok =
        ok && sw_crec_decode(out->data + start, out->len - start, keys, &check, &why) == SW_CREC_OK;
    if (!ok && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return ok;
}

/* ---------------------------------------------------------------- decode */

/* copy_name - a name field [A-Za-z0-9._-]{1,size-1} */
static bool
copy_name(char *dst, size_t size, const char *src)
{
    if (!name_ok(src, size - 1))
        return false;
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

/* flag - "0" or "1" */
static bool
flag(const char *s, bool *out)
{
    if (s == NULL || (strcmp(s, "0") != 0 && strcmp(s, "1") != 0))
        return false;
    *out = s[0] == '1';
    return true;
}

/* scope_ok - "destination:DOMAIN" (lower case, no trailing dot) or
 * "pool:NAME", exactly as sw_scope_key() writes it */
static bool
scope_ok(const char *s, char *dst, size_t size)
{
    char name[SW_DOMAIN_MAX + 1], key[SW_SCOPE_KEY_MAX + 1];
    enum sw_scope_kind kind;
    const char *p;

    if (strlen(s) > SW_SCOPE_KEY_MAX || (p = strchr(s, ':')) == NULL)
        return false;
    if ((size_t) (p - s) == 4 && strncmp(s, "pool", 4) == 0) {
        kind = SW_SCOPE_POOL;
        if (!name_ok(p + 1, SW_EV_NAME_MAX))
            return false;
    } else if ((size_t) (p - s) == 11 && strncmp(s, "destination", 11) == 0) {
        kind = SW_SCOPE_DESTINATION;
        if (sw_addr_mailertable_key(p + 1, strlen(p + 1), name, sizeof(name)) != SW_KEY_DOMAIN
            || strcmp(name, p + 1) != 0)
            return false;
    } else {
        return false;
    }
    if (!sw_scope_key(kind, p + 1, key, sizeof(key)) || strcmp(key, s) != 0 || strlen(key) >= size)
        return false;
    memcpy(dst, key, strlen(key) + 1);
    return true;
}

/* evids_ok - up to SW_SCOPE_EVIDENCE event ids, one space between them,
 * no control bytes */
static bool
evids_ok(const char *s)
{
    size_t n = strlen(s), words = 1, i;

    if (n == 0)
        return true;
    if (n > SW_CREC_EVIDS || s[0] == ' ' || s[n - 1] == ' ')
        return false;
    for (i = 0; i < n; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
            return false;
        if (s[i] == ' ' && (s[i + 1] == ' ' || ++words > SW_SCOPE_EVIDENCE))
            return false;
    }
    return true;
}

/* event_ok - an event word: [a-z-]{1,15} */
static bool
event_ok(const char *s)
{
    size_t n = 0;

    for (; *s; s++, n++)
        if (!((*s >= 'a' && *s <= 'z') || *s == '-'))
            return false;
    return n > 0 && n <= SW_CREC_EVENT_MAX;
}

/* A malformed record: the reason, then out. */
#define BAD(text)     \
    do {              \
        *why = text;  \
        return false; \
    } while (0)

/* decode_ev - an evidence record's fields */
static bool
decode_ev(const struct sw_kv *kv, struct sw_crec *r, const char **why)
{
    struct sw_evidence *e = &r->ev;
    const char *v;
    long long n;

    if (!sw_kv_number(sw_kv_get(kv, "time"), 0, SW_CREC_TIME_MAX, &n))
        BAD("missing or bad time");
    e->time = (time_t) n;
    if ((v = sw_kv_get(kv, "source")) == NULL || !sw_ev_source_parse(v, &e->source))
        BAD("missing or unknown source");
    if ((v = sw_kv_get(kv, "pool")) != NULL && !copy_name(e->pool, sizeof(e->pool), v))
        BAD("bad pool name");
    if ((v = sw_kv_get(kv, "relay")) != NULL && !copy_name(e->relay, sizeof(e->relay), v))
        BAD("bad relay name");
    if ((v = sw_kv_get(kv, "domain")) == NULL || *v == '\0'
        || !sw_kv_copy(e->domain, sizeof(e->domain), v))
        BAD("missing or bad domain");
    if ((v = sw_kv_get(kv, "rcpt")) != NULL && !sw_kv_copy(e->rcpt, sizeof(e->rcpt), v))
        BAD("bad rcpt");
    if ((v = sw_kv_get(kv, "id")) != NULL && !sw_kv_copy(e->id, sizeof(e->id), v))
        BAD("bad id");
    if ((v = sw_kv_get(kv, "code")) != NULL) {
        if (!sw_kv_number(v, 200, 599, &n))
            BAD("bad code");
        e->code = (int) n;
    }
    if ((v = sw_kv_get(kv, "dsn")) != NULL && !sw_kv_copy(e->dsn, sizeof(e->dsn), v))
        BAD("bad dsn");
    if ((v = sw_kv_get(kv, "class")) == NULL || !sw_class_parse(v, &e->cls))
        BAD("missing or unknown class");
    if ((v = sw_kv_get(kv, "pattern")) != NULL && !copy_name(e->pattern, sizeof(e->pattern), v))
        BAD("bad pattern name");
    if (!flag(sw_kv_get(kv, "trusted"), &e->trusted))
        BAD("missing or bad trusted (0 or 1)");
    if (!flag(sw_kv_get(kv, "success"), &e->success))
        BAD("missing or bad success (0 or 1)");
    if (!flag(sw_kv_get(kv, "via_primary"), &r->via_primary))
        BAD("missing or bad via_primary (0 or 1)");
    if ((v = sw_kv_get(kv, "egress")) != NULL && !sw_kv_copy_ip(e->egress, sizeof(e->egress), v))
        BAD("bad egress (a numeric IP address)");
    if ((v = sw_kv_get(kv, "text")) != NULL)
        sw_kv_copy_text(e->text, sizeof(e->text), v);
    return true;
}

/* decode_dec - a decision's fields */
static bool
decode_dec(const struct sw_kv *kv, struct sw_crec_decision *d, const char **why)
{
    const char *v;
    long long n;

    if ((v = sw_kv_get(kv, "scope")) == NULL || !scope_ok(v, d->scope, sizeof(d->scope)))
        BAD("missing or bad scope");
    if ((v = sw_kv_get(kv, "state")) == NULL || !sw_state_parse_name(v, &d->state))
        BAD("missing or unknown state");
    if ((v = sw_kv_get(kv, "relay")) != NULL && !copy_name(d->relay, sizeof(d->relay), v))
        BAD("bad relay name");
    if ((d->state == SW_STATE_PRIMARY) != (d->relay[0] == '\0'))
        BAD("a relay is named for every state but primary, and only then");
    if (!sw_kv_number(sw_kv_get(kv, "since"), 0, SW_CREC_TIME_MAX, &n))
        BAD("missing or bad since");
    d->since = (time_t) n;
    if ((v = sw_kv_get(kv, "until")) != NULL) {
        if (!sw_kv_number(v, 0, SW_CREC_TIME_MAX, &n))
            BAD("bad until");
        d->until = (time_t) n;
    }
    if (!sw_kv_number(sw_kv_get(kv, "hold"), 0, SW_DURATION_MAX, &n))
        BAD("missing or bad hold");
    d->hold = (long) n;
    if ((v = sw_kv_get(kv, "rule")) != NULL && !copy_name(d->rule, sizeof(d->rule), v))
        BAD("bad rule name");
    /* An operator's reason is free text, kept byte for byte as the state
     * file keeps it (kv.h escapes it here, every reader escapes it where
     * it is shown); only its length is bounded. */
    if ((v = sw_kv_get(kv, "reason")) != NULL) {
        if (strlen(v) > SW_REASON_MAX)
            BAD("reason too long");
        memcpy(d->reason, v, strlen(v) + 1);
    }
    if (!sw_kv_number(sw_kv_get(kv, "uid"), SW_UID_NONE, SW_CREC_UID_MAX, &n))
        BAD("missing or bad uid");
    d->uid = (long) n;
    if ((v = sw_kv_get(kv, "event")) == NULL || !event_ok(v))
        BAD("missing or bad event");
    memcpy(d->event, v, strlen(v) + 1);
    if ((v = sw_kv_get(kv, "evids")) != NULL) {
        if (!evids_ok(v))
            BAD("bad evids (at most 5 event ids, one space apart)");
        memcpy(d->evids, v, strlen(v) + 1);
    }
    return true;
}

/* decode_fields - everything after the MAC check */
static enum sw_crec_status
decode_fields(const struct sw_kv *kv, const char *key_id, struct sw_crec *r, const char **why)
{
    const char *v;
    long long n;
    bool ok = false;

    *why = "no version (v=)";
    if ((v = sw_kv_get(kv, "v")) == NULL || !sw_kv_number(v, 0, 1000000, &n))
        return SW_CREC_MALFORMED;
    if (n != SW_CREC_VERSION) {
        *why = "unsupported record version";
        return SW_CREC_VERSION_UNKNOWN;
    }
    *why = "k= appears twice";
    if ((v = sw_kv_get(kv, "k")) == NULL || strcmp(v, key_id) != 0)
        return SW_CREC_MALFORMED;
    *why = "missing or unknown type";
    if ((v = sw_kv_get(kv, "type")) == NULL || !type_parse(v, &r->type))
        return SW_CREC_MALFORMED;
    *why = "missing or bad node name";
    if ((v = sw_kv_get(kv, "node")) == NULL || !sw_crec_node_valid(v))
        return SW_CREC_MALFORMED;
    memcpy(r->node, v, strlen(v) + 1);
    *why = "missing or bad at";
    if (!sw_kv_number(sw_kv_get(kv, "at"), 1, SW_CREC_AT_MAX, &r->at))
        return SW_CREC_MALFORMED;
    switch (r->type) {
    case SW_CREC_EVIDENCE: ok = decode_ev(kv, r, why); break;
    case SW_CREC_DECISION: ok = decode_dec(kv, &r->dec, why); break;
    case SW_CREC_RELAY:
        *why = "missing or bad relay name";
        if ((v = sw_kv_get(kv, "relay")) == NULL || !copy_name(r->relay, sizeof(r->relay), v))
            break;
        *why = "missing or unknown admin (enabled, disabled, draining)";
        ok = (v = sw_kv_get(kv, "admin")) != NULL && sw_admin_parse(v, &r->admin);
        break;
    case SW_CREC_HELLO:
        *why = "missing or bad started";
        if (!sw_kv_number(sw_kv_get(kv, "started"), 0, SW_CREC_TIME_MAX, &n))
            break;
        r->started = (time_t) n;
        *why = "missing or bad state (ok, degraded)";
        if ((v = sw_kv_get(kv, "state")) == NULL
            || (strcmp(v, "ok") != 0 && strcmp(v, "degraded") != 0))
            break;
        memcpy(r->state, v, strlen(v) + 1);
        *why = "missing or bad scopes";
        if (!sw_kv_number(sw_kv_get(kv, "scopes"), 0, SW_CREC_SCOPES_MAX, &n))
            break;
        r->scopes = (long) n;
        ok = true;
        break;
    }
    return ok ? SW_CREC_OK : SW_CREC_MALFORMED;
}

/* sw_crec_decode - verify, then decode one record */
enum sw_crec_status
sw_crec_decode(const char *data, size_t len, const struct sw_tag_keys *keys, struct sw_crec *r,
               const char **why)
{
    struct sw_kv kv; /* 8 KB on the stack: the callers have it */
    char want[SW_CREC_MAC_HEX + 1];
    const struct sw_tag_key *key;
    size_t at, macn = strlen(SW_CREC_MAC_FIELD), i;
    enum sw_crec_status st;

    memset(r, 0, sizeof(*r));
    if (len > SW_CREC_MAX) {
        *why = "record too long";
        return SW_CREC_MALFORMED;
    }
    if (len && data[len - 1] == '\n')
        len--;
    if ((at = find_last(data, len, SW_CREC_MAC_FIELD)) == len) {
        *why = "no mac";
        return SW_CREC_BADSIG;
    }
    if (len - at - macn != SW_CREC_MAC_HEX) {
        *why = "mac is not 64 hex digits";
        return SW_CREC_BADSIG;
    }
    for (i = at + macn; i < len; i++)
        if (!((data[i] >= '0' && data[i] <= '9') || (data[i] >= 'a' && data[i] <= 'f'))) {
            *why = "mac is not 64 hex digits";
            return SW_CREC_BADSIG;
        }
    if (keys == NULL || (key = find_key(data, at, keys)) == NULL) {
        *why = "signed with a key we do not hold (k=)";
        return SW_CREC_BADSIG;
    }
    if (!mac_hex(key, data, at, want)
        || CRYPTO_memcmp(want, data + at + macn, SW_CREC_MAC_HEX) != 0) {
        *why = "mac does not verify";
        return SW_CREC_BADSIG;
    }
    if (!sw_kv_parse(&kv, data, at, why))
        return SW_CREC_MALFORMED;
    st = decode_fields(&kv, key->id, r, why);
    if (st != SW_CREC_OK)
        memset(r, 0, sizeof(*r)); /* nothing half-read reaches a caller */
    else
        *why = "";
    return st;
}

/* ---------------------------------------------------------------- check */

/* sw_crec_check - the names a record uses exist in this configuration */
bool
sw_crec_check(const struct sw_crec *r, const struct sw_conf *conf, const char **why)
{
    const char *relay = NULL, *pool = NULL;

    switch (r->type) {
    case SW_CREC_EVIDENCE:
        pool = r->ev.pool;
        relay = r->ev.relay;
        break;
    case SW_CREC_DECISION:
        relay = r->dec.relay;
        if (strncmp(r->dec.scope, "pool:", 5) == 0)
            pool = r->dec.scope + 5;
        break;
    case SW_CREC_RELAY: relay = r->relay; break;
    case SW_CREC_HELLO: break;
    }
    if (pool && *pool && sw_conf_pool(conf, pool) == NULL) {
        *why = "names a pool this node does not have";
        return false;
    }
    if (r->type == SW_CREC_RELAY ? sw_conf_relay(conf, relay) == NULL
                                 : relay && *relay && sw_conf_relay(conf, relay) == NULL) {
        *why = "names a relay this node does not have";
        return false;
    }
    return true;
}
