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

#include "global/rpath.h"
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer), cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_skips),        cmocka_unit_test(test_long),
        cmocka_unit_test(test_age),          cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_forged),       cmocka_unit_test(test_sockmap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
