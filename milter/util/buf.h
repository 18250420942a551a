/* buf.h - bounded dynamic text buffer */
#ifndef SW_BUF_H
#define SW_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * A growable byte buffer that never exceeds a cap set at creation.  Appends
 * that would pass the cap fail and set the overflow flag; the content stays
 * NUL-terminated so it can always be printed.  Used for every piece of text
 * that is built from outside input (replies, log lines, rendered tables).
 */
struct sw_buf {
    char *data;
    size_t len;
    size_t size;
    size_t max;
    bool overflow;
};

void sw_buf_init(struct sw_buf *b, size_t max);
void sw_buf_free(struct sw_buf *b);
void sw_buf_reset(struct sw_buf *b);
bool sw_buf_add(struct sw_buf *b, const void *p, size_t n);
bool sw_buf_adds(struct sw_buf *b, const char *s);
bool sw_buf_addc(struct sw_buf *b, char c);
bool sw_buf_printf(struct sw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool sw_buf_vprintf(struct sw_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append s with control characters, quotes and backslashes escaped, cut
 * after max_in input bytes (marked with "..."). */
bool sw_buf_add_escaped(struct sw_buf *b, const char *s, size_t max_in);
/* Append s as a JSON string literal (with the quotes); bytes that are not
 * UTF-8 become \u00XX, the Latin-1 character of the same value. */
bool sw_buf_add_json(struct sw_buf *b, const char *s);
const char *sw_buf_str(const struct sw_buf *b);

/* Copy a string into a fixed array, keeping the prefix that fits
 * (records keep a prefix of long fields). */
void sw_copy_cut(char *dst, size_t size, const char *src);
#define SW_COPY(dst, src) sw_copy_cut((dst), sizeof(dst), (src))

#endif
