/* policy.h - which alternate relay a scope may use */
#ifndef SW_POLICY_H
#define SW_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "global/conf.h"
#include "global/health.h"

/*
 * Eligibility (DESIGN.md 4): a relay is an alternate, administratively
 * enabled (a draining relay keeps what it has but takes nothing new),
 * under its hourly budget (max_per_hour: then even existing diversions
 * wait on the primary), not down or listed by its probes (health.h), and
 * allowed by the residency policy for the destination.  Pure functions.
 */
enum sw_relay_admin { SW_ADMIN_ENABLED, SW_ADMIN_DISABLED, SW_ADMIN_DRAINING };

/* Administrative state of each relay, indexed like conf->relays. */
struct sw_policy {
    const struct sw_conf *conf;
    const enum sw_relay_admin *admin;
    const unsigned long *hour; /* deliveries in the last hour per relay, or NULL */
    const struct sw_relay_health *health; /* per relay, or NULL: all usable */
};

/* A stable hash of a destination (FNV-1a): the same one always makes the
 * same choice among equals. */
uint32_t sw_sticky_hash(const char *s);

/* The health of a relay, or NULL if none is known. */
const struct sw_relay_health *sw_policy_health(const struct sw_policy *p,
                                               const struct sw_relay *relay);

const char *sw_admin_name(enum sw_relay_admin a);
bool sw_admin_parse(const char *s, enum sw_relay_admin *a);

/* The residency rule that applies to a domain, or NULL. */
const struct sw_residency *sw_policy_residency(const struct sw_conf *conf, const char *domain);
/* NULL if relay may carry mail for domain (NULL: any destination of a
 * pool-wide scope), else why not.  new_scope: a new diversion, which a
 * draining relay refuses. */
const char *sw_policy_ineligible(const struct sw_policy *p, const struct sw_relay *relay,
                                 const char *domain, bool new_scope);
/* Choose an alternate: eligible, lowest priority value, then weighted by a
 * hash of `sticky` so a destination keeps its relay.  NULL with the
 * reasons in why when none is eligible. */
const struct sw_relay *sw_policy_choose(const struct sw_policy *p, const char *domain,
                                        const char *sticky, struct sw_buf *why);

#endif
