/* render.c - the fail-static Postfix transport table, as text */

/*
 * The table must route every destination exactly as the socketmap would.
 * Postfix looks a domain up as itself, then ".parent" for each parent,
 * then "*" (transport(5)), so the table is built as a set of keys whose
 * answers come from sw_answer_domain(), then checked: for each residency
 * pattern, the answer Postfix would find by that walk is compared with the
 * socketmap's, and an explicit entry is added where they differ ("primary"
 * is then named explicitly, since a missing key would fall through to a
 * broader one).  Entries are few (two per scope), so the checks are linear.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "answer.h"
#include "render.h"

#define SW_RENDER_KEY_MAX (SW_DOMAIN_MAX + 3)

struct entry {
    char key[SW_RENDER_KEY_MAX + 1];
    const struct sw_relay *relay;
};

struct table {
    struct entry *v;
    size_t n, size;
    bool failed;
};

/* find - an entry by key */
static const struct entry *
find(const struct table *t, const char *key)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (strcmp(t->v[i].key, key) == 0)
            return &t->v[i];
    return NULL;
}

/* add - a key unless present (the first, most specific, answer wins) */
static void
add(struct table *t, const char *prefix, const char *key, const struct sw_relay *relay)
{
    struct entry *v;
    char k[SW_RENDER_KEY_MAX + 1];
    int n = snprintf(k, sizeof(k), "%s%s", prefix, key);

    if (relay == NULL || n < 0 || (size_t) n >= sizeof(k) || find(t, k))
        return;
    if (t->n == t->size) {
        if ((v = realloc(t->v, (t->size ? t->size * 2 : 16) * sizeof(*v))) == NULL) {
            t->failed = true;
            return;
        }
        t->v = v;
        t->size = t->size ? t->size * 2 : 16;
    }
    memcpy(t->v[t->n].key, k, (size_t) n + 1);
    t->v[t->n++].relay = relay;
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

/* add_scope - a destination scope's keys, or a pool scope's patterns */
static void
add_scope(const struct sw_policy *p, const struct sw_route *r, const struct sw_scope *s,
          struct table *t)
{
    const struct sw_pool *pool;
    const struct sw_relay *relay;
    char key[SW_RENDER_KEY_MAX + 1], sample[SW_RENDER_KEY_MAX + 1];
    bool prim_d, prim_sub;
    size_t k;

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
    if ((pool = sw_conf_pool(p->conf, s->name)) == NULL)
        return;
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

/* sw_render_transport - the whole table */
bool
sw_render_transport(const struct sw_policy *p, const struct sw_route *r, struct sw_buf *out)
{
    const struct sw_scope **v;
    struct table t = { NULL, 0, 0, false };
    const struct entry *star;
    size_t i, n;
    bool ok;

    if ((v = sw_route_sorted(r, &n)) == NULL)
        return false;
    for (i = 0; i < n; i++)
        if (v[i]->kind == SW_SCOPE_DESTINATION)
            add_scope(p, r, v[i], &t);
    for (i = 0; i < n; i++)
        if (v[i]->kind == SW_SCOPE_POOL)
            add_scope(p, r, v[i], &t);
    for (i = 0; i < n; i++)
        if (v[i]->kind == SW_SCOPE_DESTINATION)
            add_held(p, r, v[i], &t);
    free(v);
    add_exceptions(p, r, &t);
    ok = !t.failed && sw_buf_adds(out, "# spillway: current diversions (generated; do not edit)\n");
    /* "*" last, for the reader: Postfix consults it last anyway. */
    for (i = 0; ok && i < t.n; i++)
        if (strcmp(t.v[i].key, "*") != 0)
            ok = sw_buf_printf(out, "%s\t", t.v[i].key) && sw_answer_transport(t.v[i].relay, out)
                 && sw_buf_addc(out, '\n');
    if (ok && (star = find(&t, "*")) != NULL)
        ok = sw_buf_adds(out, "*\t") && sw_answer_transport(star->relay, out)
             && sw_buf_addc(out, '\n');
    free(t.v);
    return ok;
}
