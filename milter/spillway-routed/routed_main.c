/* routed_main.c - spillway-routed: start-up, signals, reload */

/*
 * spillway-routed owns every routing decision (DESIGN.md 2).  This file
 * only wires the pieces to one libevent loop: config, state file,
 * socketmap and control listeners, rendered tables, signals.  It runs in
 * the foreground (systemd, or a supervisor, keeps it alive); -e copies
 * the log to stderr.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "global/conf.h"
#include "global/engine.h"
#include "util/log.h"
#include "routed.h"

#ifndef SW_SYSCONFDIR
#define SW_SYSCONFDIR "/etc"
#endif
#define SW_DEFAULT_CONF SW_SYSCONFDIR "/spillway/spillway.conf"

/* usage - and exit */
static void
usage(int status)
{
    (void) fprintf(status ? stderr : stdout,
                   "usage: spillway-routed [-c FILE] [-n] [-e] [-v]\n"
                   "  -c FILE  configuration (default " SW_DEFAULT_CONF ")\n"
                   "  -n       check the configuration and exit (0: valid)\n"
                   "  -e       log to stderr as well as to syslog\n"
                   "  -v       verbose (debug) logging\n");
    exit(status);
}

/* push_uid - add to the control access list */
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

/* resolve_access - users and groups to uids and gids, once per load */
static bool
resolve_access(const struct sw_conf *c, uid_t **uids, size_t *nu, gid_t **gids, size_t *ng,
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
        uid = (uid_t) strtoul(c->routed.control_users.v[i], &end, 10);
        if (*end != '\0') {
            if ((pw = getpwnam(c->routed.control_users.v[i])) == NULL) {
                sw_buf_printf(err, "routed.control_users: no such user %s",
                              c->routed.control_users.v[i]);
                return false;
            }
            uid = pw->pw_uid;
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

/* log_relays - one "config:" line per relay at start and after a reload,
 * so that a reader of the log (spillway-report) can name the MTA's
 * relay=host[ip]:port by the relay it belongs to */
static void
log_relays(const struct sw_conf *c)
{
    size_t i;
    const struct sw_relay *r;

    for (i = 0; i < c->nrelays; i++) {
        r = &c->relays[i];
        sw_info("config: relay=%s role=%s nexthop=%s priority=%d", r->name,
                r->role == SW_ROLE_PRIMARY ? "primary" : "alternate", r->nexthop, r->priority);
    }
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

/* keep_running_paths - listeners and files stay bound to the paths they
 * were opened with: a reload says so when they changed, and keeps them */
static void
keep_running_paths(struct sw_conf *old, struct sw_conf *fresh)
{
    size_t i;

    if (old->routed.socketmap.n != fresh->routed.socketmap.n
        || strcmp(old->routed.control, fresh->routed.control) != 0
        || strcmp(old->routed.state, fresh->routed.state) != 0
        || strcmp(old->routed.render_dir, fresh->routed.render_dir) != 0)
        sw_warn("reload: listener, state and render_dir changes take effect at the next "
                "restart");
    else
        for (i = 0; i < fresh->routed.socketmap.n; i++)
            if (strcmp(old->routed.socketmap.v[i], fresh->routed.socketmap.v[i]) != 0)
                sw_warn("reload: socketmap listener changes take effect at the next restart");
    if ((old->routed.metrics == NULL) != (fresh->routed.metrics == NULL)
        || (old->routed.metrics && strcmp(old->routed.metrics, fresh->routed.metrics) != 0))
        sw_warn("reload: metrics listener changes take effect at the next restart");
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
    SW_KEEP(maillog);
    SW_KEEP(evidence);
    SW_KEEP(metrics);
#undef SW_KEEP
}

/* routed_reload - build a new generation and swap it in */
bool
routed_reload(struct routed *rd, long uid, struct sw_buf *err)
{
    struct sw_conf *fresh = sw_conf_load(rd->conf_path, err), *old = rd->conf;
    enum sw_relay_admin *admin;
    uid_t *uids;
    gid_t *gids;
    size_t i, nu, ng;
    const struct sw_relay *r;

    if (fresh == NULL) {
        log_refused(rd, uid, sw_buf_str(err));
        return false;
    }
    if ((admin = calloc(fresh->nrelays + 1, sizeof(*admin))) == NULL
        || !resolve_access(fresh, &uids, &nu, &gids, &ng, err)) {
        free(admin);
        sw_conf_free(fresh);
        log_refused(rd, uid, err->len ? sw_buf_str(err) : "out of memory");
        return false;
    }
    /* Administrative states follow relays by name; new relays start as
     * their config says. */
    for (i = 0; i < fresh->nrelays; i++) {
        r = sw_conf_relay(old, fresh->relays[i].name);
        admin[i] = r                          ? rd->admin[r - old->relays]
                   : fresh->relays[i].enabled ? SW_ADMIN_ENABLED
                                              : SW_ADMIN_DISABLED;
    }
    keep_running_paths(old, fresh);
    free(rd->admin);
    free(rd->allowed_uids);
    free(rd->allowed_gids);
    rd->admin = admin;
    rd->conf = fresh;
    rd->allowed_uids = uids;
    rd->nallowed_uids = nu;
    rd->allowed_gids = gids;
    rd->nallowed_gids = ng;
    routed_health_reload(rd->healthm, old);
    routed_dnsbl_reload(rd->dnsbl);
    sw_conf_free(old);
    sw_info("reload: config=%s uid=%ld result=ok relays=%zu pools=%zu rules=%zu", rd->conf_path,
            uid, fresh->nrelays, fresh->npools, fresh->nrules);
    log_relays(fresh);
    routed_revalidate(rd, time(NULL), "reload", true);
    routed_render_filters(rd);
    routed_changed(rd);
    return true;
}

/* signal_cb - TERM/INT stop; USR1/HUP reload; CHLD reaps postmap */
static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct routed *rd = arg;
    struct sw_buf err;

    (void) what;
    switch (sig) {
    case SIGTERM:
    case SIGINT:
        sw_info("stopping on signal %d", (int) sig);
        (void) event_base_loopbreak(rd->base);
        break;
    case SIGUSR1:
    case SIGHUP:
        sw_buf_init(&err, 8192);
        (void) routed_reload(rd, (long) getuid(), &err);
        sw_buf_free(&err);
        break;
    case SIGCHLD: routed_render_child_exited(rd->render); break;
    }
}

/* new_base - the event loop, lookups first
 *
 * DESIGN.md 2: a lookup is answered in microseconds and never waits on
 * DNS, probes or disk.  libevent runs every ready callback before it polls
 * again, so a batch of probe steps (a TLS handshake with certificate
 * verification costs about 1.4 ms of CPU) would hold up the lookups that
 * arrive meanwhile.  Socketmap events get priority 0, everything else
 * (probes, DNS, the mail log, control) the default 1, and at most one
 * callback of priority 1 runs before the loop polls for lookups again. */
static struct event_base *
new_base(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;

    if (cfg == NULL)
        return NULL;
    (void) event_config_set_max_dispatch_interval(cfg, NULL, 1, 1);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (base && event_base_priority_init(base, 2) != 0) {
        event_base_free(base);
        return NULL;
    }
    return base;
}

/* check_only - -n: validate and report */
static int
check_only(const char *path)
{
    struct sw_buf err;
    struct sw_conf *c;

    sw_buf_init(&err, 65536);
    if ((c = sw_conf_load(path, &err)) == NULL) {
        (void) fprintf(stderr, "%s\n", sw_buf_str(&err));
        sw_buf_free(&err);
        return 1;
    }
    (void) printf("%s: ok (%zu relays, %zu pools, %zu rules, %zu residency rules)\n", path,
                  c->nrelays, c->npools, c->nrules, c->nresidency);
    sw_conf_free(c);
    sw_buf_free(&err);
    return 0;
}

int
main(int argc, char **argv)
{
    static const int sigs[] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGCHLD };
    struct event *sigev[sizeof(sigs) / sizeof(sigs[0])] = { NULL };
    const char *path = SW_DEFAULT_CONF;
    struct routed rd;
    struct sw_buf err;
    bool check = false, to_stderr = false, verbose = false;
    size_t i;
    int ch;

    while ((ch = getopt(argc, argv, "c:nevh")) != -1) {
        switch (ch) {
        case 'c': path = optarg; break;
        case 'n': check = true; break;
        case 'e': to_stderr = true; break;
        case 'v': verbose = true; break;
        case 'h': usage(0); break;
        default: usage(2);
        }
    }
    if (optind != argc)
        usage(2);
    if (check)
        return check_only(path);

    sw_log_open("spillway-routed", to_stderr, verbose);
    (void) signal(SIGPIPE, SIG_IGN);
    memset(&rd, 0, sizeof(rd));
    rd.conf_path = path;
    rd.started = time(NULL);
    sw_buf_init(&err, 65536);
    if ((rd.conf = sw_conf_load(path, &err)) == NULL)
        sw_fatal("%s", sw_buf_str(&err));
    if ((rd.admin = calloc(rd.conf->nrelays + 1, sizeof(*rd.admin))) == NULL
        || (rd.route = sw_route_new()) == NULL
        || (rd.history = sw_history_new((size_t) rd.conf->routed.history)) == NULL
        || (rd.engine = sw_engine_new()) == NULL || (rd.base = new_base()) == NULL)
        sw_fatal("out of memory at start-up");
    for (i = 0; i < rd.conf->nrelays; i++)
        rd.admin[i] = rd.conf->relays[i].enabled ? SW_ADMIN_ENABLED : SW_ADMIN_DISABLED;
    if (!resolve_access(rd.conf, &rd.allowed_uids, &rd.nallowed_uids, &rd.allowed_gids,
                        &rd.nallowed_gids, &err))
        sw_fatal("%s: %s", path, err.len ? sw_buf_str(&err) : "out of memory");
    routed_state_load(&rd);
    if ((rd.healthm = routed_health_start(&rd)) == NULL || (rd.dnsbl = routed_dnsbl_start(&rd)) == NULL)
        sw_fatal("out of memory at start-up");
    routed_revalidate(&rd, time(NULL), "start", true);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if ((sigev[i] = evsignal_new(rd.base, sigs[i], signal_cb, &rd)) == NULL
            || event_add(sigev[i], NULL) < 0)
            sw_fatal("cannot install signal handlers");
    if ((rd.render = routed_render_new(&rd)) == NULL)
        sw_fatal("out of memory at start-up");
    if ((rd.sockmap = routed_sockmap_start(&rd, &err)) == NULL)
        sw_fatal("%s", sw_buf_str(&err));
    if ((rd.control = routed_control_start(&rd, &err)) == NULL)
        sw_fatal("%s", sw_buf_str(&err));
    if ((rd.maillog = routed_maillog_start(&rd, &err)) == NULL && err.len)
        sw_fatal("maillog %s: %s", rd.conf->routed.maillog, sw_buf_str(&err));
    if ((rd.evidence = routed_evidence_start(&rd, &err)) == NULL) {
        sw_warn("%s: bounce evidence from spillway-milter is not received", sw_buf_str(&err));
        sw_buf_reset(&err);
    }
    if ((rd.metrics = routed_metrics_start(&rd, &err)) == NULL && err.len)
        sw_fatal("%s", sw_buf_str(&err));
    routed_schedule_expiry(&rd);
    sw_info("started: config=%s relays=%zu pools=%zu scopes=%zu", path, rd.conf->nrelays,
            rd.conf->npools, sw_route_count(rd.route));
    log_relays(rd.conf);

    (void) event_base_dispatch(rd.base);

    routed_metrics_stop(rd.metrics);
    routed_maillog_stop(rd.maillog);
    routed_evidence_stop(rd.evidence);
    routed_dnsbl_stop(rd.dnsbl);
    routed_health_stop(rd.healthm);
    routed_sockmap_stop(rd.sockmap);
    routed_control_stop(rd.control);
    routed_flush_free(&rd);
    if (rd.save_timer && evtimer_pending(rd.save_timer, NULL))
        (void) routed_state_save_now(&rd);
    routed_render_free(rd.render);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        event_free(sigev[i]);
    if (rd.expire_timer)
        event_free(rd.expire_timer);
    if (rd.save_timer)
        event_free(rd.save_timer);
    event_base_free(rd.base);
    sw_history_free(rd.history);
    sw_engine_free(rd.engine);
    sw_route_free(rd.route);
    free(rd.admin);
    free(rd.allowed_uids);
    free(rd.allowed_gids);
    sw_conf_free(rd.conf);
    sw_buf_free(&err);
    sw_info("stopped");
    sw_log_close();
    return 0;
}
