/* deadline.h - a coalesced deadline that later requests cannot postpone past a bound */
#ifndef SW_DEADLINE_H
#define SW_DEADLINE_H

#include <stdbool.h>
#include <time.h>

/*
 * Work asked for by events that may keep coming (a queue flush after each
 * routing switch): it runs `delay` seconds after the latest request, so a
 * burst costs one run, but never later than `bound` seconds after the
 * oldest request still waiting, so a steady stream cannot put it off for
 * ever.  A run serves the requests at least `settle` seconds old (a flush
 * that must come after Postfix's 30 s resolve cache has settle = 30 s);
 * younger ones keep it pending.  Pure: the time is an argument
 * (CLOCK_MONOTONIC seconds at the call sites).
 */
struct sw_deadline {
    bool pending; /* a request waits */
    time_t first; /* the oldest waiting request (or a time no later than it) */
    time_t last;  /* the latest request */
};

/* A request at now. */
void sw_deadline_request(struct sw_deadline *d, time_t now);
/* When the work is due: min(last + delay, first + bound); only if pending. */
time_t sw_deadline_due(const struct sw_deadline *d, time_t delay, time_t bound);
/* The work ran at now: requests at least settle old are served. */
void sw_deadline_ran(struct sw_deadline *d, time_t now, time_t settle);

#endif
