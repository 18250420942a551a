/* evidence.c - one observation that may count against a pool */
#include "config.h"

#include <string.h>

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

/* sw_ev_source_parse - inverse of sw_ev_source_name */
bool
sw_ev_source_parse(const char *s, enum sw_ev_source *src)
{
    static const enum sw_ev_source all[] = { SW_EV_LOG, SW_EV_DSN, SW_EV_PROBE, SW_EV_DNSBL,
                                             SW_EV_OPERATOR };
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(s, sw_ev_source_name(all[i])) == 0) {
            *src = all[i];
            return true;
        }
    return false;
}
