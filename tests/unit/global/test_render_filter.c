/* test_render_filter.c - dsn-filter.pcre as Postfix applies it (render_filter.h) */

/*
 * Each case configures a primary relay (and an alternate), gives the
 * relays the addresses and host names the resolver found (health.h),
 * renders the smtp_delivery_status_filter table with the shipped pattern
 * library, and looks a status key up in it the way Postfix's pcre table
 * does: every line compiled with PCRE2, caseless (Postfix's default), the
 * first matching rule wins and $N in its result is replaced.  The table is
 * also applied with the caseless option off: its rules must not depend on
 * that default.
 *
 * Paths: SW_PATTERNS (default $srcdir/conf/patterns.conf).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "global/conf.h"
#include "global/health.h"
#include "global/policy.h"
#include "global/render_filter.h"

#define T_PATH_MAX 4096
#define T_ADDRS    6
#define T_OUT_MAX  2048

/* The reply of a banned egress IP (Microsoft 365), as Postfix logs it. */
#define BANNED                                                                              \
    "said: 550 5.7.606 Access denied, banned sending IP [40.107.1.2] (in reply to RCPT TO " \
    "command)"
#define DEFER   "4.7.606 host "
#define REFUSED "5.7.606 host "

struct addr {
    const char *relay; /* "prim" or "alt" */
    const char *ip;
    const char *name; /* the host it was resolved from */
};

struct filter_case {
    const char *what;
    const char *primary;   /* the primary's nexthop */
    const char *alternate; /* the alternate's nexthop */
    struct addr addrs[T_ADDRS];
    const char *key;  /* what Postfix looks up */
    const char *want; /* the result; NULL: no rule matches (the status stays) */
};

static const struct filter_case cases[] = {
    /* Today's plain case: the configured name, nothing resolved yet. */
    { "bracketed name, unresolved",
      "[relay.example]:25",
      "[alt.example]:25",
      { { 0 } },
      REFUSED "relay.example[192.0.2.1] " BANNED,
      DEFER "relay.example[192.0.2.1] " BANNED },
    { "bracketed name, resolved",
      "[relay.example]:2525",
      "[alt.example]:25",
      { { "prim", "192.0.2.1", "relay.example" }, { "prim", "192.0.2.2", "relay.example" } },
      REFUSED "relay.example[192.0.2.2] " BANNED,
      DEFER "relay.example[192.0.2.2] " BANNED },
    /* An MX-style nexthop: Postfix names the MX host it connected to. */
    { "MX-style nexthop, MX host",
      "example.net",
      "[alt.example]:25",
      { { "prim", "192.0.2.10", "mx1.mail.example.org" },
        { "prim", "192.0.2.11", "mx2.mail.example.org" } },
      REFUSED "mx2.mail.example.org[192.0.2.11] " BANNED,
      DEFER "mx2.mail.example.org[192.0.2.11] " BANNED },
    { "MX-style nexthop without MX records: the name itself",
      "example.net:2525",
      "[alt.example]:25",
      { { "prim", "192.0.2.10", "example.net" } },
      REFUSED "example.net[192.0.2.10] " BANNED,
      DEFER "example.net[192.0.2.10] " BANNED },
    { "MX-style nexthop, a host it did not resolve",
      "example.net",
      "[alt.example]:25",
      { { "prim", "192.0.2.10", "mx1.mail.example.org" } },
      REFUSED "mx9.other.example[192.0.2.99] " BANNED,
      NULL },
    /* A partial primary answered by its up addresses: the address is the name. */
    { "partial primary by address (IPv4)",
      "[relay.example]:25",
      "[alt.example]:25",
      { { "prim", "192.0.2.1", "relay.example" },
        { "prim", "192.0.2.2", "relay.example" },
        { "prim", "192.0.2.3", "relay.example" } },
      REFUSED "192.0.2.3[192.0.2.3] " BANNED,
      DEFER "192.0.2.3[192.0.2.3] " BANNED },
    { "partial primary by address (IPv6)",
      "[relay.example]:25",
      "[alt.example]:25",
      { { "prim", "2001:db8::25", "relay.example" }, { "prim", "2001:db8::26", "relay.example" } },
      REFUSED "2001:db8::26[2001:db8::26] " BANNED,
      DEFER "2001:db8::26[2001:db8::26] " BANNED },
    { "partial primary by address (IPv6 literal as Postfix writes it)",
      "[relay.example]:25",
      "[alt.example]:25",
      { { "prim", "2001:db8::25", "relay.example" } },
      REFUSED "ipv6:2001:db8::25[2001:db8::25] " BANNED,
      DEFER "ipv6:2001:db8::25[2001:db8::25] " BANNED },
    { "IPv6 literal nexthop",
      "[ipv6:2001:db8::7]:25",
      "[alt.example]:25",
      { { 0 } },
      REFUSED "2001:db8::7[2001:db8::7] " BANNED,
      DEFER "2001:db8::7[2001:db8::7] " BANNED },
    /* Case: DNS names have none, and Postfix prints what the answer said. */
    { "mixed case in Postfix's text",
      "[Relay.Example]:25",
      "[alt.example]:25",
      { { "prim", "192.0.2.10", "MX1.mail.example.ORG" } },
      "5.7.606 host mx1.Mail.Example.org[192.0.2.10] said: 550 5.7.606 ACCESS DENIED, BANNED "
      "SENDING IP [40.107.1.2]",
      "4.7.606 host mx1.Mail.Example.org[192.0.2.10] said: 550 5.7.606 ACCESS DENIED, BANNED "
      "SENDING IP [40.107.1.2]" },
    { "mixed case, configured name",
      "[Relay.Example]:25",
      "[alt.example]:25",
      { { 0 } },
      REFUSED "RELAY.example[192.0.2.1] " BANNED,
      DEFER "RELAY.example[192.0.2.1] " BANNED },
    /* Every name and address is a literal: a dot is not "any character". */
    { "metacharacters: dots in a name",
      "[relay1.example]:25",
      "[alt.example]:25",
      { { "prim", "192.0.2.1", "relay1.example" } },
      REFUSED "relay1xexample[192.0.2.1] " BANNED,
      NULL },
    { "metacharacters: dots in an address",
      "[relay.example]:25",
      "[alt.example]:25",
      { { "prim", "192.0.2.1", "relay.example" } },
      REFUSED "192a0b2c1[192.0.2.1] " BANNED,
      NULL },
    { "metacharacters: an address is not a prefix",
      "[relay.example]:25",
      "[alt.example]:25",
      { { "prim", "192.0.2.1", "relay.example" } },
      REFUSED "192.0.2.10[192.0.2.10] " BANNED,
      NULL },
    { "metacharacters: IPv6 colons",
      "[relay.example]:25",
      "[alt.example]:25",
      { { "prim", "2001:db8::25", "relay.example" } },
      REFUSED "2001xdb8::25[2001:db8::25] " BANNED,
      NULL },
    { "a DNS name that would break the table is left out",
      "example.net",
      "[alt.example]:25",
      { { "prim", "192.0.2.10", "evil|.*" }, { "prim", "192.0.2.11", "mx/ 4$1\n/.*" } },
      REFUSED "anything[192.0.2.99] " BANNED,
      NULL },
    { "a DNS name that would break the table: the others still match",
      "example.net",
      "[alt.example]:25",
      { { "prim", "192.0.2.10", "evil|.*" }, { "prim", "192.0.2.11", "mx1.example.net" } },
      REFUSED "192.0.2.10[192.0.2.10] " BANNED,
      DEFER "192.0.2.10[192.0.2.10] " BANNED },
    /* Not widened: an alternate's refusals bounce as before. */
    { "an alternate's 550",
      "[relay.example]:25",
      "[alt.example]:25",
      { { "prim", "192.0.2.1", "relay.example" }, { "alt", "198.51.100.7", "alt.example" } },
      REFUSED "alt.example[198.51.100.7] " BANNED,
      NULL },
    { "an alternate's 550, by its address",
      "[relay.example]:25",
      "[alt.example]:25",
      { { "prim", "192.0.2.1", "relay.example" }, { "alt", "198.51.100.7", "alt.example" } },
      REFUSED "198.51.100.7[198.51.100.7] " BANNED,
      NULL },
    { "an address both resolve to is the alternate's",
      "example.net",
      "[alt.example]:25",
      { { "prim", "198.51.100.7", "mx1.example.net" }, { "alt", "198.51.100.7", "alt.example" } },
      REFUSED "198.51.100.7[198.51.100.7] " BANNED,
      NULL },
    { "... but the primary's MX host name still matches",
      "example.net",
      "[alt.example]:25",
      { { "prim", "198.51.100.7", "mx1.example.net" }, { "alt", "198.51.100.7", "alt.example" } },
      REFUSED "mx1.example.net[198.51.100.7] " BANNED,
      DEFER "mx1.example.net[198.51.100.7] " BANNED },
    /* What the table did before, unchanged. */
    { "a spam verdict naming a blocklist keeps its 5xx",
      "[relay.example]:25",
      "[alt.example]:25",
      { { "prim", "192.0.2.1", "relay.example" } },
      "5.7.1 host 192.0.2.1[192.0.2.1] said: 550 5.7.1 Message looks like spam; client blocked "
      "using zen.spamhaus.org",
      "5.7.1 host 192.0.2.1[192.0.2.1] said: 550 5.7.1 Message looks like spam; client blocked "
      "using zen.spamhaus.org" },
    { "a success is left alone",
      "[relay.example]:25",
      "[alt.example]:25",
      { { "prim", "192.0.2.1", "relay.example" } },
      "2.0.0 host 192.0.2.1[192.0.2.1] said: 250 2.0.0 Ok: queued as ABC",
      NULL },
    { "a 4xx is left alone",
      "[relay.example]:25",
      "[alt.example]:25",
      { { "prim", "192.0.2.1", "relay.example" } },
      "4.7.0 host 192.0.2.1[192.0.2.1] said: 421 4.7.0 Too many connections from this IP",
      NULL },
};

/* patterns_path - $SW_PATTERNS or the shipped library under $srcdir */
static const char *
patterns_path(char *buf, size_t size)
{
    const char *e = getenv("SW_PATTERNS"), *d = getenv("srcdir");

    if (e && *e)
        (void) snprintf(buf, size, "%s", e);
    else
        (void) snprintf(buf, size, "%s/conf/patterns.conf", d && *d ? d : ".");
    return buf;
}

/* load - the case's configuration */
static struct sw_conf *
load(const struct filter_case *c)
{
    char path[T_PATH_MAX];
    struct sw_buf text, err;
    struct sw_conf *conf;

    sw_buf_init(&text, 64 * 1024);
    sw_buf_init(&err, 64 * 1024);
    assert_true(sw_buf_printf(&text,
                              "classify: { patterns = \"%s\"; };\n"
                              "pools = ( { name = \"p\"; relays = [\"prim\"]; } );\n"
                              "relays = (\n"
                              "  { name = \"prim\"; nexthop = \"%s\"; role = \"primary\"; },\n"
                              "  { name = \"alt\"; nexthop = \"%s\"; role = \"alternate\"; }\n"
                              ");\n",
                              patterns_path(path, sizeof(path)), c->primary, c->alternate));
    conf = sw_conf_load_string(sw_buf_str(&text), "filter.conf", &err);
    if (conf == NULL)
        print_error("%s: configuration does not load:\n%s\n", c->what, sw_buf_str(&err));
    assert_non_null(conf);
    sw_buf_free(&text);
    sw_buf_free(&err);
    return conf;
}

/* resolve - give each relay the case's addresses, as routed_resolve.c does */
static void
resolve(const struct filter_case *c, const struct sw_conf *conf, struct sw_relay_health *h)
{
    char ips[T_ADDRS][SW_IP_MAX + 1], names[T_ADDRS][SW_HOST_MAX + 1];
    const struct sw_relay *r;
    size_t k, i, n;

    for (k = 0; k < conf->nrelays; k++) {
        r = &conf->relays[k];
        for (i = n = 0; i < T_ADDRS && c->addrs[i].relay; i++) {
            if (strcmp(c->addrs[i].relay, r->name) != 0)
                continue;
            SW_COPY(ips[n], c->addrs[i].ip);
            SW_COPY(names[n], c->addrs[i].name);
            n++;
        }
        if (n > 0)
            assert_true(sw_health_set_addrs(&h[k], (const char(*)[SW_IP_MAX + 1]) ips,
                                            (const char(*)[SW_HOST_MAX + 1]) names, n, 1000));
    }
}

/* expand - Postfix's $N and ${N} in a result */
static void
expand(const char *result, const char *key, const PCRE2_SIZE *ov, uint32_t npairs,
       struct sw_buf *out)
{
    const char *p = result;
    unsigned long n;
    char *end;

    while (*p) {
        if (*p != '$') {
            assert_true(sw_buf_addc(out, *p++));
            continue;
        }
        p++;
        n = strtoul(p + (*p == '{'), &end, 10);
        assert_true(end != p + (*p == '{'));
        if (*p == '{') {
            assert_int_equal(*end, '}');
            end++;
        }
        p = end;
        if (n < npairs && ov[2 * n] != PCRE2_UNSET)
            assert_true(sw_buf_add(out, key + ov[2 * n], ov[2 * n + 1] - ov[2 * n]));
    }
}

/* lookup - the table applied to key the way Postfix's pcre map does: the
 * first line whose pattern matches gives the result; false if none */
static bool
lookup(const char *table, const char *key, uint32_t options, struct sw_buf *out)
{
    const char *line = table, *nl, *close, *result;
    char pattern[T_OUT_MAX * 8], rest[T_OUT_MAX];
    pcre2_match_data *md;
    pcre2_code *re;
    PCRE2_SIZE erroff;
    size_t plen, rlen;
    bool found = false;
    int rc, errcode;

    for (; !found && *line; line = *nl ? nl + 1 : nl) {
        nl = strchr(line, '\n');
        if (nl == NULL)
            nl = line + strlen(line);
        if (*line == '#' || line == nl)
            continue;
        /* /pattern/ result: the delimiter is never inside the pattern */
        close = memchr(line + 1, *line, (size_t) (nl - line - 1));
        assert_non_null(close);
        assert_int_equal(close[1], ' ');
        plen = (size_t) (close - line - 1);
        assert_true(plen < sizeof(pattern));
        memcpy(pattern, line + 1, plen);
        pattern[plen] = '\0';
        result = close + 2;
        rlen = (size_t) (nl - result);
        assert_true(rlen < sizeof(rest));
        memcpy(rest, result, rlen);
        rest[rlen] = '\0';
        re = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED, options, &errcode, &erroff,
                           NULL);
        if (re == NULL) {
            PCRE2_UCHAR msg[256];

            (void) pcre2_get_error_message(errcode, msg, sizeof(msg));
            print_error("rule does not compile at %zu (%s): %s\n", (size_t) erroff, msg, pattern);
        }
        assert_non_null(re);
        md = pcre2_match_data_create_from_pattern(re, NULL);
        assert_non_null(md);
        rc = pcre2_match(re, (PCRE2_SPTR) key, strlen(key), 0, 0, md, NULL);
        if (rc > 0) {
            expand(rest, key, pcre2_get_ovector_pointer(md), pcre2_get_ovector_count(md), out);
            found = true;
        } else {
            assert_int_equal(rc, PCRE2_ERROR_NOMATCH);
        }
        pcre2_match_data_free(md);
        pcre2_code_free(re);
    }
    return found;
}

/* check - one case: the table compiles, the key gives the wanted result
 * with and without Postfix's caseless default; false (and why) if not */
static bool
check(const struct filter_case *c)
{
    static const uint32_t options[] = { PCRE2_CASELESS, 0 };
    struct sw_relay_health *h;
    struct sw_policy p;
    struct sw_buf table, out;
    struct sw_conf *conf;
    size_t i;
    bool found, ok = true;

    conf = load(c);
    h = calloc(conf->nrelays, sizeof(*h));
    assert_non_null(h);
    resolve(c, conf, h);
    p = (struct sw_policy){ .conf = conf, .health = h };
    sw_buf_init(&table, 16 * 1024 * 1024);
    assert_true(sw_render_dsn_filter(&p, &table));
    for (i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        sw_buf_init(&out, T_OUT_MAX);
        found = lookup(sw_buf_str(&table), c->key, options[i], &out);
        if (c->want == NULL ? found : !found || strcmp(sw_buf_str(&out), c->want) != 0) {
            print_error("%s%s:\n  key  %s\n  got  %s\n  want %s\n", c->what,
                        options[i] ? "" : " (case-sensitive)", c->key,
                        found ? sw_buf_str(&out) : "(no match)", c->want ? c->want : "(no match)");
            ok = false;
        }
        sw_buf_free(&out);
    }
    sw_buf_free(&table);
    free(h);
    sw_conf_free(conf);
    return ok;
}

/* test_dsn_filter_table - every case, then the count of failures */
static void
test_dsn_filter_table(void **state)
{
    size_t i, failed = 0;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        failed += !check(&cases[i]);
    assert_int_equal(failed, 0);
}

/* test_no_health - without health (spillwayctl, tests) the configured
 * name still gets its rule, and the reply filter is unchanged by hosts */
static void
test_no_health(void **state)
{
    const struct filter_case *c = &cases[0];
    struct sw_buf table, out;
    struct sw_policy p;
    struct sw_conf *conf;

    (void) state;
    conf = load(c);
    p = (struct sw_policy){ .conf = conf };
    sw_buf_init(&table, 16 * 1024 * 1024);
    sw_buf_init(&out, T_OUT_MAX);
    assert_true(sw_render_dsn_filter(&p, &table));
    assert_true(lookup(sw_buf_str(&table), c->key, PCRE2_CASELESS, &out));
    assert_string_equal(sw_buf_str(&out), c->want);
    sw_buf_reset(&table);
    sw_buf_reset(&out);
    assert_true(sw_render_reply_filter(&p, &table));
    assert_true(lookup(sw_buf_str(&table),
                       "550 5.7.606 Access denied, banned sending IP [40.107.1.2]", PCRE2_CASELESS,
                       &out));
    assert_string_equal(sw_buf_str(&out),
                        "450 4.7.606 Access denied, banned sending IP [40.107.1.2]");
    sw_buf_free(&table);
    sw_buf_free(&out);
    sw_conf_free(conf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dsn_filter_table),
        cmocka_unit_test(test_no_health),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
