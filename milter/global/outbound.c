/* outbound.c - which mail leaves through us: only that is tagged */
#include "config.h"

#include <string.h>

#include "global/attrib.h"
#include "global/outbound.h"

/* sw_outbound - tag this message? */
bool
sw_outbound(const struct sw_milter_conf *m, const char *client, bool authenticated)
{
    size_t i;

    if (m->out_auth && authenticated)
        return true;
    if (client == NULL)
        return false;
    if (strcmp(client, "local") == 0)
        return true; /* a process on this host, over a unix socket */
    for (i = 0; i < m->out_networks.n; i++)
        if (sw_cidr_match(m->out_networks.v[i], client))
            return true;
    return false;
}
