/* analyze.h - a bounce, read and judged: one finding per recipient */
#ifndef SW_ANALYZE_H
#define SW_ANALYZE_H

#include <stdbool.h>
#include <time.h>

#include "global/bounce.h"
#include "util/buf.h"
#include "global/classify.h"
#include "global/conf.h"
#include "global/evrec.h"
#include "global/rpath.h"
#include "global/tag.h"

/*
 * The one path from a returned message to evidence, used by the milter
 * and by "spillway-milter --analyze" alike: parse (bounce.h), verify the
 * returned tag (tag.h), attribute the bounce to a pool by the hosts and
 * addresses it names (attrib.h), and classify each failed recipient's
 * diagnostic with the pattern library (classify.h).
 *
 * A finding is trusted when the recipient failed, the tag is valid and the
 * bounce names a pool: only then can it count towards a diversion.  The
 * tag is the X-Spillway-Tag the bounce quotes or, when it quotes none
 * that verifies, the envelope recipient it came to: a return-path address
 * (rpath.h) that verifies is as good, since only mail we sent carries one.
 * Everything else is evidence too, but untrusted: logged and counted.
 *
 * Pure: time is an argument; the configuration and keys are read only.
 */
struct sw_finding {
    const struct sw_bounce_rcpt *r;
    bool failed;
    bool trusted;
    char domain[254]; /* of the recipient, lower case; "" if none */
    struct sw_verdict v;
};

struct sw_analysis {
    struct sw_bounce b; /* about 60 KB: allocate, do not put on a thread's stack */
    enum sw_tag_state tag;
    char tag_id[SW_TAG_CANON_MAX]; /* the tag's canonical form when it verifies, else "" */
    bool via_rp;                   /* the valid tag is the envelope's, not the header's */
    struct sw_rpath_check rp;      /* the envelope recipient's return-path address */
    const struct sw_pool *pool; /* named by the bounce, or NULL */
    char egress[48];            /* the first IP it names in the pool's egress CIDRs */
    size_t n;
    struct sw_finding f[SW_BOUNCE_RCPTS_MAX];
};

/* keys may be NULL (no tagging configured: tags are "unchecked"). */
void sw_analyze(const struct sw_conf *conf, const struct sw_tag_keys *keys, const char *msg,
                size_t len, time_t now, struct sw_analysis *a);
/* The same for a bounce that came to envelope recipient rcpt (NULL: not
 * known, as sw_analyze). */
void sw_analyze_to(const struct sw_conf *conf, const struct sw_tag_keys *keys, const char *msg,
                   size_t len, const char *rcpt, time_t now, struct sw_analysis *a);
/* Every cue of each failed recipient's verdict, for an operator
 * (--analyze); the same classes and patterns. */
void sw_analysis_explain(const struct sw_conf *conf, struct sw_analysis *a);
/* The evidence record of finding i (source dsn). */
void sw_analysis_evrec(const struct sw_analysis *a, size_t i, time_t now, const char *client,
                       struct sw_evrec *r);
/* One JSON object (no newline) for finding i of a file. */
void sw_analysis_json(const struct sw_analysis *a, size_t i, const char *file, struct sw_buf *out);
/* The same fields for a file that gave no recipient at all: "recipient"
 * null, "failed" false, so that it shows apart from a file not read. */
void sw_analysis_json_none(const struct sw_analysis *a, const char *file, struct sw_buf *out);

#endif
