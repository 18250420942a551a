/* conf_dump.c - the effective configuration, defaults included, in
 * spillway.conf's own syntax (spillway-routed -p) */

/*
 * Like postconf: what the daemons would use, every default written out,
 * so that an operator sees the value, not the absence of a key.  The
 * output is itself a valid spillway.conf that loads to the same values
 * (tests/conf-dump.sh checks the round trip).  The pattern library is
 * named, not copied: `spillwayctl patterns` lists it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "global/conf.h"
#include "util/log.h"

/* str - a libconfig string: quotes and backslashes escaped, control
 * bytes as \xNN */
static void
str(struct sw_buf *b, const char *s)
{
    sw_buf_addc(b, '"');
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') {
            sw_buf_addc(b, '\\');
            sw_buf_addc(b, *s);
        } else if ((unsigned char) *s < 0x20) {
            sw_buf_printf(b, "\\x%02x", (unsigned) (unsigned char) *s);
        } else {
            sw_buf_addc(b, *s);
        }
    }
    sw_buf_addc(b, '"');
}

/* kv_str - "  key = "value";", or a comment when the value is unset */
static void
kv_str(struct sw_buf *b, const char *indent, const char *key, const char *v)
{
    if (v == NULL) {
        sw_buf_printf(b, "%s# %s: not set\n", indent, key);
        return;
    }
    sw_buf_printf(b, "%s%s = ", indent, key);
    str(b, v);
    sw_buf_adds(b, ";\n");
}

/* kv_strv - a list of strings; an empty list is a comment */
static void
kv_strv(struct sw_buf *b, const char *indent, const char *key, const struct sw_strv *v)
{
    size_t i;

    if (v->n == 0) {
        sw_buf_printf(b, "%s# %s: not set\n", indent, key);
        return;
    }
    sw_buf_printf(b, "%s%s = [ ", indent, key);
    for (i = 0; i < v->n; i++) {
        if (i)
            sw_buf_adds(b, ", ");
        str(b, v->v[i]);
    }
    sw_buf_adds(b, " ];\n");
}

/* kv_secs - a duration in the largest unit that divides it ("10m", "7d") */
static void
kv_secs(struct sw_buf *b, const char *indent, const char *key, long secs)
{
    static const struct {
        long secs;
        char unit;
    } units[] = { { 604800, 'w' }, { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' } };
    size_t k;

    for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
        if (secs > 0 && secs % units[k].secs == 0) {
            sw_buf_printf(b, "%s%s = \"%ld%c\";\n", indent, key, secs / units[k].secs,
                          units[k].unit);
            return;
        }
    sw_buf_printf(b, "%s%s = \"%lds\";\n", indent, key, secs);
}

static void
kv_bool(struct sw_buf *b, const char *indent, const char *key, bool v)
{
    sw_buf_printf(b, "%s%s = %s;\n", indent, key, v ? "true" : "false");
}

/* kv_real - a ratio or share, printed so that it reads back the same */
static void
kv_real(struct sw_buf *b, const char *indent, const char *key, double v)
{
    char num[64];
    int prec;

    /* The shortest form that reads back as the same double. */
    for (prec = 1; prec <= 17; prec++) {
        (void) snprintf(num, sizeof(num), "%.*g", prec, v);
        if (strtod(num, NULL) == v)
            break;
    }
    sw_buf_printf(b, "%s%s = %s%s;\n", indent, key, num, strpbrk(num, ".eEn") ? "" : ".0");
}

static void
dump_routed(const struct sw_routed_conf *r, struct sw_buf *b)
{
    const char *i = "  ";

    sw_buf_adds(b, "routed:\n{\n");
    kv_strv(b, i, "socketmap", &r->socketmap);
    kv_str(b, i, "control", r->control);
    kv_str(b, i, "evidence", r->evidence);
    kv_str(b, i, "state", r->state);
    kv_str(b, i, "render_dir", r->render_dir);
    kv_str(b, i, "mta",
           r->mta == (SW_WIRED_POSTFIX | SW_WIRED_SENDMAIL) ? "both"
           : r->mta == SW_WIRED_SENDMAIL                   ? "sendmail"
                                                           : "postfix");
    kv_str(b, i, "render_format", r->render_format);
    kv_str(b, i, "mailertable_format", r->mailertable_format);
    kv_str(b, i, "makemap", r->makemap);
    kv_str(b, i, "sendmail_cf", r->sendmail_cf);
    kv_str(b, i, "postfix_config", r->postfix_config);
    kv_str(b, i, "maillog", r->maillog);
    kv_str(b, i, "maillog_trust", r->maillog_trust ? r->maillog_trust : "proven");
    if (r->maillog_users.n)
        kv_strv(b, i, "maillog_users", &r->maillog_users);
    else
        sw_buf_printf(b, "%s# maillog_users: not set (postfix and root)\n", i);
    kv_secs(b, i, "maillog_silence", r->maillog_silence);
    kv_strv(b, i, "flush", &r->flush);
    kv_str(b, i, "flush_etrn", r->flush_etrn);
    kv_strv(b, i, "control_users", &r->control_users);
    kv_strv(b, i, "control_groups", &r->control_groups);
    sw_buf_printf(b, "%shistory = %ld;\n", i, r->history);
    kv_str(b, i, "metrics", r->metrics);
    sw_buf_printf(b, "%smetrics_scopes = %ld;\n", i, r->metrics_scopes);
    sw_buf_printf(b, "%sclients_per_user = %ld;\n", i, r->clients_per_user);
    sw_buf_adds(b, "};\n\n");
}

static void
dump_milter(const struct sw_milter_conf *m, struct sw_buf *b)
{
    const char *i = "  ", *ii = "    ";

    sw_buf_adds(b, "milter:\n{\n");
    kv_str(b, i, "socket", m->socket);
    kv_str(b, i, "tag_keys", m->tag_keys);
    kv_secs(b, i, "tag_max_age", m->tag_max_age);
    sw_buf_printf(b, "%srate = %ld;\n%stag_cap = %ld;\n", i, m->rate, i, m->tag_cap);
    kv_str(b, i, "user", m->user);
    kv_str(b, i, "group", m->group);
    sw_buf_printf(b, "%soutbound:\n%s{\n", i, i);
    kv_strv(b, ii, "networks", &m->out_networks);
    kv_bool(b, ii, "authenticated", m->out_auth);
    sw_buf_printf(b, "%s};\n", i);
    if (m->rp.domain || m->rp.subdomain) {
        sw_buf_printf(b, "%sreturn_path:\n%s{\n", i, i);
        kv_str(b, ii, "domain", m->rp.domain);
        kv_str(b, ii, "subdomain", m->rp.subdomain);
        kv_strv(b, ii, "sender_domains", &m->rp.sender_domains);
        kv_strv(b, ii, "skip_senders", &m->rp.skip_senders);
        kv_strv(b, ii, "skip_recipients", &m->rp.skip_recipients);
        kv_secs(b, ii, "max_age", m->rp.max_age);
        sw_buf_printf(b, "%s};\n", i);
    } else {
        sw_buf_printf(b, "%s# return_path: off\n", i);
    }
    sw_buf_adds(b, "};\n\n");
}

static void
dump_probe(const struct sw_probe_conf *p, struct sw_buf *b)
{
    const char *i = "      ";

    if (!p->enabled) {
        sw_buf_adds(b, "    # probe: off\n");
        return;
    }
    sw_buf_adds(b, "    probe:\n    {\n");
    kv_bool(b, i, "enabled", true);
    kv_secs(b, i, "interval", p->interval);
    kv_secs(b, i, "timeout", p->timeout);
    kv_secs(b, i, "backoff_max", p->backoff_max);
    sw_buf_printf(b, "%sfall = %ld;\n%srise = %ld;\n", i, p->fall, i, p->rise);
    kv_bool(b, i, "starttls", p->starttls);
    kv_bool(b, i, "verify", p->verify);
    kv_str(b, i, "ca_file", p->ca_file);
    kv_str(b, i, "name", p->name);
    kv_str(b, i, "helo", p->helo);
    kv_str(b, i, "mail_from", p->mail_from);
    kv_str(b, i, "rcpt", p->rcpt);
    sw_buf_adds(b, "    };\n");
}

static void
dump_relays(const struct sw_conf *c, struct sw_buf *b)
{
    const char *i = "    ";
    const struct sw_relay *r;
    size_t k;

    sw_buf_adds(b, "relays =\n(\n");
    for (k = 0; k < c->nrelays; k++) {
        r = &c->relays[k];
        sw_buf_adds(b, "  {\n");
        kv_str(b, i, "name", r->name);
        kv_str(b, i, "nexthop", r->nexthop);
        kv_str(b, i, "transport", r->transport);
        kv_str(b, i, "mailer", r->mailer);
        kv_str(b, i, "role", r->role == SW_ROLE_PRIMARY ? "primary" : "alternate");
        sw_buf_printf(b, "%spriority = %d;\n%sweight = %d;\n%smax_per_hour = %ld;\n", i,
                      r->priority, i, r->weight, i, r->max_per_hour);
        kv_str(b, i, "jurisdiction", r->jurisdiction);
        kv_bool(b, i, "enabled", r->enabled);
        dump_probe(&r->probe, b);
        sw_buf_adds(b, k + 1 < c->nrelays ? "  },\n" : "  }\n");
    }
    sw_buf_adds(b, ");\n\n");
}

static void
dump_pools(const struct sw_conf *c, struct sw_buf *b)
{
    const char *i = "    ";
    size_t k;

    if (c->npools == 0) {
        sw_buf_adds(b, "# pools: none\n\n");
        return;
    }
    sw_buf_adds(b, "pools =\n(\n");
    for (k = 0; k < c->npools; k++) {
        sw_buf_adds(b, "  {\n");
        kv_str(b, i, "name", c->pools[k].name);
        kv_strv(b, i, "relays", &c->pools[k].relays);
        kv_strv(b, i, "egress", &c->pools[k].egress);
        kv_strv(b, i, "hosts", &c->pools[k].hosts);
        kv_strv(b, i, "destinations", &c->pools[k].destinations);
        sw_buf_adds(b, k + 1 < c->npools ? "  },\n" : "  }\n");
    }
    sw_buf_adds(b, ");\n\n");
}

static void
dump_rules(const struct sw_conf *c, struct sw_buf *b)
{
    const char *i = "    ", *ii = "      ";
    const struct sw_rule *r;
    size_t k;

    if (c->nrules == 0) {
        sw_buf_adds(b, "# rules: none (operators divert by hand)\n\n");
        return;
    }
    sw_buf_adds(b, "rules =\n(\n");
    for (k = 0; k < c->nrules; k++) {
        r = &c->rules[k];
        sw_buf_adds(b, "  {\n");
        kv_str(b, i, "name", r->name);
        sw_buf_printf(b, "%sclasses = [ %s%s%s ];\n", i,
                      r->classes & SW_CLASS_REPUTATION ? "\"reputation\"" : "",
                      (r->classes & SW_CLASS_REPUTATION) && (r->classes & SW_CLASS_THROTTLE)
                          ? ", "
                          : "",
                      r->classes & SW_CLASS_THROTTLE ? "\"throttle\"" : "");
        kv_str(b, i, "scope", r->scope == SW_SCOPE_POOL ? "pool" : "destination");
        sw_buf_printf(b, "%sthreshold:\n%s{\n%sevents = %ld;\n", i, i, ii, r->events);
        kv_secs(b, ii, "window", r->window);
        kv_real(b, ii, "ratio", r->ratio);
        sw_buf_printf(b, "%s};\n", i);
        kv_secs(b, i, "hold", r->hold);
        kv_secs(b, i, "hold_max", r->hold_max);
        sw_buf_printf(b, "%srecover:\n%s{\n", i, i);
        kv_real(b, ii, "share", r->recover_share);
        sw_buf_printf(b, "%ssuccesses = %ld;\n%s};\n", ii, r->recover_successes, i);
        sw_buf_adds(b, k + 1 < c->nrules ? "  },\n" : "  }\n");
    }
    sw_buf_adds(b, ");\n\n");
}

static void
dump_residency(const struct sw_conf *c, struct sw_buf *b)
{
    size_t k;

    if (c->nresidency == 0) {
        sw_buf_adds(b, "# residency: none\n\n");
        return;
    }
    sw_buf_adds(b, "residency =\n(\n");
    for (k = 0; k < c->nresidency; k++) {
        sw_buf_adds(b, "  {\n");
        kv_strv(b, "    ", "destinations", &c->residency[k].destinations);
        kv_strv(b, "    ", "allow", &c->residency[k].allow);
        sw_buf_adds(b, k + 1 < c->nresidency ? "  },\n" : "  }\n");
    }
    sw_buf_adds(b, ");\n\n");
}

static void
dump_dns(const struct sw_conf *c, struct sw_buf *b)
{
    sw_buf_adds(b, "dns:\n{\n");
    kv_str(b, "  ", "resolver", c->dns.resolver);
    kv_secs(b, "  ", "timeout", c->dns.timeout);
    kv_secs(b, "  ", "min_ttl", c->dns.min_ttl);
    kv_secs(b, "  ", "max_ttl", c->dns.max_ttl);
    sw_buf_adds(b, "};\n\n");
    if (c->dnsbl.zones.n == 0) {
        sw_buf_adds(b, "# dnsbl: off\n\n");
        return;
    }
    sw_buf_adds(b, "dnsbl:\n{\n");
    kv_strv(b, "  ", "zones", &c->dnsbl.zones);
    kv_str(b, "  ", "resolver", c->dnsbl.resolver);
    kv_secs(b, "  ", "interval", c->dnsbl.interval);
    kv_bool(b, "  ", "alternates", c->dnsbl.alternates);
    sw_buf_adds(b, "};\n\n");
}

static void
dump_cluster(const struct sw_cluster_conf *k, struct sw_buf *b)
{
    if (!k->enabled) {
        sw_buf_adds(b, "# cluster: off (this node decides alone)\n\n");
        return;
    }
    sw_buf_adds(b, "cluster:\n{\n");
    kv_str(b, "  ", "redis", k->redis);
    if (k->sentinels.n)
        kv_strv(b, "  ", "sentinels", &k->sentinels);
    kv_str(b, "  ", "master", k->master);
    kv_str(b, "  ", "node", k->node);
    kv_str(b, "  ", "key_file", k->key_file);
    kv_str(b, "  ", "password_file", k->password_file);
    kv_str(b, "  ", "prefix", k->prefix);
    kv_secs(b, "  ", "timeout", k->timeout);
    kv_secs(b, "  ", "heartbeat", k->heartbeat);
    kv_secs(b, "  ", "reassert", k->reassert);
    kv_secs(b, "  ", "peer_timeout", k->peer_timeout);
    sw_buf_printf(b, "  queue = %ld;\n", k->queue);
    sw_buf_printf(b, "  stream_max = %ld;\n", k->stream_max);
    sw_buf_adds(b, "};\n\n");
}

/* sw_conf_dump - the whole effective configuration */
void
sw_conf_dump(const struct sw_conf *c, struct sw_buf *b)
{
    const char *line, *nl;
    struct sw_buf m;

    sw_buf_adds(b, "# spillway.conf as the daemons read it: ");
    sw_buf_adds(b, c->path ? c->path : "(no file)");
    sw_buf_adds(b, ", every default written out\n\n");
    kv_str(b, "", "log_facility", sw_log_facility_name(c->log_facility));
    sw_buf_addc(b, '\n');
    dump_routed(&c->routed, b);
    if (c->milter.present) {
        dump_milter(&c->milter, b);
    } else {
        /* Written out, the group would switch the milter's checks on:
         * its defaults go in comments. */
        sw_buf_init(&m, 4096);
        dump_milter(&c->milter, &m);
        sw_buf_adds(b, "# milter: not in the file; spillway-milter would use\n");
        for (line = sw_buf_str(&m); *line; line = nl + 1) {
            nl = strchr(line, '\n');
            sw_buf_printf(b, "# %.*s\n", (int) (nl - line), line);
        }
        sw_buf_free(&m);
    }
    dump_relays(c, b);
    dump_pools(c, b);
    dump_rules(c, b);
    dump_residency(c, b);
    dump_dns(c, b);
    dump_cluster(&c->cluster, b);
    if (c->patterns_file) {
        sw_buf_adds(b, "classify:\n{\n");
        kv_str(b, "  ", "patterns", c->patterns_file);
        sw_buf_adds(b, "};\n# the library with the operator's patterns: spillwayctl patterns\n");
    } else {
        sw_buf_adds(b, "# classify: no pattern library (no rules, no milter)\n");
    }
}
