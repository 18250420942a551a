/* routed.h - spillway-routed: the daemon's shared context (program-internal) */
#ifndef SW_ROUTED_H
#define SW_ROUTED_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "global/conf.h"
#include "global/evidence.h"
#include "global/history.h"
#include "global/policy.h"
#include "global/route.h"
#include "global/tag.h"
#include "util/backoff.h"
#include "util/deadline.h"

/*
 * One struct routed per process, owned by main and used only from the
 * event loop thread.  It holds the current config generation, the routing
 * state, the relays' administrative states (indexed like conf->relays, so
 * rebuilt on every reload) and the handles of the loop's events.
 */
struct event_base;
struct event;
struct routed_sockmap;
struct routed_control;
struct routed_render;
struct routed_maillog;
struct sw_engine;
struct routed_health;
struct routed_dnsbl;
struct routed_metrics;
struct routed_cluster;
struct sw_observation;

/* A counter per name (decision events, relays), for the metrics. */
#define ROUTED_NAMED_MAX  64
#define ROUTED_EV_SOURCES (SW_EV_OPERATOR + 1)
#define ROUTED_EV_CLASSES 3 /* other, reputation, throttle */
struct routed_named {
    char name[72];
    unsigned long n;
};

struct routed_stats {
    unsigned long lookups;
    unsigned long found;
    unsigned long notfound;
    unsigned long malformed;
    unsigned long connections;
    unsigned long log_lines;
    unsigned long log_outcomes;
    unsigned long log_bad;
    unsigned long log_refused;  /* journal: delivery lines not written by the MTA */
    unsigned long log_untimely; /* outcomes stamped too far ahead or behind, or undated */
    unsigned long log_unused;   /* outcomes of a source that is not evidence */
    unsigned long evidence;         /* records from spillway-milter */
    unsigned long evidence_trusted; /* of which trusted */
    unsigned long evidence_bad;     /* unparsable */
    unsigned long evidence_refused; /* from a user that may not send */
    unsigned long saves;            /* state file writes that succeeded */
    unsigned long saves_failed;     /* and that failed (each is retried) */
    unsigned long renders;          /* transport table renders that succeeded */
    unsigned long renders_failed;   /* and that failed (each is retried) */
    unsigned long flushes;          /* routed.flush runs that succeeded */
    unsigned long flushes_failed;   /* and that failed */
    unsigned long source_failures[4]; /* the mail log became missing, unreadable, silent */
    int source_state;      /* enum sw_srcstate of the mail log (routed_maillog.c) */
    time_t source_quiet;   /* monotonic: its last line, or its start if none came */
    bool render_failing;            /* the last render failed */
    /* failed deliveries and bounces by source and class (routed_metrics.c) */
    unsigned long evidence_by[ROUTED_EV_SOURCES][ROUTED_EV_CLASSES];
    struct routed_named decisions[ROUTED_NAMED_MAX]; /* by event */
    size_t ndecisions;
    struct routed_named delivered[ROUTED_NAMED_MAX]; /* successes in the log, by relay */
    size_t ndelivered;
    struct routed_named deferred[ROUTED_NAMED_MAX]; /* deferrals in the log, by relay */
    size_t ndeferred;
    struct routed_named bounced[ROUTED_NAMED_MAX]; /* bounces in the log, by relay */
    size_t nbounced;
};

struct routed {
    struct event_base *base;
    const char *conf_path;
    struct sw_conf *conf;
    enum sw_relay_admin *admin;
    struct sw_route *route;
    struct sw_history *history;
    uid_t *allowed_uids; /* control socket: resolved at load */
    size_t nallowed_uids;
    gid_t *allowed_gids;
    size_t nallowed_gids;
    struct routed_sockmap *sockmap;
    struct routed_control *control;
    struct routed_render *render;
    struct routed_maillog *maillog;
    struct routed_evidence *evidence;
    struct sw_engine *engine;
    const unsigned long *hour; /* deliveries per relay in the last hour (engine) */
    struct routed_health *healthm;
    struct routed_dnsbl *dnsbl;
    struct routed_metrics *metrics;
    struct routed_cluster *cluster; /* NULL without a cluster group */
    /* Set by main when there is a cluster: the files below the cluster's
     * (routed_decide.c, routed_metrics.c) reach it through these, so that
     * calls between the files go one way. */
    void (*cluster_decided)(struct routed *rd, const struct sw_decision *d);
    bool (*cluster_metrics)(const struct routed *rd, struct sw_buf *b);
    const struct sw_relay_health *health; /* per relay (routed_health.c), or NULL */
    struct event *flush_timer[2];
    struct sw_deadline flush_due[2]; /* routed_flush.c: when each flush is due */
    pid_t flush_child;               /* the flush command running, or 0 */
    bool flush_quiet;                /* the next run is the first after start */
    bool flush_child_quiet;          /* the running one is: a failure is no warning */
    bool flush_failing;              /* its last run failed (logged once) */
    struct event *expire_timer;
    struct event *save_timer;        /* a coalesced save, or the retry of a failed one */
    struct sw_backoff save_backoff;  /* routed_persist.c */
    struct routed_stats stats;
    time_t started;
    int lock_fd; /* routed.state + ".lock", held for the life of the process */
    struct sw_tag_keys rp_keys; /* milter.tag_keys for the rp-sender map; n 0: none */
    bool rp_keys_warned;        /* a lookup without keys was logged (once per load) */
};

/* routed_policy - the policy view of the current generation */
static inline struct sw_policy
routed_policy(const struct routed *rd)
{
    struct sw_policy p = { rd->conf, rd->admin, rd->hour, rd->health };

    return p;
}

/* Routing must follow a change that a module below routed_decide.c saw
 * (an alternate listed or delisted): given to it at start, so that calls
 * between the files go one way. */
typedef void (*routed_changed_fn)(struct routed *rd);

/* routed_decide.c: what every state change goes through. */
void routed_record(struct routed *rd, const struct sw_decision *d);
void routed_changed(struct routed *rd);
/* Move scopes off relays that can no longer take them; with no eligible
 * alternate a scope goes back to primary if release, else it keeps its
 * relay and waits on the primary (held) until the relay is usable. */
void routed_revalidate(struct routed *rd, time_t now, const char *cause, bool release);
void routed_schedule_expiry(struct routed *rd);
/* The engine's decision callback (ctx: struct routed). */
void routed_decided(const struct sw_decision *d, void *ctx);

/* routed_flush.c: run routed.flush soon, and again after Postfix's 30 s
 * resolve cache has expired. */
void routed_flush_soon(struct routed *rd);
/* the same at start, the first run allowed to fail (the MTA may start
 * after spillway-routed) */
void routed_flush_at_start(struct routed *rd);
/* a child exited: false if it is not the flush command */
bool routed_flush_child_exited(struct routed *rd, pid_t pid, int status);
void routed_flush_free(struct routed *rd);

/* routed_maillog.c: follow c's routed.maillog (a source, util/logsrc.h),
 * feed the engine; NULL with err empty when none is configured. */
struct routed_maillog *routed_maillog_start(struct routed *rd, const struct sw_conf *c,
                                            struct sw_buf *err);
void routed_maillog_stop(struct routed_maillog *ml);
/* reload with the same source: a postlog file still trusted? (warns) */
void routed_maillog_recheck(struct routed_maillog *ml);
/* status: a text block, or the JSON member "maillog":{...} */
void routed_maillog_status(const struct routed *rd, bool json, struct sw_buf *out);

/* routed_evidence.c: records from spillway-milter (DESIGN.md 5.3). */
struct routed_evidence *routed_evidence_start(struct routed *rd, struct sw_buf *err);
void routed_evidence_stop(struct routed_evidence *re);
/* Reload: open the socket at a moved routed.evidence before the new
 * generation is taken (false: refuse the reload, err says why), then
 * take it and look milter.user up again once it is in. */
bool routed_evidence_reopen(struct routed *rd, const struct sw_conf *fresh,
                            struct routed_evidence **out, struct sw_buf *err);
void routed_evidence_reloaded(struct routed *rd, struct routed_evidence *fresh);

/* routed_health.c: resolve relays, probe their addresses (DESIGN.md 6). */
struct routed_health *routed_health_start(struct routed *rd);
void routed_health_reload(struct routed_health *hm, const struct sw_conf *old);
void routed_health_stop(struct routed_health *hm);

/* routed_dnsbl.c: DNSBL checks of blamed egress IPs and of alternates. */
struct routed_dnsbl *routed_dnsbl_start(struct routed *rd, routed_changed_fn listing_changed);
void routed_dnsbl_reload(struct routed_dnsbl *db);
void routed_dnsbl_stop(struct routed_dnsbl *db);
/* A relay's address set changed: check the alternates' new addresses. */
void routed_dnsbl_relays_changed(struct routed *rd);
/* Evidence against a pool: remember the egress IPs its text names. */
void routed_dnsbl_learn(struct routed *rd, const struct sw_evidence *ev);
/* The IPs a scope's evidence blames that are listed now, "IP in ZONE (CODE)". */
bool routed_dnsbl_scope_listed(const struct routed *rd, const struct sw_scope *s, char *why,
                               size_t size);
/* status lines */
void routed_dnsbl_status(const struct routed *rd, struct sw_buf *out);

/* routed_metrics.c: the Prometheus endpoint (routed.metrics) and its
 * counters.  start returns NULL with err empty when none is configured. */
struct routed_metrics *routed_metrics_start(struct routed *rd, struct sw_buf *err);
void routed_metrics_stop(struct routed_metrics *m);
void routed_count_evidence(struct routed *rd, const struct sw_evidence *ev);
void routed_count_decision(struct routed *rd, const char *event);
/* a mail log outcome through relay: sent 0, deferred 1, bounced 2 */
void routed_count_outcome(struct routed *rd, const char *relay, int status);
/* The whole exposition (tests and the endpoint). */
bool routed_metrics_render(const struct routed *rd, struct sw_buf *out);

/* routed_cluster*.c: several nodes through Redis (DESIGN.md 5.8).  start
 * returns NULL with err empty when there is no cluster group. */
struct routed_cluster *routed_cluster_start(struct routed *rd, struct sw_buf *err);
void routed_cluster_stop(struct routed_cluster *cl);
/* scopes without a node (from before the cluster) become this node's */
void routed_cluster_adopt(struct routed *rd);
/* this node's decision (routed_record) and evidence (the engine's input) */
void routed_cluster_decided(struct routed *rd, const struct sw_decision *d);
void routed_cluster_evidence(struct routed *rd, const struct sw_observation *ob);
/* status: a text block, or the JSON member ,"cluster":{...}; metrics */
void routed_cluster_status(const struct routed *rd, bool json, struct sw_buf *out);
bool routed_cluster_metrics(const struct routed *rd, struct sw_buf *b);

/* routed_hstatus.c: health and listings in status and explain. */
struct sw_answer;
void routed_health_text(const struct routed *rd, struct sw_buf *out);
void routed_health_json(const struct routed *rd, size_t relay, struct sw_buf *out);
void routed_health_explain(const struct routed *rd, const struct sw_answer *a, struct sw_buf *out);

/* routed_persist.c: a failed save is retried with back-off and logged
 * once per change.  save_durable writes now (fsync, rename) and says why
 * it could not: an operator's change is acknowledged only after it. */
void routed_state_load(struct routed *rd);
void routed_state_save_soon(struct routed *rd);
bool routed_state_save_now(struct routed *rd);
bool routed_state_save_durable(struct routed *rd, struct sw_buf *why);

/* routed_tables.c: which tables routed.mta and the formats ask for; their
 * names for a log line ("DIR/transport", "DIR/mailertable", both, or
 * "no table"); "mta=sendmail tables=DIR/mailertable(hash)" for -n and
 * started:; a warning when Postfix's tables are asked for on a host
 * without Postfix's main.cf */
bool routed_tables_postfix(const struct sw_conf *c);
bool routed_tables_sendmail(const struct sw_conf *c);
void routed_tables_names(const struct sw_conf *c, char *out, size_t size);
void routed_tables_describe(const struct sw_conf *c, struct sw_buf *out);
bool routed_tables_check(const struct sw_conf *c, struct sw_buf *warning);

/* The tools of one render, run one after the other (postmap, makemap). */
#define ROUTED_TOOLS     2
#define ROUTED_TOOL_ARGS 8
struct routed_tool {
    char what[512]; /* "postmap lmdb:DIR/transport": for the log */
    char *argv[ROUTED_TOOL_ARGS];
    char *input; /* standard input; NULL: /dev/null */
    char *output; /* made world-readable after a success, or NULL */
};
struct routed_tools {
    struct routed_tool v[ROUTED_TOOLS];
    size_t n, cur; /* prepared, and the one running */
    pid_t child;   /* running, or 0 */
};
enum routed_tools_result {
    ROUTED_TOOLS_NOT_OURS, /* another child */
    ROUTED_TOOLS_RUNNING,  /* the next tool started */
    ROUTED_TOOLS_DONE,     /* every tool exited 0 */
    ROUTED_TOOLS_FAILED    /* one failed (or could not start): why says which */
};
void routed_tools_reset(struct routed_tools *t);
bool routed_tools_postmap(struct routed_tools *t, const struct sw_conf *c, const char *path,
                          const char *path2);
bool routed_tools_makemap(struct routed_tools *t, const struct sw_conf *c, const char *path);
bool routed_tools_start(struct routed_tools *t, struct sw_buf *why);
enum routed_tools_result routed_tools_exited(struct routed_tools *t, pid_t pid, int status,
                                             struct sw_buf *why);

/* routed_render.c */
struct routed_render *routed_render_new(struct routed *rd);
void routed_render_free(struct routed_render *rr);
void routed_render_soon(struct routed_render *rr);
bool routed_render_child_exited(struct routed_render *rr, pid_t pid, int status);
void routed_render_filters(struct routed *rd);


/* Event priorities (routed_main.c): lookups before everything else. */
#define ROUTED_PRIO_LOOKUP 0
#define ROUTED_PRIO_OTHER  1

/* routed_sockmap.c */
struct routed_sockmap *routed_sockmap_start(struct routed *rd, struct sw_buf *err);
void routed_sockmap_stop(struct routed_sockmap *sm);

/* routed_control.c */
struct routed_control *routed_control_start(struct routed *rd, struct sw_buf *err);
void routed_control_stop(struct routed_control *ctl);

/* routed_reply.c: pieces of the replies several verbs write. */
struct sw_ctl_request;
const char *routed_stamp(time_t t, char *buf, size_t size); /* ISO 8601 UTC, "-" for 0 */
void routed_reply_error(struct sw_buf *out, const char *msg); /* the reply becomes one error */
void routed_scope_text(const struct sw_scope *s, time_t now, struct sw_buf *out);
void routed_scope_json(const struct sw_scope *s, struct sw_buf *out);

/* routed_explain.c: the explain verb (its body; the caller wrote "ok"). */
void routed_explain(struct routed *rd, const struct sw_ctl_request *req, struct sw_buf *out);

/* routed_verbs.c: one control request, reply into out. */
void routed_verb(struct routed *rd, const struct sw_ctl_request *req, uid_t uid,
                 struct sw_buf *out);

/* routed_reload.c: apply a new config file; false with the errors in err;
 * the warnings of a reload taken, one a line, in warn (may be NULL). */
bool routed_reload(struct routed *rd, long uid, struct sw_buf *err, struct sw_buf *warn);
/* The control users and groups as uids and gids (at start and reload). */
bool routed_access(const struct sw_conf *c, uid_t **uids, size_t *nu, gid_t **gids, size_t *ng,
                   struct sw_buf *err);
/* One "config:" line per relay. */
void routed_log_relays(const struct sw_conf *c);
/* The tag keys for the rp-sender map (milter.return_path), at start and
 * reload; none when return_path is off or the file cannot be read. */
void routed_rp_keys(struct routed *rd, const struct sw_conf *c);

#endif
