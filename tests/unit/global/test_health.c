/* test_health.c - relay health, DNSBL answers, and how routing uses them */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "global/answer.h"
#include "global/dnsbl.h"
#include "fixture.h"
#include "global/health.h"
#include "global/render.h"
#include "global/render_tls.h"

#define T0 1700000000

static struct sw_probe_conf pc = { .enabled = true, .interval = 60, .timeout = 10,
                                   .backoff_max = 900, .fall = 2, .rise = 2 };

/* test_address_states - fall, rise, first result, back-off */
static void
test_address_states(void **state)
{
    struct sw_haddr a;

    (void) state;
    memset(&a, 0, sizeof(a));
    /* unknown: the first result decides at once */
    assert_true(sw_health_result(&a, &pc, true, NULL, T0));
    assert_int_equal(a.state, SW_HSTATE_UP);
    assert_int_equal(a.next, T0 + 60);
    /* up: one failure is not enough (fall = 2), re-checked soon */
    assert_false(sw_health_result(&a, &pc, false, "EHLO: timeout after 10s", T0 + 60));
    assert_int_equal(a.state, SW_HSTATE_UP);
    assert_int_equal(a.next, T0 + 60 + 15);
    assert_true(sw_health_result(&a, &pc, false, "EHLO: timeout after 10s", T0 + 75));
    assert_int_equal(a.state, SW_HSTATE_DOWN);
    assert_int_equal(a.changed, T0 + 75);
    assert_string_equal(a.why, "EHLO: timeout after 10s");
    assert_int_equal(a.next, T0 + 75 + 60);
    /* down: back-off doubles per failure, capped */
    assert_false(sw_health_result(&a, &pc, false, "x", T0 + 200));
    assert_int_equal(a.next, T0 + 200 + 120);
    assert_false(sw_health_result(&a, &pc, false, "x", T0 + 400));
    assert_int_equal(a.next, T0 + 400 + 240);
    for (int i = 0; i < 10; i++)
        (void) sw_health_result(&a, &pc, false, "x", T0 + 1000);
    assert_int_equal(a.next, T0 + 1000 + 900);
    /* down to up needs rise = 2 good probes */
    assert_false(sw_health_result(&a, &pc, true, NULL, T0 + 2000));
    assert_int_equal(a.state, SW_HSTATE_DOWN);
    assert_true(sw_health_result(&a, &pc, true, NULL, T0 + 2015));
    assert_int_equal(a.state, SW_HSTATE_UP);
    assert_int_equal(a.fails, 0);
}

static const char ips4[4][SW_IP_MAX + 1] = { "127.0.0.11", "127.0.0.12", "127.0.0.13",
                                             "127.0.0.14" };
static const char names4[4][SW_HOST_MAX + 1] = { "relay.geo.test", "relay.geo.test",
                                                 "relay.geo.test", "relay.geo.test" };

/* test_addresses_and_relay_state - merge a resolution, summarise */
static void
test_addresses_and_relay_state(void **state)
{
    struct sw_relay_health h;
    char sum[64];
    size_t up;

    (void) state;
    memset(&h, 0, sizeof(h));
    h.probed = true;
    assert_int_equal(sw_health_state(&h, NULL), SW_RSTATE_UNKNOWN);
    assert_null(sw_health_unusable(&h));
    assert_true(sw_health_set_addrs(&h, ips4, names4, 4, T0));
    assert_int_equal(h.naddrs, 4);
    assert_int_equal(h.addr[2].next, T0);
    assert_int_equal(sw_health_state(&h, NULL), SW_RSTATE_UNKNOWN);
    (void) sw_health_result(&h.addr[0], &pc, false, "RCPT: 451 4.3.0 no", T0);
    /* one address down, three not probed yet: not down */
    assert_int_equal(sw_health_state(&h, NULL), SW_RSTATE_UNKNOWN);
    assert_null(sw_health_unusable(&h));
    (void) sw_health_result(&h.addr[1], &pc, false, "RCPT: 451 4.3.0 no", T0);
    (void) sw_health_result(&h.addr[2], &pc, true, NULL, T0);
    assert_int_equal(sw_health_state(&h, &up), SW_RSTATE_PARTIAL);
    assert_int_equal(up, 1);
    assert_true(sw_health_pinned(&h));
    assert_null(sw_health_unusable(&h));
    sw_health_summary(&h, sum, sizeof(sum));
    assert_string_equal(sum, "partial 1/4");
    /* the same set again, reordered: no change, states kept */
    {
        const char again[3][SW_IP_MAX + 1] = { "127.0.0.13", "127.0.0.11", "127.0.0.13" };
        assert_true(sw_health_set_addrs(&h, again, names4, 3, T0 + 30));
        assert_int_equal(h.naddrs, 2); /* duplicate dropped, .12 and .14 gone */
        assert_int_equal(h.addr[0].state, SW_HSTATE_UP);
        assert_int_equal(h.addr[1].state, SW_HSTATE_DOWN);
        assert_false(sw_health_set_addrs(&h, again, names4, 2, T0 + 60));
    }
    /* the same addresses from another host (a new MX host): a change */
    {
        const char mx[2][SW_HOST_MAX + 1] = { "mx2.geo.test", "mx2.geo.test" };
        const char same[2][SW_IP_MAX + 1] = { "127.0.0.13", "127.0.0.11" };

        assert_true(sw_health_set_addrs(&h, same, mx, 2, T0 + 70));
        assert_string_equal(h.addr[0].name, "mx2.geo.test");
        assert_int_equal(h.addr[0].state, SW_HSTATE_UP);
        assert_false(sw_health_set_addrs(&h, same, mx, 2, T0 + 80));
    }
    /* every address down: not usable */
    (void) sw_health_result(&h.addr[0], &pc, false, "x", T0 + 100);
    (void) sw_health_result(&h.addr[0], &pc, false, "x", T0 + 115);
    assert_int_equal(sw_health_state(&h, NULL), SW_RSTATE_DOWN);
    assert_string_equal(sw_health_unusable(&h), "is down (every address fails its probe)");
    /* the name stops resolving */
    assert_true(sw_health_set_addrs(&h, NULL, NULL, 0, T0 + 200));
    assert_string_equal(sw_health_unusable(&h), "is down (its name does not resolve)");
    /* a listing makes an up relay unusable */
    assert_true(sw_health_set_addrs(&h, ips4, names4, 1, T0 + 200));
    (void) sw_health_result(&h.addr[0], &pc, true, NULL, T0 + 200);
    assert_null(sw_health_unusable(&h));
    SW_COPY(h.addr[0].listed, "127.0.0.11 listed in bl.test (127.0.0.2)");
    assert_string_equal(sw_health_unusable(&h), "has an address listed in a DNSBL");
    /* not probed: always usable, never pinned */
    h.probed = false;
    h.addr[0].listed[0] = '\0';
    assert_int_equal(sw_health_state(&h, NULL), SW_RSTATE_UNPROBED);
    assert_false(sw_health_pinned(&h));
}

/* partial - relay idx probed with four addresses, .11/.12 down */
static void
partial(struct sw_relay_health *h, size_t idx)
{
    struct sw_relay_health *r = &h[idx];

    r->probed = true;
    (void) sw_health_set_addrs(r, ips4, names4, 4, T0);
    (void) sw_health_result(&r->addr[0], &pc, false, "RCPT: 451", T0);
    (void) sw_health_result(&r->addr[1], &pc, false, "RCPT: 451", T0);
    (void) sw_health_result(&r->addr[2], &pc, true, NULL, T0);
    (void) sw_health_result(&r->addr[3], &pc, true, NULL, T0);
}

/* test_routing - answers and tables follow health */
static void
test_routing(void **state)
{
    struct sw_relay_health *h;
    struct sw_answer a;
    struct sw_buf out;
    struct fx f;
    size_t eu, m365;

    (void) state;
    fx_init(&f);
    h = calloc(f.conf->nrelays, sizeof(*h));
    assert_non_null(h);
    f.policy.health = h;
    eu = fx_relay_index(&f, "alt-eu");
    m365 = fx_relay_index(&f, "m365");
    sw_buf_init(&out, 65536);

    /* Nothing probed: as before. */
    sw_answer_domain(&f.policy, f.route, "example.com", &a);
    assert_null(a.relay);
    /* The primary partial: every destination names its up addresses. */
    partial(h, m365);
    sw_answer_domain(&f.policy, f.route, "example.com", &a);
    assert_non_null(a.relay);
    assert_true(a.partial);
    assert_string_equal(a.relay->name, "m365");
    assert_true(sw_answer_transport(&f.policy, a.relay, NULL, &out));
    assert_string_equal(sw_buf_str(&out), "smtp:[127.0.0.13]:25001,[127.0.0.14]:25001");
    sw_buf_reset(&out);
    assert_true(sw_answer_mailertable(&f.policy, a.relay, NULL, &out));
    assert_string_equal(sw_buf_str(&out), "relay:[127.0.0.13]:[127.0.0.14]");
    /* Postfix tries the list in order: destinations start at different
     * up addresses, each always at the same one. */
    {
        char dom[32];
        int starts[2] = { 0, 0 };

        for (int i = 0; i < 20; i++) {
            (void) snprintf(dom, sizeof(dom), "d%d.example", i);
            sw_buf_reset(&out);
            assert_true(sw_answer_transport(&f.policy, a.relay, dom, &out));
            if (strcmp(sw_buf_str(&out), "smtp:[127.0.0.14]:25001,[127.0.0.13]:25001") == 0)
                starts[1]++;
            else
                assert_string_equal(sw_buf_str(&out), "smtp:[127.0.0.13]:25001,[127.0.0.14]:25001");
            starts[0]++;
        }
        assert_true(starts[1] > 0 && starts[1] < starts[0]);
        sw_buf_reset(&out);
        assert_true(sw_answer_transport(&f.policy, a.relay, "d1.example", &out));
        {
            struct sw_buf again;

            sw_buf_init(&again, 1024);
            assert_true(sw_answer_transport(&f.policy, a.relay, "d1.example", &again));
            assert_string_equal(sw_buf_str(&again), sw_buf_str(&out));
            sw_buf_free(&again);
        }
    }
    /* ... and the fail-static table says the same for every destination */
    sw_buf_reset(&out);
    assert_true(sw_render_transport(&f.policy, f.route, &out));
    assert_non_null(strstr(sw_buf_str(&out), "*\tsmtp:[127.0.0.13]:25001,[127.0.0.14]:25001\n"));
    /* A diverted destination still goes to its alternate. */
    fx_pin(&f, SW_SCOPE_DESTINATION, "example.com", "alt-eu");
    sw_answer_domain(&f.policy, f.route, "example.com", &a);
    assert_string_equal(a.relay->name, "alt-eu");
    assert_false(a.partial);
    /* The alternate down: not eligible; the scope waits on the (partial)
     * primary, and a new diversion picks another alternate. */
    h[eu].probed = true;
    (void) sw_health_set_addrs(&h[eu], ips4, names4, 1, T0);
    (void) sw_health_result(&h[eu].addr[0], &pc, false, "connect: Connection refused", T0);
    assert_string_equal(sw_policy_ineligible(&f.policy, &f.conf->relays[eu], "example.com", true),
                        "is down (every address fails its probe)");
    sw_answer_domain(&f.policy, f.route, "example.com", &a);
    assert_true(a.held);
    assert_true(a.partial);
    assert_string_equal(a.relay->name, "m365");
    assert_string_equal(sw_policy_choose(&f.policy, "other.example", "other.example", NULL)->name,
                        "alt-eu2");
    /* TLS policy entries only for relays that verify TLS: none here. */
    sw_buf_reset(&out);
    assert_true(sw_render_tls_policy(&f.policy, &out));
    assert_null(strchr(sw_buf_str(&out), '['));
    f.conf->relays[m365].probe.starttls = true;
    f.conf->relays[m365].probe.verify = true;
    sw_buf_reset(&out);
    assert_true(sw_render_tls_policy(&f.policy, &out));
    assert_non_null(strstr(sw_buf_str(&out), "[127.0.0.11]:25001\tsecure match=relay.geo.test "
                                             "servername=relay.geo.test\n"));
    assert_non_null(strstr(sw_buf_str(&out), "[127.0.0.14]:25001\tsecure"));
    sw_buf_free(&out);
    free(h);
    fx_free(&f);
}

/* test_dnsbl - query names, verdicts, IPs in texts */
static void
test_dnsbl(void **state)
{
    char name[300], why[96], ips[8][SW_IP_MAX + 1];
    const char listed[1][SW_IP_MAX + 1] = { "127.0.0.2" };
    const char err[1][SW_IP_MAX + 1] = { "127.255.255.254" };
    const char odd[1][SW_IP_MAX + 1] = { "192.0.2.1" };

    (void) state;
    assert_true(sw_dnsbl_query_name("40.107.1.2", "zen.example", name, sizeof(name)));
    assert_string_equal(name, "2.1.107.40.zen.example");
    assert_true(sw_dnsbl_query_name("2001:db8::1", "bl.example", name, sizeof(name)));
    assert_string_equal(name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
                              "bl.example");
    assert_false(sw_dnsbl_query_name("not-an-ip", "bl.example", name, sizeof(name)));
    assert_false(sw_dnsbl_query_name("40.107.1.2", "bl.example", name, 10));

    assert_int_equal(sw_dnsbl_verdict(true, false, NULL, 0, why, sizeof(why)), SW_DNSBL_CLEAN);
    assert_int_equal(sw_dnsbl_verdict(false, false, listed, 1, why, sizeof(why)), SW_DNSBL_LISTED);
    assert_string_equal(why, "127.0.0.2");
    assert_int_equal(sw_dnsbl_verdict(false, false, err, 1, why, sizeof(why)), SW_DNSBL_ERROR);
    assert_string_equal(why, "answer 127.255.255.254 is a resolver error, not a listing");
    assert_int_equal(sw_dnsbl_verdict(false, false, odd, 1, why, sizeof(why)), SW_DNSBL_ERROR);
    assert_int_equal(sw_dnsbl_verdict(false, true, NULL, 0, why, sizeof(why)), SW_DNSBL_ERROR);

    /* the receiver's own address in Postfix's prefix is not blamed */
    assert_int_equal(sw_text_ips("host mx.example[192.0.2.25] said: 550 5.7.606 Access denied, "
                                 "banned sending IP [40.107.1.2]. (in reply to RCPT TO command)",
                                 ips, 8),
                     1);
    assert_string_equal(ips[0], "40.107.1.2");
    assert_int_equal(sw_text_ips("550 5.7.1 Client host 2001:db8::25 and 40.107.1.2 blocked; "
                                 "40.107.1.2 again, 10:30:00, 5.7.1",
                                 ips, 8),
                     2);
    assert_string_equal(ips[0], "2001:db8::25");
    assert_string_equal(ips[1], "40.107.1.2");
    assert_int_equal(sw_text_ips("421 4.7.0 Try again later", ips, 8), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_states),
        cmocka_unit_test(test_addresses_and_relay_state),
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_dnsbl),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
