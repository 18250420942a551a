/* peercred.c - who is at the other end of a local connection */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/peercred.h"

/* is_loopback - 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 */
static bool
is_loopback(const struct sockaddr_storage *ss)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *) ss;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) ss;

    if (ss->ss_family == AF_INET)
        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)
               || (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && sin6->sin6_addr.s6_addr[12] == 127);
    return false;
}

/* diag_uid - the owner of the client socket of a loopback TCP connection
 * (the socket whose source is peer and destination is self) */
static bool
diag_uid(const struct sockaddr_storage *self, const struct sockaddr_storage *peer, uid_t *uid)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } q;
    union {
        struct nlmsghdr nlh;
        char buf[8192];
    } r;
    struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
    struct timeval tv = { 0, 200000 }; /* the kernel answers at once; never hang */
    const struct inet_diag_msg *m;
    ssize_t n;
    bool ok = false;
    int fd;

    memset(&q, 0, sizeof(q));
    q.nlh.nlmsg_len = sizeof(q);
    q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    q.nlh.nlmsg_flags = NLM_F_REQUEST;
    q.req.sdiag_family = (unsigned char) peer->ss_family;
    q.req.sdiag_protocol = IPPROTO_TCP;
    q.req.idiag_states = ~0u;
    q.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    q.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    if (peer->ss_family == AF_INET) {
        const struct sockaddr_in *p = (const struct sockaddr_in *) peer;
        const struct sockaddr_in *s = (const struct sockaddr_in *) self;

        q.req.id.idiag_sport = p->sin_port;
        q.req.id.idiag_dport = s->sin_port;
        memcpy(q.req.id.idiag_src, &p->sin_addr, 4);
        memcpy(q.req.id.idiag_dst, &s->sin_addr, 4);
    } else {
        const struct sockaddr_in6 *p = (const struct sockaddr_in6 *) peer;
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *) self;

        q.req.id.idiag_sport = p->sin6_port;
        q.req.id.idiag_dport = s->sin6_port;
        memcpy(q.req.id.idiag_src, &p->sin6_addr, 16);
        memcpy(q.req.id.idiag_dst, &s->sin6_addr, 16);
    }
    if ((fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) < 0)
        return false;
    (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (sendto(fd, &q, sizeof(q), 0, (struct sockaddr *) &nl, sizeof(nl)) != (ssize_t) sizeof(q))
        goto done;
    n = recv(fd, &r, sizeof(r), 0);
    if (n < (ssize_t) NLMSG_LENGTH(sizeof(*m)) || !NLMSG_OK(&r.nlh, (size_t) n)
        || r.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY)
        goto done;
    m = NLMSG_DATA(&r.nlh);
    *uid = (uid_t) m->idiag_uid;
    ok = true;
done:
    (void) close(fd);
    return ok;
}

/* sw_peer_get - the peer's uid (unix, loopback TCP) or address */
bool
sw_peer_get(int fd, struct sw_peer *p)
{
    struct sockaddr_storage self, peer;
    socklen_t sl = sizeof(self), pl = sizeof(peer);
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    const void *a;

    memset(p, 0, sizeof(*p));
    (void) snprintf(p->addr, sizeof(p->addr), "unknown");
    if (getsockname(fd, (struct sockaddr *) &self, &sl) < 0)
        return false;
    if (self.ss_family == AF_UNIX) {
        (void) snprintf(p->addr, sizeof(p->addr), "unix");
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
            return false;
        p->uid_known = true;
        p->uid = cred.uid;
        p->gid = cred.gid;
        p->pid = cred.pid;
        return true;
    }
    if (getpeername(fd, (struct sockaddr *) &peer, &pl) < 0
        || (peer.ss_family != AF_INET && peer.ss_family != AF_INET6))
        return false;
    a = peer.ss_family == AF_INET ? (const void *) &((struct sockaddr_in *) &peer)->sin_addr
                                  : (const void *) &((struct sockaddr_in6 *) &peer)->sin6_addr;
    if (inet_ntop(peer.ss_family, a, p->addr, sizeof(p->addr)) == NULL)
        (void) snprintf(p->addr, sizeof(p->addr), "unknown");
    if (is_loopback(&peer) && self.ss_family == peer.ss_family)
        p->uid_known = diag_uid(&self, &peer, &p->uid);
    return true;
}
