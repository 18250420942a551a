/* fuzz_sockmap.c - fuzz target: a socketmap client's byte stream */

/*
 * The input is what a socketmap client (Postfix, Sendmail, or anything
 * that can connect to the socket) writes: netstrings, pipelined, possibly
 * truncated or malformed.  Each complete request is answered from a fixed
 * routing state, exactly as spillway-routed's handle_input() does, and the
 * reply is checked against the protocol contract (DESIGN.md 5.1): "OK "
 * plus a value, or "NOTFOUND ", framed as a netstring that decodes back to
 * itself.  A violated contract abort()s so the fuzzer reports it.
 *
 * The fixture (a configuration, the relays' administrative states and a
 * route with pins) is built once and never changed: no state is carried
 * from one input to the next.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "global/conf.h"
#include "util/netstring.h"
#include "global/policy.h"
#include "global/route.h"
#include "global/sockmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_REPLY_MAX 4096 /* routed's per-reply scratch buffer */
#define FZ_FRAME_MAX (FZ_REPLY_MAX + 16)
#define FZ_NOW       ((time_t) 1700000000)

/*
 * Relays of every kind the answer code distinguishes: a primary, enabled
 * alternates with bracketed, bare and host:port nexthops and a custom
 * transport and mailer, a draining and a disabled alternate, and
 * jurisdictions for the residency rule.
 */
static const char fixture_conf[] =
    "routed: { control_users = [\"0\"]; };\n"
    "relays = (\n"
    "  { name = \"m365\"; nexthop = \"[smtp.office365.com]:587\"; role = \"primary\";"
    "    jurisdiction = \"EU\"; },\n"
    "  { name = \"alt-eu\"; nexthop = \"[relay.alt.example]:587\"; role = \"alternate\";"
    "    priority = 10; jurisdiction = \"EU\"; },\n"
    "  { name = \"alt-uk\"; nexthop = \"relay.uk.example:2525\"; role = \"alternate\";"
    "    priority = 20; jurisdiction = \"UK\"; transport = \"smtp-uk\"; mailer = \"esmtp\"; },\n"
    "  { name = \"alt-bare\"; nexthop = \"bare.example.net\"; priority = 20; weight = 3; },\n"
    "  { name = \"alt-v6\"; nexthop = \"[2001:db8::25]\"; priority = 30; },\n"
    "  { name = \"alt-drain\"; nexthop = \"[drain.example.net]:25\"; priority = 5; },\n"
    "  { name = \"alt-off\"; nexthop = \"[off.example.net]:25\"; priority = 1; }\n"
    ");\n"
    "pools = (\n"
    "  { name = \"m365\"; relays = [\"m365\", \"alt-eu\"];"
    "    destinations = [\"outlook.com\", \"*.onmicrosoft.com\", \".hotmail.com\"]; },\n"
    "  { name = \"default\"; relays = [\"m365\", \"alt-uk\"]; }\n"
    ");\n"
    "residency = ( { destinations = [\"*.gov.uk\", \"nhs.uk\"]; allow = [\"UK\"]; } );\n";

/* Scopes off the primary route: kind, name, relay. */
static const struct {
    enum sw_scope_kind kind;
    const char *name;
    const char *relay;
} fixture_pins[] = {
    { SW_SCOPE_DESTINATION, "example.com", "alt-eu" },
    { SW_SCOPE_DESTINATION, "sub.example.org", "alt-bare" },
    { SW_SCOPE_DESTINATION, "gov.uk", "alt-eu" },           /* residency refuses */
    { SW_SCOPE_DESTINATION, "service.gov.uk", "alt-uk" },   /* residency allows */
    { SW_SCOPE_DESTINATION, "off.example", "alt-off" },     /* disabled relay */
    { SW_SCOPE_DESTINATION, "drain.example", "alt-drain" }, /* draining: kept */
    { SW_SCOPE_DESTINATION, "ghost.example", "no-such-relay" },
    { SW_SCOPE_DESTINATION, "primary.example", "m365" }, /* not an alternate */
    { SW_SCOPE_DESTINATION, "v6.example", "alt-v6" },
    { SW_SCOPE_POOL, "m365", "alt-eu" },
    { SW_SCOPE_POOL, "default", "alt-off" }, /* falls back to choose */
};

struct fixture {
    struct sw_conf *conf;
    enum sw_relay_admin *admin;
    struct sw_route *route;
    struct sw_policy policy;
    struct sw_rpath_conf rp; /* the rp-sender map's settings */
    struct sw_tag_keys keys;
};

#define FZ_KEYS "k1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
static char *fz_rp_domains[] = { "example.org" };

/* fixture_get - build the immutable routing state on first use */
static const struct fixture *
fixture_get(void)
{
    static struct fixture fx;
    static bool ready;
    struct sw_decision d;
    struct sw_buf err;
    size_t i;

    if (ready)
        return &fx;
    sw_buf_init(&err, 65536);
    if ((fx.conf = sw_conf_load_string(fixture_conf, "fixture.conf", &err)) == NULL) {
        fprintf(stderr, "fuzz_sockmap: fixture: %s\n", sw_buf_str(&err));
        abort();
    }
    sw_buf_free(&err);
    if ((fx.admin = calloc(fx.conf->nrelays, sizeof(*fx.admin))) == NULL
        || (fx.route = sw_route_new()) == NULL)
        abort();
    for (i = 0; i < fx.conf->nrelays; i++) {
        if (strcmp(fx.conf->relays[i].name, "alt-drain") == 0)
            fx.admin[i] = SW_ADMIN_DRAINING;
        else if (strcmp(fx.conf->relays[i].name, "alt-off") == 0)
            fx.admin[i] = SW_ADMIN_DISABLED;
        else
            fx.admin[i] = SW_ADMIN_ENABLED;
    }
    for (i = 0; i < sizeof(fixture_pins) / sizeof(fixture_pins[0]); i++)
        if (sw_route_pin(fx.route, fixture_pins[i].kind, fixture_pins[i].name,
                         fixture_pins[i].relay, FZ_NOW, FZ_NOW + 7200, "fuzz fixture", 0, &d)
            != SW_ROUTE_OK)
            abort();
    fx.policy.conf = fx.conf;
    fx.policy.admin = fx.admin;
    sw_buf_init(&err, 1024);
    if (!sw_tag_keys_parse(FZ_KEYS, strlen(FZ_KEYS), "keys", &fx.keys, &err))
        abort();
    sw_buf_free(&err);
    fx.rp.domain = "bounces.example.net";
    fx.rp.subdomain = "bounces";
    fx.rp.sender_domains.v = fz_rp_domains;
    fx.rp.sender_domains.n = 1;
    fx.rp.max_age = 21 * 86400;
    ready = true;
    return &fx;
}

/* printable_value - an OK value: visible ASCII, no spaces, not empty */
static bool
printable_value(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return false;
    for (i = 0; i < n; i++)
        if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f)
            return false;
    return true;
}

/* check_reply - the socketmap reply contract; abort() when broken */
static void
check_reply(enum sw_sockmap_result res, const struct sw_buf *reply)
{
    bool ok_reply, notfound;

    if (reply->data == NULL || reply->overflow || strlen(reply->data) != reply->len)
        abort();
    ok_reply = reply->len > 3 && memcmp(reply->data, "OK ", 3) == 0
               && printable_value(reply->data + 3, reply->len - 3);
    notfound = reply->len == 9 && memcmp(reply->data, "NOTFOUND ", 9) == 0;
    if (!ok_reply && !notfound)
        abort();
    if ((res == SW_SOCKMAP_FOUND) != ok_reply)
        abort();
}

/* check_frame - the reply netstring decodes back to the reply */
static void
check_frame(const struct sw_buf *reply, struct sw_buf *frame)
{
    size_t off, len, used;

    sw_buf_reset(frame);
    if (!sw_ns_encode(frame, reply->data, reply->len))
        abort();
    if (sw_ns_decode(frame->data, frame->len, FZ_REPLY_MAX, &off, &len, &used) != SW_NS_OK
        || used != frame->len || len != reply->len
        || memcmp(frame->data + off, reply->data, len) != 0)
        abort();
}

/* LLVMFuzzerTestOneInput - one client's stream */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct fixture *fx = fixture_get();
    const char *in = (const char *) data;
    struct sw_buf reply, frame;
    enum sw_sockmap_result res;
    enum sw_ns_status st;
    size_t off = 0, poff = 0, plen = 0, used = 0;

    sw_buf_init(&reply, FZ_REPLY_MAX);
    sw_buf_init(&frame, FZ_FRAME_MAX);
    for (;;) {
        st = sw_ns_decode(in + off, size - off, SW_SOCKMAP_MAX_REQUEST, &poff, &plen, &used);
        if (st != SW_NS_OK)
            break; /* MORE: wait for bytes; BAD, TOOBIG: drop */
        if (used == 0 || used > size - off || poff + plen >= used || plen > SW_SOCKMAP_MAX_REQUEST)
            abort();
        /* As routed's handle_input(): the return-path map first. */
        res = sw_sockmap_rp_answer(&fx->rp, &fx->keys, in + off + poff, plen, FZ_NOW, &reply);
        if (res == SW_SOCKMAP_BADMAP)
            res = sw_sockmap_answer(&fx->policy, fx->route, in + off + poff, plen, &reply);
        check_reply(res, &reply);
        check_frame(&reply, &frame);
        off += used;
    }
    sw_buf_free(&reply);
    sw_buf_free(&frame);
    return 0;
}
