/* addr.h - lookup keys to destination domains */
#ifndef SW_ADDR_H
#define SW_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 1035 section 2.3.4: at most 253 characters in a presentation name. */
#define SW_DOMAIN_MAX 253

enum sw_key_kind {
    SW_KEY_NONE,       /* nothing to route: "*", bare local part, literal */
    SW_KEY_DOMAIN,     /* a domain and its parents */
    SW_KEY_SUBDOMAINS, /* Sendmail ".parent": subdomains of domain only */
    SW_KEY_ROOT        /* Sendmail ".": the catch-all */
};

/*
 * Postfix transport key: the full address as written ("User+ext@Example.COM.").
 * The domain is the part after the last '@', lower-cased, without a trailing
 * dot.  The local part, its +extension and quoting do not matter for
 * routing.  Keys without a usable domain (the "*" probe, "MAILER-DAEMON",
 * an address literal, anything not a DNS name) are SW_KEY_NONE.
 */
enum sw_key_kind sw_addr_transport_key(const char *key, size_t len, char *domain, size_t size);
/* Sendmail mailertable key: "host", ".parent" or ".". */
enum sw_key_kind sw_addr_mailertable_key(const char *key, size_t len, char *domain, size_t size);
/* The parent of a domain ("b.example" for "a.b.example"), NULL at the top. */
const char *sw_addr_parent(const char *domain);

#endif
