/* listen.c - listener endpoints: "unix:/path" and "inet:ADDR:PORT" */

/*
 * The endpoint syntax is Postfix's (socketmap_table(5)) and libmilter's,
 * so an administrator writes the same string on both sides.  Inet
 * endpoints take numeric addresses only: a daemon must not wait on DNS to
 * start, and a name would make the bound address depend on the resolver.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/listen.h"
#include "util/pidlock.h"

/* parse_port - decimal 1..65535 */
static bool
parse_port(const char *s, int *port)
{
    char *end;
    long v;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v < 1 || v > 65535)
        return false;
    *port = (int) v;
    return true;
}

/* sw_endpoint_parse - check and split an endpoint string */
bool
sw_endpoint_parse(const char *spec, struct sw_endpoint *ep, struct sw_buf *err)
{
    const char *hp, *colon;
    struct in6_addr a6;
    size_t hlen;

    memset(ep, 0, sizeof(*ep));
    if (strncmp(spec, "unix:", 5) == 0) {
        ep->is_unix = true;
        if (spec[5] != '/') {
            sw_buf_printf(err, "unix endpoint needs an absolute path: \"%.64s\"", spec + 5);
            return false;
        }
        if (strlen(spec + 5) > SW_LISTEN_PATH_MAX) {
            sw_buf_printf(err, "unix socket path longer than %d bytes", SW_LISTEN_PATH_MAX);
            return false;
        }
        strcpy(ep->path, spec + 5); /* length checked above */
        return true;
    }
    if (strncmp(spec, "inet:", 5) != 0) {
        sw_buf_adds(err, "endpoint must start with unix: or inet:");
        return false;
    }
    hp = spec + 5;
    if (*hp == '[') {
        colon = strchr(hp, ']');
        if (colon == NULL || colon[1] != ':') {
            sw_buf_adds(err, "inet endpoint: expected [ADDR]:PORT");
            return false;
        }
        hlen = (size_t) (colon - hp - 1);
        hp++;
        colon++;
    } else {
        colon = strrchr(hp, ':');
        if (colon == NULL) {
            sw_buf_adds(err, "inet endpoint: expected ADDR:PORT");
            return false;
        }
        hlen = (size_t) (colon - hp);
    }
    if (hlen == 0 || hlen >= sizeof(ep->host)) {
        sw_buf_adds(err, "inet endpoint: bad address");
        return false;
    }
    memcpy(ep->host, hp, hlen);
    ep->host[hlen] = '\0';
    if (inet_pton(AF_INET, ep->host, &a6) != 1 && inet_pton(AF_INET6, ep->host, &a6) != 1) {
        sw_buf_printf(err, "inet endpoint: \"%.64s\" is not a numeric address", ep->host);
        return false;
    }
    if (!parse_port(colon + 1, &ep->port)) {
        sw_buf_printf(err, "inet endpoint: bad port \"%.16s\"", colon + 1);
        return false;
    }
    return true;
}

/* fill_addr - build a sockaddr for an endpoint */
static socklen_t
fill_addr(const struct sw_endpoint *ep, struct sockaddr_storage *ss)
{
    struct sockaddr_un *sun = (struct sockaddr_un *) ss;
    struct sockaddr_in *sin = (struct sockaddr_in *) ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

    memset(ss, 0, sizeof(*ss));
    if (ep->is_unix) {
        sun->sun_family = AF_UNIX;
        memcpy(sun->sun_path, ep->path, strlen(ep->path) + 1);
        return (socklen_t) sizeof(*sun);
    }
    if (inet_pton(AF_INET, ep->host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t) ep->port);
        return (socklen_t) sizeof(*sin);
    }
    (void) inet_pton(AF_INET6, ep->host, &sin6->sin6_addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t) ep->port);
    return (socklen_t) sizeof(*sin6);
}

/* sw_endpoint_listen - bind and listen */
int
sw_endpoint_listen(const struct sw_endpoint *ep, int backlog, mode_t mode, struct sw_buf *err)
{
    struct sockaddr_storage ss;
    socklen_t sl = fill_addr(ep, &ss);
    struct stat st;
    int fd, on = 1;

    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        sw_buf_printf(err, "socket: %s", strerror(errno));
        return -1;
    }
    if (ep->is_unix) {
        /* Replace a stale socket left by a crash, never any other file,
         * and never the socket of a process that still listens on it (a
         * second start would take the running daemon's clients). */
        if (lstat(ep->path, &st) == 0) {
            if (!S_ISSOCK(st.st_mode)) {
                sw_buf_printf(err, "%s exists and is not a socket", ep->path);
                goto fail;
            }
            if (sw_unix_socket_live(ep->path, SOCK_STREAM)) {
                sw_buf_printf(err, "%s is in use: another process listens on it", ep->path);
                goto fail;
            }
            (void) unlink(ep->path);
        }
    } else {
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    }
    if (bind(fd, (struct sockaddr *) &ss, sl) < 0) {
        if (ep->is_unix)
            sw_buf_printf(err, "bind %s: %s", ep->path, strerror(errno));
        else
            sw_buf_printf(err, "bind %s port %d: %s", ep->host, ep->port, strerror(errno));
        goto fail;
    }
    if (ep->is_unix && chmod(ep->path, mode) < 0) {
        sw_buf_printf(err, "chmod %s: %s", ep->path, strerror(errno));
        goto fail;
    }
    if (listen(fd, backlog) < 0) {
        sw_buf_printf(err, "listen: %s", strerror(errno));
        goto fail;
    }
    return fd;
fail:
    (void) close(fd);
    return -1;
}

/* sw_endpoint_connect - blocking connect for clients */
int
sw_endpoint_connect(const struct sw_endpoint *ep, struct sw_buf *err)
{
    struct sockaddr_storage ss;
    socklen_t sl = fill_addr(ep, &ss);
    int fd;

    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        sw_buf_printf(err, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *) &ss, sl) < 0) {
        sw_buf_printf(err, "connect %s: %s", ep->is_unix ? ep->path : ep->host, strerror(errno));
        (void) close(fd);
        return -1;
    }
    return fd;
}
