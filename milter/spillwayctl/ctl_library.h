/* ctl_library.h - spillwayctl classify and patterns (no daemon) */
#ifndef SW_CTL_LIBRARY_H
#define SW_CTL_LIBRARY_H

#include <stdbool.h>

struct ctl_library_args {
    const char *conf;     /* -c FILE, or NULL */
    const char *patterns; /* --patterns FILE, or NULL */
    const char *default_conf;
    const char *default_patterns;
    bool json;
};

/* Exit status: 0, or 2 when the library or configuration is bad. */
int ctl_classify(const struct ctl_library_args *a, const char *text);
int ctl_patterns(const struct ctl_library_args *a);

#endif
