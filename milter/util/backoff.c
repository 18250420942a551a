/* backoff.c - retry with a doubling delay, and say when the outcome changes */
#include "config.h"

#include "util/backoff.h"

/* sw_backoff_result - one attempt done: double the wait, or reset it */
enum sw_backoff_change
sw_backoff_result(struct sw_backoff *b, bool ok)
{
    if (ok) {
        if (b->failures == 0)
            return SW_BACKOFF_SAME;
        b->failures = 0;
        b->next_ms = 0;
        return SW_BACKOFF_RECOVERED;
    }
    if (b->failures < (unsigned long) -1)
        b->failures++;
    if (b->failures == 1 || b->next_ms <= 0)
        b->next_ms = b->min_ms;
    else if (b->next_ms > b->max_ms / 2) /* doubling would pass the cap (or overflow) */
        b->next_ms = b->max_ms;
    else
        b->next_ms *= 2;
    if (b->next_ms > b->max_ms)
        b->next_ms = b->max_ms;
    if (b->next_ms < 0)
        b->next_ms = 0;
    return b->failures == 1 ? SW_BACKOFF_FAILING : SW_BACKOFF_SAME;
}

/* sw_backoff_delay - the wait before the next attempt */
long
sw_backoff_delay(const struct sw_backoff *b)
{
    return b->next_ms;
}

/* sw_backoff_failing - did the last attempt fail? */
bool
sw_backoff_failing(const struct sw_backoff *b)
{
    return b->failures > 0;
}
