/* rpath.c - the return path: make, verify and restore tagged envelope senders */
#include "config.h"

#include <ctype.h>
#include <fnmatch.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "global/rpath.h"
#include "util/buf.h"

#define RP_CONTEXT  "spillway-rp/1|"
#define RP_DAYS_MOD 1024 /* two base32 characters of day */
#define RP_DOMAIN_MAX 253

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

/* An address split into its parts, domain in lower case. */
struct addr {
    char local[SW_RPATH_LOCAL_MAX + 1];
    char domain[RP_DOMAIN_MAX + 1];
};

static int
b32val(int c)
{
    c = tolower(c);
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

/* is_atext - RFC 5322 atext */
static bool
is_atext(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* dot_atom - a local part we can carry: atext and single inner dots */
static bool
dot_atom(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (i = 0; i < n; i++)
        if (s[i] == '.' ? s[i + 1] == '.' : !is_atext((unsigned char) s[i]))
            return false;
    return true;
}

/* host_name - letters, digits, hyphens and inner dots (no literal) */
static bool
host_name(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > RP_DOMAIN_MAX || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (i = 0; i < n; i++)
        if (s[i] == '.' ? s[i + 1] == '.'
                        : !isalnum((unsigned char) s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

static void
lower(char *s)
{
    for (; *s; s++)
        *s = (char) tolower((unsigned char) *s);
}

/* split - "<local@domain>" or bare into a; false when we cannot carry it */
static bool
split(const char *in, struct addr *a)
{
    const char *s = in, *at;
    size_t n = strlen(in), ln, dn;

    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
        s++, n -= 2;
    if (n == 0 || (at = memrchr(s, '@', n)) == NULL)
        return false;
    ln = (size_t) (at - s);
    dn = n - ln - 1;
    if (dn && at[dn] == '.')
        dn--; /* a trailing dot names the same domain */
    if (ln > SW_RPATH_LOCAL_MAX || !dot_atom(s, ln) || !host_name(at + 1, dn))
        return false;
    memcpy(a->local, s, ln);
    a->local[ln] = '\0';
    memcpy(a->domain, at + 1, dn);
    a->domain[dn] = '\0';
    lower(a->domain);
    return true;
}

/* glob_match - a skip entry: with "@" the address, else its local part */
static bool
glob_match(const struct sw_strv *globs, const struct addr *a)
{
    char full[SW_RPATH_ADDR_MAX];
    size_t i;

    (void) snprintf(full, sizeof(full), "%s@%s", a->local, a->domain);
    for (i = 0; i < globs->n; i++)
        if (fnmatch(globs->v[i], strchr(globs->v[i], '@') ? full : a->local, FNM_CASEFOLD) == 0)
            return true;
    return false;
}

static bool
sender_domain(const struct sw_rpath_conf *rp, const char *domain)
{
    size_t i;

    for (i = 0; i < rp->sender_domains.n; i++)
        if (sw_domain_match(rp->sender_domains.v[i], domain))
            return true;
    return false;
}

/* under_sub - the sender domain a "<subdomain>.<domain>" names, or NULL */
static const char *
under_sub(const struct sw_rpath_conf *rp, const char *domain)
{
    size_t sl;

    if (rp->subdomain == NULL)
        return NULL;
    sl = strlen(rp->subdomain);
    if (strncasecmp(domain, rp->subdomain, sl) != 0 || domain[sl] != '.')
        return NULL;
    return sender_domain(rp, domain + sl + 1) ? domain + sl + 1 : NULL;
}

bool
sw_rpath_on(const struct sw_rpath_conf *rp)
{
    return rp && (rp->domain || rp->subdomain);
}

bool
sw_rpath_is_domain(const struct sw_rpath_conf *rp, const char *domain)
{
    if (!sw_rpath_on(rp) || domain == NULL)
        return false;
    return (rp->domain && strcasecmp(rp->domain, domain) == 0) || under_sub(rp, domain) != NULL;
}

/* selector - one base32 character for a key id */
static char
selector(const struct sw_tag_key *k)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;

    if (!EVP_Digest(k->id, strlen(k->id), d, &n, EVP_sha256(), NULL) || n == 0)
        return b32[0];
    return b32[d[0] & 31];
}

/* mac - 8 base32 characters over (day, lower-case sender) */
static bool
mac(const struct sw_tag_key *k, long long day, const struct addr *a, char out[9])
{
    unsigned char full[EVP_MAX_MD_SIZE];
    char data[sizeof(RP_CONTEXT) + 24 + SW_RPATH_ADDR_MAX];
    size_t outlen = 0, i;
    unsigned long long v = 0;
    int n;

    n = snprintf(data, sizeof(data), RP_CONTEXT "%lld|%s@%s", day, a->local, a->domain);
    if (n < 0 || (size_t) n >= sizeof(data))
        return false;
    for (i = sizeof(RP_CONTEXT) - 1; i < (size_t) n; i++)
        data[i] = (char) tolower((unsigned char) data[i]);
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k->secret, k->len, (unsigned char *) data,
                  (size_t) n, full, sizeof(full), &outlen)
            == NULL
        || outlen < 5)
        return false;
    for (i = 0; i < 5; i++)
        v = v << 8 | full[i];
    for (i = 0; i < 8; i++)
        out[i] = b32[(v >> (35 - 5 * i)) & 31];
    out[8] = '\0';
    return true;
}

/* sw_rpath_make - the tagged address, or why not */
enum sw_rpath_skip
sw_rpath_make(const struct sw_rpath_conf *rp, const struct sw_tag_keys *keys, const char *sender,
              time_t now, char *out, size_t size)
{
    long long day = (long long) now / 86400;
    unsigned dd = (unsigned) (day % RP_DAYS_MOD);
    struct addr a;
    char h[9];
    int n;

    out[0] = '\0';
    if (!sw_rpath_on(rp) || keys == NULL || keys->n == 0)
        return SW_RPATH_OFF;
    if (sender == NULL || *sender == '\0' || strcmp(sender, "<>") == 0)
        return SW_RPATH_NULL;
    if (!split(sender, &a))
        return SW_RPATH_SYNTAX;
    if (glob_match(&rp->skip_senders, &a))
        return SW_RPATH_SKIPPED;
    if (sw_rpath_is_domain(rp, a.domain))
        return SW_RPATH_ALREADY;
    if (!mac(&keys->key[0], day, &a, h))
        return SW_RPATH_OFF;
    if (rp->subdomain && sender_domain(rp, a.domain)) {
        if (strlen("sw1=hhhhhhhh=ddk=") + strlen(a.local) > SW_RPATH_LOCAL_MAX)
            return SW_RPATH_LONG;
        if (strlen(rp->subdomain) + 1 + strlen(a.domain) > RP_DOMAIN_MAX)
            return SW_RPATH_LONG;
        n = snprintf(out, size, "sw1=%s=%c%c%c=%s@%s.%s", h, b32[dd >> 5], b32[dd & 31],
                     selector(&keys->key[0]), a.local, rp->subdomain, a.domain);
    } else if (rp->domain) {
        if (strlen("sw0=hhhhhhhh=ddk==") + strlen(a.domain) + strlen(a.local) > SW_RPATH_LOCAL_MAX)
            return SW_RPATH_LONG;
        n = snprintf(out, size, "sw0=%s=%c%c%c=%s=%s@%s", h, b32[dd >> 5], b32[dd & 31],
                     selector(&keys->key[0]), a.domain, a.local, rp->domain);
    } else
        return SW_RPATH_FOREIGN;
    if (n < 0 || (size_t) n >= size) {
        out[0] = '\0';
        return SW_RPATH_LONG;
    }
    return SW_RPATH_REWRITE;
}

bool
sw_rpath_skip_rcpt(const struct sw_rpath_conf *rp, const char *rcpt)
{
    struct addr a;

    return rp && rp->skip_recipients.n && split(rcpt, &a) && glob_match(&rp->skip_recipients, &a);
}

/* decode_local - "swN=HHHHHHHH=DDK=..." into its fields; false if malformed */
static bool
decode_local(const char *local, int *form, char h[9], unsigned *dd, char *k, const char **rest)
{
    size_t i;

    if (strncasecmp(local, "sw0=", 4) == 0)
        *form = 0;
    else if (strncasecmp(local, "sw1=", 4) == 0)
        *form = 1;
    else
        return false;
    local += 4;
    for (i = 0; i < 8; i++) {
        if (b32val((unsigned char) local[i]) < 0)
            return false;
        h[i] = (char) tolower((unsigned char) local[i]);
    }
    h[8] = '\0';
    if (local[8] != '=' || b32val((unsigned char) local[9]) < 0
        || b32val((unsigned char) local[10]) < 0 || b32val((unsigned char) local[11]) < 0
        || local[12] != '=')
        return false;
    *dd = (unsigned) (b32val((unsigned char) local[9]) << 5 | b32val((unsigned char) local[10]));
    *k = (char) tolower((unsigned char) local[11]);
    *rest = local + 13;
    return true;
}

/* named_sender - the sender a decoded address names: for sw0 the domain
 * and local part it carries (at the fixed domain), for sw1 the local part
 * and the sender domain under <subdomain>.  false if malformed. */
static bool
named_sender(const struct sw_rpath_conf *rp, const struct addr *r, int form, const char *rest,
             struct addr *s)
{
    const char *eq, *sdom;
    size_t ln;

    if (form == 1) {
        if ((sdom = under_sub(rp, r->domain)) == NULL || !dot_atom(rest, strlen(rest)))
            return false;
        SW_COPY(s->local, rest);
        SW_COPY(s->domain, sdom);
        return true;
    }
    if (rp->domain == NULL || strcasecmp(r->domain, rp->domain) != 0
        || (eq = strchr(rest, '=')) == NULL)
        return false;
    ln = (size_t) (eq - rest);
    if (!host_name(rest, ln) || strlen(eq + 1) > SW_RPATH_LOCAL_MAX
        || !dot_atom(eq + 1, strlen(eq + 1)))
        return false;
    memcpy(s->domain, rest, ln);
    s->domain[ln] = '\0';
    lower(s->domain);
    SW_COPY(s->local, eq + 1);
    return true;
}

/* sw_rpath_check - judge an envelope recipient */
void
sw_rpath_check(const struct sw_rpath_conf *rp, const struct sw_tag_keys *keys, const char *rcpt,
               time_t now, struct sw_rpath_check *out)
{
    long long today = (long long) now / 86400, day;
    struct addr r, s;
    const char *rest;
    char h[9], k, want[9];
    unsigned dd;
    int form;
    long age;
    size_t i;
    bool ok = false;

    memset(out, 0, sizeof(*out));
    out->state = SW_RPATH_NOT_OURS;
    if (!sw_rpath_on(rp) || rcpt == NULL || !split(rcpt, &r) || !sw_rpath_is_domain(rp, r.domain))
        return;
    if (strcasecmp(r.local, "postmaster") == 0) {
        out->state = SW_RPATH_EXEMPT;
        return;
    }
    out->state = SW_RPATH_INVALID;
    if (keys == NULL || !decode_local(r.local, &form, h, &dd, &k, &rest)
        || !named_sender(rp, &r, form, rest, &s))
        return;
    /* The most recent day with these low bits, one day of clock skew allowed. */
    age = (long) ((today + 1 - (long long) dd) % RP_DAYS_MOD + RP_DAYS_MOD) % RP_DAYS_MOD - 1;
    day = today - age;
    for (i = 0; i < keys->n; i++)
        if (selector(&keys->key[i]) == k && mac(&keys->key[i], day, &s, want)
            && CRYPTO_memcmp(want, h, 8) == 0)
            ok = true;
    if (!ok)
        return;
    (void) snprintf(out->sender, sizeof(out->sender), "%s@%s", s.local, s.domain);
    (void) snprintf(out->id, sizeof(out->id), "rp=%s d=%lld", h, day);
    out->age_days = age < 0 ? 0 : age;
    out->state = rp->max_age > 0 && (long long) age * 86400 > rp->max_age ? SW_RPATH_EXPIRED
                                                                          : SW_RPATH_VALID;
}

const char *
sw_rpath_skip_name(enum sw_rpath_skip s)
{
    static const char *const names[] = { "rewritten", "off",     "null-sender", "skipped",
                                         "foreign",   "already", "syntax",      "long" };

    return (unsigned) s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *
sw_rpath_state_name(enum sw_rpath_state s)
{
    static const char *const names[] = { "not-ours", "exempt", "valid", "expired", "invalid" };

    return (unsigned) s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
