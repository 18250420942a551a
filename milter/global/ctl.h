/* ctl.h - the control protocol between spillwayctl and spillway-routed */
#ifndef SW_CTL_H
#define SW_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/addr.h"
#include "util/buf.h"
#include "util/kv.h"
#include "global/policy.h"
#include "global/route.h"

/*
 * One request per connection: a kv.h record on one line, e.g.
 *   verb=divert  scope=destination:example.com  to=alt-eu  for=2h  reason=...
 * The reply is "ok\n" or "error: MESSAGE\n", then a body (text, or JSON
 * when the request has json=1), then the server closes the connection.
 */
#define SW_CTL_MAX_REQUEST 4096 /* bytes of one request line */
#define SW_CTL_MAX_REPLY   (64u * 1024u * 1024u)

/* Durations on the control socket name their unit (util/duration.h:
 * sw_duration_parse_unit) and are at most SW_DURATION_MAX (366d); the
 * client says the same before it asks. */
#define SW_CTL_DURATION_HELP(opt)                                        \
    "bad duration for " opt ": a number with its unit (s, m, h, d, w), " \
    "for example 30m, 2h, 1d, 1h30m; at most 366d"

enum sw_ctl_verb {
    SW_CTL_STATUS,
    SW_CTL_EXPLAIN,
    SW_CTL_DIVERT,
    SW_CTL_RELEASE,
    SW_CTL_RELAY,
    SW_CTL_HISTORY,
    SW_CTL_RELOAD
};

struct sw_ctl_request {
    enum sw_ctl_verb verb;
    bool json;
    enum sw_scope_kind kind;      /* divert, release */
    char name[SW_DOMAIN_MAX + 1]; /* domain (folded) or pool name */
    const char *address;          /* explain */
    const char *to;               /* divert: NULL lets policy choose */
    const char *reason;           /* divert */
    long duration;                /* divert: --for; history: --since */
    const char *relay;            /* relay */
    enum sw_relay_admin admin;    /* relay */
    struct sw_kv kv;              /* storage the pointers refer to */
};

/* Parse and check one request; false with a one-line message in err. */
bool sw_ctl_parse(struct sw_ctl_request *req, const char *line, size_t len, struct sw_buf *err);
/* "example.com", "destination:example.com" or "pool:NAME". */
bool sw_ctl_scope(const char *s, enum sw_scope_kind *kind, char *name, size_t size,
                  struct sw_buf *err);

#endif
