/* addr.c - lookup keys to destination domains */

/*
 * Postfix sends transport_maps only full addresses exactly as written
 * (MTA-FACTS.md), so spillway does the folding and the parent walk that an
 * indexed table would do: case of the domain, trailing dot, and the local
 * part ignored.  Sendmail builds its own partial keys.  Pure functions.
 */
#include "config.h"

#include <string.h>

#include "util/addr.h"

/* lower - ASCII lower case, independent of the locale */
static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

/* copy_domain - validate and fold a DNS name into domain[] */
static bool
copy_domain(const char *s, size_t n, char *domain, size_t size)
{
    size_t i, label = 0;
    char c;

    if (n && s[n - 1] == '.')
        n--; /* "example.com." */
    if (n == 0 || n > SW_DOMAIN_MAX || n >= size)
        return false;
    for (i = 0; i < n; i++) {
        c = lower(s[i]);
        if (c == '.') {
            if (label == 0)
                return false; /* empty label */
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
            if (++label > 63)
                return false; /* RFC 1035 section 2.3.4 */
        } else {
            return false;
        }
        domain[i] = c;
    }
    if (label == 0)
        return false; /* "example.com.." */
    domain[n] = '\0';
    return true;
}

/* sw_addr_transport_key - domain of a Postfix lookup key */
enum sw_key_kind
sw_addr_transport_key(const char *key, size_t len, char *domain, size_t size)
{
    const char *at = NULL;
    size_t i;

    for (i = 0; i < len; i++)
        if (key[i] == '@')
            at = key + i;
    if (at == NULL)
        return SW_KEY_NONE;
    if (!copy_domain(at + 1, len - (size_t) (at + 1 - key), domain, size))
        return SW_KEY_NONE;
    return SW_KEY_DOMAIN;
}

/* sw_addr_mailertable_key - domain of a Sendmail mailertable key */
enum sw_key_kind
sw_addr_mailertable_key(const char *key, size_t len, char *domain, size_t size)
{
    if (len == 1 && key[0] == '.')
        return SW_KEY_ROOT;
    if (len > 1 && key[0] == '.')
        return copy_domain(key + 1, len - 1, domain, size) ? SW_KEY_SUBDOMAINS : SW_KEY_NONE;
    return copy_domain(key, len, domain, size) ? SW_KEY_DOMAIN : SW_KEY_NONE;
}

/* sw_addr_parent - next suffix up */
const char *
sw_addr_parent(const char *domain)
{
    const char *dot = strchr(domain, '.');

    return dot && dot[1] ? dot + 1 : NULL;
}
