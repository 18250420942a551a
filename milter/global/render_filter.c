/* render_filter.c - Postfix pcre tables that keep reputation bounces queued */
#include "config.h"

#include <string.h>

#include "global/classify.h"
#include "global/render_filter.h"

/* Delimiters Postfix pcre tables accept; the first absent from a regex. */
static const char delimiters[] = "/#%!~@;|";

/* delimiter - one that does not occur in re, or 0 */
static char
delimiter(const char *re)
{
    const char *d;

    for (d = delimiters; *d; d++)
        if (strchr(re, *d) == NULL)
            return *d;
    return 0;
}

/* add_quoted_host - a host name as a literal regex */
static bool
add_quoted_host(struct sw_buf *out, const char *nexthop)
{
    const char *p = nexthop[0] == '[' ? nexthop + 1 : nexthop;
    bool ok = true;

    for (; ok && *p && *p != ']' && *p != ':'; p++) {
        if (strchr("\\^$.|?*+()[]{}", *p))
            ok = sw_buf_addc(out, '\\');
        ok = ok && sw_buf_addc(out, *p);
    }
    return ok;
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
        if (cls & (SW_CLASS_REPUTATION | SW_CLASS_THROTTLE) || (d = delimiter(re)) == 0)
            continue;
        ok = comment(out, name, provider, note)
            && sw_buf_printf(out, "%c^(.*(?i:%s).*)$%c $1\n", d, re, d);
    }
    return ok;
}

/* each_rule - call emit for every primary relay and diverting pattern */
static bool
each_rule(const struct sw_conf *c, struct sw_buf *out,
          bool (*emit)(struct sw_buf *, char, const char *, const char *))
{
    const char *name, *re, *provider, *note;
    unsigned cls;
    size_t i, k;
    bool ok = true;
    char d;

    ok = sw_buf_adds(out, "# spillway: generated from the pattern library; do not edit\n");
    if (c->patterns == NULL)
        return ok;
    ok = ok && exclusions(c, out);
    for (k = 0; ok && k < c->nrelays; k++) {
        if (c->relays[k].role != SW_ROLE_PRIMARY)
            continue;
        for (i = 0; ok && sw_patterns_get(c->patterns, i, &name, &cls, &re, &provider, &note);
             i++) {
            if (!(cls & (SW_CLASS_REPUTATION | SW_CLASS_THROTTLE)))
                continue;
            if ((d = delimiter(re)) == 0)
                continue; /* cannot be written as a Postfix pcre rule */
            ok = comment(out, name, provider, note) && emit(out, d, c->relays[k].nexthop, re);
        }
    }
    return ok;
}

/* dsn_rule - 5.X.Y from this host with this text: 4.X.Y, text kept */
static bool
dsn_rule(struct sw_buf *out, char d, const char *nexthop, const char *re)
{
    return sw_buf_printf(out, "%c^5(\\.[0-9]{1,3}\\.[0-9]{1,3} host ", d)
           && add_quoted_host(out, nexthop)
           && sw_buf_printf(out, "\\[[^]]*\\] said: 5[0-9][0-9][ -].*(?i:%s).*)$%c 4$1\n", re, d);
}

/* reply_rule - "550 5.7.606 text" to "450 4.7.606 text", and without an
 * enhanced code "554 text" to "454 text" */
static bool
reply_rule(struct sw_buf *out, char d, const char *nexthop, const char *re)
{
    (void) nexthop; /* the table is set on the primary's own transport */
    return sw_buf_printf(
               out, "%c^5([0-9][0-9][ -])5(\\.[0-9]{1,3}\\.[0-9]{1,3} .*(?i:%s).*)$%c 4${1}4$2\n",
               d, re, d)
           && sw_buf_printf(out, "%c^5([0-9][0-9][ -](?![245]\\.).*(?i:%s).*)$%c 4$1\n", d, re, d);
}

/* sw_render_dsn_filter - the smtp_delivery_status_filter table */
bool
sw_render_dsn_filter(const struct sw_conf *conf, struct sw_buf *out)
{
    return each_rule(conf, out, dsn_rule);
}

/* sw_render_reply_filter - the smtp_reply_filter table */
bool
sw_render_reply_filter(const struct sw_conf *conf, struct sw_buf *out)
{
    return each_rule(conf, out, reply_rule);
}
