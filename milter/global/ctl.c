/* ctl.c - the control protocol between spillwayctl and spillway-routed */

/*
 * Parsing only: every field is checked here so the daemon's verb code can
 * trust what it gets.  The peer is a local user, but not necessarily an
 * authorised or careful one, so the rules are the same as for any outside
 * input: bounded, no control characters, numbers range-checked.
 */
#include "config.h"

#include <string.h>

#include "global/ctl.h"
#include "util/duration.h"

static const struct {
    const char *word;
    enum sw_ctl_verb verb;
} verbs[] = {
    { "status", SW_CTL_STATUS },   { "explain", SW_CTL_EXPLAIN }, { "divert", SW_CTL_DIVERT },
    { "release", SW_CTL_RELEASE }, { "relay", SW_CTL_RELAY },     { "history", SW_CTL_HISTORY },
    { "reload", SW_CTL_RELOAD },
};

/* sw_ctl_scope - a scope argument */
bool
sw_ctl_scope(const char *s, enum sw_scope_kind *kind, char *name, size_t size, struct sw_buf *err)
{
    const char *p;
    size_t n;

    if (strncmp(s, "pool:", 5) == 0) {
        *kind = SW_SCOPE_POOL;
        p = s + 5;
        n = strlen(p);
        if (n == 0 || n >= size
            || strspn(p, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
                   != n) {
            sw_buf_printf(err, "bad pool name");
            return false;
        }
        memcpy(name, p, n + 1);
        return true;
    }
    *kind = SW_SCOPE_DESTINATION;
    p = strncmp(s, "destination:", 12) == 0 ? s + 12 : s;
    if (sw_addr_mailertable_key(p, strlen(p), name, size) != SW_KEY_DOMAIN) {
        sw_buf_adds(err, "not a destination domain (expected example.com)");
        return false;
    }
    return true;
}

/* need - a required, non-empty field */
static const char *
need(const struct sw_ctl_request *req, const char *key, struct sw_buf *err)
{
    const char *v = sw_kv_get(&req->kv, key);

    if (v == NULL || *v == '\0')
        sw_buf_printf(err, "missing %s", key);
    return v && *v ? v : NULL;
}

/* sw_ctl_parse - one request line */
bool
sw_ctl_parse(struct sw_ctl_request *req, const char *line, size_t len, struct sw_buf *err)
{
    const char *why, *v;
    size_t i;

    memset(req, 0, sizeof(*req) - sizeof(req->kv));
    if (len > SW_CTL_MAX_REQUEST) {
        sw_buf_adds(err, "request too long");
        return false;
    }
    if (!sw_kv_parse(&req->kv, line, len, &why)) {
        sw_buf_printf(err, "malformed request: %s", why);
        return false;
    }
    /* Names and addresses are echoed in replies and logs: no control
     * characters.  The reason is free text, escaped wherever it is shown. */
    for (i = 0; i < req->kv.n; i++) {
        if (strcmp(req->kv.key[i], "reason") == 0)
            continue;
        for (v = req->kv.val[i]; *v; v++)
            if ((unsigned char) *v < 0x20 || *v == 0x7f) {
                sw_buf_printf(err, "control character in %.64s", req->kv.key[i]);
                return false;
            }
    }
    if ((v = need(req, "verb", err)) == NULL)
        return false;
    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strcmp(v, verbs[i].word) == 0)
            break;
    if (i == sizeof(verbs) / sizeof(verbs[0])) {
        sw_buf_adds(err, "unknown verb");
        return false;
    }
    req->verb = verbs[i].verb;
    req->json = (v = sw_kv_get(&req->kv, "json")) != NULL && strcmp(v, "1") == 0;

    switch (req->verb) {
    case SW_CTL_STATUS:
    case SW_CTL_RELOAD: return true;
    case SW_CTL_EXPLAIN: return (req->address = need(req, "address", err)) != NULL;
    case SW_CTL_DIVERT:
        if ((v = need(req, "scope", err)) == NULL
            || !sw_ctl_scope(v, &req->kind, req->name, sizeof(req->name), err))
            return false;
        req->to = sw_kv_get(&req->kv, "to");
        if (req->to && *req->to == '\0')
            req->to = NULL;
        if ((v = need(req, "for", err)) == NULL)
            return false;
        if (!sw_duration_parse_unit(v, &req->duration)) {
            sw_buf_adds(err, SW_CTL_DURATION_HELP("--for"));
            return false;
        }
        return (req->reason = need(req, "reason", err)) != NULL;
    case SW_CTL_RELEASE:
        return (v = need(req, "scope", err)) != NULL
               && sw_ctl_scope(v, &req->kind, req->name, sizeof(req->name), err);
    case SW_CTL_RELAY:
        if ((v = need(req, "action", err)) == NULL)
            return false;
        if (strcmp(v, "enable") == 0)
            req->admin = SW_ADMIN_ENABLED;
        else if (strcmp(v, "disable") == 0)
            req->admin = SW_ADMIN_DISABLED;
        else if (strcmp(v, "drain") == 0)
            req->admin = SW_ADMIN_DRAINING;
        else {
            sw_buf_adds(err, "relay action must be enable, disable or drain");
            return false;
        }
        return (req->relay = need(req, "name", err)) != NULL;
    case SW_CTL_HISTORY:
        if ((v = sw_kv_get(&req->kv, "since")) != NULL
            && !sw_duration_parse_unit(v, &req->duration)) {
            sw_buf_adds(err, SW_CTL_DURATION_HELP("--since"));
            return false;
        }
        return true;
    }
    return false;
}
