/* kv.c - tab-separated key=value records (control requests, state file) */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/kv.h"

/* hexval - one hex digit, or -1 */
static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* sw_kv_parse - split and unescape one record */
bool
sw_kv_parse(struct sw_kv *kv, const char *line, size_t len, const char **why)
{
    size_t i = 0, o = 0;
    int hi, lo;
    char c;

    kv->n = 0;
    if (len > SW_KV_MAX_LINE) {
        *why = "line too long";
        return false;
    }
    while (i < len) {
        if (kv->n == SW_KV_MAX_FIELDS) {
            *why = "too many fields";
            return false;
        }
        kv->key[kv->n] = kv->store + o;
        for (; i < len && line[i] != '='; i++) {
            c = line[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
                *why = "bad character in key";
                return false;
            }
            kv->store[o++] = c;
        }
        if (i == len || kv->key[kv->n] == kv->store + o) {
            *why = "field without key=value";
            return false;
        }
        kv->store[o++] = '\0';
        i++; /* '=' */
        kv->val[kv->n] = kv->store + o;
        for (; i < len && line[i] != '\t'; i++) {
            c = line[i];
            if ((unsigned char) c < 0x20 || c == 0x7f) {
                *why = "control character in value";
                return false;
            }
            if (c == '\\') {
                if (++i == len) {
                    *why = "backslash at end of line";
                    return false;
                }
                switch (line[i]) {
                case '\\': c = '\\'; break;
                case 't': c = '\t'; break;
                case 'n': c = '\n'; break;
                case 'x':
                    if (len - i < 3 || (hi = hexval(line[i + 1])) < 0
                        || (lo = hexval(line[i + 2])) < 0 || (hi | lo) == 0) {
                        *why = "bad \\x escape";
                        return false;
                    }
                    c = (char) (hi * 16 + lo);
                    i += 2;
                    break;
                default: *why = "unknown escape"; return false;
                }
            }
            kv->store[o++] = c;
        }
        kv->store[o++] = '\0';
        kv->n++;
        if (i < len)
            i++; /* '\t' */
    }
    return true;
}

/* sw_kv_get - first value of a key */
const char *
sw_kv_get(const struct sw_kv *kv, const char *key)
{
    size_t i;

    for (i = 0; i < kv->n; i++)
        if (strcmp(kv->key[i], key) == 0)
            return kv->val[i];
    return NULL;
}

/* sw_kv_add - append key=escaped-value */
bool
sw_kv_add(struct sw_buf *b, const char *key, const char *value)
{
    unsigned char c;
    bool ok = true;

    if (b->len && b->data[b->len - 1] != '\n')
        ok = sw_buf_addc(b, '\t');
    ok = ok && sw_buf_adds(b, key) && sw_buf_addc(b, '=');
    for (; ok && *value; value++) {
        c = (unsigned char) *value;
        if (c == '\\')
            ok = sw_buf_adds(b, "\\\\");
        else if (c == '\t')
            ok = sw_buf_adds(b, "\\t");
        else if (c == '\n')
            ok = sw_buf_adds(b, "\\n");
        else if (c < 0x20 || c == 0x7f)
            ok = sw_buf_printf(b, "\\x%02x", c);
        else
            ok = sw_buf_addc(b, (char) c);
    }
    return ok;
}

/* sw_kv_addl - append key=number */
bool
sw_kv_addl(struct sw_buf *b, const char *key, long value)
{
    char num[32];

    (void) snprintf(num, sizeof(num), "%ld", value);
    return sw_kv_add(b, key, num);
}

/* sw_kv_number - a decimal in [min, max]: digits, a '-' only when min < 0 */
bool
sw_kv_number(const char *s, long long min, long long max, long long *out)
{
    const char *d = s != NULL && *s == '-' && min < 0 ? s + 1 : s;
    char *end;
    long long v;

    if (d == NULL || *d < '0' || *d > '9')
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* sw_kv_copy - a bounded field without control bytes */
bool
sw_kv_copy(char *dst, size_t size, const char *src)
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

/* sw_kv_copy_text - cut to fit, control bytes become spaces */
void
sw_kv_copy_text(char *dst, size_t size, const char *src)
{
    size_t i;

    for (i = 0; i + 1 < size && src[i]; i++)
        dst[i] = (unsigned char) src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
    dst[i] = '\0';
}

/* sw_kv_copy_ip - an IPv4 or IPv6 address, copied */
bool
sw_kv_copy_ip(char *dst, size_t size, const char *src)
{
    unsigned char b[16];

    if (strlen(src) >= size
        || (inet_pton(AF_INET, src, b) != 1 && inet_pton(AF_INET6, src, b) != 1))
        return false;
    memcpy(dst, src, strlen(src) + 1);
    return true;
}
