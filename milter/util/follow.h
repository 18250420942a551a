/* follow.h - follow a growing mail log, line by line, without blocking */
#ifndef SW_FOLLOW_H
#define SW_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/*
 * Like "tail -F" for an event loop: no threads, no blocking reads, a bounded
 * amount of work per call.  A regular file is polled on a timer (epoll cannot
 * watch regular files): sw_follow_fd() is then -1.  Standard input (a pipe
 * from journalctl or a syslog daemon's program action) is non-blocking and
 * has an fd to watch for readability.
 *
 * Rotation: when the path names another file (rename, or delete and
 * re-create) the old file is read to its end first, then the new one from
 * its start; a missing path (between rename and re-creation) is retried at
 * the next poll while the old file keeps being read.  A file that became
 * shorter than what was read (copytruncate) is read again from its start.
 * Both count as rotations.  Lines that a writer appends to the old file after
 * the switch are not read (as with tail -F): rotate by rename and let the
 * MTA reopen its log (postlogd, syslog daemons do).
 */
#define SW_FOLLOW_MAX_LINE          8192            /* longer lines are cut */
#define SW_FOLLOW_DEFAULT_MAX_BYTES (1024u * 1024u) /* sw_follow_poll(max_bytes = 0) */

struct sw_follow;

/* Open PATH ("-" = standard input).  from_end: start at the end (daemon
 * start) or at the beginning (tests).  A missing file is not an error: it
 * is opened, from its start, by the first poll that finds it.  NULL with a
 * message in err (a path that is not a regular file, no permission, ...). */
struct sw_follow *sw_follow_open(const char *path, bool from_end, struct sw_buf *err);

/* Read what is new, at most max_bytes (0: SW_FOLLOW_DEFAULT_MAX_BYTES), and
 * call fn for each complete line, without its "\n" (line[len] is a NUL;
 * the line may hold other NUL bytes).  A line longer than SW_FOLLOW_MAX_LINE
 * is delivered cut to that length and its rest skipped.  Returns the number
 * of lines delivered, or -1 with a message in err: a read or open error
 * (the follower stays usable and retries at the next poll), or the end of
 * standard input (its writer is gone: stop watching the fd). */
long sw_follow_poll(struct sw_follow *f, size_t max_bytes,
                    void (*fn)(const char *line, size_t len, void *ctx), void *ctx,
                    struct sw_buf *err);

/* Counters for status: lines delivered, of which cut, rotations (renames,
 * re-creations and truncations). */
void sw_follow_stats(const struct sw_follow *f, unsigned long *lines, unsigned long *cut,
                     unsigned long *rotations);

/* For standard input (a pipe or socket): the fd to watch; -1 for regular
 * files (poll them on a timer). */
int sw_follow_fd(const struct sw_follow *f);

/* Close and free (NULL is allowed). */
void sw_follow_close(struct sw_follow *f);

#endif
