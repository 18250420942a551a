/* conf_cluster.c - the cluster { } group: several nodes through Redis */

/*
 * DESIGN.md 5.8.  Without the group nothing changes.  With it, one Redis
 * endpoint or a list of Sentinels (with the master's name), the key file
 * the nodes sign their records with, and the deadlines.  Same rules as
 * conf.c: every error names file, line and key; defaults are filled here.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/conf_get.h"
#include "global/route.h"
#include "util/listen.h"

#define SW_DEF_CLUSTER_PREFIX    "spillway:"
#define SW_DEF_CLUSTER_TIMEOUT   1   /* s */
#define SW_DEF_CLUSTER_HEARTBEAT 5   /* s */
#define SW_DEF_CLUSTER_REASSERT  300 /* s */
#define SW_DEF_CLUSTER_PEER      30  /* s */
#define SW_DEF_CLUSTER_QUEUE     1000
#define SW_DEF_CLUSTER_STREAM    100000

static const char *const cluster_keys[] = {
    "redis",   "sentinels", "master",   "node",         "key_file", "password_file", "prefix",
    "timeout", "heartbeat", "reassert", "peer_timeout", "queue",    "stream_max",    NULL
};

/* endpoint_ok - "inet:IP:PORT" or "unix:/path" */
static void
endpoint_ok(struct sw_cfctx *cx, const config_setting_t *g, const char *key, const char *spec)
{
    struct sw_endpoint ep;
    struct sw_buf e;

    sw_buf_init(&e, 256);
    if (!sw_endpoint_parse(spec, &ep, &e))
        sw_cf_error(cx, config_setting_get_member(g, key), "cluster", "%s \"%s\": %s", key, spec,
                    e.len ? sw_buf_str(&e) : "bad endpoint");
    sw_buf_free(&e);
}

/* sw_node_name_valid - [A-Za-z0-9._-]{1,SW_NODE_MAX} */
bool
sw_node_name_valid(const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return false;
    for (; *s; s++, n++)
        if (!isalnum((unsigned char) *s) && *s != '.' && *s != '_' && *s != '-')
            return false;
    return n > 0 && n <= SW_NODE_MAX;
}

/* default_node - the host name up to its first dot, if it is a valid name */
static char *
default_node(void)
{
    char host[256];
    char *dot;

    if (gethostname(host, sizeof(host)) != 0)
        return NULL;
    host[sizeof(host) - 1] = '\0';
    if ((dot = strchr(host, '.')) != NULL)
        *dot = '\0';
    return sw_node_name_valid(host) ? strdup(host) : NULL;
}

/* prefix_ok - printable, no spaces: it is part of every key */
static bool
prefix_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if ((unsigned char) *s <= ' ' || (unsigned char) *s >= 0x7f)
            return false;
    return true;
}

/* sw_conf_parse_cluster - the cluster { } group */
void
sw_conf_parse_cluster(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c)
{
    config_setting_t *g = sw_cf_member(cx, root, "", "cluster", CONFIG_TYPE_GROUP);
    struct sw_cluster_conf *k = &c->cluster;
    size_t i;

    k->timeout = SW_DEF_CLUSTER_TIMEOUT;
    k->heartbeat = SW_DEF_CLUSTER_HEARTBEAT;
    k->reassert = SW_DEF_CLUSTER_REASSERT;
    k->peer_timeout = SW_DEF_CLUSTER_PEER;
    k->queue = SW_DEF_CLUSTER_QUEUE;
    k->stream_max = SW_DEF_CLUSTER_STREAM;
    if (g == NULL)
        return;
    k->enabled = true;
    sw_cf_check_keys(cx, g, "cluster", cluster_keys);
    if (sw_cf_str(cx, g, "cluster", "redis", false, &k->redis) && k->redis)
        endpoint_ok(cx, g, "redis", k->redis);
    sw_cf_strv(cx, g, "cluster", "sentinels", false, &k->sentinels);
    for (i = 0; i < k->sentinels.n; i++)
        endpoint_ok(cx, g, "sentinels", k->sentinels.v[i]);
    (void) sw_cf_str(cx, g, "cluster", "master", false, &k->master);
    if (k->redis && k->sentinels.n)
        sw_cf_error(cx, g, "cluster", "redis and sentinels: name one or the other");
    else if (k->redis == NULL && k->sentinels.n == 0)
        sw_cf_error(cx, g, "cluster", "neither redis nor sentinels: where is Redis?");
    if (k->sentinels.n && k->master == NULL)
        sw_cf_error(cx, g, "cluster", "sentinels need master (the name Sentinel knows it by)");
    if (sw_cf_str(cx, g, "cluster", "node", false, &k->node) && k->node
        && !sw_node_name_valid(k->node))
        sw_cf_error(cx, config_setting_get_member(g, "node"), "cluster.node",
                    "\"%s\": 1 to %d of A-Z a-z 0-9 . _ -", k->node, SW_NODE_MAX);
    if (k->node == NULL && (k->node = default_node()) == NULL)
        sw_cf_error(cx, g, "cluster", "the host name is not a node name: set node");
    if (sw_cf_str(cx, g, "cluster", "key_file", true, &k->key_file) && k->key_file
        && k->key_file[0] != '/')
        sw_cf_error(cx, config_setting_get_member(g, "key_file"), "cluster.key_file",
                    "\"%s\": an absolute path, please", k->key_file);
    if (sw_cf_str(cx, g, "cluster", "password_file", false, &k->password_file) && k->password_file
        && k->password_file[0] != '/')
        sw_cf_error(cx, config_setting_get_member(g, "password_file"), "cluster.password_file",
                    "\"%s\": an absolute path, please", k->password_file);
    if (sw_cf_str(cx, g, "cluster", "prefix", false, &k->prefix) && k->prefix
        && !prefix_ok(k->prefix))
        sw_cf_error(cx, config_setting_get_member(g, "prefix"), "cluster.prefix",
                    "\"%s\": 1 to 64 printable characters, no spaces", k->prefix);
    if (k->prefix == NULL && (k->prefix = strdup(SW_DEF_CLUSTER_PREFIX)) == NULL)
        sw_cf_error(cx, g, "cluster", "out of memory");
    (void) sw_cf_duration(cx, g, "cluster", "timeout", &k->timeout);
    (void) sw_cf_duration(cx, g, "cluster", "heartbeat", &k->heartbeat);
    (void) sw_cf_duration(cx, g, "cluster", "reassert", &k->reassert);
    (void) sw_cf_duration(cx, g, "cluster", "peer_timeout", &k->peer_timeout);
    (void) sw_cf_int(cx, g, "cluster", "queue", 10, 100000, &k->queue);
    (void) sw_cf_int(cx, g, "cluster", "stream_max", 1000, 10000000, &k->stream_max);
    if (k->timeout < 1 || k->timeout > 60)
        sw_cf_error(cx, g, "cluster", "timeout (%lds): between 1s and 60s", k->timeout);
    if (k->heartbeat < 1)
        sw_cf_error(cx, g, "cluster", "heartbeat: at least 1s");
    if (k->peer_timeout < 2 * k->heartbeat)
        sw_cf_error(cx, g, "cluster", "peer_timeout (%lds) must be at least twice heartbeat (%lds)",
                    k->peer_timeout, k->heartbeat);
    if (k->reassert < 10)
        sw_cf_error(cx, g, "cluster", "reassert: at least 10s");
}

/* sw_conf_free_cluster - what the group allocated */
void
sw_conf_free_cluster(struct sw_conf *c)
{
    struct sw_cluster_conf *k = &c->cluster;

    free(k->redis);
    sw_strv_free(&k->sentinels);
    free(k->master);
    free(k->node);
    free(k->key_file);
    free(k->password_file);
    free(k->prefix);
}
