/* bounce.c - reading a returned bounce: RFC 3464 DSNs, returned headers, hosts and IPs */

/*
 * Owns struct sw_bounce and the decisions about its shape: which part is
 * the report, which header block is the returned message's, what kind of
 * message this is, and what one recipient's reason text is.  The other
 * bounce_*.c files do the reading (bounce_impl.h lists them); MIME
 * structure and decoding come from mime.c.
 *
 * One pass over the MIME structure (sw_mime_walk) looks at every part:
 *  - message/delivery-status (RFC 3464 section 2) and its RFC 6533 global
 *    form: per-message fields, then one group of fields per recipient;
 *  - message/feedback-report (RFC 5965): the message is an ARF report;
 *  - text/rfc822-headers (RFC 6522 section 4) and the header of every
 *    encapsulated message: the returned message's X-Spillway-Tag,
 *    Message-ID and Received fields;
 *  - the human-readable text parts, kept by reference and read after the
 *    walk: for the recipients of a non-standard bounce, or for the
 *    diagnostics a delivery-status part left out.
 *
 * Memory: nothing is allocated.  Decoded text goes into one work buffer
 * on the stack (SW_BOUNCE_WORK_MAX), reused part after part; with the
 * walker's own buffers a parse takes about 90 KiB of stack, which a
 * libmilter thread (the default 8 MiB) has to spare.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "global/bounce.h"
#include "global/bounce_impl.h"
#include "util/mime.h"

/* Decoded bytes of one part looked at (a report, a text, returned headers). */
#define SW_BOUNCE_WORK_MAX   (64u * 1024u)

/* Human-readable parts kept for reading after the walk. */
#define SW_BOUNCE_TEXTS_MAX  4

/* The X-Failed-Recipients field of an Exim bounce. */
#define SW_BOUNCE_FAILED_MAX 1024

/* A human-readable part, by reference into the message. */
struct text_ref {
    const char *p;
    size_t len;
    enum sw_mime_cte cte;
    bool html;
    unsigned depth;
};

/* The state of one parse; on the stack of sw_bounce_parse(). */
struct parse {
    struct sw_bounce *b;
    struct text_ref text[SW_BOUNCE_TEXTS_MAX];
    size_t ntext;
    struct text_ref whole; /* the body of the first multipart, should it have no parts */
    bool whole_next;       /* the part after it was seen */
    bool whole_parts;      /* and it was its first child */
    bool report;           /* multipart/report, delivery-status */
    bool feedback;         /* an ARF report */
    bool dsn_part;         /* a delivery-status part was read */
    bool returned;         /* a returned header block was read from MIME */
    bool daemon;           /* From: a mailer-daemon or postmaster */
    bool null_sender;      /* Return-Path: <> */
    bool bounce_subject;
    bool auto_reply; /* an explicit auto-reply (RFC 3834 and the common ones) */
    bool auto_submitted;
    char failed[SW_BOUNCE_FAILED_MAX];
    char field[SW_BOUNCE_HEADER_MAX + 1];
    char work[SW_BOUNCE_WORK_MAX];
};

/* top_field - one field of the bounce's own header */
static void
top_field(struct sw_bounce *b, void *arg, const char *name, const char *value)
{
    static const char *const subjects[] = {
        "undeliver",          "delivery status",   "delivery fail",     "delivery notification",
        "failure notice",     "returned mail",     "mail delivery",     "could not be delivered",
        "not delivered",      "delivery problem",  "delivery report",   "non remis",
        "nondeliver",         "non-deliver",       "unzustellbar",      "delayed mail",
        "delivery delayed",   "mail system error", "mail failure",      "rejected",
        "returned to sender", "error sending",     "unable to deliver", "notification",
    };
    static const char *const auto_subjects[] = {
        "auto:",         "automatic reply", "auto reply",    "auto-reply",        "autoreply",
        "auto response", "autoresponse",    "out of office", "out of the office", "vacation",
        "away from",     "abwesenheit",     "absence",
    };
    struct parse *ps = arg;
    size_t i, n = strlen(value);

    if (sw_mime_ieq(name, "Received")) {
        sw_bounce_received(b, value);
    } else if (sw_mime_ieq(name, "From")) {
        ps->daemon = ps->daemon || sw_mime_ifind(value, n, "mailer-daemon") != NULL
                     || sw_mime_ifind(value, n, "postmaster") != NULL
                     || sw_mime_ifind(value, n, "mail delivery") != NULL;
    } else if (sw_mime_ieq(name, "Return-Path")) {
        ps->null_sender = ps->null_sender || strcmp(value, "<>") == 0
                          || sw_mime_ifind(value, n, "mailer-daemon") != NULL;
    } else if (sw_mime_ieq(name, "Subject")) {
        for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++)
            ps->bounce_subject = ps->bounce_subject || sw_mime_ifind(value, n, subjects[i]) != NULL;
        for (i = 0; i < sizeof(auto_subjects) / sizeof(auto_subjects[0]); i++)
            ps->auto_reply = ps->auto_reply || sw_mime_ifind(value, n, auto_subjects[i]) == value
                             || (i >= 5 && sw_mime_ifind(value, n, auto_subjects[i]) != NULL);
    } else if (sw_mime_ieq(name, "X-Failed-Recipients")) {
        if (ps->failed[0] == '\0')
            b_copy(ps->failed, sizeof(ps->failed), value, n);
    } else if (sw_mime_ieq(name, "Auto-Submitted")) {
        ps->auto_submitted = ps->auto_submitted || sw_mime_iprefix(value, n, "auto-replied");
    } else if (sw_mime_ieq(name, "X-Autoreply") || sw_mime_ieq(name, "X-Autorespond")
               || sw_mime_ieq(name, "X-Autoreply-From") || sw_mime_ieq(name, "X-Mail-Autoreply")) {
        ps->auto_reply = true;
    } else if (sw_mime_ieq(name, "Precedence")) {
        ps->auto_reply = ps->auto_reply || sw_mime_ieq(value, "auto_reply");
    }
}

/* body_of - a part's body, decoded into the work buffer when encoded */
static const char *
body_of(struct parse *ps, const struct sw_mime_part *part, size_t *n)
{
    bool cut;

    if (part->cte == SW_MIME_CTE_IDENTITY) {
        *n = part->body_len;
        return part->body;
    }
    *n = sw_mime_decode(part->cte, part->body, part->body_len, ps->work, sizeof(ps->work), &cut);
    if (cut)
        ps->b->truncated = true;
    return ps->work;
}

/* visit - one MIME part (sw_mime_walk's visitor) */
static bool
visit(const struct sw_mime_part *part, void *arg)
{
    struct parse *ps = arg;
    const char *t = part->type, *s;
    size_t n;

    if (part->index == 0) {
        sw_bounce_header_block(ps->b, part->header, part->header_len, ps->field, sizeof(ps->field),
                               top_field, ps);
        if (strcmp(t, "multipart/report") == 0) {
            ps->report = strcmp(part->report_type, "delivery-status") == 0
                         || strcmp(part->report_type, "global-delivery-status") == 0;
            ps->feedback = strcmp(part->report_type, "feedback-report") == 0;
        }
    } else if (part->message_header && part->in_message > 0) {
        sw_bounce_returned(ps->b, part->header, part->header_len);
        ps->returned = true;
    }
    /* In document order the first child of a multipart comes right
     * after it, one level down. */
    if (ps->whole.p != NULL && !ps->whole_next) {
        ps->whole_next = true;
        ps->whole_parts = part->depth > ps->whole.depth;
    }
    if (strncmp(t, "multipart/", 10) == 0 && part->in_message == 0 && ps->whole.p == NULL) {
        ps->whole.p = part->body;
        ps->whole.len = part->body_len;
        ps->whole.cte = part->cte;
        ps->whole.depth = part->depth;
    }
    if (strcmp(t, "message/delivery-status") == 0
        || strcmp(t, "message/global-delivery-status") == 0) {
        if (part->in_message == 0) {
            s = body_of(ps, part, &n);
            ps->dsn_part = true;
            sw_bounce_dsn(ps->b, s, n, ps->field, sizeof(ps->field));
        }
    } else if (strcmp(t, "message/feedback-report") == 0) {
        ps->feedback = ps->feedback || part->in_message == 0;
    } else if (strcmp(t, "text/rfc822-headers") == 0 || strcmp(t, "text/rfc822-header") == 0
               || strcmp(t, "message/global-headers") == 0
               || ((strcmp(t, "message/rfc822") == 0 || strcmp(t, "message/global") == 0)
                   && part->cte != SW_MIME_CTE_IDENTITY)) {
        /* The returned header, or an encoded message (which the walk
         * does not enter): its header only. */
        s = body_of(ps, part, &n);
        sw_bounce_returned(ps->b, s, n);
        ps->returned = true;
    } else if (part->in_message == 0 && ps->ntext < SW_BOUNCE_TEXTS_MAX
               && (strcmp(t, "text/plain") == 0 || strcmp(t, "text/html") == 0)) {
        struct text_ref *r = &ps->text[ps->ntext];
        bool html = t[5] == 'h';
        size_t i;

        /* multipart/alternative: the plain text is enough */
        for (i = 0; html && i < ps->ntext; i++)
            if (!ps->text[i].html && ps->text[i].depth == part->depth)
                return true;
        r->p = part->body;
        r->len = part->body_len;
        r->cte = part->cte;
        r->html = html;
        r->depth = part->depth;
        ps->ntext++;
    }
    return true;
}

/* read_texts - the human-readable parts, for recipients or for diagnostics */
static bool
read_texts(struct parse *ps, bool fill)
{
    const struct text_ref *r;
    size_t i, n, end, rest;
    bool cut, found = false;

    for (i = 0; i < ps->ntext && !found; i++) {
        r = &ps->text[i];
        n = sw_mime_decode(r->cte, r->p, r->len, ps->work, sizeof(ps->work), &cut);
        n = sw_bounce_text_prepare(ps->work, n, r->html);
        end = sw_bounce_text_end(ps->work, n, &rest);
        found = sw_bounce_text_read(ps->b, ps->work, end, fill, ps->failed);
        /* A cut text whose notification did not end inside the buffer
         * may have lost recipients. */
        if (cut && end == n)
            ps->b->truncated = true;
        /* A returned message copied inline (Exim, qmail, Sendmail). */
        if (!ps->returned && rest < n) {
            sw_bounce_returned(ps->b, ps->work + rest, n - rest);
            ps->returned = true;
        }
    }
    return found;
}

/* lead_blank - the length of the empty or blank lines before a header
 * block: some stores save a message after an empty line or a line of
 * spaces, which would otherwise end a header that has not started */
static size_t
lead_blank(const char *msg, size_t len)
{
    size_t i, start = 0;

    for (i = 0; i < len && (msg[i] == ' ' || msg[i] == '\t' || msg[i] == '\r' || msg[i] == '\n');
         i++)
        if (msg[i] == '\r' || msg[i] == '\n')
            start = i + 1; /* past a whole line: a header line keeps its indent */
    return start;
}

/* sw_bounce_parse - one message */
bool
sw_bounce_parse(const char *msg, size_t len, struct sw_bounce *b)
{
    const struct sw_mime_limits lim = { SW_BOUNCE_DEPTH_MAX, SW_BOUNCE_PARTS_MAX,
                                        SW_BOUNCE_HEADER_MAX };
    struct parse *ps, storage;
    size_t skip;
    unsigned cut;

    memset(b, 0, sizeof(*b));
    b->kind = SW_BOUNCE_NONE;
    if (msg == NULL)
        return false;
    ps = &storage;
    memset(ps, 0, offsetof(struct parse, field));
    ps->b = b;
    if (len > SW_BOUNCE_KEEP_MAX) {
        len = SW_BOUNCE_KEEP_MAX;
        b->truncated = true;
    }
    skip = lead_blank(msg, len);
    cut = sw_mime_walk(msg + skip, len - skip, &lim, visit, ps);
    if (cut != 0)
        b->truncated = true;
    /* A multipart without a single delimiter that matches its boundary
     * (hand-edited, or cut in transit): its body is the only text. */
    if (ps->ntext == 0 && !ps->dsn_part && ps->whole.p != NULL && !ps->whole_parts
        && (cut & SW_MIME_CUT_DEPTH) == 0)
        ps->text[ps->ntext++] = ps->whole;

    if (ps->feedback) {
        /* RFC 5965: a complaint about a message, not about delivery. */
        b->nrcpt = 0;
        b->kind = SW_BOUNCE_OTHER;
    } else if (b->nrcpt > 0) {
        /* The text may hold what the report left out: diagnostics, and
         * a returned header copied inline. */
        b->kind = SW_BOUNCE_DSN;
        (void) read_texts(ps, true);
    } else if (ps->auto_reply
               || (ps->auto_submitted && !ps->daemon && !ps->bounce_subject && !ps->report
                   && ps->failed[0] == '\0')) {
        /* RFC 3834: an automatic reply (vacation), not a bounce. */
        b->kind = SW_BOUNCE_OTHER;
    } else if ((ps->daemon || ps->null_sender || ps->bounce_subject || ps->report
                || ps->failed[0] != '\0' || ps->dsn_part)
               && read_texts(ps, false) && b->nrcpt > 0) {
        b->kind = SW_BOUNCE_TEXT;
    } else {
        b->nrcpt = 0;
    }
    if (b->kind == SW_BOUNCE_NONE || b->kind == SW_BOUNCE_OTHER)
        b->nrcpt = 0;
    sw_bounce_finish(b);
    return b->kind == SW_BOUNCE_DSN || b->kind == SW_BOUNCE_TEXT;
}

/* reply_to - Postfix's words for the command a reply answered */
static const char *
reply_to(const char *command)
{
    static const struct {
        const char *command;
        const char *words;
    } map[] = { { "EHLO", "EHLO" },
                { "HELO", "HELO" },
                { "MAIL", "MAIL FROM" },
                { "RCPT", "RCPT TO" },
                { "DATA", "end of DATA" } };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(command, map[i].command) == 0)
            return map[i].words;
    return NULL;
}

/* sw_bounce_reason - the text the classifier sees for one recipient */
size_t
sw_bounce_reason(const struct sw_bounce_rcpt *r, char *out, size_t size)
{
    const char *words = reply_to(r->command);
    int n;

    if (size == 0)
        return 0;
    /* The shapes of a Postfix log reason (smtp_proto.c): "host H
     * refused to talk to me: REPLY" and "host H said: REPLY (in reply
     * to CMD command)", without the host. */
    if (r->diagnostic[0] != '\0' && strcmp(r->command, "CONNECT") == 0)
        n = snprintf(out, size, "refused to talk to me: %s", r->diagnostic);
    else if (r->diagnostic[0] != '\0' && words != NULL
             && strstr(r->diagnostic, "(in reply to ") == NULL)
        n = snprintf(out, size, "%s (in reply to %s command)", r->diagnostic, words);
    else if (r->diagnostic[0] != '\0')
        n = snprintf(out, size, "%s", r->diagnostic);
    else if (r->code != 0 && r->status[0] != '\0')
        n = snprintf(out, size, "%d %s", r->code, r->status);
    else if (r->code != 0)
        n = snprintf(out, size, "%d", r->code);
    else
        n = snprintf(out, size, "%s", r->status);
    if (n < 0) {
        out[0] = '\0';
        return 0;
    }
    return (size_t) n < size ? (size_t) n : size - 1;
}

/* sw_bounce_kind_name - the kind as a word for logs */
const char *
sw_bounce_kind_name(enum sw_bounce_kind k)
{
    switch (k) {
    case SW_BOUNCE_NONE: return "none";
    case SW_BOUNCE_DSN: return "dsn";
    case SW_BOUNCE_TEXT: return "text";
    case SW_BOUNCE_OTHER: return "other";
    default: return "unknown";
    }
}
