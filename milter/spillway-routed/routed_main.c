/* routed_main.c - spillway-routed: start-up, signals, the loop */

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
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "global/conf.h"
#include "global/engine.h"
#include "global/logtrust.h"
#include "util/log.h"
#include "util/pidlock.h"
#include "routed.h"

#ifndef SW_SYSCONFDIR
#define SW_SYSCONFDIR "/etc"
#endif
#define SW_DEFAULT_CONF SW_SYSCONFDIR "/spillway/spillway.conf"

/* usage - and exit: --help on stdout (0), a usage error on stderr (2) */
static void
usage(int status)
{
    (void) fprintf(status ? stderr : stdout,
                   "usage: spillway-routed [-c FILE] [-n | -p] [-e] [-v]\n"
                   "       spillway-routed --help | --version\n"
                   "  -c FILE  configuration (default " SW_DEFAULT_CONF ")\n"
                   "  -n       check the configuration and exit (0: valid, 1: not)\n"
                   "  -p       print the effective configuration, defaults included, and exit\n"
                   "  -e       log to stderr as well as to syslog\n"
                   "  -v       verbose (debug) logging\n"
                   "Exit status: 0 done, 1 failed (a configuration or start-up error), 2 usage.\n");
    exit(status);
}

/* listing_changed - routing follows an alternate's DNSBL listing */
static void
listing_changed(struct routed *rd)
{
    routed_revalidate(rd, time(NULL), "health", false);
    routed_changed(rd);
}

/* reap - every child that exited: the renderer's tools, the flush */
static void
reap(struct routed *rd)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        if (!routed_render_child_exited(rd->render, pid, status))
            (void) routed_flush_child_exited(rd, pid, status);
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
        sw_info("stopping: signal=%d", (int) sig);
        (void) event_base_loopbreak(rd->base);
        break;
    case SIGUSR1:
    case SIGHUP:
        sw_buf_init(&err, 8192);
        (void) routed_reload(rd, (long) getuid(), &err, NULL);
        sw_buf_free(&err);
        break;
    case SIGCHLD: reap(rd); break;
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

/* take_lock - one daemon per state file: a second start with the same
 * configuration stops here, naming the running one, before it binds
 * anything (it would otherwise take over the sockets of the first) */
static void
take_lock(struct routed *rd)
{
    struct sw_buf path, err;
    pid_t holder;

    sw_buf_init(&path, 4096);
    sw_buf_init(&err, 4096);
    if (!sw_buf_printf(&path, "%s.lock", rd->conf->routed.state))
        sw_fatal("routed.state: path too long");
    if ((rd->lock_fd = sw_pidlock_take(sw_buf_str(&path), &holder, &err)) < 0)
        sw_fatal("not started: %s", sw_buf_str(&err));
    sw_buf_free(&path);
    sw_buf_free(&err);
}

/* print_conf - -p: the effective configuration, like postconf */
static int
print_conf(const char *path)
{
    struct sw_buf err;
    struct sw_conf *c;

    sw_buf_init(&err, 1 << 20);
    if ((c = sw_conf_load(path, &err)) == NULL) {
        (void) fprintf(stderr, "%s\n", sw_buf_str(&err));
        sw_buf_free(&err);
        return 1;
    }
    sw_buf_reset(&err);
    sw_conf_dump(c, &err);
    (void) fputs(sw_buf_str(&err), stdout);
    sw_conf_free(c);
    sw_buf_free(&err);
    return fflush(stdout) == 0 ? 0 : 1;
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
    sw_buf_reset(&err);
    sw_logtrust_describe(c, &err);
    (void) printf("%s\n", sw_buf_str(&err));
    sw_buf_reset(&err);
    routed_tables_describe(c, &err);
    (void) printf("%s\n", sw_buf_str(&err));
    if (sw_logtrust_warning(c))
        (void) fprintf(stderr, "warning: %s\n", sw_logtrust_warning(c));
    /* a cluster's node without a mail log still has its peers' evidence */
    if (c->nrules > 0 && c->routed.maillog == NULL && !c->cluster.enabled)
        (void) fprintf(stderr, "warning: %zu rules but no evidence source: without "
                               "routed.maillog only bounces (spillway-milter) are evidence; "
                               "set routed.maillog = \"journal\" or \"postlog:FILE\"\n",
                       c->nrules);
    sw_buf_reset(&err);
    if (routed_tables_check(c, &err))
        (void) fprintf(stderr, "warning: %s\n", sw_buf_str(&err));
    sw_conf_free(c);
    sw_buf_free(&err);
    return 0;
}

int
main(int argc, char **argv)
{
    static const int sigs[] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP, SIGCHLD };
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct event *sigev[sizeof(sigs) / sizeof(sigs[0])] = { NULL };
    const char *path = SW_DEFAULT_CONF;
    struct routed rd;
    struct sw_buf err;
    bool check = false, print = false, to_stderr = false, verbose = false;
    size_t i;
    int ch;

    while ((ch = getopt_long(argc, argv, "c:npevh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': path = optarg; break;
        case 'n': check = true; break;
        case 'p': print = true; break;
        case 'e': to_stderr = true; break;
        case 'v': verbose = true; break;
        case 'h': usage(0); break;
        case 'V': (void) printf("spillway-routed %s\n", PACKAGE_VERSION); return 0;
        default: usage(2);
        }
    }
    if (optind != argc)
        usage(2);
    if (check)
        return check_only(path);
    if (print)
        return print_conf(path);

    sw_log_open("spillway-routed", to_stderr, verbose);
    (void) signal(SIGPIPE, SIG_IGN);
    memset(&rd, 0, sizeof(rd));
    rd.conf_path = path;
    rd.started = time(NULL);
    sw_buf_init(&err, 65536);
    if ((rd.conf = sw_conf_load(path, &err)) == NULL)
        sw_fatal("%s", sw_buf_str(&err));
    sw_log_set_facility(rd.conf->log_facility);
    if ((rd.admin = calloc(rd.conf->nrelays + 1, sizeof(*rd.admin))) == NULL
        || (rd.route = sw_route_new()) == NULL
        || (rd.history = sw_history_new((size_t) rd.conf->routed.history)) == NULL
        || (rd.engine = sw_engine_new()) == NULL || (rd.base = new_base()) == NULL)
        sw_fatal("out of memory at start-up");
    for (i = 0; i < rd.conf->nrelays; i++)
        rd.admin[i] = rd.conf->relays[i].enabled ? SW_ADMIN_ENABLED : SW_ADMIN_DISABLED;
    if (!routed_access(rd.conf, &rd.allowed_uids, &rd.nallowed_uids, &rd.allowed_gids,
                        &rd.nallowed_gids, &err))
        sw_fatal("%s: %s", path, err.len ? sw_buf_str(&err) : "out of memory");
    routed_rp_keys(&rd, rd.conf);
    take_lock(&rd);
    routed_state_load(&rd);
    if ((rd.healthm = routed_health_start(&rd)) == NULL || (rd.dnsbl = routed_dnsbl_start(&rd, listing_changed)) == NULL)
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
    if ((rd.maillog = routed_maillog_start(&rd, rd.conf, &err)) == NULL && err.len)
        sw_fatal("maillog %s: %s", rd.conf->routed.maillog, sw_buf_str(&err));
    if ((rd.evidence = routed_evidence_start(&rd, &err)) == NULL) {
        sw_warn("%s: bounce evidence from spillway-milter is not received", sw_buf_str(&err));
        sw_buf_reset(&err);
    }
    if ((rd.metrics = routed_metrics_start(&rd, &err)) == NULL && err.len)
        sw_fatal("%s", sw_buf_str(&err));
    if ((rd.cluster = routed_cluster_start(&rd, &err)) == NULL && err.len)
        sw_fatal("%s", sw_buf_str(&err));
    if (rd.cluster) {
        rd.cluster_decided = routed_cluster_decided;
        rd.cluster_metrics = routed_cluster_metrics;
        routed_cluster_adopt(&rd);
    }
    routed_schedule_expiry(&rd);
    sw_buf_reset(&err);
    sw_logtrust_describe(rd.conf, &err);
    sw_buf_addc(&err, ' ');
    routed_tables_describe(rd.conf, &err);
    sw_info("started: config=%s version=%s relays=%zu pools=%zu scopes=%zu %s", path,
            PACKAGE_VERSION, rd.conf->nrelays, rd.conf->npools, sw_route_count(rd.route),
            sw_buf_str(&err));
    sw_buf_reset(&err);
    if (routed_tables_check(rd.conf, &err))
        sw_warn("%s", sw_buf_str(&err));
    /* Mail the MTA deferred while no spillway-routed answered (Sendmail
     * queues it: conf/sendmail.mc) tries again now. */
    routed_flush_at_start(&rd);
    routed_log_relays(rd.conf);

    (void) event_base_dispatch(rd.base);

    routed_cluster_stop(rd.cluster);
    rd.cluster = NULL;
    rd.cluster_decided = NULL;
    rd.cluster_metrics = NULL;
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
    (void) close(rd.lock_fd); /* the lock goes with it */
    sw_info("stopped: config=%s", path);
    sw_log_close();
    return 0;
}
