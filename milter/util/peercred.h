/* peercred.h - who is at the other end of a local connection */
#ifndef SW_PEERCRED_H
#define SW_PEERCRED_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * For a unix socket the kernel's word is SO_PEERCRED.  For TCP over
 * loopback the client is a socket of this host, and the kernel knows its
 * owner: one exact NETLINK_SOCK_DIAG query (inet_diag, by the
 * connection's four addresses and ports) returns its uid, so per-user
 * limits hold on a loopback TCP endpoint too.  Any other peer, or a query
 * that fails, has no known uid: the caller falls back to its address.
 */
struct sw_peer {
    bool uid_known;
    uid_t uid;
    gid_t gid;        /* unix sockets only */
    pid_t pid;        /* unix sockets only; 0 otherwise */
    char addr[64];    /* "unix", or the numeric address of a TCP peer */
};

/* Fill p for the connected socket fd; false when nothing is known (p then
 * says "unknown"). */
bool sw_peer_get(int fd, struct sw_peer *p);

#endif
