/* guard.c - de-duplication and caps for bounce evidence */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "global/guard.h"

struct msg_entry {
    uint64_t key; /* 0: empty */
    time_t first; /* its first accepted record: the window starts */
    time_t seen;  /* its last accepted record: which way goes first */
    unsigned n;
    uint64_t rcpt[SW_GUARD_PER_MESSAGE];
};

#define SW_GUARD_SETS (SW_GUARD_MESSAGES / SW_GUARD_WAYS)

struct client_entry {
    uint64_t key;
    double tokens;
    time_t last;
};

struct sw_guard {
    uint64_t seed;
    struct msg_entry msg[2][SW_GUARD_MESSAGES]; /* [0] untrusted, [1] trusted */
    struct client_entry client[SW_GUARD_CLIENTS];
};

/* hash - FNV-1a over the seed and a string, case-folded, never 0 */
static uint64_t
hash(uint64_t seed, const char *s)
{
    uint64_t h = 1469598103934665603ULL ^ seed;

    for (; *s; s++) {
        h ^= (unsigned char) tolower((unsigned char) *s);
        h *= 1099511628211ULL;
    }
    h ^= h >> 29;
    return h ? h : 1;
}

/* sw_guard_new - empty tables; seed keys the hash */
struct sw_guard *
sw_guard_new(uint64_t seed)
{
    struct sw_guard *g = calloc(1, sizeof(*g));

    if (g)
        g->seed = seed;
    return g;
}

/* sw_guard_free - and everything it remembers */
void
sw_guard_free(struct sw_guard *g)
{
    free(g);
}

/* rate_ok - take a token from the client's bucket */
static bool
rate_ok(struct sw_guard *g, const char *client, time_t now, long rate)
{
    uint64_t k = hash(g->seed ^ 0x9e3779b97f4a7c15ULL, client ? client : "");
    struct client_entry *c = &g->client[k % SW_GUARD_CLIENTS];

    if (c->key != k) {
        c->key = k;
        c->tokens = (double) rate;
        c->last = now;
    } else if (now > c->last) {
        c->tokens += (double) (now - c->last) * (double) rate / 60.0;
        if (c->tokens > (double) rate)
            c->tokens = (double) rate;
        c->last = now;
    }
    if (c->tokens < 1.0)
        return false;
    c->tokens -= 1.0;
    return true;
}

/* live - an entry that holds a key still remembered at now */
static bool
live(const struct msg_entry *m, time_t now)
{
    return m->key != 0 && now - m->first <= SW_GUARD_MEMORY;
}

/* find - the live entry of key k in its set, or NULL */
static struct msg_entry *
find(struct msg_entry *set, uint64_t k, time_t now)
{
    unsigned i;

    for (i = 0; i < SW_GUARD_WAYS; i++)
        if (set[i].key == k && live(&set[i], now))
            return &set[i];
    return NULL;
}

/* claim - a way for a new key: a free or expired one, else the one seen
 * least recently.  Called only for a record that passed. */
static struct msg_entry *
claim(struct msg_entry *set, uint64_t k, time_t now)
{
    struct msg_entry *m = &set[0];
    unsigned i;

    for (i = 0; i < SW_GUARD_WAYS; i++) {
        if (!live(&set[i], now)) {
            m = &set[i];
            break;
        }
        if (set[i].seen < m->seen)
            m = &set[i];
    }
    memset(m, 0, sizeof(*m));
    m->key = k;
    m->first = now;
    return m;
}

/* sw_guard_check - may this record go to spillway-routed? */
enum sw_guard_verdict
sw_guard_check(struct sw_guard *g, const char *client, bool trusted, const char *key,
               const char *rcpt, time_t now, long rate, unsigned cap)
{
    uint64_t mk = hash(g->seed, key ? key : ""), rk = hash(g->seed, rcpt ? rcpt : "");
    struct msg_entry *set = &g->msg[trusted ? 1 : 0][(mk % SW_GUARD_SETS) * SW_GUARD_WAYS];
    struct msg_entry *m = find(set, mk, now);
    unsigned i, limit = SW_GUARD_PER_MESSAGE;

    if (trusted)
        limit = cap < 1 ? 1 : cap > SW_GUARD_PER_MESSAGE ? SW_GUARD_PER_MESSAGE : cap;
    /* Every refusal leaves the tables as they were. */
    for (i = 0; m && i < m->n; i++)
        if (m->rcpt[i] == rk)
            return SW_GUARD_DUPLICATE;
    if (m && m->n >= limit)
        return trusted ? SW_GUARD_TAG_CAP : SW_GUARD_MESSAGE_CAP;
    if (!rate_ok(g, client, now, rate))
        return SW_GUARD_RATE;
    if (m == NULL)
        m = claim(set, mk, now);
    m->seen = now;
    m->rcpt[m->n++] = rk;
    return SW_GUARD_PASS;
}

/* sw_guard_verdict_name - for the milter's log (evidence=...) */
const char *
sw_guard_verdict_name(enum sw_guard_verdict v)
{
    switch (v) {
    case SW_GUARD_PASS: return "pass";
    case SW_GUARD_DUPLICATE: return "duplicate";
    case SW_GUARD_MESSAGE_CAP: return "message-cap";
    case SW_GUARD_TAG_CAP: return "tag-cap";
    case SW_GUARD_RATE: return "rate";
    }
    return "?";
}
