/* maillog.c - parse one mail log line into a delivery outcome */

/*
 * The shapes, as Postfix 3.7 and Sendmail 8.17.1.9 write them (seen on
 * loopback; MTA-FACTS.md "Postfix: logs"):
 *
 *   PREFIX NAME/SERVICE[PID]: QUEUEID: to=<RCPT>, [orig_to=<ADDR>, ]relay=HOST[ADDR]:PORT,
 *       [conn_use=N, ]delay=D, delays=A/B/C/D, dsn=X.Y.Z, status=WORD (TEXT)
 *   PREFIX TAG[PID]: QUEUEID: to=<R1>,<R2>,[ [more],] [ctladdr=ADDR (U/G), ]delay=D,
 *       xdelay=D, mailer=M, pri=N, relay=HOST. [ADDR], dsn=X.Y.Z, [reply=CODE TEXT, ]stat=TEXT
 *
 * PREFIX is whatever syslog, postlogd or journald put first (BSD or ISO
 * timestamps, a host name); the parser does not read it but finds the
 * first "TAG[PID]: " in the first SW_MAILLOG_MAX_PREFIX bytes.  A tag with
 * a slash is Postfix (syslog_name/service, any service: smtp, lmtp, relay,
 * local, error, a custom transport); one without is Sendmail (sm-mta,
 * sendmail, whatever -L set; not sm-msp-queue, the submission program,
 * whose relay is the local MTA).  Every other line is ignored cheaply: the
 * tag, a queue ID and "to=" must come first.
 *
 * Hostile input: the recipient and the reply text come from outside.  Each
 * field is bounded by a named limit (maillog.h); the line length is
 * authoritative (NUL bytes are data, refused in addresses and replaced in
 * the text); classification is ASCII-only, never the locale; addresses are
 * scanned with RFC 5322 quoting so ", status=" inside a quoted local part
 * is not a field.  In Sendmail lines the remote reply (reply=) comes before
 * stat=, so the status is taken from dsn=, which Sendmail writes before
 * any remote text.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "util/maillog.h"

/* Where the syslog tag must end: past this, a line is not ours. */
#define SW_MAILLOG_MAX_PREFIX 256
/* Digits in a process ID. */
#define SW_MAILLOG_MAX_PID    10
/* Length of a field name ("orig_to", "conn_use"). */
#define SW_MAILLOG_MAX_KEY    16
/* Fields after the recipient: Postfix writes 6-8, Sendmail 7-10. */
#define SW_MAILLOG_MAX_FIELDS 32
/* Length of a status word ("SOFTBOUNCE", "undeliverable"). */
#define SW_MAILLOG_MAX_STATUS 16

/* A byte range of the line. */
struct span {
    const char *p;
    size_t n;
};

/* is_digit - ASCII digit (not isdigit(): no locale) */
static inline bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* is_lower - ASCII lower-case letter */
static inline bool
is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

/* is_alpha - ASCII letter */
static inline bool
is_alpha(char c)
{
    return is_lower(c) || (c >= 'A' && c <= 'Z');
}

/* is_ctl - control byte (NUL included) */
static inline bool
is_ctl(char c)
{
    return (unsigned char) c < 0x20 || (unsigned char) c == 0x7f;
}

/* to_lower - ASCII lower case */
static inline char
to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/* has_prefix - p..end starts with the NUL-terminated literal s */
static inline bool
has_prefix(const char *p, const char *end, const char *s, size_t n)
{
    return (size_t) (end - p) >= n && memcmp(p, s, n) == 0;
}

#define HAS_PREFIX(p, end, lit) has_prefix((p), (end), (lit), sizeof(lit) - 1)

/* span_is - the span holds exactly the literal s */
static inline bool
span_is(struct span s, const char *lit, size_t n)
{
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

#define SPAN_IS(s, lit) span_is((s), (lit), sizeof(lit) - 1)

/* copy_lower - bounded copy, lower-cased; false if too long or a control byte */
static bool
copy_lower(char *dst, size_t max, const char *s, size_t n)
{
    size_t i;

    if (n > max)
        return false;
    for (i = 0; i < n; i++) {
        if (is_ctl(s[i]))
            return false;
        dst[i] = to_lower(s[i]);
    }
    dst[n] = '\0';
    return true;
}

/* copy_bounded - bounded copy (the bytes were checked by the scan) */
static bool
copy_bounded(char *dst, size_t max, const char *s, size_t n)
{
    if (n > max)
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

/* copy_text - the reply text, control bytes as "?", cut at the limit */
static void
copy_text(struct sw_outcome *out, const char *s, size_t n)
{
    size_t i;

    out->text_cut = n > SW_OUTCOME_TEXT_MAX;
    if (out->text_cut)
        n = SW_OUTCOME_TEXT_MAX;
    for (i = 0; i < n; i++)
        out->text[i] = is_ctl(s[i]) ? '?' : s[i];
    out->text[n] = '\0';
}

/* outcome_clear - empty strings and zeroes */
static void
outcome_clear(struct sw_outcome *out)
{
    out->mta = SW_OUTCOME_POSTFIX;
    out->status = SW_OUTCOME_SENT;
    out->queue_id[0] = '\0';
    out->rcpt[0] = '\0';
    out->domain[0] = '\0';
    out->relay_host[0] = '\0';
    out->relay_addr[0] = '\0';
    out->relay_port = 0;
    out->dsn[0] = '\0';
    out->reply_code = 0;
    out->text[0] = '\0';
    out->text_cut = false;
    out->from_remote = false;
    out->nrcpt = 0;
    out->rcpt_more = false;
}

/* find_tag - the first "TAG[PID]: " near the start; body is what follows */
static bool
find_tag(const char *line, const char *end, struct span *tag, const char **body)
{
    const char *limit, *q, *d, *t;

    limit = end - line > SW_MAILLOG_MAX_PREFIX ? line + SW_MAILLOG_MAX_PREFIX : end;
    for (q = line; q < limit && (q = memchr(q, ']', (size_t) (limit - q))) != NULL; q++) {
        if (end - q < 3 || q[1] != ':' || q[2] != ' ')
            continue;
        for (d = q; d > line && is_digit(d[-1]) && q - d <= SW_MAILLOG_MAX_PID; d--)
            continue;
        if (d == q || q - d > SW_MAILLOG_MAX_PID || d - line < 2 || d[-1] != '[')
            continue;
        for (t = d - 1; t > line && t[-1] != ' '; t--)
            continue;
        if (t == d - 1)
            continue;
        tag->p = t;
        tag->n = (size_t) (d - 1 - t);
        *body = q + 3;
        return true;
    }
    return false;
}

/* postfix_queue_id - short (upper-case hex) or long (base 52 without vowels,
 * "z" separator) Postfix queue ID; this keeps "warning" and "NOQUEUE" out.
 * The caller has checked that id is alphanumeric. */
static bool
postfix_queue_id(struct span id)
{
    static const char vowels[] = "AEIOUaeiou";
    bool hex = true, longid = true;
    size_t i;
    char c;

    for (i = 0; i < id.n; i++) {
        c = id.p[i];
        if (!is_digit(c) && !(c >= 'A' && c <= 'F'))
            hex = false;
        if (memchr(vowels, c, sizeof(vowels) - 1) != NULL)
            longid = false;
    }
    return hex || longid;
}

/* scan_addr - end of an address starting at p: the ">" for a bracketed one,
 * "," or end for a bare one (Sendmail).  Quote-aware (RFC 5322 3.2.4);
 * *at is the last "@" outside quotes, or NULL.  NULL if unterminated, too
 * long or holding a control byte. */
static const char *
scan_addr(const char *p, const char *end, bool bracketed, const char **at)
{
    const char *s = p;
    bool quoted = false;

    *at = NULL;
    for (; p < end; p++) {
        if ((size_t) (p - s) > SW_OUTCOME_RCPT_MAX || is_ctl(*p))
            return NULL;
        if (quoted) {
            if (*p == '\\') {
                if (++p == end || is_ctl(*p))
                    return NULL;
            } else if (*p == '"') {
                quoted = false;
            }
            continue;
        }
        if (*p == '"')
            quoted = true;
        else if (*p == '@')
            *at = p;
        else if (bracketed ? *p == '>' : *p == ',')
            return p;
    }
    return bracketed || quoted ? NULL : p;
}

/* take_rcpt - copy a scanned address and its lower-cased domain */
static bool
take_rcpt(struct sw_outcome *out, const char *s, const char *e, const char *at)
{
    if (e == s || !copy_bounded(out->rcpt, SW_OUTCOME_RCPT_MAX, s, (size_t) (e - s)))
        return false;
    if (at == NULL) {
        out->domain[0] = '\0';
        return true;
    }
    return copy_lower(out->domain, SW_OUTCOME_DOMAIN_MAX, at + 1, (size_t) (e - at - 1));
}

/* next_field - the ", " that starts the next "key=" field (or Sendmail's
 * ", [more]") at or after p, or end */
static const char *
next_field(const char *p, const char *end)
{
    const char *q, *k, *s;

    while (p < end && (q = memchr(p, ',', (size_t) (end - p))) != NULL) {
        s = q + 2;
        if (s <= end && q[1] == ' ') {
            for (k = s; k < end && (is_lower(*k) || *k == '_') && k - s <= SW_MAILLOG_MAX_KEY; k++)
                continue;
            if (k > s && k < end && *k == '=' && k - s <= SW_MAILLOG_MAX_KEY)
                return q;
            if (HAS_PREFIX(s, end, "[more]") && (s + 6 == end || s[6] == ','))
                return q;
        }
        p = q + 1;
    }
    return end;
}

/* field_key - read ", key=" at *pp; the key, and *pp past the "=" */
static bool
field_key(const char **pp, const char *end, struct span *key)
{
    const char *p = *pp;

    if (end - p < 2 || p[0] != ',' || p[1] != ' ')
        return false;
    p += 2;
    key->p = p;
    while (p < end && (is_lower(*p) || *p == '_') && p - key->p <= SW_MAILLOG_MAX_KEY)
        p++;
    key->n = (size_t) (p - key->p);
    if (key->n == 0 || key->n > SW_MAILLOG_MAX_KEY || p == end || *p != '=')
        return false;
    *pp = p + 1;
    return true;
}

/* parse_dsn - an enhanced status code "C.SSS.DDD" (RFC 3463 section 2) at
 * p; its end, or NULL */
static const char *
parse_dsn(const char *p, const char *end, char *dsn)
{
    const char *s = p;
    size_t digits;
    int part;

    if (p == end || (*p != '2' && *p != '4' && *p != '5'))
        return NULL;
    p++;
    for (part = 0; part < 2; part++) {
        if (p == end || *p != '.')
            return NULL;
        for (p++, digits = 0; p < end && is_digit(*p); p++)
            if (++digits > 3)
                return NULL;
        if (digits == 0)
            return NULL;
    }
    memcpy(dsn, s, (size_t) (p - s));
    dsn[p - s] = '\0';
    return p;
}

/* take_dsn - the whole value is an enhanced status code */
static bool
take_dsn(const char *p, const char *end, char *dsn)
{
    return parse_dsn(p, end, dsn) == end;
}

/* reply_code - an SMTP reply code (RFC 5321 section 4.2) at p, or 0 */
static int
reply_code(const char *p, const char *end)
{
    if (end - p < 3 || p[0] < '2' || p[0] > '5' || !is_digit(p[1]) || !is_digit(p[2]))
        return 0;
    if (end - p > 3 && p[3] != ' ' && p[3] != '-')
        return 0;
    return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/* reply_dsn - the enhanced status code after a reply code, if any */
static void
reply_dsn(const char *p, const char *end, char *dsn)
{
    char code[SW_OUTCOME_DSN_MAX + 1];
    const char *e;

    if (end - p < 4)
        return;
    p += 4; /* "550 " or "550-" */
    if ((e = parse_dsn(p, end, code)) != NULL && (e == end || *e == ' '))
        memcpy(dsn, code, strlen(code) + 1);
}

/* take_port - a TCP port, 1-65535 */
static bool
take_port(const char *p, const char *end, int *port)
{
    int v = 0;

    if (p == end || end - p > 5)
        return false;
    for (; p < end; p++) {
        if (!is_digit(*p))
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > 65535)
        return false;
    *port = v;
    return true;
}

/* take_bracketed - "[ADDR]" at p (Sendmail's "IPv6:" dropped); its end */
static const char *
take_bracketed(const char *p, const char *end, char *addr)
{
    const char *q;

    if (p == end || *p != '[' || (q = memchr(p, ']', (size_t) (end - p))) == NULL)
        return NULL;
    p++;
    if (HAS_PREFIX(p, q, "IPv6:"))
        p += 5;
    if (p == q || !copy_lower(addr, SW_OUTCOME_ADDR_MAX, p, (size_t) (q - p)))
        return NULL;
    return q + 1;
}

/* take_host - a relay name, lower-cased, without a trailing dot */
static bool
take_host(struct sw_outcome *out, const char *p, const char *end)
{
    if (end > p && end[-1] == '.')
        end--;
    return copy_lower(out->relay_host, SW_OUTCOME_HOST_MAX, p, (size_t) (end - p));
}

/* postfix_relay - "none", "local", "NAME", "NAME[ADDR]" or "NAME[ADDR]:PORT" */
static bool
postfix_relay(struct sw_outcome *out, const char *p, const char *end)
{
    const char *lb, *e;

    if (p == end)
        return false;
    if (end - p == 4 && memcmp(p, "none", 4) == 0)
        return true;
    if ((lb = memchr(p, '[', (size_t) (end - p))) == NULL)
        return take_host(out, p, end);
    if (!take_host(out, p, lb) || (e = take_bracketed(lb, end, out->relay_addr)) == NULL)
        return false;
    if (e == end)
        return true;
    return *e == ':' && take_port(e + 1, end, &out->relay_port);
}

/* sendmail_relay - "NAME. [ADDR]", "[LITERAL] [ADDR]", "[LITERAL]" or
 * "NAME.", maybe followed by " (may be forged)" */
static bool
sendmail_relay(struct sw_outcome *out, const char *p, const char *end)
{
    const char *sp, *e;

    if (p == end)
        return false;
    if ((sp = memchr(p, ' ', (size_t) (end - p))) == NULL)
        sp = end;
    if (*p == '[') {
        /* An address literal names the relay and is its address. */
        if ((e = take_bracketed(p, sp, out->relay_addr)) != sp)
            return false;
        memcpy(out->relay_host, out->relay_addr, strlen(out->relay_addr) + 1);
    } else if (!take_host(out, p, sp)) {
        return false;
    }
    if (end - sp > 1 && sp[1] == '[')
        return take_bracketed(sp + 1, end, out->relay_addr) != NULL;
    return true;
}

/* postfix_text - reply code and origin of a Postfix reason */
static void
postfix_text(struct sw_outcome *out, const char *t, const char *end)
{
    bool suspended = false;
    const char *sp;
    int code;

    /* qmgr repeats an earlier attempt's reason for mail it holds back. */
    if (HAS_PREFIX(t, end, "delivery temporarily suspended: ")) {
        t += sizeof("delivery temporarily suspended: ") - 1;
        suspended = true;
    }
    if (HAS_PREFIX(t, end, "host ")) {
        /* "host NAME[ADDR] said: 550 ..." (smtp_trouble.c), or the greeting:
         * "host NAME[ADDR] refused to talk to me: 554 ..." */
        for (sp = t + 5; sp < end && *sp != ' '; sp++)
            continue;
        if (sp == end || sp[-1] != ']')
            return;
        if (HAS_PREFIX(sp, end, " said: "))
            t = sp + sizeof(" said: ") - 1;
        else if (HAS_PREFIX(sp, end, " refused to talk to me: "))
            t = sp + sizeof(" refused to talk to me: ") - 1;
        else
            return;
        if ((code = reply_code(t, end)) != 0) {
            out->reply_code = code;
            out->from_remote = !suspended;
        }
        return;
    }
    /* status=sent (250 2.0.0 Ok: queued as ...) from a network relay */
    if (out->status == SW_OUTCOME_SENT && out->relay_addr[0] != '\0'
        && (code = reply_code(t, end)) != 0) {
        out->reply_code = code;
        out->from_remote = true;
    }
}

/* postfix_status - "WORD (TEXT)" up to the end of the line */
static enum sw_maillog_result
postfix_status(struct sw_outcome *out, const char *p, const char *end)
{
    struct span w = { p, 0 };

    while (p < end && is_alpha(*p) && p - w.p <= SW_MAILLOG_MAX_STATUS)
        p++;
    w.n = (size_t) (p - w.p);
    if (SPAN_IS(w, "sent"))
        out->status = SW_OUTCOME_SENT;
    else if (SPAN_IS(w, "deferred") || SPAN_IS(w, "SOFTBOUNCE")) /* soft_bounce = yes */
        out->status = SW_OUTCOME_DEFERRED;
    else if (SPAN_IS(w, "bounced"))
        out->status = SW_OUTCOME_BOUNCED;
    else if (SPAN_IS(w, "deliverable") || SPAN_IS(w, "undeliverable") || SPAN_IS(w, "expired"))
        return SW_MAILLOG_IGNORED; /* address verification probes, not deliveries */
    else
        return SW_MAILLOG_BAD;
    /* The reason runs to the last ")" of the line: it has "(...)" inside. */
    if (end - p < 3 || p[0] != ' ' || p[1] != '(' || end[-1] != ')')
        return SW_MAILLOG_BAD;
    copy_text(out, p + 2, (size_t) (end - 1 - (p + 2)));
    postfix_text(out, p + 2, end - 1);
    return SW_MAILLOG_OUTCOME;
}

/* parse_postfix - the rest of "to=<" */
static enum sw_maillog_result
parse_postfix(struct sw_outcome *out, const char *p, const char *end, size_t index)
{
    const char *e, *at, *ve;
    bool seen_relay = false, seen_dsn = false;
    struct span key;
    int n;

    if ((e = scan_addr(p, end, true, &at)) == NULL || !take_rcpt(out, p, e, at))
        return SW_MAILLOG_BAD;
    out->nrcpt = 1;
    if (index != 0)
        return SW_MAILLOG_BAD;
    p = e + 1;
    for (n = 0; n < SW_MAILLOG_MAX_FIELDS; n++) {
        if (!field_key(&p, end, &key))
            return SW_MAILLOG_BAD;
        if (SPAN_IS(key, "status"))
            return seen_relay ? postfix_status(out, p, end) : SW_MAILLOG_BAD;
        if (SPAN_IS(key, "orig_to")) {
            if (p == end || *p != '<' || (e = scan_addr(p + 1, end, true, &at)) == NULL)
                return SW_MAILLOG_BAD;
            p = e + 1;
            continue;
        }
        ve = next_field(p, end);
        if (SPAN_IS(key, "relay") && !seen_relay) {
            if (!postfix_relay(out, p, ve))
                return SW_MAILLOG_BAD;
            seen_relay = true;
        } else if (SPAN_IS(key, "dsn") && !seen_dsn) {
            if (!take_dsn(p, ve, out->dsn))
                return SW_MAILLOG_BAD;
            seen_dsn = true;
        }
        p = ve;
    }
    return SW_MAILLOG_BAD;
}

/* sendmail_list - the to= list: count it, take recipient index; *pp ends
 * on the ", " after the list */
static bool
sendmail_list(struct sw_outcome *out, const char **pp, const char *end, size_t index)
{
    const char *p = *pp, *s, *e, *at;
    size_t n = 0;

    for (;;) {
        if (p < end && *p == '<') {
            s = p + 1;
            if ((e = scan_addr(s, end, true, &at)) == NULL)
                return false;
            p = e + 1;
        } else {
            s = p;
            if ((e = scan_addr(s, end, false, &at)) == NULL)
                return false;
            p = e;
        }
        if (e == s)
            return false;
        /* Every recipient is checked, so that nrcpt is the same whatever
         * the index. */
        if (n == index) {
            if (!take_rcpt(out, s, e, at))
                return false;
        } else if (at != NULL && (size_t) (e - at - 1) > SW_OUTCOME_DOMAIN_MAX) {
            return false; /* scan_addr() checked the length */
        }
        n++;
        if (p == end || *p != ',')
            return false; /* no stat= after the list */
        if (p + 1 < end && p[1] == ' ')
            break;
        p++;
    }
    if (index >= n || n > UINT_MAX)
        return false;
    out->nrcpt = (unsigned int) n;
    *pp = p;
    return true;
}

/* sendmail_status - status and text from dsn=, reply= and stat= */
static enum sw_maillog_result
sendmail_status(struct sw_outcome *out, struct span dsn, struct span reply, struct span stat)
{
    const char *t = stat.p, *end = stat.p + stat.n;
    char field_dsn[SW_OUTCOME_DSN_MAX + 1] = "";
    int code;

    if (dsn.p != NULL && !take_dsn(dsn.p, dsn.p + dsn.n, field_dsn))
        return SW_MAILLOG_BAD;
    /* dsn= comes before the remote's text; stat= after it. */
    if (field_dsn[0] == '2')
        out->status = SW_OUTCOME_SENT;
    else if (field_dsn[0] == '4')
        out->status = SW_OUTCOME_DEFERRED;
    else if (field_dsn[0] == '5')
        out->status = SW_OUTCOME_BOUNCED;
    else if (HAS_PREFIX(t, end, "queued") || HAS_PREFIX(t, end, "quarantined"))
        return SW_MAILLOG_IGNORED; /* accepted, not yet attempted */
    else if (HAS_PREFIX(t, end, "Sent"))
        out->status = SW_OUTCOME_SENT;
    else if (HAS_PREFIX(t, end, "Deferred"))
        out->status = SW_OUTCOME_DEFERRED;
    else
        return SW_MAILLOG_BAD;
    memcpy(out->dsn, field_dsn, sizeof(field_dsn));

    if (reply.p != NULL && reply_code(reply.p, reply.p + reply.n) != 0) {
        t = reply.p;
        end = reply.p + reply.n;
    } else if (HAS_PREFIX(t, end, "Sent (")) {
        if (end[-1] != ')')
            return SW_MAILLOG_BAD;
        t += sizeof("Sent (") - 1;
        end--;
    } else if (HAS_PREFIX(t, end, "Deferred: ")) {
        t += sizeof("Deferred: ") - 1;
    } else if (SPAN_IS(stat, "Sent") || SPAN_IS(stat, "Deferred")) {
        t = end;
    }
    copy_text(out, t, (size_t) (end - t));
    if ((code = reply_code(t, end)) != 0) {
        out->reply_code = code;
        out->from_remote = true;
        reply_dsn(t, end, out->dsn);
    }
    return SW_MAILLOG_OUTCOME;
}

/* parse_sendmail - the rest of "to=" */
static enum sw_maillog_result
parse_sendmail(struct sw_outcome *out, const char *p, const char *end, size_t index)
{
    struct span key, dsn = { NULL, 0 }, reply = { NULL, 0 };
    bool seen_relay = false;
    const char *ve;
    int n;

    if (!sendmail_list(out, &p, end, index))
        return SW_MAILLOG_BAD;
    for (n = 0; n < SW_MAILLOG_MAX_FIELDS; n++) {
        if (HAS_PREFIX(p, end, ", [more]")) {
            out->rcpt_more = true;
            p += sizeof(", [more]") - 1;
            continue;
        }
        if (!field_key(&p, end, &key))
            return SW_MAILLOG_BAD;
        if (SPAN_IS(key, "stat")) {
            if (p == end)
                return SW_MAILLOG_BAD;
            return sendmail_status(out, dsn, reply, (struct span){ p, (size_t) (end - p) });
        }
        ve = next_field(p, end);
        if (SPAN_IS(key, "relay") && !seen_relay) {
            if (!sendmail_relay(out, p, ve))
                return SW_MAILLOG_BAD;
            seen_relay = true;
        } else if (SPAN_IS(key, "dsn") && dsn.p == NULL) {
            dsn = (struct span){ p, (size_t) (ve - p) };
        } else if (SPAN_IS(key, "reply") && reply.p == NULL) {
            reply = (struct span){ p, (size_t) (ve - p) };
        }
        p = ve;
    }
    return SW_MAILLOG_BAD;
}

/* sw_maillog_parse_rcpt - one line, recipient number index */
enum sw_maillog_result
sw_maillog_parse_rcpt(const char *line, size_t len, size_t index, struct sw_outcome *out)
{
    const char *end = line + len, *body, *p;
    struct span tag, id;
    bool postfix;

    outcome_clear(out);
    while (end > line && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    if (!find_tag(line, end, &tag, &body))
        return SW_MAILLOG_IGNORED;
    postfix = memchr(tag.p, '/', tag.n) != NULL;
    /* Sendmail's submission program hands mail to the local MTA: its
     * relay=[127.0.0.1] lines say nothing about a relay's health. */
    if (SPAN_IS(tag, "sm-msp-queue"))
        return SW_MAILLOG_IGNORED;

    /* "QUEUEID: to=" */
    for (p = body; p < end && (is_digit(*p) || is_alpha(*p)) && p - body <= SW_OUTCOME_QUEUE_ID_MAX;
         p++)
        continue;
    id = (struct span){ body, (size_t) (p - body) };
    if (id.n == 0 || id.n > SW_OUTCOME_QUEUE_ID_MAX || !HAS_PREFIX(p, end, ": to="))
        return SW_MAILLOG_IGNORED;
    if (postfix ? !postfix_queue_id(id) : SPAN_IS(id, "NOQUEUE"))
        return SW_MAILLOG_IGNORED;
    p += sizeof(": to=") - 1;
    if (postfix && (p == end || *p != '<'))
        return SW_MAILLOG_IGNORED;

    memcpy(out->queue_id, id.p, id.n);
    out->queue_id[id.n] = '\0';
    out->mta = postfix ? SW_OUTCOME_POSTFIX : SW_OUTCOME_SENDMAIL;
    return postfix ? parse_postfix(out, p + 1, end, index) : parse_sendmail(out, p, end, index);
}

/* sw_maillog_parse - one line, its first recipient */
enum sw_maillog_result
sw_maillog_parse(const char *line, size_t len, struct sw_outcome *out)
{
    return sw_maillog_parse_rcpt(line, len, 0, out);
}

/* sw_outcome_status_name - for logs and status output */
const char *
sw_outcome_status_name(enum sw_outcome_status status)
{
    switch (status) {
    case SW_OUTCOME_SENT: return "sent";
    case SW_OUTCOME_DEFERRED: return "deferred";
    case SW_OUTCOME_BOUNCED: return "bounced";
    }
    return "unknown";
}
