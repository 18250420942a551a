/* render.c - the fail-static routing tables (Postfix, Sendmail), as text */

/*
 * The table must route every destination exactly as the socketmap would.
 * Postfix looks a domain up as itself, then ".parent" for each parent,
 * then "*" (transport(5)); Sendmail's mailertable the same way, with "."
 * last.  So the table is built as a set of keys whose
 * answers come from sw_answer_domain(), then checked: for each residency
 * pattern, the answer Postfix would find by that walk is compared with the
 * socketmap's, and an explicit entry is added where they differ ("primary"
 * is then named explicitly, since a missing key would fall through to a
 * broader one).  Entries are few (two per scope), so the checks are linear.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/addr.h"
#include "global/answer.h"
#include "global/render.h"

#define SW_RENDER_KEY_MAX (SW_DOMAIN_MAX + 3)

/*
 * The table under construction: entries in insertion order, their keys in
 * one arena (offsets, since the arena moves when it grows), and an open
 * addressing index over the entries so that add() and walk() cost O(1)
 * per key: a render of 100,000 diversions is linear, not quadratic.
 */
struct entry {
    size_t key;                 /* offset in the arena */
    const struct sw_relay *relay;
};

struct table {
    struct entry *v;
    size_t n, size;
    char *arena;
    size_t alen, asize;
    size_t *slot;               /* entry index + 1; 0 is empty */
    size_t nslot;               /* a power of two, at least 2n */
    bool failed;
};

/* key_hash - FNV-1a */
static size_t
key_hash(const char *k)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *k; k++)
        h = (h ^ (unsigned char) *k) * 1099511628211ULL;
    return (size_t) h;
}

/* key_of - an entry's key */
static const char *
key_of(const struct table *t, size_t i)
{
    return t->arena + t->v[i].key;
}

/* find - an entry by key, or NULL */
static const struct entry *
find(const struct table *t, const char *key)
{
    size_t i;

    if (t->nslot == 0)
        return NULL;
    for (i = key_hash(key) & (t->nslot - 1); t->slot[i]; i = (i + 1) & (t->nslot - 1))
        if (strcmp(key_of(t, t->slot[i] - 1), key) == 0)
            return &t->v[t->slot[i] - 1];
    return NULL;
}

/* reindex - a larger index over every entry */
static bool
reindex(struct table *t, size_t nslot)
{
    size_t *slot = calloc(nslot, sizeof(*slot)), i, k;

    if (slot == NULL)
        return false;
    for (i = 0; i < t->n; i++) {
        for (k = key_hash(key_of(t, i)) & (nslot - 1); slot[k]; k = (k + 1) & (nslot - 1))
            ;
        slot[k] = i + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->nslot = nslot;
    return true;
}

/* grow - room for one more entry, its key and its slot */
static bool
grow(struct table *t, size_t keylen)
{
    struct entry *v;
    size_t size;
    char *a;

    if (t->n == t->size) {
        size = t->size ? t->size * 2 : 64;
        if ((v = realloc(t->v, size * sizeof(*v))) == NULL)
            return false;
        t->v = v;
        t->size = size;
    }
    if (t->alen + keylen + 1 > t->asize) {
        size = t->asize ? t->asize * 2 : 4096;
        while (size < t->alen + keylen + 1)
            size *= 2;
        if ((a = realloc(t->arena, size)) == NULL)
            return false;
        t->arena = a;
        t->asize = size;
    }
    if (2 * (t->n + 1) > t->nslot && !reindex(t, t->nslot ? t->nslot * 2 : 128))
        return false;
    return true;
}

/* add - a key unless present (the first, most specific, answer wins) */
static void
add(struct table *t, const char *prefix, const char *key, const struct sw_relay *relay)
{
    char k[SW_RENDER_KEY_MAX + 1];
    int n = snprintf(k, sizeof(k), "%s%s", prefix, key);
    size_t i;

    if (relay == NULL || n < 0 || (size_t) n >= sizeof(k) || find(t, k))
        return;
    if (!grow(t, (size_t) n)) {
        t->failed = true;
        return;
    }
    memcpy(t->arena + t->alen, k, (size_t) n + 1);
    t->v[t->n].key = t->alen;
    t->v[t->n].relay = relay;
    t->alen += (size_t) n + 1;
    for (i = key_hash(k) & (t->nslot - 1); t->slot[i]; i = (i + 1) & (t->nslot - 1))
        ;
    t->slot[i] = ++t->n;
}

/* walk - what Postfix finds for a domain in the table so far */
static const struct sw_relay *
walk(const struct table *t, const char *domain)
{
    const struct entry *e;
    const char *p;

    if ((e = find(t, domain)) != NULL)
        return e->relay;
    for (p = strchr(domain, '.'); p; p = strchr(p + 1, '.'))
        if ((e = find(t, p)) != NULL)
            return e->relay;
    return (e = find(t, "*")) != NULL ? e->relay : NULL;
}

/* correct - the socketmap's answer, primary named explicitly */
static const struct sw_relay *
correct(const struct sw_policy *p, const struct sw_route *r, const char *domain, bool *is_primary)
{
    struct sw_answer a;

    sw_answer_domain(p, r, domain, &a);
    *is_primary = a.relay == NULL;
    return a.relay ? a.relay : sw_answer_primary(p->conf, a.pool);
}

/* pattern_sample - table key and a stand-in domain for a domain pattern */
static bool
pattern_sample(const char *pattern, char *key, size_t ksize, char *sample, size_t ssize)
{
    const char *base = pattern[0] == '*' ? pattern + 1 : pattern;

    if (strcmp(pattern, "*") == 0)
        return snprintf(key, ksize, "*") > 0 && snprintf(sample, ssize, "*.invalid") > 0;
    if ((size_t) snprintf(key, ksize, "%s", base) >= ksize)
        return false;
    if (base[0] == '.')
        return sw_answer_subdomain_sample(base + 1, sample, ssize);
    return (size_t) snprintf(sample, ssize, "%s", base) < ssize;
}

/* add_pool_keys - "*" or the pool's destination patterns, as answered */
static void
add_pool_keys(const struct sw_policy *p, const struct sw_route *r, const struct sw_pool *pool,
              struct table *t)
{
    const struct sw_relay *relay;
    char key[SW_RENDER_KEY_MAX + 1], sample[SW_RENDER_KEY_MAX + 1];
    bool prim_d;
    size_t k;

    if (pool->destinations.n == 0) {
        relay = correct(p, r, "*.invalid", &prim_d);
        if (!prim_d)
            add(t, "", "*", relay);
        return;
    }
    for (k = 0; k < pool->destinations.n; k++) {
        if (!pattern_sample(pool->destinations.v[k], key, sizeof(key), sample, sizeof(sample)))
            continue;
        relay = correct(p, r, sample, &prim_d);
        if (!prim_d)
            add(t, "", key, relay);
    }
}

/* add_scope - a destination scope's keys, or a pool scope's patterns */
static void
add_scope(const struct sw_policy *p, const struct sw_route *r, const struct sw_scope *s,
          struct table *t)
{
    const struct sw_pool *pool;
    const struct sw_relay *relay;
    char sample[SW_RENDER_KEY_MAX + 1];
    bool prim_d, prim_sub;

    if (s->kind == SW_SCOPE_DESTINATION) {
        /* The domain itself, then its subdomains (which residency may
         * treat differently); a primary answer is left to add_held(). */
        relay = correct(p, r, s->name, &prim_d);
        if (!sw_answer_subdomain_sample(s->name, sample, sizeof(sample)))
            return;
        if (!prim_d)
            add(t, "", s->name, relay);
        relay = correct(p, r, sample, &prim_sub);
        if (!prim_sub)
            add(t, ".", s->name, relay);
        return;
    }
    if ((pool = sw_conf_pool(p->conf, s->name)) != NULL)
        add_pool_keys(p, r, pool, t);
}

/* add_held - a destination scope held on the primary (its relay cannot
 * take the mail) is named explicitly where a broader key would win */
static void
add_held(const struct sw_policy *p, const struct sw_route *r, const struct sw_scope *s,
         struct table *t)
{
    char sample[SW_RENDER_KEY_MAX + 1];
    const struct sw_relay *relay;
    bool prim;

    relay = correct(p, r, s->name, &prim);
    if (prim && walk(t, s->name) != NULL && walk(t, s->name) != relay)
        add(t, "", s->name, relay);
    if (!sw_answer_subdomain_sample(s->name, sample, sizeof(sample)))
        return;
    relay = correct(p, r, sample, &prim);
    if (prim && walk(t, sample) != NULL && walk(t, sample) != relay)
        add(t, ".", s->name, relay);
}

/* add_exceptions - residency patterns where the walk would be wrong */
static void
add_exceptions(const struct sw_policy *p, const struct sw_route *r, struct table *t)
{
    const struct sw_relay *want, *got;
    char key[SW_RENDER_KEY_MAX + 1], sample[SW_RENDER_KEY_MAX + 1];
    const struct sw_strv *dv;
    bool is_primary;
    size_t i, k;

    for (i = 0; i < p->conf->nresidency; i++) {
        dv = &p->conf->residency[i].destinations;
        for (k = 0; k < dv->n; k++) {
            if (!pattern_sample(dv->v[k], key, sizeof(key), sample, sizeof(sample))
                || strcmp(key, "*") == 0)
                continue;
            want = correct(p, r, sample, &is_primary);
            got = walk(t, sample);
            if (got == want || (got == NULL && is_primary))
                continue;
            add(t, "", key, want);
        }
    }
}

/* Postfix's and Sendmail's tables differ only in how a line is written:
 * the catch-all key ("*" in transport(5), "." in a mailertable) and the
 * answer's notation.  Both walk a domain the same way: the domain, then
 * ".parent" for each parent, then the catch-all (MTA-FACTS.md). */
struct flavour {
    const char *star;
    bool (*answer)(const struct sw_policy *, const struct sw_relay *, const char *,
                   struct sw_buf *);
};

/* render - the whole table in one flavour */
static bool
render(const struct sw_policy *p, const struct sw_route *r, const struct flavour *f,
       struct sw_buf *out)
{
    const struct sw_scope **v;
    struct table t;
    const struct entry *star;
    size_t i, n;
    bool ok;

    memset(&t, 0, sizeof(t));
    if ((v = sw_route_sorted(r, &n)) == NULL)
        return false;
    for (i = 0; i < n; i++)
        if (v[i]->kind == SW_SCOPE_DESTINATION)
            add_scope(p, r, v[i], &t);
    for (i = 0; i < n; i++)
        if (v[i]->kind == SW_SCOPE_POOL)
            add_scope(p, r, v[i], &t);
    /* A partial primary is named for all the rest of its pool's mail. */
    for (i = 0; i < p->conf->npools; i++)
        if (sw_answer_primary_partial(p, &p->conf->pools[i]))
            add_pool_keys(p, r, &p->conf->pools[i], &t);
    for (i = 0; i < n; i++)
        if (v[i]->kind == SW_SCOPE_DESTINATION)
            add_held(p, r, v[i], &t);
    free(v);
    add_exceptions(p, r, &t);
    ok = !t.failed && sw_buf_adds(out, "# spillway: current diversions (generated; do not edit)\n");
    /* The catch-all last, for the reader: the MTA consults it last anyway. */
    for (i = 0; ok && i < t.n; i++)
        if (strcmp(key_of(&t, i), "*") != 0)
            ok = sw_buf_adds(out, key_of(&t, i)) && sw_buf_addc(out, '\t')
                 && f->answer(p, t.v[i].relay, key_of(&t, i), out) && sw_buf_addc(out, '\n');
    if (ok && (star = find(&t, "*")) != NULL)
        ok = sw_buf_adds(out, f->star) && sw_buf_addc(out, '\t')
             && f->answer(p, star->relay, NULL, out) && sw_buf_addc(out, '\n');
    free(t.v);
    free(t.arena);
    free(t.slot);
    return ok;
}

/* sw_render_transport - Postfix's transport table */
bool
sw_render_transport(const struct sw_policy *p, const struct sw_route *r, struct sw_buf *out)
{
    static const struct flavour postfix = { "*", sw_answer_transport };

    return render(p, r, &postfix, out);
}

/* sw_render_mailertable - Sendmail's mailertable */
bool
sw_render_mailertable(const struct sw_policy *p, const struct sw_route *r, struct sw_buf *out)
{
    static const struct flavour sendmail = { ".", sw_answer_mailertable };

    return render(p, r, &sendmail, out);
}
