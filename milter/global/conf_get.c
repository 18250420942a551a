/* conf_get.c - typed, checked reads of libconfig settings */

/*
 * The one place that turns libconfig settings into C values, so every
 * error says the same thing the same way: file, line, the full key path
 * (relays[1].priority) and what was expected.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "global/conf_get.h"
#include "util/duration.h"

/* sw_cf_error - record one error with file, line and key */
void
sw_cf_error(struct sw_cfctx *cx, const config_setting_t *s, const char *path, const char *fmt, ...)
{
    const char *file = s ? config_setting_source_file(s) : NULL;
    int line = s ? (int) config_setting_source_line(s) : 0;
    va_list ap;

    if (cx->nerrors++ >= SW_CONF_MAX_ERRORS)
        return;
    if (cx->err->len)
        sw_buf_addc(cx->err, '\n');
    sw_buf_printf(cx->err, "%s:%d: %s: ", file ? file : cx->file, line, path);
    va_start(ap, fmt);
    sw_buf_vprintf(cx->err, fmt, ap);
    va_end(ap);
}

/* keypath - "parent.key" */
static const char *
keypath(char *buf, size_t size, const char *path, const char *key)
{
    int n =
        path && *path ? snprintf(buf, size, "%s.%s", path, key) : snprintf(buf, size, "%s", key);

    if (n < 0 || (size_t) n >= size)
        return key;
    return buf;
}

/* sw_cf_check_keys - refuse unknown members of a group */
void
sw_cf_check_keys(struct sw_cfctx *cx, const config_setting_t *s, const char *path,
                 const char *const *allowed)
{
    const config_setting_t *m;
    const char *name;
    char kp[256];
    int i, j;
    bool ok;

    for (i = 0; (m = config_setting_get_elem(s, (unsigned) i)) != NULL; i++) {
        name = config_setting_name(m);
        if (name == NULL)
            continue;
        for (ok = false, j = 0; allowed[j] && !ok; j++)
            ok = strcmp(name, allowed[j]) == 0;
        if (!ok)
            sw_cf_error(cx, m, keypath(kp, sizeof(kp), path, name), "unknown key");
    }
}

/* type_name - for messages */
static const char *
type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP: return "a group { ... }";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "true or false";
    case CONFIG_TYPE_ARRAY: return "an array [ ... ]";
    case CONFIG_TYPE_LIST: return "a list ( ... )";
    default: return "something else";
    }
}

/* sw_cf_member - a member of the wanted type */
config_setting_t *
sw_cf_member(struct sw_cfctx *cx, const config_setting_t *g, const char *path, const char *key,
             int type)
{
    config_setting_t *m = config_setting_get_member(g, key);
    char kp[256];

    if (m == NULL)
        return NULL;
    if (config_setting_type(m) != type) {
        sw_cf_error(cx, m, keypath(kp, sizeof(kp), path, key), "must be %s", type_name(type));
        return NULL;
    }
    return m;
}

/* has_control - any control character? (they would forge log and error lines) */
static bool
has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* sw_cf_str - a non-empty string without control characters */
bool
sw_cf_str(struct sw_cfctx *cx, const config_setting_t *g, const char *path, const char *key,
          bool required, char **out)
{
    config_setting_t *m = config_setting_get_member(g, key);
    const char *v;
    char kp[256];

    keypath(kp, sizeof(kp), path, key);
    if (m == NULL) {
        if (required)
            sw_cf_error(cx, g, kp, "missing (required)");
        return !required;
    }
    if (config_setting_type(m) != CONFIG_TYPE_STRING) {
        sw_cf_error(cx, m, kp, "must be a string");
        return false;
    }
    v = config_setting_get_string(m);
    if (*v == '\0') {
        sw_cf_error(cx, m, kp, "must not be empty");
        return false;
    }
    if (has_control(v)) {
        sw_cf_error(cx, m, kp, "contains a control character");
        return false;
    }
    free(*out);
    if ((*out = strdup(v)) == NULL) {
        sw_cf_error(cx, m, kp, "out of memory");
        return false;
    }
    return true;
}

/* sw_cf_int - an integer within [min, max] */
bool
sw_cf_int(struct sw_cfctx *cx, const config_setting_t *g, const char *path, const char *key,
          long min, long max, long *out)
{
    config_setting_t *m = config_setting_get_member(g, key);
    char kp[256];
    long long v;

    keypath(kp, sizeof(kp), path, key);
    if (m == NULL)
        return true;
    if (config_setting_type(m) == CONFIG_TYPE_INT)
        v = config_setting_get_int(m);
    else if (config_setting_type(m) == CONFIG_TYPE_INT64)
        v = config_setting_get_int64(m);
    else {
        sw_cf_error(cx, m, kp, "must be an integer");
        return false;
    }
    if (v < min || v > max) {
        sw_cf_error(cx, m, kp, "must be between %ld and %ld", min, max);
        return false;
    }
    *out = (long) v;
    return true;
}

/* sw_cf_float - a number within [min, max] */
bool
sw_cf_float(struct sw_cfctx *cx, const config_setting_t *g, const char *path, const char *key,
            double min, double max, double *out)
{
    config_setting_t *m = config_setting_get_member(g, key);
    char kp[256];
    double v;

    keypath(kp, sizeof(kp), path, key);
    if (m == NULL)
        return true;
    switch (config_setting_type(m)) {
    case CONFIG_TYPE_FLOAT: v = config_setting_get_float(m); break;
    case CONFIG_TYPE_INT: v = config_setting_get_int(m); break;
    case CONFIG_TYPE_INT64: v = (double) config_setting_get_int64(m); break;
    default: sw_cf_error(cx, m, kp, "must be a number"); return false;
    }
    if (!(v >= min && v <= max)) {
        sw_cf_error(cx, m, kp, "must be between %g and %g", min, max);
        return false;
    }
    *out = v;
    return true;
}

/* sw_cf_bool - true or false */
bool
sw_cf_bool(struct sw_cfctx *cx, const config_setting_t *g, const char *path, const char *key,
           bool *out)
{
    config_setting_t *m = sw_cf_member(cx, g, path, key, CONFIG_TYPE_BOOL);

    if (m == NULL)
        return config_setting_get_member(g, key) == NULL;
    *out = config_setting_get_bool(m) != 0;
    return true;
}

/* sw_cf_duration - "30m", "2h", "1h30m", or an integer of seconds */
bool
sw_cf_duration(struct sw_cfctx *cx, const config_setting_t *g, const char *path, const char *key,
               long *out)
{
    config_setting_t *m = config_setting_get_member(g, key);
    char kp[256];
    long v;

    keypath(kp, sizeof(kp), path, key);
    if (m == NULL)
        return true;
    if (config_setting_type(m) == CONFIG_TYPE_INT) {
        v = config_setting_get_int(m);
        if (v <= 0 || v > SW_DURATION_MAX) {
            sw_cf_error(cx, m, kp, "must be a positive duration of at most a year");
            return false;
        }
    } else if (config_setting_type(m) != CONFIG_TYPE_STRING
               || !sw_duration_parse(config_setting_get_string(m), &v)) {
        sw_cf_error(cx, m, kp, "must be a duration such as \"30s\", \"10m\", \"2h\", \"1d\"");
        return false;
    }
    *out = v;
    return true;
}

/* strv_push - append a copy */
static bool
strv_push(struct sw_strv *sv, const char *s)
{
    char **v = realloc(sv->v, (sv->n + 2) * sizeof(*v));

    if (v == NULL)
        return false;
    sv->v = v;
    if ((v[sv->n] = strdup(s)) == NULL)
        return false;
    v[++sv->n] = NULL;
    return true;
}

/* sw_cf_strv_default - values for a vector the file left empty */
void
sw_cf_strv_default(struct sw_cfctx *cx, struct sw_strv *sv, const char *const *values, size_t n)
{
    size_t i;

    if (sv->n)
        return;
    for (i = 0; i < n; i++)
        if (!strv_push(sv, values[i])) {
            sw_cf_error(cx, NULL, "", "out of memory");
            return;
        }
}

/* sw_cf_strv - one string or an array of strings */
bool
sw_cf_strv(struct sw_cfctx *cx, const config_setting_t *g, const char *path, const char *key,
           bool required, struct sw_strv *out)
{
    config_setting_t *m = config_setting_get_member(g, key), *e;
    char kp[256];
    const char *s;
    int i, type;

    keypath(kp, sizeof(kp), path, key);
    if (m == NULL) {
        if (required)
            sw_cf_error(cx, g, kp, "missing (required)");
        return !required;
    }
    sw_strv_free(out);
    type = config_setting_type(m);
    if (type == CONFIG_TYPE_STRING) {
        if (has_control(config_setting_get_string(m))) {
            sw_cf_error(cx, m, kp, "contains a control character");
            return false;
        }
        if (!strv_push(out, config_setting_get_string(m)))
            goto nomem;
        return true;
    }
    if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
        sw_cf_error(cx, m, kp, "must be a string or an array of strings");
        return false;
    }
    for (i = 0; (e = config_setting_get_elem(m, (unsigned) i)) != NULL; i++) {
        if (config_setting_type(e) != CONFIG_TYPE_STRING
            || *(s = config_setting_get_string(e)) == '\0') {
            sw_cf_error(cx, m, kp, "element %d must be a non-empty string", i + 1);
            return false;
        }
        if (has_control(s)) {
            sw_cf_error(cx, m, kp, "element %d contains a control character", i + 1);
            return false;
        }
        if (!strv_push(out, s))
            goto nomem;
    }
    if (required && out->n == 0) {
        sw_cf_error(cx, m, kp, "must not be empty");
        return false;
    }
    return true;
nomem:
    sw_cf_error(cx, m, kp, "out of memory");
    return false;
}

/* sw_strv_free - free a vector of strings */
void
sw_strv_free(struct sw_strv *sv)
{
    size_t i;

    for (i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

/* sw_strv_has - membership */
bool
sw_strv_has(const struct sw_strv *sv, const char *s)
{
    size_t i;

    for (i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0)
            return true;
    return false;
}

/* sw_strv_has_ci - membership, ASCII case-insensitive */
bool
sw_strv_has_ci(const struct sw_strv *sv, const char *s)
{
    size_t i;

    for (i = 0; i < sv->n; i++)
        if (strcasecmp(sv->v[i], s) == 0)
            return true;
    return false;
}
