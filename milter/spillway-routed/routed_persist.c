/* routed_persist.c - the state file: atomic save, tolerant load */

/*
 * Saves are coalesced (a burst of changes costs one write) and atomic:
 * temp file, fsync, rename, fsync of the directory, so a crash leaves the
 * old file or the new one, never a mix.  A save that fails (a full disk,
 * a directory made read-only) keeps the state in memory and is retried
 * with back-off (1 s doubling to 1 min, util/backoff.h); the log says so
 * once when saving starts to fail and once when it works again.  An
 * operator's change is saved at once (routed_state_save_durable) and only
 * then acknowledged (routed_verbs.c).
 *
 * At start, a damaged file costs only its damaged lines: every valid
 * record is restored, each bad line logged (the first SW_STATE_BAD_LOGGED
 * of them), and the file is kept as STATE.corrupt.TIMESTAMP (a hard link,
 * so the clean save that follows does not destroy the evidence).  A file
 * that cannot be read at all means every scope primary and one warning:
 * refusing to start would stop routing altogether, which is worse than
 * forgetting a diversion.
 */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomicfile.h"
#include "util/log.h"
#include "routed.h"
#include "global/statefile.h"

#define SW_STATE_MAX_SIZE      (256u * 1024u * 1024u) /* 1M scopes fit */
#define SW_STATE_SAVE_DELAY_MS 100
#define SW_STATE_RETRY_MIN_MS  1000
#define SW_STATE_RETRY_MAX_MS  60000
#define SW_STATE_BAD_LOGGED    10 /* bad lines logged one by one at start */
#define SW_STATE_ASIDE_TRIES   10 /* names tried for the damaged file */

/* write_state - the atomic write; false with the reason in why */
static bool
write_state(struct routed *rd, struct sw_buf *why)
{
    const char *path = rd->conf->routed.state;
    struct sw_buf text;
    bool ok = false;

    sw_buf_init(&text, SW_STATE_MAX_SIZE);
    if (!sw_state_encode(rd->route, rd->conf, rd->admin, time(NULL), &text))
        sw_buf_adds(why, "cannot encode the state (too large or out of memory)");
    else if ((ok = sw_file_replace(path, text.data, text.len, 0600, why)) && !sw_fsync_dir(path))
        /* Without it the rename may not survive a power cut; the data itself
         * is on disk, so this is a warning, not a failed save. */
        sw_warn("state: fsync of the directory of %s: %s", path, strerror(errno));
    sw_buf_free(&text);
    return ok;
}

/* save_cb - the coalescing timer, or a retry, fired */
static void
save_cb(evutil_socket_t fd, short what, void *arg)
{
    (void) fd;
    (void) what;
    (void) routed_state_save_now(arg);
}

/* routed_state_save_durable - save now; on failure log once per change
 * and retry with back-off.  why (may be NULL) gets the reason. */
bool
routed_state_save_durable(struct routed *rd, struct sw_buf *why)
{
    const char *path = rd->conf->routed.state;
    unsigned long failures = rd->save_backoff.failures;
    struct timeval tv = { 0, 0 };
    struct sw_buf reason;
    long ms;
    bool ok;

    sw_buf_init(&reason, 4096);
    ok = write_state(rd, &reason);
    if (ok)
        rd->stats.saves++;
    else
        rd->stats.saves_failed++;
    switch (sw_backoff_result(&rd->save_backoff, ok)) {
    case SW_BACKOFF_FAILING:
        sw_error("state: cannot save %s: %s: the routing state is kept in memory and the save "
                 "retried",
                 path, sw_buf_str(&reason));
        break;
    case SW_BACKOFF_RECOVERED:
        sw_info("state: saved path=%s again_after_failures=%lu", path, failures);
        break;
    case SW_BACKOFF_SAME:
        if (!ok)
            sw_debug("state: cannot save %s (attempt %lu): %s", path, failures + 1,
                     sw_buf_str(&reason));
        break;
    }
    if (rd->save_timer == NULL)
        rd->save_timer = evtimer_new(rd->base, save_cb, rd);
    if (ok) {
        /* The whole state is on disk: a pending save or retry has nothing left to do. */
        if (rd->save_timer)
            (void) evtimer_del(rd->save_timer);
    } else if (rd->save_timer) {
        ms = sw_backoff_delay(&rd->save_backoff);
        tv.tv_sec = ms / 1000;
        tv.tv_usec = (ms % 1000) * 1000;
        (void) evtimer_add(rd->save_timer, &tv);
    } else {
        sw_error("state: cannot create the save timer: %s is not retried", path);
    }
    if (why && !ok)
        sw_buf_adds(why, sw_buf_str(&reason));
    sw_buf_free(&reason);
    return ok;
}

/* routed_state_save_now - write the file; false (logged, retried) on failure */
bool
routed_state_save_now(struct routed *rd)
{
    return routed_state_save_durable(rd, NULL);
}

/* routed_state_save_soon - save within SW_STATE_SAVE_DELAY_MS; while
 * saves fail, at the next retry (the back-off bounds the attempts) */
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

/* set_aside - keep a damaged file as PATH.corrupt.TIMESTAMP; the name
 * used goes to aside */
static bool
set_aside(const char *path, struct sw_buf *aside)
{
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    int i;

    if (gmtime_r(&now, &tm) == NULL || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
        (void) snprintf(stamp, sizeof(stamp), "%lld", (long long) now);
    for (i = 0; i < SW_STATE_ASIDE_TRIES; i++) {
        sw_buf_reset(aside);
        if (!(i ? sw_buf_printf(aside, "%s.corrupt.%s.%d", path, stamp, i)
                : sw_buf_printf(aside, "%s.corrupt.%s", path, stamp)))
            return false;
        /* A hard link: the file stays where it is until a clean save
         * replaces it, so a crash meanwhile loses nothing either. */
        if (link(path, sw_buf_str(aside)) == 0)
            return true;
        if (errno != EEXIST)
            break;
    }
    sw_warn("state: cannot keep the damaged %s as %s: %s", path, sw_buf_str(aside),
            strerror(errno));
    return false;
}

struct load_ctx {
    struct routed *rd;
    const char *path;
    size_t logged; /* bad lines logged */
};

/* relay_admin_cb - a relay's saved administrative state */
static void
relay_admin_cb(const char *name, enum sw_relay_admin admin, void *arg)
{
    struct load_ctx *lc = arg;
    struct routed *rd = lc->rd;
    size_t i;

    for (i = 0; i < rd->conf->nrelays; i++)
        if (strcmp(rd->conf->relays[i].name, name) == 0)
            rd->admin[i] = admin;
}

/* bad_line_cb - one skipped line, logged while few */
static void
bad_line_cb(size_t line, const char *why, void *arg)
{
    struct load_ctx *lc = arg;

    if (lc->logged++ < SW_STATE_BAD_LOGGED)
        sw_warn("state: %s line %zu: %s: line skipped", lc->path, line, why);
}

/* routed_state_load - start from the saved state, or from defaults */
void
routed_state_load(struct routed *rd)
{
    const char *path = rd->conf->routed.state, *why = NULL;
    struct load_ctx lc = { rd, path, 0 };
    struct sw_state_sink sink = { relay_admin_cb, bad_line_cb, &lc };
    struct sw_state_counts n;
    struct sw_route *fresh;
    struct sw_buf aside;
    size_t len = 0;
    char *text;
    int err;

    rd->save_backoff =
        (struct sw_backoff) SW_BACKOFF_INIT(SW_STATE_RETRY_MIN_MS, SW_STATE_RETRY_MAX_MS);
    sw_buf_init(&aside, 4096);
    if ((text = read_file(path, &len, &err)) == NULL) {
        if (err == ENOENT) {
            sw_info("state: missing path=%s scopes=0 (every scope starts primary)", path);
        } else {
            sw_warn("state: cannot read %s (%s): every scope starts primary", path, strerror(err));
            if (set_aside(path, &aside))
                sw_warn("state: %s kept as %s", path, sw_buf_str(&aside));
        }
        sw_buf_free(&aside);
        return;
    }
    if ((fresh = sw_route_new()) == NULL) {
        free(text);
        sw_buf_free(&aside);
        sw_warn("state: out of memory reading %s: every scope starts primary", path);
        return;
    }
    if (!sw_state_decode(text, len, fresh, &sink, &n, &why)) {
        sw_warn("state: %s: %s: every scope starts primary", path, why);
        sw_route_free(fresh);
        n.bad = 1; /* the whole file */
    } else {
        sw_route_free(rd->route);
        rd->route = fresh;
        sw_info("state: restored path=%s scopes=%zu relay_states=%zu bad_lines=%zu", path,
                sw_route_count(fresh), n.relays, n.bad);
        if (n.bad > SW_STATE_BAD_LOGGED)
            sw_warn("state: %s: %zu more bad lines not logged", path, n.bad - SW_STATE_BAD_LOGGED);
    }
    if (n.bad) {
        if (set_aside(path, &aside))
            sw_warn("state: damaged %s kept as %s", path, sw_buf_str(&aside));
        routed_state_save_soon(rd); /* a clean file, with what was restored */
    }
    free(text);
    sw_buf_free(&aside);
}
