/* evrec.c - the evidence channel's record: encode and parse */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
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

/* numeric_ip - an IPv4 or IPv6 address, copied */
static bool
numeric_ip(const char *v, char *dst, size_t size)
{
    unsigned char b[16];

    if (strlen(v) >= size || (inet_pton(AF_INET, v, b) != 1 && inet_pton(AF_INET6, v, b) != 1))
        return false;
    memcpy(dst, v, strlen(v) + 1);
    return true;
}

/* copy - a bounded field; false when too long or containing control bytes */
static bool
copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src), i;

    if (n >= size)
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char) src[i] < 0x20 || src[i] == 0x7f)
            return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* number - a decimal in [min, max] */
/* copy_text - free text (a provider's reply): cut to fit, control bytes
 * become spaces, so a log line built from it stays one line */
static void
copy_text(char *dst, size_t size, const char *src)
{
    size_t i;

    for (i = 0; i + 1 < size && src[i]; i++)
        dst[i] = (unsigned char) src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
    dst[i] = '\0';
}

static bool
number(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

#define OPT(key, dst)                                                     \
    do {                                                                  \
        const char *v_ = sw_kv_get(&kv, key);                             \
        if (v_ && !copy(dst, sizeof(dst), v_)) {                          \
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
    long n;

    memset(r, 0, sizeof(*r));
    if (len > SW_EVREC_MAX) {
        *why = "record too long";
        return false;
    }
    if (len && data[len - 1] == '\n')
        len--;
    if (!sw_kv_parse(&kv, data, len, why))
        return false;
    if ((v = sw_kv_get(&kv, "v")) == NULL || !number(v, 0, 1000, &n)) {
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
    if (!number(sw_kv_get(&kv, "time"), 1, 1L << 40, &n)) {
        *why = "missing or bad time";
        return false;
    }
    r->ev.time = (time_t) n;
    if ((v = sw_kv_get(&kv, "domain")) == NULL || *v == '\0'
        || !copy(r->ev.domain, sizeof(r->ev.domain), v)) {
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
        if (!number(v, 200, 599, &n)) {
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
        copy_text(r->ev.text, sizeof(r->ev.text), v);
    OPT("tag", r->tag);
    OPT("client", r->client);
    if ((v = sw_kv_get(&kv, "egress")) != NULL && !numeric_ip(v, r->ev.egress, sizeof(r->ev.egress))) {
        *why = "bad egress (a numeric IP address)";
        return false;
    }
    return true;
}
