/* userid.c - a user named in a configuration, as a uid */
#include "config.h"

#include <pwd.h>
#include <stdlib.h>

#include "util/userid.h"

/* sw_uid_of - "1001" or "postfix" */
bool
sw_uid_of(const char *name, uid_t *uid)
{
    const struct passwd *pw;
    unsigned long v;
    char *end;

    v = strtoul(name, &end, 10);
    if (*name != '\0' && *end == '\0') {
        *uid = (uid_t) v;
        return true;
    }
    if ((pw = getpwnam(name)) == NULL)
        return false;
    *uid = pw->pw_uid;
    return true;
}
