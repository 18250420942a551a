/* milter.h - spillway-milter: shared state of the daemon's files */
#ifndef SW_MILTER_H
#define SW_MILTER_H

#include <pthread.h>
#include <stdbool.h>

#include "global/conf.h"
#include "global/guard.h"
#include "global/rpath.h"
#include "global/tag.h"

/*
 * One generation of what a reload replaces: the configuration and the tag
 * keys.  Callbacks hold a reference while they use it; a reload swaps the
 * pointer and the last holder frees the old one.
 */
struct milter_gen {
    struct sw_conf *conf;
    struct sw_tag_keys keys; /* keys.n == 0: no tagging */
    unsigned refs;
};

struct milter_stats {
    unsigned long messages;
    unsigned long tagged;
    unsigned long inbound;    /* not tagged: neither a bounce nor outbound */
    unsigned long bounces;
    unsigned long records;    /* evidence records sent */
    unsigned long trusted;    /* of which trusted */
    unsigned long untrusted;  /* failed recipients without a valid tag or pool */
    unsigned long suppressed; /* duplicates, message caps, rate caps */
    unsigned long dropped;    /* could not be sent: spillway-routed down */
    unsigned long failures;   /* internal failures (answered "continue") */
    unsigned long rp_rewritten; /* envelope senders rewritten to a return path */
    unsigned long rp_left;      /* outbound senders left alone (skip rules, too long) */
    unsigned long rp_restored;  /* return-path recipients turned back into the sender */
    unsigned long rp_refused;   /* RCPTs refused: invalid or expired return-path address */
};

struct milter {
    const char *conf_path;
    pthread_mutex_t lock; /* gen pointer and refs, guard, stats */
    struct milter_gen *gen;
    struct sw_guard *guard;
    struct milter_stats stats;
    int evidence_fd; /* unix datagram socket, non-blocking */
    bool tcp;        /* milter.socket is inet: no SMFIP_NR_* (see milter_cb.c) */
};

/* milter_gen.c: the process's one struct milter, and its generations */
extern struct milter sw_milter;
struct milter_gen *milter_gen_load(const char *path, struct sw_buf *err);
struct milter_gen *milter_gen_get(void);
void milter_gen_put(struct milter_gen *g);
void milter_gen_swap(struct milter_gen *g);
void milter_stat_add(unsigned long *counter, unsigned long n);

/* milter_cb.c: the libmilter callbacks */
struct smfiDesc;
extern struct smfiDesc milter_desc;

/* milter_rpath.c: the return path (rpath.h) in one message */
#define MILTER_RP_RCPTS 8 /* return-path recipients of one message */
struct milter_rp {
    bool skip; /* a recipient matched return_path.skip_recipients */
    size_t n;
    struct {
        char rcpt[SW_RPATH_ADDR_MAX + 2]; /* as given at RCPT TO */
        char sender[SW_RPATH_ADDR_MAX];   /* the original sender it restores */
    } r[MILTER_RP_RCPTS];
};
struct smfi_str;
const char *milter_qid(struct smfi_str *ctx); /* the queue id, or "NOQUEUE" */
void milter_rp_reset(struct milter_rp *rp);
int milter_rp_rcpt(struct smfi_str *ctx, struct milter_rp *rp, const struct milter_gen *g,
                   const char *rcpt);
void milter_rp_restore(struct smfi_str *ctx, const struct milter_rp *rp, const char *queue_id);
void milter_rp_rewrite(struct smfi_str *ctx, const struct milter_rp *rp,
                       const struct milter_gen *g, const char *sender, const char *queue_id);

/* milter_evidence.c: from one analysed bounce to records for routed */
struct sw_analysis;
void milter_evidence(const struct milter_gen *g, const struct sw_analysis *a, const char *client,
                     const char *queue_id);

/* milter_analyze.c: --analyze FILE... */
int milter_analyze_files(const char *conf_path, int argc, char **argv);
/* milter_restore.c: --restore SENDER RECIPIENT: the MTA's delivery agent
 * for return-path addresses the milter did not restore */
int milter_restore(const char *conf_path, int argc, char **argv);

#endif
