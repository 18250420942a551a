/* conf_rpath.c - the milter.return_path { } settings (rpath.h) */

/*
 * Off unless domain or subdomain is set.  Same rules as conf.c: every
 * error names file, line and key; defaults are filled here.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "global/conf_get.h"
#include "global/rpath.h"

#define SW_DEF_RP_MAX_AGE (21L * 86400L)

static const char *const return_path_keys[] = { "domain",       "subdomain",       "sender_domains",
                                                "skip_senders", "skip_recipients", "max_age",
                                                NULL };

/* Senders whose bounces are someone else's business: the postmaster, the
 * MTA's own notices (Postfix's double-bounce@), and the list managers'
 * bounce addresses (their software reads them). */
static const char *const default_skip[] = { "postmaster", "mailer-daemon", "double-bounce",
                                            "owner-*",    "*-owner",       "*-request",
                                            "*-bounces",  "*-bounces+*" };

/* domain_ok - lower-case labels with inner dots, no wildcard; a subdomain
 * may be one label, a domain needs two */
static bool
domain_ok(const char *s, bool one_label)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 200 || s[0] == '.' || s[n - 1] == '.')
        return false;
    if (!one_label && strchr(s, '.') == NULL)
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'
              || (s[i] == '.' && s[i + 1] != '.')))
            return false;
    return true;
}

static void
check_domain(struct sw_cfctx *cx, const config_setting_t *g, const char *key, const char *v)
{
    bool sub = strcmp(key, "subdomain") == 0;

    if (v != NULL && !domain_ok(v, sub))
        sw_cf_error(cx, config_setting_get_member(g, key),
                    sub ? "milter.return_path.subdomain" : "milter.return_path.domain",
                    "\"%s\" is not a lower-case %s", v, sub ? "label" : "domain name");
}

/* sw_conf_parse_rpath - milter.return_path { } inside milter { } */
void
sw_conf_parse_rpath(struct sw_cfctx *cx, const config_setting_t *milter, struct sw_conf *c)
{
    struct sw_rpath_conf *rp = &c->milter.rp;
    const char *path = "milter.return_path";
    config_setting_t *g;

    rp->max_age = SW_DEF_RP_MAX_AGE;
    g = milter ? sw_cf_member(cx, milter, "milter", "return_path", CONFIG_TYPE_GROUP) : NULL;
    if (g == NULL)
        return;
    sw_cf_check_keys(cx, g, path, return_path_keys);
    sw_cf_str(cx, g, path, "domain", false, &rp->domain);
    sw_cf_str(cx, g, path, "subdomain", false, &rp->subdomain);
    sw_cf_strv(cx, g, path, "sender_domains", false, &rp->sender_domains);
    if (config_setting_get_member(g, "skip_senders") != NULL)
        sw_cf_strv(cx, g, path, "skip_senders", false, &rp->skip_senders); /* [] : none */
    else
        sw_cf_strv_default(cx, &rp->skip_senders, default_skip,
                           sizeof(default_skip) / sizeof(default_skip[0]));
    sw_cf_strv(cx, g, path, "skip_recipients", false, &rp->skip_recipients);
    sw_cf_duration(cx, g, path, "max_age", &rp->max_age);
    if (rp->max_age < 86400 || rp->max_age > 365L * 86400L)
        sw_cf_error(cx, config_setting_get_member(g, "max_age"), "milter.return_path.max_age",
                    "must be between 1d and 365d");
    check_domain(cx, g, "domain", rp->domain);
    check_domain(cx, g, "subdomain", rp->subdomain);
    if (rp->domain == NULL && rp->subdomain == NULL)
        sw_cf_error(cx, g, path, "needs domain (one return-path domain) or subdomain (one per "
                                 "sender domain), or remove the group");
    if (rp->subdomain && rp->sender_domains.n == 0)
        sw_cf_error(cx, g, path, "subdomain needs sender_domains: the domains whose "
                                 "\"%s.<domain>\" has this host as MX",
                    rp->subdomain);
    if (!rp->subdomain && rp->sender_domains.n)
        sw_cf_error(cx, config_setting_get_member(g, "sender_domains"),
                    "milter.return_path.sender_domains", "only means something with subdomain");
    if (c->milter.tag_keys == NULL)
        sw_cf_error(cx, g, path, "needs milter.tag_keys: the return-path addresses are signed "
                                 "with the tag keys");
}

void
sw_conf_free_rpath(struct sw_conf *c)
{
    free(c->milter.rp.domain);
    free(c->milter.rp.subdomain);
    sw_strv_free(&c->milter.rp.sender_domains);
    sw_strv_free(&c->milter.rp.skip_senders);
    sw_strv_free(&c->milter.rp.skip_recipients);
}
