/* conf.c - spillway.conf: loading and validation (libconfig) */

/*
 * Builds one immutable struct sw_conf from a file (DESIGN.md 5.6).  Every
 * section is checked for unknown keys, types, ranges and references
 * (a pool naming a relay that does not exist); all errors are collected so
 * an administrator fixes a file in one pass.  Nothing here opens sockets
 * or touches the system: the caller applies the result.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "global/classify.h"
#include "util/logsrc.h"
#include "global/conf.h"
#include "global/conf_get.h"
#include "global/engine.h"
#include "global/guard.h"
#include "util/listen.h"
#include "util/log.h"

#define SW_NAME_MAX       64 /* relay, pool and rule names */

/* Defaults (DESIGN.md 5.6). */
/* The MTA the build is for (configure --with-mta) chooses where the
 * sockets and the rendered tables are by default. */
#if SW_MTA_SENDMAIL
#define SW_DEF_SOCKETMAP  "unix:/run/spillway/socketmap"
#define SW_DEF_RENDER_DIR "/var/lib/spillway/sendmail"
#define SW_DEF_MILTER     "unix:/run/spillway-milter/milter.sock"
#else
#define SW_DEF_SOCKETMAP  "unix:/var/spool/postfix/spillway/socketmap"
#define SW_DEF_RENDER_DIR "/var/lib/spillway/postfix"
#define SW_DEF_MILTER     "unix:/var/spool/postfix/spillway-milter/milter.sock"
#endif
#define SW_DEF_MAKEMAP    "/usr/sbin/makemap"
#define SW_DEF_CONTROL    "/run/spillway/control.sock"
#define SW_DEF_EVIDENCE   "/run/spillway/evidence.sock"
#define SW_DEF_STATE      "/var/lib/spillway/state"
#define SW_DEF_PATTERNS   SW_SYSCONFDIR "/spillway/patterns.conf"
#define SW_DEF_TAG_AGE    (7L * 86400L) /* past Postfix's 5-day maximal_queue_lifetime */
#define SW_DEF_RATE       30            /* evidence records per minute per client */
#define SW_DEF_METRICS_SCOPES 1000      /* per-scope series in the metrics */
#define SW_DEF_CLIENTS_PER_USER 256     /* connections per user on each socketmap listener */
/* An hour without a single mail log line: the MTA logs every connection,
 * queue run and delivery, so even a quiet relay host writes something in
 * an hour, while a night without mail on a small host stays below a
 * warning if it is set longer (spillway.conf(5)). */
#define SW_DEF_MAILLOG_SILENCE 3600

static const char *const top_keys[] = { "milter",    "routed", "pools",    "relays",   "rules",
                                        "residency", "dnsbl",  "classify", "patterns", "dns",
                                        "log_facility", "cluster", NULL };
static const char *const classify_keys[] = { "patterns", NULL };
static const char *const routed_keys[] = {
    "socketmap",      "control",        "evidence", "state", "render_dir",
    "render_format",  "postfix_config", "maillog",  "flush", "control_users",
    "control_groups", "history",        "metrics", "metrics_scopes", "clients_per_user",
    "maillog_trust",  "maillog_users",  "mta",     "mailertable_format", "makemap",
    "sendmail_cf",    "flush_etrn",     "maillog_silence",
    NULL
};
static const char *const milter_keys[] = { "socket", "tag_keys", "tag_max_age", "rate", "user",
                                           "group",  "tag_cap",  "outbound",    "return_path",
                                           NULL };
static const char *const outbound_keys[] = { "networks", "authenticated", NULL };
static const char *const relay_keys[] = { "name",         "nexthop",  "transport", "mailer",
                                          "role",         "priority", "weight",    "max_per_hour",
                                          "jurisdiction", "enabled",  "probe",     NULL };
static const char *const pool_keys[] = {
    "name", "relays", "egress", "hosts", "destinations", NULL
};
static const char *const rule_keys[] = { "name", "classes",  "scope",   "threshold",
                                         "hold", "hold_max", "recover", NULL };
static const char *const threshold_keys[] = { "events", "window", "ratio", NULL };
static const char *const recover_keys[] = { "share", "successes", NULL };
static const char *const residency_keys[] = { "destinations", "allow", NULL };

/* valid_name - relay/pool/rule names: [A-Za-z0-9._-], bounded */
static bool
valid_name(const char *s)
{
    size_t n = 0;

    for (; *s; s++, n++)
        if (!isalnum((unsigned char) *s) && *s != '.' && *s != '_' && *s != '-')
            return false;
    return n > 0 && n <= SW_NAME_MAX;
}

/* valid_host - a DNS name or a bracketed address literal's content */
static bool
valid_host(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > 253)
        return false;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char) s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_'
            && s[i] != ':')
            return false;
    return true;
}

/* valid_nexthop - Postfix nexthop: [host]:port, [host], host:port, host */
static bool
valid_nexthop(const char *s)
{
    const char *end, *port = NULL;
    char *pend;
    long p;

    if (*s == '[') {
        if ((end = strchr(s, ']')) == NULL || !valid_host(s + 1, (size_t) (end - s - 1)))
            return false;
        if (end[1] == ':')
            port = end + 2;
        else if (end[1] != '\0')
            return false;
    } else {
        end = strchr(s, ':');
        if (!valid_host(s, end ? (size_t) (end - s) : strlen(s)))
            return false;
        if (end)
            port = end + 1;
    }
    if (port) {
        errno = 0;
        p = strtol(port, &pend, 10);
        if (errno || *pend || pend == port || p < 1 || p > 65535)
            return false;
    }
    return true;
}

/* valid_cidr - "192.0.2.0/24", "2001:db8::/32", or a bare address */
static bool
valid_cidr(const char *s)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t) (slash - s) : strlen(s);
    unsigned char bin[16];
    long bits, max;
    char *end;

    if (n == 0 || n >= sizeof(addr))
        return false;
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET, addr, bin) == 1)
        max = 32;
    else if (inet_pton(AF_INET6, addr, bin) == 1)
        max = 128;
    else
        return false;
    if (slash == NULL)
        return true;
    errno = 0;
    bits = strtol(slash + 1, &end, 10);
    return !errno && *end == '\0' && end != slash + 1 && bits >= 0 && bits <= max;
}

/* valid_domain_pattern - "*", "*.example.com", ".example.com", "example.com" */
static bool
valid_domain_pattern(const char *s)
{
    if (strcmp(s, "*") == 0)
        return true;
    if (s[0] == '*' && s[1] == '.')
        s += 2;
    else if (s[0] == '.')
        s += 1;
    return valid_host(s, strlen(s)) && strchr(s, ':') == NULL && strchr(s, '*') == NULL;
}

/* sw_domain_match - pattern against a lower-case domain */
bool
sw_domain_match(const char *pattern, const char *domain)
{
    size_t pl, dl;

    if (strcmp(pattern, "*") == 0)
        return true;
    if (pattern[0] == '*' && pattern[1] == '.')
        pattern += 1; /* "*.x" is ".x": strict subdomains */
    if (pattern[0] != '.')
        return strcasecmp(pattern, domain) == 0;
    pl = strlen(pattern);
    dl = strlen(domain);
    return dl > pl && strcasecmp(domain + dl - pl, pattern) == 0;
}

/* check_id - a control_users or control_groups entry: a user or group
 * name that exists, or a decimal id in range.  An empty entry or a
 * number that overflows would otherwise become 0, root. */
static void
check_id(struct sw_cfctx *cx, const config_setting_t *where, const char *key, const char *v,
         bool group)
{
    unsigned long id;
    char *end;

    if (*v == '\0') {
        sw_cf_error(cx, where, key, "an empty entry is not a %s", group ? "group" : "user");
        return;
    }
    if (*v >= '0' && *v <= '9') {
        errno = 0;
        id = strtoul(v, &end, 10);
        if (*end == '\0') {
            if (errno || id >= 0xffffffffUL)
                sw_cf_error(cx, where, key, "%s id out of range: %.32s", group ? "group" : "user",
                            v);
            return;
        }
    }
    if (group ? getgrnam(v) == NULL : getpwnam(v) == NULL)
        sw_cf_error(cx, where, key, "no such %s: %.64s", group ? "group" : "user", v);
}

/* one_of - v is one of the words of list (NULL-terminated) */
static bool
one_of(const char *v, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(v, *list) == 0)
            return true;
    return false;
}

/* check_endpoint - routed.KEY names an endpoint (util/listen.h) */
static bool
check_endpoint(struct sw_cfctx *cx, const config_setting_t *g, const char *key, const char *spec)
{
    struct sw_endpoint ep;
    struct sw_buf e, path;
    bool ok;

    sw_buf_init(&e, 1024);
    sw_buf_init(&path, 128);
    if (!(ok = sw_endpoint_parse(spec, &ep, &e)) && sw_buf_printf(&path, "routed.%s", key))
        sw_cf_error(cx, config_setting_get_member(g, key), sw_buf_str(&path), "%s",
                    e.len ? sw_buf_str(&e) : "bad endpoint");
    sw_buf_free(&e);
    sw_buf_free(&path);
    return ok;
}

/* check_tables - routed.mta ("postfix", "sendmail" or "both") and the
 * tables rendered for it */
static void
check_tables(struct sw_cfctx *cx, const config_setting_t *g, struct sw_routed_conf *r)
{
    static const char *const postfix_formats[] = { "lmdb", "cdb", "none", NULL };
    static const char *const sendmail_formats[] = { "hash", "btree", "none", NULL };
    char *mta = NULL;

    if (g)
        sw_cf_str(cx, g, "routed", "mta", false, &mta);
    if (mta && strcmp(mta, "postfix") == 0)
        r->mta = SW_WIRED_POSTFIX;
    else if (mta && strcmp(mta, "sendmail") == 0)
        r->mta = SW_WIRED_SENDMAIL;
    else if (mta && strcmp(mta, "both") == 0)
        r->mta = SW_WIRED_POSTFIX | SW_WIRED_SENDMAIL;
    else if (mta)
        sw_cf_error(cx, config_setting_get_member(g, "mta"), "routed.mta",
                    "must be \"postfix\", \"sendmail\" or \"both\"");
    free(mta);
    if (r->render_format && !one_of(r->render_format, postfix_formats))
        sw_cf_error(cx, config_setting_get_member(g, "render_format"), "routed.render_format",
                    "must be \"lmdb\", \"cdb\" or \"none\"");
    if (r->mailertable_format && !one_of(r->mailertable_format, sendmail_formats))
        sw_cf_error(cx, config_setting_get_member(g, "mailertable_format"),
                    "routed.mailertable_format",
                    "must be \"hash\" or \"btree\" (the map types of Debian's makemap) or "
                    "\"none\"");
    if (r->makemap && r->makemap[0] != '/')
        sw_cf_error(cx, config_setting_get_member(g, "makemap"), "routed.makemap",
                    "must be an absolute path");
}

/* check_maillog - routed.maillog names a source whose writer is proven,
 * or the administrator accepts a forgeable one (util/logsrc.h) */
static void
check_maillog(struct sw_cfctx *cx, const config_setting_t *g, const struct sw_routed_conf *r)
{
    struct sw_logsrc src;
    struct sw_buf e;
    size_t i;

    if (r->maillog_trust && strcmp(r->maillog_trust, "proven") != 0
        && strcmp(r->maillog_trust, "forgeable") != 0)
        sw_cf_error(cx, config_setting_get_member(g, "maillog_trust"), "routed.maillog_trust",
                    "must be \"proven\" or \"forgeable\"");
    for (i = 0; i < r->maillog_users.n; i++)
        check_id(cx, config_setting_get_member(g, "maillog_users"), "routed.maillog_users",
                 r->maillog_users.v[i], false);
    if (r->maillog == NULL)
        return;
    sw_buf_init(&e, 1024);
    if (!sw_logsrc_parse(r->maillog, &src, &e))
        sw_cf_error(cx, config_setting_get_member(g, "maillog"), "routed.maillog", "%s",
                    sw_buf_str(&e));
    else if (sw_logsrc_forgeable(&src) && !src.legacy
             && !(r->maillog_trust && strcmp(r->maillog_trust, "forgeable") == 0))
        sw_cf_error(cx, config_setting_get_member(g, "maillog"), "routed.maillog",
                    "%s: any local user can write a syslog source (logger -t postfix/smtp) and "
                    "so move mail; use \"journal\" or \"postlog:FILE\" (Postfix's "
                    "maillog_file), or accept the risk with maillog_trust = \"forgeable\"",
                    r->maillog);
    sw_buf_free(&e);
}

/* parse_routed - the routed { } group */
static void
parse_routed(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c)
{
    struct sw_routed_conf *r = &c->routed;
    config_setting_t *g = sw_cf_member(cx, root, "", "routed", CONFIG_TYPE_GROUP);
    size_t i;

    r->metrics_scopes = SW_DEF_METRICS_SCOPES; /* sw_cf_int keeps it when absent */
    r->clients_per_user = SW_DEF_CLIENTS_PER_USER;
    r->maillog_silence = SW_DEF_MAILLOG_SILENCE;
    if (g) {
        sw_cf_check_keys(cx, g, "routed", routed_keys);
        sw_cf_strv(cx, g, "routed", "socketmap", false, &r->socketmap);
        sw_cf_str(cx, g, "routed", "control", false, &r->control);
        sw_cf_str(cx, g, "routed", "evidence", false, &r->evidence);
        sw_cf_str(cx, g, "routed", "state", false, &r->state);
        sw_cf_str(cx, g, "routed", "render_dir", false, &r->render_dir);
        sw_cf_str(cx, g, "routed", "render_format", false, &r->render_format);
        sw_cf_str(cx, g, "routed", "mailertable_format", false, &r->mailertable_format);
        sw_cf_str(cx, g, "routed", "makemap", false, &r->makemap);
        sw_cf_str(cx, g, "routed", "sendmail_cf", false, &r->sendmail_cf);
        sw_cf_str(cx, g, "routed", "postfix_config", false, &r->postfix_config);
        sw_cf_str(cx, g, "routed", "maillog", false, &r->maillog);
        sw_cf_str(cx, g, "routed", "maillog_trust", false, &r->maillog_trust);
        sw_cf_strv(cx, g, "routed", "maillog_users", false, &r->maillog_users);
        (void) sw_cf_duration(cx, g, "routed", "maillog_silence", &r->maillog_silence);
        sw_cf_strv(cx, g, "routed", "flush", false, &r->flush);
        sw_cf_str(cx, g, "routed", "flush_etrn", false, &r->flush_etrn);
        sw_cf_strv(cx, g, "routed", "control_users", false, &r->control_users);
        sw_cf_strv(cx, g, "routed", "control_groups", false, &r->control_groups);
        sw_cf_int(cx, g, "routed", "history", 10, 1000000, &r->history);
        sw_cf_str(cx, g, "routed", "metrics", false, &r->metrics);
        sw_cf_int(cx, g, "routed", "metrics_scopes", 0, 1000000, &r->metrics_scopes);
        sw_cf_int(cx, g, "routed", "clients_per_user", 1, 100000, &r->clients_per_user);
    }
    if (r->metrics)
        (void) check_endpoint(cx, g, "metrics", r->metrics);
    if (r->flush_etrn && check_endpoint(cx, g, "flush_etrn", r->flush_etrn) && r->flush.n > 0)
        sw_cf_error(cx, config_setting_get_member(g, "flush_etrn"), "routed.flush_etrn",
                    "routed.flush is set too: choose one way to start a queue run");
    for (i = 0; i < r->socketmap.n; i++)
        (void) check_endpoint(cx, g, "socketmap", r->socketmap.v[i]);
    check_tables(cx, g, r);
    check_maillog(cx, g, r);
    for (i = 0; i < r->control_users.n; i++)
        check_id(cx, config_setting_get_member(g, "control_users"), "routed.control_users",
                 r->control_users.v[i], false);
    for (i = 0; i < r->control_groups.n; i++)
        check_id(cx, config_setting_get_member(g, "control_groups"), "routed.control_groups",
                 r->control_groups.v[i], true);
}

/* parse_log_facility - log_facility: one for all programs (top level, so
 * that the milter, spillway-routed and spillwayctl log where one rule of
 * the syslog daemon finds them); mail when absent */
static void
parse_log_facility(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c)
{
    char *name = NULL;

    c->log_facility = LOG_MAIL;
    if (!sw_cf_str(cx, root, "", "log_facility", false, &name) || name == NULL)
        return;
    if (!sw_log_facility_parse(name, &c->log_facility))
        sw_cf_error(cx, config_setting_get_member(root, "log_facility"), "log_facility",
                    "\"%s\" is no facility: mail, daemon, user or local0 to local7", name);
    free(name);
}

/* set_default - strdup a default when a key was absent */
static void
set_default(struct sw_cfctx *cx, char **field, const char *value)
{
    if (*field == NULL && (*field = strdup(value)) == NULL)
        sw_cf_error(cx, NULL, "", "out of memory");
}

/* apply_defaults - fill what the file left out */
static void
apply_defaults(struct sw_cfctx *cx, struct sw_conf *c)
{
    struct sw_routed_conf *r = &c->routed;

    sw_cf_strv_default(cx, &r->socketmap, (const char *const[]){ SW_DEF_SOCKETMAP }, 1);
    set_default(cx, &r->control, SW_DEF_CONTROL);
    set_default(cx, &r->evidence, SW_DEF_EVIDENCE);
    set_default(cx, &r->state, SW_DEF_STATE);
    set_default(cx, &r->render_dir, SW_DEF_RENDER_DIR);
    set_default(cx, &r->render_format, "lmdb");
    set_default(cx, &r->mailertable_format, "hash");
    set_default(cx, &r->makemap, SW_DEF_MAKEMAP);
    if (r->mta == 0)
        r->mta = SW_MTA_SENDMAIL ? SW_WIRED_SENDMAIL : SW_WIRED_POSTFIX; /* configure --with-mta */
    set_default(cx, &c->milter.socket, SW_DEF_MILTER);
    if (c->milter.tag_max_age == 0)
        c->milter.tag_max_age = SW_DEF_TAG_AGE;
    if (c->milter.rate == 0)
        c->milter.rate = SW_DEF_RATE;
    if (c->milter.tag_cap == 0)
        c->milter.tag_cap = SW_GUARD_CAP_DEFAULT;
    if (r->control_groups.n == 0)
        sw_cf_strv_default(cx, &r->control_users, (const char *const[]){ "root" }, 1);
    if (r->history == 0)
        r->history = 1000;
}

/* valid_milter_socket - libmilter's forms; "inet:127.0.0.1:25" would be
 * read as port 127 on every interface, so the port must come before '@' */
static bool
valid_milter_socket(const char *s)
{
    const char *p, *at;

    if (strncmp(s, "unix:/", 6) == 0 || strncmp(s, "local:/", 7) == 0)
        return true;
    if (strncmp(s, "inet:", 5) == 0)
        p = s + 5;
    else if (strncmp(s, "inet6:", 6) == 0)
        p = s + 6;
    else
        return false;
    if ((at = strchr(p, '@')) == NULL || at == p || at[1] == '\0')
        return false;
    for (; p < at; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* parse_outbound - milter.outbound { }: which mail leaves through us and
 * is tagged.  Absent: loopback clients and authenticated senders. */
static void
parse_outbound(struct sw_cfctx *cx, const config_setting_t *g, struct sw_conf *c)
{
    config_setting_t *o = g ? sw_cf_member(cx, g, "milter", "outbound", CONFIG_TYPE_GROUP) : NULL;
    static const char *const loopback[] = { "127.0.0.0/8", "::1" };
    struct sw_strv *nets = &c->milter.out_networks;
    size_t i;

    c->milter.out_auth = true;
    if (o != NULL) {
        sw_cf_check_keys(cx, o, "milter.outbound", outbound_keys);
        sw_cf_bool(cx, o, "milter.outbound", "authenticated", &c->milter.out_auth);
        sw_cf_strv(cx, o, "milter.outbound", "networks", false, nets);
        for (i = 0; i < nets->n; i++)
            if (!valid_cidr(nets->v[i]))
                sw_cf_error(cx, config_setting_get_member(o, "networks"),
                            "milter.outbound.networks", "\"%s\" is not an address or CIDR",
                            nets->v[i]);
        if (config_setting_get_member(o, "networks") != NULL)
            return; /* [] is allowed: authenticated senders only */
    }
    sw_cf_strv_default(cx, nets, loopback, sizeof(loopback) / sizeof(loopback[0]));
}

/* parse_milter - the milter { } group (used by spillway-milter) */
static void
parse_milter(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c)
{
    config_setting_t *g = sw_cf_member(cx, root, "", "milter", CONFIG_TYPE_GROUP);

    parse_outbound(cx, g, c);
    if (g == NULL) {
        sw_conf_parse_rpath(cx, NULL, c);
        return;
    }
    c->milter.present = true;
    sw_cf_check_keys(cx, g, "milter", milter_keys);
    if (sw_cf_str(cx, g, "milter", "socket", false, &c->milter.socket) && c->milter.socket
        && !valid_milter_socket(c->milter.socket))
        sw_cf_error(cx, config_setting_get_member(g, "socket"), "milter.socket",
                    "\"%s\" is not unix:/path, inet:PORT@HOST or inet6:PORT@HOST",
                    c->milter.socket);
    sw_cf_str(cx, g, "milter", "tag_keys", false, &c->milter.tag_keys);
    sw_cf_duration(cx, g, "milter", "tag_max_age", &c->milter.tag_max_age);
    sw_cf_int(cx, g, "milter", "rate", 1, 1000000, &c->milter.rate);
    sw_cf_int(cx, g, "milter", "tag_cap", 1, SW_GUARD_PER_MESSAGE, &c->milter.tag_cap);
    if (sw_cf_str(cx, g, "milter", "user", false, &c->milter.user) && c->milter.user
        && getpwnam(c->milter.user) == NULL)
        sw_cf_error(cx, config_setting_get_member(g, "user"), "milter.user", "no such user \"%s\"",
                    c->milter.user);
    if (sw_cf_str(cx, g, "milter", "group", false, &c->milter.group) && c->milter.group
        && getgrnam(c->milter.group) == NULL)
        sw_cf_error(cx, config_setting_get_member(g, "group"), "milter.group",
                    "no such group \"%s\"", c->milter.group);
    sw_conf_parse_rpath(cx, g, c);
}

/* list_of - a list ( ... ) of groups, or NULL */
static config_setting_t *
list_of(struct sw_cfctx *cx, const config_setting_t *root, const char *key)
{
    config_setting_t *m = config_setting_get_member(root, key);

    if (m == NULL)
        return NULL;
    if (config_setting_type(m) != CONFIG_TYPE_LIST) {
        sw_cf_error(cx, m, key, "must be a list ( { ... }, { ... } )");
        return NULL;
    }
    return m;
}

/* parse_relay - one element of relays ( ) */
static void
parse_relay(struct sw_cfctx *cx, config_setting_t *g, const char *path, struct sw_relay *r)
{
    char *role = NULL;
    long v;
    bool b = true;

    r->line = (int) config_setting_source_line(g);
    r->priority = 10;
    r->weight = 1;
    r->enabled = true;
    sw_cf_check_keys(cx, g, path, relay_keys);
    if (sw_cf_str(cx, g, path, "name", true, &r->name) && !valid_name(r->name))
        sw_cf_error(cx, g, path, "name \"%s\": use letters, digits, '.', '_' or '-' (at most %d)",
                    r->name, SW_NAME_MAX);
    if (sw_cf_str(cx, g, path, "nexthop", true, &r->nexthop) && !valid_nexthop(r->nexthop))
        sw_cf_error(cx, config_setting_get_member(g, "nexthop"), path,
                    "nexthop \"%s\": expected [host]:port, [host], host:port or host", r->nexthop);
    if (sw_cf_str(cx, g, path, "transport", false, &r->transport) && r->transport
        && !valid_name(r->transport))
        sw_cf_error(cx, config_setting_get_member(g, "transport"), path,
                    "transport: not a Postfix service name");
    if (sw_cf_str(cx, g, path, "mailer", false, &r->mailer) && r->mailer && !valid_name(r->mailer))
        sw_cf_error(cx, config_setting_get_member(g, "mailer"), path,
                    "mailer: not a Sendmail mailer name");
    if (sw_cf_str(cx, g, path, "role", false, &role) && role) {
        if (strcmp(role, "primary") == 0)
            r->role = SW_ROLE_PRIMARY;
        else if (strcmp(role, "alternate") == 0)
            r->role = SW_ROLE_ALTERNATE;
        else
            sw_cf_error(cx, config_setting_get_member(g, "role"), path,
                        "role must be \"primary\" or \"alternate\"");
    } else {
        r->role = SW_ROLE_ALTERNATE;
    }
    free(role);
    v = r->priority;
    if (sw_cf_int(cx, g, path, "priority", 0, 65535, &v))
        r->priority = (int) v;
    v = r->weight;
    if (sw_cf_int(cx, g, path, "weight", 1, 1000, &v))
        r->weight = (int) v;
    sw_cf_int(cx, g, path, "max_per_hour", 0, 1000000000L, &r->max_per_hour);
    if (sw_cf_str(cx, g, path, "jurisdiction", false, &r->jurisdiction) && r->jurisdiction
        && !valid_name(r->jurisdiction))
        sw_cf_error(cx, config_setting_get_member(g, "jurisdiction"), path,
                    "jurisdiction: a short tag such as \"EU\" or \"UK\"");
    if (sw_cf_bool(cx, g, path, "enabled", &b))
        r->enabled = b;
    sw_conf_parse_probe(cx, g, path, r);
    if (r->transport == NULL)
        r->transport = strdup("smtp");
    if (r->mailer == NULL)
        r->mailer = strdup("relay");
    if (r->transport == NULL || r->mailer == NULL)
        sw_cf_error(cx, g, path, "out of memory");
}

/* parse_relays - relays ( ) */
static void
parse_relays(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c)
{
    config_setting_t *l = list_of(cx, root, "relays"), *g;
    char path[64];
    size_t i, j;
    int n;

    if (l == NULL || (n = config_setting_length(l)) == 0) {
        sw_cf_error(cx, l ? l : NULL, "relays", "at least one relay is required");
        return;
    }
    if ((c->relays = calloc((size_t) n, sizeof(*c->relays))) == NULL) {
        sw_cf_error(cx, l, "relays", "out of memory");
        return;
    }
    c->nrelays = (size_t) n;
    for (i = 0; i < c->nrelays; i++) {
        g = config_setting_get_elem(l, (unsigned) i);
        (void) snprintf(path, sizeof(path), "relays[%zu]", i);
        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            sw_cf_error(cx, g, path, "must be a group { ... }");
            continue;
        }
        parse_relay(cx, g, path, &c->relays[i]);
        for (j = 0; j < i; j++)
            if (c->relays[i].name && c->relays[j].name
                && strcmp(c->relays[i].name, c->relays[j].name) == 0)
                sw_cf_error(cx, g, path, "relay \"%s\" already defined at line %d",
                            c->relays[i].name, c->relays[j].line);
    }
}

/* parse_pool - one element of pools ( ) */
static void
parse_pool(struct sw_cfctx *cx, config_setting_t *g, const char *path, const struct sw_conf *c,
           struct sw_pool *p)
{
    size_t i;

    p->line = (int) config_setting_source_line(g);
    sw_cf_check_keys(cx, g, path, pool_keys);
    if (sw_cf_str(cx, g, path, "name", true, &p->name) && !valid_name(p->name))
        sw_cf_error(cx, g, path, "name \"%s\": use letters, digits, '.', '_' or '-'", p->name);
    sw_cf_strv(cx, g, path, "relays", true, &p->relays);
    sw_cf_strv(cx, g, path, "egress", false, &p->egress);
    sw_cf_strv(cx, g, path, "hosts", false, &p->hosts);
    sw_cf_strv(cx, g, path, "destinations", false, &p->destinations);
    for (i = 0; i < p->relays.n; i++)
        if (sw_conf_relay(c, p->relays.v[i]) == NULL)
            sw_cf_error(cx, config_setting_get_member(g, "relays"), path,
                        "relays: no relay named \"%s\"", p->relays.v[i]);
    for (i = 0; i < p->egress.n; i++)
        if (!valid_cidr(p->egress.v[i]))
            sw_cf_error(cx, config_setting_get_member(g, "egress"), path,
                        "egress: \"%s\" is not an address or CIDR", p->egress.v[i]);
    for (i = 0; i < p->hosts.n; i++)
        if (!valid_domain_pattern(p->hosts.v[i]))
            sw_cf_error(cx, config_setting_get_member(g, "hosts"), path,
                        "hosts: \"%s\" is not a host pattern", p->hosts.v[i]);
    for (i = 0; i < p->destinations.n; i++)
        if (!valid_domain_pattern(p->destinations.v[i]))
            sw_cf_error(cx, config_setting_get_member(g, "destinations"), path,
                        "destinations: \"%s\" is not a domain pattern", p->destinations.v[i]);
}

/* parse_pools - pools ( ) */
static void
parse_pools(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c)
{
    config_setting_t *l = list_of(cx, root, "pools"), *g;
    char path[64];
    size_t i, j;

    if (l == NULL || config_setting_length(l) == 0)
        return;
    c->npools = (size_t) config_setting_length(l);
    if ((c->pools = calloc(c->npools, sizeof(*c->pools))) == NULL) {
        c->npools = 0;
        sw_cf_error(cx, l, "pools", "out of memory");
        return;
    }
    for (i = 0; i < c->npools; i++) {
        g = config_setting_get_elem(l, (unsigned) i);
        (void) snprintf(path, sizeof(path), "pools[%zu]", i);
        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            sw_cf_error(cx, g, path, "must be a group { ... }");
            continue;
        }
        parse_pool(cx, g, path, c, &c->pools[i]);
        for (j = 0; j < i; j++)
            if (c->pools[i].name && c->pools[j].name
                && strcmp(c->pools[i].name, c->pools[j].name) == 0)
                sw_cf_error(cx, g, path, "pool \"%s\" already defined at line %d", c->pools[i].name,
                            c->pools[j].line);
    }
}

/* parse_rule - one element of rules ( ) */
static void
parse_rule(struct sw_cfctx *cx, config_setting_t *g, const char *path, struct sw_rule *r)
{
    struct sw_strv classes = { NULL, 0 };
    config_setting_t *t;
    char *scope = NULL, sub[128];
    size_t i;

    r->line = (int) config_setting_source_line(g);
    r->scope = SW_SCOPE_DESTINATION;
    r->events = 3;
    r->window = 600;
    r->hold = 1800;
    r->hold_max = 8 * 3600;
    r->recover_share = 0.05;
    r->recover_successes = 10;
    sw_cf_check_keys(cx, g, path, rule_keys);
    if (sw_cf_str(cx, g, path, "name", true, &r->name) && !valid_name(r->name))
        sw_cf_error(cx, g, path, "name \"%s\": use letters, digits, '.', '_' or '-'", r->name);
    if (sw_cf_strv(cx, g, path, "classes", true, &classes)) {
        for (i = 0; i < classes.n; i++) {
            if (strcmp(classes.v[i], "reputation") == 0)
                r->classes |= SW_CLASS_REPUTATION;
            else if (strcmp(classes.v[i], "throttle") == 0)
                r->classes |= SW_CLASS_THROTTLE;
            else if (strcmp(classes.v[i], "other") == 0)
                sw_cf_error(cx, config_setting_get_member(g, "classes"), path,
                            "classes: \"other\" never diverts (content and authentication "
                            "failures would only spread to the alternate)");
            else
                sw_cf_error(cx, config_setting_get_member(g, "classes"), path,
                            "classes: unknown class \"%s\" (reputation, throttle)", classes.v[i]);
        }
    }
    sw_strv_free(&classes);
    if (sw_cf_str(cx, g, path, "scope", false, &scope) && scope) {
        if (strcmp(scope, "pool") == 0)
            r->scope = SW_SCOPE_POOL;
        else if (strcmp(scope, "destination") != 0)
            sw_cf_error(cx, config_setting_get_member(g, "scope"), path,
                        "scope must be \"destination\" or \"pool\"");
    }
    free(scope);
    if ((t = sw_cf_member(cx, g, path, "threshold", CONFIG_TYPE_GROUP)) != NULL) {
        (void) snprintf(sub, sizeof(sub), "%s.threshold", path);
        sw_cf_check_keys(cx, t, sub, threshold_keys);
        sw_cf_int(cx, t, sub, "events", 1, SW_ENGINE_MAX_EVENTS, &r->events);
        sw_cf_duration(cx, t, sub, "window", &r->window);
        sw_cf_float(cx, t, sub, "ratio", 0.0, 1.0, &r->ratio);
    }
    sw_cf_duration(cx, g, path, "hold", &r->hold);
    if (config_setting_get_member(g, "hold_max") == NULL && r->hold_max < r->hold)
        r->hold_max = r->hold;
    if (sw_cf_duration(cx, g, path, "hold_max", &r->hold_max) && r->hold_max < r->hold)
        sw_cf_error(cx, config_setting_get_member(g, "hold_max"), path,
                    "hold_max must not be shorter than hold");
    if ((t = sw_cf_member(cx, g, path, "recover", CONFIG_TYPE_GROUP)) != NULL) {
        (void) snprintf(sub, sizeof(sub), "%s.recover", path);
        sw_cf_check_keys(cx, t, sub, recover_keys);
        sw_cf_float(cx, t, sub, "share", 0.001, 1.0, &r->recover_share);
        sw_cf_int(cx, t, sub, "successes", 1, 1000000, &r->recover_successes);
    }
}

/* parse_rules - rules ( ) */
static void
parse_rules(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c)
{
    config_setting_t *l = list_of(cx, root, "rules"), *g;
    char path[64];
    size_t i, j;

    if (l == NULL || config_setting_length(l) == 0)
        return;
    c->nrules = (size_t) config_setting_length(l);
    if ((c->rules = calloc(c->nrules, sizeof(*c->rules))) == NULL) {
        c->nrules = 0;
        sw_cf_error(cx, l, "rules", "out of memory");
        return;
    }
    for (i = 0; i < c->nrules; i++) {
        g = config_setting_get_elem(l, (unsigned) i);
        (void) snprintf(path, sizeof(path), "rules[%zu]", i);
        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            sw_cf_error(cx, g, path, "must be a group { ... }");
            continue;
        }
        parse_rule(cx, g, path, &c->rules[i]);
        for (j = 0; j < i; j++)
            if (c->rules[i].name && c->rules[j].name
                && strcmp(c->rules[i].name, c->rules[j].name) == 0)
                sw_cf_error(cx, g, path, "rule \"%s\" already defined at line %d", c->rules[i].name,
                            c->rules[j].line);
    }
}

/* parse_residency - residency ( ) */
static void
parse_residency(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c)
{
    config_setting_t *l = list_of(cx, root, "residency"), *g;
    struct sw_residency *r;
    char path[64];
    size_t i, k;

    if (l == NULL || config_setting_length(l) == 0)
        return;
    c->nresidency = (size_t) config_setting_length(l);
    if ((c->residency = calloc(c->nresidency, sizeof(*c->residency))) == NULL) {
        c->nresidency = 0;
        sw_cf_error(cx, l, "residency", "out of memory");
        return;
    }
    for (i = 0; i < c->nresidency; i++) {
        g = config_setting_get_elem(l, (unsigned) i);
        r = &c->residency[i];
        (void) snprintf(path, sizeof(path), "residency[%zu]", i);
        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            sw_cf_error(cx, g, path, "must be a group { ... }");
            continue;
        }
        r->line = (int) config_setting_source_line(g);
        sw_cf_check_keys(cx, g, path, residency_keys);
        sw_cf_strv(cx, g, path, "destinations", true, &r->destinations);
        sw_cf_strv(cx, g, path, "allow", true, &r->allow);
        for (k = 0; k < r->destinations.n; k++)
            if (!valid_domain_pattern(r->destinations.v[k]))
                sw_cf_error(cx, config_setting_get_member(g, "destinations"), path,
                            "destinations: \"%s\" is not a domain pattern", r->destinations.v[k]);
    }
}

/* parse_patterns - the shipped library, then the operator's patterns.
 * The file is needed when rules divert automatically, when the milter
 * reads bounces, or when named; a config without rules or milter
 * (operator diversions only) may do without. */
static void
parse_patterns(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c, bool always)
{
    config_setting_t *g = sw_cf_member(cx, root, "", "classify", CONFIG_TYPE_GROUP);
    config_setting_t *list = config_setting_get_member(root, "patterns");
    bool named = false;

    if (g) {
        sw_cf_check_keys(cx, g, "classify", classify_keys);
        named = sw_cf_str(cx, g, "classify", "patterns", false, &c->patterns_file)
                && c->patterns_file != NULL;
    }
    if (!always && !named && c->nrules == 0 && list == NULL
        && config_setting_get_member(root, "milter") == NULL)
        return; /* nothing classifies: no rules, no milter */
    if (c->patterns_file == NULL && (c->patterns_file = strdup(SW_DEF_PATTERNS)) == NULL) {
        sw_cf_error(cx, NULL, "classify.patterns", "out of memory");
        return;
    }
    if ((c->patterns = sw_patterns_new()) == NULL) {
        sw_cf_error(cx, NULL, "classify.patterns", "out of memory");
        return;
    }
    if (!sw_patterns_load_file(c->patterns, c->patterns_file, cx->err)) {
        cx->nerrors++;
        return;
    }
    if (list && config_setting_type(list) != CONFIG_TYPE_LIST) {
        sw_cf_error(cx, list, "patterns", "must be a list ( { ... }, { ... } )");
        return;
    }
    if (list && !sw_patterns_add_list(c->patterns, list, cx->file, cx->err)) {
        cx->nerrors++;
        return;
    }
    if (!sw_patterns_compile(c->patterns, cx->err))
        cx->nerrors++;
}

/* include_hint - libconfig says only "cannot open include file": add
 * which one, and where a relative name was looked for */
static void
include_hint(const config_t *cf, const char *name, struct sw_buf *err)
{
    const char *file = config_error_file(cf) ? config_error_file(cf) : name, *q, *e;
    char line[1024];
    int n = 0;
    FILE *fp;

    if (strstr(config_error_text(cf), "include file") == NULL || (fp = fopen(file, "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), fp) != NULL && ++n < config_error_line(cf))
        ;
    (void) fclose(fp);
    if (n != config_error_line(cf) || (q = strstr(line, "@include")) == NULL
        || (q = strchr(q, '"')) == NULL || (e = strchr(q + 1, '"')) == NULL)
        return;
    sw_buf_printf(err, " %.*s", (int) (e - q + 1), q);
    if (q[1] != '/')
        sw_buf_printf(err, " (relative names are read from %s)",
                      config_get_include_dir(cf) ? config_get_include_dir(cf) : ".");
}

/* load - shared by the file and string entry points */
static struct sw_conf *
load(config_t *cf, bool ok, const char *name, struct sw_buf *err)
{
    struct sw_cfctx cx = { name, err, 0 };
    config_setting_t *root;
    struct sw_conf *c;

    if (!ok) {
        sw_buf_printf(err, "%s:%d: syntax: %s",
                      config_error_file(cf) ? config_error_file(cf) : name, config_error_line(cf),
                      config_error_text(cf));
        include_hint(cf, name, err);
        return NULL;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(name)) == NULL) {
        free(c);
        sw_buf_adds(err, "out of memory");
        return NULL;
    }
    root = config_root_setting(cf);
    sw_cf_check_keys(&cx, root, "", top_keys);
    parse_log_facility(&cx, root, c);
    parse_routed(&cx, root, c);
    parse_milter(&cx, root, c);
    sw_conf_parse_dns(&cx, root, c);
    sw_conf_parse_dnsbl(&cx, root, c);
    sw_conf_parse_cluster(&cx, root, c);
    parse_relays(&cx, root, c);
    parse_pools(&cx, root, c);
    parse_rules(&cx, root, c);
    parse_residency(&cx, root, c);
    parse_patterns(&cx, root, c, false);
    apply_defaults(&cx, c);
    if (cx.nerrors > SW_CONF_MAX_ERRORS)
        sw_buf_printf(err, "\n%s: %d more errors not shown", name, cx.nerrors - SW_CONF_MAX_ERRORS);
    if (cx.nerrors) {
        sw_conf_free(c);
        return NULL;
    }
    return c;
}

/* read_conf - parse a file into cf (config_init'ed here); a relative
 * @include is resolved from the directory of path (libconfig 1.5 has one
 * include directory for all the files it reads, not one per including
 * file), so it works whatever the working directory (under systemd: /).
 * -1: cannot open (err says why), else whether the syntax was good. */
static int
read_conf(const char *path, config_t *cf, struct sw_buf *err)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    FILE *fp;
    bool ok;

    /* Open it ourselves first: libconfig reports a missing file as a
     * syntax error at line 0, which would mislead the operator. */
    if ((fp = fopen(path, "r")) == NULL) {
        sw_buf_printf(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    config_init(cf);
    if (slash == NULL)
        (void) snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        (void) snprintf(dir, sizeof(dir), "/");
    else
        (void) snprintf(dir, sizeof(dir), "%.*s", (int) (slash - path), path);
    config_set_include_dir(cf, dir);
    ok = config_read(cf, fp) == CONFIG_TRUE;
    (void) fclose(fp);
    return ok;
}

/* sw_conf_load - read and validate a file */
struct sw_conf *
sw_conf_load(const char *path, struct sw_buf *err)
{
    struct sw_conf *c;
    config_t cf;
    int ok;

    if ((ok = read_conf(path, &cf, err)) < 0)
        return NULL;
    c = load(&cf, ok, path, err);
    config_destroy(&cf);
    return c;
}

/* sw_conf_load_patterns - only the pattern library of a file: the file
 * classify.patterns names (or the default) and the operator's patterns
 * list, whatever else the file says or gets wrong */
struct sw_patterns *
sw_conf_load_patterns(const char *path, struct sw_buf *err)
{
    struct sw_cfctx cx = { path, err, 0 };
    struct sw_patterns *p = NULL;
    struct sw_conf *c;
    config_t cf;
    int ok;

    if ((ok = read_conf(path, &cf, err)) < 0)
        return NULL;
    if (!ok) {
        (void) load(&cf, false, path, err); /* the syntax error, named */
    } else if ((c = calloc(1, sizeof(*c))) == NULL) {
        sw_buf_adds(err, "out of memory");
    } else {
        parse_patterns(&cx, config_root_setting(&cf), c, true);
        if (cx.nerrors == 0) {
            p = c->patterns;
            c->patterns = NULL;
        }
        sw_conf_free(c);
    }
    config_destroy(&cf);
    return p;
}

/* sw_conf_load_string - the same from memory */
struct sw_conf *
sw_conf_load_string(const char *text, const char *name, struct sw_buf *err)
{
    struct sw_conf *c;
    config_t cf;
    bool ok;

    config_init(&cf);
    ok = config_read_string(&cf, text) == CONFIG_TRUE;
    c = load(&cf, ok, name, err);
    config_destroy(&cf);
    return c;
}

/* sw_conf_free - release a generation */
void
sw_conf_free(struct sw_conf *c)
{
    size_t i;

    if (c == NULL)
        return;
    free(c->path);
    free(c->patterns_file);
    sw_patterns_free(c->patterns);
    sw_strv_free(&c->routed.socketmap);
    free(c->routed.control);
    free(c->routed.evidence);
    free(c->routed.state);
    free(c->routed.render_dir);
    free(c->routed.render_format);
    free(c->routed.mailertable_format);
    free(c->routed.makemap);
    free(c->routed.sendmail_cf);
    free(c->routed.flush_etrn);
    free(c->routed.postfix_config);
    free(c->routed.maillog);
    free(c->routed.maillog_trust);
    sw_strv_free(&c->routed.maillog_users);
    free(c->routed.metrics);
    sw_strv_free(&c->routed.flush);
    sw_strv_free(&c->routed.control_users);
    sw_strv_free(&c->routed.control_groups);
    free(c->milter.socket);
    free(c->milter.tag_keys);
    sw_strv_free(&c->milter.out_networks);
    free(c->milter.user);
    free(c->milter.group);
    sw_conf_free_health(c);
    sw_conf_free_cluster(c);
    sw_conf_free_rpath(c);
    for (i = 0; i < c->nrelays; i++) {
        free(c->relays[i].name);
        free(c->relays[i].nexthop);
        free(c->relays[i].transport);
        free(c->relays[i].mailer);
        free(c->relays[i].jurisdiction);
        free(c->relays[i].host);
    }
    free(c->relays);
    for (i = 0; i < c->npools; i++) {
        free(c->pools[i].name);
        sw_strv_free(&c->pools[i].relays);
        sw_strv_free(&c->pools[i].egress);
        sw_strv_free(&c->pools[i].hosts);
        sw_strv_free(&c->pools[i].destinations);
    }
    free(c->pools);
    for (i = 0; i < c->nrules; i++)
        free(c->rules[i].name);
    free(c->rules);
    for (i = 0; i < c->nresidency; i++) {
        sw_strv_free(&c->residency[i].destinations);
        sw_strv_free(&c->residency[i].allow);
    }
    free(c->residency);
    free(c);
}

/* sw_conf_max_window - the longest rule window */
long
sw_conf_max_window(const struct sw_conf *conf)
{
    long w = 0;
    size_t i;

    for (i = 0; i < conf->nrules; i++)
        if (conf->rules[i].window > w)
            w = conf->rules[i].window;
    return w;
}

/* sw_conf_relay - relay by name */
const struct sw_relay *
sw_conf_relay(const struct sw_conf *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->nrelays; i++)
        if (c->relays[i].name && strcmp(c->relays[i].name, name) == 0)
            return &c->relays[i];
    return NULL;
}

/* sw_conf_pool - pool by name */
const struct sw_pool *
sw_conf_pool(const struct sw_conf *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->npools; i++)
        if (c->pools[i].name && strcmp(c->pools[i].name, name) == 0)
            return &c->pools[i];
    return NULL;
}

/* pool_has_primary - does the pool carry mail by default? */
static bool
pool_has_primary(const struct sw_conf *c, const struct sw_pool *p)
{
    const struct sw_relay *r;
    size_t i;

    for (i = 0; i < p->relays.n; i++)
        if ((r = sw_conf_relay(c, p->relays.v[i])) && r->role == SW_ROLE_PRIMARY)
            return true;
    return false;
}

/* sw_conf_pool_for - the pool that carries a destination's mail */
const struct sw_pool *
sw_conf_pool_for(const struct sw_conf *c, const char *domain)
{
    size_t i, k;

    for (i = 0; domain && i < c->npools; i++)
        for (k = 0; k < c->pools[i].destinations.n; k++)
            if (sw_domain_match(c->pools[i].destinations.v[k], domain))
                return &c->pools[i];
    for (i = 0; i < c->npools; i++)
        if (c->pools[i].destinations.n == 0 && pool_has_primary(c, &c->pools[i]))
            return &c->pools[i];
    return NULL;
}
