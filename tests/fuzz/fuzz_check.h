/* fuzz_check.h - invariants the fuzz targets check on parsed fields */
#ifndef SW_FUZZ_CHECK_H
#define SW_FUZZ_CHECK_H

#include <stdbool.h>

/* fz_plain - no control bytes; no upper case when lower is set */
static inline bool
fz_plain(const char *s, bool lower)
{
    for (; *s; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f)
            return false;
        if (lower && *s >= 'A' && *s <= 'Z')
            return false;
    }
    return true;
}

/* fz_status_shape - "" or an enhanced status C.S.D: C in 2, 4, 5 and 1-3
 * digits after each dot */
static inline bool
fz_status_shape(const char *s)
{
    int part, digits;

    if (*s == '\0')
        return true;
    if (*s != '2' && *s != '4' && *s != '5')
        return false;
    s++;
    for (part = 0; part < 2; part++) {
        if (*s++ != '.')
            return false;
        for (digits = 0; *s >= '0' && *s <= '9'; s++)
            digits++;
        if (digits < 1 || digits > 3)
            return false;
    }
    return *s == '\0';
}

#endif
