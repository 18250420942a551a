/* conf_health.c - the probe { }, dns { } and dnsbl { } settings */

/*
 * The parts of spillway.conf that drive relay health (DESIGN.md 6), kept
 * apart from conf.c so that file stays about routing.  Same rules as
 * there: every error names file, line and key; defaults are filled here.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/conf_get.h"

#define SW_DEF_PROBE_INTERVAL 60
#define SW_DEF_PROBE_TIMEOUT  10
#define SW_DEF_PROBE_BACKOFF  900
#define SW_DEF_DNS_TIMEOUT    3
#define SW_DEF_DNS_MIN_TTL    10
#define SW_DEF_DNS_MAX_TTL    3600
#define SW_DEF_DNSBL_INTERVAL 900

static const char *const probe_keys[] = { "enabled", "interval", "timeout",   "backoff_max",
                                          "fall",    "rise",     "starttls",  "verify",
                                          "ca_file", "name",     "helo",      "mail_from",
                                          "rcpt",    NULL };
static const char *const dns_keys[] = { "resolver", "timeout", "min_ttl", "max_ttl", NULL };
static const char *const dnsbl_keys[] = { "zones", "resolver", "interval", "alternates", NULL };

/* sw_nexthop_split - [host]:port, [host], host:port, host */
bool
sw_nexthop_split(const char *nexthop, char *host, size_t size, int *port, bool *mx)
{
    const char *end, *p = NULL;
    size_t n;
    long v;
    char *pend;

    *mx = nexthop[0] != '[';
    if (!*mx) {
        if ((end = strchr(nexthop, ']')) == NULL)
            return false;
        n = (size_t) (end - nexthop - 1);
        if (end[1] == ':')
            p = end + 2;
        nexthop++;
    } else {
        end = strchr(nexthop, ':');
        n = end ? (size_t) (end - nexthop) : strlen(nexthop);
        if (end)
            p = end + 1;
    }
    if (n == 0 || n >= size)
        return false;
    memcpy(host, nexthop, n);
    host[n] = '\0';
    /* Postfix writes IPv6 literals as [ipv6:2001:db8::1] */
    if (!*mx && strncasecmp(host, "ipv6:", 5) == 0)
        memmove(host, host + 5, n - 4);
    *port = 25;
    if (p) {
        v = strtol(p, &pend, 10);
        if (*pend || pend == p || v < 1 || v > 65535)
            return false;
        *port = (int) v;
    }
    return true;
}

/* sw_resolver_valid - IP, IP:PORT, [IPv6]:PORT */
bool
sw_resolver_valid(const char *s)
{
    unsigned char bin[16];
    char ip[64];
    const char *colon, *end;
    char *pend;
    long port;
    size_t n;

    if (inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1)
        return true;
    if (s[0] == '[') {
        if ((end = strchr(s, ']')) == NULL || end[1] != ':')
            return false;
        n = (size_t) (end - s - 1);
        colon = end + 1;
        s++;
    } else {
        if ((colon = strchr(s, ':')) == NULL)
            return false;
        n = (size_t) (colon - s);
    }
    if (n == 0 || n >= sizeof(ip))
        return false;
    memcpy(ip, s, n);
    ip[n] = '\0';
    port = strtol(colon + 1, &pend, 10);
    if (*pend || pend == colon + 1 || port < 1 || port > 65535)
        return false;
    return inet_pton(AF_INET, ip, bin) == 1 || inet_pton(AF_INET6, ip, bin) == 1;
}

/* valid_word - helo names and probe names: host name characters */
static bool
valid_word(const char *s)
{
    size_t n = 0;

    for (; *s; s++, n++)
        if (!isalnum((unsigned char) *s) && *s != '.' && *s != '-' && *s != '_')
            return false;
    return n > 0 && n <= 253;
}

/* valid_address - an envelope address for the probe: no spaces, no <> */
static bool
valid_address(const char *s, bool may_be_empty)
{
    size_t n = strlen(s);

    if (n == 0)
        return may_be_empty;
    if (n > 254 || strchr(s, '@') == NULL)
        return false;
    for (; *s; s++)
        if ((unsigned char) *s <= ' ' || *s == '<' || *s == '>' || *s == 0x7f)
            return false;
    return true;
}

/* probe_str - a string key with a validity check */
static void
probe_str(struct sw_cfctx *cx, config_setting_t *g, const char *pp, const char *key, char **out,
          bool (*ok)(const char *), const char *what)
{
    if (sw_cf_str(cx, g, pp, key, false, out) && *out && ok && !ok(*out))
        sw_cf_error(cx, config_setting_get_member(g, key), pp, "%s \"%s\": %s", key, *out, what);
}

/* valid_rcpt, valid_from - adapters for probe_str */
static bool
valid_rcpt(const char *s)
{
    return valid_address(s, false);
}

static bool
valid_from(const char *s)
{
    return valid_address(s, true);
}

/* sw_conf_parse_probe - relays[N].probe, and the nexthop's parts */
void
sw_conf_parse_probe(struct sw_cfctx *cx, config_setting_t *relay, const char *path,
                    struct sw_relay *r)
{
    struct sw_probe_conf *pc = &r->probe;
    config_setting_t *g = sw_cf_member(cx, relay, path, "probe", CONFIG_TYPE_GROUP);
    char pp[128], host[SW_HOST_MAX_CONF + 1];

    pc->interval = SW_DEF_PROBE_INTERVAL;
    pc->timeout = SW_DEF_PROBE_TIMEOUT;
    pc->backoff_max = SW_DEF_PROBE_BACKOFF;
    pc->fall = pc->rise = 2;
    if (r->nexthop && sw_nexthop_split(r->nexthop, host, sizeof(host), &r->port, &r->mx)
        && (r->host = strdup(host)) == NULL)
        sw_cf_error(cx, relay, path, "out of memory");
    if (g == NULL)
        return;
    (void) snprintf(pp, sizeof(pp), "%s.probe", path);
    pc->enabled = true;
    sw_cf_check_keys(cx, g, pp, probe_keys);
    (void) sw_cf_bool(cx, g, pp, "enabled", &pc->enabled);
    (void) sw_cf_duration(cx, g, pp, "interval", &pc->interval);
    (void) sw_cf_duration(cx, g, pp, "timeout", &pc->timeout);
    (void) sw_cf_duration(cx, g, pp, "backoff_max", &pc->backoff_max);
    (void) sw_cf_int(cx, g, pp, "fall", 1, 100, &pc->fall);
    (void) sw_cf_int(cx, g, pp, "rise", 1, 100, &pc->rise);
    (void) sw_cf_bool(cx, g, pp, "starttls", &pc->starttls);
    (void) sw_cf_bool(cx, g, pp, "verify", &pc->verify);
    if (sw_cf_str(cx, g, pp, "ca_file", false, &pc->ca_file) && pc->ca_file
        && access(pc->ca_file, R_OK) != 0)
        sw_cf_error(cx, config_setting_get_member(g, "ca_file"), pp, "ca_file \"%s\": %s",
                    pc->ca_file, "cannot be read");
    probe_str(cx, g, pp, "name", &pc->name, valid_word, "not a host name");
    probe_str(cx, g, pp, "helo", &pc->helo, valid_word, "not a host name");
    probe_str(cx, g, pp, "mail_from", &pc->mail_from, valid_from, "not an address");
    probe_str(cx, g, pp, "rcpt", &pc->rcpt, valid_rcpt, "not an address");
    if (pc->verify && !pc->starttls)
        sw_cf_error(cx, config_setting_get_member(g, "verify"), pp,
                    "verify = true needs starttls = true");
    if (pc->timeout >= pc->interval)
        sw_cf_error(cx, g, pp, "timeout (%lds) must be shorter than interval (%lds)", pc->timeout,
                    pc->interval);
    if (pc->backoff_max < pc->interval)
        pc->backoff_max = pc->interval;
}

/* sw_conf_parse_dns - the dns { } group */
void
sw_conf_parse_dns(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c)
{
    config_setting_t *g = sw_cf_member(cx, root, "", "dns", CONFIG_TYPE_GROUP);

    c->dns.timeout = SW_DEF_DNS_TIMEOUT;
    c->dns.min_ttl = SW_DEF_DNS_MIN_TTL;
    c->dns.max_ttl = SW_DEF_DNS_MAX_TTL;
    if (g == NULL)
        return;
    sw_cf_check_keys(cx, g, "dns", dns_keys);
    if (sw_cf_str(cx, g, "dns", "resolver", false, &c->dns.resolver) && c->dns.resolver
        && !sw_resolver_valid(c->dns.resolver))
        sw_cf_error(cx, config_setting_get_member(g, "resolver"), "dns.resolver",
                    "\"%s\": expected a numeric IP address, IP:PORT or [IPv6]:PORT",
                    c->dns.resolver);
    (void) sw_cf_duration(cx, g, "dns", "timeout", &c->dns.timeout);
    (void) sw_cf_duration(cx, g, "dns", "min_ttl", &c->dns.min_ttl);
    (void) sw_cf_duration(cx, g, "dns", "max_ttl", &c->dns.max_ttl);
    if (c->dns.max_ttl < c->dns.min_ttl)
        sw_cf_error(cx, g, "dns", "max_ttl is shorter than min_ttl");
}

/* sw_conf_parse_dnsbl - the dnsbl { } group */
void
sw_conf_parse_dnsbl(struct sw_cfctx *cx, const config_setting_t *root, struct sw_conf *c)
{
    config_setting_t *g = sw_cf_member(cx, root, "", "dnsbl", CONFIG_TYPE_GROUP);
    size_t i;

    c->dnsbl.interval = SW_DEF_DNSBL_INTERVAL;
    c->dnsbl.alternates = true;
    if (g == NULL)
        return;
    sw_cf_check_keys(cx, g, "dnsbl", dnsbl_keys);
    sw_cf_strv(cx, g, "dnsbl", "zones", false, &c->dnsbl.zones);
    for (i = 0; i < c->dnsbl.zones.n; i++)
        if (!valid_word(c->dnsbl.zones.v[i]) || strchr(c->dnsbl.zones.v[i], '.') == NULL)
            sw_cf_error(cx, config_setting_get_member(g, "zones"), "dnsbl.zones",
                        "\"%s\" is not a DNS zone name", c->dnsbl.zones.v[i]);
    if (sw_cf_str(cx, g, "dnsbl", "resolver", false, &c->dnsbl.resolver) && c->dnsbl.resolver
        && !sw_resolver_valid(c->dnsbl.resolver))
        sw_cf_error(cx, config_setting_get_member(g, "resolver"), "dnsbl.resolver",
                    "\"%s\": expected a numeric IP address, IP:PORT or [IPv6]:PORT",
                    c->dnsbl.resolver);
    (void) sw_cf_duration(cx, g, "dnsbl", "interval", &c->dnsbl.interval);
    (void) sw_cf_bool(cx, g, "dnsbl", "alternates", &c->dnsbl.alternates);
}

/* sw_conf_free_health - what the three groups allocated */
void
sw_conf_free_health(struct sw_conf *c)
{
    struct sw_probe_conf *pc;
    size_t i;

    for (i = 0; i < c->nrelays; i++) {
        pc = &c->relays[i].probe;
        free(pc->ca_file);
        free(pc->name);
        free(pc->helo);
        free(pc->mail_from);
        free(pc->rcpt);
    }
    free(c->dns.resolver);
    sw_strv_free(&c->dnsbl.zones);
    free(c->dnsbl.resolver);
}
