/* route.h - routing state per scope: the pure decision engine */
#ifndef SW_ROUTE_H
#define SW_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "global/conf.h"
#include "global/evidence.h"

/*
 * The table of scopes that are not on the primary route (DESIGN.md 4).  A
 * scope absent from the table is `primary`.  Every transition takes the
 * current time as an argument and reports what it did as a struct
 * sw_decision; nothing here reads a clock, logs or touches a file, so the
 * whole engine runs in unit tests with a fake clock.
 *
 * Times are wall-clock seconds (time_t): hold ends and pin expiries are
 * deadlines that must survive a restart through the state file.
 *
 * Owns: every struct sw_scope and its strings.  Not thread-safe: used by
 * spillway-routed's single event loop only.
 */

enum sw_state { SW_STATE_PRIMARY, SW_STATE_DIVERTED, SW_STATE_PROBING, SW_STATE_PINNED };

#define SW_SCOPE_KEY_MAX        (16 + SW_DOMAIN_MAX_FOR_SCOPE) /* "destination:" + name */
#define SW_DOMAIN_MAX_FOR_SCOPE 253
#define SW_REASON_MAX           400   /* bytes of an operator's reason kept */
#define SW_UID_NONE             (-1L) /* an automatic decision */
#define SW_NODE_MAX             64    /* a cluster node's name (clusterrec.h) */

struct sw_scope {
    char *key; /* "destination:example.com", "pool:m365" */
    enum sw_scope_kind kind;
    const char *name; /* points into key, after the colon */
    enum sw_state state;
    char *relay;  /* the alternate the scope is sent to */
    time_t since; /* when the current state began */
    time_t until; /* pin expiry or hold end; 0: none */
    long hold;    /* current hold, doubles on relapse */
    char *rule;   /* rule name, "operator" for pins */
    char *reason;
    long uid;               /* operator's uid, SW_UID_NONE if automatic */
    long successes;         /* primary successes while probing */
    time_t last_evidence;   /* newest evidence against the primary */
    struct sw_evidence *ev; /* what led to an automatic diversion */
    size_t nev;
    /* cluster (DESIGN.md 5.8): who took the decision and when, in ms;
     * node "" and at 0: this node, before it was in a cluster */
    char node[SW_NODE_MAX + 1];
    long long at;
    unsigned long gen; /* routed_cluster.c: the reconcile that saw it in Redis */
    struct sw_scope *next; /* hash chain */
};

#define SW_SCOPE_EVIDENCE 5 /* evidence records kept per scope */

/* What a transition did: enough to log it and to keep it in history. */
struct sw_decision {
    const char *event; /* pin, release, expire, reroute, restore */
    char scope[SW_SCOPE_KEY_MAX + 1];
    char from[72]; /* "primary" or a relay name */
    char to[72];
    time_t time;
    time_t until;
    long uid;
    char rule[72];
    char reason[SW_REASON_MAX + 1];
    /* automatic decisions */
    char pool[72];
    long events; /* distinct events in the window */
    long window;
    double ratio; /* events / (events + successes) */
    long hold;
    long successes;
    double share;                   /* probing: share sent to the primary */
    long n_log, n_dsn;              /* evidence by source */
    char first[SW_EV_TEXT_MAX + 1]; /* the first evidence text */
    char node[SW_NODE_MAX + 1];     /* a peer's decision: its node; "" ours */
};

enum sw_route_status { SW_ROUTE_OK, SW_ROUTE_NOENT, SW_ROUTE_NOMEM, SW_ROUTE_BADARG };

struct sw_route;

struct sw_route *sw_route_new(void);
void sw_route_free(struct sw_route *r);

/* Canonical scope key "destination:NAME" / "pool:NAME" into out. */
bool sw_scope_key(enum sw_scope_kind kind, const char *name, char *out, size_t size);
const char *sw_scope_kind_name(enum sw_scope_kind kind);
const char *sw_state_name(enum sw_state state);
bool sw_state_parse_name(const char *s, enum sw_state *state);

const struct sw_scope *sw_route_get(const struct sw_route *r, enum sw_scope_kind kind,
                                    const char *name);
/* The destination scope that governs a domain: the domain itself, else
 * the nearest parent with a scope.  NULL: primary. */
const struct sw_scope *sw_route_find_destination(const struct sw_route *r, const char *domain);
size_t sw_route_count(const struct sw_route *r);
/* Every scope in table order (no sort: for counting); fn returns false
 * to stop the walk. */
void sw_route_each(const struct sw_route *r, bool (*fn)(const struct sw_scope *s, void *ctx),
                   void *ctx);
/* All scopes sorted by key (caller frees the array, not the scopes). */
const struct sw_scope **sw_route_sorted(const struct sw_route *r, size_t *n);

/* An operator's pin: the scope goes to relay until `until` (0: no expiry). */
enum sw_route_status sw_route_pin(struct sw_route *r, enum sw_scope_kind kind, const char *name,
                                  const char *relay, time_t now, time_t until, const char *reason,
                                  long uid, struct sw_decision *d);
/* Back to primary, whatever the state. */
enum sw_route_status sw_route_release(struct sw_route *r, enum sw_scope_kind kind, const char *name,
                                      time_t now, long uid, struct sw_decision *d);
/* Send a diverted or pinned scope to another relay (relay disabled, say). */
enum sw_route_status sw_route_reroute(struct sw_route *r, const char *key, const char *relay,
                                      time_t now, const char *reason, struct sw_decision *d);
/* Expire every pin whose deadline has passed; fn is called per decision. */
size_t sw_route_expire(struct sw_route *r, time_t now,
                       void (*fn)(const struct sw_decision *, void *), void *ctx);
/* Earliest deadline of any pin or hold, 0 if none. */
time_t sw_route_next_deadline(const struct sw_route *r);
/* Automatic diversion: primary (or probing, a relapse) to diverted for
 * `hold` seconds, with the evidence that crossed the threshold. */
enum sw_route_status sw_route_divert(struct sw_route *r, enum sw_scope_kind kind, const char *name,
                                     const char *relay, const char *rule, time_t now, long hold,
                                     const struct sw_evidence *ev, size_t nev,
                                     struct sw_decision *d);
/* Diverted scopes whose hold has passed become probing; fn per decision.
 * keep (may be NULL): true to hold the scope again instead (a "hold"
 * decision whose reason is what keep wrote), e.g. while the IPs its
 * evidence blamed are still on a DNSBL. */
typedef bool (*sw_route_keep_fn)(const struct sw_scope *s, void *ctx, char *why, size_t size);
size_t sw_route_hold_ended(struct sw_route *r, time_t now, sw_route_keep_fn keep,
                           void (*fn)(const struct sw_decision *, void *), void *ctx);
/* A probing scope's lookup: true if this address goes to the primary.  A
 * share of the addresses, chosen by a hash salted with the start of the
 * probing, so both of Postfix's lookups of one recipient (smtpd, qmgr) and
 * its retries agree. */
bool sw_route_probe_primary(const struct sw_scope *s, double share, const char *key, size_t len);
/* A success through the primary for a probing scope; once `needed` are
 * seen the scope returns to primary (true, with a decision). */
bool sw_route_probe_success(struct sw_route *r, const char *key, time_t now, long needed,
                            struct sw_decision *d);
/* Mutable access for the engine (evidence time). */
struct sw_scope *sw_route_find_key(struct sw_route *r, const char *key);

/* Put back a scope read from the state file (no decision: not a change). */
enum sw_route_status sw_route_restore(struct sw_route *r, const struct sw_scope *s);

#endif
