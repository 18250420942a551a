/* decision.c - one log line per decision (DESIGN.md 5.5) */
#include "config.h"

#include "global/decision.h"
#include "util/duration.h"

#define SW_LOG_VALUE_MAX 200 /* bytes of an untrusted value logged */

/* sw_decision_format - the text form, used by syslog and history:
 * event, then key=value in a fixed order, each present only when set */
bool
sw_decision_format(const struct sw_decision *d, struct sw_buf *out)
{
    char dur[32], win[32];
    bool ok;

    ok = sw_buf_printf(out, "%s: scope=", d->event)
         && sw_buf_add_escaped(out, d->scope, SW_LOG_VALUE_MAX);
    if (ok && d->pool[0])
        ok = sw_buf_printf(out, " pool=%s", d->pool);
    ok = ok && sw_buf_printf(out, " from=%s to=%s", d->from, d->to);
    if (ok && d->rule[0])
        ok = sw_buf_printf(out, " rule=%s", d->rule);
    if (ok && d->window > 0) {
        sw_duration_format(d->window, win, sizeof(win));
        ok = sw_buf_printf(out, " events=%ld/%s ratio=%.2f", d->events, win, d->ratio);
    }
    if (ok && d->hold > 0) {
        sw_duration_format(d->hold, dur, sizeof(dur));
        ok = sw_buf_printf(out, " hold=%s", dur);
    }
    if (ok && d->share > 0)
        ok = sw_buf_printf(out, " share=%.3g", d->share);
    if (ok && d->successes > 0 && d->window == 0)
        ok = sw_buf_printf(out, " successes=%ld", d->successes);
    if (ok && d->until > d->time && d->uid != SW_UID_NONE) {
        sw_duration_format((long) (d->until - d->time), dur, sizeof(dur));
        ok = sw_buf_printf(out, " for=%s", dur);
    }
    if (ok && d->uid != SW_UID_NONE)
        ok = sw_buf_printf(out, " uid=%ld", d->uid);
    if (ok && d->node[0])
        ok = sw_buf_adds(out, " node=") && sw_buf_add_escaped(out, d->node, SW_NODE_MAX);
    if (ok && d->n_log + d->n_dsn > 0) {
        ok = sw_buf_adds(out, " evidence=");
        if (ok && d->n_log)
            ok = sw_buf_printf(out, "log:%ld", d->n_log);
        if (ok && d->n_dsn)
            ok = sw_buf_printf(out, "%sdsn:%ld", d->n_log ? "," : "", d->n_dsn);
    }
    if (ok && d->first[0])
        ok = sw_buf_adds(out, " first=\"") && sw_buf_add_escaped(out, d->first, SW_LOG_VALUE_MAX)
             && sw_buf_addc(out, '"');
    if (ok && d->reason[0])
        ok = sw_buf_adds(out, " reason=\"") && sw_buf_add_escaped(out, d->reason, SW_LOG_VALUE_MAX)
             && sw_buf_addc(out, '"');
    return ok;
}

/* sw_decision_json - the machine form, used by history --json */
bool
sw_decision_json(const struct sw_decision *d, struct sw_buf *out)
{
    return sw_buf_printf(out, "{\"time\":%lld,\"event\":", (long long) d->time)
           && sw_buf_add_json(out, d->event) && sw_buf_adds(out, ",\"scope\":")
           && sw_buf_add_json(out, d->scope) && sw_buf_adds(out, ",\"from\":")
           && sw_buf_add_json(out, d->from) && sw_buf_adds(out, ",\"to\":")
           && sw_buf_add_json(out, d->to) && sw_buf_adds(out, ",\"rule\":")
           && sw_buf_add_json(out, d->rule)
           && sw_buf_printf(out, ",\"until\":%lld,\"uid\":%ld,\"reason\":", (long long) d->until,
                            d->uid)
           && sw_buf_add_json(out, d->reason) && sw_buf_adds(out, ",\"pool\":")
           && sw_buf_add_json(out, d->pool)
           && sw_buf_printf(out,
                            ",\"events\":%ld,\"window\":%ld,\"ratio\":%.3f,\"hold\":%ld,"
                            "\"successes\":%ld,\"share\":%.3g,\"evidence_log\":%ld,"
                            "\"evidence_dsn\":%ld,\"first\":",
                            d->events, d->window, d->ratio, d->hold, d->successes, d->share,
                            d->n_log, d->n_dsn)
           && sw_buf_add_json(out, d->first) && sw_buf_adds(out, ",\"node\":")
           && sw_buf_add_json(out, d->node) && sw_buf_addc(out, '}');
}
