/* dnsbl.h - DNS blocklist queries and answers, and the IPs evidence blames */
#ifndef SW_DNSBL_H
#define SW_DNSBL_H

#include <stdbool.h>
#include <stddef.h>

#include "global/health.h"

/*
 * DESIGN.md 6 and MTA-FACTS.md: a DNSBL lists an address when
 * REVERSED-IP.ZONE has an A record in 127.0.0.0/8; NXDOMAIN means not
 * listed; 127.255.255.x (Spamhaus: query through an open resolver, or too
 * many queries), an answer outside 127/8, SERVFAIL or a timeout are
 * resolver errors, which neither list nor clear an address.  Pure.
 */
enum sw_dnsbl_verdict { SW_DNSBL_CLEAN, SW_DNSBL_LISTED, SW_DNSBL_ERROR };

/* "2.1.107.40.zen.example" (IPv4) or 32 nibbles (IPv6); false if the
 * address is not numeric or the name does not fit. */
bool sw_dnsbl_query_name(const char *ip, const char *zone, char *out, size_t size);
/* The verdict from a lookup: nxdomain, or the A answers (dotted quads,
 * n may be 0: NODATA counts as not listed); why gets the listing code
 * or the error's reason. */
enum sw_dnsbl_verdict sw_dnsbl_verdict(bool nxdomain, bool failed, const char (*a)[SW_IP_MAX + 1],
                                       size_t n, char *why, size_t size);
const char *sw_dnsbl_verdict_name(enum sw_dnsbl_verdict v);
/* The addresses named in an SMTP reply text ("banned sending IP
 * [40.107.1.2]"), after Postfix's "host NAME[IP] said:" prefix, which
 * names the receiver, not us.  Returns how many (at most max). */
size_t sw_text_ips(const char *text, char (*out)[SW_IP_MAX + 1], size_t max);

#endif
