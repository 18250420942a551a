/* dnsbl.c - DNS blocklist queries and answers, and the IPs evidence blames */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "global/dnsbl.h"

/* sw_dnsbl_query_name - reversed address under the zone */
bool
sw_dnsbl_query_name(const char *ip, const char *zone, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    size_t len = 0;
    int i, n;

    if (inet_pton(AF_INET, ip, b) == 1) {
        n = snprintf(out, size, "%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0], zone);
        return n > 0 && (size_t) n < size;
    }
    if (inet_pton(AF_INET6, ip, b) != 1 || size < 64 + strlen(zone) + 1)
        return false;
    for (i = 15; i >= 0; i--) {
        out[len++] = hex[b[i] & 0xf];
        out[len++] = '.';
        out[len++] = hex[b[i] >> 4];
        out[len++] = '.';
    }
    (void) snprintf(out + len, size - len, "%s", zone);
    return true;
}

/* sw_dnsbl_verdict - listed, clean, or the resolver's error */
enum sw_dnsbl_verdict
sw_dnsbl_verdict(bool nxdomain, bool failed, const char (*a)[SW_IP_MAX + 1], size_t n, char *why,
                 size_t size)
{
    unsigned char b[4];
    size_t i;

    why[0] = '\0';
    if (failed) {
        (void) snprintf(why, size, "lookup failed");
        return SW_DNSBL_ERROR;
    }
    if (nxdomain || n == 0)
        return SW_DNSBL_CLEAN;
    for (i = 0; i < n; i++) {
        if (inet_pton(AF_INET, a[i], b) != 1 || b[0] != 127) {
            (void) snprintf(why, size, "answer %s is outside 127.0.0.0/8", a[i]);
            return SW_DNSBL_ERROR;
        }
        if (b[1] == 255 && b[2] == 255) {
            (void) snprintf(why, size, "answer %s is a resolver error, not a listing", a[i]);
            return SW_DNSBL_ERROR;
        }
    }
    (void) snprintf(why, size, "%s", a[0]);
    return SW_DNSBL_LISTED;
}

/* sw_dnsbl_verdict_name - for logs */
const char *
sw_dnsbl_verdict_name(enum sw_dnsbl_verdict v)
{
    switch (v) {
    case SW_DNSBL_LISTED: return "listed";
    case SW_DNSBL_CLEAN: return "clean";
    default: return "error";
    }
}

/* ipchar - may this byte be part of an address token? */
static bool
ipchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.'
           || c == ':';
}

/* sw_text_ips - addresses in a reply text */
size_t
sw_text_ips(const char *text, char (*out)[SW_IP_MAX + 1], size_t max)
{
    const char *p = text, *said, *start;
    unsigned char b[16];
    char tok[SW_IP_MAX + 1];
    size_t n = 0, len, k;

    if (strncmp(p, "host ", 5) == 0 && (said = strstr(p, " said: ")) != NULL)
        p = said + 7;
    while (*p && n < max) {
        if (!ipchar(*p) || (p > text && ipchar(p[-1]))) {
            p++;
            continue;
        }
        for (start = p; ipchar(*p); p++)
            ;
        len = (size_t) (p - start);
        while (len && (start[len - 1] == '.' || start[len - 1] == ':'))
            len--; /* "IP 192.0.2.1." at the end of a sentence */
        if (len == 0 || len > SW_IP_MAX)
            continue;
        memcpy(tok, start, len);
        tok[len] = '\0';
        if (inet_pton(AF_INET, tok, b) != 1
            && (strchr(tok, ':') == NULL || inet_pton(AF_INET6, tok, b) != 1))
            continue;
        for (k = 0; k < n && strcmp(out[k], tok) != 0; k++)
            ;
        if (k == n)
            memcpy(out[n++], tok, len + 1);
    }
    return n;
}
