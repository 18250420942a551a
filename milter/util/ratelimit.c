/* ratelimit.c - one log line per cause per interval, with the count held back */
#include "config.h"

#include <time.h>

#include "util/ratelimit.h"

/* sw_ratelimit_pass - log this event, or count it */
bool
sw_ratelimit_pass(struct sw_ratelimit *rl, time_t now, unsigned long *held)
{
    /* A clock that went back (a caller mixing clocks) logs rather than
     * silencing the cause for good. */
    if (rl->started && rl->interval > 0 && now >= rl->last && now - rl->last < rl->interval) {
        if (rl->suppressed < (unsigned long) -1)
            rl->suppressed++;
        return false;
    }
    *held = rl->suppressed;
    rl->suppressed = 0;
    rl->last = now;
    rl->started = true;
    return true;
}

/* sw_ratelimit_check - the same, now */
bool
sw_ratelimit_check(struct sw_ratelimit *rl, unsigned long *held)
{
    return sw_ratelimit_pass(rl, sw_ratelimit_now(), held);
}

/* sw_ratelimit_now - seconds of CLOCK_MONOTONIC */
time_t
sw_ratelimit_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return ts.tv_sec;
}
