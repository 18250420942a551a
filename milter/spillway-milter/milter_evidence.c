/* milter_evidence.c - from an analysed bounce to records for spillway-routed */

/*
 * Each failed recipient of a bounce becomes one evidence record (DESIGN.md
 * 5.3), unless the guard suppresses it (a duplicate, past the cap for one
 * message or one tag, or the sending client is over its rate).  Records go out on a
 * non-blocking unix datagram socket: if spillway-routed is down or slow
 * the record is dropped and counted; a bounce is never held up for it.
 * Each recipient gets one log line that says what was seen and done.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "global/analyze.h"
#include "global/evrec.h"
#include "util/log.h"
#include "milter.h"

/* send_record - one datagram; false when it could not be sent */
static bool
send_record(const char *path, const struct sw_buf *b, int *err)
{
    struct sockaddr_un sun;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (path == NULL || strlen(path) >= sizeof(sun.sun_path)) {
        *err = ENAMETOOLONG;
        return false;
    }
    memcpy(sun.sun_path, path, strlen(path));
    if (sendto(sw_milter.evidence_fd, b->data, b->len, MSG_DONTWAIT | MSG_NOSIGNAL,
               (struct sockaddr *) &sun, sizeof(sun))
        < 0) {
        *err = errno;
        return false;
    }
    return true;
}

/* log_one - what was seen and what was done with it; tier: of the
 * pattern that decided ("none" without one) */
static void
log_one(const struct sw_evrec *r, const char *tier, const char *via, const char *queue_id,
        const char *done)
{
    struct sw_buf b;

    sw_buf_init(&b, 2048);
    sw_buf_printf(&b, "%s: bounce: rcpt=", queue_id && *queue_id ? queue_id : "NOQUEUE");
    sw_buf_add_escaped(&b, r->ev.rcpt, 256);
    sw_buf_adds(&b, " msgid=");
    sw_buf_add_escaped(&b, r->ev.id[0] ? r->ev.id : "none", 128);
    sw_buf_printf(&b,
                  " client=%s dsn=%s class=%s pattern=%s tier=%s pool=%s tag=%s %s evidence=%s "
                  "via=%s",
                  r->client[0] ? r->client : "unknown", r->ev.dsn[0] ? r->ev.dsn : "none",
                  sw_class_name(r->ev.cls), r->ev.pattern[0] ? r->ev.pattern : "none", tier,
                  r->ev.pool[0] ? r->ev.pool : "none", r->tag,
                  r->ev.trusted ? "trusted" : "untrusted", done, via);
    sw_buf_adds(&b, " text=\"");
    sw_buf_add_escaped(&b, r->ev.text, 200);
    sw_buf_addc(&b, '"');
    sw_info("%s", sw_buf_str(&b));
    sw_buf_free(&b);
}

/* milter_evidence - records for every failed recipient */
void
milter_evidence(const struct milter_gen *g, const struct sw_analysis *a, const char *client,
                const char *queue_id)
{
    struct sw_evrec r;
    char why[128];
    struct sw_buf b;
    enum sw_guard_verdict v;
    time_t now = time(NULL);
    const char *via = a->tag != SW_TAG_VALID ? "none" : a->via_rp ? "return-path" : "header";
    const char *tier;
    size_t i;
    int err;

    sw_buf_init(&b, SW_EVREC_MAX);
    for (i = 0; i < a->n; i++) {
        if (!a->f[i].failed)
            continue;
        sw_analysis_evrec(a, i, now, client, &r);
        tier = a->f[i].v.name ? sw_tier_name(a->f[i].v.tier) : "none";
        milter_stat_add(r.ev.trusted ? &sw_milter.stats.trusted : &sw_milter.stats.untrusted, 1);
        if (r.ev.domain[0] == '\0') {
            log_one(&r, tier, via, queue_id, "skipped(no-domain)");
            continue;
        }
        /* Trusted and untrusted records are de-duplicated apart: a forged
         * bounce sent first must not make the genuine one a duplicate.  A
         * trusted record's key is its tag's canonical form (the text of
         * a seen tag cannot be varied into new keys), and one tag gives
         * at most milter.tag_cap trusted records (guard.h). */
        pthread_mutex_lock(&sw_milter.lock);
        v = sw_guard_check(sw_milter.guard, client, r.ev.trusted,
                           r.ev.trusted ? a->tag_id : r.ev.id, r.ev.rcpt, now, g->conf->milter.rate,
                           (unsigned) g->conf->milter.tag_cap);
        if (v != SW_GUARD_PASS)
            sw_milter.stats.suppressed++;
        pthread_mutex_unlock(&sw_milter.lock);
        if (v != SW_GUARD_PASS) {
            log_one(&r, tier, via, queue_id, sw_guard_verdict_name(v));
            continue;
        }
        sw_buf_reset(&b);
        if (!sw_evrec_encode(&r, &b)) {
            milter_stat_add(&sw_milter.stats.failures, 1);
            log_one(&r, tier, via, queue_id, "dropped(too-long)");
            continue;
        }
        if (!send_record(g->conf->routed.evidence, &b, &err)) {
            milter_stat_add(&sw_milter.stats.dropped, 1);
            (void) snprintf(why, sizeof(why), "dropped(%s: %s)",
                            err == ENOENT || err == ECONNREFUSED ? "routed-down" : "send-failed",
                            strerror(err));
            log_one(&r, tier, via, queue_id, why);
            continue;
        }
        milter_stat_add(&sw_milter.stats.records, 1);
        log_one(&r, tier, via, queue_id, "sent");
    }
    sw_buf_free(&b);
}
