/* evidence.c - one observation that may count against a pool */
#include "config.h"

#include "global/evidence.h"

/* sw_ev_source_name - the word used in logs ("evidence=log:4 dsn:1") */
const char *
sw_ev_source_name(enum sw_ev_source s)
{
    switch (s) {
    case SW_EV_DSN: return "dsn";
    case SW_EV_PROBE: return "probe";
    case SW_EV_DNSBL: return "dnsbl";
    case SW_EV_OPERATOR: return "operator";
    default: return "log";
    }
}
