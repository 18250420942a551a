/* fuzz_ctl.c - fuzz target: one control request line */

/*
 * The input is one request as a local user could send it to the control
 * socket (DESIGN.md 5.4).  Two parsers see it:
 *  - sw_ctl_parse: on success every field the verb code relies on must
 *    hold (a divert has a scope, a reason and a positive duration, ...);
 *    on failure the error message must not be empty.
 *  - sw_kv_parse: a record that parses must survive being written back
 *    with sw_kv_add and parsed again, field for field.
 * A broken invariant abort()s so the fuzzer reports it.  Nothing is kept
 * between inputs.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/ctl.h"
#include "util/duration.h"
#include "util/kv.h"
#include "global/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_ERR_MAX 1024 /* routed's error buffer for a request */

/* in_store - does a field pointer point into the request's own storage? */
static bool
in_store(const struct sw_ctl_request *req, const char *p)
{
    const char *lo = req->kv.store, *hi = req->kv.store + sizeof(req->kv.store);

    return p >= lo && p < hi && memchr(p, '\0', (size_t) (hi - p)) != NULL;
}

/* need_field - a required field: non-empty and inside the request */
static void
need_field(const struct sw_ctl_request *req, const char *p)
{
    if (p == NULL || *p == '\0' || !in_store(req, p))
        abort();
}

/* check_scope - the scope of divert and release */
static void
check_scope(const struct sw_ctl_request *req)
{
    char key[SW_SCOPE_KEY_MAX + 1];
    const char *s;
    size_t n = strnlen(req->name, sizeof(req->name));

    if (n == 0 || n == sizeof(req->name))
        abort();
    if (req->kind != SW_SCOPE_DESTINATION && req->kind != SW_SCOPE_POOL)
        abort();
    /* The route engine must accept every name the parser lets through. */
    if (!sw_scope_key(req->kind, req->name, key, sizeof(key)))
        abort();
    if (req->kind == SW_SCOPE_DESTINATION)
        for (s = req->name; *s; s++)
            if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'
                  || *s == '.'))
                abort(); /* folded to lower case, DNS characters only */
}

/* check_request - invariants of a request that parsed */
static void
check_request(const struct sw_ctl_request *req)
{
    const char *json = sw_kv_get(&req->kv, "json");

    if (req->json != (json != NULL && strcmp(json, "1") == 0))
        abort();
    switch (req->verb) {
    case SW_CTL_STATUS:
    case SW_CTL_RELOAD: break;
    case SW_CTL_EXPLAIN: need_field(req, req->address); break;
    case SW_CTL_DIVERT:
        check_scope(req);
        need_field(req, req->reason);
        if (req->to != NULL)
            need_field(req, req->to);
        if (req->duration <= 0 || req->duration > SW_DURATION_MAX)
            abort();
        break;
    case SW_CTL_RELEASE: check_scope(req); break;
    case SW_CTL_RELAY:
        need_field(req, req->relay);
        if (req->admin != SW_ADMIN_ENABLED && req->admin != SW_ADMIN_DISABLED
            && req->admin != SW_ADMIN_DRAINING)
            abort();
        break;
    case SW_CTL_HISTORY:
        if (req->duration < 0 || req->duration > SW_DURATION_MAX
            || (req->duration == 0) != (sw_kv_get(&req->kv, "since") == NULL))
            abort();
        break;
    default: abort();
    }
}

/* fuzz_ctl_parse - the control request parser */
static void
fuzz_ctl_parse(const char *line, size_t len)
{
    struct sw_ctl_request req;
    struct sw_buf err;

    sw_buf_init(&err, FZ_ERR_MAX);
    if (sw_ctl_parse(&req, line, len, &err)) {
        if (err.len != 0)
            abort();
        check_request(&req);
    } else if (err.len == 0) {
        abort(); /* a refusal must say why */
    }
    sw_buf_free(&err);
}

/* same_record - field for field */
static bool
same_record(const struct sw_kv *a, const struct sw_kv *b)
{
    size_t i;

    if (a->n != b->n)
        return false;
    for (i = 0; i < a->n; i++)
        if (strcmp(a->key[i], b->key[i]) != 0 || strcmp(a->val[i], b->val[i]) != 0)
            return false;
    return true;
}

/* encode - write a record back */
static void
encode(const struct sw_kv *kv, struct sw_buf *out)
{
    size_t i;

    for (i = 0; i < kv->n; i++)
        if (!sw_kv_add(out, kv->key[i], kv->val[i]))
            abort();
}

/* fuzz_kv_roundtrip - parse, write back, parse again */
static void
fuzz_kv_roundtrip(const char *line, size_t len)
{
    struct sw_kv first, second;
    struct sw_buf out, again;
    const char *why = NULL;

    if (!sw_kv_parse(&first, line, len, &why)) {
        if (why == NULL || *why == '\0')
            abort();
        return;
    }
    /* Room for more than a line: an encoding that grows past
     * SW_KV_MAX_LINE must show up as a failed re-parse, not here. */
    sw_buf_init(&out, 4 * SW_KV_MAX_LINE);
    sw_buf_init(&again, 4 * SW_KV_MAX_LINE);
    encode(&first, &out);
    if (!sw_kv_parse(&second, sw_buf_str(&out), out.len, &why))
        abort();
    if (!same_record(&first, &second))
        abort();
    /* The encoding is canonical: writing the copy gives the same text. */
    encode(&second, &again);
    if (again.len != out.len || memcmp(sw_buf_str(&again), sw_buf_str(&out), out.len) != 0)
        abort();
    sw_buf_free(&out);
    sw_buf_free(&again);
}

/* LLVMFuzzerTestOneInput - one request line */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_ctl_parse((const char *) data, size);
    fuzz_kv_roundtrip((const char *) data, size);
    return 0;
}
