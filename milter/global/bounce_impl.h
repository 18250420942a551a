/* bounce_impl.h - internals shared by the bounce_*.c files (not a public interface) */
#ifndef SW_BOUNCE_IMPL_H
#define SW_BOUNCE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "global/bounce.h"

/*
 * The parser of bounce.h is split by concern:
 *
 *   bounce.c        the walk over the MIME parts, the kind of message,
 *                   sw_bounce_reason() and the other public helpers;
 *   bounce_dsn.c    the fields of a message/delivery-status part;
 *   bounce_rcpt.c   recipient records: addresses, diagnostics, reply
 *                   codes and enhanced status codes;
 *   bounce_hosts.c  hosts and IP addresses (Received fields, literals in
 *                   texts) and the returned message's header;
 *   bounce_text.c   the recipients of a human-readable bounce text;
 *   bounce_reply.c  texts made readable (line ends, HTML), where the
 *                   returned message starts, and where a reply is in a
 *                   text (reply codes, Sendmail transcripts, the command
 *                   a reply answered).
 *
 * bounce.c owns the result (struct sw_bounce); the others fill it only
 * through the functions below.  Calls go one way, down this list:
 * bounce.c uses every part; bounce_dsn.c and bounce_text.c use
 * bounce_reply.c, bounce_rcpt.c and bounce_hosts.c; bounce_reply.c uses
 * bounce_rcpt.c; bounce_rcpt.c uses bounce_hosts.c; bounce_hosts.c uses
 * only the inline helpers of this header.  Texts given to bounce_text.c and
 * bounce_reply.c are prepared first: LF line ends, no NUL bytes, HTML
 * reduced to text.  Nothing here allocates or keeps state.
 */

/* A header field name, as the parser reads it. */
#define SW_BOUNCE_NAME_MAX    64
/* Recipients one text may name (anchors, before duplicates merge). */
#define SW_BOUNCE_ANCHORS_MAX (2 * SW_BOUNCE_RCPTS_MAX)

/* b_lower - ASCII case folding, locale-free */
static inline char
b_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char) (c + 'a' - 'A') : c;
}

/* b_is_digit - ASCII digit */
static inline bool
b_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* b_is_space - white space or a control byte */
static inline bool
b_is_space(char c)
{
    return (unsigned char) c <= ' ' || c == 0x7f;
}

/* b_is_wsp - white space inside a line */
static inline bool
b_is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* b_copy - a bounded, NUL-terminated copy of s[0..n) with white space trimmed */
static inline void
b_copy(char *out, size_t size, const char *s, size_t n)
{
    while (n > 0 && b_is_space(*s)) {
        s++;
        n--;
    }
    while (n > 0 && b_is_space(s[n - 1]))
        n--;
    if (n >= size)
        n = size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Lines of one recipient's explanation, and its bytes. */
#define SW_TEXT_BLOCK_LINES 40
#define SW_TEXT_BLOCK_MAX   2048

/* Lines after a reply line that continue it (a multi-line reply). */
#define SW_TEXT_REPLY_LINES 12

/* A line of a prepared text. */
struct b_line {
    const char *p;
    size_t n;
};

/* b_next_line - the line at *off (LF-separated); false at the end */
static inline bool
b_next_line(const char *s, size_t len, size_t *off, struct b_line *l)
{
    const char *nl;

    if (*off >= len)
        return false;
    l->p = s + *off;
    nl = memchr(l->p, '\n', len - *off);
    l->n = nl ? (size_t) (nl - l->p) : len - *off;
    *off += l->n + (nl ? 1 : 0);
    return true;
}

/* b_skip_wsp - index of the first non-blank byte of a line */
static inline size_t
b_skip_wsp(const struct b_line *l, size_t i)
{
    while (i < l->n && b_is_wsp(l->p[i]))
        i++;
    return i;
}

/* b_blank - an empty line or one of white space only */
static inline bool
b_blank(const struct b_line *l)
{
    return b_skip_wsp(l, 0) == l->n;
}

/* b_section - a line that separates sections ("----- Transcript ... -----") */
static inline bool
b_section(const struct b_line *l)
{
    size_t i = b_skip_wsp(l, 0);

    return l->n - i >= 3
           && ((l->p[i] == '-' && l->p[i + 1] == '-' && l->p[i + 2] == '-')
               || (l->p[i] == '=' && l->p[i + 1] == '=' && l->p[i + 2] == '=')
               || (l->p[i] == '_' && l->p[i + 1] == '_' && l->p[i + 2] == '_'));
}

/* b_append - a piece of text to a block, space-separated, bounded */
static inline void
b_append(char *buf, size_t *o, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (*o > 0 && *o + 1 < SW_TEXT_BLOCK_MAX)
        buf[(*o)++] = ' ';
    if (n > SW_TEXT_BLOCK_MAX - 1 - *o)
        n = SW_TEXT_BLOCK_MAX - 1 - *o;
    memcpy(buf + *o, p, n);
    *o += n;
    buf[*o] = '\0';
}

/* ---------------------------------------------------------- bounce_rcpt.c */

/* Past an RFC 3464 "type;" prefix ("rfc822;", "dns;", "smtp;"). */
const char *sw_bounce_strip_type(const char *s);
/* Length of an addr-spec at s[0..n) (local@domain, RFC 5321 section
 * 4.1.2, without the angle brackets), or 0 when there is none. */
size_t sw_bounce_addr_len(const char *s, size_t n);
/* Length of an enhanced status code ("5.7.1", RFC 3463 section 2) at the
 * start of s, or 0. */
size_t sw_bounce_status_len(const char *s);
/* The record of an address (ASCII case ignored), or NULL. */
struct sw_bounce_rcpt *sw_bounce_rcpt_find(struct sw_bounce *b, const char *addr, size_t n);
/* The record of an address, added when new; NULL (and truncated set)
 * when SW_BOUNCE_RCPTS_MAX records exist.  n = 0: a new record without
 * an address (a failed recipient whose address cannot be read). */
struct sw_bounce_rcpt *sw_bounce_rcpt_add(struct sw_bounce *b, const char *addr, size_t n);
/* Set a diagnostic: one line, white space collapsed, a leading
 * "smtp;"-style type dropped (RFC 3464 section 2.3.6), cut to fit. */
void sw_bounce_set_diag(struct sw_bounce_rcpt *r, const char *s, size_t n);
/* Reply code, status and IPs of every record, from its diagnostic. */
void sw_bounce_finish(struct sw_bounce *b);

/* --------------------------------------------------------- bounce_hosts.c */

typedef void (*sw_bounce_field_fn)(struct sw_bounce *b, void *arg, const char *name,
                                   const char *value);

/* A host name (lower case, no trailing dot, once; names without a dot
 * and localhost are left out). */
void sw_bounce_add_host(struct sw_bounce *b, const char *s, size_t n);
/* IP literals in a text: dotted quads, and IPv6 in brackets or after
 * "IPv6:". */
void sw_bounce_scan_ips(struct sw_bounce *b, const char *s, size_t n);
/* The hosts and IPs of a Received field's value (RFC 5321 section 4.4). */
void sw_bounce_received(struct sw_bounce *b, const char *value);
/* The fields of a header block, unfolded into value[size], one by one. */
void sw_bounce_header_block(struct sw_bounce *b, const char *hdr, size_t n, char *value,
                            size_t size, sw_bounce_field_fn fn, void *arg);
/* A returned message's header block (MIME part or a copy inline in a
 * text): X-Spillway-Tag and Message-ID when not known yet, and the hosts
 * and IPs of its Received fields. */
void sw_bounce_returned(struct sw_bounce *b, const char *hdr, size_t n);

/* ----------------------------------------------------------- bounce_dsn.c */

/* The fields of a message/delivery-status body (RFC 3464 section 2),
 * each unfolded into field[size]. */
void sw_bounce_dsn(struct sw_bounce *b, const char *s, size_t n, char *field, size_t size);

/* --------------------------------------------------------- bounce_reply.c */

/* Prepare a text in place (LF line ends, NUL bytes as spaces, HTML tags
 * removed and the common entities decoded); returns the new length. */
size_t sw_bounce_text_prepare(char *s, size_t len, bool html);
/* Where the notification of a prepared text ends: the length of the part
 * to read for recipients, and in *rest the offset of a returned message
 * copied inline (its headers), or len when there is none. */
size_t sw_bounce_text_end(const char *s, size_t len, size_t *rest);
/* The command a text says its reply answered ("RCPT"), or NULL. */
const char *sw_bounce_phase(const char *buf, size_t n);
/* For a Sendmail result line at offset upto, the "<<< " reply above it
 * into buf[SW_TEXT_BLOCK_MAX] (its length), and its command in *cmd. */
size_t sw_bounce_transcript_reply(const char *s, size_t upto, char *buf, const char **cmd);
/* Where the receiver's reply starts in a block of text, or n. */
size_t sw_bounce_reply_start(const char *s, size_t n);
/* The first reply of a whole text into buf[SW_TEXT_BLOCK_MAX] (its
 * length, 0: none), and the command it answered in *cmd when known. */
size_t sw_bounce_reply_line(const char *s, size_t len, char *buf, const char **cmd);

/* ---------------------------------------------------------- bounce_text.c */

/*
 * Read a prepared notification text.  fill = false: find the failed
 * recipients and their diagnostics (a non-standard bounce); the addresses
 * of an Exim X-Failed-Recipients field (failed, may be "") are used when
 * the text names none.  fill = true: only give a diagnostic to records
 * that exist already and have none (an RFC 3464 report whose
 * delivery-status part lacks Diagnostic-Code).  Returns whether a
 * recipient was found (fill = false) or a diagnostic set (fill = true).
 */
bool sw_bounce_text_read(struct sw_bounce *b, const char *s, size_t len, bool fill,
                         const char *failed);

#endif
