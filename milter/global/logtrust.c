/* logtrust.c - the mail log source a configuration names, and whether its lines are evidence */

/*
 * Pure judgements over the configuration (no I/O but parsing the source's
 * name): spillway-routed -n, its started: line and the follower
 * (routed_maillog.c) all say the same thing about a source.  What proves a
 * source's writer is util/logsrc.h's; whether a forgeable one is accepted
 * is routed.maillog_trust's.
 */
#include "config.h"

#include <string.h>

#include "global/logtrust.h"
#include "util/logsrc.h"

/* sw_logtrust_accepts - a source's lines may be evidence under c */
bool
sw_logtrust_accepts(const struct sw_conf *c, const struct sw_logsrc *src)
{
    return !sw_logsrc_forgeable(src)
           || (c->routed.maillog_trust && strcmp(c->routed.maillog_trust, "forgeable") == 0);
}

/* sw_logtrust_describe - "source=... kind=... forgeable=... evidence=..."
 * for -n and the started: line (c: the configuration, not the follower) */
void
sw_logtrust_describe(const struct sw_conf *c, struct sw_buf *out)
{
    struct sw_logsrc src;
    struct sw_buf err;

    if (c->routed.maillog == NULL) {
        sw_buf_adds(out, "maillog=none");
        return;
    }
    sw_buf_init(&err, 256);
    if (sw_logsrc_parse(c->routed.maillog, &src, &err))
        sw_buf_printf(out, "maillog=%s kind=%s forgeable=%s evidence=%s", c->routed.maillog,
                      sw_logsrc_kind_name(src.kind), sw_logsrc_forgeable(&src) ? "yes" : "no",
                      sw_logtrust_accepts(c, &src) ? "yes" : "no");
    else
        sw_buf_printf(out, "maillog=%s error=\"%s\"", c->routed.maillog, sw_buf_str(&err));
    sw_buf_free(&err);
}

/* sw_logtrust_warning - what an administrator must fix in the source, or
 * NULL: a legacy bare path, or a forgeable source not accepted */
const char *
sw_logtrust_warning(const struct sw_conf *c)
{
    struct sw_buf err;
    struct sw_logsrc src;
    bool ok;

    if (c->routed.maillog == NULL)
        return NULL;
    sw_buf_init(&err, 256);
    ok = sw_logsrc_parse(c->routed.maillog, &src, &err);
    sw_buf_free(&err);
    if (!ok || !src.legacy)
        return NULL;
    if (sw_logtrust_accepts(c, &src))
        return "routed.maillog is a bare path, read as a syslog source that any local user can "
               "write (accepted: maillog_trust = \"forgeable\"); write \"syslog:PATH\" to say "
               "so, or use \"journal\" or \"postlog:PATH\" (Postfix's maillog_file)";
    return "routed.maillog is a bare path, read as a syslog source that any local user can "
           "write: its lines are read but are NOT evidence; use \"journal\" or "
           "\"postlog:PATH\" (Postfix's maillog_file), or write \"syslog:PATH\" with "
           "maillog_trust = \"forgeable\" to accept forged lines";
}
