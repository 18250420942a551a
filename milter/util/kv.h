/* kv.h - tab-separated key=value records (control requests, state file) */
#ifndef SW_KV_H
#define SW_KV_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

#define SW_KV_MAX_FIELDS 32
#define SW_KV_MAX_LINE   8192

/*
 * One record per line: "key=value<TAB>key=value".  Values escape
 * backslash, tab, newline and other control bytes ("\\", "\t", "\n",
 * "\xHH"), so any text (an operator's reason, a provider's reply) fits on
 * one line.  Keys are [a-z0-9_]+.  A decoded record points into its own
 * storage; nothing is allocated.
 */
struct sw_kv {
    size_t n;
    const char *key[SW_KV_MAX_FIELDS];
    const char *val[SW_KV_MAX_FIELDS];
    char store[SW_KV_MAX_LINE + 1];
};

/* Parse one line (without its newline).  On failure false with a reason. */
bool sw_kv_parse(struct sw_kv *kv, const char *line, size_t len, const char **why);
/* Value of a key, or NULL. */
const char *sw_kv_get(const struct sw_kv *kv, const char *key);
/* Append a field (a tab first unless at the start of a line). */
bool sw_kv_add(struct sw_buf *b, const char *key, const char *value);
bool sw_kv_addl(struct sw_buf *b, const char *key, long value);

#endif
