/* mime.h - a bounded MIME walker: header fields, multipart structure, two decodings */
#ifndef SW_MIME_H
#define SW_MIME_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Just enough MIME (RFC 2045, 2046, 5322) to take a bounce apart: lines
 * with any of CRLF, LF or a lone CR as the end; header fields unfolded
 * into a caller's bounded buffer; Content-Type with its boundary,
 * report-type and charset; base64 and quoted-printable decoding into a
 * caller's bounded buffer; multipart splitting and message/rfc822
 * descent, walked with an explicit stack.
 *
 * Nothing here allocates, recurses or keeps state between calls: every
 * result is a byte range of the input or a copy into the caller's buffer,
 * and every length is bounded by the caller's sizes or by the limits the
 * caller passes to sw_mime_walk().  Input is never trusted: a missing
 * boundary, a header block without its empty line, or binary junk only
 * give fewer or shorter parts.
 */

#define SW_MIME_TYPE_MAX     80 /* "type/subtype", lower case */
#define SW_MIME_BOUNDARY_MAX 72 /* RFC 2046 section 5.1.1: 1 to 70 characters */
#define SW_MIME_PARAM_MAX    40 /* report-type, charset */

enum sw_mime_cte {
    SW_MIME_CTE_IDENTITY, /* 7bit, 8bit, binary, absent or unknown */
    SW_MIME_CTE_BASE64,
    SW_MIME_CTE_QP
};

/* Truncation flags of sw_mime_walk(): a limit was reached. */
#define SW_MIME_CUT_DEPTH  0x1u /* a part nested deeper than depth_max was skipped */
#define SW_MIME_CUT_PARTS  0x2u /* more than parts_max parts */
#define SW_MIME_CUT_HEADER 0x4u /* a header field longer than header_max */

/* A position in a byte range. */
struct sw_mime_cursor {
    const char *p;
    const char *end;
};

/* What the walker knows of one part. */
struct sw_mime_part {
    const char *header; /* the header block, without the empty line after it */
    size_t header_len;
    const char *body; /* the body, still encoded */
    size_t body_len;
    char type[SW_MIME_TYPE_MAX];         /* lower case; the RFC 2045 default when absent */
    char boundary[SW_MIME_BOUNDARY_MAX]; /* as written (case matters) */
    char report_type[SW_MIME_PARAM_MAX]; /* lower case */
    char charset[SW_MIME_PARAM_MAX];     /* lower case */
    enum sw_mime_cte cte;
    unsigned depth;      /* 0: the message itself */
    unsigned index;      /* order of the walk, 0: the message */
    unsigned in_message; /* message/rfc822 entities around this part */
    bool message_header; /* the header is a message's (the top, or an encapsulated one) */
};

struct sw_mime_limits {
    unsigned depth_max; /* deepest part looked at (the message is depth 0) */
    unsigned parts_max; /* parts looked at, the message included */
    size_t header_max;  /* bytes of one unfolded header field */
};

/* A visitor; false stops the walk. */
typedef bool (*sw_mime_visit_fn)(const struct sw_mime_part *part, void *ctx);

/* sw_mime_line - the next line (without its end) in *line and *len; false at the end */
bool sw_mime_line(struct sw_mime_cursor *c, const char **line, size_t *len);

/*
 * Split an entity into its header block and its body.  The header ends at
 * the first empty line, or at the first line that is neither a field nor
 * a continuation (a broken part: that line starts the body).  A leading
 * mbox "From " line is skipped.
 */
void sw_mime_split(const char *s, size_t len, const char **header, size_t *header_len,
                   const char **body, size_t *body_len);

/*
 * The next field of a header block: its name (cut to name_size - 1) and
 * its value unfolded (RFC 5322 section 2.2.3: the line breaks go, the
 * white space stays; leading and trailing white space trimmed), cut to
 * value_size - 1 bytes with *cut set.  Both NUL-terminated; a NUL byte of
 * the input becomes a space.  Lines that are not fields are skipped.
 */
bool sw_mime_field(struct sw_mime_cursor *c, char *name, size_t name_size, char *value,
                   size_t value_size, bool *cut);

/* ASCII case-insensitive comparisons, locale-free. */
bool sw_mime_ieq(const char *a, const char *b);
bool sw_mime_iprefix(const char *s, size_t len, const char *prefix);
/* First occurrence of needle (lower case) in s[0..len), ignoring case; NULL if none. */
const char *sw_mime_ifind(const char *s, size_t len, const char *needle);

/* Parse a Content-Type value into the part's type, boundary, report_type
 * and charset; a value that does not parse leaves type empty. */
void sw_mime_content_type(const char *value, struct sw_mime_part *part);
enum sw_mime_cte sw_mime_cte_parse(const char *value);

/*
 * Decode a body into out (at most size bytes, not NUL-terminated);
 * returns the length written.  *cut is set when the output did not fit.
 * Base64 skips bytes outside its alphabet and stops at the padding;
 * quoted-printable keeps a malformed "=" escape as it is (RFC 2045
 * section 6.7, note 1).  Identity is a bounded copy.
 */
size_t sw_mime_decode(enum sw_mime_cte cte, const char *in, size_t len, char *out, size_t size,
                      bool *cut);

/*
 * Walk a message: the visitor sees every part in document order (the
 * message itself first, then each child of a multipart, then the entity
 * inside a message/rfc822 or message/global part), up to the limits.
 * Returns the SW_MIME_CUT_* flags of the limits that were reached.  Uses
 * header_max + about depth_max * 100 bytes of stack (header_max is capped
 * at 8192).
 */
unsigned sw_mime_walk(const char *msg, size_t len, const struct sw_mime_limits *lim,
                      sw_mime_visit_fn visit, void *ctx);

#endif
