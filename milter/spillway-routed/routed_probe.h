/* routed_probe.h - one SMTP probe of one relay address (libevent, OpenSSL) */
#ifndef SW_ROUTED_PROBE_H
#define SW_ROUTED_PROBE_H

#include <openssl/ssl.h>
#include <stdbool.h>

#include "global/health.h"

/*
 * Connect, banner, EHLO, and as configured STARTTLS with the certificate
 * verified against the relay's name, EHLO again, MAIL/RCPT/RSET, QUIT.
 * Every reply goes through smtpreply.c; the whole probe is bounded by
 * the probe's timeout.  The callback runs once, from the loop, unless
 * the probe is cancelled first.  The probe copies what it needs: the
 * config may be replaced while it runs.
 */
struct event_base;
struct routed_probe;

struct routed_probe_result {
    bool ok;
    char why[SW_HEALTH_WHY_MAX + 1]; /* "RCPT: 451 4.3.0 ...", "TLS: certificate has expired" */
    long ms[SW_MARKS];
    char tls[32];
};

typedef void (*routed_probe_cb)(const struct routed_probe_result *r, void *arg);

/* ctx: for STARTTLS (NULL when the probe does not use TLS); name: what
 * the certificate must match; helo: the EHLO name. */
struct routed_probe *routed_probe_start(struct event_base *base, const char *ip, int port,
                                        const char *name, const char *helo,
                                        const struct sw_probe_conf *pc, SSL_CTX *ctx,
                                        routed_probe_cb cb, void *arg);
void routed_probe_cancel(struct routed_probe *p);
/* At exit, after the callers' own cancels: free also the probes that
 * have reported and are only saying QUIT. */
void routed_probe_cancel_all(void);

#endif
