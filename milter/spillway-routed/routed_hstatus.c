/* routed_hstatus.c - relay health and DNSBL listings for status and explain */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "global/answer.h"
#include "routed.h"

/* routed_health_text - the health section of "status" */
void
routed_health_text(const struct routed *rd, struct sw_buf *out)
{
    const struct sw_relay_health *h;
    const struct sw_haddr *a;
    char sum[160], t[32];
    time_t now = time(NULL);
    size_t i, k;

    if (rd->health == NULL)
        return;
    (void) sw_buf_adds(out, "\nhealth:\n");
    for (i = 0; i < rd->conf->nrelays; i++) {
        h = &rd->health[i];
        sw_health_summary(h, sum, sizeof(sum));
        (void) sw_buf_printf(out, "  %-16s %s", rd->conf->relays[i].name, sum);
        if (h->dns_error[0] && h->naddrs)
            (void) sw_buf_printf(out, " (dns %s: addresses kept)", h->dns_error);
        (void) sw_buf_addc(out, '\n');
        for (k = 0; k < h->naddrs; k++) {
            a = &h->addr[k];
            (void) sw_buf_printf(out, "    %-15s %-7s", a->ip, h->probed ? sw_hstate_name(a->state) : "-");
            if (a->changed) {
                (void) strftime(t, sizeof(t), "%H:%M:%S", localtime(&a->changed));
                (void) sw_buf_printf(out, " since %s", t);
            }
            if (h->probed && a->state == SW_HSTATE_UP)
                (void) sw_buf_printf(out, " %ld ms%s%s", a->ms[SW_MARK_DONE], a->tls[0] ? " " : "",
                                     a->tls);
            if (h->probed && a->state == SW_HSTATE_DOWN) {
                (void) sw_buf_printf(out, " fails %d, next in %lds: \"", a->fails,
                                     (long) (a->next > now ? a->next - now : 0));
                (void) sw_buf_add_escaped(out, a->why, SW_HEALTH_WHY_MAX);
                (void) sw_buf_addc(out, '"');
            }
            if (a->listed[0])
                (void) sw_buf_printf(out, " LISTED %s", a->listed);
            (void) sw_buf_addc(out, '\n');
        }
    }
    routed_dnsbl_status(rd, out);
}

/* routed_health_json - ,"health":{...} for one relay of "status --json" */
void
routed_health_json(const struct routed *rd, size_t i, struct sw_buf *out)
{
    const struct sw_relay_health *h;
    const struct sw_haddr *a;
    size_t k, up;

    if (rd->health == NULL)
        return;
    h = &rd->health[i];
    (void) sw_buf_printf(out, ",\"health\":{\"state\":\"%s\",",
                         sw_rstate_name(sw_health_state(h, &up)));
    (void) sw_buf_printf(out, "\"up\":%zu,\"dns_error\":", up);
    (void) sw_buf_add_json(out, h->dns_error);
    (void) sw_buf_adds(out, ",\"addresses\":[");
    for (k = 0; k < h->naddrs; k++) {
        a = &h->addr[k];
        (void) sw_buf_printf(out, "%s{\"ip\":\"%s\",\"state\":\"%s\",\"fails\":%d,\"ms\":%ld,\"tls\":",
                             k ? "," : "", a->ip, sw_hstate_name(a->state), a->fails,
                             a->ms[SW_MARK_DONE]);
        (void) sw_buf_add_json(out, a->tls);
        (void) sw_buf_adds(out, ",\"why\":");
        (void) sw_buf_add_json(out, a->why);
        (void) sw_buf_adds(out, ",\"listed\":");
        (void) sw_buf_add_json(out, a->listed);
        (void) sw_buf_addc(out, '}');
    }
    (void) sw_buf_adds(out, "]}");
}

/* routed_health_explain - what health and DNSBL say about an answer */
void
routed_health_explain(const struct routed *rd, const struct sw_answer *a, struct sw_buf *out)
{
    struct sw_policy p = routed_policy(rd);
    const struct sw_relay_health *h;
    const struct sw_relay *prim;
    char sum[160], why[256];

    if (a->relay && (h = sw_policy_health(&p, a->relay)) != NULL && h->probed) {
        sw_health_summary(h, sum, sizeof(sum));
        (void) sw_buf_printf(out, "health:   relay %s %s%s\n", a->relay->name, sum,
                             sw_health_pinned(h) ? ": answers name its up addresses" : "");
    } else if (a->relay == NULL && (prim = sw_answer_primary(rd->conf, a->pool)) != NULL
               && (h = sw_policy_health(&p, prim)) != NULL && h->probed) {
        sw_health_summary(h, sum, sizeof(sum));
        (void) sw_buf_printf(out, "health:   primary relay %s %s\n", prim->name, sum);
    }
    if (a->scope && routed_dnsbl_scope_listed(rd, a->scope, why, sizeof(why)))
        (void) sw_buf_printf(out,
                             "dnsbl:    %s: corroborates the evidence; the scope stays "
                             "diverted while it is listed\n",
                             why);
}
