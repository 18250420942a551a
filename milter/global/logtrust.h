/* logtrust.h - the mail log source a configuration names, and whether its lines are evidence */
#ifndef SW_LOGTRUST_H
#define SW_LOGTRUST_H

#include <stdbool.h>

#include "global/conf.h"
#include "util/buf.h"
#include "util/logsrc.h"

/* A source's lines may be evidence under c: its writer is proven, or the
 * administrator accepts a forgeable one (maillog_trust = "forgeable"). */
bool sw_logtrust_accepts(const struct sw_conf *c, const struct sw_logsrc *src);

/* "maillog=SRC kind=K forgeable=yes|no evidence=yes|no" (or maillog=none,
 * or the parse error) for -n and the started: line. */
void sw_logtrust_describe(const struct sw_conf *c, struct sw_buf *out);

/* What an administrator must fix in the source (a legacy bare path), or
 * NULL. */
const char *sw_logtrust_warning(const struct sw_conf *c);

#endif
