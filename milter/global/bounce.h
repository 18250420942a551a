/* bounce.h - reading a returned bounce: RFC 3464 DSNs, Exchange NDRs, plain-text bounces */
#ifndef SW_BOUNCE_H
#define SW_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A bounce comes from a server we do not control, so everything here is
 * bounded by the named limits below and nothing is trusted: the parser
 * never allocates per part, never recurses past SW_BOUNCE_DEPTH_MAX, and
 * any input, however malformed, yields a (possibly empty) result.
 *
 * What is extracted:
 *  - per failed (or delayed) recipient: the address, Action, Status,
 *    SMTP reply code, Remote-MTA and the diagnostic text, from an RFC 3464
 *    message/delivery-status part, or else from the human-readable part of
 *    Microsoft/Exchange NDRs and the common plain-text bounces (Postfix,
 *    Exim, qmail, Sendmail, ...);
 *  - from the returned message (text/rfc822-headers, message/rfc822, or
 *    headers quoted inline): the X-Spillway-Tag and Message-ID headers;
 *  - the hosts and IP addresses the bounce names: Reporting-MTA, the
 *    Received lines of the bounce and of the returned message, and IP
 *    literals in diagnostic texts (to attribute a rejection to a pool).
 *
 * Pure and thread-safe: no global state, no allocation beyond what the
 * caller passes in.
 */

#define SW_BOUNCE_KEEP_MAX   (512u * 1024u) /* bytes of a message looked at */
#define SW_BOUNCE_DEPTH_MAX  8              /* MIME nesting */
#define SW_BOUNCE_PARTS_MAX  64             /* MIME parts looked at */
#define SW_BOUNCE_HEADER_MAX 8192           /* one unfolded header field */
#define SW_BOUNCE_RCPTS_MAX  32             /* recipients reported */
#define SW_BOUNCE_HOSTS_MAX  16
#define SW_BOUNCE_IPS_MAX    16

#define SW_BOUNCE_ADDR_MAX   256
#define SW_BOUNCE_DIAG_MAX   1024

enum sw_bounce_kind {
    SW_BOUNCE_NONE, /* not recognised as a bounce */
    SW_BOUNCE_DSN,  /* multipart/report; report-type=delivery-status */
    SW_BOUNCE_TEXT, /* a non-standard bounce read from its text (NDR, Exim, qmail, ...) */
    SW_BOUNCE_OTHER /* a report that is not about delivery: ARF feedback, auto-reply */
};

struct sw_bounce_rcpt {
    char rcpt[SW_BOUNCE_ADDR_MAX]; /* address only, no "rfc822;"; "" when a failed
                                    * recipient's address cannot be read */
    char action[16];               /* failed, delayed, delivered, relayed, expanded */
    char status[16];               /* "5.7.606", or "" */
    int code;                      /* SMTP reply code (550), or 0 */
    char remote_mta[SW_BOUNCE_ADDR_MAX];
    char diagnostic[SW_BOUNCE_DIAG_MAX]; /* one line, no "smtp;" prefix */
    /* The SMTP command the reply answered, when the bounce says it:
     * "CONNECT" (the greeting), "EHLO", "HELO", "MAIL", "RCPT", "DATA",
     * or "". */
    char command[16];
};

struct sw_bounce {
    enum sw_bounce_kind kind;
    bool truncated; /* a limit was reached: the result is partial */
    char reporting_mta[SW_BOUNCE_ADDR_MAX];
    size_t nrcpt;
    struct sw_bounce_rcpt rcpt[SW_BOUNCE_RCPTS_MAX];
    char tag[256];                       /* X-Spillway-Tag of the returned message, or "" */
    char message_id[SW_BOUNCE_ADDR_MAX]; /* its Message-ID, with the <>, or "" */
    size_t nhosts;
    char hosts[SW_BOUNCE_HOSTS_MAX][SW_BOUNCE_ADDR_MAX]; /* lower case, no trailing dot */
    size_t nips;
    char ips[SW_BOUNCE_IPS_MAX][46]; /* textual IPv4 or IPv6 */
};

/*
 * Parse one message as it arrived: header and body, with CRLF, LF or CR
 * line ends.  Only the first SW_BOUNCE_KEEP_MAX bytes are looked at.
 * Returns true when the message is a bounce (kind DSN or TEXT).
 *
 * Allocates nothing: decoded parts go into buffers on the stack, about
 * 90 KiB in all (a libmilter thread has the default 8 MiB).  b is
 * cleared first, so a result never holds anything of an earlier one.
 */
bool sw_bounce_parse(const char *msg, size_t len, struct sw_bounce *b);

/*
 * The text the classifier sees for one recipient: the diagnostic when
 * there is one, else what is known of the reply ("550 5.7.1").  Written
 * NUL-terminated into out (cut to fit); returns its length.
 *
 * When the bounce says which command the reply answered, the text takes
 * the shape of a Postfix log reason, so that one pattern library reads
 * both sources: "refused to talk to me: 554 ..." for a refused greeting,
 * "550 ... (in reply to RCPT TO command)" otherwise (unless the
 * diagnostic already says "(in reply to").
 */
size_t sw_bounce_reason(const struct sw_bounce_rcpt *r, char *out, size_t size);

/* Whether a recipient's record reports a failure or a delay (what can
 * count as evidence): action failed or delayed, or a 4xx/5xx status. */
bool sw_bounce_rcpt_failed(const struct sw_bounce_rcpt *r);

const char *sw_bounce_kind_name(enum sw_bounce_kind k);

#endif
