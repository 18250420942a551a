/* render.c - the fail-static Postfix transport table, as text */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "render.h"

/* entry - "key<TAB>transport:nexthop" */
static bool
entry(struct sw_buf *out, const char *prefix, const char *key,
      const struct sw_relay *relay)
{
    return sw_buf_printf(out, "%s%s\t", prefix, key)
        && sw_answer_transport(relay, out) && sw_buf_addc(out, '\n');
}

/* primary_relay - the pool's primary relay, to pin residency exceptions */
static const struct sw_relay *
primary_relay(const struct sw_conf *c, const struct sw_pool *pool)
{
    const struct sw_relay *r;
    size_t i;

    for (i = 0; pool && i < pool->relays.n; i++)
        if ((r = sw_conf_relay(c, pool->relays.v[i])) && r->role == SW_ROLE_PRIMARY)
            return r;
    return NULL;
}

/* pattern_key - table key and a sample domain for a destination pattern */
static bool
pattern_key(const char *pattern, char *key, size_t ksize, char *sample, size_t ssize)
{
    const char *base = pattern;
    int n;

    if (strcmp(pattern, "*") == 0) {
        (void) snprintf(key, ksize, "*");
        (void) snprintf(sample, ssize, "any.invalid");
        return true;
    }
    if (base[0] == '*')
        base++;
    if (base[0] == '.') {
        n = snprintf(key, ksize, "%s", base);
        (void) snprintf(sample, ssize, "x%s", base);
    } else {
        n = snprintf(key, ksize, "%s", base);
        (void) snprintf(sample, ssize, "%s", base);
    }
    return n > 0 && (size_t) n < ksize;
}

/* render_pool - entries for a pool-wide scope */
static bool
render_pool(const struct sw_policy *p, const struct sw_route *r,
            const struct sw_scope *s, struct sw_buf *out)
{
    const struct sw_pool *pool = sw_conf_pool(p->conf, s->name);
    const struct sw_relay *prim = primary_relay(p->conf, pool);
    char key[300], sample[300];
    struct sw_answer a;
    size_t i, k;
    bool ok = true;

    if (pool == NULL)
        return true;
    /* Residency exceptions first: a destination whose rules refuse the
     * pool's alternates is named explicitly, to the primary if need be. */
    for (i = 0; ok && i < p->conf->nresidency; i++)
        for (k = 0; ok && k < p->conf->residency[i].destinations.n; k++) {
            if (!pattern_key(p->conf->residency[i].destinations.v[k], key,
                             sizeof(key), sample, sizeof(sample))
                || strcmp(key, "*") == 0)
                continue;
            sw_answer_domain(p, r, sample, &a);
            if (a.scope && a.scope->kind == SW_SCOPE_DESTINATION)
                continue;               /* rendered with its own scope */
            if (a.relay)
                ok = entry(out, "", key, a.relay);
            else if (prim)
                ok = entry(out, "", key, prim);
        }
    sw_answer_domain(p, r, NULL, &a);
    if (pool->destinations.n == 0) {
        if (a.scope == s && a.relay)
            ok = ok && entry(out, "", "*", a.relay);
        return ok;
    }
    for (k = 0; ok && k < pool->destinations.n; k++) {
        if (!pattern_key(pool->destinations.v[k], key, sizeof(key), sample, sizeof(sample)))
            continue;
        sw_answer_domain(p, r, sample, &a);
        if (a.scope == s && a.relay)
            ok = entry(out, "", key, a.relay);
    }
    return ok;
}

/* sw_render_transport - the whole table */
bool
sw_render_transport(const struct sw_policy *p, const struct sw_route *r,
                    struct sw_buf *out)
{
    const struct sw_scope **v;
    struct sw_answer a;
    size_t i, n;
    bool ok;

    ok = sw_buf_adds(out, "# spillway: current diversions (generated; do not edit)\n");
    if ((v = sw_route_sorted(r, &n)) == NULL)
        return false;
    for (i = 0; ok && i < n; i++) {
        if (v[i]->kind == SW_SCOPE_POOL) {
            ok = render_pool(p, r, v[i], out);
            continue;
        }
        sw_answer_domain(p, r, v[i]->name, &a);
        if (a.relay == NULL)
            continue;
        ok = entry(out, "", v[i]->name, a.relay) && entry(out, ".", v[i]->name, a.relay);
    }
    free(v);
    return ok;
}
