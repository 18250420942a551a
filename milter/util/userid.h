/* userid.h - a user named in a configuration, as a uid */
#ifndef SW_USERID_H
#define SW_USERID_H

#include <stdbool.h>
#include <sys/types.h>

/* name: a decimal uid or a user name (getpwnam: call it at start and at a
 * reload, never from an event on the mail path).  False when it names no
 * user. */
bool sw_uid_of(const char *name, uid_t *uid);

#endif
