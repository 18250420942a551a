/* test_attrib.c - which configured relay a logged delivery went through (attrib.h) */

/*
 * A table of logged relays ("host[addr]:port", as Postfix writes relay=)
 * against a primary with a bracketed name, a primary with an MX-style
 * nexthop and an alternate, each with the addresses and hosts it resolved
 * to (health.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "global/attrib.h"
#include "global/conf.h"
#include "global/health.h"
#include "global/policy.h"

#define CONF_TEXT                                                                                \
    "pools = ( { name = \"m365\"; relays = [\"geo\"]; }, { name = \"mx\"; relays = [\"mx\"]; } " \
    ");\n"                                                                                       \
    "relays = (\n"                                                                               \
    "  { name = \"geo\"; nexthop = \"[relay.geo.test]:2525\"; role = \"primary\"; },\n"          \
    "  { name = \"mx\"; nexthop = \"mx.test\"; role = \"primary\"; },\n"                         \
    "  { name = \"alt\"; nexthop = \"[alt.test]:25\"; role = \"alternate\"; }\n"                 \
    ");\n"

struct attrib_case {
    const char *host, *addr;
    int port;
    const char *want; /* relay name, NULL: none */
};

static const struct attrib_case cases[] = {
    /* by the configured nexthop, as before */
    { "relay.geo.test", "127.0.0.11", 2525, "geo" },
    { "RELAY.geo.test.", "127.0.0.11", 2525, "geo" },
    { "relay.geo.test", "127.0.0.11", 25, NULL },
    { "mx.test", "127.0.0.31", 25, "mx" },
    { "alt.test", "127.0.0.41", 25, "alt" },
    /* a partial relay answered by its up addresses */
    { "127.0.0.12", "127.0.0.12", 2525, "geo" },
    { "127.0.0.12", "127.0.0.12", 25, NULL }, /* another port: not that relay */
    { "::1", "::1", 2525, "geo" },
    /* an MX-style nexthop, logged by its MX hosts */
    { "mx1.relays.test", "127.0.0.31", 25, "mx" },
    { "MX2.Relays.Test", "127.0.0.32", 25, "mx" },
    /* an address two relays resolved to: neither */
    { "127.0.0.50", "127.0.0.50", 25, NULL },
    /* nothing spillway knows */
    { "other.test", "127.0.0.99", 25, NULL },
    { "127.0.0.99", "127.0.0.99", 2525, NULL },
};

/* set - relay name's resolved addresses and the hosts they came from */
static void
set(struct sw_relay_health *h, const struct sw_conf *c, const char *name, size_t n,
    const char (*ips)[SW_IP_MAX + 1], const char (*names)[SW_HOST_MAX + 1])
{
    const struct sw_relay *r = sw_conf_relay(c, name);

    assert_non_null(r);
    assert_true(sw_health_set_addrs(&h[r - c->relays], ips, names, n, 1000));
}

/* test_attrib_resolved - every case */
static void
test_attrib_resolved(void **state)
{
    static const char geo_ips[3][SW_IP_MAX + 1] = { "127.0.0.11", "127.0.0.12", "::1" };
    static const char geo_names[3][SW_HOST_MAX + 1] = { "relay.geo.test", "relay.geo.test",
                                                        "relay.geo.test" };
    static const char mx_ips[3][SW_IP_MAX + 1] = { "127.0.0.31", "127.0.0.32", "127.0.0.50" };
    static const char mx_names[3][SW_HOST_MAX + 1] = { "mx1.relays.test", "mx2.relays.test",
                                                       "mx3.relays.test" };
    static const char alt_ips[2][SW_IP_MAX + 1] = { "127.0.0.41", "127.0.0.50" };
    static const char alt_names[2][SW_HOST_MAX + 1] = { "alt.test", "alt.test" };
    const struct sw_relay *r;
    struct sw_relay_health *h;
    struct sw_policy p;
    struct sw_conf *c;
    struct sw_buf err;
    size_t i, failed = 0;

    (void) state;
    sw_buf_init(&err, 64 * 1024);
    c = sw_conf_load_string(CONF_TEXT, "attrib.conf", &err);
    if (c == NULL)
        print_error("%s\n", sw_buf_str(&err));
    assert_non_null(c);
    h = calloc(c->nrelays, sizeof(*h));
    assert_non_null(h);
    set(h, c, "geo", 3, geo_ips, geo_names);
    set(h, c, "mx", 3, mx_ips, mx_names);
    set(h, c, "alt", 2, alt_ips, alt_names);
    p = (struct sw_policy){ .conf = c, .health = h };
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = sw_attrib_relay_resolved(&p, cases[i].host, cases[i].addr, cases[i].port);
        if ((r == NULL) != (cases[i].want == NULL) || (r && strcmp(r->name, cases[i].want) != 0)) {
            print_error("%s[%s]:%d: got %s, want %s\n", cases[i].host, cases[i].addr, cases[i].port,
                        r ? r->name : "none", cases[i].want ? cases[i].want : "none");
            failed++;
        }
    }
    /* without health: the configured nexthop only */
    p.health = NULL;
    assert_null(sw_attrib_relay_resolved(&p, "127.0.0.12", "127.0.0.12", 2525));
    assert_string_equal(sw_attrib_relay_resolved(&p, "relay.geo.test", "127.0.0.12", 2525)->name,
                        "geo");
    free(h);
    sw_conf_free(c);
    sw_buf_free(&err);
    assert_int_equal(failed, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attrib_resolved),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
