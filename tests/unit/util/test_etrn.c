/* test_etrn.c - the ETRN client (etrn.h) against a scripted server */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/etrn.h"
#include "util/listen.h"

/* A server's part: its greeting, its EHLO reply and its ETRN reply
 * (NULL: it closes the connection instead). */
struct script {
    const char *greeting, *ehlo, *etrn;
};

/* serve - accept one client and play the script; the commands it got are
 * written to the pipe fd out */
static void
serve(int lfd, const struct script *sc, int out)
{
    const char *replies[] = { sc->ehlo, sc->etrn, "221 bye\r\n" };
    char buf[1024];
    size_t i;
    ssize_t n;
    int fd;

    /* sw_endpoint_listen() makes the socket non-blocking: wait for the
     * client, or accept() may come first and fail with EAGAIN. */
    if (fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) & ~O_NONBLOCK) != 0
        || (fd = accept(lfd, NULL, NULL)) < 0)
        _exit(2);
    if (write(fd, sc->greeting, strlen(sc->greeting)) < 0)
        _exit(2);
    for (i = 0; i < 3; i++) {
        if ((n = read(fd, buf, sizeof(buf))) <= 0)
            break;
        if (write(out, buf, (size_t) n) < 0)
            _exit(2);
        if (replies[i] == NULL)
            break;
        if (write(fd, replies[i], strlen(replies[i])) < 0)
            break;
    }
    _exit(0);
}

/* run - the client against the script: its result, the reason in why and
 * what the server read in got */
static bool
run(const struct script *sc, struct sw_buf *why, char *got, size_t size)
{
    struct sw_endpoint ep;
    struct sw_buf err;
    char dir[] = "/tmp/sw-etrn.XXXXXX";
    int lfd, p[2], status;
    ssize_t n;
    size_t len = 0;
    pid_t pid;
    bool ok;

    assert_non_null(mkdtemp(dir));
    sw_buf_init(&err, 1024);
    memset(&ep, 0, sizeof(ep));
    ep.is_unix = true;
    (void) snprintf(ep.path, sizeof(ep.path), "%s/smtp", dir);
    lfd = sw_endpoint_listen(&ep, 1, 0600, &err);
    assert_true(lfd >= 0);
    assert_int_equal(pipe(p), 0);
    if ((pid = fork()) == 0) {
        close(p[0]);
        serve(lfd, sc, p[1]);
    }
    /* Only the server listens: if it dies, the client's connection is
     * refused or reset instead of waiting in the backlog. */
    close(lfd);
    close(p[1]);
    (void) alarm(20); /* a hang fails the test rather than the run */
    ok = sw_etrn(&ep, "mta.example", "#mqueue", why);
    (void) alarm(0);
    while (len + 1 < size && (n = read(p[0], got + len, size - len - 1)) > 0)
        len += (size_t) n;
    got[len] = '\0';
    close(p[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(status, 0); /* the server played its whole part */
    unlink(ep.path);
    rmdir(dir);
    sw_buf_free(&err);
    return ok;
}

static void
test_etrn_accepted(void **state)
{
    static const struct script sc = { "220 mta ESMTP\r\n", "250-mta\r\n250 ETRN\r\n",
                                      "250 2.0.0 Queuing for node #mqueue started\r\n" };
    struct sw_buf why;
    char got[1024];

    (void) state;
    sw_buf_init(&why, 1024);
    assert_true(run(&sc, &why, got, sizeof(got)));
    assert_string_equal(got, "EHLO mta.example\r\nETRN #mqueue\r\nQUIT\r\n");
    sw_buf_free(&why);
}

static void
test_etrn_refused(void **state)
{
    static const struct script refused = { "220 mta ESMTP\r\n", "250 mta\r\n",
                                           "458 Unable to queue messages for node #mqueue\r\n" },
                               greeting = { "554 5.3.2 go away\r\n", NULL, NULL },
                               closed = { "220 mta ESMTP\r\n", "250 mta\r\n", NULL },
                               noetrn = { "220 mta ESMTP\r\n", "250 mta\r\n",
                                          "502 5.7.0 Sorry, we do not allow this operation\r\n" };
    struct sw_buf why;
    char got[1024];

    (void) state;
    sw_buf_init(&why, 1024);
    assert_false(run(&refused, &why, got, sizeof(got)));
    assert_string_equal(sw_buf_str(&why), "ETRN: 458 Unable to queue messages for node #mqueue");
    sw_buf_reset(&why);
    assert_false(run(&greeting, &why, got, sizeof(got)));
    assert_string_equal(sw_buf_str(&why), "greeting: 554 5.3.2 go away");
    assert_string_equal(got, "QUIT\r\n"); /* no EHLO after a refusal */
    sw_buf_reset(&why);
    assert_false(run(&closed, &why, got, sizeof(got)));
    assert_string_equal(sw_buf_str(&why), "ETRN: connection closed");
    sw_buf_reset(&why);
    assert_false(run(&noetrn, &why, got, sizeof(got)));
    assert_string_equal(sw_buf_str(&why), "ETRN: 502 5.7.0 Sorry, we do not allow this operation");
    sw_buf_free(&why);
}

/* Nobody listening: the connect error; a line break never reaches a server. */
static void
test_etrn_no_server(void **state)
{
    struct sw_endpoint ep;
    struct sw_buf why;

    (void) state;
    sw_buf_init(&why, 1024);
    memset(&ep, 0, sizeof(ep));
    ep.is_unix = true;
    (void) snprintf(ep.path, sizeof(ep.path), "/nonexistent/smtp");
    assert_false(sw_etrn(&ep, "mta.example", "#mqueue", &why));
    assert_true(why.len > 0);
    sw_buf_reset(&why);
    assert_false(sw_etrn(&ep, "mta.example", "#mqueue\r\nDATA", &why));
    assert_string_equal(sw_buf_str(&why), "line break in the EHLO name or the ETRN argument");
    sw_buf_free(&why);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etrn_accepted),
        cmocka_unit_test(test_etrn_refused),
        cmocka_unit_test(test_etrn_no_server),
    };

    (void) signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
