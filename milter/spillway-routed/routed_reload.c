/* routed_reload.c - a new configuration generation, checked and swapped in */

/*
 * SIGUSR1, SIGHUP and "spillwayctl reload" come here.  The new file is
 * loaded and validated in full before anything changes; on any error the
 * running generation stays and the log says why (reload: result=refused).
 * What cannot move while running (listeners, state file, render_dir) is
 * kept and a warning says so.  The control users are resolved to uids
 * here, at start and at every reload.
 */
#include "config.h"

#include <grp.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "global/conf.h"
#include "global/logtrust.h"
#include "global/rpath.h"
#include "util/log.h"
#include "util/userid.h"
#include "routed.h"

/* push_id - add to the control access list */


/* same_str - NULL-safe string equality */
static bool
same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* cluster_same - the cluster group did not change */
static bool
cluster_same(const struct sw_cluster_conf *a, const struct sw_cluster_conf *b)
{
    size_t i;

    if (a->enabled != b->enabled || !same_str(a->redis, b->redis) || !same_str(a->master, b->master)
        || !same_str(a->node, b->node) || !same_str(a->key_file, b->key_file)
        || !same_str(a->password_file, b->password_file) || !same_str(a->prefix, b->prefix)
        || a->timeout != b->timeout || a->heartbeat != b->heartbeat || a->reassert != b->reassert
        || a->peer_timeout != b->peer_timeout || a->queue != b->queue
        || a->stream_max != b->stream_max || a->sentinels.n != b->sentinels.n)
        return false;
    for (i = 0; i < a->sentinels.n; i++)
        if (strcmp(a->sentinels.v[i], b->sentinels.v[i]) != 0)
            return false;
    return true;
}

static bool
push_id(void *arrp, size_t *n, size_t elem, const void *id)
{
    void **arr = arrp;
    char *p = realloc(*arr, (*n + 1) * elem);

    if (p == NULL)
        return false;
    memcpy(p + *n * elem, id, elem);
    *arr = p;
    ++*n;
    return true;
}

/* routed_access - users and groups to uids and gids, once per load */
bool
routed_access(const struct sw_conf *c, uid_t **uids, size_t *nu, gid_t **gids, size_t *ng,
               struct sw_buf *err)
{
    const struct passwd *pw;
    const struct group *gr;
    char *end, **mem;
    uid_t uid;
    gid_t gid;
    size_t i;

    *uids = NULL;
    *gids = NULL;
    *nu = *ng = 0;
    for (i = 0; i < c->routed.control_users.n; i++) {
        if (!sw_uid_of(c->routed.control_users.v[i], &uid)) {
            sw_buf_printf(err, "routed.control_users: no such user %s",
                          c->routed.control_users.v[i]);
            return false;
        }
        if (!push_id(uids, nu, sizeof(uid), &uid))
            return false;
    }
    for (i = 0; i < c->routed.control_groups.n; i++) {
        gid = (gid_t) strtoul(c->routed.control_groups.v[i], &end, 10);
        gr = *end ? getgrnam(c->routed.control_groups.v[i]) : getgrgid(gid);
        if (*end && gr == NULL) {
            sw_buf_printf(err, "routed.control_groups: no such group %s",
                          c->routed.control_groups.v[i]);
            return false;
        }
        if (gr)
            gid = gr->gr_gid;
        if (!push_id(gids, ng, sizeof(gid), &gid))
            return false;
        /* Supplementary members: SO_PEERCRED gives only the primary gid. */
        for (mem = gr ? gr->gr_mem : NULL; mem && *mem; mem++)
            if ((pw = getpwnam(*mem)) != NULL && !push_id(uids, nu, sizeof(uid), &pw->pw_uid))
                return false;
    }
    return true;
}

/* routed_log_relays - one "config:" line per relay at start and after a reload,
 * so that a reader of the log (spillway-report) can name the MTA's
 * relay=host[ip]:port by the relay it belongs to */
void
routed_log_relays(const struct sw_conf *c)
{
    size_t i;
    const struct sw_relay *r;

    for (i = 0; i < c->nrelays; i++) {
        r = &c->relays[i];
        sw_info("config: relay=%s role=%s nexthop=%s priority=%d", r->name,
                r->role == SW_ROLE_PRIMARY ? "primary" : "alternate", r->nexthop, r->priority);
    }
}

/* routed_rp_keys - the keys that sign return-path addresses, for Postfix's
 * sender_canonical_maps (rp-sender).  Not reading them is no error: the
 * milter may do all the rewriting, and the file is the milter's; the map
 * then answers NOTFOUND and mail leaves with its own sender. */
void
routed_rp_keys(struct routed *rd, const struct sw_conf *c)
{
    struct sw_tag_keys keys;
    struct sw_buf err;

    memset(&keys, 0, sizeof(keys));
    if (sw_rpath_on(&c->milter.rp)) {
        sw_buf_init(&err, 1024);
        if (!sw_tag_keys_load(c->milter.tag_keys, &keys, &err)) {
            /* Only a note: with the milter wiring the file is the milter's
             * alone.  The first rp-sender lookup without keys warns. */
            sw_info("return-path: %s: the rp-sender map answers NOTFOUND (only the milter "
                    "rewrites senders)",
                    sw_buf_str(&err));
            memset(&keys, 0, sizeof(keys));
        }
        sw_buf_free(&err);
    }
    OPENSSL_cleanse(&rd->rp_keys, sizeof(rd->rp_keys));
    rd->rp_keys = keys;
    rd->rp_keys_warned = false;
    OPENSSL_cleanse(&keys, sizeof(keys));
}

/* log_refused - a reload that did not happen, and why (quoted, escaped) */
static void
log_refused(const struct routed *rd, long uid, const char *why)
{
    struct sw_buf q;

    sw_buf_init(&q, 4096);
    (void) sw_buf_add_escaped(&q, why, 2000);
    sw_error("reload: config=%s uid=%ld result=refused reason=\"%s\"", rd->conf_path, uid,
             sw_buf_str(&q));
    sw_buf_free(&q);
}

/* reload_warn - a warning of a reload that was taken: logged, and one
 * line of warn for the operator who asked (spillwayctl reload) */
static void
reload_warn(struct sw_buf *warn, const char *msg)
{
    sw_warn("reload: %s", msg);
    if (warn)
        sw_buf_printf(warn, "%s\n", msg);
}

/* keep_running_paths - listeners and files stay bound to the paths they
 * were opened with: a reload says so when they changed, and keeps them */
static void
keep_running_paths(struct sw_conf *old, struct sw_conf *fresh, struct sw_buf *warn)
{
    size_t i;

    if (old->routed.socketmap.n != fresh->routed.socketmap.n
        || strcmp(old->routed.control, fresh->routed.control) != 0
        || strcmp(old->routed.state, fresh->routed.state) != 0
        || strcmp(old->routed.render_dir, fresh->routed.render_dir) != 0)
        reload_warn(warn, "listener, state and render_dir changes take effect at the next "
                          "restart");
    else
        for (i = 0; i < fresh->routed.socketmap.n; i++)
            if (strcmp(old->routed.socketmap.v[i], fresh->routed.socketmap.v[i]) != 0) {
                reload_warn(warn, "socketmap listener changes take effect at the next restart");
                break;
            }
    if ((old->routed.metrics == NULL) != (fresh->routed.metrics == NULL)
        || (old->routed.metrics && strcmp(old->routed.metrics, fresh->routed.metrics) != 0))
        reload_warn(warn, "metrics listener changes take effect at the next restart");
    if (!cluster_same(&old->cluster, &fresh->cluster))
        reload_warn(warn, "cluster changes take effect at the next restart");
    {
        /* the link, its node name and its keys are bound to the running group */
        struct sw_cluster_conf t = fresh->cluster;

        fresh->cluster = old->cluster;
        old->cluster = t;
    }
    /* Keep the running paths: the listeners and files are bound to them. */
    for (i = 0; i < fresh->routed.socketmap.n && i < old->routed.socketmap.n; i++) {
        char *t = fresh->routed.socketmap.v[i];
        fresh->routed.socketmap.v[i] = old->routed.socketmap.v[i];
        old->routed.socketmap.v[i] = t;
    }
#define SW_KEEP(field)                           \
    do {                                         \
        char *t = fresh->routed.field;           \
        fresh->routed.field = old->routed.field; \
        old->routed.field = t;                   \
    } while (0)
    SW_KEEP(control);
    SW_KEEP(state);
    SW_KEEP(render_dir);
    SW_KEEP(metrics);
#undef SW_KEEP
}


/* maillog_changed - the source, its trust or its users differ */
static bool
maillog_changed(const struct sw_conf *old, const struct sw_conf *fresh)
{
    const struct sw_strv *a = &old->routed.maillog_users, *b = &fresh->routed.maillog_users;
    size_t i;

    if (!same_str(old->routed.maillog, fresh->routed.maillog)
        || !same_str(old->routed.maillog_trust, fresh->routed.maillog_trust) || a->n != b->n)
        return true;
    for (i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            return true;
    return false;
}

/* refuse - a reload that cannot be taken: free what was built for it,
 * say why, and keep the running generation */
static bool
refuse(struct routed *rd, long uid, struct sw_conf *fresh, enum sw_relay_admin *admin,
       uid_t *uids, gid_t *gids, const struct sw_buf *err)
{
    free(admin);
    free(uids);
    free(gids);
    sw_conf_free(fresh);
    log_refused(rd, uid, sw_buf_str(err));
    return false;
}

/* routed_reload - build a new generation and swap it in; the warnings
 * of a reload taken (what -n would warn about, changes that wait for a
 * restart) go to the log and, one per line, to warn (may be NULL) */
bool
routed_reload(struct routed *rd, long uid, struct sw_buf *err, struct sw_buf *warn)
{
    struct sw_buf tables;
    struct sw_conf *fresh = sw_conf_load(rd->conf_path, err), *old = rd->conf;
    struct routed_evidence *evidence = NULL;
    enum sw_relay_admin *admin;
    struct routed_maillog *maillog = NULL;
    bool restart_maillog = false;
    uid_t *uids;
    gid_t *gids;
    size_t i, nu, ng;
    const struct sw_relay *r;

    if (fresh == NULL) {
        log_refused(rd, uid, sw_buf_str(err));
        return false;
    }
    if ((admin = calloc(fresh->nrelays + 1, sizeof(*admin))) == NULL
        || !routed_access(fresh, &uids, &nu, &gids, &ng, err)) {
        free(admin);
        sw_conf_free(fresh);
        log_refused(rd, uid, err->len ? sw_buf_str(err) : "out of memory");
        return false;
    }
    /* A moved evidence socket is opened now, so that a failure refuses
     * the whole reload. */
    if (!routed_evidence_reopen(rd, fresh, &evidence, err))
        return refuse(rd, uid, fresh, admin, uids, gids, err);
    /* A new mail log source: follow it from now on, or refuse the reload
     * (the old follower keeps running) when it cannot be opened or its
     * writer is not what the config says. */
    if (maillog_changed(old, fresh)) {
        if ((maillog = routed_maillog_start(rd, fresh, err)) == NULL && err->len) {
            routed_evidence_stop(evidence); /* the socket it moved to, if any */
            return refuse(rd, uid, fresh, admin, uids, gids, err);
        }
        restart_maillog = true;
    }
    /* Administrative states follow relays by name; new relays start as
     * their config says. */
    for (i = 0; i < fresh->nrelays; i++) {
        r = sw_conf_relay(old, fresh->relays[i].name);
        admin[i] = r                          ? rd->admin[r - old->relays]
                   : fresh->relays[i].enabled ? SW_ADMIN_ENABLED
                                              : SW_ADMIN_DISABLED;
    }
    keep_running_paths(old, fresh, warn);
    if (restart_maillog) {
        routed_maillog_stop(rd->maillog);
        rd->maillog = maillog;
        sw_info("reload: maillog=%s result=restarted",
                fresh->routed.maillog ? fresh->routed.maillog : "none");
    } else {
        routed_maillog_recheck(rd->maillog);
    }
    free(rd->admin);
    free(rd->allowed_uids);
    free(rd->allowed_gids);
    rd->admin = admin;
    rd->conf = fresh;
    sw_log_set_facility(fresh->log_facility);
    rd->allowed_uids = uids;
    rd->nallowed_uids = nu;
    rd->allowed_gids = gids;
    rd->nallowed_gids = ng;
    routed_evidence_reloaded(rd, evidence);
    routed_health_reload(rd->healthm, old);
    routed_dnsbl_reload(rd->dnsbl);
    sw_conf_free(old);
    routed_rp_keys(rd, fresh);
    sw_info("reload: config=%s uid=%ld result=ok relays=%zu pools=%zu rules=%zu", rd->conf_path,
            uid, fresh->nrelays, fresh->npools, fresh->nrules);
    routed_log_relays(fresh);
    /* The mail-log follower logs its own source's warning. */
    if (warn && sw_logtrust_warning(fresh))
        sw_buf_printf(warn, "%s\n", sw_logtrust_warning(fresh));
    sw_buf_init(&tables, 8192);
    if (routed_tables_check(fresh, &tables))
        reload_warn(warn, sw_buf_str(&tables));
    sw_buf_free(&tables);
    routed_revalidate(rd, time(NULL), "reload", true);
    routed_render_filters(rd);
    routed_changed(rd);
    return true;
}
