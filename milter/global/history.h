/* history.h - the last decisions, for "spillwayctl history" */
#ifndef SW_HISTORY_H
#define SW_HISTORY_H

#include <stddef.h>

#include "global/route.h"

/*
 * A ring of the most recent decisions, in memory.  The durable record is
 * syslog; this is the operator's quick look.  Owns its entries.
 */
struct sw_history;

struct sw_history *sw_history_new(size_t capacity);
void sw_history_free(struct sw_history *h);
void sw_history_add(struct sw_history *h, const struct sw_decision *d);
size_t sw_history_count(const struct sw_history *h);
/* i = 0 is the oldest kept. */
const struct sw_decision *sw_history_get(const struct sw_history *h, size_t i);

#endif
