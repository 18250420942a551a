/* routed_dns.h - c-ares on spillway-routed's event loop */
#ifndef SW_ROUTED_DNS_H
#define SW_ROUTED_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "global/health.h"

/*
 * One c-ares channel driven by libevent (DESIGN.md 6: ARES_OPT_SOCK_STATE_CB
 * and ares_process_fd, no thread).  A query's callback always runs once,
 * from the loop, unless the channel is freed first (then it runs with
 * status DNS_CANCELLED during routed_dns_free: it must not use anything
 * the caller has freed).  The answers are parsed here: A, AAAA and MX.
 */
struct event_base;
struct routed_dns;

enum routed_dns_status { DNS_OK, DNS_NXDOMAIN, DNS_NODATA, DNS_FAILED, DNS_CANCELLED };

#define ROUTED_DNS_MAX 16 /* answers kept per query */

struct routed_dns_answer {
    enum routed_dns_status status;
    char error[64];                              /* DNS_FAILED: "SERVFAIL", "timeout", ... */
    char addr[ROUTED_DNS_MAX][SW_IP_MAX + 1];    /* A, AAAA */
    char host[ROUTED_DNS_MAX][SW_HOST_MAX + 1];  /* MX, by preference */
    size_t n;
    long ttl; /* smallest TTL of the answers (A, AAAA; 0 for MX) */
};

typedef void (*routed_dns_cb)(const struct routed_dns_answer *a, void *arg);

/* servers: "IP[:PORT]" or NULL for /etc/resolv.conf; timeout per try. */
struct routed_dns *routed_dns_new(struct event_base *base, const char *servers, long timeout,
                                  struct sw_buf *err);
void routed_dns_free(struct routed_dns *d);
/* type: 1 (A), 28 (AAAA) or 15 (MX). */
void routed_dns_query(struct routed_dns *d, const char *name, int type, routed_dns_cb cb,
                      void *arg);

#endif
