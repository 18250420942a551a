/* engine.h - automatic decisions from evidence: thresholds, holds, returns */
#ifndef SW_ENGINE_H
#define SW_ENGINE_H

#include <stdbool.h>
#include <time.h>

#include "global/evidence.h"
#include "global/policy.h"
#include "global/route.h"

/*
 * The rules of DESIGN.md 3-4 applied to a stream of observations.  For each
 * scope that saw trouble the engine keeps a bounded window of distinct
 * events (per queue id and recipient) and of the successes since; when a
 * rule's threshold is crossed (events within the window, and their ratio
 * against successes) the scope is diverted to an eligible alternate for
 * the rule's hold.  While probing, primary successes bring it back and a
 * new event sends it back with a doubled hold (capped at hold_max).
 *
 * Pure: time is in the observation or an argument, decisions go to a
 * callback, nothing is logged or written.  Owns its trackers.
 */
struct sw_observation {
    struct sw_evidence ev;
    bool via_primary; /* delivered (or tried) through a primary relay of ev.pool */
};

typedef void (*sw_decision_fn)(const struct sw_decision *d, void *ctx);

/* Largest threshold.events a rule may have (the window keeps this many). */
#define SW_ENGINE_MAX_EVENTS 256

struct sw_engine;

struct sw_engine *sw_engine_new(void);
void sw_engine_free(struct sw_engine *e);

/* One observation; decisions (divert, return) go to fn.  A threshold
 * crossed with no eligible relay makes one "stay" decision (a warning)
 * per episode. */
void sw_engine_observe(struct sw_engine *e, const struct sw_policy *p, struct sw_route *r,
                       const struct sw_observation *o, sw_decision_fn fn, void *ctx);
/* Deliveries in the last hour per relay, indexed like conf->relays (for
 * max_per_hour).  The array is owned by the engine. */
const unsigned long *sw_engine_usage(struct sw_engine *e, const struct sw_conf *conf, time_t now);
/* Events and successes in [now - window, now] for a scope key. */
void sw_engine_window(const struct sw_engine *e, const char *key, time_t now, long window,
                      unsigned classes, long *events, long *successes);
/* Forget trackers with nothing newer than now - max_age. */
void sw_engine_sweep(struct sw_engine *e, time_t now, long max_age);
size_t sw_engine_trackers(const struct sw_engine *e);

#endif
