/* test_addr.c - lookup keys to destination domains (addr.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/addr.h"

#define LEN_STRLEN ((size_t) -1)

/* Labels of 10, 61, 62, 63 and 64 characters, and long names. */
#define L10        "abcdefghij"
#define L61        L10 L10 L10 L10 L10 L10 "k"
#define L62        L61 "l"
#define L63        L62 "m"
#define L64        L63 "n"
#define D253       L63 "." L63 "." L63 "." L61 /* 63*3 + 61 + 3 dots */
#define D254       L63 "." L63 "." L63 "." L62

static const char *
kind_name(enum sw_key_kind k)
{
    switch (k) {
    case SW_KEY_NONE: return "NONE";
    case SW_KEY_DOMAIN: return "DOMAIN";
    case SW_KEY_SUBDOMAINS: return "SUBDOMAINS";
    case SW_KEY_ROOT: return "ROOT";
    }
    return "?";
}

struct key_case {
    const char *key;
    size_t len;  /* LEN_STRLEN: strlen(key) */
    size_t size; /* output buffer size, 0: SW_DOMAIN_MAX + 1 */
    enum sw_key_kind kind;
    const char *domain; /* expected when DOMAIN or SUBDOMAINS */
};

static const struct key_case transport_cases[] = {
    { "User+ext@Example.COM", LEN_STRLEN, 0, SW_KEY_DOMAIN, "example.com" },
    { "a@b.example.com.", LEN_STRLEN, 0, SW_KEY_DOMAIN, "b.example.com" },
    { "\"q@x\"@Example.org", LEN_STRLEN, 0, SW_KEY_DOMAIN, "example.org" },
    { "a@b@example.net", LEN_STRLEN, 0, SW_KEY_DOMAIN, "example.net" },
    { "@example.com", LEN_STRLEN, 0, SW_KEY_DOMAIN, "example.com" },
    { "u@EXAMPLE.COM", LEN_STRLEN, 0, SW_KEY_DOMAIN, "example.com" },
    { "u@xn--bcher-kva.example", LEN_STRLEN, 0, SW_KEY_DOMAIN, "xn--bcher-kva.example" },
    { "u@ex_ample-1.com", LEN_STRLEN, 0, SW_KEY_DOMAIN, "ex_ample-1.com" },
    { "u@localhost", LEN_STRLEN, 0, SW_KEY_DOMAIN, "localhost" },
    { "u@" L63 ".com", LEN_STRLEN, 0, SW_KEY_DOMAIN, L63 ".com" },
    { "u@" D253, LEN_STRLEN, 0, SW_KEY_DOMAIN, D253 },
    { "u@" D253 ".", LEN_STRLEN, 0, SW_KEY_DOMAIN, D253 },
    /* The length bounds the key: nothing after it is read. */
    { "u@example.com.evil", 13, 0, SW_KEY_DOMAIN, "example.com" },
    { "*", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "MAILER-DAEMON", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "postmaster", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@[192.0.2.1]", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@[IPv6:2001:db8::1]", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@exa mple.com", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@example.com ", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@.", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@a..b", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@.example.com", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@exämple.com", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@example.com/x", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@ex\0ample.com", 14, 0, SW_KEY_NONE, NULL },
    { "example.com", LEN_STRLEN, 0, SW_KEY_NONE, NULL }, /* no '@' */
    { "u@" L64 ".com", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@" D254, LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    /* An output buffer too small for the domain is refused, not cut. */
    { "u@example.com", LEN_STRLEN, 11, SW_KEY_NONE, NULL },
    { "u@example.com", LEN_STRLEN, 12, SW_KEY_DOMAIN, "example.com" },
};

static const struct key_case mailertable_cases[] = {
    { "example.com", LEN_STRLEN, 0, SW_KEY_DOMAIN, "example.com" },
    { "EXAMPLE.com", LEN_STRLEN, 0, SW_KEY_DOMAIN, "example.com" },
    { "example.com.", LEN_STRLEN, 0, SW_KEY_DOMAIN, "example.com" },
    { ".example.com", LEN_STRLEN, 0, SW_KEY_SUBDOMAINS, "example.com" },
    { ".Example.COM", LEN_STRLEN, 0, SW_KEY_SUBDOMAINS, "example.com" },
    { ".com", LEN_STRLEN, 0, SW_KEY_SUBDOMAINS, "com" },
    { ".", LEN_STRLEN, 0, SW_KEY_ROOT, NULL },
    { "", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "..", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "..example.com", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "*", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "u@example.com", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "[192.0.2.1]", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "a..b", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { D253, LEN_STRLEN, 0, SW_KEY_DOMAIN, D253 },
    { D254, LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { "." L64, LEN_STRLEN, 0, SW_KEY_NONE, NULL },
};

/*
 * BUG (milter/util/addr.c:29-48, copy_domain): one trailing dot is stripped,
 * but a second one is then accepted as the end of an empty label, so
 * "u@example.com.." yields the domain "example.com." (with its dot) as
 * SW_KEY_DOMAIN instead of SW_KEY_NONE.  The result matches no scope, and
 * through sw_ctl_scope an operator's typo "divert example.com.." creates
 * a pin on "destination:example.com." that routes nothing.
 */
static const struct key_case bug_transport_cases[] = {
    { "u@example.com..", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
};
static const struct key_case bug_mailertable_cases[] = {
    { "example.com..", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
    { ".example.com..", LEN_STRLEN, 0, SW_KEY_NONE, NULL },
};

typedef enum sw_key_kind (*key_fn)(const char *, size_t, char *, size_t);

/* run_keys - every case of a table; returns the number of failures */
static int
run_keys(const char *what, key_fn fn, const struct key_case *cases, size_t n)
{
    char domain[SW_DOMAIN_MAX + 1 + 16];
    enum sw_key_kind k;
    size_t i, len, size;
    int failed = 0;

    for (i = 0; i < n; i++) {
        const struct key_case *c = &cases[i];

        len = c->len == LEN_STRLEN ? strlen(c->key) : c->len;
        size = c->size ? c->size : SW_DOMAIN_MAX + 1;
        memset(domain, '#', sizeof(domain));
        k = fn(c->key, len, domain, size);
        if (k != c->kind) {
            print_error("%s(\"%.*s\"): %s, expected %s\n", what, (int) len, c->key, kind_name(k),
                        kind_name(c->kind));
            failed++;
            continue;
        }
        if ((k == SW_KEY_DOMAIN || k == SW_KEY_SUBDOMAINS) && strcmp(domain, c->domain) != 0) {
            print_error("%s(\"%.*s\"): domain \"%s\", expected \"%s\"\n", what, (int) len, c->key,
                        domain, c->domain);
            failed++;
        }
        if (domain[size] != '#') {
            print_error("%s(\"%.*s\"): wrote past the %zu-byte buffer\n", what, (int) len, c->key,
                        size);
            failed++;
        }
    }
    return failed;
}

static void
test_transport_key(void **state)
{
    (void) state;
    assert_int_equal(run_keys("sw_addr_transport_key", sw_addr_transport_key, transport_cases,
                              sizeof(transport_cases) / sizeof(transport_cases[0])),
                     0);
}

static void
test_mailertable_key(void **state)
{
    (void) state;
    assert_int_equal(run_keys("sw_addr_mailertable_key", sw_addr_mailertable_key, mailertable_cases,
                              sizeof(mailertable_cases) / sizeof(mailertable_cases[0])),
                     0);
}

/* BUG: see bug_transport_cases above. */
static void
test_regression_double_trailing_dot(void **state)
{
    int failed;

    (void) state;
    failed = run_keys("sw_addr_transport_key", sw_addr_transport_key, bug_transport_cases,
                      sizeof(bug_transport_cases) / sizeof(bug_transport_cases[0]));
    failed += run_keys("sw_addr_mailertable_key", sw_addr_mailertable_key, bug_mailertable_cases,
                       sizeof(bug_mailertable_cases) / sizeof(bug_mailertable_cases[0]));
    if (failed)
        print_error("REGRESSION milter/util/addr.c copy_domain: a name ending in \"..\" is accepted\n");
    assert_int_equal(failed, 0);
}

/* The parent walk used by every lookup. */
static const struct parent_case {
    const char *domain;
    const char *chain[6]; /* parents in order, NULL-terminated */
} parent_cases[] = {
    { "a.b.example.com", { "b.example.com", "example.com", "com", NULL } },
    { "example.com", { "com", NULL } },
    { "com", { NULL } },
    { "x.gov.uk", { "gov.uk", "uk", NULL } },
    { "example.", { NULL } },
    { "", { NULL } },
};

static void
test_parent_chain(void **state)
{
    const char *p;
    size_t i, k;
    int failed = 0;

    (void) state;
    for (i = 0; i < sizeof(parent_cases) / sizeof(parent_cases[0]); i++) {
        const struct parent_case *c = &parent_cases[i];

        p = c->domain;
        for (k = 0;; k++) {
            p = sw_addr_parent(p);
            if ((p == NULL) != (c->chain[k] == NULL) || (p && strcmp(p, c->chain[k]) != 0)) {
                print_error("parent %zu of \"%s\": \"%s\", expected \"%s\"\n", k + 1, c->domain,
                            p ? p : "(null)", c->chain[k] ? c->chain[k] : "(null)");
                failed++;
                break;
            }
            if (p == NULL)
                break;
        }
    }
    assert_int_equal(failed, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transport_key),
        cmocka_unit_test(test_mailertable_key),
        cmocka_unit_test(test_parent_chain),
        cmocka_unit_test(test_regression_double_trailing_dot),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
