/* render_tls.c - the TLS policy table for relays reached by address */
#include "config.h"

#include <string.h>

#include "global/render_tls.h"

/* sw_render_tls_policy - smtp_tls_policy_maps entries for relays reached
 * by address: a partial relay is named "[192.0.2.1]:587", and Postfix
 * looks its TLS policy up under that name, so each resolved address of a
 * relay whose probe verifies its certificate gets "secure" with the
 * relay's name to match (and to send as SNI). */
bool
sw_render_tls_policy(const struct sw_policy *p, struct sw_buf *out)
{
    const struct sw_relay *r;
    const struct sw_relay_health *h;
    const char *name;
    bool ok = sw_buf_adds(out, "# spillway: TLS policy for relays reached by address "
                               "(generated; do not edit)\n");
    size_t i, k;

    for (i = 0; ok && i < p->conf->nrelays; i++) {
        r = &p->conf->relays[i];
        if (!r->probe.starttls || !r->probe.verify || (h = sw_policy_health(p, r)) == NULL)
            continue;
        for (k = 0; ok && k < h->naddrs; k++) {
            name = r->probe.name ? r->probe.name : h->addr[k].name;
            ok = sw_buf_printf(out, "[%s%s]:%d\tsecure match=%s servername=%s\n",
                               strchr(h->addr[k].ip, ':') ? "ipv6:" : "", h->addr[k].ip, r->port,
                               name, name);
        }
    }
    return ok;
}
