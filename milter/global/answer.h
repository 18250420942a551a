/* answer.h - the route for a destination, as the MTA is told it */
#ifndef SW_ANSWER_H
#define SW_ANSWER_H

#include <stdbool.h>

#include "util/buf.h"
#include "global/policy.h"
#include "global/route.h"

/*
 * Combines the routing state and the policy into one answer: a relay, or
 * the primary route (NOTFOUND, so the MTA's static configuration applies).
 * The same function serves socketmap lookups, explain and the rendered
 * tables, so the three can never disagree.  Pure.
 */
struct sw_answer {
    const struct sw_relay *relay; /* NULL: primary (NOTFOUND) */
    const struct sw_scope *scope; /* the scope that decided, if any */
    const struct sw_pool *pool;   /* the pool that carries the destination */
    bool held;                    /* a scope applies but no relay may take
                                          the mail: primary by policy */
    bool partial;                 /* primary named explicitly: only some of
                                     its addresses are healthy */
    char why[256];                /* why a scope could not be honoured */
};

/* A stand-in for "any subdomain of DOMAIN": "*.DOMAIN" can never be a
 * scope name, so answering it walks to DOMAIN's scopes with subdomain
 * semantics for the residency patterns.  false if it does not fit. */
bool sw_answer_subdomain_sample(const char *domain, char *out, size_t size);
/* The pool's primary relay, to name "primary" explicitly where a bare
 * NOTFOUND would let the MTA fall through to a broader entry. */
const struct sw_relay *sw_answer_primary(const struct sw_conf *conf, const struct sw_pool *pool);

/* domain NULL: Sendmail's "." key, only pool-wide scopes apply.  When the
 * answer would be the primary and the pool's primary relay is partial
 * (health.h), the primary is named (a->relay, a->partial). */
void sw_answer_domain(const struct sw_policy *p, const struct sw_route *r, const char *domain,
                      struct sw_answer *a);
/* The primary route, named if its relay is partial: for a probing scope's
 * share of lookups.  NULL: NOTFOUND. */
const struct sw_relay *sw_answer_primary_partial(const struct sw_policy *p,
                                                 const struct sw_pool *pool);
/* "smtp:[alt.example.net]:587" for Postfix transport_maps; for a partial
 * relay the up addresses, "smtp:[192.0.2.1]:587,[192.0.2.2]:587", the
 * list starting at a place chosen by a hash of sticky (the destination;
 * NULL: the first), since Postfix tries the list in order. */
bool sw_answer_transport(const struct sw_policy *p, const struct sw_relay *relay,
                         const char *sticky, struct sw_buf *out);
/* "relay:[alt.example.net]" for Sendmail's mailertable (ports are ignored
 * there: MTA-FACTS.md; use one mailer per port); for a partial relay
 * "relay:[192.0.2.1]:[192.0.2.2]". */
bool sw_answer_mailertable(const struct sw_policy *p, const struct sw_relay *relay,
                           const char *sticky, struct sw_buf *out);

#endif
