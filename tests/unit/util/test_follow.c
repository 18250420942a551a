/* test_follow.c - following a growing mail log (follow.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/follow.h"

/*
 * Each test works in its own mkdtemp() directory with a file "log" that
 * the test writes, renames and truncates the way logrotate and postlogd do,
 * and checks the lines, in order, that the callback received.
 */

#define MAX_SEEN 4096

struct seen {
    size_t n;
    char *line[MAX_SEEN];
    size_t len[MAX_SEEN];
};

struct ctx {
    char dir[64];
    char path[128];
    struct seen seen;
    struct sw_buf err;
};

/* collect - the callback: keep a copy of each line */
static void
collect(const char *line, size_t len, void *arg)
{
    struct seen *s = arg;
    char *copy;

    assert_true(s->n < MAX_SEEN);
    assert_int_equal(line[len], '\0'); /* the promised terminator */
    copy = malloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, line, len + 1);
    s->line[s->n] = copy;
    s->len[s->n] = len;
    s->n++;
}

/* seen_reset - forget the lines */
static void
seen_reset(struct seen *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->line[i]);
    s->n = 0;
}

/* setup - a fresh directory */
static int
setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return -1;
    (void) snprintf(c->dir, sizeof(c->dir), "/tmp/test_follow.XXXXXX");
    if (mkdtemp(c->dir) == NULL) {
        free(c);
        return -1;
    }
    (void) snprintf(c->path, sizeof(c->path), "%s/log", c->dir);
    sw_buf_init(&c->err, 4096);
    *state = c;
    return 0;
}

/* teardown - remove what the test left */
static int
teardown(void **state)
{
    struct ctx *c = *state;
    char p[160];
    static const char *const names[] = { "log", "log.1", "log.2", "fifo", "sub" };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        (void) snprintf(p, sizeof(p), "%s/%s", c->dir, names[i]);
        (void) unlink(p);
        (void) rmdir(p);
    }
    (void) rmdir(c->dir);
    seen_reset(&c->seen);
    sw_buf_free(&c->err);
    free(c);
    return 0;
}

/* put - append bytes to a file (create it if needed) */
static void
put(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t) n);
    assert_int_equal(close(fd), 0);
}

/* puts_ - append a string */
static void
puts_(const char *path, const char *s)
{
    put(path, s, strlen(s));
}

/* sub - dir/name, in one of four buffers so that two calls can be the
 * arguments of one rename() */
static const char *
sub(struct ctx *c, const char *name)
{
    static char p[4][160];
    static unsigned next;
    char *b = p[next++ % 4];

    (void) snprintf(b, sizeof(p[0]), "%s/%s", c->dir, name);
    return b;
}

/* poll_ok - one poll that must succeed; lines delivered */
static long
poll_ok(struct ctx *c, struct sw_follow *f, size_t max)
{
    long n = sw_follow_poll(f, max, collect, &c->seen, &c->err);

    if (n < 0)
        print_error("poll: %s\n", sw_buf_str(&c->err));
    assert_true(n >= 0);
    return n;
}

/* expect - the lines seen so far, then forget them */
static void
expect(struct ctx *c, const char *const *want, size_t n)
{
    size_t i;

    if (c->seen.n != n) {
        for (i = 0; i < c->seen.n; i++)
            print_error("seen[%zu] = \"%s\"\n", i, c->seen.line[i]);
    }
    assert_int_equal(c->seen.n, n);
    for (i = 0; i < n; i++)
        assert_string_equal(c->seen.line[i], want[i]);
    seen_reset(&c->seen);
}

#define EXPECT(c, ...)                                        \
    do {                                                      \
        static const char *const want_[] = { __VA_ARGS__ };   \
        expect((c), want_, sizeof(want_) / sizeof(want_[0])); \
    } while (0)

/* Lines appended between polls arrive once, in order; a partial line
 * waits for its end. */
static void
test_append_and_partial(void **state)
{
    struct ctx *c = *state;
    struct sw_follow *f;
    unsigned long lines, cut, rot;

    puts_(c->path, "one\ntwo\n");
    f = sw_follow_open(c->path, false, &c->err);
    assert_non_null(f);
    assert_int_equal(sw_follow_fd(f), -1);
    assert_int_equal(poll_ok(c, f, 0), 2);
    EXPECT(c, "one", "two");
    assert_int_equal(poll_ok(c, f, 0), 0);
    puts_(c->path, "thr");
    assert_int_equal(poll_ok(c, f, 0), 0);
    puts_(c->path, "ee\nfo");
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "three");
    puts_(c->path, "ur\n\nfive\n");
    assert_int_equal(poll_ok(c, f, 0), 3);
    EXPECT(c, "four", "", "five");
    sw_follow_stats(f, &lines, &cut, &rot);
    assert_int_equal(lines, 6);
    assert_int_equal(cut, 0);
    assert_int_equal(rot, 0);
    sw_follow_close(f);
}

/* from_end skips what is there, and the rest of a line being written. */
static void
test_from_end(void **state)
{
    struct ctx *c = *state;
    struct sw_follow *f;

    puts_(c->path, "old1\nold2\nhalf-writ");
    f = sw_follow_open(c->path, true, &c->err);
    assert_non_null(f);
    assert_int_equal(poll_ok(c, f, 0), 0);
    puts_(c->path, "ten\nnew1\n");
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "new1");
    sw_follow_close(f);

    /* At a line boundary nothing is skipped. */
    f = sw_follow_open(c->path, true, &c->err);
    assert_non_null(f);
    puts_(c->path, "new2\n");
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "new2");
    sw_follow_close(f);
}

/* Rotation by rename: the old file's tail (even without its "\n"), then the
 * new file from its start. */
static void
test_rotation_by_rename(void **state)
{
    struct ctx *c = *state;
    struct sw_follow *f;
    unsigned long lines, cut, rot;

    puts_(c->path, "a1\n");
    f = sw_follow_open(c->path, false, &c->err);
    assert_non_null(f);
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "a1");
    puts_(c->path, "a2\na3-last");
    assert_int_equal(rename(c->path, sub(c, "log.1")), 0);
    puts_(c->path, "b1\nb2\n");
    assert_int_equal(poll_ok(c, f, 0), 4);
    EXPECT(c, "a2", "a3-last", "b1", "b2");
    puts_(c->path, "b3\n");
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "b3");
    /* A second rotation. */
    assert_int_equal(rename(sub(c, "log.1"), sub(c, "log.2")), 0);
    assert_int_equal(rename(c->path, sub(c, "log.1")), 0);
    puts_(c->path, "c1\n");
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "c1");
    sw_follow_stats(f, &lines, &cut, &rot);
    assert_int_equal(lines, 7);
    assert_int_equal(rot, 2);
    sw_follow_close(f);
}

/* Between rename and re-creation the old file is still read; the new one
 * is picked up when it appears. */
static void
test_missing_then_recreated(void **state)
{
    struct ctx *c = *state;
    struct sw_follow *f;
    unsigned long lines, cut, rot;

    puts_(c->path, "x1\n");
    f = sw_follow_open(c->path, false, &c->err);
    assert_non_null(f);
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "x1");
    assert_int_equal(rename(c->path, sub(c, "log.1")), 0);
    assert_int_equal(poll_ok(c, f, 0), 0);
    /* The writer has not reopened yet: it still appends to the old file. */
    puts_(sub(c, "log.1"), "x2\n");
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "x2");
    assert_int_equal(poll_ok(c, f, 0), 0);
    puts_(c->path, "y1\n");
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "y1");
    sw_follow_stats(f, &lines, &cut, &rot);
    assert_int_equal(rot, 1);
    sw_follow_close(f);
}

/* A path that does not exist yet is not an error; it is read from its
 * start when it appears, even with from_end. */
static void
test_missing_at_open(void **state)
{
    struct ctx *c = *state;
    struct sw_follow *f;

    f = sw_follow_open(c->path, true, &c->err);
    assert_non_null(f);
    assert_int_equal(poll_ok(c, f, 0), 0);
    assert_int_equal(poll_ok(c, f, 0), 0);
    puts_(c->path, "first\nsecond\n");
    assert_int_equal(poll_ok(c, f, 0), 2);
    EXPECT(c, "first", "second");
    sw_follow_close(f);
}

/* copytruncate: a file shorter than what was read is read again from 0. */
static void
test_truncation(void **state)
{
    struct ctx *c = *state;
    struct sw_follow *f;
    unsigned long lines, cut, rot;

    puts_(c->path, "long line number one\nlong line number two\npart");
    f = sw_follow_open(c->path, false, &c->err);
    assert_non_null(f);
    assert_int_equal(poll_ok(c, f, 0), 2);
    EXPECT(c, "long line number one", "long line number two");
    assert_int_equal(truncate(c->path, 0), 0);
    puts_(c->path, "after\n");
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "after"); /* "part" belonged to the old content */
    sw_follow_stats(f, &lines, &cut, &rot);
    assert_int_equal(rot, 1);
    puts_(c->path, "more\n");
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "more");
    sw_follow_close(f);
}

/* Over-long lines are cut at SW_FOLLOW_MAX_LINE and counted; a line of
 * exactly that length is whole; the cut survives small reads. */
static void
test_long_lines(void **state)
{
    struct ctx *c = *state;
    struct sw_follow *f;
    unsigned long lines, cut, rot;
    char *big;
    long n;

    big = malloc(3 * SW_FOLLOW_MAX_LINE);
    assert_non_null(big);
    memset(big, 'A', 3 * SW_FOLLOW_MAX_LINE);
    put(c->path, big, SW_FOLLOW_MAX_LINE); /* exactly the limit */
    puts_(c->path, "\n");
    put(c->path, big, SW_FOLLOW_MAX_LINE + 1); /* one over */
    puts_(c->path, "\nnext\n");
    put(c->path, big, 3 * SW_FOLLOW_MAX_LINE); /* spans reads */
    puts_(c->path, "BBB\nlast\n");
    f = sw_follow_open(c->path, false, &c->err);
    assert_non_null(f);
    for (n = 0; n < 1000 && (n == 0 || c->seen.n < 5); n++)
        (void) poll_ok(c, f, 1000);
    assert_int_equal(c->seen.n, 5);
    assert_int_equal(c->seen.len[0], SW_FOLLOW_MAX_LINE);
    assert_int_equal(c->seen.len[1], SW_FOLLOW_MAX_LINE);
    assert_string_equal(c->seen.line[2], "next");
    assert_int_equal(c->seen.len[3], SW_FOLLOW_MAX_LINE);
    assert_int_equal(c->seen.line[3][0], 'A');
    assert_string_equal(c->seen.line[4], "last");
    sw_follow_stats(f, &lines, &cut, &rot);
    assert_int_equal(lines, 5);
    assert_int_equal(cut, 2);
    seen_reset(&c->seen);
    sw_follow_close(f);
    free(big);
}

/* One poll reads at most max_bytes: a burst is spread over several polls. */
static void
test_max_bytes(void **state)
{
    struct ctx *c = *state;
    struct sw_follow *f;
    char line[16];
    size_t i, total = 0;
    int fd, polls = 0;
    long n;

    fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    for (i = 0; i < 1000; i++) {
        (void) snprintf(line, sizeof(line), "line %04zu\n", i); /* 10 bytes */
        assert_int_equal(write(fd, line, 10), 10);
    }
    assert_int_equal(close(fd), 0);
    f = sw_follow_open(c->path, false, &c->err);
    assert_non_null(f);
    while ((n = poll_ok(c, f, 100)) > 0) {
        assert_true(n <= 10);
        total += (size_t) n;
        polls++;
    }
    assert_int_equal(total, 1000);
    assert_int_equal(polls, 100);
    assert_string_equal(c->seen.line[0], "line 0000");
    assert_string_equal(c->seen.line[999], "line 0999");
    seen_reset(&c->seen);
    /* 0 means the default budget: everything at once. */
    puts_(c->path, "x\ny\n");
    assert_int_equal(poll_ok(c, f, 0), 2);
    EXPECT(c, "x", "y");
    sw_follow_close(f);
}

/* NUL bytes are data: the line length counts them. */
static void
test_nul_bytes(void **state)
{
    struct ctx *c = *state;
    struct sw_follow *f;

    put(c->path, "a\0b\n\0\n", 6);
    f = sw_follow_open(c->path, false, &c->err);
    assert_non_null(f);
    assert_int_equal(poll_ok(c, f, 0), 2);
    assert_int_equal(c->seen.len[0], 3);
    assert_memory_equal(c->seen.line[0], "a\0b", 3);
    assert_int_equal(c->seen.len[1], 1);
    seen_reset(&c->seen);
    sw_follow_close(f);
}

/* Standard input: non-blocking, an fd to watch, the last partial line at
 * the end, then "end of file". */
static void
test_stdin_pipe(void **state)
{
    struct ctx *c = *state;
    struct sw_follow *f;
    int fds[2], saved;

    assert_int_equal(pipe(fds), 0);
    saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
    (void) close(fds[0]);
    f = sw_follow_open("-", true, &c->err);
    assert_non_null(f);
    assert_int_equal(sw_follow_fd(f), STDIN_FILENO);
    assert_int_equal(poll_ok(c, f, 0), 0); /* would block: nothing yet */
    assert_int_equal(write(fds[1], "p1\np2", 5), 5);
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "p1");
    (void) close(fds[1]);
    assert_int_equal(poll_ok(c, f, 0), 1);
    EXPECT(c, "p2");
    assert_int_equal(sw_follow_poll(f, 0, collect, &c->seen, &c->err), -1);
    assert_non_null(strstr(sw_buf_str(&c->err), "end of file"));
    assert_int_equal(sw_follow_fd(f), -1);
    sw_follow_close(f);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    (void) close(saved);
}

/* What cannot be followed is refused at open, with the path in the message. */
static void
test_open_errors(void **state)
{
    struct ctx *c = *state;
    struct sw_follow *f;

    assert_int_equal(mkdir(sub(c, "sub"), 0700), 0);
    f = sw_follow_open(sub(c, "sub"), false, &c->err);
    assert_null(f);
    assert_non_null(strstr(sw_buf_str(&c->err), "not a regular file"));
    sw_buf_reset(&c->err);
    assert_int_equal(mkfifo(sub(c, "fifo"), 0600), 0);
    f = sw_follow_open(sub(c, "fifo"), false, &c->err);
    assert_null(f);
    assert_non_null(strstr(sw_buf_str(&c->err), "fifo"));
    sw_follow_close(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_and_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_by_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_then_recreated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_pipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
