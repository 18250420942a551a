/* fixture.h - a standard configuration, policy and route for unit tests */
#ifndef SW_TEST_FIXTURE_H
#define SW_TEST_FIXTURE_H

/*
 * Included after config.h and cmocka.h by the tests of the modules that
 * need a loaded configuration (route, sockmap, render, statefile).  The
 * helpers are static inline so a test that uses only some of them builds
 * without unused-function warnings.
 *
 * The standard configuration: one pool "m365" whose primary is "m365",
 * four alternates on distinct loopback ports, and a residency rule that
 * keeps *.gov.uk in the UK:
 *
 *   relay    role       priority weight jurisdiction nexthop            mailer
 *   m365     primary    (10)     (1)    EU           [127.0.0.1]:25001  (relay)
 *   alt-eu   alternate  10       (1)    EU           [127.0.0.1]:25002  (relay)
 *   alt-eu2  alternate  10       3      EU           [127.0.0.1]:25004  (relay)
 *   alt-us   alternate  20       (1)    US           [127.0.0.1]:25003  (relay)
 *   alt-uk   alternate  30       (1)    UK           [127.0.0.1]:25005  relay2526
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "global/conf.h"
#include "global/policy.h"
#include "global/route.h"

#define FX_CONF_NAME "fixture.conf"

#define FX_CONF_TEXT                                                                \
    "pools = ( { name = \"m365\"; relays = [\"m365\"]; } );\n"                      \
    "relays = (\n"                                                                  \
    "  { name = \"m365\"; nexthop = \"[127.0.0.1]:25001\"; role = \"primary\";"     \
    " jurisdiction = \"EU\"; },\n"                                                  \
    "  { name = \"alt-eu\"; nexthop = \"[127.0.0.1]:25002\";"                       \
    " role = \"alternate\"; priority = 10; jurisdiction = \"EU\"; },\n"             \
    "  { name = \"alt-eu2\"; nexthop = \"[127.0.0.1]:25004\";"                      \
    " role = \"alternate\"; priority = 10; weight = 3; jurisdiction = \"EU\"; },\n" \
    "  { name = \"alt-us\"; nexthop = \"[127.0.0.1]:25003\";"                       \
    " role = \"alternate\"; priority = 20; jurisdiction = \"US\"; },\n"             \
    "  { name = \"alt-uk\"; nexthop = \"[127.0.0.1]:25005\";"                       \
    " role = \"alternate\"; priority = 30; jurisdiction = \"UK\";"                  \
    " mailer = \"relay2526\"; }\n"                                                  \
    ");\n"                                                                          \
    "residency = ( { destinations = [\"*.gov.uk\"]; allow = [\"UK\"]; } );\n"

/* Expected answers for the standard relays. */
#define FX_T_M365   "smtp:[127.0.0.1]:25001"
#define FX_T_ALTEU  "smtp:[127.0.0.1]:25002"
#define FX_T_ALTUS  "smtp:[127.0.0.1]:25003"
#define FX_T_ALTEU2 "smtp:[127.0.0.1]:25004"
#define FX_T_ALTUK  "smtp:[127.0.0.1]:25005"

struct fx {
    struct sw_conf *conf;
    enum sw_relay_admin *admin; /* nrelays entries, all enabled */
    struct sw_policy policy;
    struct sw_route *route; /* empty: everything primary */
};

/* fx_load - a configuration from text that must load */
static inline struct sw_conf *
fx_load(const char *text)
{
    struct sw_buf err;
    struct sw_conf *c;

    sw_buf_init(&err, 64 * 1024);
    c = sw_conf_load_string(text, FX_CONF_NAME, &err);
    if (c == NULL)
        print_error("fixture configuration does not load:\n%s\n", sw_buf_str(&err));
    sw_buf_free(&err);
    assert_non_null(c);
    return c;
}

/* fx_init_text - conf, admin (all enabled), policy and an empty route */
static inline void
fx_init_text(struct fx *f, const char *text)
{
    size_t i;

    memset(f, 0, sizeof(*f));
    f->conf = fx_load(text);
    f->admin = calloc(f->conf->nrelays, sizeof(*f->admin));
    assert_non_null(f->admin);
    for (i = 0; i < f->conf->nrelays; i++)
        f->admin[i] = SW_ADMIN_ENABLED;
    f->policy.conf = f->conf;
    f->policy.admin = f->admin;
    f->route = sw_route_new();
    assert_non_null(f->route);
}

/* fx_init - the standard configuration */
static inline void
fx_init(struct fx *f)
{
    fx_init_text(f, FX_CONF_TEXT);
}

/* fx_free - everything fx_init made */
static inline void
fx_free(struct fx *f)
{
    sw_route_free(f->route);
    free(f->admin);
    sw_conf_free(f->conf);
    memset(f, 0, sizeof(*f));
}

/* fx_relay_index - index of a configured relay (fails the test if absent) */
static inline size_t
fx_relay_index(const struct fx *f, const char *name)
{
    const struct sw_relay *r = sw_conf_relay(f->conf, name);

    if (r == NULL)
        print_error("fixture has no relay named \"%s\"\n", name);
    assert_non_null(r);
    return (size_t) (r - f->conf->relays);
}

/* fx_set_admin - change one relay's administrative state */
static inline void
fx_set_admin(struct fx *f, const char *name, enum sw_relay_admin a)
{
    f->admin[fx_relay_index(f, name)] = a;
}

/* fx_pin - pin a scope (no expiry) and require success */
static inline void
fx_pin(struct fx *f, enum sw_scope_kind kind, const char *name, const char *relay)
{
    struct sw_decision d;
    enum sw_route_status st;

    st = sw_route_pin(f->route, kind, name, relay, 1700000000, 0, "test", 0, &d);
    if (st != SW_ROUTE_OK)
        print_error("cannot pin %s:%s to %s (status %d)\n", sw_scope_kind_name(kind), name, relay,
                    (int) st);
    assert_int_equal(st, SW_ROUTE_OK);
}

#endif
