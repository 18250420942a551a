/* evidence.h - one observation that may count against a pool */
#ifndef SW_EVIDENCE_H
#define SW_EVIDENCE_H

#include <stdbool.h>
#include <time.h>

/*
 * DESIGN.md section 3: every observation becomes an evidence record.  It
 * is copied into the scope it helped divert (a few per scope), so that
 * "spillwayctl explain" can show the chain long after the log rotated.
 */
#define SW_EV_TEXT_MAX 200
#define SW_EV_NAME_MAX 64

enum sw_ev_source { SW_EV_LOG, SW_EV_DSN, SW_EV_PROBE, SW_EV_DNSBL, SW_EV_OPERATOR };

struct sw_evidence {
    time_t time;
    enum sw_ev_source source;
    unsigned cls; /* SW_CLASS_* */
    bool trusted;
    bool success; /* a delivery that worked (log) */
    int code;     /* SMTP reply code, 0 if none */
    char pool[SW_EV_NAME_MAX + 1];
    char relay[SW_EV_NAME_MAX + 1];
    char domain[254];
    char rcpt[256];
    char id[64]; /* queue id or message id */
    char dsn[16];
    char pattern[SW_EV_NAME_MAX + 1]; /* the pattern that classified it */
    char egress[48]; /* bounces: an IP of the named pool's egress CIDRs that
                        the bounce names (Received chain, text), or "" */
    char text[SW_EV_TEXT_MAX + 1];
};

const char *sw_ev_source_name(enum sw_ev_source s);
/* Inverse of sw_ev_source_name; false for any other word. */
bool sw_ev_source_parse(const char *s, enum sw_ev_source *src);

#endif
