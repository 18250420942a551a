/* ctl_library.h - spillwayctl classify and patterns (no daemon) */
#ifndef SW_CTL_LIBRARY_H
#define SW_CTL_LIBRARY_H

#include <stdbool.h>
#include <stddef.h>

#define CTL_PATTERNS_MAX 8

struct ctl_library_args {
    const char *conf; /* -c FILE, or NULL */
    /* --patterns FILE...: the library, then files of overrides read as an
     * operator's patterns list (same names replace, enabled = false
     * removes); none: -c or the default configuration */
    const char *patterns[CTL_PATTERNS_MAX];
    size_t npatterns;
    const char *default_conf;
    const char *default_patterns;
    bool json;
};

/* Exit status: 0, or 2 when the library or configuration is bad. */
int ctl_classify(const struct ctl_library_args *a, const char *text);
int ctl_patterns(const struct ctl_library_args *a);

#endif
