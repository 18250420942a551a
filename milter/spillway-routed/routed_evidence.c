/* routed_evidence.c - evidence from spillway-milter: the datagram socket */

/*
 * DESIGN.md 5.3: one record per datagram on a local unix socket.  The
 * socket is open to every local user (mode 0666) so that the milter can
 * run as its own user, and each datagram's sender is checked from its
 * kernel credentials (SO_PASSCRED): root, spillway-routed's own user, or
 * milter.user.  A record is parsed (evrec.h), counted, and handed to the
 * engine like a log observation; only a trusted record naming a pool can
 * count towards a diversion, and the engine de-duplicates it by message
 * id and recipient.  Bad or refused datagrams are counted and skipped.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <pwd.h>
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
#include "routed.h"

#define SW_EVIDENCE_BURST 256 /* datagrams per wake-up, then back to the loop */

struct routed_evidence {
    struct routed *rd;
    int fd;
    struct event *ev;
    const struct sw_conf *uid_conf; /* the generation milter_uid was resolved for */
    uid_t milter_uid;               /* (uid_t) -1: none */
};

/* allowed - may this uid send evidence? */
static bool
allowed(struct routed_evidence *re, uid_t uid)
{
    const struct sw_conf *c = re->rd->conf;
    const struct passwd *pw;

    if (uid == 0 || uid == geteuid())
        return true;
    if (re->uid_conf != c) { /* once per configuration generation */
        re->uid_conf = c;
        re->milter_uid =
            c->milter.user && (pw = getpwnam(c->milter.user)) ? pw->pw_uid : (uid_t) -1;
    }
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
            sw_warn("evidence: datagram from uid %ld refused (not root, not milter.user)",
                    (long) (int) cred.uid);
            continue;
        }
        if ((msg.msg_flags & MSG_TRUNC) || (size_t) n > SW_EVREC_MAX
            || !sw_evrec_parse(data, (size_t) n, r, &why)) {
            if (msg.msg_flags & MSG_TRUNC)
                why = "record too long";
            rd->stats.evidence_bad++;
            sw_warn("evidence: bad record from uid %ld: %s", (long) cred.uid, why);
            continue;
        }
        take(rd, r);
    }
    free(r);
}

/* routed_evidence_start - bind the socket; NULL with a reason */
struct routed_evidence *
routed_evidence_start(struct routed *rd, struct sw_buf *err)
{
    const char *path = rd->conf->routed.evidence;
    struct routed_evidence *re = calloc(1, sizeof(*re));
    struct sockaddr_un sun;
    int on = 1;

    if (re == NULL) {
        sw_buf_adds(err, "out of memory");
        return NULL;
    }
    re->rd = rd;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        sw_buf_printf(err, "routed.evidence \"%s\": path too long for a socket", path);
        free(re);
        return NULL;
    }
    memcpy(sun.sun_path, path, strlen(path));
    if ((re->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0
        || setsockopt(re->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0
        || (unlink(path) < 0 && errno != ENOENT)
        || bind(re->fd, (struct sockaddr *) &sun, sizeof(sun)) < 0 || chmod(path, 0666) < 0) {
        sw_buf_printf(err, "routed.evidence \"%s\": %s", path, strerror(errno));
        if (re->fd >= 0)
            (void) close(re->fd);
        free(re);
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

void
routed_evidence_stop(struct routed_evidence *re)
{
    if (re == NULL)
        return;
    if (re->ev)
        event_free(re->ev);
    (void) close(re->fd);
    free(re);
}
