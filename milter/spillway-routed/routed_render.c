/* routed_render.c - keep the fail-static tables on disk current */

/*
 * Rendering follows routed.mta: Postfix's tables where Postfix asks, a
 * Sendmail mailertable where Sendmail does, both for "both", and nothing
 * for an MTA whose format is "none".  After each change the table text
 * is written atomically (temp, fsync, rename) and compiled by the MTA's
 * own tool, postmap(1) or makemap(8), run one after the other as child
 * processes with an argv (no shell) so the event loop never waits on
 * them (routed_tables.c).  Changes that arrive while a tool runs are
 * coalesced into one more run.
 *
 * makemap reads the text on its standard input and rebuilds FILE.db
 * (hash, btree: Debian's makemap has no cdb) in place under its lock, as
 * an administrator's "makemap hash mailertable < mailertable" does; a
 * Sendmail process opens the map anew for each SMTP transaction and queue
 * run, and sees the change (doc/sendmail-facts.md).
 *
 * lmdb (default): "postmap lmdb:FILE" updates FILE.lmdb in place in one
 * LMDB transaction; Postfix sees it at its next lookup without restarting
 * trivial-rewrite.  cdb: postmap renames a new FILE.cdb into place and
 * trivial-rewrite restarts within about 10 s (MTA-FACTS.md).
 *
 * The pcre filters (render_filter.h) need no postmap.  They name the
 * primary relays' resolved addresses and MX hosts, so every render
 * compares them with the text last written and writes them again when
 * that changed (the health code calls routed_changed when a relay's
 * address set does).
 *
 * A render that fails (the directory read-only or full, fork or postmap
 * failing) is retried with back-off, 1 s doubling to 1 min
 * (util/backoff.h), and logged once when rendering starts to fail and
 * once when it works again.  The pattern tables (dsn-filter.pcre,
 * reply-filter.pcre) are written whatever their last text at start and
 * after each reload, and retried with the transport table until they are
 * written.
 */
#include "config.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/backoff.h"
#include "util/atomicfile.h"
#include "util/log.h"
#include "global/render.h"
#include "global/render_filter.h"
#include "global/render_tls.h"
#include "routed.h"

#define SW_RENDER_DELAY_MS     50
#define SW_RENDER_MAX_SIZE     (256u * 1024u * 1024u)
#define SW_RENDER_RETRY_MIN_MS 1000
#define SW_RENDER_RETRY_MAX_MS 60000

/* The pcre filters, from the pattern library and the relays' health. */
static const struct {
    const char *file;
    bool (*render)(const struct sw_policy *, struct sw_buf *);
} filter_tables[] = {
    { "dsn-filter.pcre", sw_render_dsn_filter },
    { "reply-filter.pcre", sw_render_reply_filter },
};
#define ROUTED_FILTERS (sizeof(filter_tables) / sizeof(filter_tables[0]))

struct routed_render {
    struct routed *rd;
    struct event *timer; /* the coalescing delay, or the retry after a failure */
    struct routed_tools tools; /* the tools of the render under way */
    bool pending;     /* a change arrived while postmap ran */
    bool filters_due; /* the pattern tables are to be written whatever their text */
    struct sw_backoff backoff;
    /* The text last written of each filter. */
    struct sw_buf filters[ROUTED_FILTERS];
};

/* write_atomic - the whole text, or nothing (util/atomicfile.h) */
static bool
write_atomic(const char *path, const struct sw_buf *text, struct sw_buf *why)
{
    return sw_file_replace(path, text->data ? text->data : "", text->len, 0644, why);
}

/* outcome - one render attempt done: count, log once per change, and
 * retry a failure after the back-off delay */
static void
outcome(struct routed_render *rr, bool ok, const char *why)
{
    struct routed *rd = rr->rd;
    unsigned long failures = rr->backoff.failures;
    struct timeval tv = { 0, 0 };
    char dir[1024];
    long ms;

    routed_tables_names(rd->conf, dir, sizeof(dir));
    if (ok)
        rd->stats.renders++;
    else
        rd->stats.renders_failed++;
    switch (sw_backoff_result(&rr->backoff, ok)) {
    case SW_BACKOFF_FAILING:
        sw_error("render: cannot update %s: %s: the MTA keeps the previous table; retrying", dir,
                 why);
        break;
    case SW_BACKOFF_RECOVERED:
        sw_info("render: current table=%s again_after_failures=%lu", dir, failures);
        break;
    case SW_BACKOFF_SAME:
        if (!ok)
            sw_debug("render: %s, attempt %lu: %s", dir, failures + 1, why);
        break;
    }
    rd->stats.render_failing = !ok;
    if (ok)
        return;
    ms = sw_backoff_delay(&rr->backoff);
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    (void) evtimer_add(rr->timer, &tv); /* replaces a shorter pending delay */
}

/* same_text - two buffers hold the same bytes */
static bool
same_text(const struct sw_buf *a, const struct sw_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* render_filters - write the filters whose text changed since the last
 * write (every one if force: at start and on reload); false with the
 * reason in why */
static bool
render_filters(struct routed_render *rr, bool force, struct sw_buf *why)
{
    struct routed *rd = rr->rd;
    struct sw_policy p = routed_policy(rd);
    struct sw_buf text, path, *last;
    size_t i;
    bool ok = true;

    for (i = 0; i < ROUTED_FILTERS; i++) {
        last = &rr->filters[i];
        sw_buf_init(&text, SW_RENDER_MAX_SIZE);
        sw_buf_init(&path, 4096);
        if (!sw_buf_printf(&path, "%s/%s", rd->conf->routed.render_dir, filter_tables[i].file)
            || !filter_tables[i].render(&p, &text)) {
            sw_buf_printf(why, "%scannot build %s", ok ? "" : "; ", filter_tables[i].file);
            ok = false;
        } else if (force || !same_text(&text, last)) {
            if (write_atomic(sw_buf_str(&path), &text, why)) {
                if (!force)
                    sw_info("render: file=%s reason=\"the primary relays' resolved hosts "
                            "changed\"",
                            sw_buf_str(&path));
                sw_buf_free(last);
                *last = text; /* kept: the next render compares with it */
                sw_buf_init(&text, SW_RENDER_MAX_SIZE);
            } else {
                ok = false;
            }
        }
        sw_buf_free(&text);
        sw_buf_free(&path);
    }
    return ok;
}

/* write_postfix - the transport and TLS policy tables, and their postmap */
static bool
write_postfix(struct routed_render *rr, const struct sw_policy *p, struct sw_buf *why)
{
    const char *dir = rr->rd->conf->routed.render_dir;
    struct sw_buf text, tls, path, tpath;
    bool ok = false;

    sw_buf_init(&text, SW_RENDER_MAX_SIZE);
    sw_buf_init(&tls, SW_RENDER_MAX_SIZE);
    sw_buf_init(&path, 4096);
    sw_buf_init(&tpath, 4096);
    if (!sw_buf_printf(&path, "%s/transport", dir) || !sw_buf_printf(&tpath, "%s/tls-policy", dir)
        || !sw_render_transport(p, rr->rd->route, &text) || !sw_render_tls_policy(p, &tls))
        sw_buf_adds(why, "cannot build the transport table (too large or out of memory)");
    else if (write_atomic(sw_buf_str(&path), &text, why)
             && write_atomic(sw_buf_str(&tpath), &tls, why)) {
        ok = routed_tools_postmap(&rr->tools, rr->rd->conf, sw_buf_str(&path), sw_buf_str(&tpath));
        if (!ok)
            sw_buf_adds(why, "out of memory");
    }
    sw_buf_free(&text);
    sw_buf_free(&tls);
    sw_buf_free(&path);
    sw_buf_free(&tpath);
    return ok;
}

/* write_sendmail - the mailertable source, and its makemap */
static bool
write_sendmail(struct routed_render *rr, const struct sw_policy *p, struct sw_buf *why)
{
    struct sw_buf text, path;
    bool ok = false;

    sw_buf_init(&text, SW_RENDER_MAX_SIZE);
    sw_buf_init(&path, 4096);
    if (!sw_buf_printf(&path, "%s/mailertable", rr->rd->conf->routed.render_dir)
        || !sw_render_mailertable(p, rr->rd->route, &text))
        sw_buf_adds(why, "cannot build the mailertable (too large or out of memory)");
    else if (write_atomic(sw_buf_str(&path), &text, why)) {
        ok = routed_tools_makemap(&rr->tools, rr->rd->conf, sw_buf_str(&path));
        if (!ok)
            sw_buf_adds(why, "out of memory");
    }
    sw_buf_free(&text);
    sw_buf_free(&path);
    return ok;
}

/* render_now - write the tables' source and start the first tool; the
 * outcome is known now on failure, else when the last tool exits */
static void
render_now(struct routed_render *rr)
{
    struct routed *rd = rr->rd;
    struct sw_policy p = routed_policy(rd);
    struct sw_buf why, fwhy;
    bool ok = true, filters_ok = true;

    rr->pending = false;
    routed_tools_reset(&rr->tools);
    sw_buf_init(&why, 4096);
    sw_buf_init(&fwhy, 8192);
    /* The pattern tables (Postfix's smtp_delivery_status_filter) first;
     * the routing tables are written even when they fail (a pattern
     * library that cannot be rendered must not stop the routing table),
     * and the failure is retried with both. */
    if (routed_tables_postfix(rd->conf)) {
        filters_ok = render_filters(rr, rr->filters_due, &fwhy);
        ok = write_postfix(rr, &p, &why);
    }
    if (filters_ok)
        rr->filters_due = false;
    if (ok && routed_tables_sendmail(rd->conf))
        ok = write_sendmail(rr, &p, &why);
    if (ok && rr->tools.n > 0)
        ok = routed_tools_start(&rr->tools, &why);
    else if (ok && filters_ok)
        outcome(rr, true, NULL); /* nothing to compile: done */
    if (!filters_ok && !ok)
        sw_buf_printf(&fwhy, "; %s", sw_buf_str(&why));
    if (!filters_ok)
        outcome(rr, false, sw_buf_str(&fwhy));
    else if (!ok)
        outcome(rr, false, sw_buf_str(&why));
    if (!ok)
        routed_tools_reset(&rr->tools);
    sw_buf_free(&why);
    sw_buf_free(&fwhy);
}

/* routed_render_filters - the pattern tables are to be written again (at
 * start and after each reload, not per decision): with the next render */
void
routed_render_filters(struct routed *rd)
{
    if (rd->render == NULL)
        return;
    rd->render->filters_due = true;
    routed_render_soon(rd->render);
}

/* timer_cb - coalescing delay passed */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_render *rr = arg;

    (void) fd;
    (void) what;
    if (rr->tools.child > 0)
        rr->pending = true; /* picked up when the child exits */
    else
        render_now(rr);
}

/* routed_render_new - and render once, so the table exists from the start */
struct routed_render *
routed_render_new(struct routed *rd)
{
    struct routed_render *rr = calloc(1, sizeof(*rr));
    size_t i;

    if (rr == NULL)
        return NULL;
    rr->rd = rd;
    for (i = 0; i < ROUTED_FILTERS; i++)
        sw_buf_init(&rr->filters[i], SW_RENDER_MAX_SIZE);
    rr->backoff =
        (struct sw_backoff) SW_BACKOFF_INIT(SW_RENDER_RETRY_MIN_MS, SW_RENDER_RETRY_MAX_MS);
    if ((rr->timer = evtimer_new(rd->base, timer_cb, rr)) == NULL) {
        free(rr);
        return NULL;
    }
    rr->filters_due = true;
    render_now(rr);
    return rr;
}

/* routed_render_free - stop; a running tool finishes on its own (the
 * next one of the render is not started) */
void
routed_render_free(struct routed_render *rr)
{
    int status;
    size_t i;

    if (rr == NULL)
        return;
    if (rr->tools.child > 0)
        (void) waitpid(rr->tools.child, &status, 0); /* bounded: postmap of one file */
    routed_tools_reset(&rr->tools);
    event_free(rr->timer);
    for (i = 0; i < ROUTED_FILTERS; i++)
        sw_buf_free(&rr->filters[i]);
    free(rr);
}

/* routed_render_soon - schedule a render */
void
routed_render_soon(struct routed_render *rr)
{
    struct timeval tv = { 0, SW_RENDER_DELAY_MS * 1000 };

    if (rr == NULL)
        return;
    if (rr->tools.child > 0) {
        rr->pending = true;
        return;
    }
    if (!evtimer_pending(rr->timer, NULL))
        (void) evtimer_add(rr->timer, &tv);
}

/* routed_render_child_exited - a child exited: if it is the running
 * tool, start the next one, or report and go again; false if it is not
 * ours */
bool
routed_render_child_exited(struct routed_render *rr, pid_t pid, int status)
{
    struct sw_buf why;
    enum routed_tools_result res;

    if (rr == NULL)
        return false;
    sw_buf_init(&why, 1024);
    res = routed_tools_exited(&rr->tools, pid, status, &why);
    if (res == ROUTED_TOOLS_FAILED) {
        routed_tools_reset(&rr->tools);
        outcome(rr, false, sw_buf_str(&why)); /* the retry covers a pending change too */
    } else if (res == ROUTED_TOOLS_DONE) {
        routed_tools_reset(&rr->tools);
        if (!rr->filters_due) {
            outcome(rr, true, NULL);
            if (rr->pending)
                routed_render_soon(rr);
        } else if (rr->pending && !evtimer_pending(rr->timer, NULL)) {
            /* The pattern tables failed (counted, logged): their retry
             * waits for the back-off, a pending change with it. */
            outcome(rr, false, "the pattern tables are not written yet");
        }
    }
    sw_buf_free(&why);
    return res != ROUTED_TOOLS_NOT_OURS;
}
