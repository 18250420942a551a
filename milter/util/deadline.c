/* deadline.c - a coalesced deadline that later requests cannot postpone past a bound */
#include "config.h"

#include "util/deadline.h"

/* sw_deadline_request - one more request */
void
sw_deadline_request(struct sw_deadline *d, time_t now)
{
    if (!d->pending) {
        d->pending = true;
        d->first = d->last = now;
    } else if (now > d->last) {
        d->last = now;
    }
}

/* sw_deadline_due - the delay after the latest, capped by the bound after the first */
time_t
sw_deadline_due(const struct sw_deadline *d, time_t delay, time_t bound)
{
    time_t by_last = d->last + delay, by_first = d->first + bound;

    return by_last < by_first ? by_last : by_first;
}

/* sw_deadline_ran - what the run served, and what still waits */
void
sw_deadline_ran(struct sw_deadline *d, time_t now, time_t settle)
{
    if (!d->pending)
        return;
    if (d->last <= now - settle) {
        d->pending = false;
        return;
    }
    /* Requests after now - settle were not served.  The oldest of them is
     * not known, only that it is no older than now - settle: counting the
     * bound from there runs early rather than late. */
    if (d->first < now - settle)
        d->first = now - settle;
}
