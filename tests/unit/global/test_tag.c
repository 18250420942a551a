/* test_tag.c - X-Spillway-Tag keys, make and verify (tag.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/tag.h"

#define K1  "2026b 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
#define K2  "2026a ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n"
#define NOW 1763812345L

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

/* Key files that must be refused, with the line the error names. */
static const struct {
    const char *text;
    const char *want; /* substring of the error */
} bad_keys[] = {
    { "", "keys: no key" },
    { "# only a comment\n\n", "keys: no key" },
    { "2026b\n", "keys:1: expected" },
    { "2026b 0011\n", "keys:1: secret must be 64 to 128 hex digits" },
    { "2026b 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeZZ\n",
      "keys:1: secret is not hexadecimal" },
    { "bad/id 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
      "keys:1: key id must be" },
    { K1 "\n" K1, "keys:3: key id \"2026b\" appears twice" },
    { K1 K2 "third 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
      "keys:3: at most 2 keys" },
    { "2026b 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff extra\n",
      "keys:1: expected" },
};

static void
test_bad_keys(void **state)
{
    struct sw_tag_keys k;
    struct sw_buf err;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
        sw_buf_init(&err, 1024);
        if (sw_tag_keys_parse(bad_keys[i].text, strlen(bad_keys[i].text), "keys", &k, &err))
            fail_msg("row %zu: accepted", i);
        if (strstr(sw_buf_str(&err), bad_keys[i].want) == NULL)
            fail_msg("row %zu: error \"%s\" lacks \"%s\"", i, sw_buf_str(&err), bad_keys[i].want);
        sw_buf_free(&err);
    }
}

static void
test_good_keys(void **state)
{
    struct sw_tag_keys k = keys_of("# rotated 2026-11\n  " K1 "\r\n" K2);

    (void) state;
    assert_int_equal(k.n, 2);
    assert_string_equal(k.key[0].id, "2026b");
    assert_int_equal(k.key[0].len, 32);
    assert_int_equal(k.key[0].secret[1], 0x11);
    assert_string_equal(k.key[1].id, "2026a");
}

static void
test_round_trip(void **state)
{
    struct sw_tag_keys k = keys_of(K1 K2);
    char tag[SW_TAG_MAX + 1];

    (void) state;
    assert_true(sw_tag_make(&k, NOW, "<abc@ourorg.example>", tag, sizeof(tag)));
    assert_non_null(strstr(tag, "v=1; t=1763812345; k=2026b; h="));
    assert_int_equal(sw_tag_verify(&k, tag, "<abc@ourorg.example>", NOW + 60, 86400), SW_TAG_VALID);
    /* The Message-ID as returned may be folded or padded. */
    assert_int_equal(sw_tag_verify(&k, tag, "\r\n <abc@ourorg.example> ", NOW, 86400),
                     SW_TAG_VALID);
    /* Another message's id: the tag does not transfer. */
    assert_int_equal(sw_tag_verify(&k, tag, "<abd@ourorg.example>", NOW, 86400), SW_TAG_INVALID);
    assert_int_equal(sw_tag_verify(&k, tag, "", NOW, 86400), SW_TAG_INVALID);
    /* Too old, and from the future. */
    assert_int_equal(sw_tag_verify(&k, tag, "<abc@ourorg.example>", NOW + 86401, 86400),
                     SW_TAG_EXPIRED);
    assert_int_equal(sw_tag_verify(&k, tag, "<abc@ourorg.example>", NOW + 86401, 0), SW_TAG_VALID);
    assert_int_equal(sw_tag_verify(&k, tag, "<abc@ourorg.example>", NOW - 301, 86400),
                     SW_TAG_INVALID);
    /* No Message-ID at all signs the empty id, says so, and still
     * verifies when a relay on the way added one. */
    assert_true(sw_tag_make(&k, NOW, NULL, tag, sizeof(tag)));
    assert_non_null(strstr(tag, "; m=0"));
    assert_int_equal(sw_tag_verify(&k, tag, "", NOW, 86400), SW_TAG_VALID);
    assert_int_equal(sw_tag_verify(&k, tag, "<added@provider.example>", NOW, 86400),
                     SW_TAG_VALID);
    /* "m=0" added to a tag made for a Message-ID does not verify. */
    assert_true(sw_tag_make(&k, NOW, "<abc@ourorg.example>", tag, sizeof(tag)));
    assert_null(strstr(tag, "m=0"));
    strcat(tag, "; m=0");
    assert_int_equal(sw_tag_verify(&k, tag, "<abc@ourorg.example>", NOW, 86400), SW_TAG_INVALID);
}

static void
test_rotation(void **state)
{
    struct sw_tag_keys old = keys_of(K2), rotated = keys_of(K1 K2), gone = keys_of(K1);
    char tag[SW_TAG_MAX + 1];

    (void) state;
    assert_true(sw_tag_make(&old, NOW, "<m@x>", tag, sizeof(tag)));
    assert_non_null(strstr(tag, "k=2026a"));
    /* Signed before the rotation, still verifies with the previous key. */
    assert_int_equal(sw_tag_verify(&rotated, tag, "<m@x>", NOW, 0), SW_TAG_VALID);
    /* Once the old key is dropped it no longer does. */
    assert_int_equal(sw_tag_verify(&gone, tag, "<m@x>", NOW, 0), SW_TAG_INVALID);
}

/* Tags that are not ours. */
static void
test_forged(void **state)
{
    struct sw_tag_keys k = keys_of(K1), other = keys_of(K2);
    char tag[SW_TAG_MAX + 1], forged[SW_TAG_MAX + 40];
    static const char *const junk[] = {
        "v=1",
        "v=2; t=1763812345; k=2026b; h=AAAAAAAAAAAAAAAAAAAAAA",
        "v=1; t=1763812345; k=2026b; h=AAAAAAAAAAAAAAAAAAAAAA",
        "v=1; t=-5; k=2026b; h=AAAAAAAAAAAAAAAAAAAAAA",
        "v=1; t=17638x; k=2026b; h=AAAAAAAAAAAAAAAAAAAAAA",
        "v=1; t=1763812345; k=nokey; h=AAAAAAAAAAAAAAAAAAAAAA",
        "v=1; t=1763812345; k=2026b; h=",
        "garbage",
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        if (sw_tag_verify(&k, junk[i], "<m@x>", NOW, 0) != SW_TAG_INVALID)
            fail_msg("junk tag %zu was not invalid", i);
    assert_int_equal(sw_tag_verify(&k, "", "<m@x>", NOW, 0), SW_TAG_ABSENT);
    assert_int_equal(sw_tag_verify(&k, NULL, "<m@x>", NOW, 0), SW_TAG_ABSENT);
    assert_int_equal(sw_tag_verify(NULL, "v=1", "<m@x>", NOW, 0), SW_TAG_UNCHECKED);
    /* Signed with a key of the same id that is not ours. */
    memcpy(other.key[0].id, "2026b", 6);
    assert_true(sw_tag_make(&other, NOW, "<m@x>", tag, sizeof(tag)));
    assert_int_equal(sw_tag_verify(&k, tag, "<m@x>", NOW, 0), SW_TAG_INVALID);
    /* Our tag with its time changed (to look younger). */
    assert_true(sw_tag_make(&k, NOW, "<m@x>", tag, sizeof(tag)));
    (void) snprintf(forged, sizeof(forged), "v=1; t=%ld; %s", NOW + 100, strstr(tag, "k="));
    assert_int_equal(sw_tag_verify(&k, forged, "<m@x>", NOW + 100, 0), SW_TAG_INVALID);
    /* One character of the MAC changed. */
    tag[strlen(tag) - 1] = tag[strlen(tag) - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(sw_tag_verify(&k, tag, "<m@x>", NOW, 0), SW_TAG_INVALID);
}

/* The strict grammar (tag.h): a genuine tag's text varied.  @H stands
 * for the genuine MAC; the tag was made at NOW, with key 2026b, for <m@x>. */
#define T "1763812345"
static const struct {
    const char *fmt;
    enum sw_tag_state want;
} variants[] = {
    { "v=1; t=" T "; k=2026b; h=@H", SW_TAG_VALID },
    /* white space that unfolding may leave */
    { " v=1; t=" T "; k=2026b; h=@H ", SW_TAG_VALID },
    { "v=1;\tt=" T ";\tk=2026b;\th=@H", SW_TAG_VALID },
    { "v=1;  t=" T "; k=2026b; h=@H", SW_TAG_VALID },
    { "v=1;\t t=" T "; k=2026b; h=@H\t", SW_TAG_VALID },
    /* trailing parameters: what made one seen tag many */
    { "v=1; t=" T "; k=2026b; h=@H; x=1", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b; h=@H; x=2", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b; h=@H; x=", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b; h=@H;", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b; h=@H; ", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b; h=@H;x=1", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b; h=@H; m=1", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b; h=@H x", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b; h=@HA", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b; h=@H\r\n", SW_TAG_INVALID },
    { "x=1; v=1; t=" T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; x=1; t=" T "; k=2026b; h=@H", SW_TAG_INVALID },
    /* duplicates */
    { "v=1; v=1; t=" T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; t=" T "; t=" T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b; h=@H; h=@H", SW_TAG_INVALID },
    /* order */
    { "t=" T "; v=1; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; k=2026b; t=" T "; h=@H", SW_TAG_INVALID },
    { "v=1; t=" T "; h=@H; k=2026b", SW_TAG_INVALID },
    /* case: names are lower case, key ids compared exactly */
    { "V=1; t=" T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; T=" T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; t=" T "; K=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b; H=@H", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026B; h=@H", SW_TAG_INVALID },
    /* separators and numbers */
    { "v=1;t=" T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1 ; t=" T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1;                t=" T "; k=2026b; h=@H", SW_TAG_VALID },
    { "v=1;                 t=" T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1, t=" T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; t=0" T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; t=+" T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; t=" T ".0; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; t= " T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=01; t=" T "; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; t=" T "; k=\"2026b\"; h=@H", SW_TAG_INVALID },
    /* bounded lengths */
    { "v=1; t=1763812345000; k=2026b; h=@H", SW_TAG_INVALID },
    { "v=1; t=" T "; k=2026b2026b2026b20; h=@H", SW_TAG_INVALID },
    { "                v=1; t=" T "; k=2026b; h=@H", SW_TAG_INVALID },
};

/* fill - a variant's text: every "@H" replaced by the MAC */
static void
fill(const char *fmt, const char *h, char *out, size_t size)
{
    struct sw_buf b;
    const char *p;

    sw_buf_init(&b, size);
    for (p = fmt; *p; p++)
        if (p[0] == '@' && p[1] == 'H') {
            sw_buf_adds(&b, h);
            p++;
        } else
            sw_buf_addc(&b, *p);
    assert_true(b.len < size);
    memcpy(out, sw_buf_str(&b), b.len + 1);
    sw_buf_free(&b);
}

/* mac_of - the h= of a tag sw_tag_make wrote */
static const char *
mac_of(const char *tag)
{
    const char *h = strstr(tag, "h=");

    assert_non_null(h);
    return h + 2;
}

static void
test_strict(void **state)
{
    struct sw_tag_keys k = keys_of(K1);
    char tag[SW_TAG_MAX + 1], h[SW_TAG_H_LEN + 1], variant[4 * SW_TAG_MAX];
    enum sw_tag_state got;
    size_t i;

    (void) state;
    assert_true(sw_tag_make(&k, NOW, "<m@x>", tag, sizeof(tag)));
    assert_int_equal(strlen(mac_of(tag)), SW_TAG_H_LEN);
    memcpy(h, mac_of(tag), sizeof(h));
    for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        fill(variants[i].fmt, h, variant, sizeof(variant));
        got = sw_tag_verify(&k, variant, "<m@x>", NOW, 86400);
        if (got != variants[i].want)
            fail_msg("row %zu \"%s\": %s, expected %s", i, variant, sw_tag_state_name(got),
                     sw_tag_state_name(variants[i].want));
    }
}

/* Every text of one tag that verifies has the same canonical form, the
 * key de-duplication uses; other tags have other forms. */
static void
test_canonical(void **state)
{
    struct sw_tag_keys k = keys_of(K1 K2), k2 = keys_of(K2);
    char tag[SW_TAG_MAX + 1], other[SW_TAG_MAX + 1], h[SW_TAG_H_LEN + 1];
    char variant[4 * SW_TAG_MAX], canon[SW_TAG_CANON_MAX], want[SW_TAG_CANON_MAX];
    size_t i, nvalid = 0;

    (void) state;
    assert_true(sw_tag_make(&k, NOW, "<m@x>", tag, sizeof(tag)));
    memcpy(h, mac_of(tag), sizeof(h));
    assert_int_equal(sw_tag_check(&k, tag, "<m@x>", NOW, 86400, want), SW_TAG_VALID);
    for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        fill(variants[i].fmt, h, variant, sizeof(variant));
        if (sw_tag_check(&k, variant, "<m@x>", NOW, 86400, canon) == SW_TAG_VALID) {
            nvalid++;
            if (strcmp(canon, want) != 0)
                fail_msg("row %zu \"%s\": canonical \"%s\", expected \"%s\"", i, variant, canon,
                         want);
        } else if (canon[0] != '\0')
            fail_msg("row %zu: a canonical form for a tag that does not verify", i);
    }
    assert_true(nvalid >= 5);
    /* The form: key id, time, MAC. */
    (void) snprintf(canon, sizeof(canon), "k=2026b t=%ld h=%s", NOW, h);
    assert_string_equal(want, canon);
    /* Expired still has its form (the guard never sees it as trusted). */
    assert_int_equal(sw_tag_check(&k, tag, "<m@x>", NOW + 86401, 86400, canon), SW_TAG_EXPIRED);
    assert_string_equal(canon, want);
    /* Another message, another time, another key: other forms. */
    assert_true(sw_tag_make(&k, NOW, "<n@x>", other, sizeof(other)));
    assert_int_equal(sw_tag_check(&k, other, "<n@x>", NOW, 86400, canon), SW_TAG_VALID);
    assert_string_not_equal(canon, want);
    assert_true(sw_tag_make(&k, NOW + 1, "<m@x>", other, sizeof(other)));
    assert_int_equal(sw_tag_check(&k, other, "<m@x>", NOW + 1, 86400, canon), SW_TAG_VALID);
    assert_string_not_equal(canon, want);
    assert_true(sw_tag_make(&k2, NOW, "<m@x>", other, sizeof(other)));
    assert_int_equal(sw_tag_check(&k, other, "<m@x>", NOW, 86400, canon), SW_TAG_VALID);
    assert_non_null(strstr(canon, "k=2026a "));
    /* Without a Message-ID: with or without "; m=0" it is one tag. */
    assert_true(sw_tag_make(&k, NOW, NULL, tag, sizeof(tag)));
    assert_int_equal(sw_tag_check(&k, tag, "", NOW, 86400, want), SW_TAG_VALID);
    *strstr(tag, "; m=0") = '\0';
    assert_int_equal(sw_tag_check(&k, tag, "", NOW, 86400, canon), SW_TAG_VALID);
    assert_string_equal(canon, want);
    /* Nothing to verify with: no form. */
    assert_int_equal(sw_tag_check(NULL, tag, "", NOW, 86400, canon), SW_TAG_UNCHECKED);
    assert_string_equal(canon, "");
    assert_int_equal(sw_tag_check(&k, "garbage", "", NOW, 86400, canon), SW_TAG_INVALID);
    assert_string_equal(canon, "");
}

static void
test_load_file(void **state)
{
    char path[] = "/tmp/test_tag.XXXXXX";
    struct sw_tag_keys k;
    struct sw_buf err;
    int fd = mkstemp(path);

    (void) state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, K1, strlen(K1)), (ssize_t) strlen(K1));
    close(fd);
    sw_buf_init(&err, 1024);
    assert_true(sw_tag_keys_load(path, &k, &err));
    assert_int_equal(k.n, 1);
    unlink(path);
    assert_false(sw_tag_keys_load(path, &k, &err));
    assert_non_null(strstr(sw_buf_str(&err), "No such file"));
    sw_buf_free(&err);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_keys),   cmocka_unit_test(test_good_keys),
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_forged),     cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_strict),     cmocka_unit_test(test_canonical),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
