/* test_render.c - the fail-static tables: Postfix transport, Sendmail mailertable (render.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "global/render.h"
#include "global/sockmap.h"

#define HEADER  "# spillway: current diversions (generated; do not edit)\n"
#define MAXPINS 4

struct pinspec {
    enum sw_scope_kind kind;
    const char *name; /* NULL ends the list */
    const char *relay;
};

struct adminspec {
    const char *relay; /* NULL ends the list */
    enum sw_relay_admin admin;
};

struct render_case {
    const char *name;
    struct pinspec pins[MAXPINS];
    struct adminspec admin[MAXPINS];
    const char *table; /* the exact text, NULL: only agreement checked */
};

static const struct render_case cases[] = {
    { "everything primary", { { 0 } }, { { 0 } }, HEADER },
    { "destination example.com pinned",
      { { SW_SCOPE_DESTINATION, "example.com", "alt-eu" } },
      { { 0 } },
      HEADER "example.com\t" FX_T_ALTEU "\n"
             ".example.com\t" FX_T_ALTEU "\n" },
    { "pool pinned: wildcard and a residency exception",
      { { SW_SCOPE_POOL, "m365", "alt-eu" } },
      { { 0 } },
      HEADER ".gov.uk\t" FX_T_ALTUK "\n"
             "*\t" FX_T_ALTEU "\n" },
    { "pool pinned, alt-uk disabled: the exception goes to the primary",
      { { SW_SCOPE_POOL, "m365", "alt-eu" } },
      { { "alt-uk", SW_ADMIN_DISABLED } },
      HEADER ".gov.uk\t" FX_T_M365 "\n"
             "*\t" FX_T_ALTEU "\n" },
    { "two destinations, in key order",
      { { SW_SCOPE_DESTINATION, "b.example", "alt-us" },
        { SW_SCOPE_DESTINATION, "a.example", "alt-eu2" } },
      { { 0 } },
      HEADER "a.example\t" FX_T_ALTEU2 "\n"
             ".a.example\t" FX_T_ALTEU2 "\n"
             "b.example\t" FX_T_ALTUS "\n"
             ".b.example\t" FX_T_ALTUS "\n" },
    { "destination and pool",
      { { SW_SCOPE_POOL, "m365", "alt-eu" }, { SW_SCOPE_DESTINATION, "example.com", "alt-us" } },
      { { 0 } },
      HEADER "example.com\t" FX_T_ALTUS "\n"
             ".example.com\t" FX_T_ALTUS "\n"
             ".gov.uk\t" FX_T_ALTUK "\n"
             "*\t" FX_T_ALTEU "\n" },
    { "destination pinned to a disabled relay is left out",
      { { SW_SCOPE_DESTINATION, "example.com", "alt-eu" } },
      { { "alt-eu", SW_ADMIN_DISABLED } },
      HEADER },
    { "draining keeps the entry",
      { { SW_SCOPE_DESTINATION, "example.com", "alt-eu" } },
      { { "alt-eu", SW_ADMIN_DRAINING } },
      HEADER "example.com\t" FX_T_ALTEU "\n"
             ".example.com\t" FX_T_ALTEU "\n" },
    { "a destination under residency pinned to the UK relay",
      { { SW_SCOPE_DESTINATION, "a.gov.uk", "alt-uk" } },
      { { 0 } },
      HEADER "a.gov.uk\t" FX_T_ALTUK "\n"
             ".a.gov.uk\t" FX_T_ALTUK "\n" },
    { "pool pinned to alt-uk: \"*\" already routes *.gov.uk right",
      { { SW_SCOPE_POOL, "m365", "alt-uk" } },
      { { 0 } },
      HEADER "*\t" FX_T_ALTUK "\n" },
    { "pool and a destination pinned to a disabled relay: named primary",
      { { SW_SCOPE_POOL, "m365", "alt-eu" }, { SW_SCOPE_DESTINATION, "example.com", "alt-us" } },
      { { "alt-us", SW_ADMIN_DISABLED } },
      NULL },
    { "pool and a destination under residency",
      { { SW_SCOPE_POOL, "m365", "alt-eu" }, { SW_SCOPE_DESTINATION, "a.gov.uk", "alt-uk" } },
      { { 0 } },
      NULL },
};

/*
 * BUG cases: the rendered table routes a destination differently from
 * the socketmap, and the difference breaks the residency policy.
 *
 * 1. milter/render.c:115-124 (sw_render_transport): a destination scope
 *    "gov.uk" pinned to alt-eu (eligible for gov.uk itself, which
 *    "*.gov.uk" does not cover) is rendered as "gov.uk" and ".gov.uk";
 *    the ".gov.uk" entry sends every *.gov.uk destination to alt-eu,
 *    while the socketmap answers NOTFOUND (primary) for them.
 * 2. milter/render.c:75-81 with pattern_key's fixed sample "x.<base>"
 *    (render.c:49): with a pool pin, a destination pin on exactly
 *    "x.gov.uk" makes the sample hit that scope, so the ".gov.uk"
 *    residency exception is skipped and y.gov.uk falls to "*", the
 *    pool's EU relay.
 */
static const struct render_case bug_cases[] = {
    { "destination gov.uk pinned to alt-eu",
      { { SW_SCOPE_DESTINATION, "gov.uk", "alt-eu" } },
      { { 0 } },
      NULL },
    { "pool pinned and a pin on x.gov.uk",
      { { SW_SCOPE_POOL, "m365", "alt-eu" }, { SW_SCOPE_DESTINATION, "x.gov.uk", "alt-uk" } },
      { { 0 } },
      NULL },
};

/* Destinations each table is checked against the socketmap for. */
static const char *const probes[] = {
    "example.com", "a.example.com", "notexample.com", "a.example",  "mx.b.example", "x.gov.uk",
    "y.gov.uk",    "a.gov.uk",      "mx.a.gov.uk",    "a.b.gov.uk", "gov.uk",       "uk",
    "any.org",
};

/* apply - pins and admin states on a fresh fixture */
static void
apply(struct fx *f, const struct pinspec *pins, const struct adminspec *admin)
{
    size_t i;

    for (i = 0; i < MAXPINS && pins[i].name; i++)
        fx_pin(f, pins[i].kind, pins[i].name, pins[i].relay);
    for (i = 0; i < MAXPINS && admin[i].relay; i++)
        fx_set_admin(f, admin[i].relay, admin[i].admin);
}

/* table_get - the value of a key in rendered text, or NULL */
static const char *
table_get(const char *table, const char *key, char *out, size_t size)
{
    const char *line, *tab, *nl;
    size_t klen = strlen(key);

    for (line = table; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (nl == NULL)
            return NULL;
        if (*line == '#')
            continue;
        tab = memchr(line, '\t', (size_t) (nl - line));
        if (tab && (size_t) (tab - line) == klen && memcmp(line, key, klen) == 0) {
            (void) snprintf(out, size, "%.*s", (int) (nl - tab - 1), tab + 1);
            return out;
        }
    }
    return NULL;
}

/* postfix_lookup - what Postfix makes of an indexed transport table:
 * the domain, then ".parent" for each parent, then "*" (transport(5),
 * parent_domain_matches_subdomains without transport_maps) */
static const char *
postfix_lookup(const char *table, const char *domain, char *out, size_t size)
{
    char key[300];
    const char *p;

    if (table_get(table, domain, out, size))
        return out;
    for (p = strchr(domain, '.'); p; p = strchr(p + 1, '.')) {
        (void) snprintf(key, sizeof(key), "%s", p);
        if (table_get(table, key, out, size))
            return out;
    }
    return table_get(table, "*", out, size);
}

/* agree - the table and the socketmap route every probe the same way;
 * "primary" is NOTFOUND or the pool's primary named explicitly */
static int
agree(const char *name, const struct fx *f, const char *table)
{
    char req[300], got[300];
    const char *t, *s;
    struct sw_buf reply;
    size_t i;
    int failed = 0;

    sw_buf_init(&reply, 1024);
    for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        (void) snprintf(req, sizeof(req), "transport u@%s", probes[i]);
        (void) sw_sockmap_answer(&f->policy, f->route, req, strlen(req), &reply);
        s = strncmp(sw_buf_str(&reply), "OK ", 3) == 0 ? sw_buf_str(&reply) + 3 : FX_T_M365;
        t = postfix_lookup(table, probes[i], got, sizeof(got));
        if (t == NULL)
            t = FX_T_M365;
        if (strcmp(s, t) != 0) {
            print_error("case \"%s\": %s: the table says %s, the socketmap %s\n", name, probes[i],
                        t, sw_buf_str(&reply));
            failed++;
        }
    }
    sw_buf_free(&reply);
    return failed;
}

/* run - render each case, compare the text and check agreement */
static int
run(const struct render_case *list, size_t n)
{
    struct sw_buf out;
    struct fx f;
    size_t i;
    int failed = 0;

    sw_buf_init(&out, 1 << 20);
    for (i = 0; i < n; i++) {
        const struct render_case *c = &list[i];

        fx_init(&f);
        apply(&f, c->pins, c->admin);
        sw_buf_reset(&out);
        if (!sw_render_transport(&f.policy, f.route, &out)) {
            print_error("case \"%s\": sw_render_transport failed\n", c->name);
            failed++;
        } else if (c->table && strcmp(sw_buf_str(&out), c->table) != 0) {
            print_error("case \"%s\": rendered\n%s---- expected\n%s----\n", c->name,
                        sw_buf_str(&out), c->table);
            failed++;
        } else {
            failed += agree(c->name, &f, sw_buf_str(&out));
        }
        fx_free(&f);
    }
    sw_buf_free(&out);
    return failed;
}

static void
test_render_table(void **state)
{
    (void) state;
    assert_int_equal(run(cases, sizeof(cases) / sizeof(cases[0])), 0);
}

/* BUG: see bug_cases above. */
static void
test_regression_render_breaks_residency(void **state)
{
    int failed;

    (void) state;
    failed = run(bug_cases, sizeof(bug_cases) / sizeof(bug_cases[0]));
    if (failed)
        print_error("REGRESSION milter/render.c: the rendered table disagrees with the socketmap "
                    "and sends *.gov.uk outside the UK\n");
    assert_int_equal(failed, 0);
}

/* Many scopes: one line pair each, and a capped buffer fails cleanly. */
static void
test_render_many_and_capped(void **state)
{
    struct sw_buf out;
    struct fx f;
    char name[64];
    const char *p;
    size_t lines = 0;
    int i;

    (void) state;
    fx_init(&f);
    for (i = 0; i < 500; i++) {
        (void) snprintf(name, sizeof(name), "d%03d.example", i);
        fx_pin(&f, SW_SCOPE_DESTINATION, name, i % 2 ? "alt-eu" : "alt-us");
    }
    sw_buf_init(&out, 1 << 20);
    assert_true(sw_render_transport(&f.policy, f.route, &out));
    for (p = sw_buf_str(&out); *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 2 * 500);
    assert_non_null(strstr(sw_buf_str(&out), "\nd000.example\t" FX_T_ALTUS "\n"
                                             ".d000.example\t" FX_T_ALTUS "\nd001.example\t"));
    assert_non_null(strstr(sw_buf_str(&out), "\n.d499.example\t" FX_T_ALTEU "\n"));
    sw_buf_free(&out);
    sw_buf_init(&out, 1000);
    assert_false(sw_render_transport(&f.policy, f.route, &out));
    assert_true(out.overflow);
    sw_buf_free(&out);
    fx_free(&f);
}

/*
 * Sendmail's mailertable.  The standard fixture puts every relay on
 * 127.0.0.1, which a mailertable answer (no port) cannot tell apart: this
 * one gives each relay its own address, so that agreement means the same
 * relay.
 */
#define SM_CONF_TEXT                                                               \
    "pools = ( { name = \"m365\"; relays = [\"m365\"]; } );\n"                     \
    "relays = (\n"                                                                 \
    "  { name = \"m365\"; nexthop = \"[127.0.0.11]:25\"; role = \"primary\";"      \
    " jurisdiction = \"EU\"; },\n"                                                 \
    "  { name = \"alt-eu\"; nexthop = \"[127.0.0.12]:25\"; priority = 10;"         \
    " jurisdiction = \"EU\"; },\n"                                                 \
    "  { name = \"alt-eu2\"; nexthop = \"[127.0.0.14]:25\"; priority = 10;"        \
    " weight = 3; jurisdiction = \"EU\"; },\n"                                      \
    "  { name = \"alt-us\"; nexthop = \"[127.0.0.13]:25\"; priority = 20;"         \
    " jurisdiction = \"US\"; },\n"                                                 \
    "  { name = \"alt-uk\"; nexthop = \"[127.0.0.15]:2526\"; priority = 30;"       \
    " jurisdiction = \"UK\"; mailer = \"relay2526\"; }\n"                          \
    ");\n"                                                                         \
    "residency = ( { destinations = [\"*.gov.uk\"]; allow = [\"UK\"]; } );\n"
#define SM_M365 "relay:[127.0.0.11]"

/* sendmail_lookup - what Sendmail makes of a mailertable: the host, then
 * ".parent" for each parent, then "." */
static const char *
sendmail_lookup(const char *table, const char *domain, char *out, size_t size)
{
    const char *p;

    if (table_get(table, domain, out, size))
        return out;
    for (p = strchr(domain, '.'); p; p = strchr(p + 1, '.'))
        if (table_get(table, p, out, size))
            return out;
    return table_get(table, ".", out, size);
}

/* Every case, rendered as a mailertable: the table and Sendmail's walk
 * of the socket map (sw_sockmap_walk) send every probe to the same relay;
 * a missing entry and NOTFOUND are the smart host, the primary. */
static void
test_render_mailertable(void **state)
{
    const struct render_case *lists[] = { cases, bug_cases };
    const size_t counts[] = { sizeof(cases) / sizeof(cases[0]),
                              sizeof(bug_cases) / sizeof(bug_cases[0]) };
    struct sw_buf out, keys, reply;
    char got[300], addr[300];
    const char *t, *s;
    struct fx f;
    size_t l, i, k;
    int failed = 0;

    (void) state;
    sw_buf_init(&out, 1 << 20);
    sw_buf_init(&keys, 4096);
    sw_buf_init(&reply, 1024);
    for (l = 0; l < 2; l++)
        for (i = 0; i < counts[l]; i++) {
            fx_init_text(&f, SM_CONF_TEXT);
            apply(&f, lists[l][i].pins, lists[l][i].admin);
            sw_buf_reset(&out);
            assert_true(sw_render_mailertable(&f.policy, f.route, &out));
            for (k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
                (void) snprintf(addr, sizeof(addr), "u@%s", probes[k]);
                (void) sw_sockmap_walk(&f.policy, f.route, true, addr, &keys, &reply);
                s = strncmp(sw_buf_str(&reply), "OK ", 3) == 0 ? sw_buf_str(&reply) + 3 : SM_M365;
                t = sendmail_lookup(sw_buf_str(&out), probes[k], got, sizeof(got));
                if (t == NULL)
                    t = SM_M365;
                if (strcmp(s, t) != 0) {
                    print_error("case \"%s\": %s: the mailertable says %s, the socket map %s "
                                "(keys %s)\n%s",
                                lists[l][i].name, probes[k], t, sw_buf_str(&reply),
                                sw_buf_str(&keys), sw_buf_str(&out));
                    failed++;
                }
            }
            fx_free(&f);
        }
    assert_int_equal(failed, 0);
    /* The text: Sendmail's notation, "." for the catch-all, last. */
    fx_init_text(&f, SM_CONF_TEXT);
    fx_pin(&f, SW_SCOPE_POOL, "m365", "alt-eu");
    fx_pin(&f, SW_SCOPE_DESTINATION, "example.com", "alt-us");
    sw_buf_reset(&out);
    assert_true(sw_render_mailertable(&f.policy, f.route, &out));
    assert_string_equal(sw_buf_str(&out), HEADER "example.com\trelay:[127.0.0.13]\n"
                                              ".example.com\trelay:[127.0.0.13]\n"
                                              ".gov.uk\trelay2526:[127.0.0.15]\n"
                                              ".\trelay:[127.0.0.12]\n");
    fx_free(&f);
    sw_buf_free(&out);
    sw_buf_free(&keys);
    sw_buf_free(&reply);
}

/* sw_sockmap_walk: the keys Sendmail asks, in order, until one answers */
static void
test_sockmap_walk(void **state)
{
    struct sw_buf keys, reply;
    struct fx f;

    (void) state;
    sw_buf_init(&keys, 4096);
    sw_buf_init(&reply, 1024);
    fx_init_text(&f, SM_CONF_TEXT);
    assert_int_equal(sw_sockmap_walk(&f.policy, f.route, true, "u@mx.a.example", &keys, &reply),
                     SW_SOCKMAP_NOTFOUND);
    assert_string_equal(sw_buf_str(&keys), "\"mx.a.example\", \".a.example\", \".example\", \".\"");
    assert_string_equal(sw_buf_str(&reply), "NOTFOUND ");
    fx_pin(&f, SW_SCOPE_DESTINATION, "a.example", "alt-us");
    assert_int_equal(sw_sockmap_walk(&f.policy, f.route, true, "U@MX.A.Example", &keys, &reply),
                     SW_SOCKMAP_FOUND);
    assert_string_equal(sw_buf_str(&keys), "\"mx.a.example\"");
    assert_string_equal(sw_buf_str(&reply), "OK relay:[127.0.0.13]");
    assert_int_equal(sw_sockmap_walk(&f.policy, f.route, false, "U@MX.A.Example", &keys, &reply),
                     SW_SOCKMAP_FOUND);
    assert_string_equal(sw_buf_str(&keys), "\"U@MX.A.Example\"");
    assert_string_equal(sw_buf_str(&reply), "OK smtp:[127.0.0.13]:25");
    /* A bare domain works for both. */
    assert_int_equal(sw_sockmap_walk(&f.policy, f.route, true, "a.example", &keys, &reply),
                     SW_SOCKMAP_FOUND);
    assert_int_equal(sw_sockmap_walk(&f.policy, f.route, true, "@", &keys, &reply),
                     SW_SOCKMAP_NOTFOUND);
    fx_free(&f);
    sw_buf_free(&keys);
    sw_buf_free(&reply);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_table),
        cmocka_unit_test(test_render_many_and_capped),
        cmocka_unit_test(test_regression_render_breaks_residency),
        cmocka_unit_test(test_render_mailertable),
        cmocka_unit_test(test_sockmap_walk),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
