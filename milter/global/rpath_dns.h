/* rpath_dns.h - the DNS records a return-path domain needs */
#ifndef SW_RPATH_DNS_H
#define SW_RPATH_DNS_H

#include "global/conf.h"
#include "global/rpath.h"
#include "util/buf.h"

/*
 * For each return-path domain of milter.return_path (the fixed domain,
 * and "<subdomain>.<d>" for each listed sender domain): an MX to mx (this
 * host's name) and an SPF record that covers every relay, primary and
 * alternates: a pool's egress CIDRs where configured, a provider's
 * include for a relay at Microsoft 365 or Google, else the relay's
 * address or name.  Zone-file lines, with comments that say why and how
 * the domain aligns with DMARC.  Pure.
 */
void sw_rpath_dns(const struct sw_conf *c, const char *mx, struct sw_buf *out);

#endif
