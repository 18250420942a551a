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

/*
 * Reading a decoded value into a bounded field: the record formats read
 * from other processes (evrec.h, clusterrec.h) check every field alike.
 */
/* A decimal in [min, max]: digits only, a leading '-' only when min < 0. */
bool sw_kv_number(const char *s, long long min, long long max, long long *out);
/* Copy a value that fits and has no control bytes; false otherwise. */
bool sw_kv_copy(char *dst, size_t size, const char *src);
/* Free text (a provider's reply): cut to fit, control bytes become
 * spaces, so a log line built from it stays one line. */
void sw_kv_copy_text(char *dst, size_t size, const char *src);
/* Copy a numeric IPv4 or IPv6 address; false for anything else. */
bool sw_kv_copy_ip(char *dst, size_t size, const char *src);

#endif
