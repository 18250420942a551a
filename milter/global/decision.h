/* decision.h - one log line per decision (DESIGN.md 5.5) */
#ifndef SW_DECISION_H
#define SW_DECISION_H

#include <stdbool.h>

#include "util/buf.h"
#include "global/route.h"

/*
 * "pin: scope=destination:example.com from=primary to=alt-eu for=2h
 *  uid=0 reason="provider incident 4711""
 * Keys in a fixed order; untrusted values escaped and capped.
 */
bool sw_decision_format(const struct sw_decision *d, struct sw_buf *out);
/* The same as a JSON object. */
bool sw_decision_json(const struct sw_decision *d, struct sw_buf *out);

#endif
