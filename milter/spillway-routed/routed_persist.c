/* routed_persist.c - the state file: atomic save, tolerant load */

/*
 * Saves are coalesced (a burst of changes costs one write) and atomic:
 * temp file, fsync, rename, fsync of the directory, so a crash leaves the
 * old file or the new one, never a mix.  A missing or corrupt file at
 * start means every scope primary and one warning: refusing to start
 * would stop routing altogether, which is worse than forgetting a
 * diversion (the rendered table still holds it for Postfix meanwhile).
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "routed.h"
#include "global/statefile.h"

#define SW_STATE_MAX_SIZE      (256u * 1024u * 1024u) /* 1M scopes fit */
#define SW_STATE_SAVE_DELAY_MS 100

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

/* fsync_dir - make a rename durable */
static bool
fsync_dir(const char *path)
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

/* routed_state_save_now - write the file; false (logged) on failure */
bool
routed_state_save_now(struct routed *rd)
{
    const char *path = rd->conf->routed.state;
    struct sw_buf text, tmp;
    int fd = -1;
    bool ok = false;

    sw_buf_init(&text, SW_STATE_MAX_SIZE);
    sw_buf_init(&tmp, 4096);
    if (!sw_state_encode(rd->route, rd->conf, rd->admin, time(NULL), &text)) {
        sw_error("state: cannot encode the state (too large or out of memory)");
        goto done;
    }
    if (!sw_buf_printf(&tmp, "%s.tmp", path))
        goto done;
    fd = open(sw_buf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        sw_error("state: open %s: %s", sw_buf_str(&tmp), strerror(errno));
        goto done;
    }
    if (!write_all(fd, text.data, text.len) || fsync(fd) < 0) {
        sw_error("state: write %s: %s", sw_buf_str(&tmp), strerror(errno));
        goto done;
    }
    if (close(fd) < 0) {
        fd = -1;
        sw_error("state: close %s: %s", sw_buf_str(&tmp), strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(sw_buf_str(&tmp), path) < 0) {
        sw_error("state: rename to %s: %s", path, strerror(errno));
        goto done;
    }
    if (!fsync_dir(path))
        sw_warn("state: fsync of the directory of %s: %s", path, strerror(errno));
    ok = true;
done:
    if (fd >= 0) {
        (void) close(fd);
        (void) unlink(sw_buf_str(&tmp));
    }
    sw_buf_free(&text);
    sw_buf_free(&tmp);
    return ok;
}

/* save_cb - the coalescing timer fired */
static void
save_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    (void) routed_state_save_now(arg);
}

/* routed_state_save_soon - save within SW_STATE_SAVE_DELAY_MS */
void
routed_state_save_soon(struct routed *rd)
{
    struct timeval tv = { 0, SW_STATE_SAVE_DELAY_MS * 1000 };

    if (rd->save_timer == NULL && (rd->save_timer = evtimer_new(rd->base, save_cb, rd)) == NULL) {
        (void) routed_state_save_now(rd);
        return;
    }
    if (!evtimer_pending(rd->save_timer, NULL))
        (void) evtimer_add(rd->save_timer, &tv);
}

/* read_file - whole file, bounded */
static char *
read_file(const char *path, size_t *len, int *err)
{
    struct stat st;
    char *text = NULL;
    ssize_t n;
    size_t got = 0;
    int fd;

    *err = 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        *err = errno;
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SW_STATE_MAX_SIZE) {
        *err = EFBIG;
        goto done;
    }
    if ((text = malloc((size_t) st.st_size + 1)) == NULL) {
        *err = ENOMEM;
        goto done;
    }
    while (got < (size_t) st.st_size) {
        n = read(fd, text + got, (size_t) st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    text[got] = '\0';
    *len = got;
done:
    (void) close(fd);
    return text;
}

/* relay_admin_cb - a relay's saved administrative state */
static void
relay_admin_cb(const char *name, enum sw_relay_admin admin, void *arg)
{
    struct routed *rd = arg;
    size_t i;

    for (i = 0; i < rd->conf->nrelays; i++)
        if (strcmp(rd->conf->relays[i].name, name) == 0)
            rd->admin[i] = admin;
}

/* routed_state_load - start from the saved state, or from defaults */
void
routed_state_load(struct routed *rd)
{
    const char *path = rd->conf->routed.state, *why = NULL;
    struct sw_route *fresh;
    size_t len = 0, line = 0;
    char *text;
    int err;

    if ((text = read_file(path, &len, &err)) == NULL) {
        if (err == ENOENT)
            sw_info("state: %s does not exist yet: every scope starts primary", path);
        else
            sw_warn("state: cannot read %s (%s): every scope starts primary", path, strerror(err));
        return;
    }
    if ((fresh = sw_route_new()) == NULL) {
        free(text);
        sw_warn("state: out of memory reading %s: every scope starts primary", path);
        return;
    }
    if (!sw_state_decode(text, len, fresh, relay_admin_cb, rd, &line, &why)) {
        sw_warn("state: %s line %zu: %s: ignoring the file, every scope starts primary", path, line,
                why);
        sw_route_free(fresh);
        memset(rd->admin, 0, rd->conf->nrelays * sizeof(*rd->admin));
    } else {
        sw_route_free(rd->route);
        rd->route = fresh;
        sw_info("state: restored %zu scopes from %s", sw_route_count(fresh), path);
    }
    free(text);
}
