/* route.c - routing state per scope: the pure decision engine */

/*
 * A chained hash table of scopes keyed by their canonical name.  Only
 * scopes off the primary route are stored, so memory grows with the
 * number of diversions, not with the number of destinations ever seen.
 * Cost: a lookup hashes the domain and each parent once (a handful of
 * short strings), well inside the microsecond budget of a socketmap
 * answer.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/addr.h"
#include "global/route.h"

#define SW_ROUTE_MIN_BUCKETS 64

struct sw_route {
    struct sw_scope **bucket;
    size_t nbuckets; /* a power of two */
    size_t count;
};

/* hash - FNV-1a over a NUL-terminated key */
static uint64_t
hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char) *s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* sw_route_new - an empty table: everything primary */
struct sw_route *
sw_route_new(void)
{
    struct sw_route *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->nbuckets = SW_ROUTE_MIN_BUCKETS;
    if ((r->bucket = calloc(r->nbuckets, sizeof(*r->bucket))) == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

/* scope_free - one scope and its strings */
static void
scope_free(struct sw_scope *s)
{
    free(s->key);
    free(s->relay);
    free(s->rule);
    free(s->reason);
    free(s->ev);
    free(s);
}

/* sw_route_free - the table and every scope */
void
sw_route_free(struct sw_route *r)
{
    struct sw_scope *s, *next;
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->nbuckets; i++)
        for (s = r->bucket[i]; s; s = next) {
            next = s->next;
            scope_free(s);
        }
    free(r->bucket);
    free(r);
}

/* sw_scope_kind_name - the word used in keys, logs and the CLI */
const char *
sw_scope_kind_name(enum sw_scope_kind kind)
{
    return kind == SW_SCOPE_POOL ? "pool" : "destination";
}

/* sw_state_name - the word used in logs and the CLI */
const char *
sw_state_name(enum sw_state state)
{
    switch (state) {
    case SW_STATE_DIVERTED: return "diverted";
    case SW_STATE_PROBING: return "probing";
    case SW_STATE_PINNED: return "pinned";
    default: return "primary";
    }
}

/* sw_state_parse_name - inverse of sw_state_name */
bool
sw_state_parse_name(const char *s, enum sw_state *state)
{
    static const enum sw_state all[] = { SW_STATE_PRIMARY, SW_STATE_DIVERTED, SW_STATE_PROBING,
                                         SW_STATE_PINNED };
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(s, sw_state_name(all[i])) == 0) {
            *state = all[i];
            return true;
        }
    return false;
}

/* sw_scope_key - canonical key */
bool
sw_scope_key(enum sw_scope_kind kind, const char *name, char *out, size_t size)
{
    int n = snprintf(out, size, "%s:%s", sw_scope_kind_name(kind), name);

    return n > 0 && (size_t) n < size && *name;
}

/* find - scope by canonical key */
static struct sw_scope *
find(const struct sw_route *r, const char *key)
{
    struct sw_scope *s;

    for (s = r->bucket[hash(key) & (r->nbuckets - 1)]; s; s = s->next)
        if (strcmp(s->key, key) == 0)
            return s;
    return NULL;
}

/* grow - double the buckets when the load passes 1 */
static void
grow(struct sw_route *r)
{
    struct sw_scope **nb, *s, *next;
    size_t i, n = r->nbuckets * 2, h;

    if (r->count < r->nbuckets || n > SIZE_MAX / sizeof(*nb))
        return;
    if ((nb = calloc(n, sizeof(*nb))) == NULL)
        return; /* longer chains, still correct */
    for (i = 0; i < r->nbuckets; i++)
        for (s = r->bucket[i]; s; s = next) {
            next = s->next;
            h = hash(s->key) & (n - 1);
            s->next = nb[h];
            nb[h] = s;
        }
    free(r->bucket);
    r->bucket = nb;
    r->nbuckets = n;
}

/* insert - a new scope in the primary state (caller sets the rest) */
static struct sw_scope *
insert(struct sw_route *r, enum sw_scope_kind kind, const char *key)
{
    struct sw_scope *s = calloc(1, sizeof(*s));
    size_t h;

    if (s == NULL || (s->key = strdup(key)) == NULL) {
        free(s);
        return NULL;
    }
    s->kind = kind;
    s->name = strchr(s->key, ':') + 1;
    s->uid = SW_UID_NONE;
    grow(r);
    h = hash(key) & (r->nbuckets - 1);
    s->next = r->bucket[h];
    r->bucket[h] = s;
    r->count++;
    return s;
}

/* unlink_scope - remove from the table and free */
static void
unlink_scope(struct sw_route *r, struct sw_scope *victim)
{
    struct sw_scope **pp = &r->bucket[hash(victim->key) & (r->nbuckets - 1)];

    for (; *pp; pp = &(*pp)->next)
        if (*pp == victim) {
            *pp = victim->next;
            r->count--;
            scope_free(victim);
            return;
        }
}

/* sw_route_get - scope by kind and name */
const struct sw_scope *
sw_route_get(const struct sw_route *r, enum sw_scope_kind kind, const char *name)
{
    char key[SW_SCOPE_KEY_MAX + 1];

    if (!sw_scope_key(kind, name, key, sizeof(key)))
        return NULL;
    return find(r, key);
}

/* sw_route_find_destination - walk the domain and its parents */
const struct sw_scope *
sw_route_find_destination(const struct sw_route *r, const char *domain)
{
    const struct sw_scope *s;

    if (r->count == 0)
        return NULL;
    for (; domain; domain = sw_addr_parent(domain))
        if ((s = sw_route_get(r, SW_SCOPE_DESTINATION, domain)) != NULL)
            return s;
    return NULL;
}

/* sw_route_each - every scope, in table order */
void
sw_route_each(const struct sw_route *r, bool (*fn)(const struct sw_scope *s, void *ctx), void *ctx)
{
    const struct sw_scope *s;
    size_t i;

    for (i = 0; i < r->nbuckets; i++)
        for (s = r->bucket[i]; s; s = s->next)
            if (!fn(s, ctx))
                return;
}

/* sw_route_count - scopes off the primary route */
size_t
sw_route_count(const struct sw_route *r)
{
    return r->count;
}

/* by_key - qsort comparator */
static int
by_key(const void *a, const void *b)
{
    return strcmp((*(const struct sw_scope *const *) a)->key,
                  (*(const struct sw_scope *const *) b)->key);
}

/* sw_route_sorted - all scopes, sorted */
const struct sw_scope **
sw_route_sorted(const struct sw_route *r, size_t *n)
{
    const struct sw_scope **v;
    const struct sw_scope *s;
    size_t i, k = 0;

    *n = 0;
    if ((v = calloc(r->count + 1, sizeof(*v))) == NULL)
        return NULL;
    for (i = 0; i < r->nbuckets; i++)
        for (s = r->bucket[i]; s; s = s->next)
            v[k++] = s;
    qsort(v, k, sizeof(*v), by_key);
    *n = k;
    return v;
}

/* copy_str - bounded copy into a decision field */
static void
copy_str(char *dst, size_t size, const char *src)
{
    (void) snprintf(dst, size, "%s", src ? src : "");
}

/* decision - fill the common fields */
static void
decision(struct sw_decision *d, const char *event, const struct sw_scope *s, const char *from,
         const char *to, time_t now)
{
    memset(d, 0, sizeof(*d));
    d->event = event;
    copy_str(d->scope, sizeof(d->scope), s->key);
    copy_str(d->from, sizeof(d->from), from);
    copy_str(d->to, sizeof(d->to), to);
    d->time = now;
    d->until = s->until;
    d->uid = s->uid;
    copy_str(d->rule, sizeof(d->rule), s->rule);
    copy_str(d->reason, sizeof(d->reason), s->reason);
}

/* replace - swap a string field */
static bool
replace(char **field, const char *value)
{
    char *copy = NULL;

    if (value && (copy = strdup(value)) == NULL)
        return false;
    free(*field);
    *field = copy;
    return true;
}

/* sw_route_pin - an operator's decision with expiry and reason */
enum sw_route_status
sw_route_pin(struct sw_route *r, enum sw_scope_kind kind, const char *name, const char *relay,
             time_t now, time_t until, const char *reason, long uid, struct sw_decision *d)
{
    char key[SW_SCOPE_KEY_MAX + 1], from[72], cut[SW_REASON_MAX + 1];
    struct sw_scope *s;

    if (!sw_scope_key(kind, name, key, sizeof(key)) || relay == NULL || *relay == '\0')
        return SW_ROUTE_BADARG;
    if ((s = find(r, key)) == NULL) {
        if ((s = insert(r, kind, key)) == NULL)
            return SW_ROUTE_NOMEM;
        copy_str(from, sizeof(from), "primary");
    } else {
        copy_str(from, sizeof(from), s->relay);
    }
    copy_str(cut, sizeof(cut), reason);
    if (!replace(&s->relay, relay) || !replace(&s->rule, "operator") || !replace(&s->reason, cut)) {
        unlink_scope(r, s);
        return SW_ROUTE_NOMEM;
    }
    s->state = SW_STATE_PINNED;
    s->since = now;
    s->until = until;
    s->uid = uid;
    decision(d, "pin", s, from, relay, now);
    return SW_ROUTE_OK;
}

/* sw_route_release - back to primary */
enum sw_route_status
sw_route_release(struct sw_route *r, enum sw_scope_kind kind, const char *name, time_t now,
                 long uid, struct sw_decision *d)
{
    struct sw_scope *s;
    char key[SW_SCOPE_KEY_MAX + 1];

    if (!sw_scope_key(kind, name, key, sizeof(key)))
        return SW_ROUTE_BADARG;
    if ((s = find(r, key)) == NULL)
        return SW_ROUTE_NOENT;
    decision(d, "release", s, s->relay, "primary", now);
    d->uid = uid;
    d->until = 0;
    unlink_scope(r, s);
    return SW_ROUTE_OK;
}

/* sw_route_reroute - same state, another relay */
enum sw_route_status
sw_route_reroute(struct sw_route *r, const char *key, const char *relay, time_t now,
                 const char *reason, struct sw_decision *d)
{
    struct sw_scope *s = find(r, key);
    char from[72];

    if (s == NULL)
        return SW_ROUTE_NOENT;
    if (relay == NULL || *relay == '\0')
        return SW_ROUTE_BADARG;
    copy_str(from, sizeof(from), s->relay);
    if (!replace(&s->relay, relay))
        return SW_ROUTE_NOMEM;
    decision(d, "reroute", s, from, relay, now);
    copy_str(d->reason, sizeof(d->reason), reason);
    return SW_ROUTE_OK;
}

/* sw_route_expire - pins past their deadline return to primary */
size_t
sw_route_expire(struct sw_route *r, time_t now, void (*fn)(const struct sw_decision *, void *),
                void *ctx)
{
    struct sw_scope *s, *next;
    struct sw_decision d;
    size_t i, n = 0;

    for (i = 0; i < r->nbuckets; i++)
        for (s = r->bucket[i]; s; s = next) {
            next = s->next;
            if (s->state != SW_STATE_PINNED || s->until == 0 || s->until > now)
                continue;
            decision(&d, "expire", s, s->relay, "primary", now);
            unlink_scope(r, s);
            if (fn)
                fn(&d, ctx);
            n++;
        }
    return n;
}

/* sw_route_next_deadline - when expire or hold_ended next has work */
time_t
sw_route_next_deadline(const struct sw_route *r)
{
    const struct sw_scope *s;
    time_t next = 0;
    size_t i;

    for (i = 0; i < r->nbuckets; i++)
        for (s = r->bucket[i]; s; s = s->next)
            if ((s->state == SW_STATE_PINNED || s->state == SW_STATE_DIVERTED) && s->until
                && (next == 0 || s->until < next))
                next = s->until;
    return next;
}

/* sw_route_find_key - mutable scope by canonical key */
struct sw_scope *
sw_route_find_key(struct sw_route *r, const char *key)
{
    return find(r, key);
}

/* sw_route_divert - an automatic diversion, or a relapse while probing */
enum sw_route_status
sw_route_divert(struct sw_route *r, enum sw_scope_kind kind, const char *name, const char *relay,
                const char *rule, time_t now, long hold, const struct sw_evidence *ev, size_t nev,
                struct sw_decision *d)
{
    char key[SW_SCOPE_KEY_MAX + 1], from[72];
    struct sw_evidence *copy = NULL;
    struct sw_scope *s;

    if (!sw_scope_key(kind, name, key, sizeof(key)) || relay == NULL || *relay == '\0' || hold <= 0)
        return SW_ROUTE_BADARG;
    if ((s = find(r, key)) != NULL && s->state != SW_STATE_PROBING)
        return SW_ROUTE_BADARG; /* already diverted or pinned: nothing to do */
    if (nev > SW_SCOPE_EVIDENCE)
        nev = SW_SCOPE_EVIDENCE;
    if (nev && (copy = malloc(nev * sizeof(*copy))) == NULL)
        return SW_ROUTE_NOMEM;
    if (nev)
        memcpy(copy, ev, nev * sizeof(*copy));
    if (s == NULL) {
        if ((s = insert(r, kind, key)) == NULL) {
            free(copy);
            return SW_ROUTE_NOMEM;
        }
        copy_str(from, sizeof(from), "primary");
    } else {
        copy_str(from, sizeof(from), "primary"); /* probing sent a share there */
    }
    if (!replace(&s->relay, relay) || !replace(&s->rule, rule) || !replace(&s->reason, NULL)) {
        free(copy);
        unlink_scope(r, s);
        return SW_ROUTE_NOMEM;
    }
    free(s->ev);
    s->ev = copy;
    s->nev = nev;
    s->state = SW_STATE_DIVERTED;
    s->since = now;
    s->hold = hold;
    s->until = now + hold;
    s->uid = SW_UID_NONE;
    s->successes = 0;
    s->last_evidence = now;
    decision(d, "divert", s, from, relay, now);
    d->hold = hold;
    return SW_ROUTE_OK;
}

/* sw_route_hold_ended - diverted scopes whose hold passed start probing */
size_t
sw_route_hold_ended(struct sw_route *r, time_t now, sw_route_keep_fn keep,
                    void (*fn)(const struct sw_decision *, void *), void *ctx)
{
    char why[SW_REASON_MAX + 1];
    struct sw_scope *s;
    struct sw_decision d;
    size_t i, n = 0;

    for (i = 0; i < r->nbuckets; i++)
        for (s = r->bucket[i]; s; s = s->next) {
            if (s->state != SW_STATE_DIVERTED || s->until == 0 || s->until > now)
                continue;
            if (s->last_evidence > s->until - s->hold) {
                /* Evidence arrived during the hold: hold again from it. */
                s->until = s->last_evidence + s->hold;
                if (s->until > now)
                    continue;
            }
            if (keep && keep(s, ctx, why, sizeof(why))) {
                /* Still blamed (a listing): another hold, not doubled. */
                s->until = now + s->hold;
                decision(&d, "hold", s, s->relay, s->relay, now);
                d.until = s->until;
                d.hold = s->hold;
                copy_str(d.reason, sizeof(d.reason), why);
                if (fn)
                    fn(&d, ctx);
                n++;
                continue;
            }
            s->state = SW_STATE_PROBING;
            s->since = now;
            s->until = 0;
            s->successes = 0;
            decision(&d, "probe", s, s->relay, s->relay, now);
            d.hold = s->hold;
            if (fn)
                fn(&d, ctx);
            n++;
        }
    return n;
}

/* sw_route_probe_primary - is this address in the primary's share? */
bool
sw_route_probe_primary(const struct sw_scope *s, double share, const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t) s->since;
    size_t i;

    if (s->state != SW_STATE_PROBING || share <= 0)
        return false;
    for (i = 0; i < len; i++)
        h = (h ^ (unsigned char) key[i]) * 1099511628211ULL;
    h ^= h >> 29;
    return (double) (h % 1000000) < share * 1000000.0;
}

/* sw_route_probe_success - count a primary success; return when enough */
bool
sw_route_probe_success(struct sw_route *r, const char *key, time_t now, long needed,
                       struct sw_decision *d)
{
    struct sw_scope *s = find(r, key);

    if (s == NULL || s->state != SW_STATE_PROBING || ++s->successes < needed)
        return false;
    decision(d, "return", s, s->relay, "primary", now);
    d->successes = s->successes;
    d->until = 0;
    unlink_scope(r, s);
    return true;
}

/* sw_route_restore - reinstate a scope from the state file */
enum sw_route_status
sw_route_restore(struct sw_route *r, const struct sw_scope *t)
{
    struct sw_scope *s;

    if (t->key == NULL || strchr(t->key, ':') == NULL || t->relay == NULL
        || t->state == SW_STATE_PRIMARY)
        return SW_ROUTE_BADARG;
    if (find(r, t->key) != NULL)
        return SW_ROUTE_BADARG;
    if ((s = insert(r, t->kind, t->key)) == NULL)
        return SW_ROUTE_NOMEM;
    if (!replace(&s->relay, t->relay) || !replace(&s->rule, t->rule)
        || !replace(&s->reason, t->reason)) {
        unlink_scope(r, s);
        return SW_ROUTE_NOMEM;
    }
    s->state = t->state;
    s->since = t->since;
    s->until = t->until;
    s->hold = t->hold;
    s->uid = t->uid;
    (void) snprintf(s->node, sizeof(s->node), "%s", t->node);
    s->at = t->at;
    return SW_ROUTE_OK;
}
