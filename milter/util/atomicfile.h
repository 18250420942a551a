/* atomicfile.h - replace a file's contents all at once */
#ifndef SW_ATOMICFILE_H
#define SW_ATOMICFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"

/*
 * PATH.tmp is written, fsync'ed and renamed over path, so a reader (Postfix,
 * the next start) sees the old contents or the new, never a part; a failure
 * removes the temporary file and leaves path as it was.  Used for the state
 * file and the rendered tables.
 */

/* Replace path with data[0..len), mode for a new file; false with the
 * reason ("open PATH.tmp: ...", "write ...", "rename to ...") in why. */
bool sw_file_replace(const char *path, const char *data, size_t len, mode_t mode,
                     struct sw_buf *why);

/* fsync the directory of path, so that a rename survives a power cut. */
bool sw_fsync_dir(const char *path);

#endif
