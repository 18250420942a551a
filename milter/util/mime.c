/* mime.c - a bounded MIME walker: header fields, multipart structure, two decodings */

/*
 * Why not GMime 3 (DESIGN.md section 7 names it as a candidate): it pulls
 * in glib and GObject, needs a global g_mime_init() and allocates objects
 * for every part and header, which LeakSanitizer in our sanitizer CI
 * reports as noise (glib's type system keeps allocations for the life of
 * the process).  A bounce parser needs only the structure (header blocks,
 * boundaries, message/rfc822 descent) and two decodings, with hard limits
 * on hostile input; that is a few hundred lines with no allocation at
 * all, which is also what a libmilter thread wants.
 *
 * Owns nothing: every function works on the caller's byte ranges and
 * buffers, and the walk keeps its stack of open containers in an array
 * on the C stack, bounded by the depth limit.
 *
 * Line ends: CRLF, LF and a lone CR all end a line (a milter sees CRLF,
 * files on disk have LF, and old Mac mail has CR), so the same code reads
 * all three without converting the input.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "util/mime.h"

/* Containers open at once (the depth limit is capped to this). */
#define SW_MIME_DEPTH_CAP 16
/* An unfolded header field as the walker reads it (the limit is capped to this). */
#define SW_MIME_FIELD_CAP 8192
/* A header field name, as the walker reads it. */
#define SW_MIME_NAME_MAX  64

/* lower - ASCII case folding, locale-free */
static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char) (c + 'a' - 'A') : c;
}

/* is_wsp - space or tab */
static bool
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* sw_mime_ieq - equal, ignoring ASCII case */
bool
sw_mime_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower(*a) != lower(*b))
            return false;
    return *a == *b;
}

/* sw_mime_iprefix - s[0..len) starts with prefix, ignoring ASCII case */
bool
sw_mime_iprefix(const char *s, size_t len, const char *prefix)
{
    size_t i;

    for (i = 0; prefix[i]; i++)
        if (i >= len || lower(s[i]) != lower(prefix[i]))
            return false;
    return true;
}

/* sw_mime_ifind - first occurrence of a lower-case needle, ignoring ASCII case.
 * Candidates are found with memchr for the first byte in either case (the
 * C library scans many bytes at a time); this search is most of the
 * parser's time on plain-text bounces. */
const char *
sw_mime_ifind(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle), j;
    const char *end = s + len, *lo, *up, *p;
    char c0, c1;

    if (n == 0 || n > len)
        return n == 0 ? s : NULL;
    c0 = needle[0];
    c1 = c0 >= 'a' && c0 <= 'z' ? (char) (c0 - 'a' + 'A') : c0;
    lo = memchr(s, c0, len - n + 1);
    up = c1 != c0 ? memchr(s, c1, len - n + 1) : NULL;
    while (lo != NULL || up != NULL) {
        p = lo == NULL ? up : up == NULL ? lo : lo < up ? lo : up;
        for (j = 1; j < n && lower(p[j]) == needle[j]; j++)
            ;
        if (j == n)
            return p;
        if (p == lo)
            lo = p + 1 + n <= end ? memchr(p + 1, c0, (size_t) (end - p - 1) - n + 1) : NULL;
        else
            up = p + 1 + n <= end ? memchr(p + 1, c1, (size_t) (end - p - 1) - n + 1) : NULL;
    }
    return NULL;
}

/* sw_mime_line - the next line, without its end (CRLF, LF or CR) */
bool
sw_mime_line(struct sw_mime_cursor *c, const char **line, size_t *len)
{
    const char *s = c->p, *e, *cr;

    if (s == NULL || s >= c->end)
        return false;
    e = memchr(s, '\n', (size_t) (c->end - s));
    cr = memchr(s, '\r', (size_t) ((e ? e : c->end) - s));
    if (cr != NULL)
        e = cr;
    else if (e == NULL)
        e = c->end;
    *line = s;
    *len = (size_t) (e - s);
    if (e < c->end)
        e += (*e == '\r' && e + 1 < c->end && e[1] == '\n') ? 2 : 1;
    c->p = e;
    return true;
}

/* field_name_len - length of "NAME" in a "NAME:" line, or 0 when it is not a field */
static size_t
field_name_len(const char *l, size_t n)
{
    size_t i, name;

    /* RFC 5322 section 3.6.8: printable ASCII but the colon; the
     * obsolete syntax (section 4.5.8) allows white space before it. */
    for (i = 0; i < n && l[i] > ' ' && l[i] < 0x7f && l[i] != ':'; i++)
        ;
    if (i == 0)
        return 0;
    name = i;
    while (i < n && is_wsp(l[i]))
        i++;
    return i < n && l[i] == ':' ? name : 0;
}

/* ends_semicolon - the last non-blank byte is ';' */
static bool
ends_semicolon(const char *l, size_t n)
{
    while (n > 0 && is_wsp(l[n - 1]))
        n--;
    return n > 0 && l[n - 1] == ';';
}

/* unfolded_param - "boundary=..." at the start of a line after a line
 * that ended in ';': a parameter whose fold lost its white space */
static bool
unfolded_param(const char *l, size_t n)
{
    size_t i;

    for (i = 0; i < n && l[i] != '=' && l[i] != ':' && l[i] > ' '; i++)
        ;
    return i > 0 && i < n && l[i] == '=';
}

/* sw_mime_split - header block and body of an entity */
void
sw_mime_split(const char *s, size_t len, const char **header, size_t *header_len, const char **body,
              size_t *body_len)
{
    struct sw_mime_cursor c = { s, s + len };
    const char *start = s, *l;
    bool first = true, field = false, semicolon = false;
    size_t n;

    while (sw_mime_line(&c, &l, &n)) {
        if (first && n >= 5 && memcmp(l, "From ", 5) == 0) {
            first = false;
            start = c.p; /* an mbox separator, not a field */
            continue;
        }
        first = false;
        if (n == 0) {
            *header = start;
            *header_len = (size_t) (l - start);
            *body = c.p;
            *body_len = (size_t) (s + len - c.p);
            return;
        }
        if ((is_wsp(l[0]) && field) || field_name_len(l, n) > 0
            || (semicolon && unfolded_param(l, n))) {
            field = true;
            semicolon = ends_semicolon(l, n);
            continue;
        }
        /* Neither a field nor a continuation: a part without its empty
         * line (or without a header at all); the body starts here. */
        *header = start;
        *header_len = (size_t) (l - start);
        *body = l;
        *body_len = (size_t) (s + len - l);
        return;
    }
    *header = start;
    *header_len = (size_t) (s + len - start);
    *body = s + len;
    *body_len = 0;
}

/* put - one byte of a field value, control bytes as spaces */
static void
put(char *out, size_t size, size_t *o, char c, bool *cut)
{
    if ((unsigned char) c < 0x20 || c == 0x7f)
        c = ' ';
    if (*o + 1 < size)
        out[(*o)++] = c;
    else
        *cut = true;
}

/* sw_mime_field - the next field of a header block, unfolded */
bool
sw_mime_field(struct sw_mime_cursor *c, char *name, size_t name_size, char *value,
              size_t value_size, bool *cut)
{
    const char *l, *save;
    size_t n, nl, i, o = 0;
    bool semicolon;

    *cut = false;
    if (name_size > 0)
        name[0] = '\0';
    if (value_size > 0)
        value[0] = '\0';
    for (;;) {
        if (!sw_mime_line(c, &l, &n) || n == 0)
            return false; /* the end, or the empty line that ends a block */
        if ((nl = field_name_len(l, n)) > 0)
            break;
    }
    for (i = 0; i < nl && i + 1 < name_size; i++)
        name[i] = l[i];
    if (name_size > 0)
        name[i] = '\0';
    /* The value: after the colon, then every continuation line. */
    i = (size_t) ((const char *) memchr(l, ':', n) - l) + 1;
    for (;;) {
        for (; i < n; i++)
            put(value, value_size, &o, l[i], cut);
        semicolon = ends_semicolon(value, o);
        save = c->p;
        if (!sw_mime_line(c, &l, &n) || n == 0
            || !(is_wsp(l[0]) || (semicolon && unfolded_param(l, n)))) {
            c->p = save;
            break;
        }
        i = 0;
        if (!is_wsp(l[0]))
            put(value, value_size, &o, ' ', cut);
    }
    /* Trim: the white space of the folds stays inside, not at the ends. */
    while (o > 0 && value[o - 1] == ' ')
        o--;
    if (value_size > 0) {
        value[o] = '\0';
        for (i = 0; value[i] == ' '; i++)
            ;
        if (i > 0)
            memmove(value, value + i, o - i + 1);
    }
    return true;
}

/* is_token_char - RFC 2045 section 5.1 token: no space, control or tspecial */
static bool
is_token_char(char c)
{
    return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* skip_cfws - white space and (nested, bounded) comments */
static const char *
skip_cfws(const char *p)
{
    int depth;

    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '(')
            return p;
        for (depth = 0; *p; p++) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            else if (*p == '(')
                depth++;
            else if (*p == ')' && --depth == 0) {
                p++;
                break;
            }
        }
    }
}

/* param_value - a token or quoted-string into out (lower-cased when asked); past it */
static const char *
param_value(const char *p, char *out, size_t size, bool fold, bool *too_long)
{
    size_t o = 0;

    *too_long = false;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            if (o + 1 < size)
                out[o++] = fold ? lower(*p) : *p;
            else
                *too_long = true;
        }
        if (*p == '"')
            p++;
    } else {
        for (; is_token_char(*p); p++) {
            if (o + 1 < size)
                out[o++] = fold ? lower(*p) : *p;
            else
                *too_long = true;
        }
    }
    out[o] = '\0';
    return p;
}

/* sw_mime_content_type - type, boundary, report-type and charset of a value */
void
sw_mime_content_type(const char *value, struct sw_mime_part *part)
{
    char attr[SW_MIME_PARAM_MAX], scratch[SW_MIME_PARAM_MAX];
    const char *p = skip_cfws(value);
    size_t o = 0, a;
    bool too_long;

    part->type[0] = part->boundary[0] = part->report_type[0] = part->charset[0] = '\0';
    /* type "/" subtype, both tokens */
    for (; is_token_char(*p) && o + 1 < sizeof(part->type); p++)
        part->type[o++] = lower(*p);
    if (o == 0 || *p != '/' || o + 1 >= sizeof(part->type)) {
        part->type[0] = '\0';
        return;
    }
    part->type[o++] = '/';
    for (p++, a = o; is_token_char(*p) && o + 1 < sizeof(part->type); p++)
        part->type[o++] = lower(*p);
    part->type[o] = '\0';
    if (o == a || is_token_char(*p)) {
        part->type[0] = '\0';
        return;
    }
    /* Parameters; anything that does not parse is skipped to the next ';'. */
    while (*p) {
        p = skip_cfws(p);
        if (*p != ';') {
            while (*p && *p != ';')
                p++;
            continue;
        }
        p = skip_cfws(p + 1);
        for (a = 0; is_token_char(*p); p++)
            if (a + 1 < sizeof(attr))
                attr[a++] = lower(*p);
        attr[a] = '\0';
        p = skip_cfws(p);
        if (*p != '=')
            continue;
        p = skip_cfws(p + 1);
        if (strcmp(attr, "boundary") == 0) {
            p = param_value(p, part->boundary, sizeof(part->boundary), false, &too_long);
            if (too_long)
                part->boundary[0] = '\0'; /* a cut boundary would match wrongly */
        } else if (strcmp(attr, "report-type") == 0) {
            p = param_value(p, part->report_type, sizeof(part->report_type), true, &too_long);
        } else if (strcmp(attr, "charset") == 0) {
            p = param_value(p, part->charset, sizeof(part->charset), true, &too_long);
        } else {
            p = param_value(p, scratch, sizeof(scratch), false, &too_long);
        }
    }
}

/* sw_mime_cte_parse - Content-Transfer-Encoding value */
enum sw_mime_cte
sw_mime_cte_parse(const char *value)
{
    char tok[32];
    bool too_long;

    (void) param_value(skip_cfws(value), tok, sizeof(tok), true, &too_long);
    if (strcmp(tok, "base64") == 0)
        return SW_MIME_CTE_BASE64;
    if (strcmp(tok, "quoted-printable") == 0)
        return SW_MIME_CTE_QP;
    return SW_MIME_CTE_IDENTITY;
}

/* b64 - value of a base64 character, or -1 */
static int
b64(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* hex - value of a hex digit, or -1 */
static int
hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* emit - one decoded byte, bounded */
static void
emit(char *out, size_t size, size_t *o, char c, bool *cut)
{
    if (*o < size)
        out[(*o)++] = c;
    else
        *cut = true;
}

/* decode_base64 - RFC 2045 section 6.8, lenient about junk and line ends */
static size_t
decode_base64(const char *in, size_t len, char *out, size_t size, bool *cut)
{
    unsigned long acc = 0;
    size_t i, o = 0;
    int v, bits = 0;

    for (i = 0; i < len && !*cut; i++) {
        if (in[i] == '=')
            break; /* padding: the end of the data */
        if ((v = b64((unsigned char) in[i])) < 0)
            continue;
        acc = (acc << 6 | (unsigned long) v) & 0xffffffUL;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            emit(out, size, &o, (char) ((acc >> bits) & 0xff), cut);
        }
    }
    return o;
}

/* decode_qp - RFC 2045 section 6.7 */
static size_t
decode_qp(const char *in, size_t len, char *out, size_t size, bool *cut)
{
    size_t i = 0, j, o = 0;
    int h1, h2;

    while (i < len && !*cut) {
        if (in[i] == '=') {
            if (i + 1 < len && (in[i + 1] == '\r' || in[i + 1] == '\n')) {
                /* soft line break */
                i += (in[i + 1] == '\r' && i + 2 < len && in[i + 2] == '\n') ? 3 : 2;
                continue;
            }
            if (i + 2 < len && (h1 = hex(in[i + 1])) >= 0 && (h2 = hex(in[i + 2])) >= 0) {
                emit(out, size, &o, (char) (h1 << 4 | h2), cut);
                i += 3;
                continue;
            }
            /* "=" and white space up to the line end: a soft break with
             * padding added in transport (rule 3). */
            for (j = i + 1; j < len && is_wsp(in[j]); j++)
                ;
            if (j > i + 1 && (j == len || in[j] == '\r' || in[j] == '\n')) {
                i = j;
                if (i < len)
                    i += (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n') ? 2 : 1;
                continue;
            }
            emit(out, size, &o, '=', cut); /* malformed: kept as it is */
            i++;
            continue;
        }
        if (is_wsp(in[i])) {
            /* Trailing white space of a line is transport padding (rule 3). */
            for (j = i; j < len && is_wsp(in[j]); j++)
                ;
            if (j == len || in[j] == '\r' || in[j] == '\n') {
                i = j;
                continue;
            }
            for (; i < j; i++)
                emit(out, size, &o, in[i], cut);
            continue;
        }
        emit(out, size, &o, in[i], cut);
        i++;
    }
    return o;
}

/* sw_mime_decode - a body into the caller's buffer */
size_t
sw_mime_decode(enum sw_mime_cte cte, const char *in, size_t len, char *out, size_t size, bool *cut)
{
    *cut = false;
    switch (cte) {
    case SW_MIME_CTE_BASE64: return decode_base64(in, len, out, size, cut);
    case SW_MIME_CTE_QP: return decode_qp(in, len, out, size, cut);
    default:
        if (len > size) {
            len = size;
            *cut = true;
        }
        memcpy(out, in, len);
        return len;
    }
}

/* An open container: a multipart being split, or a message/rfc822. */
struct frame {
    const char *p; /* what is left of its body */
    const char *end;
    char boundary[SW_MIME_BOUNDARY_MAX];
    unsigned depth; /* of its children */
    unsigned in_message;
    bool digest;  /* multipart/digest: children default to message/rfc822 */
    bool message; /* one child: the encapsulated message */
    bool started; /* the first delimiter was seen */
};

/* delimiter - a "--boundary" line: 1 for a delimiter, 2 for the close one, 0 for neither */
static int
delimiter(const char *l, size_t n, const char *boundary, size_t blen)
{
    size_t i;
    int kind = 1;

    if (n < blen + 2 || l[0] != '-' || l[1] != '-' || memcmp(l + 2, boundary, blen) != 0)
        return 0;
    i = blen + 2;
    if (n - i >= 2 && l[i] == '-' && l[i + 1] == '-') {
        kind = 2;
        i += 2;
    }
    /* RFC 2046 section 5.1.1: only transport padding may follow. */
    for (; i < n; i++)
        if (!is_wsp(l[i]))
            return 0;
    return kind;
}

/* next_child - the byte range of the next child of a container; false when none is left */
static bool
next_child(struct frame *f, const char **start, size_t *len)
{
    struct sw_mime_cursor c = { f->p, f->end };
    const char *l, *content = NULL, *prev_end = NULL;
    size_t n, blen = strlen(f->boundary);
    int kind;

    if (f->p >= f->end)
        return false;
    if (f->message) {
        *start = f->p;
        *len = (size_t) (f->end - f->p);
        f->p = f->end;
        return true;
    }
    if (f->started)
        content = f->p;
    while (sw_mime_line(&c, &l, &n)) {
        if ((kind = delimiter(l, n, f->boundary, blen)) == 0) {
            prev_end = l + n;
            continue;
        }
        if (!f->started) {
            /* The preamble is skipped (RFC 2046 section 5.1.1). */
            f->started = true;
            if (kind == 2) {
                f->p = f->end;
                return false;
            }
            content = c.p;
            prev_end = NULL;
            continue;
        }
        /* The line end before a delimiter belongs to the delimiter. */
        *start = content;
        *len = prev_end != NULL ? (size_t) (prev_end - content) : 0;
        f->p = kind == 2 ? f->end : c.p;
        return true;
    }
    f->p = f->end;
    if (content == NULL || content >= f->end)
        return false;
    *start = content; /* no close delimiter: the rest is the last part */
    *len = (size_t) (f->end - content);
    return true;
}

/* read_part - header fields that matter for the structure */
static unsigned
read_part(const char *s, size_t len, size_t field_max, bool digest, struct sw_mime_part *part)
{
    char name[SW_MIME_NAME_MAX], value[SW_MIME_FIELD_CAP + 1];
    struct sw_mime_cursor c;
    bool cut, seen_type = false;
    unsigned flags = 0;

    sw_mime_split(s, len, &part->header, &part->header_len, &part->body, &part->body_len);
    part->type[0] = part->boundary[0] = part->report_type[0] = part->charset[0] = '\0';
    part->cte = SW_MIME_CTE_IDENTITY;
    c.p = part->header;
    c.end = part->header + part->header_len;
    while (sw_mime_field(&c, name, sizeof(name), value, field_max + 1, &cut)) {
        if (cut)
            flags |= SW_MIME_CUT_HEADER;
        if (!seen_type && sw_mime_ieq(name, "Content-Type")) {
            seen_type = true; /* the first one counts */
            sw_mime_content_type(value, part);
        } else if (sw_mime_ieq(name, "Content-Transfer-Encoding")) {
            part->cte = sw_mime_cte_parse(value);
        }
    }
    /* RFC 2045 section 5.2 and RFC 2046 section 5.1.5: the defaults. */
    if (part->type[0] == '\0')
        (void) snprintf(part->type, sizeof(part->type), "%s",
                        digest ? "message/rfc822" : "text/plain");
    return flags;
}

/* is_message_type - an encapsulated message the walk descends into */
static bool
is_message_type(const char *type)
{
    return strcmp(type, "message/rfc822") == 0 || strcmp(type, "message/global") == 0;
}

/* open_container - push a multipart or message part; flags when too deep */
static unsigned
open_container(const struct sw_mime_part *part, unsigned depth_max, struct frame *stack, size_t *sp)
{
    bool multi = strncmp(part->type, "multipart/", 10) == 0 && part->boundary[0] != '\0';
    bool message = is_message_type(part->type) && part->cte == SW_MIME_CTE_IDENTITY;
    struct frame *f;

    if (!multi && !message)
        return 0;
    if (part->depth + 1 > depth_max || *sp >= SW_MIME_DEPTH_CAP)
        return SW_MIME_CUT_DEPTH;
    f = &stack[(*sp)++];
    memset(f, 0, sizeof(*f));
    f->p = part->body;
    f->end = part->body + part->body_len;
    f->depth = part->depth + 1;
    f->in_message = part->in_message + (message ? 1u : 0u);
    f->message = message;
    f->digest = strcmp(part->type, "multipart/digest") == 0;
    if (multi)
        memcpy(f->boundary, part->boundary, sizeof(f->boundary));
    return 0;
}

/* sw_mime_walk - every part, in document order, within the limits */
unsigned
sw_mime_walk(const char *msg, size_t len, const struct sw_mime_limits *lim, sw_mime_visit_fn visit,
             void *ctx)
{
    struct frame stack[SW_MIME_DEPTH_CAP];
    struct sw_mime_part part;
    size_t sp = 0, field_max, clen;
    unsigned flags, nparts = 1, depth_max;
    const char *cstart;
    struct frame *f;

    field_max = lim->header_max < SW_MIME_FIELD_CAP ? lim->header_max : SW_MIME_FIELD_CAP;
    depth_max = lim->depth_max < SW_MIME_DEPTH_CAP ? lim->depth_max : SW_MIME_DEPTH_CAP;
    if (lim->parts_max == 0)
        return SW_MIME_CUT_PARTS;
    memset(&part, 0, sizeof(part));
    flags = read_part(msg, len, field_max, false, &part);
    part.message_header = true;
    if (!visit(&part, ctx))
        return flags;
    flags |= open_container(&part, depth_max, stack, &sp);
    while (sp > 0) {
        f = &stack[sp - 1];
        if (!next_child(f, &cstart, &clen)) {
            sp--;
            continue;
        }
        if (nparts >= lim->parts_max) {
            flags |= SW_MIME_CUT_PARTS;
            break;
        }
        memset(&part, 0, sizeof(part));
        flags |= read_part(cstart, clen, field_max, f->digest, &part);
        part.depth = f->depth;
        part.index = nparts++;
        part.in_message = f->in_message;
        part.message_header = f->message;
        if (!visit(&part, ctx))
            break;
        flags |= open_container(&part, depth_max, stack, &sp);
    }
    return flags;
}
