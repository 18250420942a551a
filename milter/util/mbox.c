/* mbox.c - the messages of a file that may be an mbox */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "util/mbox.h"

/* mbox_from - an mbox separator line: "From " sender, then a date with a
 * time (hh:mm) and a four-digit year, as mail stores write it; a line of
 * a body that merely begins with "From " has no such date */
static bool
mbox_from(const char *s, size_t n)
{
    size_t i = 5;
    bool time = false, year = false;

    if (n < 5 || memcmp(s, "From ", 5) != 0)
        return false;
    if (i >= n || s[i] == ' ')
        return false;
    while (i < n && s[i] != ' ')
        i++;
    for (; i < n; i++) {
        if (i + 2 < n && s[i] == ':' && isdigit((unsigned char) s[i - 1])
            && isdigit((unsigned char) s[i + 1]) && isdigit((unsigned char) s[i + 2]))
            time = true;
        if (i + 4 <= n && s[i - 1] == ' ' && isdigit((unsigned char) s[i])
            && isdigit((unsigned char) s[i + 1]) && isdigit((unsigned char) s[i + 2])
            && isdigit((unsigned char) s[i + 3])
            && (i + 4 == n || s[i + 4] == ' ' || s[i + 4] == '\r'))
            year = true;
    }
    return time && year;
}

/* sw_mbox_next - one message of a file that may be an mbox */
bool
sw_mbox_next(const char *s, size_t len, size_t *off, size_t *start, size_t *n)
{
    const char *p, *nl, *end = s + len;

    if (*off >= len)
        return false;
    *start = *off;
    /* Not an mbox: the whole file is one message. */
    nl = memchr(s, '\n', len);
    if (!mbox_from(s, nl ? (size_t) (nl - s) : len)) {
        *n = len - *off;
        *off = len;
        return true;
    }
    /* The separator line stays with its message: the parser skips it. */
    nl = memchr(s + *off, '\n', len - *off);
    for (p = nl ? nl + 1 : end; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t) (end - p));
        if (mbox_from(p, nl ? (size_t) (nl - p) : (size_t) (end - p)))
            break;
        if (nl == NULL) {
            p = end;
            break;
        }
    }
    *n = (size_t) (p - (s + *start));
    *off = (size_t) (p - s);
    return true;
}
