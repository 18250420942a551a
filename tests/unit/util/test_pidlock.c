/* test_pidlock.c - one instance per lock file; live and stale sockets (pidlock.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/pidlock.h"

static char dir[] = "/tmp/sw-pidlock.XXXXXX";

static int
setup(void **state)
{
    (void) state;
    return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
    char cmd[128];

    (void) state;
    (void) snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The lock is per open file: a child (another process) is refused and
 * told our pid; once we close, it is free again. */
static void
test_second_taker(void **state)
{
    char path[256];
    struct sw_buf err;
    pid_t holder, child;
    int fd, st;

    (void) state;
    (void) snprintf(path, sizeof(path), "%s/state.lock", dir);
    sw_buf_init(&err, 1024);
    fd = sw_pidlock_take(path, &holder, &err);
    assert_true(fd >= 0);
    assert_int_equal(holder, 0);
    if ((child = fork()) == 0) {
        struct sw_buf e;
        char want[64];
        pid_t h;

        sw_buf_init(&e, 1024);
        (void) snprintf(want, sizeof(want), "already running as pid %ld", (long) getppid());
        _exit(sw_pidlock_take(path, &h, &e) < 0 && h == getppid()
                      && strstr(sw_buf_str(&e), want) != NULL
                  ? 0
                  : 1);
    }
    assert_true(child > 0);
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    (void) close(fd);
    /* Released with the descriptor, even though the file stays. */
    fd = sw_pidlock_take(path, &holder, &err);
    assert_true(fd >= 0);
    (void) close(fd);
    sw_buf_free(&err);
}

/* A link planted at the lock's path is not followed. */
static void
test_symlink(void **state)
{
    char path[256], target[256];
    struct sw_buf err;
    pid_t holder;

    (void) state;
    (void) snprintf(path, sizeof(path), "%s/link.lock", dir);
    (void) snprintf(target, sizeof(target), "%s/elsewhere", dir);
    assert_int_equal(symlink(target, path), 0);
    sw_buf_init(&err, 1024);
    assert_int_equal(sw_pidlock_take(path, &holder, &err), -1);
    assert_non_null(strstr(sw_buf_str(&err), "link.lock"));
    assert_int_equal(access(target, F_OK), -1);
    sw_buf_free(&err);
}

/* bind_at - a unix socket at path, listening (stream) or bound (dgram) */
static int
bind_at(const char *path, int type)
{
    struct sockaddr_un sun;
    int fd = socket(AF_UNIX, type, 0);

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    (void) snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    if (type == SOCK_STREAM)
        assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static void
test_socket_live(void **state)
{
    char s[256], d[256], f[256];
    int fd;

    (void) state;
    (void) snprintf(s, sizeof(s), "%s/stream.sock", dir);
    (void) snprintf(d, sizeof(d), "%s/dgram.sock", dir);
    (void) snprintf(f, sizeof(f), "%s/plain", dir);
    fd = bind_at(s, SOCK_STREAM);
    assert_true(sw_unix_socket_live(s, SOCK_STREAM));
    (void) close(fd); /* the file stays: a stale socket */
    assert_false(sw_unix_socket_live(s, SOCK_STREAM));
    fd = bind_at(d, SOCK_DGRAM);
    assert_true(sw_unix_socket_live(d, SOCK_DGRAM));
    (void) close(fd);
    assert_false(sw_unix_socket_live(d, SOCK_DGRAM));
    assert_true((fd = open(f, O_CREAT | O_WRONLY, 0600)) >= 0);
    (void) close(fd);
    assert_false(sw_unix_socket_live(f, SOCK_STREAM));
    assert_false(sw_unix_socket_live("/nonexistent/x.sock", SOCK_STREAM));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_taker),
        cmocka_unit_test(test_symlink),
        cmocka_unit_test(test_socket_live),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
