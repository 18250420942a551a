/* test_conf.c - spillway.conf loading and validation (conf.h) */
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

#include "util/buf.h"
#include "global/conf.h"

#define NAME      "t.conf"

/* Four lines of valid relays: a (primary, line 2) and b (line 3). */
#define RELAY_A   "  { name = \"a\"; nexthop = \"[127.0.0.1]:25\"; role = \"primary\"; },\n"
#define RELAYS_OK "relays = (\n" RELAY_A "  { name = \"b\"; nexthop = \"[127.0.0.1]:26\"; }\n);\n"
/* relays[1] on line 3 with extra settings */
#define RELAY_B(extra) \
    "relays = (\n" RELAY_A "  { name = \"b\"; nexthop = \"[127.0.0.1]:26\"; " extra " }\n);\n"
/* a nexthop for relays[1] on line 3 */
#define NEXTHOP_B(nh) "relays = (\n" RELAY_A "  { name = \"b\"; nexthop = \"" nh "\"; }\n);\n"
/* line 5: a rule */
#define RULE(body)    RELAYS_OK "rules = ( { name = \"r\"; " body " } );\n"
/* line 5: a pool */
#define POOL(body)    RELAYS_OK "pools = ( { name = \"p\"; " body " } );\n"
/* line 5: the cluster group */
#define CLUSTER(body) RELAYS_OK "cluster = { " body " };\n"
#define CL_KEY        "key_file = \"/etc/spillway/cluster.key\"; "
/* line 5: the routed group */
#define ROUTED(body)  RELAYS_OK "routed = { " body " };\n"

/* A configuration that must be refused, and pieces of the message. */
static const struct error_case {
    const char *name;
    const char *text;
    const char *want[3];
} error_cases[] = {
    { "syntax error names the line", RELAYS_OK "bogus = ;\n", { NAME ":5: syntax" } },
    { "syntax error on line 1", "relays = ( { name = \"a\" ;\n", { NAME ":", "syntax" } },
    { "unknown top-level key",
      RELAYS_OK "colour = \"red\";\n",
      { NAME ":5: colour: unknown key" } },
    { "unknown key in a relay",
      RELAY_B("colour = \"red\";"),
      { NAME ":3: relays[1].colour: unknown key" } },
    { "priority too large",
      RELAY_B("priority = 70000;"),
      { NAME ":3: relays[1].priority: must be between 0 and 65535" } },
    { "priority negative",
      RELAY_B("priority = -1;"),
      { NAME ":3: relays[1].priority: must be between 0 and 65535" } },
    { "weight 0",
      RELAY_B("weight = 0;"),
      { NAME ":3: relays[1].weight: must be between 1 and 1000" } },
    { "weight too large",
      RELAY_B("weight = 1001;"),
      { NAME ":3: relays[1].weight: must be between 1 and 1000" } },
    { "string for an integer",
      RELAY_B("priority = \"10\";"),
      { NAME ":3: relays[1].priority: must be an integer" } },
    { "float for an integer",
      RELAY_B("weight = 1.5;"),
      { NAME ":3: relays[1].weight: must be an integer" } },
    { "string for a boolean",
      RELAY_B("enabled = \"yes\";"),
      { NAME ":3: relays[1].enabled: must be true or false" } },
    { "bad role",
      RELAY_B("role = \"backup\";"),
      { NAME ":3: relays[1]: role must be \"primary\" or \"alternate\"" } },
    { "bad transport name",
      RELAY_B("transport = \"smtp:x\";"),
      { NAME ":3: relays[1]: transport: not a Postfix service name" } },
    { "bad mailer name",
      RELAY_B("mailer = \"re lay\";"),
      { NAME ":3: relays[1]: mailer: not a Sendmail mailer name" } },
    { "bad jurisdiction",
      RELAY_B("jurisdiction = \"E U\";"),
      { NAME ":3: relays[1]: jurisdiction: a short tag" } },
    { "max_per_hour negative",
      RELAY_B("max_per_hour = -1;"),
      { NAME ":3: relays[1].max_per_hour: must be between 0 and" } },
    { "unknown probe key",
      RELAY_B("probe = { tls = true; };"),
      { NAME ":3: relays[1].probe.tls: unknown key" } },
    { "probe not a group",
      RELAY_B("probe = true;"),
      { NAME ":3: relays[1].probe: must be a group" } },
    { "missing nexthop",
      "relays = (\n" RELAY_A "  { name = \"b\"; }\n);\n",
      { NAME ":3: relays[1].nexthop: missing (required)" } },
    { "missing name",
      "relays = (\n" RELAY_A "  { nexthop = \"h\"; }\n);\n",
      { NAME ":3: relays[1].name: missing (required)" } },
    { "empty name",
      "relays = (\n" RELAY_A "  { name = \"\"; nexthop = \"h\"; }\n);\n",
      { NAME ":3: relays[1].name: must not be empty" } },
    { "bad relay name",
      "relays = (\n" RELAY_A "  { name = \"a b\"; nexthop = \"h\"; }\n);\n",
      { NAME ":3: relays[1]: name \"a b\": use letters" } },
    { "duplicate relay name",
      "relays = (\n" RELAY_A "  { name = \"a\"; nexthop = \"h2\"; }\n);\n",
      { NAME ":3: relays[1]: relay \"a\" already defined at line 2" } },
    { "nexthop without ]",
      NEXTHOP_B("[127.0.0.1"),
      { NAME ":3: relays[1]: nexthop \"[127.0.0.1\": expected [host]:port" } },
    { "nexthop port 0", NEXTHOP_B("relay.example:0"), { NAME ":3: relays[1]: nexthop" } },
    { "nexthop port too large",
      NEXTHOP_B("[relay.example]:65536"),
      { NAME ":3: relays[1]: nexthop" } },
    { "nexthop port not a number",
      NEXTHOP_B("relay.example:smtp"),
      { NAME ":3: relays[1]: nexthop" } },
    { "nexthop empty port", NEXTHOP_B("relay.example:"), { NAME ":3: relays[1]: nexthop" } },
    { "nexthop with a space", NEXTHOP_B("relay example"), { NAME ":3: relays[1]: nexthop" } },
    { "nexthop junk after ]", NEXTHOP_B("[relay.example]x"), { NAME ":3: relays[1]: nexthop" } },
    { "nexthop empty brackets", NEXTHOP_B("[]:25"), { NAME ":3: relays[1]: nexthop" } },
    { "no relays at all", "pools = ();\n", { NAME ":", "relays: at least one relay is required" } },
    { "empty relay list", "relays = ();\n", { NAME ":1: relays: at least one relay is required" } },
    { "relays not a list", "relays = { name = \"a\"; };\n", { NAME ":1: relays: must be a list" } },
    { "relay not a group", "relays = ( \"a\" );\n", { NAME ":1: relays[0]: must be a group" } },
    { "pool names an unknown relay",
      POOL("relays = [\"a\", \"nope\"];"),
      { NAME ":5: pools[0]: relays: no relay named \"nope\"" } },
    { "pool without relays", POOL(""), { NAME ":5: pools[0].relays: missing (required)" } },
    { "pool with an empty relay list",
      POOL("relays = [];"),
      { NAME ":5: pools[0].relays: must not be empty" } },
    { "duplicate pool",
      RELAYS_OK "pools = ( { name = \"p\"; relays = [\"a\"]; },\n"
                "          { name = \"p\"; relays = [\"b\"]; } );\n",
      { NAME ":6: pools[1]: pool \"p\" already defined at line 5" } },
    { "egress prefix too long",
      POOL("relays = [\"a\"]; egress = [\"10.0.0.0/33\"];"),
      { NAME ":5: pools[0]: egress: \"10.0.0.0/33\" is not an address or CIDR" } },
    { "egress bad address",
      POOL("relays = [\"a\"]; egress = [\"300.1.1.1\"];"),
      { NAME ":5: pools[0]: egress: \"300.1.1.1\"" } },
    { "egress empty prefix",
      POOL("relays = [\"a\"]; egress = [\"10.0.0.0/\"];"),
      { NAME ":5: pools[0]: egress: \"10.0.0.0/\"" } },
    { "egress IPv6 prefix too long",
      POOL("relays = [\"a\"]; egress = [\"2001:db8::/129\"];"),
      { NAME ":5: pools[0]: egress: \"2001:db8::/129\"" } },
    { "egress host name",
      POOL("relays = [\"a\"]; egress = [\"mail.example\"];"),
      { NAME ":5: pools[0]: egress: \"mail.example\"" } },
    { "bad host pattern",
      POOL("relays = [\"a\"]; hosts = [\"*.out look.com\"];"),
      { NAME ":5: pools[0]: hosts: \"*.out look.com\" is not a host pattern" } },
    { "bad destination pattern",
      POOL("relays = [\"a\"]; destinations = [\"a*b.com\"];"),
      { NAME ":5: pools[0]: destinations: \"a*b.com\" is not a domain pattern" } },
    { "rule class other",
      RULE("classes = [\"other\"];"),
      { NAME ":5: rules[0]: classes: \"other\" never diverts", "alternate" } },
    { "rule class unknown",
      RULE("classes = [\"reputation\", \"spam\"];"),
      { NAME ":5: rules[0]: classes: unknown class \"spam\"" } },
    { "rule without classes", RULE(""), { NAME ":5: rules[0].classes: missing (required)" } },
    { "rule bad scope",
      RULE("classes = [\"throttle\"]; scope = \"global\";"),
      { NAME ":5: rules[0]: scope must be \"destination\" or \"pool\"" } },
    { "rule bad duration",
      RULE("classes = [\"throttle\"]; hold = \"5x\";"),
      { NAME ":5: rules[0].hold: must be a duration" } },
    { "rule zero duration",
      RULE("classes = [\"throttle\"]; hold = 0;"),
      { NAME ":5: rules[0].hold: must be a positive duration" } },
    { "rule duration over a year",
      RULE("classes = [\"throttle\"]; hold = \"400d\";"),
      { NAME ":5: rules[0].hold: must be a duration" } },
    { "rule bad window",
      RULE("classes = [\"throttle\"]; threshold = { window = \"-1m\"; };"),
      { NAME ":5: rules[0].threshold.window: must be a duration" } },
    { "hold_max shorter than hold",
      RULE("classes = [\"throttle\"]; hold = \"2h\"; hold_max = \"1h\";"),
      { NAME ":5: rules[0]: hold_max must not be shorter than hold" } },
    { "ratio over 1",
      RULE("classes = [\"throttle\"]; threshold = { ratio = 1.5; };"),
      { NAME ":5: rules[0].threshold.ratio: must be between 0 and 1" } },
    { "ratio negative",
      RULE("classes = [\"throttle\"]; threshold = { ratio = -0.1; };"),
      { NAME ":5: rules[0].threshold.ratio: must be between 0 and 1" } },
    { "events 0",
      RULE("classes = [\"throttle\"]; threshold = { events = 0; };"),
      { NAME ":5: rules[0].threshold.events: must be between 1 and" } },
    { "unknown threshold key",
      RULE("classes = [\"throttle\"]; threshold = { count = 3; };"),
      { NAME ":5: rules[0].threshold.count: unknown key" } },
    { "recover share 0",
      RULE("classes = [\"throttle\"]; recover = { share = 0; };"),
      { NAME ":5: rules[0].recover.share: must be between 0.001 and 1" } },
    { "duplicate rule",
      RELAYS_OK "rules = ( { name = \"r\"; classes = [\"throttle\"]; },\n"
                "          { name = \"r\"; classes = [\"reputation\"]; } );\n",
      { NAME ":6: rules[1]: rule \"r\" already defined at line 5" } },
    { "residency without allow",
      RELAYS_OK "residency = ( { destinations = [\"*.gov.uk\"]; } );\n",
      { NAME ":5: residency[0].allow: missing (required)" } },
    { "residency with empty allow",
      RELAYS_OK "residency = ( { destinations = [\"*.gov.uk\"]; allow = []; } );\n",
      { NAME ":5: residency[0].allow: must not be empty" } },
    { "residency bad pattern",
      RELAYS_OK "residency = ( { destinations = [\"*.*\"]; allow = [\"UK\"]; } );\n",
      { NAME ":5: residency[0]: destinations: \"*.*\" is not a domain pattern" } },
    { "socketmap relative unix path",
      ROUTED("socketmap = \"unix:relative\";"),
      { NAME ":5: routed.socketmap: unix endpoint needs an absolute path", "relative" } },
    { "socketmap host name",
      ROUTED("socketmap = \"inet:localhost:1\";"),
      { NAME ":5: routed.socketmap: inet endpoint: \"localhost\" is not a numeric address" } },
    { "socketmap port 0",
      ROUTED("socketmap = \"inet:127.0.0.1:0\";"),
      { NAME ":5: routed.socketmap: inet endpoint: bad port \"0\"" } },
    { "socketmap second entry bad",
      ROUTED("socketmap = [\"unix:/run/s\", \"tcp:1.2.3.4:5\"];"),
      { NAME ":5: routed.socketmap: endpoint must start with unix: or inet:" } },
    { "render_format dbm",
      ROUTED("render_format = \"dbm\";"),
      { NAME ":5: routed.render_format: must be \"lmdb\", \"cdb\" or \"none\"" } },
    { "mta exim",
      ROUTED("mta = \"exim\";"),
      { NAME ":5: routed.mta: must be \"postfix\", \"sendmail\" or \"both\"" } },
    { "mta as a list",
      ROUTED("mta = [\"postfix\"];"),
      { NAME ":5: routed.mta" } },
    { "mailertable_format dbm",
      ROUTED("mailertable_format = \"dbm\";"),
      { NAME ":5: routed.mailertable_format: must be \"hash\" or \"btree\"" } },
    { "mailertable_format cdb",
      ROUTED("mailertable_format = \"cdb\";"),
      { NAME ":5: routed.mailertable_format: must be \"hash\" or \"btree\"" } },
    { "flush_etrn not an endpoint",
      ROUTED("flush_etrn = \"127.0.0.1:25\";"),
      { NAME ":5: routed.flush_etrn: endpoint must start with unix: or inet:" } },
    { "flush_etrn and flush",
      ROUTED("flush_etrn = \"inet:127.0.0.1:25\"; flush = [\"postqueue\", \"-f\"];"),
      { NAME ":5: routed.flush_etrn: routed.flush is set too: choose one way" } },
    { "makemap relative",
      ROUTED("makemap = \"makemap\";"),
      { NAME ":5: routed.makemap: must be an absolute path" } },
    { "maillog syslog without maillog_trust",
      ROUTED("maillog = \"syslog:/var/log/mail.log\";"),
      { NAME ":5: routed.maillog: syslog:/var/log/mail.log: any local user can write",
        "use \"journal\" or \"postlog:FILE\"", "maillog_trust = \"forgeable\"" } },
    { "maillog unknown kind",
      ROUTED("maillog = \"file:/var/log/mail.log\";"),
      { NAME ":5: routed.maillog: unknown source \"file:/var/log/mail.log\"" } },
    { "maillog postlog relative",
      ROUTED("maillog = \"postlog:postfix.log\";"),
      { NAME ":5: routed.maillog: postlog: needs an absolute path" } },
    { "maillog_trust unknown",
      ROUTED("maillog = \"journal\"; maillog_trust = \"yes\";"),
      { NAME ":5: routed.maillog_trust: must be \"proven\" or \"forgeable\"" } },
    { "maillog_users unknown",
      ROUTED("maillog = \"journal\"; maillog_users = [\"spillway-no-such-user\"];"),
      { NAME ":5: routed.maillog_users: no such user: spillway-no-such-user" } },
    { "maillog_users empty",
      ROUTED("maillog = \"journal\"; maillog_users = [\"\"];"),
      { NAME ":5: routed.maillog_users: element 1 must be a non-empty string" } },
    { "unknown control user",
      ROUTED("control_users = [\"root\", \"spillway-no-such-user\"];"),
      { NAME ":5: routed.control_users: no such user: spillway-no-such-user" } },
    { "empty control user is not root",
      ROUTED("control_users = [\"\"];"),
      { NAME ":5: routed.control_users: element 1 must be a non-empty string" } },
    { "control user id overflows",
      ROUTED("control_users = [\"99999999999999999999\"];"),
      { NAME ":5: routed.control_users: user id out of range: 99999999999999999999" } },
    { "control user id 2^32-1 is (uid_t) -1",
      ROUTED("control_users = [\"4294967295\"];"),
      { NAME ":5: routed.control_users: user id out of range: 4294967295" } },
    { "empty control group",
      ROUTED("control_groups = [\"root\", \"\"];"),
      { NAME ":5: routed.control_groups: element 2 must be a non-empty string" } },
    { "negative control user id",
      ROUTED("control_users = [\"-1\"];"),
      { NAME ":5: routed.control_users: no such user: -1" } },
    { "clients_per_user zero",
      ROUTED("clients_per_user = 0;"),
      { NAME ":5: routed.clients_per_user: must be between 1 and 100000" } },
    { "unknown control group",
      ROUTED("control_groups = [\"spillway-no-such-group\"];"),
      { NAME ":5: routed.control_groups: no such group: spillway-no-such-group" } },
    { "history too small",
      ROUTED("history = 5;"),
      { NAME ":5: routed.history: must be between 10 and 1000000" } },
    { "metrics host name",
      ROUTED("metrics = \"inet:localhost:9426\";"),
      { NAME ":5: routed.metrics: inet endpoint: \"localhost\" is not a numeric address" } },
    { "metrics not a string",
      ROUTED("metrics = 9426;"),
      { NAME ":5: routed.metrics: must be a string" } },
    { "unknown routed key",
      ROUTED("sockmap = \"unix:/x\";"),
      { NAME ":5: routed.sockmap: unknown key" } },
    { "routed not a group", RELAYS_OK "routed = \"x\";\n", { NAME ":5: routed: must be a group" } },
    { "dnsbl resolver by name",
      RELAYS_OK "dnsbl = { resolver = \"localhost\"; };\n",
      { NAME ":5: dnsbl.resolver: \"localhost\": expected a numeric IP address" } },
    { "unknown milter key",
      RELAYS_OK "milter = { sock = \"x\"; };\n",
      { NAME ":5: milter.sock: unknown key" } },
    { "milter socket not libmilter's form",
      RELAYS_OK "milter = { socket = \"/run/m.sock\"; };\n",
      { NAME ":5: milter.socket: \"/run/m.sock\" is not unix:/path" } },
    { "milter inet socket in Postfix's form",
      RELAYS_OK "milter = { socket = \"inet:127.0.0.1:8891\"; };\n",
      { NAME ":5: milter.socket: \"inet:127.0.0.1:8891\" is not unix:/path" } },
    { "milter rate zero",
      RELAYS_OK "milter = { rate = 0; };\n",
      { NAME ":5: milter.rate: must be between 1 and 1000000" } },
    { "milter tag age not a duration",
      RELAYS_OK "milter = { tag_max_age = \"a week\"; };\n",
      { NAME ":5: milter.tag_max_age:" } },
    { "milter user unknown",
      RELAYS_OK "milter = { user = \"no-such-user-spillway\"; };\n",
      { NAME ":5: milter.user: no such user \"no-such-user-spillway\"" } },
    { "milter group unknown",
      RELAYS_OK "milter = { group = \"no-such-group-spillway\"; };\n",
      { NAME ":5: milter.group: no such group \"no-such-group-spillway\"" } },
    { "milter tag_cap zero",
      RELAYS_OK "milter = { tag_cap = 0; };\n",
      { NAME ":5: milter.tag_cap: must be between 1 and 8" } },
    { "milter tag_cap too large",
      RELAYS_OK "milter = { tag_cap = 9; };\n",
      { NAME ":5: milter.tag_cap: must be between 1 and 8" } },
    { "milter outbound not a group",
      RELAYS_OK "milter = { outbound = [\"127.0.0.1\"]; };\n",
      { NAME ":5: milter.outbound: must be a group" } },
    { "milter outbound unknown key",
      RELAYS_OK "milter = { outbound = { mynetworks = [\"127.0.0.1\"]; }; };\n",
      { NAME ":5: milter.outbound.mynetworks: unknown key" } },
    { "milter outbound network not a CIDR",
      RELAYS_OK "milter = {\n  outbound = { networks = [\"10.0.0.0/8\", \"10.1/33\"]; };\n};\n",
      { NAME ":6: milter.outbound.networks: \"10.1/33\" is not an address or CIDR" } },
    { "milter outbound authenticated not a boolean",
      RELAYS_OK "milter = { outbound = { authenticated = \"yes\"; }; };\n",
      { NAME ":5: milter.outbound.authenticated: must be true or false" } },
    { "cluster without redis or sentinels",
      CLUSTER(CL_KEY "node = \"a\";"),
      { NAME ":5: cluster: neither redis nor sentinels" } },
    { "cluster with both redis and sentinels",
      CLUSTER(CL_KEY "redis = \"inet:127.0.0.1:6379\"; sentinels = [\"inet:127.0.0.1:26379\"]; "
                     "master = \"m\";"),
      { NAME ":5: cluster: redis and sentinels" } },
    { "cluster sentinels without master",
      CLUSTER(CL_KEY "sentinels = [\"inet:127.0.0.1:26379\"];"),
      { NAME ":5: cluster: sentinels need master" } },
    { "cluster redis not an endpoint",
      CLUSTER(CL_KEY "redis = \"redis.example:6379\";"),
      { NAME ":5: cluster: redis \"redis.example:6379\"" } },
    { "cluster sentinel by name",
      CLUSTER(CL_KEY "sentinels = [\"inet:sentinel.example:26379\"]; master = \"m\";"),
      { NAME ":5: cluster: sentinels \"inet:sentinel.example:26379\"" } },
    { "cluster without key_file",
      CLUSTER("redis = \"inet:127.0.0.1:6379\";"),
      { NAME ":5: cluster.key_file" } },
    { "cluster key_file relative",
      CLUSTER("redis = \"inet:127.0.0.1:6379\"; key_file = \"cluster.key\";"),
      { NAME ":5: cluster.key_file: \"cluster.key\": an absolute path" } },
    { "cluster node with a space",
      CLUSTER(CL_KEY "redis = \"inet:127.0.0.1:6379\"; node = \"mta 1\";"),
      { NAME ":5: cluster.node: \"mta 1\"" } },
    { "cluster peer_timeout under two heartbeats",
      CLUSTER(CL_KEY "redis = \"inet:127.0.0.1:6379\"; heartbeat = \"10s\"; peer_timeout = \"15s\";"),
      { NAME ":5: cluster: peer_timeout (15s) must be at least twice heartbeat (10s)" } },
    { "cluster timeout over a minute",
      CLUSTER(CL_KEY "redis = \"inet:127.0.0.1:6379\"; timeout = \"2m\";"),
      { NAME ":5: cluster: timeout (120s)" } },
    { "cluster unknown key",
      CLUSTER(CL_KEY "redis = \"inet:127.0.0.1:6379\"; db = 3;"),
      { NAME ":5: cluster.db: unknown key" } },
    { "two errors, both reported",
      RELAY_B("priority = 70000;") "rules = ( { name = \"r\"; classes = [\"other\"]; } );\n",
      { NAME ":3: relays[1].priority", NAME ":5: rules[0]: classes", "\n" } },
};

static void
test_error_table(void **state)
{
    struct sw_conf *c;
    struct sw_buf err;
    size_t i, k;
    int failed = 0;

    (void) state;
    sw_buf_init(&err, 64 * 1024);
    for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        const struct error_case *e = &error_cases[i];

        sw_buf_reset(&err);
        c = sw_conf_load_string(e->text, NAME, &err);
        if (c != NULL) {
            print_error("case \"%s\": loaded, expected an error\n", e->name);
            sw_conf_free(c);
            failed++;
            continue;
        }
        for (k = 0; k < 3 && e->want[k]; k++)
            if (strstr(sw_buf_str(&err), e->want[k]) == NULL) {
                print_error("case \"%s\": message\n  %s\nlacks \"%s\"\n", e->name, sw_buf_str(&err),
                            e->want[k]);
                failed++;
            }
    }
    sw_buf_free(&err);
    assert_int_equal(failed, 0);
}

/* More than SW_CONF_MAX_ERRORS (20): the rest are counted, not listed. */
/* The cluster group: absent means off; present, its defaults. */
static void
test_cluster_defaults(void **state)
{
    struct sw_conf *c;
    struct sw_buf err;

    (void) state;
    sw_buf_init(&err, 4096);
    c = sw_conf_load_string(RELAYS_OK, NAME, &err);
    assert_non_null(c);
    assert_false(c->cluster.enabled);
    sw_conf_free(c);
    c = sw_conf_load_string(CLUSTER(CL_KEY "redis = \"unix:/run/redis/redis.sock\"; node = \"mta-1.a\";"),
                            NAME, &err);
    if (c == NULL)
        fail_msg("%s", sw_buf_str(&err));
    assert_true(c->cluster.enabled);
    assert_string_equal(c->cluster.node, "mta-1.a");
    assert_string_equal(c->cluster.prefix, "spillway:");
    assert_int_equal(c->cluster.timeout, 1);
    assert_int_equal(c->cluster.heartbeat, 5);
    assert_int_equal(c->cluster.peer_timeout, 30);
    assert_int_equal(c->cluster.reassert, 300);
    assert_int_equal(c->cluster.queue, 1000);
    assert_int_equal(c->cluster.stream_max, 100000);
    sw_conf_free(c);
    /* no node: the host name, when it is a valid node name */
    c = sw_conf_load_string(CLUSTER(CL_KEY "sentinels = [\"inet:127.0.0.1:26379\", "
                                           "\"inet:[::1]:26380\"]; master = \"spw\";"),
                            NAME, &err);
    if (c == NULL)
        fail_msg("%s", sw_buf_str(&err));
    assert_non_null(c->cluster.node);
    assert_true(sw_node_name_valid(c->cluster.node));
    assert_int_equal(c->cluster.sentinels.n, 2);
    sw_conf_free(c);
    sw_buf_free(&err);
}

static void
test_error_cap(void **state)
{
    struct sw_buf text, err;
    const char *p;
    int i, lines = 1;

    (void) state;
    sw_buf_init(&text, 64 * 1024);
    sw_buf_init(&err, 64 * 1024);
    assert_true(sw_buf_adds(&text, RELAYS_OK));
    for (i = 0; i < 25; i++)
        assert_true(sw_buf_printf(&text, "k%d = 1;\n", i));
    assert_null(sw_conf_load_string(sw_buf_str(&text), NAME, &err));
    for (p = sw_buf_str(&err); *p; p++)
        lines += *p == '\n';
    if (lines != 21 || strstr(sw_buf_str(&err), NAME ": 5 more errors not shown") == NULL)
        print_error("%d lines:\n%s\n", lines, sw_buf_str(&err));
    assert_int_equal(lines, 21);
    assert_non_null(strstr(sw_buf_str(&err), NAME ":5: k0: unknown key"));
    assert_non_null(strstr(sw_buf_str(&err), NAME ":24: k19: unknown key"));
    assert_null(strstr(sw_buf_str(&err), "k20: unknown key"));
    assert_non_null(strstr(sw_buf_str(&err), NAME ": 5 more errors not shown"));
    sw_buf_free(&text);
    sw_buf_free(&err);
}

/* DESIGN.md 5.6, verbatim. */
static const char design_example[] =
    "milter:  { socket = \"unix:/run/spillway/milter.sock\";"
    " tag_keys = \"/etc/spillway/tag.keys\"; };\n"
    "routed:  { socketmap = \"unix:/var/spool/postfix/private/spillway\";"
    " control = \"/run/spillway/control.sock\";\n"
    "           evidence = \"/run/spillway/evidence.sock\"; state = \"/var/lib/spillway/state\";\n"
    "           render_dir = \"/var/lib/spillway/postfix\"; maillog = \"/var/log/mail.log\";\n"
    "           flush = [\"postqueue\", \"-f\"]; control_users = [\"root\"]; };\n"
    "pools = ( { name = \"m365\"; relays = [\"m365\"]; egress = [\"40.92.0.0/15\","
    " \"40.107.0.0/16\", \"52.100.0.0/14\", \"104.47.0.0/17\"];\n"
    "            hosts = [\"*.outlook.com\", \"*.protection.outlook.com\"]; } );\n"
    "relays = ( { name = \"m365\"; nexthop = \"[smtp.office365.com]:587\"; role = \"primary\";"
    " jurisdiction = \"EU\"; },\n"
    "           { name = \"alt-eu\"; nexthop = \"[relay.alt.example]:587\";"
    " role = \"alternate\"; priority = 10;\n"
    "             max_per_hour = 5000; jurisdiction = \"EU\";"
    " probe = { starttls = true; verify = true; }; } );\n"
    "rules = ( { name = \"pool-reputation\"; classes = [\"reputation\"];"
    " scope = \"destination\";\n"
    "            threshold = { events = 3; window = \"10m\"; ratio = 0.2; }; hold = \"30m\";"
    " hold_max = \"8h\";\n"
    "            recover = { share = 0.05; successes = 10; }; },\n"
    "          { name = \"pool-throttle\"; classes = [\"throttle\"]; scope = \"pool\";"
    " threshold = { events = 20; window = \"5m\"; }; hold = \"15m\"; } );\n"
    "residency = ( { destinations = [\"*.gov.uk\"]; allow = [\"UK\"]; } );\n"
    "dnsbl = { zones = [\"zen.spamhaus.org\"]; resolver = \"127.0.0.1\"; };\n";

/* classify_line - configs with rules or a milter need the pattern library: the shipped
 * one, from $SW_PATTERNS (set by make check) */
static const char *
classify_line(void)
{
    static char line[1200];
    const char *p = getenv("SW_PATTERNS");

    (void) snprintf(line, sizeof(line), "\nclassify: { patterns = \"%s\"; };\n",
                    p ? p : "conf/patterns.conf");
    return line;
}

static struct sw_conf *
must_load(const char *text)
{
    struct sw_buf err, full;
    struct sw_conf *c;

    sw_buf_init(&err, 64 * 1024);
    sw_buf_init(&full, 64 * 1024);
    sw_buf_adds(&full, text);
    if ((strstr(text, "rules") || strstr(text, "milter")) && !strstr(text, "classify"))
        sw_buf_adds(&full, classify_line());
    c = sw_conf_load_string(sw_buf_str(&full), NAME, &err);
    sw_buf_free(&full);
    if (c == NULL)
        print_error("does not load:\n%s\n", sw_buf_str(&err));
    sw_buf_free(&err);
    assert_non_null(c);
    return c;
}

static void
test_design_example(void **state)
{
    struct sw_conf *c;
    const struct sw_relay *r;
    const struct sw_pool *p;

    (void) state;
    c = must_load(design_example);
    assert_string_equal(c->path, NAME);
    assert_string_equal(c->milter.socket, "unix:/run/spillway/milter.sock");
    assert_string_equal(c->milter.tag_keys, "/etc/spillway/tag.keys");
    assert_int_equal(c->routed.socketmap.n, 1);
    assert_string_equal(c->routed.socketmap.v[0], "unix:/var/spool/postfix/private/spillway");
    assert_string_equal(c->routed.control, "/run/spillway/control.sock");
    assert_string_equal(c->routed.state, "/var/lib/spillway/state");
    assert_string_equal(c->routed.maillog, "/var/log/mail.log");
    assert_int_equal(c->routed.flush.n, 2);
    assert_string_equal(c->routed.flush.v[0], "postqueue");
    assert_string_equal(c->routed.flush.v[1], "-f");
    assert_int_equal(c->routed.control_users.n, 1);
    assert_string_equal(c->routed.control_users.v[0], "root");
    assert_int_equal(c->routed.history, 1000);            /* default */
    assert_string_equal(c->routed.render_format, "lmdb"); /* default */
    assert_null(c->routed.postfix_config);

    assert_int_equal(c->nrelays, 2);
    r = sw_conf_relay(c, "m365");
    assert_non_null(r);
    assert_ptr_equal(r, &c->relays[0]);
    assert_string_equal(r->nexthop, "[smtp.office365.com]:587");
    assert_int_equal(r->role, SW_ROLE_PRIMARY);
    assert_string_equal(r->transport, "smtp"); /* default */
    assert_string_equal(r->mailer, "relay");   /* default */
    assert_int_equal(r->priority, 10);         /* default */
    assert_int_equal(r->weight, 1);            /* default */
    assert_int_equal(r->max_per_hour, 0);
    assert_true(r->enabled);
    assert_string_equal(r->jurisdiction, "EU");
    assert_int_equal(r->line, 8);
    r = sw_conf_relay(c, "alt-eu");
    assert_non_null(r);
    assert_int_equal(r->role, SW_ROLE_ALTERNATE);
    assert_int_equal(r->max_per_hour, 5000);
    assert_int_equal(r->priority, 10);
    assert_string_equal(r->transport, "smtp");
    assert_null(sw_conf_relay(c, "alt-us"));

    assert_int_equal(c->npools, 1);
    p = sw_conf_pool(c, "m365");
    assert_non_null(p);
    assert_int_equal(p->relays.n, 1);
    assert_int_equal(p->egress.n, 4);
    assert_string_equal(p->egress.v[3], "104.47.0.0/17");
    assert_int_equal(p->hosts.n, 2);
    assert_int_equal(p->destinations.n, 0);
    assert_null(sw_conf_pool(c, "other"));

    assert_int_equal(c->nrules, 2);
    assert_string_equal(c->rules[0].name, "pool-reputation");
    assert_int_equal(c->rules[0].classes, SW_CLASS_REPUTATION);
    assert_int_equal(c->rules[0].scope, SW_SCOPE_DESTINATION);
    assert_int_equal(c->rules[0].events, 3);
    assert_int_equal(c->rules[0].window, 600);
    assert_true(c->rules[0].ratio > 0.199 && c->rules[0].ratio < 0.201);
    assert_int_equal(c->rules[0].hold, 1800);
    assert_int_equal(c->rules[0].hold_max, 8 * 3600);
    assert_int_equal(c->rules[0].recover_successes, 10);
    assert_int_equal(c->rules[1].classes, SW_CLASS_THROTTLE);
    assert_int_equal(c->rules[1].scope, SW_SCOPE_POOL);
    assert_int_equal(c->rules[1].events, 20);
    assert_int_equal(c->rules[1].window, 300);
    assert_int_equal(c->rules[1].hold, 900);
    assert_int_equal(c->rules[1].hold_max, 8 * 3600); /* default */

    assert_int_equal(c->nresidency, 1);
    assert_string_equal(c->residency[0].destinations.v[0], "*.gov.uk");
    assert_string_equal(c->residency[0].allow.v[0], "UK");
    assert_int_equal(c->dnsbl.zones.n, 1);
    assert_string_equal(c->dnsbl.resolver, "127.0.0.1");
    sw_conf_free(c);
}

/* The defaults of everything a minimal file leaves out. */
static void
test_defaults(void **state)
{
    struct sw_conf *c;

    (void) state;
    c = must_load("relays = ( { name = \"x\"; nexthop = \"relay.example\"; } );\n");
    assert_int_equal(c->routed.socketmap.n, 1);
#if SW_MTA_SENDMAIL /* configure --with-mta=sendmail */
    assert_string_equal(c->routed.socketmap.v[0], "unix:/run/spillway/socketmap");
    assert_string_equal(c->milter.socket, "unix:/run/spillway-milter/milter.sock");
    assert_string_equal(c->routed.render_dir, "/var/lib/spillway/sendmail");
    assert_int_equal(c->routed.mta, SW_WIRED_SENDMAIL);
#else
    assert_string_equal(c->routed.socketmap.v[0], "unix:/var/spool/postfix/spillway/socketmap");
    assert_string_equal(c->milter.socket, "unix:/var/spool/postfix/spillway-milter/milter.sock");
    assert_string_equal(c->routed.render_dir, "/var/lib/spillway/postfix");
    assert_int_equal(c->routed.mta, SW_WIRED_POSTFIX);
#endif
    assert_string_equal(c->routed.control, "/run/spillway/control.sock");
    assert_string_equal(c->routed.evidence, "/run/spillway/evidence.sock");
    assert_string_equal(c->routed.state, "/var/lib/spillway/state");
    assert_string_equal(c->routed.render_format, "lmdb");
    assert_string_equal(c->routed.mailertable_format, "hash");
    assert_string_equal(c->routed.makemap, "/usr/sbin/makemap");
    assert_int_equal(c->routed.control_users.n, 1);
    assert_string_equal(c->routed.control_users.v[0], "root");
    assert_int_equal(c->routed.control_groups.n, 0);
    assert_int_equal(c->routed.history, 1000);
    assert_int_equal(c->nrelays, 1);
    assert_int_equal(c->relays[0].role, SW_ROLE_ALTERNATE);
    assert_string_equal(c->relays[0].transport, "smtp");
    assert_string_equal(c->relays[0].mailer, "relay");
    assert_int_equal(c->relays[0].priority, 10);
    assert_int_equal(c->relays[0].weight, 1);
    assert_true(c->relays[0].enabled);
    assert_null(c->relays[0].jurisdiction);
    assert_int_equal(c->npools + c->nrules + c->nresidency, 0);
    sw_conf_free(c);

    /* Explicit values win; control_groups alone means no default user. */
    c = must_load("routed = { socketmap = [\"inet:127.0.0.1:10027\", \"inet:[::1]:10027\"];"
                  " control_groups = [\"0\"]; history = 10; render_format = \"cdb\";"
                  " mta = \"both\"; mailertable_format = \"btree\"; makemap = \"/opt/mm\"; };\n"
                  "relays = ( { name = \"x\"; nexthop = \"[relay.example]:2525\";"
                  " transport = \"relay\"; mailer = \"esmtp2525\"; priority = 0;"
                  " weight = 1000; enabled = false; } );\n"
                  "rules = ( { name = \"r\"; classes = \"throttle\"; hold = \"10h\"; } );\n");
    assert_int_equal(c->routed.socketmap.n, 2);
    assert_int_equal(c->routed.control_users.n, 0);
    assert_int_equal(c->routed.history, 10);
    assert_string_equal(c->routed.render_format, "cdb");
    assert_int_equal(c->routed.mta, SW_WIRED_POSTFIX | SW_WIRED_SENDMAIL);
    assert_string_equal(c->routed.mailertable_format, "btree");
    assert_string_equal(c->routed.makemap, "/opt/mm");
    assert_string_equal(c->relays[0].transport, "relay");
    assert_string_equal(c->relays[0].mailer, "esmtp2525");
    assert_int_equal(c->relays[0].priority, 0);
    assert_int_equal(c->relays[0].weight, 1000);
    assert_false(c->relays[0].enabled);
    /* hold over the default hold_max raises hold_max with it */
    assert_int_equal(c->rules[0].hold, 36000);
    assert_int_equal(c->rules[0].hold_max, 36000);
    sw_conf_free(c);
}

/* milter.outbound and tag_cap: defaults and explicit values. */
static void
test_milter_outbound(void **state)
{
    struct sw_conf *c;

    (void) state;
    c = must_load(RELAYS_OK);
    assert_int_equal(c->milter.out_networks.n, 2);
    assert_string_equal(c->milter.out_networks.v[0], "127.0.0.0/8");
    assert_string_equal(c->milter.out_networks.v[1], "::1");
    assert_true(c->milter.out_auth);
    assert_int_equal(c->milter.tag_cap, 2);
    sw_conf_free(c);
    c = must_load(RELAYS_OK "milter = { tag_cap = 5; outbound = { authenticated = false;"
                            " networks = [\"192.0.2.0/24\", \"2001:db8::/32\", \"10.1.2.3\"]; }; };\n");
    assert_int_equal(c->milter.out_networks.n, 3);
    assert_string_equal(c->milter.out_networks.v[2], "10.1.2.3");
    assert_false(c->milter.out_auth);
    assert_int_equal(c->milter.tag_cap, 5);
    sw_conf_free(c);
    /* networks = []: only authenticated senders' mail is tagged. */
    c = must_load(RELAYS_OK "milter = { outbound = { networks = []; }; };\n");
    assert_int_equal(c->milter.out_networks.n, 0);
    assert_true(c->milter.out_auth);
    sw_conf_free(c);
}

/* sw_conf_load reads a file; its messages name the file. */
static void
test_load_file(void **state)
{
    char dir[] = "/tmp/sw-test-conf-XXXXXX", path[256], missing[256];
    struct sw_conf *c;
    struct sw_buf err;
    FILE *fp;

    (void) state;
    assert_non_null(mkdtemp(dir));
    (void) snprintf(path, sizeof(path), "%s/spillway.conf", dir);
    (void) snprintf(missing, sizeof(missing), "%s/missing.conf", dir);
    sw_buf_init(&err, 64 * 1024);

    assert_non_null(fp = fopen(path, "w"));
    assert_int_equal(fputs(design_example, fp) >= 0, 1);
    assert_int_equal(fputs(classify_line(), fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    c = sw_conf_load(path, &err);
    if (c == NULL)
        print_error("%s\n", sw_buf_str(&err));
    assert_non_null(c);
    assert_string_equal(c->path, path);
    sw_conf_free(c);

    assert_non_null(fp = fopen(path, "w"));
    assert_int_equal(fputs(RELAY_B("weight = 0;"), fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    assert_null(sw_conf_load(path, &err));
    assert_non_null(strstr(sw_buf_str(&err), ":3: relays[1].weight"));
    assert_non_null(strstr(sw_buf_str(&err), path));

    sw_buf_reset(&err);
    assert_null(sw_conf_load(missing, &err));
    assert_non_null(strstr(sw_buf_str(&err), missing));
    assert_non_null(strstr(sw_buf_str(&err), "No such file"));

    sw_buf_free(&err);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

static const struct match_case {
    const char *pattern;
    const char *domain;
    bool match;
} match_cases[] = {
    { "*", "example.com", true },
    { "*", "com", true },
    { "example.com", "example.com", true },
    { "example.com", "EXAMPLE.com", true },
    { "Example.COM", "example.com", true },
    { "example.com", "a.example.com", false },
    { "example.com", "example.org", false },
    { "example.com", "notexample.com", false },
    { "*.gov.uk", "x.gov.uk", true },
    { "*.gov.uk", "a.b.gov.uk", true },
    { "*.gov.uk", "gov.uk", false },
    { "*.gov.uk", "xgov.uk", false },
    { "*.gov.uk", "x.gov.uk.evil", false },
    { "*.gov.uk", "X.GOV.UK", true },
    { ".example.com", "a.example.com", true },
    { ".example.com", "example.com", false },
    { ".example.com", "aexample.com", false },
    { "*.uk", "gov.uk", true },
};

static void
test_domain_match(void **state)
{
    size_t i;
    int failed = 0;

    (void) state;
    for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++)
        if (sw_domain_match(match_cases[i].pattern, match_cases[i].domain)
            != match_cases[i].match) {
            print_error("sw_domain_match(\"%s\", \"%s\") should be %s\n", match_cases[i].pattern,
                        match_cases[i].domain, match_cases[i].match ? "true" : "false");
            failed++;
        }
    assert_int_equal(failed, 0);
}

static const char pools_conf[] =
    "relays = ( { name = \"m365\"; nexthop = \"h1\"; role = \"primary\"; },\n"
    "           { name = \"gw\"; nexthop = \"h2\"; role = \"primary\"; },\n"
    "           { name = \"alt\"; nexthop = \"h3\"; } );\n"
    "pools = ( { name = \"altonly\"; relays = [\"alt\"]; },\n"
    "          { name = \"gov\"; relays = [\"gw\", \"alt\"];"
    " destinations = [\"*.gov.uk\", \"gov.uk\"]; },\n"
    "          { name = \"m365\"; relays = [\"alt\", \"m365\"]; },\n"
    "          { name = \"second\"; relays = [\"gw\"]; } );\n";

static const struct pool_for_case {
    const char *domain;
    const char *pool;
} pool_for_cases[] = {
    { "x.gov.uk", "gov" }, { "a.b.gov.uk", "gov" },   { "gov.uk", "gov" },
    { "xgov.uk", "m365" }, { "example.com", "m365" }, { NULL, "m365" },
};

static void
test_pool_for(void **state)
{
    const struct sw_pool *p;
    struct sw_conf *c;
    size_t i;
    int failed = 0;

    (void) state;
    c = must_load(pools_conf);
    for (i = 0; i < sizeof(pool_for_cases) / sizeof(pool_for_cases[0]); i++) {
        p = sw_conf_pool_for(c, pool_for_cases[i].domain);
        if (p == NULL || strcmp(p->name, pool_for_cases[i].pool) != 0) {
            print_error("sw_conf_pool_for(%s): %s, expected %s\n",
                        pool_for_cases[i].domain ? pool_for_cases[i].domain : "NULL",
                        p ? p->name : "NULL", pool_for_cases[i].pool);
            failed++;
        }
    }
    assert_true(sw_strv_has(&c->pools[1].destinations, "gov.uk"));
    assert_false(sw_strv_has(&c->pools[1].destinations, "GOV.UK"));
    assert_true(sw_strv_has_ci(&c->pools[1].destinations, "GOV.UK"));
    assert_false(sw_strv_has_ci(&c->pools[1].destinations, "uk"));
    sw_conf_free(c);
    /* No pool carries mail by default: NULL. */
    c = must_load("relays = ( { name = \"alt\"; nexthop = \"h3\"; } );\n"
                  "pools = ( { name = \"p\"; relays = [\"alt\"]; } );\n");
    assert_null(sw_conf_pool_for(c, "example.com"));
    assert_null(sw_conf_pool_for(c, NULL));
    sw_conf_free(c);
    assert_int_equal(failed, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_table),    cmocka_unit_test(test_error_cap),
        cmocka_unit_test(test_design_example), cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_load_file),      cmocka_unit_test(test_domain_match),
        cmocka_unit_test(test_pool_for),       cmocka_unit_test(test_cluster_defaults),
        cmocka_unit_test(test_milter_outbound),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
