/* statefile.c - the persisted routing state: encode and decode */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/addr.h"
#include "global/ctl.h"
#include "util/kv.h"
#include "global/statefile.h"

#define SW_STATE_VERSION "1"

/* sw_state_encode - every scope and every non-default relay state */
bool
sw_state_encode(const struct sw_route *r, const struct sw_conf *conf,
                const enum sw_relay_admin *admin, time_t now, struct sw_buf *out)
{
    const struct sw_scope **v, *s;
    size_t i, n;
    bool ok;

    ok = sw_kv_add(out, "v", SW_STATE_VERSION) && sw_kv_add(out, "spillway", "state")
         && sw_kv_addl(out, "saved", (long) now) && sw_buf_addc(out, '\n');
    for (i = 0; ok && i < conf->nrelays; i++)
        if (admin[i] != SW_ADMIN_ENABLED)
            ok = sw_kv_add(out, "relay", conf->relays[i].name)
                 && sw_kv_add(out, "admin", sw_admin_name(admin[i])) && sw_buf_addc(out, '\n');
    if ((v = sw_route_sorted(r, &n)) == NULL)
        return false;
    for (i = 0; ok && i < n; i++) {
        s = v[i];
        ok = sw_kv_add(out, "scope", s->key) && sw_kv_add(out, "state", sw_state_name(s->state))
             && sw_kv_add(out, "relay", s->relay) && sw_kv_addl(out, "since", (long) s->since)
             && sw_kv_addl(out, "until", (long) s->until) && sw_kv_addl(out, "hold", s->hold)
             && sw_kv_addl(out, "uid", s->uid) && sw_kv_add(out, "rule", s->rule ? s->rule : "")
             && sw_kv_add(out, "reason", s->reason ? s->reason : "");
        if (ok && s->node[0]) /* a cluster's: who decided, when (ms) */
            ok = sw_kv_add(out, "node", s->node) && sw_kv_addl(out, "at", (long) s->at);
        ok = ok && sw_buf_addc(out, '\n');
    }
    free(v);
    return ok;
}

/* num - a decimal field */
static bool
num(const struct sw_kv *kv, const char *key, long min, long *out)
{
    const char *s = sw_kv_get(kv, key);
    char *end;

    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    *out = strtol(s, &end, 10);
    return errno == 0 && *end == '\0' && *out >= min;
}

/* decode_scope - one scope= record */
static bool
decode_scope(const struct sw_kv *kv, struct sw_route *r, const char **why)
{
    struct sw_scope t;
    const char *key = sw_kv_get(kv, "scope"), *st = sw_kv_get(kv, "state"), *node;
    long since, until, hold, uid, at;

    char name[SW_DOMAIN_MAX + 1], canon[SW_SCOPE_KEY_MAX + 1];
    struct sw_buf err;
    bool ok;

    memset(&t, 0, sizeof(t));
    if (strncmp(key, "destination:", 12) != 0 && strncmp(key, "pool:", 5) != 0) {
        *why = "unknown scope kind";
        return false;
    }
    /* The same rules as an operator's request: a name that could not have
     * been diverted would render a broken table line. */
    sw_buf_init(&err, 256);
    ok = sw_ctl_scope(key, &t.kind, name, sizeof(name), &err)
         && sw_scope_key(t.kind, name, canon, sizeof(canon)) && strcmp(canon, key) == 0;
    sw_buf_free(&err);
    if (!ok) {
        *why = "bad scope name";
        return false;
    }
    if (st == NULL || !sw_state_parse_name(st, &t.state) || t.state == SW_STATE_PRIMARY) {
        *why = "bad state";
        return false;
    }
    if (!num(kv, "since", 0, &since) || !num(kv, "until", 0, &until) || !num(kv, "hold", 0, &hold)
        || !num(kv, "uid", -1, &uid)) {
        *why = "bad number";
        return false;
    }
    t.key = (char *) key;
    t.relay = (char *) sw_kv_get(kv, "relay");
    t.rule = (char *) sw_kv_get(kv, "rule");
    t.reason = (char *) sw_kv_get(kv, "reason");
    if ((node = sw_kv_get(kv, "node")) != NULL && sw_node_name_valid(node)
        && num(kv, "at", 0, &at)) {
        memcpy(t.node, node, strlen(node) + 1);
        t.at = at;
    }
    t.since = (time_t) since;
    t.until = (time_t) until;
    t.hold = hold;
    t.uid = uid;
    if (t.relay == NULL || *t.relay == '\0' || strlen(key) > SW_SCOPE_KEY_MAX) {
        *why = "bad relay or scope";
        return false;
    }
    if (sw_route_restore(r, &t) != SW_ROUTE_OK) {
        *why = "duplicate or invalid scope";
        return false;
    }
    return true;
}

/* bad - report one skipped line */
static void
bad(const struct sw_state_sink *sink, struct sw_state_counts *n, size_t line, const char *why)
{
    n->bad++;
    if (sink && sink->bad)
        sink->bad(line, why, sink->ctx);
}

/* header - line 1: refuse the file (false) only when it names another
 * version or kind; *is_header says whether the line was a header at all */
static bool
header(const struct sw_kv *kv, bool *is_header, const char **why)
{
    const char *v = sw_kv_get(kv, "v"), *kind = sw_kv_get(kv, "spillway");

    *is_header = v != NULL || kind != NULL;
    if (!*is_header)
        return true;
    if (v == NULL || strcmp(v, SW_STATE_VERSION) != 0 || kind == NULL
        || strcmp(kind, "state") != 0) {
        *why = "not a spillway state file of version " SW_STATE_VERSION;
        return false;
    }
    return true;
}

/* record - one line after the header; false (with *why) to skip it */
static bool
record(const struct sw_kv *kv, struct sw_route *r, const struct sw_state_sink *sink,
       struct sw_state_counts *n, const char **why)
{
    enum sw_relay_admin admin;
    const char *v;

    if (sw_kv_get(kv, "scope")) {
        if (!decode_scope(kv, r, why))
            return false;
        n->scopes++;
        return true;
    }
    if ((v = sw_kv_get(kv, "relay")) != NULL) {
        if (sw_kv_get(kv, "admin") == NULL || !sw_admin_parse(sw_kv_get(kv, "admin"), &admin)) {
            *why = "bad relay admin state";
            return false;
        }
        n->relays++;
        if (sink && sink->relay)
            sink->relay(v, admin, sink->ctx);
        return true;
    }
    *why = "unknown record";
    return false;
}

/* sw_state_decode - every valid record of the file */
bool
sw_state_decode(const char *text, size_t len, struct sw_route *r, const struct sw_state_sink *sink,
                struct sw_state_counts *counts, const char **why)
{
    static struct sw_kv kv; /* 8 KB: off the stack; single-threaded */
    const char *p = text, *end = text + len, *nl, *lwhy;
    struct sw_state_counts local, *n = counts ? counts : &local;
    bool is_header;

    memset(n, 0, sizeof(*n));
    if (len == 0) {
        *why = "empty";
        return false;
    }
    while (p < end) {
        n->lines++;
        if ((nl = memchr(p, '\n', (size_t) (end - p))) == NULL) {
            /* A write cut short: the record may be cut too. */
            bad(sink, n, n->lines, "truncated (no final newline)");
            break;
        }
        lwhy = NULL;
        if (!sw_kv_parse(&kv, p, (size_t) (nl - p), &lwhy)) {
            bad(sink, n, n->lines, lwhy ? lwhy : "unparsable");
        } else if (n->lines == 1 && !header(&kv, &is_header, why)) {
            return false; /* nothing was restored yet */
        } else if (n->lines == 1 && is_header) {
            /* the header: nothing more to do */
        } else if (n->lines == 1) {
            /* The header is lost; the line may still be a record. */
            (void) record(&kv, r, sink, n, &lwhy);
            bad(sink, n, 1, "no header line (v=" SW_STATE_VERSION " spillway=state)");
        } else if (!record(&kv, r, sink, n, &lwhy)) {
            bad(sink, n, n->lines, lwhy);
        }
        p = nl + 1;
    }
    return true;
}
