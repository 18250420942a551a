/* render_filter.c - Postfix pcre tables that keep reputation bounces queued */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "global/classify.h"
#include "global/health.h"
#include "global/policy.h"
#include "global/render_filter.h"

/* Delimiters Postfix pcre tables accept; the first absent from a rule. */
static const char delimiters[] = "/#%!~@;|";

/* Hosts one primary relay can be named by: its own, plus an address and
 * the host it came from for each resolved address. */
#define SW_FILTER_HOSTS (1 + 2 * SW_HEALTH_ADDRS)

struct hostset {
    const char *v[SW_FILTER_HOSTS];
    size_t n;
};

/* delimiter - one that occurs in neither re nor hosts, or 0 */
static char
delimiter(const char *re, const char *hosts)
{
    const char *d;

    for (d = delimiters; *d; d++)
        if (strchr(re, *d) == NULL && strchr(hosts, *d) == NULL)
            return *d;
    return 0;
}

/* host_ok - a host name or address as Postfix prints it, and nothing that
 * could end a table line or a pattern: names come from DNS answers */
static bool
host_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z')
              || (s[n] >= '0' && s[n] <= '9') || strchr(".-_:", s[n])))
            return false;
    return n > 0 && n <= SW_HOST_MAX;
}

/* hostset_has - DNS names compare without case */
static bool
hostset_has(const struct hostset *hs, const char *s)
{
    size_t i;

    for (i = 0; i < hs->n; i++)
        if (strcasecmp(hs->v[i], s) == 0)
            return true;
    return false;
}

/* hostset_add - once each, usable names only */
static void
hostset_add(struct hostset *hs, const char *s)
{
    if (s && hs->n < SW_FILTER_HOSTS && host_ok(s) && !hostset_has(hs, s))
        hs->v[hs->n++] = s;
}

/* alternate_host - s is a host of a relay that is not a primary: its own
 * host, an address it resolved to or a host it was resolved from; a rule
 * naming it would hold that relay's refusals, which spillway does not route */
static bool
alternate_host(const struct sw_policy *p, const char *s)
{
    const struct sw_relay_health *h;
    const struct sw_relay *r;
    size_t k, i;

    for (k = 0; k < p->conf->nrelays; k++) {
        r = &p->conf->relays[k];
        if (r->role == SW_ROLE_PRIMARY)
            continue;
        if (r->host && strcasecmp(r->host, s) == 0)
            return true;
        for (h = sw_policy_health(p, r), i = 0; h && i < h->naddrs; i++)
            if (strcasecmp(h->addr[i].ip, s) == 0 || strcasecmp(h->addr[i].name, s) == 0)
                return true;
    }
    return false;
}

/* add_quoted_host - a host name or address as a literal regex; an IPv6
 * address also as Postfix writes a literal, "ipv6:2001:db8::1" */
static bool
add_quoted_host(struct sw_buf *out, const char *host)
{
    const char *p;
    bool ok = !strchr(host, ':') || sw_buf_adds(out, "(?:ipv6:)?");

    for (p = host; ok && *p; p++) {
        if (strchr(".:", *p))
            ok = sw_buf_addc(out, '\\');
        ok = ok && sw_buf_addc(out, *p);
    }
    return ok;
}

/* primary_hosts - "(?:NAME|...)", every way Postfix names the relay's hosts
 * in "host NAME[ADDR] said:": the configured host (a bracketed name, or an
 * MX-style domain without MX records), and from the relay's health each
 * resolved address (answers name the up addresses of a partial relay:
 * "host 192.0.2.1[192.0.2.1]") and the host it was resolved from (an MX
 * host: "host mx1.example.net[192.0.2.1]").  Every resolved address is
 * listed, up or not, so the table changes only when the set does. */
static bool
primary_hosts(const struct sw_policy *p, const struct sw_relay *relay, struct sw_buf *out)
{
    const struct sw_relay_health *h = sw_policy_health(p, relay);
    struct hostset hs = { .n = 0 };
    size_t i;
    bool ok;

    hostset_add(&hs, relay->host);
    for (i = 0; h && i < h->naddrs; i++) {
        if (!alternate_host(p, h->addr[i].ip))
            hostset_add(&hs, h->addr[i].ip);
        if (!alternate_host(p, h->addr[i].name))
            hostset_add(&hs, h->addr[i].name);
    }
    if (hs.n == 0)
        return true; /* nothing Postfix could name: no rule */
    ok = sw_buf_adds(out, "(?:");
    for (i = 0; ok && i < hs.n; i++)
        ok = (i == 0 || sw_buf_addc(out, '|')) && add_quoted_host(out, hs.v[i]);
    return ok && sw_buf_addc(out, ')');
}

/* comment - "# name (provider): note" */
static bool
comment(struct sw_buf *out, const char *name, const char *provider, const char *note)
{
    return sw_buf_printf(out, "# %s (%s): ", name, provider ? provider : "-")
           && sw_buf_add_escaped(out, note ? note : "", 200) && sw_buf_addc(out, '\n');
}

/* exclusions - "other" patterns first, passed through unchanged: the
 * first matching rule wins in a pcre table, so a spam verdict that also
 * names a blocklist ("... blocked using zen.spamhaus.org") keeps its 5xx,
 * exactly as the classifier calls it other */
static bool
exclusions(const struct sw_conf *c, struct sw_buf *out)
{
    const char *name, *re, *provider, *note;
    unsigned cls;
    size_t i;
    bool ok = true;
    char d;

    for (i = 0; ok && sw_patterns_get(c->patterns, i, &name, &cls, &re, &provider, &note); i++) {
        if (cls & (SW_CLASS_REPUTATION | SW_CLASS_THROTTLE) || (d = delimiter(re, "")) == 0)
            continue;
        ok = comment(out, name, provider, note)
            && sw_buf_printf(out, "%c^(.*(?i:%s).*)$%c $1\n", d, re, d);
    }
    return ok;
}

/* each_rule - call emit for every primary relay and diverting pattern */
static bool
each_rule(const struct sw_policy *p, struct sw_buf *out,
          bool (*emit)(struct sw_buf *, char, const char *, const char *))
{
    const struct sw_conf *c = p->conf;
    const char *name, *re, *provider, *note;
    struct sw_buf hosts;
    unsigned cls;
    size_t i, k;
    bool ok = true;
    char d;

    ok = sw_buf_adds(out, "# spillway: generated from the pattern library; do not edit\n");
    if (c->patterns == NULL)
        return ok;
    ok = ok && exclusions(c, out);
    sw_buf_init(&hosts, 64 * 1024);
    for (k = 0; ok && k < c->nrelays; k++) {
        if (c->relays[k].role != SW_ROLE_PRIMARY)
            continue;
        sw_buf_reset(&hosts);
        if (!(ok = primary_hosts(p, &c->relays[k], &hosts)))
            break;
        for (i = 0; ok && sw_patterns_get(c->patterns, i, &name, &cls, &re, &provider, &note);
             i++) {
            if (!(cls & (SW_CLASS_REPUTATION | SW_CLASS_THROTTLE)))
                continue;
            if ((d = delimiter(re, sw_buf_str(&hosts))) == 0)
                continue; /* cannot be written as a Postfix pcre rule */
            ok = comment(out, name, provider, note) && emit(out, d, sw_buf_str(&hosts), re);
        }
    }
    sw_buf_free(&hosts);
    return ok;
}

/* dsn_rule - 5.X.Y from one of these hosts with this text: 4.X.Y, text
 * kept.  Caseless by "(?i)" in the pattern, not by a flag: Postfix pcre
 * tables are caseless by default and the "i" flag would turn that off. */
static bool
dsn_rule(struct sw_buf *out, char d, const char *hosts, const char *re)
{
    if (*hosts == '\0')
        return true; /* no host Postfix could name: no rule */
    return sw_buf_printf(out,
                         "%c(?i)^5(\\.[0-9]{1,3}\\.[0-9]{1,3} host %s\\[[^]]*\\] said: "
                         "5[0-9][0-9][ -].*(?i:%s).*)$%c 4$1\n",
                         d, hosts, re, d);
}

/* reply_rule - "550 5.7.606 text" to "450 4.7.606 text", and without an
 * enhanced code "554 text" to "454 text" */
static bool
reply_rule(struct sw_buf *out, char d, const char *hosts, const char *re)
{
    (void) hosts; /* the table is set on the primary's own transport */
    return sw_buf_printf(
               out, "%c^5([0-9][0-9][ -])5(\\.[0-9]{1,3}\\.[0-9]{1,3} .*(?i:%s).*)$%c 4${1}4$2\n",
               d, re, d)
           && sw_buf_printf(out, "%c^5([0-9][0-9][ -](?![245]\\.).*(?i:%s).*)$%c 4$1\n", d, re, d);
}

/* sw_render_dsn_filter - the smtp_delivery_status_filter table */
bool
sw_render_dsn_filter(const struct sw_policy *p, struct sw_buf *out)
{
    return each_rule(p, out, dsn_rule);
}

/* sw_render_reply_filter - the smtp_reply_filter table */
bool
sw_render_reply_filter(const struct sw_policy *p, struct sw_buf *out)
{
    return each_rule(p, out, reply_rule);
}
