/* decision.c - one log line per decision (DESIGN.md 5.5) */
#include "config.h"

#include "decision.h"
#include "duration.h"

#define SW_LOG_VALUE_MAX 200 /* bytes of an untrusted value logged */

/* sw_decision_format - the text form, used by syslog and history */
bool
sw_decision_format(const struct sw_decision *d, struct sw_buf *out)
{
    char dur[32];
    bool ok;

    ok = sw_buf_printf(out, "%s: scope=", d->event)
         && sw_buf_add_escaped(out, d->scope, SW_LOG_VALUE_MAX)
         && sw_buf_printf(out, " from=%s to=%s", d->from, d->to);
    if (ok && d->rule[0])
        ok = sw_buf_printf(out, " rule=%s", d->rule);
    if (ok && d->until > d->time) {
        sw_duration_format((long) (d->until - d->time), dur, sizeof(dur));
        ok = sw_buf_printf(out, " for=%s", dur);
    }
    if (ok && d->uid != SW_UID_NONE)
        ok = sw_buf_printf(out, " uid=%ld", d->uid);
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
           && sw_buf_add_json(out, d->reason) && sw_buf_addc(out, '}');
}
