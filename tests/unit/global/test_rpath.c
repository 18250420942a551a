/* test_rpath.c - return-path addresses: make, verify, restore (rpath.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "global/analyze.h"
#include "global/rpath.h"
#include "global/rpath_dns.h"
#include "global/sockmap.h"

#define K1  "2026b 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
#define K2  "2026a ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n"
#define NOW 1763812345L /* day 20414 */
#define DAY 86400L

static struct sw_tag_keys
keys_of(const char *text)
{
    struct sw_tag_keys k;
    struct sw_buf err;

    sw_buf_init(&err, 1024);
    if (!sw_tag_keys_parse(text, strlen(text), "keys", &k, &err))
        fail_msg("keys did not parse: %s", sw_buf_str(&err));
    sw_buf_free(&err);
    return k;
}

static char *fixed_skip[] = { "postmaster", "owner-*", "*@lists.example.org" };
static char *sub_domains[] = { "example.org", "*.example.com" };
static char *skip_rcpts[] = { "*@lists.example.com", "announce@*" };

/* conf_of - fixed domain, subdomain form, or both */
static struct sw_rpath_conf
conf_of(bool fixed, bool sub)
{
    struct sw_rpath_conf rp;

    memset(&rp, 0, sizeof(rp));
    rp.domain = fixed ? "bounces.example.net" : NULL;
    rp.subdomain = sub ? "bounces" : NULL;
    if (sub) {
        rp.sender_domains.v = sub_domains;
        rp.sender_domains.n = 2;
    }
    rp.skip_senders.v = fixed_skip;
    rp.skip_senders.n = 3;
    rp.skip_recipients.v = skip_rcpts;
    rp.skip_recipients.n = 2;
    rp.max_age = 21 * DAY;
    return rp;
}

static void
check(const struct sw_rpath_conf *rp, const struct sw_tag_keys *k, const char *rcpt, time_t now,
      enum sw_rpath_state want, const char *sender)
{
    struct sw_rpath_check c;

    sw_rpath_check(rp, k, rcpt, now, &c);
    if (c.state != want)
        fail_msg("%s: %s, want %s", rcpt, sw_rpath_state_name(c.state), sw_rpath_state_name(want));
    if (sender && strcmp(c.sender, sender) != 0)
        fail_msg("%s: restores \"%s\", want \"%s\"", rcpt, c.sender, sender);
}

/* A known answer, computed apart from this code (Python's hmac). */
static void
test_known_answer(void **state)
{
    struct sw_tag_keys k = keys_of(K1);
    struct sw_rpath_conf rp = conf_of(true, false);
    char out[SW_RPATH_ADDR_MAX];

    (void) state;
    assert_int_equal(sw_rpath_make(&rp, &k, "<Jane.Doe@Example.ORG>", NOW, out, sizeof(out)),
                     SW_RPATH_REWRITE);
    assert_string_equal(out, "sw0=rlkp6guk=566=example.org=Jane.Doe@bounces.example.net");
    check(&rp, &k, out, NOW, SW_RPATH_VALID, "Jane.Doe@example.org");
}

static void
test_round_trip(void **state)
{
    struct sw_tag_keys k = keys_of(K1 K2);
    struct sw_rpath_conf rp = conf_of(true, true);
    struct sw_rpath_check c;
    char out[SW_RPATH_ADDR_MAX], upper[SW_RPATH_ADDR_MAX];
    size_t i;

    (void) state;
    /* A sender domain of the subdomain form gets bounces.<its domain>. */
    assert_int_equal(sw_rpath_make(&rp, &k, "jane@example.org", NOW, out, sizeof(out)),
                     SW_RPATH_REWRITE);
    assert_non_null(strstr(out, "=jane@bounces.example.org"));
    assert_memory_equal(out, "sw1=", 4);
    check(&rp, &k, out, NOW + 3 * DAY, SW_RPATH_VALID, "jane@example.org");
    assert_int_equal(sw_rpath_make(&rp, &k, "a=b@mail.example.com", NOW, out, sizeof(out)),
                     SW_RPATH_REWRITE);
    check(&rp, &k, out, NOW, SW_RPATH_VALID, "a=b@mail.example.com");
    /* Any other domain gets the fixed domain. */
    assert_int_equal(sw_rpath_make(&rp, &k, "<bob@other.example>", NOW, out, sizeof(out)),
                     SW_RPATH_REWRITE);
    assert_non_null(strstr(out, "=other.example=bob@bounces.example.net"));
    sw_rpath_check(&rp, &k, out, NOW, &c);
    assert_int_equal(c.state, SW_RPATH_VALID);
    assert_string_equal(c.sender, "bob@other.example");
    assert_int_equal(strlen(c.id), strlen("rp=xxxxxxxx d=20414"));
    assert_memory_equal(c.id, "rp=", 3);
    /* A receiver that folds the case, either way, breaks nothing. */
    for (i = 0; out[i]; i++)
        upper[i] = (char) toupper((unsigned char) out[i]);
    upper[i] = '\0';
    check(&rp, &k, upper, NOW, SW_RPATH_VALID, "BOB@other.example");
    check(&rp, &k, "<SW0=X@BOUNCES.example.net>", NOW, SW_RPATH_INVALID, NULL);
}

static void
test_skips(void **state)
{
    struct sw_tag_keys k = keys_of(K1), none;
    struct sw_rpath_conf rp = conf_of(true, false), sub = conf_of(false, true), off;
    char out[SW_RPATH_ADDR_MAX], tagged[SW_RPATH_ADDR_MAX];

    (void) state;
    memset(&none, 0, sizeof(none));
    memset(&off, 0, sizeof(off));
    assert_int_equal(sw_rpath_make(&rp, &k, "<>", NOW, out, sizeof(out)), SW_RPATH_NULL);
    assert_int_equal(sw_rpath_make(&rp, &k, "", NOW, out, sizeof(out)), SW_RPATH_NULL);
    assert_int_equal(sw_rpath_make(&off, &k, "a@example.org", NOW, out, sizeof(out)), SW_RPATH_OFF);
    assert_int_equal(sw_rpath_make(&rp, &none, "a@example.org", NOW, out, sizeof(out)),
                     SW_RPATH_OFF);
    assert_int_equal(sw_rpath_make(&rp, &k, "PostMaster@example.org", NOW, out, sizeof(out)),
                     SW_RPATH_SKIPPED);
    assert_int_equal(sw_rpath_make(&rp, &k, "owner-dev@example.org", NOW, out, sizeof(out)),
                     SW_RPATH_SKIPPED);
    assert_int_equal(sw_rpath_make(&rp, &k, "x@Lists.Example.org", NOW, out, sizeof(out)),
                     SW_RPATH_SKIPPED);
    assert_int_equal(sw_rpath_make(&rp, &k, "\"john doe\"@example.org", NOW, out, sizeof(out)),
                     SW_RPATH_SYNTAX);
    assert_int_equal(sw_rpath_make(&rp, &k, "a..b@example.org", NOW, out, sizeof(out)),
                     SW_RPATH_SYNTAX);
    assert_int_equal(sw_rpath_make(&rp, &k, "a@[192.0.2.1]", NOW, out, sizeof(out)),
                     SW_RPATH_SYNTAX);
    assert_int_equal(sw_rpath_make(&rp, &k, "nodomain", NOW, out, sizeof(out)), SW_RPATH_SYNTAX);
    /* Subdomain form only: a domain it does not serve is left alone. */
    assert_int_equal(sw_rpath_make(&sub, &k, "a@other.example", NOW, out, sizeof(out)),
                     SW_RPATH_FOREIGN);
    /* Never twice. */
    assert_int_equal(sw_rpath_make(&rp, &k, "a@example.org", NOW, tagged, sizeof(tagged)),
                     SW_RPATH_REWRITE);
    assert_int_equal(sw_rpath_make(&rp, &k, tagged, NOW, out, sizeof(out)), SW_RPATH_ALREADY);
    assert_true(sw_rpath_skip_rcpt(&rp, "<list@LISTS.example.com>"));
    assert_true(sw_rpath_skip_rcpt(&rp, "announce@example.net"));
    assert_false(sw_rpath_skip_rcpt(&rp, "jane@example.com"));
    assert_false(sw_rpath_skip_rcpt(&rp, "garbage"));
}

/* The local part never exceeds 64 octets. */
static void
test_long(void **state)
{
    struct sw_tag_keys k = keys_of(K1);
    struct sw_rpath_conf rp = conf_of(true, true);
    char out[SW_RPATH_ADDR_MAX], sender[200], local[80];
    size_t fixed = strlen("sw0=hhhhhhhh=ddk=") + strlen("other.example="), n;

    (void) state;
    for (n = 1; n <= 64; n++) {
        memset(local, 'x', n);
        local[n] = '\0';
        (void) snprintf(sender, sizeof(sender), "%s@other.example", local);
        if (fixed + n <= 64) {
            assert_int_equal(sw_rpath_make(&rp, &k, sender, NOW, out, sizeof(out)),
                             SW_RPATH_REWRITE);
            assert_int_equal(strchr(out, '@') - out, (long) (fixed + n));
            check(&rp, &k, out, NOW, SW_RPATH_VALID, sender);
        } else
            assert_int_equal(sw_rpath_make(&rp, &k, sender, NOW, out, sizeof(out)),
                             SW_RPATH_LONG);
    }
    /* The subdomain form carries no domain: longer local parts fit. */
    memset(local, 'y', 47);
    local[47] = '\0';
    (void) snprintf(sender, sizeof(sender), "%s@example.org", local);
    assert_int_equal(sw_rpath_make(&rp, &k, sender, NOW, out, sizeof(out)), SW_RPATH_REWRITE);
    assert_int_equal(strchr(out, '@') - out, 64);
    local[47] = 'y';
    local[48] = '\0';
    (void) snprintf(sender, sizeof(sender), "%s@example.org", local);
    assert_int_equal(sw_rpath_make(&rp, &k, sender, NOW, out, sizeof(out)), SW_RPATH_LONG);
}

static void
test_age(void **state)
{
    struct sw_tag_keys k = keys_of(K1);
    struct sw_rpath_conf rp = conf_of(true, false);
    struct sw_rpath_check c;
    char out[SW_RPATH_ADDR_MAX];

    (void) state;
    assert_int_equal(sw_rpath_make(&rp, &k, "a@example.org", NOW, out, sizeof(out)),
                     SW_RPATH_REWRITE);
    check(&rp, &k, out, NOW + 21 * DAY, SW_RPATH_VALID, "a@example.org");
    sw_rpath_check(&rp, &k, out, NOW + 22 * DAY, &c);
    assert_int_equal(c.state, SW_RPATH_EXPIRED);
    assert_int_equal(c.age_days, 22);
    assert_string_equal(c.sender, "a@example.org");
    /* Past the day counter's wrap (1024 days) the day reads as recent,
     * and the MAC, which covers the real day, fails. */
    check(&rp, &k, out, NOW + 1024 * DAY, SW_RPATH_INVALID, NULL);
    /* One day of clock skew; two is from the future. */
    check(&rp, &k, out, NOW - DAY, SW_RPATH_VALID, "a@example.org");
    check(&rp, &k, out, NOW - 2 * DAY, SW_RPATH_INVALID, NULL);
}

static void
test_rotation(void **state)
{
    struct sw_tag_keys old = keys_of(K2), both = keys_of(K1 K2), fresh = keys_of(K1);
    struct sw_rpath_conf rp = conf_of(true, false);
    char out[SW_RPATH_ADDR_MAX];

    (void) state;
    assert_int_equal(sw_rpath_make(&rp, &old, "a@example.org", NOW, out, sizeof(out)),
                     SW_RPATH_REWRITE);
    check(&rp, &both, out, NOW, SW_RPATH_VALID, "a@example.org"); /* another node, rotated */
    check(&rp, &fresh, out, NOW, SW_RPATH_INVALID, NULL);         /* the old key retired */
}

/* Forgeries and junk: every one invalid, none restores. */
static void
test_forged(void **state)
{
    struct sw_tag_keys k = keys_of(K1);
    struct sw_rpath_conf rp = conf_of(true, true);
    char good[SW_RPATH_ADDR_MAX], bad[SW_RPATH_ADDR_MAX + 64], *p;
    static const char *const junk[] = {
        "sw0=@bounces.example.net",
        "sw0=rlkp6guk@bounces.example.net",
        "sw0=rlkp6guk=566@bounces.example.net",
        "sw0=rlkp6guk=566=example.org=@bounces.example.net",
        "sw0=rlkp6gu1=566=example.org=a@bounces.example.net",
        "sw0=rlkp6guk=5x6=example.org=a@bounces.example.net",
        "sw0=rlkp6guk=56=example.org=a@bounces.example.net",
        "sw2=rlkp6guk=566=example.org=a@bounces.example.net",
        "sw0=rlkp6guk=566=exa mple.org=a@bounces.example.net",
        "sw0=rlkp6guk=566==a@bounces.example.net",
        "sw1=rlkp6guk=566=example.org=a@bounces.example.net",
        "sw1=rlkp6guk=566=a@bounces.other.example",
        "anything@bounces.example.net",
        "\"sw0=rlkp6guk=566=example.org=a\"@bounces.example.net",
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        struct sw_rpath_check c;

        sw_rpath_check(&rp, &k, junk[i], NOW, &c);
        if (c.state != SW_RPATH_INVALID && c.state != SW_RPATH_NOT_OURS)
            fail_msg("%s: %s", junk[i], sw_rpath_state_name(c.state));
        if (c.sender[0])
            fail_msg("%s restores %s", junk[i], c.sender);
    }
    check(&rp, &k, "sw1=rlkp6guk=566=a@bounces.other.example", NOW, SW_RPATH_NOT_OURS, NULL);
    check(&rp, &k, "anything@bounces.example.net", NOW, SW_RPATH_INVALID, NULL);
    check(&rp, &k, "PostMaster@bounces.example.net", NOW, SW_RPATH_EXEMPT, NULL);
    check(&rp, &k, "postmaster@bounces.example.org", NOW, SW_RPATH_EXEMPT, NULL);
    check(&rp, &k, "jane@example.org", NOW, SW_RPATH_NOT_OURS, NULL);
    /* A genuine address with its sender changed: the MAC covers it. */
    assert_int_equal(sw_rpath_make(&rp, &k, "a@other.example", NOW, good, sizeof(good)),
                     SW_RPATH_REWRITE);
    (void) snprintf(bad, sizeof(bad), "%s", good);
    p = strstr(bad, "=a@");
    p[1] = 'b';
    check(&rp, &k, bad, NOW, SW_RPATH_INVALID, NULL);
    (void) snprintf(bad, sizeof(bad), "%s", good);
    p = strstr(bad, "other.example=");
    memcpy(p, "OTHER", 5); /* case only: still valid */
    check(&rp, &k, bad, NOW, SW_RPATH_VALID, "a@other.example");
    memcpy(p, "xther", 5);
    check(&rp, &k, bad, NOW, SW_RPATH_INVALID, NULL);
    /* The same tag moved to the subdomain form does not verify either. */
    (void) snprintf(bad, sizeof(bad), "sw1=%.8s=%.3s=a@bounces.example.org", good + 4, good + 13);
    check(&rp, &k, bad, NOW, SW_RPATH_INVALID, NULL);
    /* Each character of the MAC matters. */
    for (i = 4; i < 12; i++) {
        (void) snprintf(bad, sizeof(bad), "%s", good);
        bad[i] = bad[i] == 'a' ? 'b' : 'a';
        check(&rp, &k, bad, NOW, SW_RPATH_INVALID, NULL);
    }
}

/* The rp-sender socketmap: Postfix's sender_canonical_maps. */
static void
test_sockmap(void **state)
{
    struct sw_tag_keys k = keys_of(K1), none;
    struct sw_rpath_conf rp = conf_of(true, false);
    struct sw_buf reply;
    char want[SW_RPATH_ADDR_MAX + 3];
    static const char *const notfound[] = { "rp-sender @example.org", "rp-sender jane",
                                            "rp-sender postmaster@example.org", "rp-sender " };

    (void) state;
    memset(&none, 0, sizeof(none));
    sw_buf_init(&reply, 1024);
    memcpy(want, "OK ", 3);
    assert_int_equal(sw_rpath_make(&rp, &k, "jane@example.org", NOW, want + 3, sizeof(want) - 3),
                     SW_RPATH_REWRITE);
    assert_int_equal(sw_sockmap_rp_answer(&rp, &k, "rp-sender jane@example.org", 26, NOW, &reply),
                     SW_SOCKMAP_FOUND);
    assert_string_equal(sw_buf_str(&reply), want);
    for (size_t i = 0; i < sizeof(notfound) / sizeof(notfound[0]); i++) {
        enum sw_sockmap_result r
            = sw_sockmap_rp_answer(&rp, &k, notfound[i], strlen(notfound[i]), NOW, &reply);

        if (r == SW_SOCKMAP_FOUND || strcmp(sw_buf_str(&reply), "NOTFOUND ") != 0)
            fail_msg("%s: answered %s", notfound[i], sw_buf_str(&reply));
    }
    assert_int_equal(sw_sockmap_rp_answer(&rp, &none, "rp-sender jane@example.org", 26, NOW,
                                          &reply),
                     SW_SOCKMAP_NOTFOUND);
    /* Another map is not its business, and the reply is left alone. */
    sw_buf_reset(&reply);
    assert_int_equal(sw_sockmap_rp_answer(&rp, &k, "transport jane@example.org", 26, NOW, &reply),
                     SW_SOCKMAP_BADMAP);
    assert_int_equal(reply.len, 0);
    sw_buf_free(&reply);
}

/* load - a configuration with the pattern library and a return path */
static struct sw_conf *
load(const char *milter_group, const char *extra, struct sw_buf *err)
{
    const char *patterns = getenv("SW_PATTERNS");
    char text[4096];

    (void) snprintf(text, sizeof(text),
                    "milter: { %s };\nclassify: { patterns = \"%s\"; };\n"
                    "relays = ( { name = \"m365\"; nexthop = \"[example-org.mail.protection.outlook.com]\";"
                    " role = \"primary\"; },\n"
                    "  { name = \"alt-eu\"; nexthop = \"[192.0.2.25]:587\"; },\n"
                    "  { name = \"alt-v6\"; nexthop = \"[2001:db8::25]\"; },\n"
                    "  { name = \"alt-mx\"; nexthop = \"relay.alt.example\"; },\n"
                    "  { name = \"alt-a\"; nexthop = \"[relay3.alt.example]\"; } );\n%s",
                    milter_group, patterns ? patterns : "conf/patterns.conf", extra);
    sw_buf_reset(err);
    return sw_conf_load_string(text, "t.conf", err);
}

/* The records a return-path domain needs (spillwayctl dns-records). */
static void
test_dns(void **state)
{
    struct sw_buf err, out;
    struct sw_conf *c;
    static const char *const want[] = {
        "bounces.example.net.\tIN MX 10 mx1.example.org.\n",
        "bounces.example.net.\tIN TXT \"v=spf1 include:spf.protection.outlook.com "
        "ip4:192.0.2.25 ip6:2001:db8::25 mx:relay.alt.example a:relay3.alt.example ~all\"\n",
        "bounces.example.org.\tIN MX 10 mx1.example.org.\n",
        "; *.example.com: the same two records at bounces.<each domain>\n",
    };
    size_t i;

    (void) state;
    sw_buf_init(&err, 4096);
    sw_buf_init(&out, 16384);
    c = load("tag_keys = \"/k\"; return_path = { domain = \"bounces.example.net\"; "
             "subdomain = \"bounces\"; sender_domains = [\"example.org\", \"*.example.com\"]; };",
             "", &err);
    if (c == NULL)
        fail_msg("config: %s", sw_buf_str(&err));
    sw_rpath_dns(c, "mx1.example.org", &out);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (strstr(sw_buf_str(&out), want[i]) == NULL)
            fail_msg("no \"%s\" in:\n%s", want[i], sw_buf_str(&out));
    sw_conf_free(c);
    /* With the pool's egress known, its addresses replace the include. */
    c = load("tag_keys = \"/k\"; return_path = { domain = \"bounces.example.net\"; };",
             "pools = ( { name = \"m365\"; relays = [\"m365\"]; egress = [\"40.107.0.0/16\"]; } );",
             &err);
    assert_non_null(c);
    sw_buf_reset(&out);
    sw_rpath_dns(c, "mx1.example.org", &out);
    assert_non_null(strstr(sw_buf_str(&out), "\"v=spf1 ip4:40.107.0.0/16 ip4:192.0.2.25"));
    assert_null(strstr(sw_buf_str(&out), "include:"));
    sw_conf_free(c);
    c = load("", "", &err);
    assert_non_null(c);
    sw_buf_reset(&out);
    sw_rpath_dns(c, "mx1.example.org", &out);
    assert_null(strstr(sw_buf_str(&out), "IN MX"));
    sw_conf_free(c);
    sw_buf_free(&out);
    sw_buf_free(&err);
}

/* milter.return_path's settings: defaults, and errors that name the key. */
static void
test_conf(void **state)
{
    static const struct {
        const char *group, *want;
    } bad[] = {
        { "tag_keys = \"/k\"; return_path = { };", "milter.return_path: needs domain" },
        { "tag_keys = \"/k\"; return_path = { subdomain = \"bounces\"; };",
          "subdomain needs sender_domains" },
        { "return_path = { domain = \"bounces.example.net\"; };", "needs milter.tag_keys" },
        { "tag_keys = \"/k\"; return_path = { domain = \"Bounces.Example.net\"; };",
          "milter.return_path.domain" },
        { "tag_keys = \"/k\"; return_path = { domain = \"localhost\"; };",
          "milter.return_path.domain" },
        { "tag_keys = \"/k\"; return_path = { subdomain = \"a..b\"; sender_domains = [\"x.org\"]; };",
          "milter.return_path.subdomain" },
        { "tag_keys = \"/k\"; return_path = { domain = \"b.example\"; max_age = \"0d\"; };",
          "milter.return_path.max_age" },
        { "tag_keys = \"/k\"; return_path = { domain = \"b.example\"; sender_domains = [\"x.org\"]; };",
          "only means something with subdomain" },
        { "tag_keys = \"/k\"; return_path = { domain = \"b.example\"; maxage = \"2d\"; };",
          "maxage" },
    };
    struct sw_buf err;
    struct sw_conf *c;
    size_t i;

    (void) state;
    sw_buf_init(&err, 4096);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if ((c = load(bad[i].group, "", &err)) != NULL)
            fail_msg("row %zu accepted", i);
        if (strstr(sw_buf_str(&err), bad[i].want) == NULL || strstr(sw_buf_str(&err), "t.conf:") == NULL)
            fail_msg("row %zu: \"%s\" lacks \"%s\" or the file and line", i, sw_buf_str(&err),
                     bad[i].want);
    }
    c = load("tag_keys = \"/k\"; return_path = { domain = \"b.example\"; };", "", &err);
    assert_non_null(c);
    assert_int_equal(c->milter.rp.max_age, 21 * DAY);
    assert_true(sw_strv_has(&c->milter.rp.skip_senders, "double-bounce"));
    assert_true(sw_strv_has(&c->milter.rp.skip_senders, "postmaster"));
    sw_conf_free(c);
    c = load("", "", &err);
    assert_non_null(c);
    assert_false(sw_rpath_on(&c->milter.rp));
    sw_conf_free(c);
    sw_buf_free(&err);
}

/* A provider's report that quotes nothing of ours, sent to a return-path
 * address: trusted on the strength of the address. */
static void
test_analyze_envelope(void **state)
{
    struct sw_tag_keys k = keys_of(K1);
    struct sw_analysis *a = malloc(sizeof(*a));
    char addr[SW_RPATH_ADDR_MAX], header[SW_TAG_MAX + 1], msg[4096];
    struct sw_buf err;
    struct sw_conf *c;
    int n;

    (void) state;
    assert_non_null(a);
    sw_buf_init(&err, 4096);
    c = load("tag_keys = \"/k\"; return_path = { domain = \"bounces.example.net\"; };",
             "pools = ( { name = \"m365\"; relays = [\"m365\"]; "
             "hosts = [\"*.protection.outlook.test\"]; } );",
             &err);
    if (c == NULL)
        fail_msg("config: %s", sw_buf_str(&err));
    n = snprintf(msg, sizeof(msg),
                 "From: MAILER-DAEMON@am6.prod.protection.outlook.test\r\n"
                 "Subject: Undeliverable\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
                 "\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
                 "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
                 "Reporting-MTA: dns; am6.prod.protection.outlook.test\r\n\r\n"
                 "Final-Recipient: rfc822; carol@bigcorp.example\r\nAction: failed\r\n"
                 "Status: 5.7.606\r\nDiagnostic-Code: smtp; 550 5.7.606 Access denied, banned "
                 "sending IP [40.107.3.4].\r\n\r\n--b--\r\n");
    assert_int_equal(sw_rpath_make(&c->milter.rp, &k, "jane@example.org", NOW, addr, sizeof(addr)),
                     SW_RPATH_REWRITE);
    sw_analyze_to(c, &k, msg, (size_t) n, addr, NOW + 3600, a);
    assert_int_equal(a->rp.state, SW_RPATH_VALID);
    assert_int_equal(a->tag, SW_TAG_VALID);
    assert_true(a->via_rp);
    assert_string_equal(a->tag_id, a->rp.id);
    assert_int_equal(a->n, 1);
    assert_true(a->f[0].trusted);
    /* The same report sent to no address, or to a forged one: untrusted. */
    sw_analyze_to(c, &k, msg, (size_t) n, NULL, NOW + 3600, a);
    assert_false(a->f[0].trusted);
    assert_false(a->via_rp);
    addr[5] = addr[5] == 'a' ? 'b' : 'a';
    sw_analyze_to(c, &k, msg, (size_t) n, addr, NOW + 3600, a);
    assert_int_equal(a->rp.state, SW_RPATH_INVALID);
    assert_false(a->f[0].trusted);
    /* A quoted header tag that verifies is preferred: it names the message. */
    addr[5] = addr[5] == 'a' ? 'b' : 'a';
    assert_true(sw_tag_make(&k, NOW, "", header, sizeof(header)));
    n = snprintf(msg + n - 7, sizeof(msg) - (size_t) n + 7,
                 "--b\r\nContent-Type: text/rfc822-headers\r\n\r\nX-Spillway-Tag: %s\r\n\r\n--b--\r\n",
                 header) + n - 7;
    sw_analyze_to(c, &k, msg, (size_t) n, addr, NOW + 3600, a);
    assert_int_equal(a->tag, SW_TAG_VALID);
    assert_false(a->via_rp);
    assert_true(a->f[0].trusted);
    sw_conf_free(c);
    sw_buf_free(&err);
    free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer), cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_skips),        cmocka_unit_test(test_long),
        cmocka_unit_test(test_age),          cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_forged),       cmocka_unit_test(test_sockmap),
        cmocka_unit_test(test_dns),          cmocka_unit_test(test_conf),
        cmocka_unit_test(test_analyze_envelope),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
