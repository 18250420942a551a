/* test_outbound.c - which mail leaves through us and is tagged (outbound.h) */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "global/outbound.h"

static char *loopback[] = { "127.0.0.0/8", "::1" };
static char *site[] = { "192.0.2.0/24", "2001:db8:1::/48" };

static const struct {
    const char *name;
    char **nets;
    size_t nnets;
    bool auth_counts; /* milter.outbound.authenticated */
    const char *client;
    bool authenticated;
    bool want;
} cases[] = {
    { "loopback client", loopback, 2, true, "127.0.0.1", false, true },
    { "other loopback address", loopback, 2, true, "127.3.4.5", false, true },
    { "IPv6 loopback", loopback, 2, true, "::1", false, true },
    { "Internet client: inbound", loopback, 2, true, "198.51.100.7", false, false },
    { "Internet client, authenticated", loopback, 2, true, "198.51.100.7", true, true },
    { "authenticated, but that does not count", loopback, 2, false, "198.51.100.7", true, false },
    { "local (unix socket)", loopback, 2, false, "local", false, true },
    { "unknown client", loopback, 2, true, "unknown", false, false },
    { "no client", loopback, 2, true, NULL, false, false },
    { "site network", site, 2, false, "192.0.2.200", false, true },
    { "next to the site network", site, 2, false, "192.0.3.1", false, false },
    { "site IPv6 network", site, 2, false, "2001:db8:1:ff::25", false, true },
    { "loopback not listed", site, 2, false, "127.0.0.1", false, false },
    { "no networks: only authenticated", NULL, 0, true, "127.0.0.1", false, false },
    { "no networks, authenticated", NULL, 0, true, "203.0.113.9", true, true },
    { "junk client text", loopback, 2, true, "127.0.0.1x", false, false },
};

static void
test_table(void **state)
{
    struct sw_milter_conf m;
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&m, 0, sizeof(m));
        m.out_networks.v = cases[i].nets;
        m.out_networks.n = cases[i].nnets;
        m.out_auth = cases[i].auth_counts;
        if (sw_outbound(&m, cases[i].client, cases[i].authenticated) != cases[i].want)
            fail_msg("%s: expected %s", cases[i].name, cases[i].want ? "outbound" : "inbound");
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
