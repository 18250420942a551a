/* evrec.h - the evidence channel's record: milter -> routed, one per datagram */
#ifndef SW_EVREC_H
#define SW_EVREC_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "global/evidence.h"

/*
 * DESIGN.md 5.3: one record per datagram, a small versioned text format,
 * the tab-separated key=value of kv.h on a single line:
 *
 *   v=1  source=dsn  time=1763812345  pool=m365  domain=bigcorp.example
 *   rcpt=u@bigcorp.example  id=<msgid@ourorg>  code=550  dsn=5.7.606
 *   class=reputation  pattern=m365-banned-ip  trusted=1  tag=valid
 *   client=192.0.2.7  egress=40.107.1.2
 *   text=550 5.7.606 Access denied, banned sending IP ...
 *
 * v, source, time, domain, class and trusted are required; unknown keys
 * are ignored (a newer milter may add some); a record of another version
 * is refused.  Values are checked for length and syntax: the datagram
 * socket is local, but its sender is the process that reads mail from the
 * Internet.
 */
#define SW_EVREC_VERSION 1
#define SW_EVREC_MAX     4096 /* bytes of one datagram */

struct sw_evrec {
    struct sw_evidence ev;
    char tag[12];    /* tag state: valid, invalid, expired, absent, unchecked */
    char client[64]; /* the SMTP client that delivered the bounce */
};

/* Encode one record (no newline) into out; false if it does not fit. */
bool sw_evrec_encode(const struct sw_evrec *r, struct sw_buf *out);
/* Decode one datagram; false with a reason. */
bool sw_evrec_parse(const char *data, size_t len, struct sw_evrec *r, const char **why);

#endif
