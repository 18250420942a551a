/* test_analyze.c - a bounce read and judged: tag, pool, class, trust (analyze.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "global/analyze.h"

#define NOW 1795354257L
#define KEY "k1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
#define MID "<m1@org.example>"

static struct sw_conf *conf;
static struct sw_tag_keys keys;
static struct sw_analysis *an;

static int
setup(void **state)
{
    const char *patterns = getenv("SW_PATTERNS");
    char text[2048];
    struct sw_buf err;

    (void) state;
    if (patterns == NULL)
        patterns = "conf/patterns.conf";
    (void) snprintf(
        text, sizeof(text),
        "milter: { tag_max_age = \"7d\"; };\n"
        "classify: { patterns = \"%s\"; };\n"
        "pools = ( { name = \"m365\"; relays = [\"m365\"];\n"
        "  hosts = [\"*.protection.outlook.test\"]; egress = [\"40.107.0.0/16\"]; },\n"
        "  { name = \"other\"; relays = [\"alt\"]; hosts = [\"*.alt.test\"]; } );\n"
        "relays = ( { name = \"m365\"; nexthop = \"[127.0.0.1]\"; role = \"primary\"; },\n"
        "  { name = \"alt\"; nexthop = \"[127.0.0.2]\"; role = \"primary\"; } );\n",
        patterns);
    sw_buf_init(&err, 4096);
    conf = sw_conf_load_string(text, "t.conf", &err);
    if (conf == NULL)
        fail_msg("config: %s", sw_buf_str(&err));
    if (!sw_tag_keys_parse(KEY, strlen(KEY), "keys", &keys, &err))
        fail_msg("keys: %s", sw_buf_str(&err));
    sw_buf_free(&err);
    an = malloc(sizeof(*an));
    return an == NULL;
}

static int
teardown(void **state)
{
    (void) state;
    sw_conf_free(conf);
    free(an);
    return 0;
}

/* dsn - a provider's RFC 3464 report for MID, with the given returned tag */
static size_t
dsn(char *out, size_t size, const char *reporter, const char *tag, const char *mid,
    const char *diag)
{
    int n = snprintf(
        out, size,
        "From: MAILER-DAEMON@%s\r\nTo: alice@org.example\r\nSubject: Undeliverable\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        "\tboundary=\"b-test-boundary\"\r\n\r\n"
        "--b-test-boundary\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "Delivery has failed to these recipients or groups:\r\n\r\ncarol@bigcorp.example\r\n\r\n"
        "--b-test-boundary\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; %s\r\nArrival-Date: Sun, 22 Nov 2026 12:00:00 +0000\r\n\r\n"
        "Final-Recipient: rfc822; carol@bigcorp.example\r\nAction: failed\r\n"
        "Status: 5.7.606\r\nRemote-MTA: dns; mx.bigcorp.example\r\n"
        "Diagnostic-Code: smtp; %s\r\n\r\n"
        "--b-test-boundary\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "From: alice@org.example\r\nTo: carol@bigcorp.example\r\nMessage-ID: %s\r\n%s%s%s"
        "\r\n--b-test-boundary--\r\n",
        reporter, reporter, diag, mid, tag ? "X-Spillway-Tag: " : "", tag ? tag : "",
        tag ? "\r\n" : "");

    assert_true(n > 0 && (size_t) n < size);
    return (size_t) n;
}

#define BANNED "550 5.7.606 Access denied, banned sending IP [40.107.3.4]."
#define SPAM   "550 5.7.1 Message rejected as spam by Content Filtering."

static void
test_trusted(void **state)
{
    char tag[SW_TAG_MAX + 1], msg[8192];
    size_t n;

    (void) state;
    assert_true(sw_tag_make(&keys, NOW - 3600, MID, tag, sizeof(tag)));
    n = dsn(msg, sizeof(msg), "AM6PR01MB1234.eurprd01.prod.protection.outlook.test", tag, MID,
            BANNED);
    sw_analyze(conf, &keys, msg, n, NOW, an);
    assert_int_equal(an->b.kind, SW_BOUNCE_DSN);
    assert_int_equal(an->tag, SW_TAG_VALID);
    assert_non_null(an->pool);
    assert_string_equal(an->pool->name, "m365");
    assert_int_equal(an->n, 1);
    assert_true(an->f[0].failed);
    assert_true(an->f[0].trusted);
    assert_string_equal(an->f[0].domain, "bigcorp.example");
    assert_int_equal(an->f[0].v.cls, SW_CLASS_REPUTATION);
}

/* Each row changes one thing from the trusted case. */
static const struct {
    const char *name;
    const char *reporter;
    bool tagged;
    long tag_age;
    const char *mid; /* the returned Message-ID (the tag is made for MID) */
    const char *diag;
    enum sw_tag_state tag;
    const char *pool;
    unsigned cls;
    bool trusted;
} rows[] = {
    { "no tag", "out.protection.outlook.test", false, 0, MID, BANNED, SW_TAG_ABSENT, "m365",
      SW_CLASS_REPUTATION, false },
    { "expired tag", "out.protection.outlook.test", true, 8 * 86400, MID, BANNED, SW_TAG_EXPIRED,
      "m365", SW_CLASS_REPUTATION, false },
    { "tag lifted onto another message", "out.protection.outlook.test", true, 60,
      "<other@org.example>", BANNED, SW_TAG_INVALID, "m365", SW_CLASS_REPUTATION, false },
    { "reporter names no pool", "mx.elsewhere.example", true, 60, MID,
      "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
      SW_TAG_VALID, NULL, SW_CLASS_REPUTATION, false },
    { "pool named by an egress address in the text", "mx.elsewhere.example", true, 60, MID, BANNED,
      SW_TAG_VALID, "m365", SW_CLASS_REPUTATION, true },
    { "pool named by another pool's host", "out1.alt.test", true, 60, MID,
      "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
      SW_TAG_VALID, "other", SW_CLASS_REPUTATION, true },
    { "a spam verdict is other, trusted or not", "out.protection.outlook.test", true, 60, MID, SPAM,
      SW_TAG_VALID, "m365", SW_CLASS_OTHER, true },
};

static void
test_rows(void **state)
{
    char tag[SW_TAG_MAX + 1], msg[8192];
    size_t i, n;

    (void) state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_true(sw_tag_make(&keys, NOW - rows[i].tag_age, MID, tag, sizeof(tag)));
        n = dsn(msg, sizeof(msg), rows[i].reporter, rows[i].tagged ? tag : NULL, rows[i].mid,
                rows[i].diag);
        sw_analyze(conf, &keys, msg, n, NOW, an);
        if (an->n != 1)
            fail_msg("%s: %zu findings", rows[i].name, an->n);
        if (an->tag != rows[i].tag)
            fail_msg("%s: tag %s", rows[i].name, sw_tag_state_name(an->tag));
        if ((an->pool == NULL) != (rows[i].pool == NULL)
            || (an->pool && strcmp(an->pool->name, rows[i].pool) != 0))
            fail_msg("%s: pool %s", rows[i].name, an->pool ? an->pool->name : "none");
        if (an->f[0].v.cls != rows[i].cls)
            fail_msg("%s: class %s", rows[i].name, sw_class_name(an->f[0].v.cls));
        if (an->f[0].trusted != rows[i].trusted)
            fail_msg("%s: trusted %d", rows[i].name, an->f[0].trusted);
    }
}

/* The returned tag as MTAs fold it, and as a forger varies it: the
 * folded ones verify, all with the canonical form of the tag as made. */
static void
test_folded_tag(void **state)
{
    char tag[SW_TAG_MAX + 1], want[SW_TAG_CANON_MAX], variant[512], msg[8192];
    static const struct {
        const char *from, *to; /* the first "; " of each field becomes "to" */
        const char *suffix;
        enum sw_tag_state st;
    } cases[] = {
        { "; ", ";\r\n\t", "", SW_TAG_VALID },      /* folded with a tab */
        { "; ", ";\r\n        ", "", SW_TAG_VALID }, /* re-indented with 8 spaces */
        { "; ", ";\r\n", "", SW_TAG_VALID },         /* broken folding, unfolded after ";" */
        { "; ", "; ", "; x=1", SW_TAG_INVALID },    /* a trailing parameter */
        { "; ", ";\r\n\t", "; x=2", SW_TAG_INVALID },
    };
    const char *p, *hit;
    size_t i, n, o;

    (void) state;
    assert_true(sw_tag_make(&keys, NOW - 60, MID, tag, sizeof(tag)));
    assert_int_equal(sw_tag_check(&keys, tag, MID, NOW, 86400, want), SW_TAG_VALID);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (p = tag, o = 0; (hit = strstr(p, cases[i].from)) != NULL; p = hit + 2) {
            o += (size_t) snprintf(variant + o, sizeof(variant) - o, "%.*s%s", (int) (hit - p), p,
                                   cases[i].to);
            assert_true(o < sizeof(variant));
        }
        o += (size_t) snprintf(variant + o, sizeof(variant) - o, "%s%s", p, cases[i].suffix);
        assert_true(o < sizeof(variant));
        n = dsn(msg, sizeof(msg), "out.protection.outlook.test", variant, MID, BANNED);
        sw_analyze(conf, &keys, msg, n, NOW, an);
        if (an->tag != cases[i].st)
            fail_msg("case %zu (\"%s\"): tag %s", i, an->b.tag, sw_tag_state_name(an->tag));
        if (cases[i].st == SW_TAG_VALID)
            assert_string_equal(an->tag_id, want);
        else
            assert_string_equal(an->tag_id, "");
        assert_int_equal(an->f[0].trusted, cases[i].st == SW_TAG_VALID);
    }
}

static void
test_no_keys_and_records(void **state)
{
    char tag[SW_TAG_MAX + 1], msg[8192];
    struct sw_evrec r;
    struct sw_buf json;
    size_t n;

    (void) state;
    assert_true(sw_tag_make(&keys, NOW, MID, tag, sizeof(tag)));
    n = dsn(msg, sizeof(msg), "out.protection.outlook.test", tag, MID, BANNED);
    sw_analyze(conf, NULL, msg, n, NOW, an);
    assert_int_equal(an->tag, SW_TAG_UNCHECKED);
    assert_false(an->f[0].trusted);
    sw_analyze(conf, &keys, msg, n, NOW, an);
    sw_analysis_evrec(an, 0, NOW, "192.0.2.7", &r);
    assert_int_equal(r.ev.source, SW_EV_DSN);
    assert_true(r.ev.trusted);
    assert_int_equal(r.ev.code, 550);
    assert_string_equal(r.ev.dsn, "5.7.606");
    assert_string_equal(r.ev.id, MID);
    assert_string_equal(r.ev.pool, "m365");
    assert_string_equal(r.tag, "valid");
    assert_string_equal(r.client, "192.0.2.7");
    assert_non_null(strstr(r.ev.text, "banned sending IP"));
    /* the pool's egress IP it names, for the DNSBL checks */
    assert_string_equal(r.ev.egress, "40.107.3.4");
    sw_buf_init(&json, 8192);
    sw_analysis_json(an, 0, "f.eml", &json);
    assert_non_null(strstr(sw_buf_str(&json), "\"recipient\":\"carol@bigcorp.example\""));
    assert_non_null(strstr(sw_buf_str(&json), "\"class\":\"reputation\""));
    assert_non_null(strstr(sw_buf_str(&json), "\"tag\":\"valid\""));
    assert_non_null(strstr(sw_buf_str(&json), "\"trusted\":true"));
    sw_buf_free(&json);
}

/* Not a bounce: nothing found, nothing trusted. */
static void
test_not_a_bounce(void **state)
{
    static const char msg[] = "From: bob@example.com\r\nSubject: hello\r\n\r\nHi there.\r\n";

    (void) state;
    sw_analyze(conf, &keys, msg, sizeof(msg) - 1, NOW, an);
    assert_int_equal(an->b.kind, SW_BOUNCE_NONE);
    assert_int_equal(an->n, 0);
    sw_analyze(conf, &keys, "", 0, NOW, an);
    assert_int_equal(an->n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trusted),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_folded_tag),
        cmocka_unit_test(test_no_keys_and_records),
        cmocka_unit_test(test_not_a_bounce),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
