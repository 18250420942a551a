/* bounce_hosts.c - the hosts and IP addresses a bounce names, and the returned header */

/*
 * What attributes a rejection to a pool (DESIGN.md section 3): the host
 * names and IP literals of Received fields (RFC 5321 section 4.4), of the
 * bounce and of the returned message, the Reporting-MTA, and the IP
 * literals in diagnostic texts.  Names are kept lower case without a
 * trailing dot; IPs are validated with inet_pton() and kept in the
 * canonical text of inet_ntop().  Both lists are bounded (bounce.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "global/bounce_impl.h"
#include "util/mime.h"

/* sw_bounce_add_host - a host name, lower case without a trailing dot, once */
void
sw_bounce_add_host(struct sw_bounce *b, const char *s, size_t n)
{
    char h[SW_BOUNCE_ADDR_MAX];
    size_t i, dots = 0;

    while (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0 || n >= sizeof(h))
        return;
    for (i = 0; i < n; i++) {
        h[i] = b_lower(s[i]);
        if (!((h[i] >= 'a' && h[i] <= 'z') || b_is_digit(h[i]) || h[i] == '-' || h[i] == '.'
              || h[i] == '_'))
            return;
        dots += h[i] == '.';
    }
    h[n] = '\0';
    /* Only names that can name a pool: dotted, not this machine. */
    if (dots == 0 || h[0] == '.' || strncmp(h, "localhost", 9) == 0)
        return;
    for (i = 0; i < b->nhosts; i++)
        if (strcmp(b->hosts[i], h) == 0)
            return;
    if (b->nhosts >= SW_BOUNCE_HOSTS_MAX) {
        b->truncated = true;
        return;
    }
    memcpy(b->hosts[b->nhosts++], h, n + 1);
}

/* add_ip - an IPv4 or IPv6 literal, validated and in canonical form, once */
static bool
add_ip(struct sw_bounce *b, const char *s, size_t n)
{
    char in[64], out[INET6_ADDRSTRLEN];
    unsigned char bin[sizeof(struct in6_addr)];
    int af;
    size_t i;

    if (n >= 5 && (memcmp(s, "IPv6:", 5) == 0 || memcmp(s, "ipv6:", 5) == 0)) {
        s += 5;
        n -= 5;
    }
    if (n == 0 || n >= sizeof(in))
        return false;
    memcpy(in, s, n);
    in[n] = '\0';
    af = memchr(in, ':', n) != NULL ? AF_INET6 : AF_INET;
    if (inet_pton(af, in, bin) != 1 || inet_ntop(af, bin, out, sizeof(out)) == NULL)
        return false;
    /* Loopback and unspecified addresses name no pool. */
    if ((af == AF_INET && (bin[0] == 127 || bin[0] == 0))
        || (af == AF_INET6 && (strcmp(out, "::1") == 0 || strcmp(out, "::") == 0)))
        return true;
    for (i = 0; i < b->nips; i++)
        if (strcmp(b->ips[i], out) == 0)
            return true;
    if (b->nips >= SW_BOUNCE_IPS_MAX) {
        b->truncated = true;
        return true;
    }
    (void) snprintf(b->ips[b->nips++], sizeof(b->ips[0]), "%s", out);
    return true;
}

/* is_hex - an IPv6 character */
static bool
is_ip6_char(char c)
{
    return b_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':'
           || c == '.';
}

/*
 * scan_ips - IP literals in a text: dotted quads that are not part of a
 * longer dotted number (an enhanced status code, a version), and IPv6
 * addresses in brackets or after "IPv6:".
 */
void
sw_bounce_scan_ips(struct sw_bounce *b, const char *s, size_t n)
{
    size_t i = 0, j, k, parts;

    while (i < n) {
        if (s[i] == '[' || (i + 5 <= n && sw_mime_iprefix(s + i, n - i, "ipv6:"))) {
            j = i + (s[i] == '[' ? 1 : 5);
            if (j + 5 <= n && sw_mime_iprefix(s + j, n - j, "ipv6:"))
                j += 5;
            for (k = j; k < n && is_ip6_char(s[k]) && k - j < 46; k++)
                ;
            if (memchr(s + j, ':', k - j) != NULL) {
                (void) add_ip(b, s + j, k - j);
                i = k;
            } else {
                i = j; /* an IPv4 literal is found below */
            }
            continue;
        }
        if (!b_is_digit(s[i]) || (i > 0 && (b_is_digit(s[i - 1]) || s[i - 1] == '.'))) {
            i++;
            continue;
        }
        for (j = i, parts = 1; j < n && (b_is_digit(s[j]) || s[j] == '.'); j++)
            if (s[j] == '.')
                parts++;
        if (parts == 4 && s[j - 1] != '.')
            (void) add_ip(b, s + i, j - i);
        else if (parts == 5 && s[j - 1] == '.') /* the end of a sentence */
            (void) add_ip(b, s + i, j - i - 1);
        i = j;
    }
}

/* word_after - the word after a keyword in a Received value */
static const char *
word_after(const char *v, const char *key, size_t *n)
{
    const char *p = v, *w;
    size_t klen = strlen(key);

    while ((p = sw_mime_ifind(p, strlen(p), key)) != NULL) {
        if ((p == v || p[-1] == ' ') && p[klen] == ' ') {
            for (w = p + klen; *w == ' '; w++)
                ;
            for (*n = 0;
                 w[*n] && !b_is_space(w[*n]) && w[*n] != ';' && w[*n] != '(' && w[*n] != ')';
                 (*n)++)
                ;
            return w;
        }
        p += klen;
    }
    return NULL;
}

/*
 * sw_bounce_received - hosts and IPs of a Received field (RFC 5321 section 4.4):
 * the names after "from" and "by", the name a TCP-info comment gives
 * before an address literal ("(mx.example.net [192.0.2.1])"), and every
 * address literal.
 */
void
sw_bounce_received(struct sw_bounce *b, const char *v)
{
    const char *w, *p, *q, *e;
    size_t n;

    if ((w = word_after(v, "from", &n)) != NULL) {
        if (n > 2 && w[0] == '[' && w[n - 1] == ']')
            (void) add_ip(b, w + 1, n - 2);
        else
            sw_bounce_add_host(b, w, n);
    }
    if ((w = word_after(v, "by", &n)) != NULL)
        sw_bounce_add_host(b, w, n);
    for (p = v; (p = strchr(p, '[')) != NULL; p++) {
        if ((e = strchr(p, ']')) == NULL)
            break;
        if (!add_ip(b, p + 1, (size_t) (e - p - 1)))
            continue;
        /* "(name [ip])": the name before the literal */
        for (q = p; q > v && q[-1] == ' '; q--)
            ;
        for (w = q; w > v && !b_is_space(w[-1]) && w[-1] != '('; w--)
            ;
        if (w < q && w > v && w[-1] == '(')
            sw_bounce_add_host(b, w, (size_t) (q - w));
    }
}

/* sw_bounce_header_block - the fields of a header block, handed to fn one by one */
void
sw_bounce_header_block(struct sw_bounce *b, const char *hdr, size_t n, char *value, size_t size,
                       sw_bounce_field_fn fn, void *arg)
{
    struct sw_mime_cursor c = { hdr, hdr + n };
    char name[SW_BOUNCE_NAME_MAX];
    bool cut;

    while (c.p < c.end) {
        while (sw_mime_field(&c, name, sizeof(name), value, size, &cut)) {
            if (cut)
                b->truncated = true;
            fn(b, arg, name, value);
        }
    }
}

/* returned_field - one field of a returned message's header */
static void
returned_field(struct sw_bounce *b, void *arg, const char *name, const char *value)
{
    (void) arg;
    if (sw_mime_ieq(name, "X-Spillway-Tag")) {
        if (b->tag[0] == '\0')
            b_copy(b->tag, sizeof(b->tag), value, strlen(value));
    } else if (sw_mime_ieq(name, "Message-ID")) {
        if (b->message_id[0] == '\0')
            b_copy(b->message_id, sizeof(b->message_id), value, strlen(value));
    } else if (sw_mime_ieq(name, "Received")) {
        sw_bounce_received(b, value);
    }
}

/* sw_bounce_returned - the header of a returned message */
void
sw_bounce_returned(struct sw_bounce *b, const char *hdr, size_t n)
{
    char value[SW_BOUNCE_HEADER_MAX + 1];
    const char *h, *body;
    size_t hn, bn;

    /* Only the header block: a copy inline is followed by its body. */
    sw_mime_split(hdr, n, &h, &hn, &body, &bn);
    sw_bounce_header_block(b, h, hn, value, sizeof(value), returned_field, NULL);
}
