/* atomicfile.c - replace a file's contents all at once */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/atomicfile.h"

/* write_all - loop over short writes */
static bool
write_all(int fd, const char *p, size_t n)
{
    ssize_t w;

    while (n > 0) {
        if ((w = write(fd, p, n)) < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        n -= (size_t) w;
    }
    return true;
}

/* sw_file_replace - temp, fsync, rename */
bool
sw_file_replace(const char *path, const char *data, size_t len, mode_t mode, struct sw_buf *why)
{
    struct sw_buf tmp;
    int fd = -1;
    bool ok = false;

    sw_buf_init(&tmp, 4096);
    if (!sw_buf_printf(&tmp, "%s.tmp", path)) {
        sw_buf_adds(why, "path too long");
        goto done;
    }
    if ((fd = open(sw_buf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0) {
        sw_buf_printf(why, "open %s: %s", sw_buf_str(&tmp), strerror(errno));
        goto done;
    }
    if (!write_all(fd, data, len) || fsync(fd) < 0) {
        sw_buf_printf(why, "write %s: %s", sw_buf_str(&tmp), strerror(errno));
        goto done;
    }
    if (close(fd) < 0) {
        fd = -1;
        sw_buf_printf(why, "close %s: %s", sw_buf_str(&tmp), strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(sw_buf_str(&tmp), path) < 0) {
        sw_buf_printf(why, "rename to %s: %s", path, strerror(errno));
        goto done;
    }
    ok = true;
done:
    if (fd >= 0)
        (void) close(fd);
    if (!ok && tmp.len > 0)
        (void) unlink(sw_buf_str(&tmp));
    sw_buf_free(&tmp);
    return ok;
}

/* sw_fsync_dir - make a rename durable */
bool
sw_fsync_dir(const char *path)
{
    char *copy = strdup(path);
    int fd;
    bool ok;

    if (copy == NULL)
        return false;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return false;
    ok = fsync(fd) == 0;
    (void) close(fd);
    return ok;
}
