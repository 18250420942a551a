/* answer.c - the route for a destination, as the MTA is told it */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "global/answer.h"

/* decide - destination scopes first, then the pool's */
static void
decide(const struct sw_policy *p, const struct sw_route *r, const char *domain,
       struct sw_answer *a)
{
    const struct sw_relay *relay;
    const struct sw_scope *s;
    const char *no;

    memset(a, 0, sizeof(*a));
    a->pool = sw_conf_pool_for(p->conf, domain);
    if (domain && (s = sw_route_find_destination(r, domain)) != NULL) {
        relay = sw_conf_relay(p->conf, s->relay);
        no = relay ? sw_policy_ineligible(p, relay, domain, false) : "is not configured";
        if (no == NULL) {
            a->relay = relay;
            a->scope = s;
            return;
        }
        a->held = true;
        (void) snprintf(a->why, sizeof(a->why), "%s names relay %s, which %s", s->key, s->relay,
                        no);
        return;
    }
    if (a->pool == NULL || (s = sw_route_get(r, SW_SCOPE_POOL, a->pool->name)) == NULL)
        return;
    relay = sw_conf_relay(p->conf, s->relay);
    no = relay ? sw_policy_ineligible(p, relay, domain, false) : "is not configured";
    if (no != NULL) {
        /* The pool's relay cannot take this destination (residency, or it
         * was just disabled): another eligible alternate may. */
        relay = sw_policy_choose(p, domain, a->pool->name, NULL);
        if (relay)
            no = NULL;
    }
    if (no == NULL) {
        a->relay = relay;
        a->scope = s;
        return;
    }
    a->held = true;
    (void) snprintf(a->why, sizeof(a->why),
                    "%s names relay %s, which %s; no other "
                    "alternate is eligible",
                    s->key, s->relay, no);
}

/* sw_answer_domain - the decision, with a partial primary named */
void
sw_answer_domain(const struct sw_policy *p, const struct sw_route *r, const char *domain,
                 struct sw_answer *a)
{
    const struct sw_relay *prim;

    decide(p, r, domain, a);
    if (a->relay == NULL && (prim = sw_answer_primary_partial(p, a->pool)) != NULL) {
        a->relay = prim;
        a->partial = true;
    }
}

/* sw_answer_primary_partial - the pool's primary, if answers must name it */
const struct sw_relay *
sw_answer_primary_partial(const struct sw_policy *p, const struct sw_pool *pool)
{
    const struct sw_relay *prim;

    if (p->health == NULL) /* nothing probed: the common case, on every lookup */
        return NULL;
    prim = sw_answer_primary(p->conf, pool);
    return prim && sw_health_pinned(sw_policy_health(p, prim)) ? prim : NULL;
}

/* sw_answer_subdomain_sample - "*.domain" */
bool
sw_answer_subdomain_sample(const char *domain, char *out, size_t size)
{
    int n = snprintf(out, size, "*.%s", domain);

    return n > 0 && (size_t) n < size;
}

/* sw_answer_primary - the pool's primary relay, or NULL */
const struct sw_relay *
sw_answer_primary(const struct sw_conf *conf, const struct sw_pool *pool)
{
    const struct sw_relay *r;
    size_t i;

    for (i = 0; pool && i < pool->relays.n; i++)
        if ((r = sw_conf_relay(conf, pool->relays.v[i])) && r->role == SW_ROLE_PRIMARY)
            return r;
    return NULL;
}

/* rotation - where a destination's list of up addresses starts: Postfix
 * tries a nexthop list in order, so without this one address would take
 * all the mail (sw_sticky_hash: stable per destination) */
static size_t
rotation(const char *sticky, size_t n)
{
    return sticky && n ? sw_sticky_hash(sticky) % n : 0;
}

/* up_addresses - "[ip]:port" of each up address from the rotation's
 * start, joined by sep */
static bool
up_addresses(const struct sw_relay_health *h, const struct sw_relay *relay, const char *sticky,
             bool with_port, char sep, struct sw_buf *out)
{
    const struct sw_haddr *up[SW_HEALTH_ADDRS], *ad;
    size_t i, n = 0, start;

    for (i = 0; i < h->naddrs; i++)
        if (h->addr[i].state == SW_HSTATE_UP)
            up[n++] = &h->addr[i];
    start = rotation(sticky, n);
    for (i = 0; i < n; i++) {
        ad = up[(start + i) % n];
        if ((i && !sw_buf_addc(out, sep))
            || !sw_buf_printf(out, "[%s%s]", strchr(ad->ip, ':') ? "ipv6:" : "", ad->ip)
            || (with_port && !sw_buf_printf(out, ":%d", relay->port)))
            return false;
    }
    return true;
}

/* sw_answer_transport - Postfix transport:nexthop */
bool
sw_answer_transport(const struct sw_policy *p, const struct sw_relay *relay, const char *sticky,
                    struct sw_buf *out)
{
    const struct sw_relay_health *h = sw_policy_health(p, relay);

    if (sw_health_pinned(h))
        return sw_buf_printf(out, "%s:", relay->transport)
               && up_addresses(h, relay, sticky, true, ',', out);
    return sw_buf_printf(out, "%s:%s", relay->transport, relay->nexthop);
}

/* sw_answer_mailertable - Sendmail mailer:host, without the port */
bool
sw_answer_mailertable(const struct sw_policy *p, const struct sw_relay *relay, const char *sticky,
                      struct sw_buf *out)
{
    const struct sw_relay_health *h = sw_policy_health(p, relay);
    const char *nh = relay->nexthop, *end;
    size_t n;

    if (sw_health_pinned(h))
        return sw_buf_printf(out, "%s:", relay->mailer)
               && up_addresses(h, relay, sticky, false, ':', out);
    if (*nh == '[') {
        end = strchr(nh, ']');
        n = (size_t) (end - nh) + 1;
    } else {
        end = strchr(nh, ':');
        n = end ? (size_t) (end - nh) : strlen(nh);
    }
    return sw_buf_printf(out, "%s:%.*s", relay->mailer, (int) n, nh);
}
