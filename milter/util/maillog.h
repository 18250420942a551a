/* maillog.h - delivery outcomes from Postfix and Sendmail mail log lines */
#ifndef SW_MAILLOG_H
#define SW_MAILLOG_H

#include <stdbool.h>
#include <stddef.h>

/*
 * One mail log line in, one delivery outcome out: which recipient, through
 * which relay, sent, deferred or bounced, and with which reply.  The
 * outcome the MTA's own SMTP client logged is the most trustworthy evidence
 * spillway-routed has (DESIGN.md section 3).  The parser is pure: no I/O,
 * no allocation, no locale, no state; the caller owns the struct.
 *
 * Limits (a longer field makes the line SW_MAILLOG_BAD, except the reply
 * text, which is cut):
 */
#define SW_OUTCOME_QUEUE_ID_MAX 31  /* Postfix long queue IDs are about 15 */
#define SW_OUTCOME_RCPT_MAX     320 /* RFC 5321 4.5.3.1: local part 64 + "@" + domain 255 */
#define SW_OUTCOME_DOMAIN_MAX   253 /* RFC 1035, without the root dot */
#define SW_OUTCOME_HOST_MAX     255
#define SW_OUTCOME_ADDR_MAX     63 /* an IPv6 address with a zone, or an LMTP socket name */
#define SW_OUTCOME_DSN_MAX      15 /* "5.999.999" is 9 */
#define SW_OUTCOME_TEXT_MAX     512

enum sw_outcome_status { SW_OUTCOME_SENT, SW_OUTCOME_DEFERRED, SW_OUTCOME_BOUNCED };
enum sw_mta { SW_OUTCOME_POSTFIX, SW_OUTCOME_SENDMAIL };

struct sw_outcome {
    enum sw_mta mta;
    enum sw_outcome_status status;
    char queue_id[SW_OUTCOME_QUEUE_ID_MAX + 1];
    /* The address without <>, as logged (case kept). */
    char rcpt[SW_OUTCOME_RCPT_MAX + 1];
    /* Lower-cased domain of rcpt (after its last unquoted "@"), "" if none. */
    char domain[SW_OUTCOME_DOMAIN_MAX + 1];
    /* Lower-cased relay name without a trailing dot ("127.0.0.1",
     * "smtp.office365.com", "local"); "" for relay=none or no relay. */
    char relay_host[SW_OUTCOME_HOST_MAX + 1];
    /* The address that was in brackets, without them (and without
     * Sendmail's "IPv6:"), or the literal itself for a relay named by an
     * address literal; "" if none. */
    char relay_addr[SW_OUTCOME_ADDR_MAX + 1];
    int relay_port; /* 0 if not logged (Sendmail: always 0) */
    /* Enhanced status code ("4.7.1"), "" if none.  Sendmail: the code of
     * the remote reply when there is one; its own dsn= field otherwise
     * (Sendmail 8.17 logs dsn=5.1.1 for "550 5.7.606 ..."). */
    char dsn[SW_OUTCOME_DSN_MAX + 1];
    int reply_code; /* 550 from "said: 550 ...", 0 if none */
    /* Postfix: the reason in parentheses.  Sendmail: the remote reply
     * (reply=) when logged, else the stat= text after "Deferred: " or
     * inside "Sent (...)", else the whole stat= text.  Control bytes are
     * replaced by "?"; cut at SW_OUTCOME_TEXT_MAX (text_cut is then set). */
    char text[SW_OUTCOME_TEXT_MAX + 1];
    bool text_cut;
    /* This attempt got text from the remote server ("host X said:" or
     * "host X refused to talk to me:" in Postfix, a 2xx reply of a network
     * relay in Postfix status=sent, a numeric reply= or stat= text in
     * Sendmail), as opposed to a local condition (connect failure, resolver
     * failure, local delivery).  A suspended destination ("delivery
     * temporarily suspended: host X said: 421 ...") repeats an earlier
     * attempt's reply: reply_code is set, from_remote is not. */
    bool from_remote;
    /* Recipients on this line: Sendmail logs one line for all recipients of
     * one transaction ("to=<a@x>,<b@y>"); Postfix always 1.  rcpt is the
     * first unless sw_maillog_parse_rcpt() picked another. */
    unsigned int nrcpt;
    /* Sendmail " [more]": the same delivery continues on another line, which
     * carries its own recipients and is parsed on its own. */
    bool rcpt_more;
};

enum sw_maillog_result {
    SW_MAILLOG_OUTCOME,
    SW_MAILLOG_IGNORED, /* not a delivery outcome line */
    SW_MAILLOG_BAD      /* looked like one but could not be parsed */
};

/* Parse one line (len is authoritative: NUL bytes are data; a trailing
 * newline is allowed).  Fills out on SW_MAILLOG_OUTCOME; on the other
 * results out holds empty strings and zeroes, or a partial parse. */
enum sw_maillog_result sw_maillog_parse(const char *line, size_t len, struct sw_outcome *out);
/* The same, reporting recipient number index (0 .. nrcpt - 1) of the line
 * in rcpt and domain; SW_MAILLOG_BAD when index >= nrcpt. */
enum sw_maillog_result sw_maillog_parse_rcpt(const char *line, size_t len, size_t index,
                                             struct sw_outcome *out);
/* "sent", "deferred", "bounced" */
const char *sw_outcome_status_name(enum sw_outcome_status status);

#endif
