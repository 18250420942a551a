/* milter_main.c - spillway-milter: options, start-up, privileges, reload */
#include "config.h"

#define _FFR_MDS_NEGOTIATE 1
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "util/pidlock.h"
#include "milter.h"

#define SW_DEF_CONF SW_SYSCONFDIR "/spillway/spillway.conf"

static char listening[4096]; /* milter.socket at start: a reload does not move it */

/* usage - and exit: --help on stdout (0), a usage error on stderr (2) */
static void
usage(int status)
{
    (void) fprintf(
        status ? stderr : stdout,
        "usage: spillway-milter [-c FILE] [-n] [-e] [-v]\n"
        "       spillway-milter --analyze [-c FILE | --patterns FILE] [--rcpt ADDR] BOUNCE...\n"
        "       spillway-milter --restore [-c FILE] SENDER RECIPIENT [-- COMMAND ARG...]\n"
        "       spillway-milter --help | --version\n"
        "  -c FILE  configuration (default " SW_DEF_CONF ")\n"
        "  -n       check the configuration and exit (0: valid, 1: not)\n"
        "  -e       log to stderr as well as to syslog\n"
        "  -v       verbose (debug) logging\n"
        "Exit status: 0 done, 1 failed (a configuration or start-up error), 2 usage;\n"
        "--restore exits with sysexits(3) codes for the MTA.\n");
    exit(status);
}

/* reload - SIGUSR1: a new generation, or the old one stays */
static void
reload(void)
{
    struct sw_buf err;
    struct milter_gen *g;

    sw_buf_init(&err, 16384);
    if ((g = milter_gen_load(sw_milter.conf_path, &err)) == NULL) {
        sw_error("reload refused, the running configuration stays: %s", sw_buf_str(&err));
    } else {
        if (strcmp(g->conf->milter.socket, listening) != 0)
            sw_warn("reload: milter.socket changes take effect at the next restart");
        milter_gen_swap(g);
        sw_info("reloaded %s (%zu tag key%s)", sw_milter.conf_path, g->keys.n,
                g->keys.n == 1 ? "" : "s");
    }
    sw_buf_free(&err);
}

/* signal_thread - SIGUSR1 reloads (libmilter's own thread treats SIGHUP
 * like SIGTERM, see MTA-FACTS.md) */
static void *
signal_thread(void *arg)
{
    sigset_t *set = arg;
    int sig;

    for (;;)
        if (sigwait(set, &sig) == 0 && sig == SIGUSR1)
            reload();
    return NULL;
}

/* socket_path - the file of a unix:/local: socket, or NULL */
static const char *
socket_path(const char *conn)
{
    if (strncmp(conn, "unix:", 5) == 0)
        return conn + 5;
    if (strncmp(conn, "local:", 6) == 0)
        return conn + 6;
    return NULL;
}

/* take_lock - one milter per socket: a second start stops here, naming
 * the running one, before libmilter removes the socket it listens on; the
 * lock file belongs to milter.user, who starts the milter next time */
static void
take_lock(const char *socket, uid_t uid, gid_t gid)
{
    static int lock_fd = -1; /* held for the life of the process */
    struct sw_buf path, err;
    pid_t holder;

    sw_buf_init(&path, 4096);
    sw_buf_init(&err, 4096);
    if (!sw_buf_printf(&path, "%s.lock", socket))
        sw_fatal("milter.socket: path too long");
    if ((lock_fd = sw_pidlock_take(sw_buf_str(&path), &holder, &err)) < 0)
        sw_fatal("not started: %s", sw_buf_str(&err));
    if (getuid() == 0 && fchown(lock_fd, uid, gid) < 0)
        sw_warn("%s: chown: %s", sw_buf_str(&path), strerror(errno));
    sw_buf_free(&path);
    sw_buf_free(&err);
}

/* open_socket - before privileges are dropped (libmilter sets no mode)
 *
 * The socket is given to milter.user and milter.group, changing only what
 * differs: started by systemd as milter.user, the milter owns the socket
 * already, and in the shipped layout its directory is set-gid postfix
 * (tmpfiles), so the group is right too and no chown is needed (a
 * non-root process may only chown to a group it is in). */
static void
open_socket(const struct sw_conf *c, uid_t uid, gid_t gid)
{
    const char *path = socket_path(c->milter.socket);
    struct stat st;
    mode_t old;

    if (path != NULL)
        take_lock(path, uid, gid);
    if (smfi_setconn(c->milter.socket) != MI_SUCCESS)
        sw_fatal("milter.socket \"%s\": not a socket libmilter understands", c->milter.socket);
    /* libmilter removes whatever is at the path: never a live socket. */
    if (path != NULL && sw_unix_socket_live(path, SOCK_STREAM))
        sw_fatal("not started: %s is in use: another process listens on it", path);
    old = umask(0117);
    if (smfi_opensocket(true) != MI_SUCCESS)
        sw_fatal("cannot open milter.socket \"%s\" (does its directory exist, and may %s write "
                 "there?)",
                 c->milter.socket, c->milter.user ? c->milter.user : "this user");
    umask(old);
    if (path == NULL)
        return;
    if (stat(path, &st) < 0)
        sw_fatal("%s: %s", path, strerror(errno));
    if (uid == st.st_uid)
        uid = (uid_t) -1;
    if (gid == st.st_gid)
        gid = (gid_t) -1;
    if ((uid != (uid_t) -1 || gid != (gid_t) -1) && chown(path, uid, gid) < 0)
        sw_fatal("%s: cannot give the socket to milter.user/milter.group: %s (not root: make "
                 "the socket's directory set-gid milter.group, as spillway's tmpfiles.d file "
                 "does)",
                 path, strerror(errno));
    if (chmod(path, 0660) < 0)
        sw_fatal("%s: %s", path, strerror(errno));
}

/* check_user - not root: only milter.user itself may run the milter
 *
 * spillway-routed trusts evidence from milter.user (and root, and itself):
 * a milter running as anyone else would see every record refused.  Only
 * root can switch users; a service manager that starts the milter as
 * milter.user (spillway-milter.service) leaves nothing to switch. */
static void
check_user(const struct passwd *pw)
{
    if (pw == NULL || getuid() == 0)
        return;
    if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid)
        sw_fatal("running as uid %ld, not as milter.user %s (uid %ld): only root can switch "
                 "users; start spillway-milter as root or as %s",
                 (long) geteuid(), pw->pw_name, (long) pw->pw_uid, pw->pw_name);
}

/* drop_privileges - root: to milter.user, after the socket is open */
static void
drop_privileges(const struct passwd *pw)
{
    if (pw == NULL || getuid() != 0)
        return;
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
        sw_fatal("cannot become user %s: %s", pw->pw_name, strerror(errno));
    if (setuid(0) == 0)
        sw_fatal("privileges could be regained after dropping them to %s", pw->pw_name);
}

/* block_signals - before any thread exists, so every thread inherits the
 * mask: libmilter's signal thread waits for SIGTERM, SIGINT and SIGHUP
 * (and stops cleanly), ours for SIGUSR1 (left in *reload).  Delivered to
 * any other thread, SIGTERM would kill the process without clean-up. */
static void
block_signals(sigset_t *reload)
{
    sigset_t all;

    sigemptyset(&all);
    sigaddset(&all, SIGTERM);
    sigaddset(&all, SIGINT);
    sigaddset(&all, SIGHUP);
    sigaddset(&all, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    sigemptyset(reload);
    sigaddset(reload, SIGUSR1);
}

/* socket_owner - milter.user (returned, to become later) and milter.group */
static const struct passwd *
socket_owner(const struct sw_conf *c, uid_t *uid, gid_t *gid)
{
    const struct passwd *pw = NULL;
    const struct group *gr;

    *uid = (uid_t) -1;
    *gid = (gid_t) -1;
    if (c->milter.user) {
        if ((pw = getpwnam(c->milter.user)) == NULL)
            sw_fatal("milter.user: no such user \"%s\"", c->milter.user);
        *uid = pw->pw_uid;
        *gid = pw->pw_gid;
    }
    if (c->milter.group) {
        if ((gr = getgrnam(c->milter.group)) == NULL)
            sw_fatal("milter.group: no such group \"%s\"", c->milter.group);
        *gid = gr->gr_gid;
    }
    return pw;
}

/* rp_describe - the return-path domains, for -n and the started: line */
static const char *
rp_describe(const struct sw_rpath_conf *rp, char *buf, size_t size)
{
    (void) snprintf(buf, size, "%s%s%s%s%s", rp->domain ? rp->domain : "",
                    rp->domain ? " for every sender" : "", rp->domain && rp->subdomain ? ", " : "",
                    rp->subdomain ? rp->subdomain : "",
                    rp->subdomain ? ".<domain> for the listed sender domains" : "");
    return buf;
}

/* keys_exposed - the key file can be read or written by any user: true
 * with the reason in err (the file was loaded, so it exists) */
static bool
keys_exposed(const char *path, struct sw_buf *err)
{
    struct stat st;

    if (path == NULL || stat(path, &st) != 0 || !(st.st_mode & (S_IROTH | S_IWOTH)))
        return false;
    sw_buf_printf(err,
                  "milter.tag_keys: %s is readable by every user (mode %04o): anyone on this "
                  "host could sign tags; chmod 0640 and chgrp it to milter.user's group",
                  path, (unsigned) (st.st_mode & 07777));
    return true;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    bool check = false, to_stderr = false, verbose = false;
    const struct passwd *pw;
    struct milter_gen *g;
    struct sw_buf err;
    static sigset_t set;
    pthread_t tid;
    uid_t uid;
    gid_t gid;
    uint64_t seed = 0;
    char rp[512];
    int ch, rc;

    sw_milter.conf_path = SW_DEF_CONF;
    if (argc > 1 && strcmp(argv[1], "--analyze") == 0)
        return milter_analyze_files(NULL, argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "--restore") == 0)
        return milter_restore(SW_DEF_CONF, argc - 1, argv + 1);
    while ((ch = getopt_long(argc, argv, "c:nevh", opts, NULL)) != -1)
        switch (ch) {
        case 'c': sw_milter.conf_path = optarg; break;
        case 'n': check = true; break;
        case 'e': to_stderr = true; break;
        case 'v': verbose = true; break;
        case 'h': usage(0); break;
        case 'V': printf("spillway-milter %s\n", PACKAGE_VERSION); return 0;
        default: usage(2);
        }
    if (optind != argc)
        usage(2);
    sw_log_open("spillway-milter", to_stderr || check, verbose);
    sw_buf_init(&err, 16384);
    if ((g = milter_gen_load(sw_milter.conf_path, &err)) == NULL) {
        if (check)
            fprintf(stderr, "%s\n", sw_buf_str(&err));
        else
            sw_error("%s", sw_buf_str(&err));
        sw_buf_free(&err);
        return 1;
    }
    sw_buf_reset(&err);
    /* Before any thread logs; a reload keeps it (libmilter's threads log
     * while syslog would be reopened): a new facility needs a restart. */
    sw_log_set_facility(g->conf->log_facility);
    if (check && keys_exposed(g->conf->milter.tag_keys, &err)) {
        /* As OpenDKIM does: a secret others can read is refused. */
        fprintf(stderr, "%s\n", sw_buf_str(&err));
        sw_buf_free(&err);
        milter_gen_put(g);
        return 1;
    }
    if (keys_exposed(g->conf->milter.tag_keys, &err))
        sw_warn("%s", sw_buf_str(&err));
    sw_buf_free(&err);
    if (check) {
        printf("%s: ok (%zu tag key%s)\n", sw_milter.conf_path, g->keys.n,
               g->keys.n == 1 ? "" : "s");
        if (sw_rpath_on(&g->conf->milter.rp))
            printf("return path: %s\n", rp_describe(&g->conf->milter.rp, rp, sizeof(rp)));
        milter_gen_put(g);
        return 0;
    }
    block_signals(&set);
    sw_milter.gen = g;
    sw_milter.tcp = strncmp(g->conf->milter.socket, "inet", 4) == 0;
    if (g->keys.n == 0)
        sw_warn("no milter.tag_keys: outbound mail is not tagged, every bounce is untrusted");
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t) sizeof(seed))
        seed = (uint64_t) time(NULL) ^ (uint64_t) getpid();
    if ((sw_milter.guard = sw_guard_new(seed)) == NULL)
        sw_fatal("out of memory");
    if ((sw_milter.evidence_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        sw_fatal("socket: %s", strerror(errno));
    pw = socket_owner(g->conf, &uid, &gid);
    check_user(pw);
    if (smfi_register(milter_desc) != MI_SUCCESS)
        sw_fatal("smfi_register failed");
    (void) smfi_setmaxdatasize(MILTER_MDS_1M);
    (void) snprintf(listening, sizeof(listening), "%s", g->conf->milter.socket);
    open_socket(g->conf, uid, gid);
    drop_privileges(pw);
    (void) signal(SIGPIPE, SIG_IGN);
    /* Logged before the reload thread exists: a reload may free g. */
    sw_info("started: config=%s version=%s socket=%s keys=%zu evidence=%s networks=%zu "
            "authenticated=%s return_path=\"%s\"",
            sw_milter.conf_path, PACKAGE_VERSION, g->conf->milter.socket, g->keys.n,
            g->conf->routed.evidence, g->conf->milter.out_networks.n,
            g->conf->milter.out_auth ? "yes" : "no",
            sw_rpath_on(&g->conf->milter.rp) ? rp_describe(&g->conf->milter.rp, rp, sizeof(rp))
                                             : "off");
    if (pthread_create(&tid, NULL, signal_thread, &set) != 0)
        sw_fatal("pthread_create: %s", strerror(errno));
    rc = smfi_main();
    if (socket_path(listening))
        (void) unlink(socket_path(listening)); /* best effort: we are unprivileged now */
    sw_info("stopped: messages=%lu tagged=%lu inbound=%lu bounces=%lu records=%lu trusted=%lu "
            "untrusted=%lu suppressed=%lu dropped=%lu failures=%lu rp_rewritten=%lu rp_left=%lu "
            "rp_restored=%lu rp_refused=%lu",
            sw_milter.stats.messages, sw_milter.stats.tagged, sw_milter.stats.inbound,
            sw_milter.stats.bounces,
            sw_milter.stats.records, sw_milter.stats.trusted, sw_milter.stats.untrusted,
            sw_milter.stats.suppressed, sw_milter.stats.dropped, sw_milter.stats.failures,
            sw_milter.stats.rp_rewritten, sw_milter.stats.rp_left, sw_milter.stats.rp_restored,
            sw_milter.stats.rp_refused);
    return rc == MI_SUCCESS ? 0 : 1;
}
