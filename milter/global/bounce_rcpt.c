/* bounce_rcpt.c - recipient records: addresses, diagnostics, reply codes, status codes */

/*
 * What one recipient's record holds and how it is filled: the address
 * (an addr-spec, compared without regard to ASCII case), the diagnostic
 * as one line of text, and the SMTP reply code and enhanced status code
 * read from it.  Owns no state; every function works on the caller's
 * struct sw_bounce.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "global/bounce_impl.h"
#include "util/mime.h"

/* sw_bounce_strip_type - past an RFC 3464 "type;" prefix ("rfc822;", "dns;", "smtp;") */
const char *
sw_bounce_strip_type(const char *s)
{
    const char *p = s;

    while (*p == ' ')
        p++;
    s = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || b_is_digit(*p) || *p == '-'
           || *p == '_')
        p++;
    if (p > s && p - s <= 24 && *p == ';')
        for (s = p + 1; *s == ' '; s++)
            ;
    return s;
}

/* sw_bounce_addr_len - an addr-spec at s, without brackets; 0 when none */
size_t
sw_bounce_addr_len(const char *s, size_t n)
{
    static const char local_chars[] = "!#$%&'*+-/=?^_`{|}~.";
    size_t i = 0, label, start;

    /* local part: a dot-atom or a quoted string (bounded) */
    if (n > 0 && s[0] == '"') {
        for (i = 1; i < n && i < SW_BOUNCE_ADDR_MAX && s[i] != '"' && s[i] != '\n'; i++)
            if (s[i] == '\\')
                i++;
        if (i >= n || s[i] != '"')
            return 0;
        i++;
    } else {
        while (i < n
               && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || b_is_digit(s[i])
                   || (s[i] != '\0' && strchr(local_chars, s[i]) != NULL)))
            i++;
    }
    if (i == 0 || i >= n || s[i] != '@')
        return 0;
    start = ++i;
    if (i < n && s[i] == '[') {
        while (i < n && s[i] != ']' && s[i] != '\n' && i - start < 64)
            i++;
        return i < n && s[i] == ']' ? i + 1 : 0;
    }
    /* domain: labels of letters, digits and hyphens, dot-separated */
    for (;;) {
        label = i;
        while (i < n
               && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || b_is_digit(s[i])
                   || s[i] == '-' || s[i] == '_'))
            i++;
        if (i == label) {
            if (label == start)
                return 0;
            return label - 1; /* a trailing dot is not part of it */
        }
        if (i < n && s[i] == '.' && i + 1 < n && s[i + 1] != '.')
            i++;
        else
            break;
    }
    return i < SW_BOUNCE_ADDR_MAX ? i : 0;
}

/* same_addr - equal addresses, ignoring ASCII case */
static bool
same_addr(const char *a, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (a[i] == '\0' || b_lower(a[i]) != b_lower(s[i]))
            return false;
    return a[n] == '\0';
}

/* sw_bounce_rcpt_find - the record of an address */
struct sw_bounce_rcpt *
sw_bounce_rcpt_find(struct sw_bounce *b, const char *addr, size_t n)
{
    size_t i;

    for (i = 0; i < b->nrcpt; i++)
        if (same_addr(b->rcpt[i].rcpt, addr, n))
            return &b->rcpt[i];
    return NULL;
}

/* sw_bounce_rcpt_add - the record of an address, new or known (n = 0: always new) */
struct sw_bounce_rcpt *
sw_bounce_rcpt_add(struct sw_bounce *b, const char *addr, size_t n)
{
    /* Records without an address are never merged: each is a failure. */
    struct sw_bounce_rcpt *r = n > 0 ? sw_bounce_rcpt_find(b, addr, n) : NULL;

    if (r != NULL)
        return r;
    if (b->nrcpt >= SW_BOUNCE_RCPTS_MAX) {
        b->truncated = true;
        return NULL;
    }
    r = &b->rcpt[b->nrcpt++];
    memset(r, 0, sizeof(*r));
    b_copy(r->rcpt, sizeof(r->rcpt), addr, n);
    return r;
}

/* sw_bounce_set_diag - one line, collapsed white space, no "smtp;" type */
void
sw_bounce_set_diag(struct sw_bounce_rcpt *r, const char *s, size_t n)
{
    const char *end = s + n, *t;
    size_t o = 0;
    bool space = false;

    while (s < end && b_is_space(*s))
        s++;
    /* RFC 3464 section 2.3.6: diagnostic-type ";" *text */
    for (t = s;
         t < end && t - s <= 24
         && ((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || b_is_digit(*t) || *t == '-');
         t++)
        ;
    if (t > s && t < end && *t == ';' && !b_is_digit(*s))
        s = t + 1;
    for (; s < end && o + 1 < sizeof(r->diagnostic); s++) {
        if (b_is_space(*s)) {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < sizeof(r->diagnostic))
            r->diagnostic[o++] = ' ';
        space = false;
        r->diagnostic[o++] = *s;
    }
    r->diagnostic[o] = '\0';
}

/* sw_bounce_status_len - "C.S.D" (RFC 3463 section 2) at s: its length, or 0 */
size_t
sw_bounce_status_len(const char *s)
{
    size_t i = 0, d;
    int part;

    if (s[0] != '2' && s[0] != '4' && s[0] != '5')
        return 0;
    i = 1;
    for (part = 0; part < 2; part++) {
        if (s[i++] != '.')
            return 0;
        for (d = 0; b_is_digit(s[i]); i++, d++)
            ;
        if (d < 1 || d > 3)
            return 0;
    }
    return b_is_digit(s[i]) || (s[i] == '.' && b_is_digit(s[i + 1])) ? 0 : i;
}

/* reply_code - the SMTP reply code a diagnostic starts with (or gives after "said:") */
static int
reply_code(const char *d)
{
    const char *p = d, *said;

    if ((said = sw_mime_ifind(d, strlen(d), "said:")) != NULL && said - d < 320)
        for (p = said + 5; *p == ' '; p++)
            ;
    while (*p == '#' || *p == ' ')
        p++;
    if ((p[0] == '4' || p[0] == '5' || p[0] == '2') && b_is_digit(p[1]) && b_is_digit(p[2])
        && (p[3] == '\0' || p[3] == ' ' || p[3] == '-'))
        return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    return 0;
}

/* diag_status - the enhanced status code of a diagnostic: right after
 * its reply code (*first set), or else the first one in it */
static bool
diag_status(const char *d, char *out, size_t size, bool *first)
{
    const char *p;
    size_t n;

    *first = false;
    p = d;
    if (reply_code(d) != 0) {
        if ((p = sw_mime_ifind(d, strlen(d), "said:")) == NULL || p - d >= 320)
            p = d;
        else
            p += 5;
        while (*p == ' ' || *p == '#')
            p++;
        p += 3;
        while (*p == ' ' || *p == '-' || *p == '#')
            p++;
        if ((n = sw_bounce_status_len(p)) > 0 && n < size) {
            memcpy(out, p, n);
            out[n] = '\0';
            *first = true;
            return true;
        }
    }
    for (p = d; *p; p++) {
        if (p > d && (b_is_digit(p[-1]) || p[-1] == '.'))
            continue;
        if ((n = sw_bounce_status_len(p)) > 0 && n < size) {
            memcpy(out, p, n);
            out[n] = '\0';
            return true;
        }
    }
    return false;
}

/* sw_bounce_finish - code, status and IPs of every record, from its diagnostic */
void
sw_bounce_finish(struct sw_bounce *b)
{
    char st[16];
    bool first;
    size_t i;

    for (i = 0; i < b->nrcpt; i++) {
        struct sw_bounce_rcpt *r = &b->rcpt[i];

        r->code = reply_code(r->diagnostic);
        memset(st, 0, sizeof(st)); /* copied whole below: nothing of the stack leaks */
        /* The receiver's own status (right after its reply code) is more
         * telling than the reporting MTA's summary ("4.4.7" expired,
         * "5.0.0"); one found elsewhere in the text only fills a gap or
         * replaces a generic "X.0.0" of the same class. */
        if (diag_status(r->diagnostic, st, sizeof(st), &first)
            && (first || r->status[0] == '\0'
                || (strcmp(r->status + 1, ".0.0") == 0 && st[0] == r->status[0])))
            memcpy(r->status, st, sizeof(st));
        sw_bounce_scan_ips(b, r->diagnostic, strlen(r->diagnostic));
    }
}

/* sw_bounce_rcpt_failed - a failure or a delay: what can count as evidence */
bool
sw_bounce_rcpt_failed(const struct sw_bounce_rcpt *r)
{
    if (strcmp(r->action, "failed") == 0 || strcmp(r->action, "delayed") == 0)
        return true;
    if (r->action[0] != '\0' && r->status[0] == '2')
        return false;
    return r->status[0] == '4' || r->status[0] == '5' || (r->code >= 400 && r->code <= 599);
}
