/* mbox.h - the messages of a file that may be an mbox */
#ifndef SW_MBOX_H
#define SW_MBOX_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The next message of a file at *off, which may be an mbox (messages
 * after "From sender date" lines, the first at the start): its start
 * and length; false at the end.  A file that does not begin with such a
 * line is one message.  *off starts at 0.
 */
bool sw_mbox_next(const char *s, size_t len, size_t *off, size_t *start, size_t *n);

#endif
