/* backoff.h - retry with a doubling delay, and say when the outcome changes */
#ifndef SW_BACKOFF_H
#define SW_BACKOFF_H

#include <stdbool.h>

/*
 * For work that must be done again until it succeeds (a state save, a
 * table render): after the first failure the next attempt waits min_ms,
 * then twice as long after each further failure, up to max_ms.  The
 * caller logs only when sw_backoff_result says the outcome changed
 * (failing, recovered), so a fault that lasts an hour costs two lines,
 * not one per attempt.  Pure: no clock, no I/O; one owner per struct.
 */
struct sw_backoff {
    long min_ms;            /* first retry after this */
    long max_ms;            /* and never more than this apart */
    long next_ms;           /* the wait before the next retry; 0 while all is well */
    unsigned long failures; /* attempts that failed in a row */
};

#define SW_BACKOFF_INIT(min_ms, max_ms) \
    {                                   \
        (min_ms), (max_ms), 0, 0        \
    }

enum sw_backoff_change {
    SW_BACKOFF_SAME,      /* as before: log nothing */
    SW_BACKOFF_FAILING,   /* the first failure after success (or ever) */
    SW_BACKOFF_RECOVERED, /* the first success after failures */
};

/* Record one attempt's outcome; what changed. */
enum sw_backoff_change sw_backoff_result(struct sw_backoff *b, bool ok);
/* Milliseconds to wait before the next attempt (after a failure). */
long sw_backoff_delay(const struct sw_backoff *b);
/* True while the last attempt failed. */
bool sw_backoff_failing(const struct sw_backoff *b);

#endif
