/* bounce_reply.c - where the receiver's reply is in the text of a bounce */

/*
 * The pieces of text reading that do not depend on where a recipient is
 * named: making a text readable (line ends, NUL bytes, HTML), finding
 * where the notification ends and the returned message starts, finding
 * the receiver's reply in a block of text (it starts at an SMTP reply
 * code, RFC 5321 section 4.2), reading Sendmail transcripts ("<<< "
 * replies after ">>> " commands), and the words each MTA uses to say
 * which command a reply answered.  No state; every loop is bounded by the
 * text's length and the limits of bounce_impl.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "global/bounce_impl.h"
#include "util/mime.h"

/* entity - an HTML character reference at s: its byte, and its length in *n; 0 if none */
static char
entity(const char *s, size_t len, size_t *n)
{
    static const struct {
        const char *name;
        char c;
    } named[] = { { "&nbsp;", ' ' }, { "&lt;", '<' },   { "&gt;", '>' },
                  { "&amp;", '&' },  { "&quot;", '"' }, { "&#39;", '\'' } };
    unsigned v = 0;
    size_t i;

    for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
        if (sw_mime_iprefix(s, len, named[i].name)) {
            *n = strlen(named[i].name);
            return named[i].c;
        }
    if (len >= 4 && s[1] == '#' && b_is_digit(s[2])) {
        for (i = 2; i < len && i < 6 && b_is_digit(s[i]); i++)
            v = v * 10 + (unsigned) (s[i] - '0');
        if (i < len && s[i] == ';' && v > 0 && v < 128) {
            *n = i + 1;
            return (char) v;
        }
    }
    return '\0';
}

/* html_tag - what a tag at s[0..len) becomes: a line end for block
 * elements, a space for table cells, nothing for the rest; *skip is set
 * inside <style> and <script> */
static char
html_tag(const char *s, size_t len, bool *skip)
{
    static const char *const blocks[] = { "br", "p",  "div", "tr", "li", "table", "hr",
                                          "h1", "h2", "h3",  "h4", "h5", "h6",    "pre" };
    char name[16];
    size_t i = 1, o = 0, k;
    bool close = false;

    if (i < len && s[i] == '/') {
        close = true;
        i++;
    }
    for (; i < len && o + 1 < sizeof(name)
           && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || b_is_digit(s[i]));
         i++)
        name[o++] = (char) (s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 'a' - 'A' : s[i]);
    name[o] = '\0';
    if (strcmp(name, "style") == 0 || strcmp(name, "script") == 0)
        *skip = !close;
    for (k = 0; k < sizeof(blocks) / sizeof(blocks[0]); k++)
        if (strcmp(name, blocks[k]) == 0)
            return '\n';
    return strcmp(name, "td") == 0 || strcmp(name, "th") == 0 ? ' ' : '\0';
}

/* sw_bounce_text_prepare - LF line ends, no NUL bytes, HTML as text; in place */
size_t
sw_bounce_text_prepare(char *s, size_t len, bool html)
{
    size_t i = 0, o = 0, n;
    const char *gt;
    bool skip = false;
    char c, e;

    while (i < len) {
        c = s[i];
        if (c == '\r') {
            c = '\n';
            if (i + 1 < len && s[i + 1] == '\n')
                i++;
        } else if (c == '\0') {
            c = ' ';
        }
        if (html) {
            if (c == '<' && (gt = memchr(s + i, '>', len - i)) != NULL) {
                n = (size_t) (gt - (s + i)) + 1;
                c = html_tag(s + i, n, &skip);
                i += n;
                if (c != '\0')
                    s[o++] = c;
                continue;
            }
            if (skip) {
                i++;
                continue;
            }
            if (c == '\n') {
                c = ' '; /* lines come from the tags */
            } else if (c == '&' && (e = entity(s + i, len - i, &n)) != '\0') {
                s[o++] = e;
                i += n;
                continue;
            }
        }
        s[o++] = c;
        i++;
    }
    return o;
}

/* Lines that end the notification: what follows is the returned message. */
static const char *const markers[] = {
    "this is a copy of the message",            /* Exim */
    "below this line is a copy of the message", /* qmail */
    "below is a copy of the original message",  /* OpenSMTPD */
    "unsent message follows",                   /* Sendmail */
    "original message follows",
    "returned message follows",
    "message headers follow", /* DragonFly dma */
    "original message headers",
    "headers of the original message",
    "----- original message -----",
    "-----original message-----",
    "content-type: message/rfc822",
    "header of the original message",
    "message text follows",
};

/* sw_bounce_text_end - the notification's length, and where a copy of the message starts */
size_t
sw_bounce_text_end(const char *s, size_t len, size_t *rest)
{
    size_t off = 0, start, i;
    struct b_line l;

    *rest = len;
    while (start = off, b_next_line(s, len, &off, &l)) {
        for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
            if (sw_mime_ifind(l.p, l.n, markers[i]) != NULL)
                break;
        if (i == sizeof(markers) / sizeof(markers[0]))
            continue;
        /* The returned header starts after the marker and any blank lines. */
        while (off < len && (s[off] == '\n' || s[off] == ' ' || s[off] == '\t')) {
            size_t probe = off;
            struct b_line b;

            if (!b_next_line(s, len, &probe, &b) || !b_blank(&b))
                break;
            off = probe;
        }
        *rest = off;
        return start;
    }
    return len;
}

/* What each MTA writes about the command a reply answered. */
static const struct {
    const char *words; /* lower case */
    const char *command;
} phases[] = {
    { "refused to talk to me", "CONNECT" },      /* Postfix */
    { "after initial connection", "CONNECT" },   /* Exim */
    { "greeting failed", "CONNECT" },            /* qmail */
    { "did not like our greeting", "CONNECT" },  /* dma */
    { "in reply to ehlo command", "EHLO" },      /* Postfix */
    { "in reply to lhlo command", "EHLO" },      /* Postfix LMTP */
    { "in reply to helo command", "HELO" },      /* Postfix */
    { "after ehlo", "EHLO" },                    /* Exim */
    { "after helo", "HELO" },                    /* Exim */
    { "my name was rejected", "HELO" },          /* qmail */
    { "in reply to mail from command", "MAIL" }, /* Postfix */
    { "after mail from", "MAIL" },               /* Exim */
    { "after mail command", "MAIL" },
    { "after pipelined mail from", "MAIL" },   /* Exim */
    { "sender was rejected", "MAIL" },         /* qmail */
    { "did not like our mail from", "MAIL" },  /* dma */
    { "in reply to rcpt to command", "RCPT" }, /* Postfix */
    { "after rcpt", "RCPT" },                  /* Exim, GMX */
    { "after pipelined rcpt to", "RCPT" },     /* Exim */
    { "does not like recipient", "RCPT" },     /* qmail */
    { "did not like our rcpt to", "RCPT" },    /* dma */
    { "in reply to data command", "DATA" },    /* Postfix */
    { "in reply to end of data command", "DATA" },
    { "after data", "DATA" }, /* Exim */
    { "after end of data", "DATA" },
    { "after pipelined data", "DATA" },
    { "failed after i sent the message", "DATA" }, /* qmail */
    { "failed on data command", "DATA" },
};

/* sw_bounce_phase - the command a block says its reply answered (the first one named), or NULL */
const char *
sw_bounce_phase(const char *buf, size_t n)
{
    const char *best = NULL, *at, *cmd = NULL;
    size_t i;

    for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
        if ((at = sw_mime_ifind(buf, n, phases[i].words)) != NULL && (best == NULL || at < best)) {
            best = at;
            cmd = phases[i].command;
        }
    return cmd;
}

/* transcript_command - the command of a ">>> " line of a Sendmail transcript */
static const char *
transcript_command(const char *p, size_t n)
{
    static const char *const words[] = { "EHLO", "HELO", "MAIL", "RCPT", "DATA", "." };
    static const char *const commands[] = { "EHLO", "HELO", "MAIL", "RCPT", "DATA", "DATA" };
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (sw_mime_iprefix(p, n, words[i]))
            return commands[i];
    return NULL;
}

/*
 * transcript_reply - for a Sendmail result line ("554 <a@...>... Remote
 * protocol error"), the remote reply it reports: the last "<<< " lines
 * above it in the same conversation ("... while talking to HOST:"), not
 * yet taken by another result line.  Its length in buf, and the command
 * of the ">>> " line before it ("CONNECT" when there is none) in *cmd.
 */
size_t
sw_bounce_transcript_reply(const char *s, size_t upto, char *buf, const char **cmd)
{
    const char *last = NULL;
    size_t off = 0, o = 0, i;
    bool in_reply = false;
    struct b_line l;

    buf[0] = '\0';
    *cmd = NULL;
    while (b_next_line(s, upto, &off, &l)) {
        i = b_skip_wsp(&l, 0);
        if (sw_mime_iprefix(l.p + i, l.n - i, "<<<")) {
            if (!in_reply) {
                o = 0;
                buf[0] = '\0';
                *cmd = last != NULL ? last : "CONNECT";
            }
            in_reply = true;
            i = b_skip_wsp(&l, i + 3);
            b_append(buf, &o, l.p + i, l.n - i);
            continue;
        }
        in_reply = false;
        if (sw_mime_iprefix(l.p + i, l.n - i, ">>>")) {
            i = b_skip_wsp(&l, i + 3);
            last = transcript_command(l.p + i, l.n - i);
        } else if (b_blank(&l) || sw_mime_ifind(l.p, l.n, "while talking to") != NULL
                   || (l.n - i >= 4 && b_is_digit(l.p[i]) && b_is_digit(l.p[i + 1])
                       && b_is_digit(l.p[i + 2]) && l.p[i + 3] == ' ')) {
            /* a new conversation, or a result line that took the reply */
            o = 0;
            buf[0] = '\0';
            *cmd = NULL;
            if (!(l.n - i >= 4 && b_is_digit(l.p[i])))
                last = NULL;
        }
    }
    return o;
}

/* is_code - an SMTP failure reply code at s[i] (4yz or 5yz, RFC 5321
 * section 4.2) followed by a space, a hyphen or the end */
static bool
is_code(const char *s, size_t n, size_t i)
{
    /* Some servers write codes RFC 5321 does not define (571): the
     * second digit is not checked. */
    return i + 3 <= n && (s[i] == '4' || s[i] == '5') && b_is_digit(s[i + 1])
           && b_is_digit(s[i + 2]) && (i + 3 == n || s[i + 3] == ' ' || s[i + 3] == '-')
           && (i == 0 || !b_is_digit(s[i - 1]));
}

/* reply_code_at - the first reply code at a reply position, or n; the
 * first one after a plain space in *weak */
static size_t
reply_code_at(const char *s, size_t n, size_t *weak)
{
    size_t i;
    char p;

    *weak = n;
    for (i = 0; i < n; i++) {
        if (!is_code(s, n, i))
            continue;
        p = i > 0 ? s[i - 1] : ' ';
        /* A code at the start, after "said:", "<<<", "#" (Exchange) or
         * "smtp;", or one followed by an enhanced status code. */
        if (i == 0 || p == ':' || p == '#' || p == ';' || p == '>'
            || (i + 5 < n && (s[i + 4] == '4' || s[i + 4] == '5') && s[i + 5] == '.')
            || (i >= 2 && s[i - 2] == ':'))
            return i;
        if (p == ' ' && *weak == n)
            *weak = i;
    }
    return n;
}

/* sw_bounce_reply_start - where the receiver's reply starts in a block, or n */
size_t
sw_bounce_reply_start(const char *s, size_t n)
{
    size_t i, k, weak;

    if ((i = reply_code_at(s, n, &weak)) < n)
        return i;
    if (weak < n)
        return weak;
    /* No reply code: an enhanced status code may start the reply
     * ("host: mx.example.com 5.2.1 <a@...>... User unknown"). */
    for (i = 0; i + 5 <= n; i++)
        if ((i == 0 || s[i - 1] == ' ' || s[i - 1] == ':') && (k = sw_bounce_status_len(s + i)) > 0
            && (i + k == n || s[i + k] == ' '))
            return i;
    return n;
}

/* Words that introduce the receiver's reply in a sentence (lower case). */
static const char *const introducers[] = {
    "said:",         /* Postfix, qmail "Remote host said:" */
    "returned was:", /* Gmail "The error that the other server returned was:" */
    "the response was:",
    "response was:",
    "server replied:",
    "replied:",
    "error was:",
};

/* introducer - the first introducer in a line, its length in *k; NULL if none */
static const char *
introducer(const char *p, size_t n, size_t *k)
{
    const char *best = NULL, *at;
    size_t i;

    for (i = 0; i < sizeof(introducers) / sizeof(introducers[0]); i++)
        if ((at = sw_mime_ifind(p, n, introducers[i])) != NULL && (best == NULL || at < best)) {
            best = at;
            *k = strlen(introducers[i]);
        }
    return best;
}

/* sw_bounce_reply_line - the first line of a text that carries a reply, with the
 * lines that continue it, into buf; its length (0: none).  A reply
 * quoted from a Sendmail transcript ("<<< ") continues only on "<<< "
 * lines, and *cmd is the command of the ">>> " line before it. */
size_t
sw_bounce_reply_line(const char *s, size_t len, char *buf, const char **cmd)
{
    size_t off = 0, i, o = 0, count, k;
    const char *said, *last = NULL;
    bool quoted;
    struct b_line l;

    buf[0] = '\0';
    *cmd = NULL;
    while (b_next_line(s, len, &off, &l)) {
        i = b_skip_wsp(&l, 0);
        if (b_blank(&l) || sw_mime_ifind(l.p, l.n, "while talking to") != NULL)
            last = NULL;
        if (sw_mime_iprefix(l.p + i, l.n - i, ">>>")) {
            i = b_skip_wsp(&l, i + 3);
            last = transcript_command(l.p + i, l.n - i);
            continue;
        }
        quoted = sw_mime_iprefix(l.p + i, l.n - i, "<<<");
        if (quoted)
            i = b_skip_wsp(&l, i + 3);
        if (i < l.n && l.p[i] == '#')
            i++;
        if (sw_mime_iprefix(l.p + i, l.n - i, "diagnostic-code:")) {
            i = b_skip_wsp(&l, i + 16);
        } else if ((said = introducer(l.p + i, l.n - i, &k)) != NULL) {
            i = b_skip_wsp(&l, (size_t) (said - l.p) + k);
            if (i == l.n) {
                /* "Remote host said:" with the reply on the next line */
                if (!b_next_line(s, len, &off, &l))
                    break;
                i = b_skip_wsp(&l, 0);
            }
        }
        if (!is_code(l.p, l.n, i) && !(sw_mime_iprefix(l.p + i, l.n - i, "smtp;")))
            continue;
        if (quoted)
            *cmd = last != NULL ? last : "CONNECT";
        b_append(buf, &o, l.p + i, l.n - i);
        for (count = 0; count < SW_TEXT_REPLY_LINES && b_next_line(s, len, &off, &l); count++) {
            if (b_blank(&l) || b_section(&l))
                break;
            i = b_skip_wsp(&l, 0);
            if (sw_mime_iprefix(l.p + i, l.n - i, ">>>")
                || sw_mime_iprefix(l.p + i, l.n - i, "..."))
                break;
            if (sw_mime_iprefix(l.p + i, l.n - i, "<<<"))
                i = b_skip_wsp(&l, i + 3);
            else if (quoted)
                break; /* Sendmail's own line after the quoted reply */
            b_append(buf, &o, l.p + i, l.n - i);
        }
        return o;
    }
    return 0;
}
