/* ratelimit.h - one log line per cause per interval, with the count held back */
#ifndef SW_RATELIMIT_H
#define SW_RATELIMIT_H

#include <stdbool.h>
#include <time.h>

/*
 * Warnings that outside input causes (a refused datagram, a refused
 * control peer, an unparsable log line) must not let whoever sends that
 * input fill the log.  One struct sw_ratelimit per cause: the first event
 * is logged at once, later ones within the interval are only counted, and
 * the next line that is logged says how many were held back.  Pure: time
 * is an argument (CLOCK_MONOTONIC seconds at the call sites).  Not
 * thread-safe: one owner per struct.
 */
struct sw_ratelimit {
    time_t interval;          /* seconds between two lines; <= 0: every event */
    bool started;             /* a line was logged once */
    time_t last;              /* when the last line was logged */
    unsigned long suppressed; /* events since then that were not logged */
};

#define SW_RATELIMIT_INIT(seconds) { (seconds), false, 0, 0 }

/* True when this event is to be logged; *held then gets the number of
 * events held back since the last line (and the count restarts). */
bool sw_ratelimit_pass(struct sw_ratelimit *rl, time_t now, unsigned long *held);

/* sw_ratelimit_pass at the monotonic clock's now: what the daemons call. */
bool sw_ratelimit_check(struct sw_ratelimit *rl, unsigned long *held);

/* Monotonic seconds (CLOCK_MONOTONIC), for rate limits and deadlines. */
time_t sw_ratelimit_now(void);

#endif
