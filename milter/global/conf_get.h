/* conf_get.h - typed, checked reads of libconfig settings (internal to conf.c) */
#ifndef SW_CONF_GET_H
#define SW_CONF_GET_H

#include <libconfig.h>
#include <stdbool.h>

#include "util/buf.h"
#include "global/conf.h"

/* Errors are collected, one per line, each "file:line: key: problem". */
#define SW_CONF_MAX_ERRORS 20

struct sw_cfctx {
    const char *file; /* name used in messages */
    struct sw_buf *err;
    int nerrors;
};

void sw_cf_error(struct sw_cfctx *cx, const config_setting_t *s, const char *path, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));
/* Every member of group s must be in the NULL-terminated list allowed. */
void sw_cf_check_keys(struct sw_cfctx *cx, const config_setting_t *s, const char *path,
                      const char *const *allowed);
/* Each getter leaves *out alone when the key is absent and not required;
 * returns false after recording an error. */
bool sw_cf_str(struct sw_cfctx *cx, const config_setting_t *g, const char *path, const char *key,
               bool required, char **out);
bool sw_cf_int(struct sw_cfctx *cx, const config_setting_t *g, const char *path, const char *key,
               long min, long max, long *out);
bool sw_cf_float(struct sw_cfctx *cx, const config_setting_t *g, const char *path, const char *key,
                 double min, double max, double *out);
bool sw_cf_bool(struct sw_cfctx *cx, const config_setting_t *g, const char *path, const char *key,
                bool *out);
bool sw_cf_duration(struct sw_cfctx *cx, const config_setting_t *g, const char *path,
                    const char *key, long *out);
/* A string, or an array/list of strings. */
bool sw_cf_strv(struct sw_cfctx *cx, const config_setting_t *g, const char *path, const char *key,
                bool required, struct sw_strv *out);
/* The n values for a vector the file left empty (nothing if it has some). */
void sw_cf_strv_default(struct sw_cfctx *cx, struct sw_strv *sv, const char *const *values,
                        size_t n);
/* Group member of a given libconfig type, or NULL (with an error if the
 * member exists with another type). */
config_setting_t *sw_cf_member(struct sw_cfctx *cx, const config_setting_t *g, const char *path,
                               const char *key, int type);

/* conf_health.c: probe { }, dns { }, dnsbl { } */
void sw_conf_parse_probe(struct sw_cfctx *cx, config_setting_t *relay, const char *path,
                         struct sw_relay *r);
void sw_conf_parse_dns(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c);
void sw_conf_parse_dnsbl(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c);
void sw_conf_free_health(struct sw_conf *c);

/* conf_cluster.c: cluster { } */
void sw_conf_parse_cluster(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c);
void sw_conf_free_cluster(struct sw_conf *c);

/* conf_rpath.c: milter.return_path { } */
void sw_conf_parse_rpath(struct sw_cfctx *cx, const config_setting_t *milter, struct sw_conf *c);
void sw_conf_free_rpath(struct sw_conf *c);

#endif
