/* test_peercred.c - the peer of a local connection (peercred.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/peercred.h"

/* A connection on the loopback, both ends in this process: the client
 * socket is ours, so the kernel must name our uid. */
static bool
loopback_pair(int family, int *srv, int *cli)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int lfd;

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *) &ss;

        s->sin_family = AF_INET;
        s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof(*s);
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *) &ss;

        s->sin6_family = AF_INET6;
        s->sin6_addr = in6addr_loopback;
        sl = sizeof(*s);
    }
    if ((lfd = socket(family, SOCK_STREAM, 0)) < 0)
        return false;
    if (bind(lfd, (struct sockaddr *) &ss, sl) < 0 || listen(lfd, 1) < 0
        || getsockname(lfd, (struct sockaddr *) &ss, &sl) < 0
        || (*cli = socket(family, SOCK_STREAM, 0)) < 0) {
        (void) close(lfd);
        return false;
    }
    if (connect(*cli, (struct sockaddr *) &ss, sl) < 0 || (*srv = accept(lfd, NULL, NULL)) < 0) {
        (void) close(*cli);
        (void) close(lfd);
        return false;
    }
    (void) close(lfd);
    return true;
}

static void
test_unix(void **state)
{
    struct sw_peer p;
    int sv[2];

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_true(sw_peer_get(sv[0], &p));
    assert_true(p.uid_known);
    assert_int_equal(p.uid, getuid());
    assert_int_equal(p.gid, getgid());
    assert_int_equal(p.pid, getpid());
    assert_string_equal(p.addr, "unix");
    (void) close(sv[0]);
    (void) close(sv[1]);
}

static void
test_tcp_family(int family, const char *addr)
{
    struct sw_peer p;
    int srv, cli;

    if (!loopback_pair(family, &srv, &cli)) {
        print_message("no %s loopback here: skipped\n", addr);
        return;
    }
    assert_true(sw_peer_get(srv, &p));
    assert_string_equal(p.addr, addr);
    assert_true(p.uid_known); /* NETLINK_SOCK_DIAG found the client socket */
    assert_int_equal(p.uid, getuid());
    assert_int_equal(p.pid, 0);
    (void) close(srv);
    (void) close(cli);
}

static void
test_tcp4(void **state)
{
    (void) state;
    test_tcp_family(AF_INET, "127.0.0.1");
}

static void
test_tcp6(void **state)
{
    (void) state;
    test_tcp_family(AF_INET6, "::1");
}

static void
test_not_a_socket(void **state)
{
    struct sw_peer p;
    int fds[2];

    (void) state;
    assert_int_equal(pipe(fds), 0);
    assert_false(sw_peer_get(fds[0], &p));
    assert_false(p.uid_known);
    assert_string_equal(p.addr, "unknown");
    (void) close(fds[0]);
    (void) close(fds[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix),
        cmocka_unit_test(test_tcp4),
        cmocka_unit_test(test_tcp6),
        cmocka_unit_test(test_not_a_socket),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
