/* tsv.h - reading the corpus label files (tab-separated, a header line) */
#ifndef SW_TEST_TSV_H
#define SW_TEST_TSV_H

#include <stddef.h>
#include <string.h>

/* tsv_split - the fields of one line, in place; returns how many */
static inline int
tsv_split(char *line, char **f, int max)
{
    int n = 0;

    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        f[n++] = line;
        if ((line = strchr(line, '\t')) == NULL)
            break;
        *line++ = '\0';
    }
    return n;
}

/* tsv_column - index of a header name, or -1 */
static inline int
tsv_column(char **h, int nh, const char *name)
{
    int i;

    for (i = 0; i < nh; i++)
        if (strcmp(h[i], name) == 0)
            return i;
    return -1;
}

/* tsv_ratio - a/b, 0 when b is 0 */
static inline double
tsv_ratio(size_t a, size_t b)
{
    return b ? (double) a / (double) b : 0.0;
}

#endif
