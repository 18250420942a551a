/* test_guard.c - de-duplication and caps of bounce evidence (guard.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "global/guard.h"

#define T0    100000L
#define TAG_A "k=k1 t=1763812345 h=AAAAAAAAAAAAAAAAAAAAAA"
#define TAG_B "k=k1 t=1763812345 h=BBBBBBBBBBBBBBBBBBBBBB"

/* One record offered to the guard, and the verdict it must get.  The
 * rows of a script run in order against one guard, up to a NULL client. */
struct step {
    const char *client;
    bool trusted;
    const char *key;
    const char *rcpt;
    long at; /* seconds after T0 */
    long rate;
    unsigned cap;
    enum sw_guard_verdict want;
};

/* Duplicates: per key and recipient, recipients compared without case. */
static const struct step dup_script[] = {
    { "192.0.2.1", false, "<m1@x>", "a@b.example", 0, 30, 2, SW_GUARD_PASS },
    { "192.0.2.1", false, "<m1@x>", "A@B.example", 0, 30, 2, SW_GUARD_DUPLICATE },
    { "192.0.2.1", false, "<m2@x>", "a@b.example", 0, 30, 2, SW_GUARD_PASS },
    { "192.0.2.1", true, TAG_A, "a@b.example", 0, 30, 2, SW_GUARD_PASS },
    { "192.0.2.9", true, TAG_A, "a@b.example", 0, 30, 2, SW_GUARD_DUPLICATE },
    { NULL, false, NULL, NULL, 0, 0, 0, SW_GUARD_PASS }, /* the end */
};

/* The per-tag cap: two distinct recipients per tag, then tag-cap; a
 * duplicate is still called a duplicate; another tag has its own cap;
 * untrusted records with the same key text are apart. */
static const struct step cap_script[] = {
    { "192.0.2.1", true, TAG_A, "r1@one.example", 0, 100, 2, SW_GUARD_PASS },
    { "192.0.2.2", true, TAG_A, "r2@two.example", 1, 100, 2, SW_GUARD_PASS },
    { "192.0.2.3", true, TAG_A, "r3@one.example", 2, 100, 2, SW_GUARD_TAG_CAP },
    { "192.0.2.3", true, TAG_A, "r4@four.example", 3, 100, 2, SW_GUARD_TAG_CAP },
    { "192.0.2.3", true, TAG_A, "r1@one.example", 4, 100, 2, SW_GUARD_DUPLICATE },
    { "192.0.2.3", false, TAG_A, "r3@one.example", 5, 100, 2, SW_GUARD_PASS },
    { "192.0.2.3", true, TAG_B, "r3@one.example", 6, 100, 2, SW_GUARD_PASS },
    /* Still capped near the end of the window, free again after it. */
    { "192.0.2.3", true, TAG_A, "r5@one.example", SW_GUARD_MEMORY, 100, 2, SW_GUARD_TAG_CAP },
    { "192.0.2.3", true, TAG_A, "r5@one.example", SW_GUARD_MEMORY + 1, 100, 2, SW_GUARD_PASS },
    { NULL, false, NULL, NULL, 0, 0, 0, SW_GUARD_PASS }, /* the end */
};

/* The cap is clamped to 1..SW_GUARD_PER_MESSAGE. */
static const struct step clamp_script[] = {
    { "192.0.2.1", true, TAG_A, "r1@x.example", 0, 100, 0, SW_GUARD_PASS },
    { "192.0.2.1", true, TAG_A, "r2@x.example", 0, 100, 0, SW_GUARD_TAG_CAP },
    { NULL, false, NULL, NULL, 0, 0, 0, SW_GUARD_PASS }, /* the end */
};

/* Rate: a bucket of 5 a minute per client; a record refused by the rate
 * is not remembered (it passes once a token is back, not a duplicate). */
static const struct step rate_script[] = {
    { "198.51.100.9", false, "<r1@x>", "a@b.example", 0, 5, 2, SW_GUARD_PASS },
    { "198.51.100.9", false, "<r2@x>", "a@b.example", 0, 5, 2, SW_GUARD_PASS },
    { "198.51.100.9", false, "<r3@x>", "a@b.example", 0, 5, 2, SW_GUARD_PASS },
    { "198.51.100.9", false, "<r4@x>", "a@b.example", 0, 5, 2, SW_GUARD_PASS },
    { "198.51.100.9", true, TAG_A, "a@b.example", 0, 5, 2, SW_GUARD_PASS },
    { "198.51.100.9", false, "<late@x>", "a@b.example", 0, 5, 2, SW_GUARD_RATE },
    { "198.51.100.9", true, TAG_A, "c@b.example", 0, 5, 2, SW_GUARD_RATE },
    { "198.51.100.10", false, "<o@x>", "a@b.example", 0, 5, 2, SW_GUARD_PASS },
    /* 12 s later one token is back (5 per 60 s). */
    { "198.51.100.9", false, "<late@x>", "a@b.example", 12, 5, 2, SW_GUARD_PASS },
    { "198.51.100.9", true, TAG_A, "c@b.example", 24, 5, 2, SW_GUARD_PASS },
    { "198.51.100.9", true, TAG_A, "d@b.example", 36, 5, 2, SW_GUARD_TAG_CAP },
    { NULL, false, NULL, NULL, 0, 0, 0, SW_GUARD_PASS }, /* the end */
};

static const struct {
    const char *name;
    const struct step *steps;
} scripts[] = {
    { "duplicates", dup_script },
    { "tag cap", cap_script },
    { "cap clamp", clamp_script },
    { "rate", rate_script },
};

static void
test_scripts(void **state)
{
    enum sw_guard_verdict v;
    const struct step *s;
    struct sw_guard *g;
    size_t i, j;

    (void) state;
    for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
        assert_non_null(g = sw_guard_new(42 + i));
        for (j = 0; (s = &scripts[i].steps[j])->client != NULL; j++) {
            v = sw_guard_check(g, s->client, s->trusted, s->key, s->rcpt, T0 + s->at, s->rate,
                               s->cap);
            if (v != s->want)
                fail_msg("%s, row %zu: %s, expected %s", scripts[i].name, j,
                         sw_guard_verdict_name(v), sw_guard_verdict_name(s->want));
        }
        sw_guard_free(g);
    }
}

/* Untrusted: at most SW_GUARD_PER_MESSAGE recipients per Message-ID. */
static void
test_message_cap(void **state)
{
    struct sw_guard *g = sw_guard_new(7);
    char rcpt[64];
    int i, pass = 0, capped = 0;

    (void) state;
    assert_non_null(g);
    for (i = 0; i < 20; i++) {
        (void) snprintf(rcpt, sizeof(rcpt), "u%d@b.example", i);
        switch (sw_guard_check(g, "192.0.2.2", false, "<m3@x>", rcpt, T0, 1000, 2)) {
        case SW_GUARD_PASS: pass++; break;
        case SW_GUARD_MESSAGE_CAP: capped++; break;
        default: fail_msg("recipient %d: neither pass nor message-cap", i);
        }
    }
    assert_int_equal(pass, SW_GUARD_PER_MESSAGE);
    assert_int_equal(capped, 20 - SW_GUARD_PER_MESSAGE);
    sw_guard_free(g);
}

/* A flood of many distinct keys: enough to touch every set of both
 * tables many times over. */
#define FLOOD (SW_GUARD_MESSAGES * 12)

/* Records refused (by the rate, by a cap) never push out what was
 * accepted: after a flood of them the accepted ones are still duplicates
 * and a full tag is still full. */
static void
test_refused_do_not_evict(void **state)
{
    struct sw_guard *g = sw_guard_new(99);
    char key[64];
    int i;

    (void) state;
    assert_non_null(g);
    assert_int_equal(sw_guard_check(g, "203.0.113.5", false, "<kept@x>", "a@b.example", T0, 3, 2),
                     SW_GUARD_PASS);
    assert_int_equal(sw_guard_check(g, "203.0.113.5", true, TAG_A, "a@b.example", T0, 3, 2),
                     SW_GUARD_PASS);
    assert_int_equal(sw_guard_check(g, "203.0.113.5", true, TAG_A, "b@b.example", T0, 3, 2),
                     SW_GUARD_PASS);
    /* The client's bucket is empty now: everything it sends is refused. */
    for (i = 0; i < FLOOD; i++) {
        (void) snprintf(key, sizeof(key), "<flood%d@x>", i);
        if (sw_guard_check(g, "203.0.113.5", i % 2, key, "a@b.example", T0, 3, 2) != SW_GUARD_RATE)
            fail_msg("flood record %d was not refused by the rate", i);
    }
    /* And records for the full tag, refused by its cap. */
    for (i = 0; i < FLOOD / 16; i++) {
        (void) snprintf(key, sizeof(key), "x%d@b.example", i);
        if (sw_guard_check(g, "198.51.100.1", true, TAG_A, key, T0, 1000000, 2) != SW_GUARD_TAG_CAP)
            fail_msg("record %d for the full tag was not refused by its cap", i);
    }
    assert_int_equal(sw_guard_check(g, "192.0.2.77", false, "<kept@x>", "a@b.example", T0, 30, 2),
                     SW_GUARD_DUPLICATE);
    assert_int_equal(sw_guard_check(g, "192.0.2.77", true, TAG_A, "a@b.example", T0, 30, 2),
                     SW_GUARD_DUPLICATE);
    assert_int_equal(sw_guard_check(g, "192.0.2.77", true, TAG_A, "z@b.example", T0, 30, 2),
                     SW_GUARD_TAG_CAP);
    sw_guard_free(g);
}

/* Untrusted records, even accepted ones in any number, never free a tag
 * of its cap: they are kept apart. */
static void
test_untrusted_flood_keeps_tag_cap(void **state)
{
    struct sw_guard *g = sw_guard_new(1234);
    char key[64];
    int i;

    (void) state;
    assert_non_null(g);
    assert_int_equal(sw_guard_check(g, "192.0.2.1", true, TAG_B, "a@b.example", T0, 100, 1),
                     SW_GUARD_PASS);
    for (i = 0; i < FLOOD; i++) {
        (void) snprintf(key, sizeof(key), "<forged%d@x>", i);
        if (sw_guard_check(g, "192.0.2.66", false, key, "a@b.example", T0, 100000000, 1)
            != SW_GUARD_PASS)
            fail_msg("untrusted flood record %d was refused", i);
    }
    assert_int_equal(sw_guard_check(g, "192.0.2.1", true, TAG_B, "c@b.example", T0, 100, 1),
                     SW_GUARD_TAG_CAP);
    sw_guard_free(g);
}

static void
test_names(void **state)
{
    (void) state;
    assert_string_equal(sw_guard_verdict_name(SW_GUARD_PASS), "pass");
    assert_string_equal(sw_guard_verdict_name(SW_GUARD_DUPLICATE), "duplicate");
    assert_string_equal(sw_guard_verdict_name(SW_GUARD_MESSAGE_CAP), "message-cap");
    assert_string_equal(sw_guard_verdict_name(SW_GUARD_TAG_CAP), "tag-cap");
    assert_string_equal(sw_guard_verdict_name(SW_GUARD_RATE), "rate");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scripts),
        cmocka_unit_test(test_message_cap),
        cmocka_unit_test(test_refused_do_not_evict),
        cmocka_unit_test(test_untrusted_flood_keeps_tag_cap),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
