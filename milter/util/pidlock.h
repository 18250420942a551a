/* pidlock.h - one running instance per lock file, and who holds it */
#ifndef SW_PIDLOCK_H
#define SW_PIDLOCK_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/buf.h"

/*
 * A daemon takes an exclusive flock(2) on a file beside its sockets
 * before it binds anything, and writes its pid there.  The kernel drops
 * the lock when the process dies, however it dies, so a stale file never
 * blocks a start; a second start finds the lock held and names the pid
 * that holds it.  The descriptor stays open (close-on-exec) for the life
 * of the process.
 */

/* Take the lock at path: its descriptor, or -1 with the reason in err
 * ("already running as pid N (lock PATH)" when another process holds it;
 * *holder is then that pid, else 0). */
int sw_pidlock_take(const char *path, pid_t *holder, struct sw_buf *err);

/* A unix socket at path that a process still listens on (stream) or is
 * bound to (datagram): connecting to it succeeds.  False for a stale
 * socket, no file, or another kind of file. */
bool sw_unix_socket_live(const char *path, int type);

#endif
