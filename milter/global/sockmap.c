/* sockmap.c - answers to socketmap requests (Postfix and Sendmail) */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/addr.h"
#include "global/answer.h"
#include "global/sockmap.h"

/*
 * Probing and Sendmail.  Postfix asks with the recipient's address, so a
 * hash of the key sends a share of the addresses to the primary, and both
 * of Postfix's lookups of one recipient agree.  A mailertable key names a
 * host: every recipient of a destination sends the same key, and a hash of
 * it would send all of the destination's mail to the primary or none of it
 * for the whole probing period; with recover.share 0.05, 19 destinations
 * in 20 would never reach recover.successes and stay diverted for good.
 * So each mailertable lookup of a probing scope is drawn on its own, the
 * key salted with a count of such draws.  Sendmail needs no agreement
 * between lookups: it delivers by the route it resolved, and a queue run
 * resolves again.  spillway-routed answers from one thread; this count is
 * the module's only state, and no answer depends on it but the draw.
 */
static uint64_t mailertable_draws;

/* probe_primary - does this lookup of a probing scope go to the primary? */
static bool
probe_primary(const struct sw_scope *s, double share, bool mailertable, const char *key,
              size_t klen)
{
    char salted[SW_DOMAIN_MAX + 32]; /* ".", "domain" or ".domain", maybe a dot, "#N" */
    int n;

    if (!mailertable)
        return sw_route_probe_primary(s, share, key, klen);
    if (klen > SW_DOMAIN_MAX + 2) /* not a key sw_addr_mailertable_key() took */
        return false;
    n = snprintf(salted, sizeof(salted), "%.*s#%llu", (int) klen, key,
                 (unsigned long long) ++mailertable_draws);
    if (n < 0 || (size_t) n >= sizeof(salted))
        return false;
    return sw_route_probe_primary(s, share, salted, (size_t) n);
}

/* notfound - the safe answer; the space is part of the protocol */
static enum sw_sockmap_result
notfound(struct sw_buf *reply, enum sw_sockmap_result why)
{
    sw_buf_reset(reply);
    (void) sw_buf_adds(reply, "NOTFOUND ");
    return why;
}

/* probe_share - the recover.share of the scope's rule */
static double
probe_share(const struct sw_conf *c, const struct sw_scope *s)
{
    size_t i;

    for (i = 0; s->rule && i < c->nrules; i++)
        if (strcmp(c->rules[i].name, s->rule) == 0)
            return c->rules[i].recover_share;
    return 0.05;
}

/* The map names answered, and in whose notation (sockmap.h). */
static const struct {
    const char *name;
    bool mailertable;
} maps[] = {
    { "transport", false },
    { "mailertable", true },
    { SW_SOCKMAP_SENDMAIL_MEMBER, true },
};

/* sw_sockmap_answer - one request */
enum sw_sockmap_result
sw_sockmap_answer(const struct sw_policy *p, const struct sw_route *r, const char *payload,
                  size_t len, struct sw_buf *reply)
{
    char domain[SW_DOMAIN_MAX + 1], sample[SW_DOMAIN_MAX + 3];
    const char *sp, *key;
    struct sw_answer a;
    enum sw_key_kind kind;
    size_t mlen, klen, i;
    bool mailertable;

    sw_buf_reset(reply);
    if (len > SW_SOCKMAP_MAX_REQUEST || (sp = memchr(payload, ' ', len)) == NULL)
        return notfound(reply, SW_SOCKMAP_MALFORMED);
    mlen = (size_t) (sp - payload);
    key = sp + 1;
    klen = len - mlen - 1;
    for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
        if (strlen(maps[i].name) == mlen && memcmp(payload, maps[i].name, mlen) == 0)
            break;
    if (i == sizeof(maps) / sizeof(maps[0]))
        return notfound(reply, SW_SOCKMAP_BADMAP);
    mailertable = maps[i].mailertable;

    kind = mailertable ? sw_addr_mailertable_key(key, klen, domain, sizeof(domain))
                       : sw_addr_transport_key(key, klen, domain, sizeof(domain));
    if (kind == SW_KEY_NONE)
        return notfound(reply, SW_SOCKMAP_NOTFOUND);
    if (kind == SW_KEY_SUBDOMAINS && !sw_answer_subdomain_sample(domain, sample, sizeof(sample)))
        return notfound(reply, SW_SOCKMAP_NOTFOUND);
    sw_answer_domain(p, r,
                     kind == SW_KEY_ROOT         ? NULL
                     : kind == SW_KEY_SUBDOMAINS ? sample
                                                 : domain,
                     &a);
    /* Sendmail goes on to ".parent" and "." after a NOTFOUND, where a
     * broader scope would answer: a destination held on the primary by
     * policy (residency) is answered with the primary, by name.  Postfix
     * asks only for the full address (and "*", always NOTFOUND). */
    if (a.relay == NULL && a.held && mailertable)
        a.relay = sw_answer_primary(p->conf, a.pool);
    if (a.relay == NULL)
        return notfound(reply, SW_SOCKMAP_NOTFOUND);
    if (a.scope && a.scope->state == SW_STATE_PROBING
        && probe_primary(a.scope, probe_share(p->conf, a.scope), mailertable, key, klen)) {
        a.relay = sw_answer_primary_partial(p, a.pool);
        /* Sendmail: the primary by name, or its walk goes on to ".parent"
         * and ".", where a probing pool scope would draw again. */
        if (a.relay == NULL && mailertable)
            a.relay = sw_answer_primary(p->conf, a.pool);
        if (a.relay == NULL)
            return notfound(reply, SW_SOCKMAP_NOTFOUND);
    }
    if (!sw_buf_adds(reply, "OK ")
        || !(mailertable ? sw_answer_mailertable(p, a.relay, domain, reply)
                         : sw_answer_transport(p, a.relay, domain, reply)))
        return notfound(reply, SW_SOCKMAP_NOTFOUND);
    return SW_SOCKMAP_FOUND;
}

/* ask - one lookup "MAP KEY" */
static enum sw_sockmap_result
ask(const struct sw_policy *p, const struct sw_route *r, const char *map, const char *key,
    struct sw_buf *reply)
{
    char req[SW_SOCKMAP_MAX_REQUEST + 1];
    int n = snprintf(req, sizeof(req), "%s %s", map, key);

    if (n < 0 || (size_t) n >= sizeof(req))
        return notfound(reply, SW_SOCKMAP_MALFORMED);
    return sw_sockmap_answer(p, r, req, (size_t) n, reply);
}

/* sw_sockmap_walk - what the MTA's whole lookup gets */
enum sw_sockmap_result
sw_sockmap_walk(const struct sw_policy *p, const struct sw_route *r, bool mailertable,
                const char *address, struct sw_buf *keys, struct sw_buf *reply)
{
    char domain[SW_DOMAIN_MAX + 1], key[SW_DOMAIN_MAX + 16];
    const char *d, *key_addr = key;
    enum sw_sockmap_result res;
    size_t len = strlen(address);

    sw_buf_reset(keys);
    if (sw_addr_transport_key(address, len, domain, sizeof(domain)) != SW_KEY_DOMAIN
        && sw_addr_mailertable_key(address, len, domain, sizeof(domain)) != SW_KEY_DOMAIN)
        return notfound(reply, SW_SOCKMAP_NOTFOUND);
    if (!mailertable) {
        /* A bare domain stands for its postmaster. */
        if (strchr(address, '@') == NULL)
            (void) snprintf(key, sizeof(key), "postmaster@%s", domain);
        else
            key_addr = address;
        (void) sw_buf_add_json(keys, key_addr);
        return ask(p, r, "transport", key_addr, reply);
    }
    for (d = domain;; d = sw_addr_parent(d)) {
        (void) snprintf(key, sizeof(key), "%s%s", d == NULL ? "." : d == domain ? "" : ".",
                        d ? d : "");
        (void) sw_buf_adds(keys, keys->len ? ", " : "");
        (void) sw_buf_add_json(keys, key);
        res = ask(p, r, "mailertable", key, reply);
        if (res != SW_SOCKMAP_NOTFOUND || d == NULL)
            return res;
    }
}

/* sw_sockmap_rp_answer - "rp-sender <sender>": its return-path address */
enum sw_sockmap_result
sw_sockmap_rp_answer(const struct sw_rpath_conf *rp, const struct sw_tag_keys *keys,
                     const char *payload, size_t len, time_t now, struct sw_buf *reply)
{
    static const size_t mlen = sizeof(SW_SOCKMAP_RP_MAP) - 1;
    char key[SW_RPATH_ADDR_MAX], out[SW_RPATH_ADDR_MAX];
    size_t klen;

    if (len <= mlen || memcmp(payload, SW_SOCKMAP_RP_MAP " ", mlen + 1) != 0)
        return SW_SOCKMAP_BADMAP;
    klen = len - mlen - 1;
    if (klen == 0 || klen >= sizeof(key) || memchr(payload + mlen + 1, '\0', klen))
        return notfound(reply, SW_SOCKMAP_MALFORMED);
    memcpy(key, payload + mlen + 1, klen);
    key[klen] = '\0';
    if (sw_rpath_make(rp, keys, key, now, out, sizeof(out)) != SW_RPATH_REWRITE)
        return notfound(reply, SW_SOCKMAP_NOTFOUND);
    sw_buf_reset(reply);
    if (!sw_buf_adds(reply, "OK ") || !sw_buf_adds(reply, out))
        return notfound(reply, SW_SOCKMAP_NOTFOUND);
    return SW_SOCKMAP_FOUND;
}
