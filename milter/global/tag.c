/* tag.c - X-Spillway-Tag: make and verify (OpenSSL HMAC-SHA256) */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "global/tag.h"

#define SW_TAG_CONTEXT     "spillway-tag/1|"
#define SW_TAG_KEYFILE_MAX 4096
#define SW_TAG_SKEW        300 /* seconds a tag may be in the future */
#define SW_TAG_SEP_WSP     16  /* white space after a ";": a fold may re-indent */

/* valid_id - [A-Za-z0-9._-]{1,16} */
static bool
valid_id(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > SW_TAG_ID_MAX)
        return false;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char) s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* parse_line - "ID HEX" into k; false with a reason */
static bool
parse_line(const char *s, size_t n, struct sw_tag_key *k, const char **why)
{
    size_t i = 0, id0, idn, hx0, hxn, j;

    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    id0 = i;
    while (i < n && s[i] != ' ' && s[i] != '\t')
        i++;
    idn = i - id0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    hx0 = i;
    while (i < n && s[i] != ' ' && s[i] != '\t')
        i++;
    hxn = i - hx0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < n || hxn == 0) {
        *why = "expected \"KEYID HEXSECRET\"";
        return false;
    }
    if (!valid_id(s + id0, idn)) {
        *why = "key id must be 1-16 of [A-Za-z0-9._-]";
        return false;
    }
    if (hxn % 2 || hxn < 64 || hxn > 128) {
        *why = "secret must be 64 to 128 hex digits (32 to 64 bytes)";
        return false;
    }
    for (j = 0; j < hxn / 2; j++) {
        int hi = hexval((unsigned char) s[hx0 + 2 * j]),
            lo = hexval((unsigned char) s[hx0 + 2 * j + 1]);

        if (hi < 0 || lo < 0) {
            *why = "secret is not hexadecimal";
            return false;
        }
        k->secret[j] = (unsigned char) (hi << 4 | lo);
    }
    k->len = hxn / 2;
    memcpy(k->id, s + id0, idn);
    k->id[idn] = '\0';
    return true;
}

/* sw_tag_keys_parse - the key file's text */
bool
sw_tag_keys_parse(const char *text, size_t len, const char *name, struct sw_tag_keys *keys,
                  struct sw_buf *err)
{
    struct sw_tag_keys k;
    size_t pos = 0, i;
    int line = 0;
    const char *why;

    memset(&k, 0, sizeof(k));
    while (pos < len) {
        const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t) (nl - s) : len - pos, t = 0;

        pos += n + (nl != NULL);
        line++;
        if (n && s[n - 1] == '\r')
            n--;
        while (t < n && (s[t] == ' ' || s[t] == '\t'))
            t++;
        if (t == n || s[t] == '#')
            continue;
        if (memchr(s, '\0', n)) {
            sw_buf_printf(err, "%s:%d: NUL byte in key file", name, line);
            goto fail;
        }
        if (k.n == SW_TAG_KEYS_MAX) {
            sw_buf_printf(err, "%s:%d: at most %d keys (the current one, then the previous one)",
                          name, line, SW_TAG_KEYS_MAX);
            goto fail;
        }
        if (!parse_line(s, n, &k.key[k.n], &why)) {
            sw_buf_printf(err, "%s:%d: %s", name, line, why);
            goto fail;
        }
        for (i = 0; i < k.n; i++)
            if (strcmp(k.key[i].id, k.key[k.n].id) == 0) {
                sw_buf_printf(err, "%s:%d: key id \"%s\" appears twice", name, line, k.key[k.n].id);
                goto fail;
            }
        k.n++;
    }
    if (k.n == 0) {
        sw_buf_printf(err, "%s: no key (expected a line \"KEYID HEXSECRET\")", name);
        goto fail;
    }
    *keys = k;
    OPENSSL_cleanse(&k, sizeof(k));
    return true;
fail:
    OPENSSL_cleanse(&k, sizeof(k));
    return false;
}

/* sw_tag_keys_load - read and parse a key file */
bool
sw_tag_keys_load(const char *path, struct sw_tag_keys *keys, struct sw_buf *err)
{
    char text[SW_TAG_KEYFILE_MAX + 1];
    ssize_t n;
    size_t len = 0;
    bool ok;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        sw_buf_printf(err, "%s: %s", path, strerror(errno));
        return false;
    }
    while (len < sizeof(text) && (n = read(fd, text + len, sizeof(text) - len)) > 0)
        len += (size_t) n;
    (void) close(fd);
    if (len == sizeof(text)) {
        sw_buf_printf(err, "%s: longer than %d bytes: not a key file", path, SW_TAG_KEYFILE_MAX);
        return false;
    }
    ok = sw_tag_keys_parse(text, len, path, keys, err);
    OPENSSL_cleanse(text, sizeof(text));
    return ok;
}

/* normal_id - the Message-ID as signed: "<...>" when brackets are there,
 * else the value without surrounding white space */
static size_t
normal_id(const char *mid, const char **start)
{
    const char *lt, *gt;
    size_t n;

    if (mid == NULL)
        mid = "";
    if ((lt = strchr(mid, '<')) != NULL && (gt = strchr(lt, '>')) != NULL) {
        *start = lt;
        return (size_t) (gt - lt + 1);
    }
    while (*mid == ' ' || *mid == '\t' || *mid == '\r' || *mid == '\n')
        mid++;
    n = strlen(mid);
    while (n
           && (mid[n - 1] == ' ' || mid[n - 1] == '\t' || mid[n - 1] == '\r' || mid[n - 1] == '\n'))
        n--;
    *start = mid;
    return n;
}

/* mac - the truncated HMAC of (t, message-id) under one key */
static bool
mac(const struct sw_tag_key *k, long long t, const char *mid, unsigned char out[SW_TAG_MAC_LEN])
{
    unsigned char full[EVP_MAX_MD_SIZE];
    char data[64 + SW_TAG_MAX * 4];
    const char *id;
    size_t idn = normal_id(mid, &id), outlen = 0;
    int n;

    if (idn > SW_TAG_MAX * 3)
        idn = SW_TAG_MAX * 3; /* a bounded prefix of an absurd Message-ID */
    n = snprintf(data, sizeof(data), SW_TAG_CONTEXT "%lld|%.*s", t, (int) idn, id);
    if (n < 0 || (size_t) n >= sizeof(data))
        return false;
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k->secret, k->len, (unsigned char *) data,
                  (size_t) n, full, sizeof(full), &outlen)
            == NULL
        || outlen < SW_TAG_MAC_LEN)
        return false;
    memcpy(out, full, SW_TAG_MAC_LEN);
    return true;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* encode - base64url without padding */
static void
encode(const unsigned char *in, size_t n, char *out)
{
    size_t i, o = 0;
    unsigned v;

    for (i = 0; i + 2 < n; i += 3) {
        v = (unsigned) in[i] << 16 | (unsigned) in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
        out[o++] = b64url[v & 63];
    }
    if (n - i == 1) {
        v = (unsigned) in[i] << 16;
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
    } else if (n - i == 2) {
        v = (unsigned) in[i] << 16 | (unsigned) in[i + 1] << 8;
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
    }
    out[o] = '\0';
}

/* sw_tag_make - the header value */
bool
sw_tag_make(const struct sw_tag_keys *keys, time_t now, const char *message_id, char *out,
            size_t size)
{
    unsigned char m[SW_TAG_MAC_LEN];
    char h[SW_TAG_MAC_LEN * 2];
    const char *id;
    int n;

    if (keys == NULL || keys->n == 0 || !mac(&keys->key[0], (long long) now, message_id, m))
        return false;
    encode(m, sizeof(m), h);
    n = snprintf(out, size, "v=1; t=%lld; k=%s; h=%s%s", (long long) now, keys->key[0].id, h,
                 normal_id(message_id, &id) == 0 ? "; m=0" : "");
    return n > 0 && (size_t) n < size;
}

/* A tag as read by the strict grammar (tag.h). */
struct parsed {
    long long t;
    char k[SW_TAG_ID_MAX + 1];
    char h[SW_TAG_H_LEN + 1];
    bool m0;
};

/* is_wsp - white space as unfolding leaves it */
static bool
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* is_b64url - one character of base64url */
static bool
is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
           || c == '_';
}

/* sep - ";" and 1 to SW_TAG_SEP_WSP WSP; false otherwise */
static bool
sep(const char **pp)
{
    const char *p = *pp;
    int n = 0;

    if (*p++ != ';')
        return false;
    while (is_wsp(*p) && n <= SW_TAG_SEP_WSP) {
        p++;
        n++;
    }
    if (n < 1 || n > SW_TAG_SEP_WSP)
        return false;
    *pp = p;
    return true;
}

/* lit - the literal name= at *pp */
static bool
lit(const char **pp, const char *name)
{
    size_t n = strlen(name);

    if (strncmp(*pp, name, n) != 0)
        return false;
    *pp += n;
    return true;
}

/* parse - the one grammar of tag.h; false for anything else */
static bool
parse(const char *tag, struct parsed *out)
{
    const char *p = tag, *s;
    size_t n;
    int ws = 0;

    memset(out, 0, sizeof(*out));
    if (strlen(tag) > SW_TAG_MAX)
        return false;
    while (is_wsp(*p) && ws++ < 8)
        p++;
    if (!lit(&p, "v=1") || !sep(&p) || !lit(&p, "t=") || *p < '1' || *p > '9')
        return false;
    for (n = 0; p[n] >= '0' && p[n] <= '9'; n++) {
        if (n == 12)
            return false;
        out->t = out->t * 10 + (p[n] - '0');
    }
    p += n;
    if (!sep(&p) || !lit(&p, "k="))
        return false;
    for (s = p; is_b64url(*p) || *p == '.'; p++)
        if ((size_t) (p - s) == SW_TAG_ID_MAX)
            return false;
    if (!valid_id(s, (size_t) (p - s)))
        return false;
    memcpy(out->k, s, (size_t) (p - s));
    if (!sep(&p) || !lit(&p, "h="))
        return false;
    for (n = 0; n < SW_TAG_H_LEN; n++)
        if (!is_b64url(p[n]))
            return false;
    memcpy(out->h, p, SW_TAG_H_LEN);
    p += SW_TAG_H_LEN;
    if (*p == ';') {
        if (!sep(&p) || !lit(&p, "m=0"))
            return false;
        out->m0 = true;
    }
    ws = 0;
    while (is_wsp(*p) && ws++ < 8)
        p++;
    return *p == '\0';
}

/* sw_tag_check - is this tag ours, and recent?  And its canonical form. */
enum sw_tag_state
sw_tag_check(const struct sw_tag_keys *keys, const char *tag, const char *message_id, time_t now,
             long max_age, char *canon)
{
    char want[SW_TAG_MAC_LEN * 2];
    unsigned char m[SW_TAG_MAC_LEN];
    struct parsed pt;
    size_t i;
    int n;

    if (canon)
        canon[0] = '\0';
    if (tag == NULL || *tag == '\0')
        return SW_TAG_ABSENT;
    if (keys == NULL || keys->n == 0)
        return SW_TAG_UNCHECKED;
    if (!parse(tag, &pt) || pt.t > (long long) now + SW_TAG_SKEW)
        return SW_TAG_INVALID;
    for (i = 0; i < keys->n; i++) {
        if (strcmp(keys->key[i].id, pt.k) != 0)
            continue;
        /* m=0: signed without a Message-ID (one may have been added
         * downstream); the MAC is over the empty id, so the flag cannot
         * be added to a tag made for another message. */
        if (!mac(&keys->key[i], pt.t, pt.m0 ? "" : message_id, m))
            return SW_TAG_INVALID;
        encode(m, sizeof(m), want);
        if (strlen(want) != SW_TAG_H_LEN || CRYPTO_memcmp(pt.h, want, SW_TAG_H_LEN) != 0)
            return SW_TAG_INVALID;
        if (canon) {
            n = snprintf(canon, SW_TAG_CANON_MAX, "k=%s t=%lld h=%s", pt.k, pt.t, pt.h);
            if (n < 0 || n >= SW_TAG_CANON_MAX) {
                canon[0] = '\0';
                return SW_TAG_INVALID;
            }
        }
        if (max_age > 0 && pt.t < (long long) now - max_age)
            return SW_TAG_EXPIRED;
        return SW_TAG_VALID;
    }
    return SW_TAG_INVALID; /* a key we do not hold (any more) */
}

/* sw_tag_verify - is this tag ours, and recent? */
enum sw_tag_state
sw_tag_verify(const struct sw_tag_keys *keys, const char *tag, const char *message_id, time_t now,
              long max_age)
{
    return sw_tag_check(keys, tag, message_id, now, max_age, NULL);
}

/* sw_tag_state_name - for logs and JSON */
const char *
sw_tag_state_name(enum sw_tag_state s)
{
    switch (s) {
    case SW_TAG_ABSENT: return "absent";
    case SW_TAG_VALID: return "valid";
    case SW_TAG_EXPIRED: return "expired";
    case SW_TAG_INVALID: return "invalid";
    case SW_TAG_UNCHECKED: return "unchecked";
    }
    return "invalid";
}
