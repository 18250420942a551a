/* etrn.h - ask an SMTP server to run its queue (RFC 1985 ETRN) */
#ifndef SW_ETRN_H
#define SW_ETRN_H

#include "util/buf.h"
#include "util/listen.h"

/*
 * Connect to ep, read the greeting, EHLO helo, "ETRN arg", QUIT.  Blocking:
 * for a child process (spillway-routed's flush), whose caller bounds the
 * whole exchange with alarm(2).  Every reply is read through
 * util/smtpreply.h.  true when the server accepted the ETRN (250, 251,
 * 252 or 253); false with the reason, the server's own words included,
 * in why.
 */
bool sw_etrn(const struct sw_endpoint *ep, const char *helo, const char *arg, struct sw_buf *why);

#endif
