/* bounce_text.c - the human-readable text of a bounce: Postfix, Exim, qmail, Sendmail, NDRs */

/*
 * Most bounces that do not follow RFC 3464 still follow one shape: the
 * failed address at the start of a line, on its own or followed by a
 * colon, and the explanation on that line or the indented lines below
 * it, up to an empty line:
 *
 *   Postfix    <a@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 ...
 *                  ... (in reply to RCPT TO command)
 *   Exim         a@example.com
 *                  host mx.example.com [192.0.2.1]
 *                  SMTP error from remote mail server after RCPT TO:<a@example.com>:
 *                  550 5.1.1 ...
 *   qmail      <a@example.com>:
 *              192.0.2.1 does not like recipient.
 *              Remote host said: 550 5.1.1 ...
 *   Sendmail   <a@example.com>
 *                  (reason: 550 5.1.1 ...)
 *              and the transcript: >>> RCPT To:<a@example.com> / <<< 550 5.1.1 ...
 *   OpenSMTPD  a@example.com: 550 5.1.1 ...
 *   Exchange   a@example.com on 4/29/2012 11:23 PM
 *                  ... <mx.example.com #5.1.1 smtp;550 5.1.1 ...>
 *
 * and a few put a label first ("Recipient: <a@example.com>", "RCPT
 * TO:<a@example.com>").  So one reader does them all: find the anchors
 * (an address where a recipient is named), take each anchor's block of
 * text, and in the block the receiver's reply, which starts at an SMTP
 * reply code.  Where a block has no reply (Gmail, Yahoo and Exchange
 * write the address and the reply apart), the first reply line of the
 * whole notification is used.  The notification ends where the returned
 * message starts (Exim's "------ This is a copy of the message", qmail's
 * "--- Below this line is a copy of the message.", ...), so the returned
 * message's own addresses are never taken for recipients.
 *
 * Finding the reply in a block, and the text preparation, are in
 * bounce_reply.c.  Every loop is bounded by the text's length and the
 * named limits; nothing is allocated.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "global/bounce_impl.h"
#include "util/mime.h"

/* A recipient named in the text. */
struct anchor {
    size_t addr; /* offset and length of the address */
    size_t alen;
    size_t rest; /* offset and length of the rest of its line */
    size_t rlen;
    size_t line; /* offset of its line, and of the line after it */
    size_t next;
    bool transcript; /* ">>> RCPT To:<...>": the block is the "<<<" reply */
    bool result;     /* Sendmail's "550 <a@...>... text": the reply is the "<<<" above */
    bool dsn;        /* "Final-Recipient: rfc822; a@...": RFC 3464 fields follow */
    size_t label;    /* a free-form label before the address (tier 2) */
    size_t llen;
};

/* A label before a recipient's address, lower case. */
static const char *const labels[] = {
    "original-recipient:", "final-recipient:",  "original recipient:",
    "final recipient:",    "failed recipient:", "recipient address:",
    "recipient:",          "failed address:",   "invalid recipient:",
    "unknown recipient:",  "rcpt to:",          ">>> rcpt to:",
};

/* exchange_date - a date after "on " (a digit or a capitalised day name) */
static bool
exchange_date(const struct b_line *l, size_t i)
{
    i = b_skip_wsp(l, i);
    return i < l->n && (b_is_digit(l->p[i]) || (l->p[i] >= 'A' && l->p[i] <= 'Z'));
}

/* Words of a free-form label before a recipient ("Did not reach the
 * following recipient: a@example.com"), lower case. */
static const char *const label_words[] = {
    "recipient", "address", "deliver", "rcpt", "destinat", "failed", "user", "mailbox",
};

/* free_label - a short text ending in ':' that talks about recipients */
static bool
free_label(const struct b_line *l, size_t from, size_t to)
{
    size_t k, end = to;

    while (end > from && (b_is_wsp(l->p[end - 1]) || l->p[end - 1] == '<'))
        end--;
    if (end == from || l->p[end - 1] != ':' || end - from > 60)
        return false;
    for (k = 0; k < sizeof(label_words) / sizeof(label_words[0]); k++)
        if (sw_mime_ifind(l->p + from, end - from, label_words[k]) != NULL)
            return true;
    return false;
}

/* after_addr - where the explanation starts after a strict anchor's
 * address at j, or SIZE_MAX when the line does not name a recipient */
static size_t
after_addr(const struct b_line *l, size_t j)
{
    size_t k = b_skip_wsp(l, j);

    if (k == l->n)
        return k;
    if (l->p[j] == ':')
        return j + 1;
    if (l->n - k >= 3 && memcmp(l->p + k, "...", 3) == 0)
        return k + 3; /* Sendmail "<a@...>... User unknown" */
    if (k > j && (l->p[k] == '(' || l->p[k] == '['))
        return k; /* "(expanded from ...)", "[User unknown]" */
    if (k > j && sw_mime_iprefix(l->p + k, l->n - k, "on ") && exchange_date(l, k + 3))
        return l->n; /* Exchange: "a@example.com on 4/29/2012 11:23 PM" */
    return SIZE_MAX;
}

/*
 * find_anchor - whether a line names a recipient; fills a.  Tier 1: the
 * shapes of the common MTAs (an address first on its line, alone or
 * followed by ':', '...', '(' or a date; a known label; Sendmail's result
 * lines).  Tier 2, tried only when a text has no tier-1 anchor: an
 * address after a free-form label about recipients, or first on its line
 * whatever follows.
 */
static bool
find_anchor(const char *s, const struct b_line *l, int tier, struct anchor *a)
{
    size_t i = b_skip_wsp(l, 0), j, k, from;
    bool label = false, bracket, quote, code = false;
    const char *at;

    memset(a, 0, sizeof(*a));
    /* a bullet: "* a@example.com", "- a@example.com", "-- a@example.com" */
    if (i + 2 < l->n && l->p[i] == '-' && l->p[i + 1] == '-' && b_is_wsp(l->p[i + 2]))
        i++;
    if (i + 1 < l->n && (l->p[i] == '*' || l->p[i] == '-') && b_is_wsp(l->p[i + 1]))
        i = b_skip_wsp(l, i + 1);
    from = i;
    /* Sendmail: "550 <a@example.com>... User unknown" */
    if (i + 4 < l->n && b_is_digit(l->p[i]) && b_is_digit(l->p[i + 1]) && b_is_digit(l->p[i + 2])
        && l->p[i + 3] == ' ' && l->p[i + 4] == '<') {
        code = true;
        i += 4;
    }
    for (k = 0; !code && k < sizeof(labels) / sizeof(labels[0]); k++) {
        if (sw_mime_iprefix(l->p + i, l->n - i, labels[k])) {
            label = true;
            a->transcript = labels[k][0] == '>';
            a->dsn = strstr(labels[k], "-recipient") != NULL;
            i = b_skip_wsp(l, i + strlen(labels[k]));
            /* "Final-Recipient: rfc822; a@example.com" copied into a text */
            for (j = i; j < l->n && j - i < 12 && l->p[j] != ';' && l->p[j] != '@'; j++)
                ;
            if (j < l->n && l->p[j] == ';')
                i = b_skip_wsp(l, j + 1);
            break;
        }
    }
    if (!code && !label && tier == 2 && (at = memchr(l->p + i, '@', l->n - i)) != NULL) {
        /* a free-form label: the address is the last word before the '@' */
        for (k = (size_t) (at - l->p); k > i && !b_is_wsp(l->p[k - 1]) && l->p[k - 1] != '<'
                                       && l->p[k - 1] != ':' && l->p[k - 1] != '"';
             k--)
            ;
        if (k > i && free_label(l, i, k - (l->p[k - 1] == '<' || l->p[k - 1] == '"' ? 1 : 0))) {
            label = true;
            a->label = (size_t) (l->p + i - s);
            a->llen = k - i;
            i = k - (l->p[k - 1] == '<' || l->p[k - 1] == '"' ? 1 : 0);
        }
    }
    bracket = i < l->n && l->p[i] == '<';
    quote = i < l->n && l->p[i] == '"' && (i + 1 >= l->n || l->p[i + 1] != '"');
    if (bracket || quote)
        i++;
    if ((a->alen = sw_bounce_addr_len(l->p + i, l->n - i)) == 0)
        return false;
    a->addr = (size_t) (l->p + i - s);
    j = i + a->alen;
    if (bracket || quote) {
        if (j >= l->n || l->p[j] != (bracket ? '>' : '"'))
            return false;
        j++;
    }
    if (code) {
        /* the whole line, unless the transcript above has the reply */
        a->result = true;
        a->rest = (size_t) (l->p - s);
        a->rlen = l->n;
        return true;
    }
    if (!label) {
        if ((k = after_addr(l, j)) == SIZE_MAX) {
            /* tier 2: "a@example.com Invalid Address, ERROR_CODE :550" */
            if (tier != 2 || from != i - (bracket || quote ? 1 : 0))
                return false;
            k = b_skip_wsp(l, j);
        }
        j = k;
    } else if (j < l->n && l->p[j] == ':') {
        j++;
    }
    a->rest = (size_t) (l->p + j - s);
    a->rlen = l->n - j;
    return true;
}

/* block - the explanation of one anchor: the rest of its line and the
 * lines below, up to a blank line, a section line, the next anchor or
 * the limits */
static size_t
block(const char *s, size_t len, const struct anchor *a, size_t stop, char *buf, const char **cmd)
{
    size_t o = 0, off = a->next, nlines = 0, i;
    struct b_line l;

    buf[0] = '\0';
    *cmd = NULL;
    if (a->result && (o = sw_bounce_transcript_reply(s, a->line, buf, cmd)) > 0)
        return o;
    b_append(buf, &o, s + a->rest, a->rlen);
    if (stop > len)
        stop = len;
    while (off < stop && nlines++ < SW_TEXT_BLOCK_LINES && b_next_line(s, stop, &off, &l)) {
        if (b_blank(&l) || b_section(&l))
            break;
        i = b_skip_wsp(&l, 0);
        if (a->transcript) {
            /* ">>> RCPT To:<a@...>" then "<<< 550 ...": the reply only */
            if (!sw_mime_iprefix(l.p + i, l.n - i, "<<<"))
                break;
            i = b_skip_wsp(&l, i + 3);
        } else if (sw_mime_iprefix(l.p + i, l.n - i, ">>>")
                   || sw_mime_iprefix(l.p + i, l.n - i, "... while talking")
                   || sw_mime_iprefix(l.p + i, l.n - i, "giving up on")
                   || sw_mime_iprefix(l.p + i, l.n - i, "i'm not going to try again")) {
            break; /* a transcript, or qmail's own words after the reply */
        } else if (sw_mime_iprefix(l.p + i, l.n - i, "<<<")) {
            i = b_skip_wsp(&l, i + 3);
        } else if (sw_mime_iprefix(l.p + i, l.n - i, "(generated from")
                   || sw_mime_iprefix(l.p + i, l.n - i, "(ultimately generated from")
                   || sw_mime_iprefix(l.p + i, l.n - i, "generated by ")) {
            continue; /* Exim names the alias the address came from */
        }
        b_append(buf, &o, l.p + i, l.n - i);
    }
    *cmd = sw_bounce_phase(buf, o);
    return o;
}

/* paragraph - the first paragraph after an anchor that explains it:
 * headings ("because:", "Technical details of permanent failure:") and
 * section lines are skipped; its length in buf (0: none) */
static size_t
paragraph(const char *s, size_t len, const struct anchor *a, char *buf)
{
    size_t off = a->next, o = 0, i, lines = 0;
    struct b_line l;

    buf[0] = '\0';
    while (lines++ < SW_TEXT_BLOCK_LINES && b_next_line(s, len, &off, &l)) {
        i = b_skip_wsp(&l, 0);
        if (b_blank(&l) || b_section(&l) || l.p[l.n - 1] == ':') {
            if (o > 0)
                break;
            continue;
        }
        if (sw_bounce_addr_len(l.p + i, l.n - i) > 0 && o == 0)
            break; /* the next recipient: this one has no explanation */
        b_append(buf, &o, l.p + i, l.n - i);
        if (o > SW_TEXT_BLOCK_MAX / 2)
            break;
    }
    return o;
}

/* has_reply - a diagnostic that carries a reply code */
static bool
has_reply(const char *d)
{
    size_t n = strlen(d);

    return sw_bounce_reply_start(d, n) < n;
}

/* set_from_block - a record's diagnostic from a block: the reply in it, or all of it */
static bool
set_from_block(struct sw_bounce_rcpt *r, const char *buf, size_t n)
{
    const char *own = sw_mime_ifind(buf, n, "i'm not going to try again");
    size_t at, lt;

    if (own != NULL)
        n = (size_t) (own - buf); /* qmail's own words after the reply */
    at = sw_bounce_reply_start(buf, n);
    /* Exchange: "<mx.example.com #5.1.1 smtp;550 5.1.1 ...>": the reply
     * sits in angle brackets; the closing one is not part of it. */
    for (lt = at; lt > 0 && buf[lt - 1] != '<' && buf[lt - 1] != '>'; lt--)
        ;
    if (at < n && lt > 0 && buf[lt - 1] == '<' && buf[n - 1] == '>')
        n--;

    if (n == 0)
        return false;
    if (at < n)
        sw_bounce_set_diag(r, buf + at, n - at);
    else
        sw_bounce_set_diag(r, buf, n);
    return r->diagnostic[0] != '\0';
}

/* failed_header - the addresses of an X-Failed-Recipients field */
static void
failed_header(struct sw_bounce *b, const char *failed)
{
    const char *p = failed;
    size_t n;

    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '<' || *p == '>')
            p++;
        if ((n = sw_bounce_addr_len(p, strlen(p))) > 0) {
            (void) sw_bounce_rcpt_add(b, p, n);
            p += n;
        } else {
            while (*p && *p != ',')
                p++;
        }
    }
}

/* Words of a sentence that names the failed recipient in passing. */
static const char *const sentence_words[] = {
    "deliver", "recipient", "failed",  "could not",     "couldn't",
    "unable",  "rejected",  "bounced", "did not reach",
};

/* sentence_anchor - "There was an error delivering your mail to <a@example.com>.",
 * "undeliverable to a@example.com": the first address on a line about
 * delivery, in angle brackets or after "to " */
static bool
sentence_anchor(const char *s, size_t len, struct anchor *a)
{
    size_t off = 0, start, i, k, n;
    struct b_line l;

    while (start = off, b_next_line(s, len, &off, &l)) {
        for (k = 0; k < sizeof(sentence_words) / sizeof(sentence_words[0]); k++)
            if (sw_mime_ifind(l.p, l.n, sentence_words[k]) != NULL)
                break;
        if (k == sizeof(sentence_words) / sizeof(sentence_words[0]))
            continue;
        for (i = 1; i < l.n; i++) {
            if (l.p[i - 1] == '<')
                n = sw_bounce_addr_len(l.p + i, l.n - i);
            else if (i >= 3 && sw_mime_iprefix(l.p + i - 3, 3, "to ")
                     && (i == 3 || b_is_wsp(l.p[i - 4])))
                n = sw_bounce_addr_len(l.p + i, l.n - i);
            else
                continue;
            if (n == 0 || (l.p[i - 1] == '<' && (i + n >= l.n || l.p[i + n] != '>')))
                continue;
            memset(a, 0, sizeof(*a));
            a->addr = (size_t) (l.p + i - s);
            a->alen = n;
            a->rest = (size_t) (l.p + l.n - s);
            a->line = start;
            a->next = off;
            return true;
        }
    }
    return false;
}

/* Words of a notification that reports a delay, not a failure (lower case). */
static const char *const delay_words[] = {
    "has not yet been delivered", "not yet been delivered", "delivery attempts will continue",
    "will continue to try",       "will keep trying",       "will be retried",
    "delivery delayed",           "delayed mail",           "is delayed",
};

/* inline_dsn - RFC 3464 recipient fields copied into a text after its
 * "Final-Recipient:" line, up to an empty line */
static void
inline_dsn(const char *s, const struct anchor *a, size_t stop, struct sw_bounce_rcpt *r)
{
    struct sw_mime_cursor c = { s + a->next, s + stop };
    char name[32], value[SW_TEXT_BLOCK_MAX];
    size_t n, i;
    bool cut;

    while (sw_mime_field(&c, name, sizeof(name), value, sizeof(value), &cut)) {
        if (sw_mime_ieq(name, "Action") && r->action[0] == '\0') {
            for (i = 0; value[i] && !b_is_wsp(value[i]) && i + 1 < sizeof(r->action); i++)
                r->action[i] =
                    (char) (value[i] >= 'A' && value[i] <= 'Z' ? value[i] + 32 : value[i]);
            r->action[i] = '\0';
        } else if (sw_mime_ieq(name, "Status") && r->status[0] == '\0') {
            if ((n = sw_bounce_status_len(value)) > 0 && n < sizeof(r->status)) {
                memcpy(r->status, value, n);
                r->status[n] = '\0';
            }
        } else if (sw_mime_ieq(name, "Diagnostic-Code") && r->diagnostic[0] == '\0') {
            sw_bounce_set_diag(r, value, strlen(value));
        }
    }
}

/* ends_with - a line ends with words (ASCII case ignored, blanks trimmed) */
static bool
ends_with(const struct b_line *l, const char *words)
{
    size_t n = l->n, k = strlen(words);

    while (n > 0 && b_is_wsp(l->p[n - 1]))
        n--;
    return n >= k && sw_mime_iprefix(l->p + n - k, k, words);
}

/* find_anchors - the anchors of one tier */
static size_t
find_anchors(const char *s, size_t len, int tier, struct anchor *a, bool *full)
{
    struct anchor cur;
    size_t na = 0, off = 0, start;
    bool sender = false, prev_sender = false;
    struct b_line l;

    while (start = off, b_next_line(s, len, &off, &l)) {
        if (!b_blank(&l)) {
            sender = prev_sender;
            prev_sender = ends_with(&l, "sent by") || ends_with(&l, "message from");
        }
        if (!find_anchor(s, &l, tier, &cur) || sender)
            continue; /* Exim: "A message sent by\n  <sender>\ncould not be delivered" */
        if (na == SW_BOUNCE_ANCHORS_MAX) {
            *full = true;
            break;
        }
        cur.line = start;
        cur.next = off;
        a[na++] = cur;
    }
    return na;
}

/* sw_bounce_text_read - recipients (or missing diagnostics) from a notification */
bool
sw_bounce_text_read(struct sw_bounce *b, const char *s, size_t len, bool fill, const char *failed)
{
    struct anchor a[SW_BOUNCE_ANCHORS_MAX];
    char buf[SW_TEXT_BLOCK_MAX];
    struct sw_bounce_rcpt *r;
    const char *cmd, *action = "failed";
    size_t na, i, n, stop, before = b->nrcpt;
    bool found = false, full = false;

    if ((na = find_anchors(s, len, 1, a, &full)) == 0)
        na = find_anchors(s, len, 2, a, &full);
    if (na == 0 && !fill && sentence_anchor(s, len, &a[0]))
        na = 1;
    if (full)
        b->truncated = true;
    for (i = 0; i < na; i++) {
        stop = i + 1 < na ? a[i + 1].line : len;
        n = block(s, len, &a[i], stop, buf, &cmd);
        if (fill) {
            r = sw_bounce_rcpt_find(b, s + a[i].addr, a[i].alen);
            if (r == NULL && b->nrcpt == 1 && na == 1)
                r = &b->rcpt[0]; /* the report and the text name it differently */
        } else {
            r = sw_bounce_rcpt_add(b, s + a[i].addr, a[i].alen);
        }
        if (r == NULL)
            continue;
        if (a[i].dsn) {
            if (!fill || r->diagnostic[0] == '\0')
                inline_dsn(s, &a[i], stop, r);
            found = found || (fill && r->diagnostic[0] != '\0');
            continue;
        }
        /* The first block with a reply wins; another only fills a gap. */
        if (r->diagnostic[0] == '\0' || (!fill && !has_reply(r->diagnostic) && has_reply(buf))) {
            if (set_from_block(r, buf, n)) {
                found = found || fill;
                r->command[0] = '\0';
            }
        }
        if (r->command[0] == '\0' && cmd != NULL)
            (void) snprintf(r->command, sizeof(r->command), "%s", cmd);
    }
    if (!fill && b->nrcpt == 0 && failed != NULL && failed[0] != '\0')
        failed_header(b, failed);
    /* Records still without an explanation: the first reply of the
     * text, else the paragraph after the anchor, else a label that
     * says it all ("User mailbox exceeds allowed size: a@..."). */
    n = sw_bounce_reply_line(s, len, buf, &cmd);
    for (i = 0; i < b->nrcpt && n > 0; i++) {
        if (b->rcpt[i].diagnostic[0] != '\0')
            continue;
        sw_bounce_set_diag(&b->rcpt[i], buf, n);
        if (cmd != NULL && b->rcpt[i].command[0] == '\0')
            (void) snprintf(b->rcpt[i].command, sizeof(b->rcpt[i].command), "%s", cmd);
        found = found || fill;
    }
    for (i = 0; i < na; i++) {
        r = sw_bounce_rcpt_find(b, s + a[i].addr, a[i].alen);
        if (r == NULL || r->diagnostic[0] != '\0' || a[i].dsn
            || (fill && !(b->nrcpt == 1 && na == 1)))
            continue;
        if ((n = paragraph(s, len, &a[i], buf)) > 0)
            sw_bounce_set_diag(r, buf, n);
        else if (a[i].llen > 0)
            sw_bounce_set_diag(r, s + a[i].label, a[i].llen);
        found = found || (fill && r->diagnostic[0] != '\0');
    }
    if (fill)
        return found;
    /* A text says what happened to all its recipients at once. */
    for (i = 0; i < sizeof(delay_words) / sizeof(delay_words[0]); i++)
        if (sw_mime_ifind(s, len, delay_words[i]) != NULL)
            action = "delayed";
    for (i = before; i < b->nrcpt; i++)
        if (b->rcpt[i].action[0] == '\0')
            (void) snprintf(b->rcpt[i].action, sizeof(b->rcpt[i].action), "%s", action);
    return b->nrcpt > 0;
}
