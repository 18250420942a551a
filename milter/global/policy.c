/* policy.c - which alternate relay a scope may use */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "global/policy.h"

/* sw_admin_name - word for logs and the CLI */
const char *
sw_admin_name(enum sw_relay_admin a)
{
    switch (a) {
    case SW_ADMIN_DISABLED: return "disabled";
    case SW_ADMIN_DRAINING: return "draining";
    default: return "enabled";
    }
}

/* sw_admin_parse - inverse of sw_admin_name */
bool
sw_admin_parse(const char *s, enum sw_relay_admin *a)
{
    if (strcmp(s, "enabled") == 0)
        *a = SW_ADMIN_ENABLED;
    else if (strcmp(s, "disabled") == 0)
        *a = SW_ADMIN_DISABLED;
    else if (strcmp(s, "draining") == 0)
        *a = SW_ADMIN_DRAINING;
    else
        return false;
    return true;
}

/* sw_policy_residency - first residency rule matching the domain */
const struct sw_residency *
sw_policy_residency(const struct sw_conf *conf, const char *domain)
{
    size_t i, k;

    if (domain == NULL)
        return NULL;
    for (i = 0; i < conf->nresidency; i++)
        for (k = 0; k < conf->residency[i].destinations.n; k++)
            if (sw_domain_match(conf->residency[i].destinations.v[k], domain))
                return &conf->residency[i];
    return NULL;
}

/* sw_policy_ineligible - why a relay may not take this mail */
const char *
sw_policy_ineligible(const struct sw_policy *p, const struct sw_relay *relay, const char *domain,
                     bool new_scope)
{
    const struct sw_residency *res;
    size_t idx = (size_t) (relay - p->conf->relays);
    const char *no;

    if (relay->role != SW_ROLE_ALTERNATE)
        return "is a primary relay";
    if (p->admin[idx] == SW_ADMIN_DISABLED)
        return "is disabled";
    if (new_scope && p->admin[idx] == SW_ADMIN_DRAINING)
        return "is draining";
    if ((no = sw_health_unusable(sw_policy_health(p, relay))) != NULL)
        return no;
    if (relay->max_per_hour && p->hour && p->hour[idx] >= (unsigned long) relay->max_per_hour)
        return "has used its hourly budget (max_per_hour)";
    if ((res = sw_policy_residency(p->conf, domain)) != NULL
        && (relay->jurisdiction == NULL || !sw_strv_has_ci(&res->allow, relay->jurisdiction)))
        return "is outside the jurisdictions allowed for the destination";
    return NULL;
}

/* sw_policy_health - a relay's health record */
const struct sw_relay_health *
sw_policy_health(const struct sw_policy *p, const struct sw_relay *relay)
{
    if (p->health == NULL || relay == NULL)
        return NULL;
    return &p->health[relay - p->conf->relays];
}

/* sw_sticky_hash - FNV-1a, so a destination keeps the same choice */
uint32_t
sw_sticky_hash(const char *s)
{
    uint32_t h = 2166136261U;

    for (; s && *s; s++) {
        h ^= (unsigned char) *s;
        h *= 16777619U;
    }
    return h;
}

/* sw_policy_choose - the alternate for a new diversion */
const struct sw_relay *
sw_policy_choose(const struct sw_policy *p, const char *domain, const char *sticky,
                 struct sw_buf *why)
{
    const struct sw_conf *c = p->conf;
    const struct sw_relay *r;
    const char *no;
    int best = -1;
    unsigned long total = 0, pick;
    size_t i;

    for (i = 0; i < c->nrelays; i++) {
        r = &c->relays[i];
        if ((no = sw_policy_ineligible(p, r, domain, true)) != NULL) {
            if (why && r->role == SW_ROLE_ALTERNATE)
                sw_buf_printf(why, "%srelay %s %s", why->len ? "; " : "", r->name, no);
            continue;
        }
        if (best < 0 || r->priority < best) {
            best = r->priority;
            total = 0;
        }
        if (r->priority == best)
            total += (unsigned long) r->weight;
    }
    if (best < 0) {
        if (why && why->len == 0)
            sw_buf_adds(why, "no alternate relay is configured");
        return NULL;
    }
    pick = sw_sticky_hash(sticky) % total;
    for (i = 0; i < c->nrelays; i++) {
        r = &c->relays[i];
        if (r->priority != best || sw_policy_ineligible(p, r, domain, true))
            continue;
        if (pick < (unsigned long) r->weight)
            return r;
        pick -= (unsigned long) r->weight;
    }
    return NULL; /* not reached: total counts these */
}
