/* buf.c - bounded dynamic text buffer */

/*
 * Owns nothing but its own storage.  Growth doubles the allocation up to
 * the cap; the cap is the only defence against a peer that sends an
 * unbounded amount of text, so every caller chooses one with a named limit.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* sw_buf_init - start an empty buffer that holds at most max bytes */
void
sw_buf_init(struct sw_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->size = 0;
    b->max = max;
    b->overflow = false;
}

/* sw_buf_free - release storage */
void
sw_buf_free(struct sw_buf *b)
{
    free(b->data);
    sw_buf_init(b, b->max);
}

/* sw_buf_reset - empty the buffer, keep storage */
void
sw_buf_reset(struct sw_buf *b)
{
    b->len = 0;
    b->overflow = false;
    if (b->data)
        b->data[0] = '\0';
}

/* reserve - make room for n more bytes plus the terminator */
static bool
reserve(struct sw_buf *b, size_t n)
{
    size_t need, size;
    char *p;

    if (n > b->max || b->len > b->max - n) {
        b->overflow = true;
        return false;
    }
    need = b->len + n + 1;
    if (need <= b->size)
        return true;
    size = b->size ? b->size : 64;
    while (size < need)
        size = size > SIZE_MAX / 2 ? need : size * 2;
    if ((p = realloc(b->data, size)) == NULL) {
        b->overflow = true;
        return false;
    }
    b->data = p;
    b->size = size;
    return true;
}

/* sw_buf_add - append n bytes */
bool
sw_buf_add(struct sw_buf *b, const void *p, size_t n)
{
    if (!reserve(b, n))
        return false;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

/* sw_buf_adds - append a string */
bool
sw_buf_adds(struct sw_buf *b, const char *s)
{
    return sw_buf_add(b, s, strlen(s));
}

/* sw_buf_addc - append one byte */
bool
sw_buf_addc(struct sw_buf *b, char c)
{
    return sw_buf_add(b, &c, 1);
}

/* sw_buf_vprintf - append formatted text */
bool
sw_buf_vprintf(struct sw_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || !reserve(b, (size_t) n)) {
        b->overflow = true;
        return false;
    }
    (void) vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    b->len += (size_t) n;
    return true;
}

/* sw_buf_printf - append formatted text */
bool
sw_buf_printf(struct sw_buf *b, const char *fmt, ...)
{
    va_list ap;
    bool ok;

    va_start(ap, fmt);
    ok = sw_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return ok;
}

/* sw_buf_add_escaped - append untrusted text, safe for a log line */
bool
sw_buf_add_escaped(struct sw_buf *b, const char *s, size_t max_in)
{
    size_t i;
    unsigned char c;
    bool ok = true;

    for (i = 0; s[i] && ok; i++) {
        if (i >= max_in)
            return sw_buf_adds(b, "...");
        c = (unsigned char) s[i];
        if (c == '"' || c == '\\')
            ok = sw_buf_addc(b, '\\') && sw_buf_addc(b, (char) c);
        else if (c < 0x20 || c == 0x7f)
            ok = sw_buf_printf(b, "\\x%02x", c);
        else
            ok = sw_buf_addc(b, (char) c);
    }
    return ok;
}

/* utf8_len - the length of a valid UTF-8 sequence at s (RFC 3629
 * section 4: no overlong forms, no surrogates, nothing past U+10FFFF),
 * or 0 */
static size_t
utf8_len(const unsigned char *s)
{
    size_t n, i;
    unsigned lo = 0x80, hi = 0xbf;

    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (s[0] == 0xe0)
        lo = 0xa0;
    else if (s[0] == 0xed)
        hi = 0x9f;
    else if (s[0] == 0xf0)
        lo = 0x90;
    else if (s[0] == 0xf4)
        hi = 0x8f;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0; /* the NUL that ends s stops here too */
    return n;
}

/* sw_buf_add_json - append a JSON string literal (RFC 8259 section 7)
 *
 * JSON text is UTF-8 (RFC 8259 section 8.1), and bounce texts often are
 * not.  Valid UTF-8 is copied; a byte that does not start a valid
 * sequence is written as the Latin-1 character of the same value
 * ("\u00e9" for 0xe9).  Latin-1 (and Windows-1252, which shares its
 * letters) is what such bytes most often are in a refusal, so the text
 * reads right, and unlike U+FFFD the byte is not lost: an operator can
 * still tell which byte the server sent. */
bool
sw_buf_add_json(struct sw_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *) s;
    unsigned char c;
    bool ok = sw_buf_addc(b, '"');
    size_t n;

    for (; *p && ok; p++) {
        c = *p;
        if (c == '"' || c == '\\')
            ok = sw_buf_addc(b, '\\') && sw_buf_addc(b, (char) c);
        else if (c < 0x20 || c == 0x7f)
            ok = sw_buf_printf(b, "\\u%04x", c);
        else if (c < 0x80)
            ok = sw_buf_addc(b, (char) c);
        else if ((n = utf8_len(p)) > 0) {
            ok = sw_buf_add(b, (const char *) p, n);
            p += n - 1;
        } else
            ok = sw_buf_printf(b, "\\u%04x", c);
    }
    return ok && sw_buf_addc(b, '"');
}

/* sw_buf_str - the content, never NULL */
const char *
sw_buf_str(const struct sw_buf *b)
{
    return b->data ? b->data : "";
}

/* sw_copy_cut - bounded copy into a fixed array */
void
sw_copy_cut(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (size == 0)
        return;
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}
