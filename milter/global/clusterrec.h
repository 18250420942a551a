/* clusterrec.h - the records spillway-routed nodes share through Redis */
#ifndef SW_CLUSTERREC_H
#define SW_CLUSTERREC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"
#include "global/conf.h"
#include "global/evidence.h"
#include "global/policy.h"
#include "global/route.h"
#include "global/tag.h"

/*
 * DESIGN.md 5.8.  One record is one line of kv.h fields, signed:
 *
 *   v=1  type=ev  node=mta1  at=1763812345123  k=2026a  <type's fields>  mac=HEX
 *
 * mac is the hex HMAC-SHA256, with the key named by k (the cluster
 * key_file, tag.h's format: key[0] signs, every key verifies), over
 * "spillway-cluster/1|" followed by every byte of the line before
 * "\tmac=".  The mac is checked before anything else is read, so a
 * writer to Redis without the key cannot get a single field looked at.
 *
 * Types:
 *   ev     an evidence record a node accepted (mail log, milter), with
 *          via_primary; its event id is node "/" id "/" rcpt
 *   dec    the state of one scope after a decision: scope, state
 *          (primary means released or returned), relay, since, until, hold,
 *          rule, reason, uid, event, evids (the evidence ids that led to it,
 *          at most SW_SCOPE_EVIDENCE, space separated)
 *   relay  a relay's administrative state: relay, admin
 *   hello  a node's heartbeat: started, state (ok, degraded), scopes
 *
 * Records are outside input (anybody who can write to Redis): every field
 * is bounded and checked for syntax here; sw_crec_check() then checks
 * them against this node's configuration (relays and pools exist).
 * Pure: no clock, no I/O.
 */
#define SW_CREC_VERSION  1
#define SW_CREC_MAX      4096        /* bytes of one record */
#define SW_CREC_NODE_MAX SW_NODE_MAX /* [A-Za-z0-9._-]{1,64}: route.h */
#define SW_CREC_EVIDS    (SW_SCOPE_EVIDENCE * 200)

enum sw_crec_type { SW_CREC_EVIDENCE, SW_CREC_DECISION, SW_CREC_RELAY, SW_CREC_HELLO };

enum sw_crec_status {
    SW_CREC_OK,
    SW_CREC_MALFORMED, /* not a record, a field out of bounds: why says which */
    SW_CREC_BADSIG,    /* no mac, unknown key id, or a mac that does not verify */
    SW_CREC_VERSION_UNKNOWN
};

struct sw_crec_decision {
    char scope[SW_SCOPE_KEY_MAX + 1]; /* canonical "destination:NAME" / "pool:NAME" */
    enum sw_state state;
    char relay[SW_EV_NAME_MAX + 1]; /* "" when state is primary */
    time_t since, until;            /* until 0: none */
    long hold;
    char rule[72];
    char reason[SW_REASON_MAX + 1];
    long uid; /* SW_UID_NONE for automatic decisions */
    char event[16];
    char evids[SW_CREC_EVIDS + 1];
};

struct sw_crec {
    enum sw_crec_type type;
    char node[SW_CREC_NODE_MAX + 1];
    long long at; /* ms since the epoch when the record was made: orders decisions */
    /* ev */
    struct sw_evidence ev;
    bool via_primary;
    /* dec */
    struct sw_crec_decision dec;
    /* relay */
    char relay[SW_EV_NAME_MAX + 1];
    enum sw_relay_admin admin;
    /* hello */
    time_t started;
    char state[16];
    long scopes;
};

/* A node name: [A-Za-z0-9._-]{1,64}. */
bool sw_crec_node_valid(const char *s);
const char *sw_crec_type_name(enum sw_crec_type t);
/* Encode and sign with keys->key[0], appended to out (no newline); false
 * if it does not fit, there is no key, or a field is out of the bounds
 * sw_crec_decode() enforces (out is then as it was). */
bool sw_crec_encode(const struct sw_crec *r, const struct sw_tag_keys *keys, struct sw_buf *out);
/* Verify and decode one record; why says what was wrong (static text). */
enum sw_crec_status sw_crec_decode(const char *data, size_t len, const struct sw_tag_keys *keys,
                                   struct sw_crec *r, const char **why);
/* Against this node's configuration: relays and pools named exist; false
 * with why. */
bool sw_crec_check(const struct sw_crec *r, const struct sw_conf *conf, const char **why);

#endif
