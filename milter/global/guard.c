/* guard.c - de-duplication and rate caps for bounce evidence */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "global/guard.h"

struct msg_entry {
    uint64_t key; /* 0: empty */
    time_t seen;
    unsigned n;
    uint64_t rcpt[SW_GUARD_PER_MESSAGE];
};

struct client_entry {
    uint64_t key;
    double tokens;
    time_t last;
};

struct sw_guard {
    uint64_t seed;
    struct msg_entry msg[SW_GUARD_MESSAGES];
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

struct sw_guard *
sw_guard_new(uint64_t seed)
{
    struct sw_guard *g = calloc(1, sizeof(*g));

    if (g)
        g->seed = seed;
    return g;
}

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

/* sw_guard_check - may this record go to spillway-routed? */
enum sw_guard_verdict
sw_guard_check(struct sw_guard *g, const char *client, const char *msgid, const char *rcpt,
               time_t now, long rate)
{
    uint64_t mk = hash(g->seed, msgid ? msgid : ""), rk = hash(g->seed, rcpt ? rcpt : "");
    struct msg_entry *m = &g->msg[mk % SW_GUARD_MESSAGES];
    unsigned i;

    if (m->key != mk || now - m->seen > SW_GUARD_MEMORY) {
        memset(m, 0, sizeof(*m));
        m->key = mk;
    }
    for (i = 0; i < m->n; i++)
        if (m->rcpt[i] == rk)
            return SW_GUARD_DUPLICATE;
    if (m->n == SW_GUARD_PER_MESSAGE)
        return SW_GUARD_MESSAGE_CAP;
    if (!rate_ok(g, client, now, rate))
        return SW_GUARD_RATE;
    m->seen = now;
    m->rcpt[m->n++] = rk;
    return SW_GUARD_PASS;
}

const char *
sw_guard_verdict_name(enum sw_guard_verdict v)
{
    switch (v) {
    case SW_GUARD_PASS: return "pass";
    case SW_GUARD_DUPLICATE: return "duplicate";
    case SW_GUARD_MESSAGE_CAP: return "message-cap";
    case SW_GUARD_RATE: return "rate";
    }
    return "?";
}
