/* routed_reply.c - pieces of the control replies that several verbs write */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "util/duration.h"
#include "routed.h"

/* routed_stamp - ISO 8601 UTC */
const char *
routed_stamp(time_t t, char *buf, size_t size)
{
    struct tm tm;

    if (t == 0 || gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        (void) snprintf(buf, size, "-");
    return buf;
}

/* routed_reply_error - replace the reply with one error line */
void
routed_reply_error(struct sw_buf *out, const char *msg)
{
    sw_buf_reset(out);
    sw_buf_printf(out, "error: %s\n", msg);
}

/* routed_scope_text - one scope, for status and explain */
void
routed_scope_text(const struct sw_scope *s, time_t now, struct sw_buf *out)
{
    char t1[32], dur[32];

    sw_buf_printf(out, "  %-40s %-8s -> %-12s since %s", s->key, sw_state_name(s->state), s->relay,
                  routed_stamp(s->since, t1, sizeof(t1)));
    if (s->until) {
        sw_duration_format((long) (s->until - now), dur, sizeof(dur));
        sw_buf_printf(out, " for %s", s->until > now ? dur : "0s");
    }
    if (s->uid != SW_UID_NONE)
        sw_buf_printf(out, " uid=%ld", s->uid);
    if (s->rule)
        sw_buf_printf(out, " rule=%s", s->rule);
    if (s->node[0]) /* a cluster's: the node that decided */
        sw_buf_printf(out, " node=%s", s->node);
    if (s->reason && *s->reason) {
        sw_buf_adds(out, " reason=\"");
        sw_buf_add_escaped(out, s->reason, SW_REASON_MAX);
        sw_buf_addc(out, '"');
    }
    sw_buf_addc(out, '\n');
}

/* routed_scope_json - one scope as a JSON object */
void
routed_scope_json(const struct sw_scope *s, struct sw_buf *out)
{
    sw_buf_adds(out, "{\"scope\":");
    sw_buf_add_json(out, s->key);
    sw_buf_printf(out, ",\"state\":\"%s\",\"relay\":", sw_state_name(s->state));
    sw_buf_add_json(out, s->relay);
    sw_buf_printf(out, ",\"since\":%lld,\"until\":%lld,\"uid\":%ld,\"rule\":", (long long) s->since,
                  (long long) s->until, s->uid);
    sw_buf_add_json(out, s->rule ? s->rule : "");
    sw_buf_adds(out, ",\"reason\":");
    sw_buf_add_json(out, s->reason ? s->reason : "");
    sw_buf_adds(out, ",\"node\":");
    sw_buf_add_json(out, s->node);
    sw_buf_printf(out, ",\"at\":%lld}", s->at);
}
