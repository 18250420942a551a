/* smtpreply.h - incremental, bounded parser of SMTP server replies */
#ifndef SW_SMTPREPLY_H
#define SW_SMTPREPLY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The prober talks to servers we do not control, so their replies are
 * read through this parser only: bytes are fed as they arrive, a reply
 * is complete at its last line ("250 ..." after "250-..."), and every
 * limit is fixed (RFC 5321 4.5.3.1: 512 bytes a reply line; we allow
 * 1000 and 100 lines).  It keeps the first line's text (for logs) and
 * the EHLO keywords that matter to a probe.  Pure, no allocation.
 */
#define SW_REPLY_LINE_MAX  1000 /* bytes of one line, CRLF included */
#define SW_REPLY_LINES_MAX 100
#define SW_REPLY_TEXT_MAX  200 /* bytes of text kept for logs */

/* EHLO keywords */
#define SW_EXT_STARTTLS   0x1
#define SW_EXT_PIPELINING 0x2
#define SW_EXT_SIZE       0x4
#define SW_EXT_8BITMIME   0x8

enum sw_reply_status {
    SW_REPLY_MORE, /* need more bytes */
    SW_REPLY_DONE, /* a whole reply: code, text, ext are set */
    SW_REPLY_BAD   /* not SMTP, or past a limit: error says which */
};

struct sw_reply {
    int code;                         /* 3 digits, 0 until known */
    char text[SW_REPLY_TEXT_MAX + 1]; /* first line after the code, printable */
    unsigned ext;                     /* SW_EXT_* seen in the lines after the first */
    int lines;
    const char *error; /* SW_REPLY_BAD: a constant string */
    /* state */
    char line[SW_REPLY_LINE_MAX];
    size_t len;
};

void sw_reply_init(struct sw_reply *r);
/* Feed bytes; *used is how many were taken (a reply ends at its last
 * line's LF: what follows belongs to no reply we asked for). */
enum sw_reply_status sw_reply_feed(struct sw_reply *r, const char *data, size_t n, size_t *used);

#endif
