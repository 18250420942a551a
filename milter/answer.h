/* answer.h - the route for a destination, as the MTA is told it */
#ifndef SW_ANSWER_H
#define SW_ANSWER_H

#include <stdbool.h>

#include "buf.h"
#include "policy.h"
#include "route.h"

/*
 * Combines the routing state and the policy into one answer: a relay, or
 * the primary route (NOTFOUND, so the MTA's static configuration applies).
 * The same function serves socketmap lookups, explain and the rendered
 * tables, so the three can never disagree.  Pure.
 */
struct sw_answer {
    const struct sw_relay *relay;      /* NULL: primary (NOTFOUND) */
    const struct sw_scope *scope;      /* the scope that decided, if any */
    const struct sw_pool *pool;        /* the pool that carries the destination */
    char why[256];                     /* why a scope could not be honoured */
};

/* domain NULL: Sendmail's "." key, only pool-wide scopes apply. */
void sw_answer_domain(const struct sw_policy *p, const struct sw_route *r,
                      const char *domain, struct sw_answer *a);
/* "smtp:[alt.example.net]:587" for Postfix transport_maps. */
bool sw_answer_transport(const struct sw_relay *relay, struct sw_buf *out);
/* "relay:[alt.example.net]" for Sendmail's mailertable (ports are ignored
 * there: MTA-FACTS.md; use one mailer per port). */
bool sw_answer_mailertable(const struct sw_relay *relay, struct sw_buf *out);

#endif
