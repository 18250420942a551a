/* evrec.c - the evidence channel's record: encode and parse */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "global/classify.h"
#include "global/evrec.h"
#include "util/kv.h"

/* sw_evrec_encode - one line of key=value fields */
bool
sw_evrec_encode(const struct sw_evrec *r, struct sw_buf *out)
{
    const struct sw_evidence *e = &r->ev;
    bool ok = true;

    ok &= sw_kv_addl(out, "v", SW_EVREC_VERSION);
    ok &= sw_kv_add(out, "source", sw_ev_source_name(e->source));
    ok &= sw_kv_addl(out, "time", (long) e->time);
    if (e->pool[0])
        ok &= sw_kv_add(out, "pool", e->pool);
    if (e->relay[0])
        ok &= sw_kv_add(out, "relay", e->relay);
    ok &= sw_kv_add(out, "domain", e->domain);
    if (e->rcpt[0])
        ok &= sw_kv_add(out, "rcpt", e->rcpt);
    if (e->id[0])
        ok &= sw_kv_add(out, "id", e->id);
    if (e->code)
        ok &= sw_kv_addl(out, "code", e->code);
    if (e->dsn[0])
        ok &= sw_kv_add(out, "dsn", e->dsn);
    ok &= sw_kv_add(out, "class", sw_class_name(e->cls));
    if (e->pattern[0])
        ok &= sw_kv_add(out, "pattern", e->pattern);
    ok &= sw_kv_addl(out, "trusted", e->trusted ? 1 : 0);
    if (r->tag[0])
        ok &= sw_kv_add(out, "tag", r->tag);
    if (r->client[0])
        ok &= sw_kv_add(out, "client", r->client);
    if (e->egress[0])
        ok &= sw_kv_add(out, "egress", e->egress);
    if (e->text[0])
        ok &= sw_kv_add(out, "text", e->text);
    return ok && out->len <= SW_EVREC_MAX;
}

#define OPT(key, dst)                                                     \
    do {                                                                  \
        const char *v_ = sw_kv_get(&kv, key);                             \
        if (v_ && !sw_kv_copy(dst, sizeof(dst), v_)) {                    \
            *why = "field " key " is too long or has control characters"; \
            return false;                                                 \
        }                                                                 \
    } while (0)

/* sw_evrec_parse - one datagram */
bool
sw_evrec_parse(const char *data, size_t len, struct sw_evrec *r, const char **why)
{
    struct sw_kv kv; /* 8 KB on the stack: the callers have it */
    const char *v;
    long long n;

    memset(r, 0, sizeof(*r));
    if (len > SW_EVREC_MAX) {
        *why = "record too long";
        return false;
    }
    if (len && data[len - 1] == '\n')
        len--;
    if (!sw_kv_parse(&kv, data, len, why))
        return false;
    if ((v = sw_kv_get(&kv, "v")) == NULL || !sw_kv_number(v, 0, 1000, &n)) {
        *why = "no version (v=)";
        return false;
    }
    if (n != SW_EVREC_VERSION) {
        *why = "unsupported record version";
        return false;
    }
    if ((v = sw_kv_get(&kv, "source")) == NULL || !sw_ev_source_parse(v, &r->ev.source)) {
        *why = "missing or unknown source";
        return false;
    }
    if (!sw_kv_number(sw_kv_get(&kv, "time"), 1, 1L << 40, &n)) {
        *why = "missing or bad time";
        return false;
    }
    r->ev.time = (time_t) n;
    if ((v = sw_kv_get(&kv, "domain")) == NULL || *v == '\0'
        || !sw_kv_copy(r->ev.domain, sizeof(r->ev.domain), v)) {
        *why = "missing or bad domain";
        return false;
    }
    if ((v = sw_kv_get(&kv, "class")) == NULL || !sw_class_parse(v, &r->ev.cls)) {
        *why = "missing or unknown class";
        return false;
    }
    if ((v = sw_kv_get(&kv, "trusted")) == NULL || (strcmp(v, "0") && strcmp(v, "1"))) {
        *why = "missing or bad trusted (0 or 1)";
        return false;
    }
    r->ev.trusted = v[0] == '1';
    if ((v = sw_kv_get(&kv, "code")) != NULL) {
        if (!sw_kv_number(v, 200, 599, &n)) {
            *why = "bad code";
            return false;
        }
        r->ev.code = (int) n;
    }
    OPT("pool", r->ev.pool);
    OPT("relay", r->ev.relay);
    OPT("rcpt", r->ev.rcpt);
    OPT("id", r->ev.id);
    OPT("dsn", r->ev.dsn);
    OPT("pattern", r->ev.pattern);
    if ((v = sw_kv_get(&kv, "text")) != NULL)
        sw_kv_copy_text(r->ev.text, sizeof(r->ev.text), v);
    OPT("tag", r->tag);
    OPT("client", r->client);
    if ((v = sw_kv_get(&kv, "egress")) != NULL
        && !sw_kv_copy_ip(r->ev.egress, sizeof(r->ev.egress), v)) {
        *why = "bad egress (a numeric IP address)";
        return false;
    }
    return true;
}
