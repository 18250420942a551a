/* ctl_genkey.c - spillwayctl genkey: a new tag key file */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ctl_check.h"
#include "global/conf.h"
#include "util/buf.h"

/* ctl_genkey - a new tag key file: 32 random bytes in hex under the key
 * id kYYYYMMDD, mode 0640, group the milter's user's group when the
 * configuration names one that exists (else 0600 and root's).  An
 * existing file is never touched.  Exit status: 0 written, 1 not. */
int
ctl_genkey(const char *conf_path, const char *path)
{
    unsigned char secret[32];
    char line[160], id[16];
    struct sw_conf *c = NULL;
    struct sw_buf err;
    struct passwd *pw = NULL;
    time_t now = time(NULL);
    struct tm tm;
    size_t i, n;
    int fd;

    if (getrandom(secret, sizeof(secret), 0) != (ssize_t) sizeof(secret)) {
        (void) fprintf(stderr, "spillwayctl: getrandom: %s\n", strerror(errno));
        return 1;
    }
    sw_buf_init(&err, 65536);
    if (access(conf_path, R_OK) == 0 && (c = sw_conf_load(conf_path, &err)) != NULL
        && c->milter.user)
        pw = getpwnam(c->milter.user);
    (void) gmtime_r(&now, &tm);
    (void) strftime(id, sizeof(id), "k%Y%m%d", &tm);
    n = (size_t) snprintf(line, sizeof(line), "# spillway tag key, made %04d-%02d-%02d\n%s ",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, id);
    for (i = 0; i < sizeof(secret); i++)
        n += (size_t) snprintf(line + n, sizeof(line) - n, "%02x", secret[i]);
    n += (size_t) snprintf(line + n, sizeof(line) - n, "\n");
    explicit_bzero(secret, sizeof(secret));
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, pw ? 0640 : 0600)) < 0) {
        (void) fprintf(stderr,
                       "spillwayctl: %s: %s%s\n", path, strerror(errno),
                       errno == EEXIST ? " (to rotate: put a new key line first and keep the "
                                         "old one second, two keys at most)"
                                       : "");
        explicit_bzero(line, sizeof(line));
        sw_buf_free(&err);
        sw_conf_free(c);
        return 1;
    }
    if ((pw && fchown(fd, 0, pw->pw_gid) != 0) || write(fd, line, n) != (ssize_t) n
        || fsync(fd) != 0) {
        (void) fprintf(stderr, "spillwayctl: %s: %s\n", path, strerror(errno));
        (void) close(fd);
        (void) unlink(path);
        explicit_bzero(line, sizeof(line));
        sw_buf_free(&err);
        sw_conf_free(c);
        return 1;
    }
    (void) close(fd);
    explicit_bzero(line, sizeof(line));
    (void) printf("%s: key %s written, mode %s%s%s\n", path, id, pw ? "0640, group of " : "0600",
                  pw ? c->milter.user : "", pw ? "" : " (no milter.user found: give it to its group)");
    sw_buf_free(&err);
    sw_conf_free(c);
    return 0;
}
