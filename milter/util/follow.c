/* follow.c - follow a growing mail log, line by line, without blocking */

/*
 * Owns one file descriptor and one fixed buffer (allocated with the
 * follower; sw_follow_poll() allocates nothing).  The buffer holds at most
 * one incomplete line between polls.  The identity (device, inode) of the
 * open file and the offset read so far decide, when a read finds the end,
 * whether the path was rotated (another inode), truncated (size below the
 * offset) or is just quiet.  One stat() and one fstat() per poll that
 * reaches the end of the file; nothing while there is data to read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/follow.h"

/* Read size: one read() per 64 KB; a line that is still incomplete after
 * SW_FOLLOW_MAX_LINE bytes is cut, so there is always room. */
#define SW_FOLLOW_BUF_SIZE     (64u * 1024u)
/* Files switched to (rotation, re-creation) within one poll: a path that
 * is renamed in a tight loop must not hold the event loop. */
#define SW_FOLLOW_MAX_SWITCHES 4

struct sw_follow {
    char *path;          /* NULL for standard input */
    int fd;              /* -1 while the file is missing */
    bool stream;         /* standard input: no rotation, EOF is the end */
    bool watchable;      /* the stream is a pipe or socket (not a regular file) */
    bool at_eof;         /* the stream's writer has gone */
    dev_t dev;           /* identity of the open file */
    ino_t ino;           /* ... */
    off_t offset;        /* bytes read from it (regular files) */
    size_t have;         /* bytes of an incomplete line at the start of buf */
    bool skipping;       /* inside a cut line: drop bytes up to its "\n" */
    unsigned long lines; /* delivered */
    unsigned long cut;   /* delivered cut */
    unsigned long rotations;
    char buf[SW_FOLLOW_BUF_SIZE];
};

typedef void (*sw_follow_fn)(const char *line, size_t len, void *ctx);

/* What a look at the path finds once the open file is read to its end. */
enum follow_check { FOLLOW_SAME, FOLLOW_TRUNCATED, FOLLOW_REPLACED, FOLLOW_MISSING, FOLLOW_ERROR };

/* deliver_one - hand one line to the caller, NUL-terminated in place */
static void
deliver_one(struct sw_follow *f, char *line, size_t len, bool cut, sw_follow_fn fn, void *ctx)
{
    line[len] = '\0';
    f->lines++;
    if (cut)
        f->cut++;
    fn(line, len, ctx);
}

/* split - deliver the complete lines of buf[0..len), keep the incomplete rest */
static long
split(struct sw_follow *f, size_t len, sw_follow_fn fn, void *ctx)
{
    size_t start = 0, n;
    long count = 0;
    char *nl;

    while (start < len) {
        nl = memchr(f->buf + start, '\n', len - start);
        if (f->skipping) {
            if (nl == NULL) {
                start = len;
                break;
            }
            f->skipping = false;
            start = (size_t) (nl - f->buf) + 1;
            continue;
        }
        n = nl ? (size_t) (nl - (f->buf + start)) : len - start;
        if (n > SW_FOLLOW_MAX_LINE) {
            /* The byte after the cut belongs to the dropped rest. */
            deliver_one(f, f->buf + start, SW_FOLLOW_MAX_LINE, true, fn, ctx);
            count++;
            if (nl == NULL) {
                f->skipping = true;
                start = len;
                break;
            }
        } else if (nl == NULL) {
            break; /* incomplete: wait for the rest */
        } else {
            deliver_one(f, f->buf + start, n, false, fn, ctx);
            count++;
        }
        start = (size_t) (nl - f->buf) + 1;
    }
    if (start > 0 && start < len)
        memmove(f->buf, f->buf + start, len - start);
    f->have = len - start;
    return count;
}

/* flush_partial - deliver what is left of a file that ended without "\n" */
static long
flush_partial(struct sw_follow *f, sw_follow_fn fn, void *ctx)
{
    size_t n = f->have;

    f->have = 0;
    if (f->skipping || n == 0) {
        f->skipping = false;
        return 0;
    }
    deliver_one(f, f->buf, n, false, fn, ctx);
    return 1;
}

/* open_file - open the path; ENOENT is "missing", not an error */
static enum follow_check
open_file(struct sw_follow *f, struct sw_buf *err)
{
    struct stat st;
    int fd;

    fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return FOLLOW_MISSING;
        (void) sw_buf_printf(err, "%s: %s", f->path, strerror(errno));
        return FOLLOW_ERROR;
    }
    if (fstat(fd, &st) != 0) {
        (void) sw_buf_printf(err, "%s: %s", f->path, strerror(errno));
        (void) close(fd);
        return FOLLOW_ERROR;
    }
    if (!S_ISREG(st.st_mode)) {
        /* A FIFO or device would block or never end: "-" is for pipes. */
        (void) sw_buf_printf(err, "%s: not a regular file", f->path);
        (void) close(fd);
        return FOLLOW_ERROR;
    }
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->offset = 0;
    f->have = 0;
    f->skipping = false;
    return FOLLOW_SAME;
}

/* check_path - at the end of the open file: rotated, truncated, or quiet? */
static enum follow_check
check_path(struct sw_follow *f, struct sw_buf *err)
{
    struct stat st;

    if (stat(f->path, &st) != 0) {
        if (errno == ENOENT)
            return FOLLOW_MISSING; /* renamed, not yet re-created */
        (void) sw_buf_printf(err, "%s: %s", f->path, strerror(errno));
        return FOLLOW_ERROR;
    }
    if (st.st_dev != f->dev || st.st_ino != f->ino)
        return FOLLOW_REPLACED;
    if (fstat(f->fd, &st) != 0) {
        (void) sw_buf_printf(err, "%s: %s", f->path, strerror(errno));
        return FOLLOW_ERROR;
    }
    return st.st_size < f->offset ? FOLLOW_TRUNCATED : FOLLOW_SAME;
}

/* read_some - read and split until the end, EAGAIN or the budget; -1 on
 * error, else lines delivered; *eof tells whether the end was reached */
static long
read_some(struct sw_follow *f, size_t *budget, sw_follow_fn fn, void *ctx, bool *eof,
          struct sw_buf *err)
{
    size_t want;
    ssize_t r;
    long count = 0;

    *eof = false;
    while (*budget > 0) {
        /* One byte stays free for the NUL after a line. */
        want = sizeof(f->buf) - 1 - f->have;
        if (want > *budget)
            want = *budget;
        r = read(f->fd, f->buf + f->have, want);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            (void) sw_buf_printf(err, "%s: read: %s", f->path ? f->path : "standard input",
                                 strerror(errno));
            return -1;
        }
        if (r == 0) {
            *eof = true;
            break;
        }
        *budget -= (size_t) r;
        f->offset += r;
        count += split(f, f->have + (size_t) r, fn, ctx);
    }
    return count;
}

/* poll_stream - standard input */
static long
poll_stream(struct sw_follow *f, size_t budget, sw_follow_fn fn, void *ctx, struct sw_buf *err)
{
    long count;
    bool eof;

    if (f->at_eof) {
        (void) sw_buf_printf(err, "standard input: end of file");
        return -1;
    }
    if ((count = read_some(f, &budget, fn, ctx, &eof, err)) < 0)
        return -1;
    if (eof) {
        f->at_eof = true;
        count += flush_partial(f, fn, ctx);
    }
    return count;
}

/* poll_file - a regular file, with rotation */
static long
poll_file(struct sw_follow *f, size_t budget, sw_follow_fn fn, void *ctx, struct sw_buf *err)
{
    long count = 0, n;
    int switches;
    bool eof;

    for (switches = 0; switches <= SW_FOLLOW_MAX_SWITCHES; switches++) {
        if (f->fd < 0) {
            switch (open_file(f, err)) {
            case FOLLOW_MISSING: return count; /* retried at the next poll */
            case FOLLOW_ERROR: return -1;
            default: break;
            }
        }
        if ((n = read_some(f, &budget, fn, ctx, &eof, err)) < 0)
            return -1;
        count += n;
        if (!eof)
            return count; /* the budget is spent: the rest at the next poll */
        switch (check_path(f, err)) {
        case FOLLOW_SAME:
        case FOLLOW_MISSING: return count;
        case FOLLOW_ERROR: return -1;
        case FOLLOW_TRUNCATED:
            /* copytruncate: what is in the file now is new */
            if (lseek(f->fd, 0, SEEK_SET) != 0) {
                (void) sw_buf_printf(err, "%s: lseek: %s", f->path, strerror(errno));
                return -1;
            }
            f->offset = 0;
            f->have = 0;
            f->skipping = false;
            f->rotations++;
            break;
        case FOLLOW_REPLACED:
            /* The old file is read to its end: its last line, then the new file. */
            count += flush_partial(f, fn, ctx);
            (void) close(f->fd);
            f->fd = -1;
            f->rotations++;
            break;
        }
    }
    return count;
}

/* sw_follow_poll - read what is new */
long
sw_follow_poll(struct sw_follow *f, size_t max_bytes,
               void (*fn)(const char *line, size_t len, void *ctx), void *ctx, struct sw_buf *err)
{
    size_t budget = max_bytes ? max_bytes : SW_FOLLOW_DEFAULT_MAX_BYTES;

    return f->stream ? poll_stream(f, budget, fn, ctx, err) : poll_file(f, budget, fn, ctx, err);
}

/* start_at_end - skip what the file holds now, and a line being written */
static bool
start_at_end(struct sw_follow *f, struct sw_buf *err)
{
    off_t end;
    char last;

    if ((end = lseek(f->fd, 0, SEEK_END)) < 0) {
        (void) sw_buf_printf(err, "%s: lseek: %s", f->path, strerror(errno));
        return false;
    }
    f->offset = end;
    /* A writer in the middle of a line: its rest is not a line. */
    if (end > 0 && pread(f->fd, &last, 1, end - 1) == 1 && last != '\n')
        f->skipping = true;
    return true;
}

/* sw_follow_open - start following a file or standard input */
struct sw_follow *
sw_follow_open(const char *path, bool from_end, struct sw_buf *err)
{
    struct sw_follow *f;
    struct stat st;
    int flags;

    if ((f = calloc(1, sizeof(*f))) == NULL) {
        (void) sw_buf_printf(err, "%s: out of memory", path);
        return NULL;
    }
    f->fd = -1;
    if (strcmp(path, "-") == 0) {
        f->stream = true;
        f->fd = STDIN_FILENO;
        if (fstat(f->fd, &st) != 0 || (flags = fcntl(f->fd, F_GETFL)) < 0
            || fcntl(f->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
            (void) sw_buf_printf(err, "standard input: %s", strerror(errno));
            free(f);
            return NULL;
        }
        f->watchable = !S_ISREG(st.st_mode);
        return f;
    }
    if ((f->path = strdup(path)) == NULL) {
        (void) sw_buf_printf(err, "%s: out of memory", path);
        free(f);
        return NULL;
    }
    switch (open_file(f, err)) {
    case FOLLOW_MISSING: return f; /* new when it appears: read from its start */
    case FOLLOW_ERROR: sw_follow_close(f); return NULL;
    default: break;
    }
    if (from_end && !start_at_end(f, err)) {
        sw_follow_close(f);
        return NULL;
    }
    return f;
}

/* sw_follow_stats - counters for status */
void
sw_follow_stats(const struct sw_follow *f, unsigned long *lines, unsigned long *cut,
                unsigned long *rotations)
{
    *lines = f->lines;
    *cut = f->cut;
    *rotations = f->rotations;
}

/* sw_follow_fd - the fd to watch, or -1 to poll on a timer */
int
sw_follow_fd(const struct sw_follow *f)
{
    return f->stream && f->watchable && !f->at_eof ? f->fd : -1;
}

/* sw_follow_close - release; standard input itself stays open */
void
sw_follow_close(struct sw_follow *f)
{
    if (f == NULL)
        return;
    if (!f->stream && f->fd >= 0)
        (void) close(f->fd);
    free(f->path);
    free(f);
}
