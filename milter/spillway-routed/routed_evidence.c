/* routed_evidence.c - evidence from spillway-milter: the datagram socket */

/*
 * DESIGN.md 5.3: one record per datagram on a local unix socket.  The
 * socket is open to every local user (mode 0666) so that the milter can
 * run as its own user, and each datagram's sender is checked from its
 * kernel credentials (SO_PASSCRED): root, spillway-routed's own user, or
 * milter.user.  A record is parsed (evrec.h), counted, and handed to the
 * engine like a log observation; only a trusted record naming a pool can
 * count towards a diversion, and the engine de-duplicates it by message
 * id and recipient.  Bad or refused datagrams are counted and skipped,
 * and warned about at most once a minute per cause, with the count
 * (util/ratelimit.h): whoever sends them must not fill the log.
 *
 * milter.user is looked up at start and at each reload, never per
 * datagram: a user database lookup (NSS, perhaps LDAP) may stall the
 * loop or fail for a moment, and a transient failure keeps the last uid
 * that was found rather than refusing the milter until the next reload.
 * A reload that moves routed.evidence opens the new socket before the new
 * configuration is taken; if it cannot be opened the reload is refused and
 * the running socket stays.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "global/classify.h"
#include "global/engine.h"
#include "global/evrec.h"
#include "util/log.h"
#include "util/pidlock.h"
#include "util/ratelimit.h"
#include "routed.h"

#define SW_EVIDENCE_BURST     256   /* datagrams per wake-up, then back to the loop */
#define SW_EVIDENCE_WARN_S    60    /* one warning per cause per minute */
#define SW_EVIDENCE_PWBUF_MAX 65536 /* getpwnam_r's buffer, at most */

struct routed_evidence {
    struct routed *rd;
    char *path; /* the socket's path */
    int fd;
    struct event *ev;
    uid_t milter_uid; /* (uid_t) -1: none */
    struct sw_ratelimit rl_refused;
    struct sw_ratelimit rl_bad;
};

/* lookup_user - a user's uid; 1 found, 0 no such user, -1 the lookup
 * failed (err says why) */
static int
lookup_user(const char *name, uid_t *uid, int *err)
{
    struct passwd pw, *res = NULL;
    size_t size = 1024;
    char *buf;
    int rc;

    for (;;) {
        if ((buf = malloc(size)) == NULL) {
            *err = ENOMEM;
            return -1;
        }
        rc = getpwnam_r(name, &pw, buf, size, &res);
        if (rc != ERANGE || size >= SW_EVIDENCE_PWBUF_MAX)
            break;
        free(buf);
        size *= 2;
    }
    if (rc == 0 && res != NULL)
        *uid = pw.pw_uid;
    free(buf);
    if (rc == 0)
        return res != NULL;
    /* getpwnam_r(3): these mean "not found" on some systems */
    if (rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
        return 0;
    *err = rc;
    return -1;
}

/* resolve_milter - milter.user to a uid, at start and reload; a transient
 * failure keeps the last uid found */
static void
resolve_milter(struct routed_evidence *re, const struct sw_conf *c)
{
    uid_t uid = (uid_t) -1;
    int err = 0;

    if (c->milter.user == NULL) {
        re->milter_uid = (uid_t) -1;
        return;
    }
    switch (lookup_user(c->milter.user, &uid, &err)) {
    case 1: re->milter_uid = uid; break;
    case 0:
        re->milter_uid = (uid_t) -1;
        sw_warn("evidence: milter.user %s does not exist: records are accepted from root and "
                "this daemon's user only",
                c->milter.user);
        break;
    default:
        if (re->milter_uid != (uid_t) -1)
            sw_warn("evidence: cannot look up milter.user %s (%s): keeping uid %ld", c->milter.user,
                    strerror(err), (long) re->milter_uid);
        else
            sw_warn("evidence: cannot look up milter.user %s (%s): its records are refused until "
                    "the next reload",
                    c->milter.user, strerror(err));
    }
}

/* allowed - may this uid send evidence? */
static bool
allowed(const struct routed_evidence *re, uid_t uid)
{
    if (uid == 0 || uid == geteuid())
        return true;
    return re->milter_uid != (uid_t) -1 && uid == re->milter_uid;
}

/* take - one record into the engine */
static void
take(struct routed *rd, const struct sw_evrec *r)
{
    struct sw_observation ob;
    struct sw_policy p;

    rd->stats.evidence++;
    if (r->ev.trusted)
        rd->stats.evidence_trusted++;
    memset(&ob, 0, sizeof(ob));
    ob.ev = r->ev;
    ob.ev.time = time(NULL); /* our clock decides windows, not the sender's */
    ob.ev.success = false;
    /* A bounce that names a configured pool blames that pool's primary path. */
    ob.via_primary = ob.ev.pool[0] && sw_conf_pool(rd->conf, ob.ev.pool) != NULL;
    sw_debug("evidence: dsn domain=%s class=%s pool=%s tag=%s %s", ob.ev.domain,
             sw_class_name(ob.ev.cls), ob.ev.pool[0] ? ob.ev.pool : "none",
             r->tag[0] ? r->tag : "none", ob.ev.trusted ? "trusted" : "untrusted");
    routed_count_evidence(rd, &ob.ev);
    if (ob.ev.trusted)
        routed_dnsbl_learn(rd, &ob.ev);
    routed_cluster_evidence(rd, &ob);
    p = routed_policy(rd);
    sw_engine_observe(rd->engine, &p, rd->route, &ob, routed_decided, rd);
}

/* read_cb - drain the socket */
static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_evidence *re = arg;
    struct routed *rd = re->rd;
    char data[SW_EVREC_MAX + 1];
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(struct ucred))];
    } cm;
    struct iovec iov;
    struct msghdr msg;
    struct cmsghdr *c;
    struct ucred cred;
    struct sw_evrec *r;
    const char *why;
    unsigned long held;
    ssize_t n;
    int i;

    (void) what;
    if ((r = malloc(sizeof(*r))) == NULL)
        return;
    for (i = 0; i < SW_EVIDENCE_BURST; i++) {
        memset(&msg, 0, sizeof(msg));
        iov.iov_base = data;
        iov.iov_len = sizeof(data);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cm.buf;
        msg.msg_controllen = sizeof(cm.buf);
        if ((n = recvmsg(fd, &msg, MSG_DONTWAIT)) < 0)
            break;
        cred.uid = (uid_t) -1;
        for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
                memcpy(&cred, CMSG_DATA(c), sizeof(cred));
        if (!allowed(re, cred.uid)) {
            rd->stats.evidence_refused++;
            if (sw_ratelimit_check(&re->rl_refused, &held))
                sw_warn("evidence: datagram from uid %ld refused (not root, not milter.user) "
                        "(%lu more refused since the last such line)",
                        (long) (int) cred.uid, held);
            continue;
        }
        if ((msg.msg_flags & MSG_TRUNC) || (size_t) n > SW_EVREC_MAX
            || !sw_evrec_parse(data, (size_t) n, r, &why)) {
            if (msg.msg_flags & MSG_TRUNC)
                why = "record too long";
            rd->stats.evidence_bad++;
            if (sw_ratelimit_check(&re->rl_bad, &held))
                sw_warn("evidence: bad record from uid %ld: %s (%lu more bad records since the "
                        "last such line)",
                        (long) cred.uid, why, held);
            continue;
        }
        take(rd, r);
    }
    free(r);
}

/* open_at - bind the socket at path; NULL with a reason */
static struct routed_evidence *
open_at(struct routed *rd, const char *path, struct sw_buf *err)
{
    struct routed_evidence *re = calloc(1, sizeof(*re));
    struct sockaddr_un sun;
    struct stat st;
    int on = 1;

    if (re == NULL || (re->path = strdup(path)) == NULL) {
        free(re);
        sw_buf_adds(err, "out of memory");
        return NULL;
    }
    re->rd = rd;
    re->milter_uid = (uid_t) -1;
    re->rl_refused = (struct sw_ratelimit) SW_RATELIMIT_INIT(SW_EVIDENCE_WARN_S);
    re->rl_bad = (struct sw_ratelimit) SW_RATELIMIT_INIT(SW_EVIDENCE_WARN_S);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        sw_buf_printf(err, "routed.evidence \"%s\": path too long for a socket", path);
        re->fd = -1;
        routed_evidence_stop(re);
        return NULL;
    }
    memcpy(sun.sun_path, path, strlen(path));
    /* Replace a stale socket, never another file, nor the socket of a
     * process that is still bound to it (another spillway-routed). */
    if (lstat(path, &st) == 0 && (!S_ISSOCK(st.st_mode) || sw_unix_socket_live(path, SOCK_DGRAM))) {
        sw_buf_printf(err, "routed.evidence \"%s\": %s", path,
                      S_ISSOCK(st.st_mode) ? "in use: another process is bound to it"
                                           : "exists and is not a socket");
        re->fd = -1;
        routed_evidence_stop(re);
        return NULL;
    }
    if ((re->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0
        || setsockopt(re->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0
        || (unlink(path) < 0 && errno != ENOENT)
        || bind(re->fd, (struct sockaddr *) &sun, sizeof(sun)) < 0 || chmod(path, 0666) < 0) {
        sw_buf_printf(err, "routed.evidence \"%s\": %s", path, strerror(errno));
        routed_evidence_stop(re);
        return NULL;
    }
    if ((re->ev = event_new(rd->base, re->fd, EV_READ | EV_PERSIST, read_cb, re)) == NULL
        || event_add(re->ev, NULL) < 0) {
        sw_buf_adds(err, "cannot watch the evidence socket");
        routed_evidence_stop(re);
        return NULL;
    }
    return re;
}

/* routed_evidence_start - bind the socket, look up milter.user; NULL
 * with a reason */
struct routed_evidence *
routed_evidence_start(struct routed *rd, struct sw_buf *err)
{
    struct routed_evidence *re = open_at(rd, rd->conf->routed.evidence, err);

    if (re)
        resolve_milter(re, rd->conf);
    return re;
}

/* routed_evidence_reopen - before a reload takes fresh: a new socket when
 * routed.evidence moved (*out, else NULL); false, with the reason, when
 * it cannot be opened and the reload must be refused */
bool
routed_evidence_reopen(struct routed *rd, const struct sw_conf *fresh, struct routed_evidence **out,
                       struct sw_buf *err)
{
    const struct routed_evidence *re = rd->evidence;
    struct sw_buf why;

    *out = NULL;
    if (re && strcmp(re->path, fresh->routed.evidence) == 0)
        return true;
    sw_buf_init(&why, 1024);
    if ((*out = open_at(rd, fresh->routed.evidence, &why)) == NULL && re) {
        sw_buf_printf(err, "%s: the running socket %s stays (restart to move it)", sw_buf_str(&why),
                      re->path);
        sw_buf_free(&why);
        return false;
    }
    /* No socket ran (it failed at start): still none, as at start. */
    if (*out == NULL)
        sw_warn("%s: bounce evidence from spillway-milter is not received", sw_buf_str(&why));
    sw_buf_free(&why);
    return true;
}

/* routed_evidence_reloaded - the new generation is in: take the new
 * socket, if any, and look milter.user up again */
void
routed_evidence_reloaded(struct routed *rd, struct routed_evidence *fresh)
{
    struct routed_evidence *old = rd->evidence;

    if (fresh) {
        if (old) {
            sw_info("evidence: socket moved from %s to %s", old->path, fresh->path);
            (void) unlink(old->path);
            fresh->milter_uid = old->milter_uid; /* the last good answer */
        }
        routed_evidence_stop(old);
        rd->evidence = fresh;
    }
    if (rd->evidence)
        resolve_milter(rd->evidence, rd->conf);
}

/* routed_evidence_stop - close the socket */
void
routed_evidence_stop(struct routed_evidence *re)
{
    if (re == NULL)
        return;
    if (re->ev)
        event_free(re->ev);
    if (re->fd >= 0)
        (void) close(re->fd);
    free(re->path);
    free(re);
}
