/* pidlock.c - one running instance per lock file, and who holds it */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/pidlock.h"

/* read_pid - the pid written in a lock file, or 0 */
static pid_t
read_pid(int fd)
{
    char text[32];
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    char *end;
    long v;

    if (n <= 0)
        return 0;
    text[n] = '\0';
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || (*end != '\n' && *end != '\0') || v <= 0 || v > 0x7fffffffL)
        return 0;
    return (pid_t) v;
}

/* sw_pidlock_take - an exclusive lock, and our pid in the file */
int
sw_pidlock_take(const char *path, pid_t *holder, struct sw_buf *err)
{
    char text[32];
    int fd, len;

    *holder = 0;
    /* O_NOFOLLOW: a link planted in a shared directory is not followed. */
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0) {
        sw_buf_printf(err, "lock %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK) {
            *holder = read_pid(fd);
            if (*holder > 0)
                sw_buf_printf(err, "already running as pid %ld (lock %s)", (long) *holder, path);
            else
                sw_buf_printf(err, "already running (lock %s is held)", path);
        } else {
            sw_buf_printf(err, "lock %s: %s", path, strerror(errno));
        }
        (void) close(fd);
        return -1;
    }
    len = snprintf(text, sizeof(text), "%ld\n", (long) getpid());
    if (len < 0 || (size_t) len >= sizeof(text) || ftruncate(fd, 0) < 0
        || pwrite(fd, text, (size_t) len, 0) != (ssize_t) len) {
        sw_buf_printf(err, "lock %s: cannot write the pid: %s", path, strerror(errno));
        (void) close(fd);
        return -1;
    }
    return fd;
}

/* sw_unix_socket_live - does anybody answer at this socket? */
bool
sw_unix_socket_live(const char *path, int type)
{
    struct sockaddr_un sun;
    struct stat st;
    size_t len = strlen(path);
    bool live;
    int fd;

    if (len >= sizeof(sun.sun_path) || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return false;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, len + 1);
    if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) < 0)
        return false;
    /* A stream socket with a full backlog answers EAGAIN: still live. */
    live = connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0 || errno == EAGAIN
           || errno == EACCES || errno == EPERM;
    (void) close(fd);
    return live;
}
