/* test_ctl.c - control requests (ctl.h) */
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
#include "global/ctl.h"

#define MAXF 8

/* A request: fields built with sw_kv_add, or a raw line. */
struct ctl_case {
    const char *name;
    const char *fields[MAXF][2]; /* {key, value}, key NULL ends */
    const char *raw;             /* used instead of fields if set */
    bool ok;
    const char *err; /* substring of the error when !ok */
    /* expected on success (unset fields: not checked / zero) */
    enum sw_ctl_verb verb;
    bool json;
    enum sw_scope_kind kind;
    const char *scope_name;
    const char *to;
    const char *reason;
    long duration;
    const char *relay;
    enum sw_relay_admin admin;
    const char *address;
};

#define F(...)       .fields = { __VA_ARGS__ }
#define REFUSED(msg) .ok = false, .err = (msg)

static const struct ctl_case cases[] = {
    { "status", F({ "verb", "status" }), .ok = true, .verb = SW_CTL_STATUS },
    { "status json", F({ "verb", "status" }, { "json", "1" }), .ok = true, .verb = SW_CTL_STATUS,
      .json = true },
    { "json=0 is not json", F({ "verb", "status" }, { "json", "0" }), .ok = true,
      .verb = SW_CTL_STATUS },
    { "json=yes is not json", F({ "verb", "status" }, { "json", "yes" }), .ok = true,
      .verb = SW_CTL_STATUS },
    { "reload", F({ "verb", "reload" }), .ok = true, .verb = SW_CTL_RELOAD },
    { "explain", F({ "verb", "explain" }, { "address", "User+x@Example.COM" }), .ok = true,
      .verb = SW_CTL_EXPLAIN, .address = "User+x@Example.COM" },
    { "explain without address", F({ "verb", "explain" }), REFUSED("missing address") },
    { "divert, folded domain",
      F({ "verb", "divert" }, { "scope", "Example.COM" }, { "to", "alt-eu" }, { "for", "2h" },
        { "reason", "provider incident 4711\tsee ticket" }),
      .ok = true, .verb = SW_CTL_DIVERT, .kind = SW_SCOPE_DESTINATION, .scope_name = "example.com",
      .to = "alt-eu", .reason = "provider incident 4711\tsee ticket", .duration = 7200 },
    { "divert destination: prefix, policy chooses",
      F({ "verb", "divert" }, { "scope", "destination:x.org" }, { "for", "1h30m" },
        { "reason", "r" }, { "json", "1" }),
      .ok = true, .verb = SW_CTL_DIVERT, .json = true, .kind = SW_SCOPE_DESTINATION,
      .scope_name = "x.org", .reason = "r", .duration = 5400 },
    { "divert with an empty to",
      F({ "verb", "divert" }, { "scope", "x.org" }, { "to", "" }, { "for", "30m" },
        { "reason", "r" }),
      .ok = true, .verb = SW_CTL_DIVERT, .kind = SW_SCOPE_DESTINATION, .scope_name = "x.org",
      .reason = "r", .duration = 1800 },
    { "divert a pool",
      F({ "verb", "divert" }, { "scope", "pool:m365" }, { "to", "alt-us" }, { "for", "1d" },
        { "reason", "r" }),
      .ok = true, .verb = SW_CTL_DIVERT, .kind = SW_SCOPE_POOL, .scope_name = "m365",
      .to = "alt-us", .reason = "r", .duration = 86400 },
    { "divert without for", F({ "verb", "divert" }, { "scope", "x.org" }, { "reason", "r" }),
      REFUSED("missing for") },
    { "divert without reason", F({ "verb", "divert" }, { "scope", "x.org" }, { "for", "2h" }),
      REFUSED("missing reason") },
    { "divert with an empty reason",
      F({ "verb", "divert" }, { "scope", "x.org" }, { "for", "2h" }, { "reason", "" }),
      REFUSED("missing reason") },
    { "divert without scope", F({ "verb", "divert" }, { "for", "2h" }, { "reason", "r" }),
      REFUSED("missing scope") },
    { "divert bad duration",
      F({ "verb", "divert" }, { "scope", "x.org" }, { "for", "2x" }, { "reason", "r" }),
      REFUSED("bad duration for --for") },
    { "divert zero duration",
      F({ "verb", "divert" }, { "scope", "x.org" }, { "for", "0m" }, { "reason", "r" }),
      REFUSED("bad duration") },
    { "divert without a unit",
      F({ "verb", "divert" }, { "scope", "x.org" }, { "for", "30" }, { "reason", "r" }),
      REFUSED("bad duration for --for: a number with its unit") },
    { "divert, a group without a unit",
      F({ "verb", "divert" }, { "scope", "x.org" }, { "for", "1h30" }, { "reason", "r" }),
      REFUSED("bad duration for --for") },
    { "divert for the longest",
      F({ "verb", "divert" }, { "scope", "x.org" }, { "for", "366d" }, { "reason", "r" }),
      .ok = true, .verb = SW_CTL_DIVERT, .kind = SW_SCOPE_DESTINATION, .scope_name = "x.org",
      .reason = "r", .duration = 366L * 86400L },
    { "divert a second too long",
      F({ "verb", "divert" }, { "scope", "x.org" }, { "for", "366d1s" }, { "reason", "r" }),
      REFUSED("at most 366d") },
    { "divert over a year",
      F({ "verb", "divert" }, { "scope", "x.org" }, { "for", "400d" }, { "reason", "r" }),
      REFUSED("bad duration") },
    { "divert empty pool name",
      F({ "verb", "divert" }, { "scope", "pool:" }, { "for", "2h" }, { "reason", "r" }),
      REFUSED("bad pool name") },
    { "divert pool name with a space",
      F({ "verb", "divert" }, { "scope", "pool:a b" }, { "for", "2h" }, { "reason", "r" }),
      REFUSED("bad pool name") },
    { "divert subdomain pattern",
      F({ "verb", "divert" }, { "scope", ".example.com" }, { "for", "2h" }, { "reason", "r" }),
      REFUSED("not a destination domain") },
    { "divert an address",
      F({ "verb", "divert" }, { "scope", "u@example.com" }, { "for", "2h" }, { "reason", "r" }),
      REFUSED("not a destination domain") },
    { "divert empty destination",
      F({ "verb", "divert" }, { "scope", "destination:" }, { "for", "2h" }, { "reason", "r" }),
      REFUSED("not a destination domain") },
    { "divert root", F({ "verb", "divert" }, { "scope", "." }, { "for", "2h" }, { "reason", "r" }),
      REFUSED("not a destination domain") },
    { "release", F({ "verb", "release" }, { "scope", "destination:Sub.Example.COM." }), .ok = true,
      .verb = SW_CTL_RELEASE, .kind = SW_SCOPE_DESTINATION, .scope_name = "sub.example.com" },
    { "release a pool", F({ "verb", "release" }, { "scope", "pool:m365" }), .ok = true,
      .verb = SW_CTL_RELEASE, .kind = SW_SCOPE_POOL, .scope_name = "m365" },
    { "release without scope", F({ "verb", "release" }), REFUSED("missing scope") },
    { "release bad scope", F({ "verb", "release" }, { "scope", "[192.0.2.1]" }),
      REFUSED("not a destination domain") },
    { "relay disable", F({ "verb", "relay" }, { "action", "disable" }, { "name", "alt-eu" }),
      .ok = true, .verb = SW_CTL_RELAY, .relay = "alt-eu", .admin = SW_ADMIN_DISABLED },
    { "relay enable", F({ "verb", "relay" }, { "action", "enable" }, { "name", "alt-eu" }),
      .ok = true, .verb = SW_CTL_RELAY, .relay = "alt-eu", .admin = SW_ADMIN_ENABLED },
    { "relay drain", F({ "verb", "relay" }, { "action", "drain" }, { "name", "alt-us" }),
      .ok = true, .verb = SW_CTL_RELAY, .relay = "alt-us", .admin = SW_ADMIN_DRAINING },
    { "relay bad action", F({ "verb", "relay" }, { "action", "pause" }, { "name", "alt-eu" }),
      REFUSED("relay action must be enable, disable or drain") },
    { "relay action in capitals", F({ "verb", "relay" }, { "action", "Disable" }, { "name", "x" }),
      REFUSED("relay action must be") },
    { "relay without action", F({ "verb", "relay" }, { "name", "alt-eu" }),
      REFUSED("missing action") },
    { "relay without name", F({ "verb", "relay" }, { "action", "disable" }),
      REFUSED("missing name") },
    { "history", F({ "verb", "history" }), .ok = true, .verb = SW_CTL_HISTORY },
    { "history since", F({ "verb", "history" }, { "since", "1h" }), .ok = true,
      .verb = SW_CTL_HISTORY, .duration = 3600 },
    { "history since without a unit", F({ "verb", "history" }, { "since", "3600" }),
      REFUSED("bad duration for --since") },
    { "history bad since", F({ "verb", "history" }, { "since", "yesterday" }),
      REFUSED("bad duration for --since") },
    { "unknown verb", F({ "verb", "frobnicate" }), REFUSED("unknown verb") },
    { "verb in capitals", F({ "verb", "STATUS" }), REFUSED("unknown verb") },
    { "no verb", F({ "scope", "x.org" }), REFUSED("missing verb") },
    { "empty verb", F({ "verb", "" }), REFUSED("missing verb") },
    { "empty line", .raw = "", REFUSED("missing verb") },
    { "malformed: space in a key", .raw = "verb status",
      REFUSED("malformed request: bad character in key") },
    { "malformed: no '='", .raw = "status", REFUSED("malformed request: field without key=value") },
    { "malformed: key in capitals", .raw = "Verb=status",
      REFUSED("malformed request: bad character in key") },
    { "malformed: bad escape", .raw = "verb=divert\treason=\\q",
      REFUSED("malformed request: unknown escape") },
    { "malformed: raw control byte", .raw = "verb=status\treason=a\x01",
      REFUSED("malformed request: control character") },
};

#undef F
#undef REFUSED

/* The request struct holds 8 KB of kv storage: keep it off the stack. */
static struct sw_ctl_request req;

static int
check(const struct ctl_case *c, const char *line, size_t len)
{
    struct sw_buf err;
    bool ok;
    int failed = 0;

    sw_buf_init(&err, 1024);
    ok = sw_ctl_parse(&req, line, len, &err);
    if (ok != c->ok) {
        print_error("case \"%s\": %s (%s), expected %s\n", c->name, ok ? "accepted" : "refused",
                    sw_buf_str(&err), c->ok ? "accepted" : "refused");
        failed++;
    } else if (!ok) {
        if (strstr(sw_buf_str(&err), c->err) == NULL) {
            print_error("case \"%s\": error \"%s\", expected \"%s\"\n", c->name, sw_buf_str(&err),
                        c->err);
            failed++;
        }
        if (strchr(sw_buf_str(&err), '\n') != NULL) {
            print_error("case \"%s\": error is not one line\n", c->name);
            failed++;
        }
    } else {
#define FIELD_STR(f, want)                                                       \
    if ((want) ? (f) == NULL || strcmp((f), (want)) != 0 : (f) != NULL) {        \
        print_error("case \"%s\": " #f " is \"%s\", expected \"%s\"\n", c->name, \
                    (f) ? (f) : "(null)", (want) ? (want) : "(null)");           \
        failed++;                                                                \
    }
        if (req.verb != c->verb || req.json != c->json) {
            print_error("case \"%s\": verb %d json %d, expected %d %d\n", c->name, (int) req.verb,
                        (int) req.json, (int) c->verb, (int) c->json);
            failed++;
        }
        if (c->scope_name && (req.kind != c->kind || strcmp(req.name, c->scope_name) != 0)) {
            print_error("case \"%s\": scope %s:%s, expected %s:%s\n", c->name,
                        sw_scope_kind_name(req.kind), req.name, sw_scope_kind_name(c->kind),
                        c->scope_name);
            failed++;
        }
        if (req.duration != c->duration) {
            print_error("case \"%s\": duration %ld, expected %ld\n", c->name, req.duration,
                        c->duration);
            failed++;
        }
        if (c->verb == SW_CTL_RELAY && req.admin != c->admin) {
            print_error("case \"%s\": admin %s, expected %s\n", c->name, sw_admin_name(req.admin),
                        sw_admin_name(c->admin));
            failed++;
        }
        FIELD_STR(req.to, c->to)
        FIELD_STR(req.reason, c->reason)
        FIELD_STR(req.relay, c->relay)
        FIELD_STR(req.address, c->address)
#undef FIELD_STR
    }
    sw_buf_free(&err);
    return failed;
}

static void
test_parse_table(void **state)
{
    struct sw_buf line;
    size_t i, k;
    int failed = 0;

    (void) state;
    sw_buf_init(&line, SW_CTL_MAX_REQUEST);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ctl_case *c = &cases[i];

        sw_buf_reset(&line);
        if (c->raw)
            assert_true(sw_buf_adds(&line, c->raw));
        else
            for (k = 0; k < MAXF && c->fields[k][0]; k++)
                assert_true(sw_kv_add(&line, c->fields[k][0], c->fields[k][1]));
        failed += check(c, sw_buf_str(&line), line.len);
    }
    sw_buf_free(&line);
    assert_int_equal(failed, 0);
}

/* A request is at most SW_CTL_MAX_REQUEST bytes. */
static void
test_length_limit(void **state)
{
    struct sw_buf line, err;
    char *reason;
    size_t n;

    (void) state;
    sw_buf_init(&line, 2 * SW_CTL_MAX_REQUEST);
    sw_buf_init(&err, 1024);
    assert_true(sw_kv_add(&line, "verb", "divert") && sw_kv_add(&line, "scope", "x.org")
                && sw_kv_add(&line, "for", "2h"));
    n = SW_CTL_MAX_REQUEST - line.len - strlen("\treason=");
    reason = malloc(n + 2);
    assert_non_null(reason);
    memset(reason, 'r', n + 1);
    reason[n] = '\0';
    assert_true(sw_kv_add(&line, "reason", reason));
    assert_int_equal(line.len, SW_CTL_MAX_REQUEST);
    if (!sw_ctl_parse(&req, line.data, line.len, &err))
        print_error("a request of exactly %u bytes: %s\n", (unsigned) SW_CTL_MAX_REQUEST,
                    sw_buf_str(&err));
    assert_int_equal(strlen(req.reason), n);
    assert_true(sw_buf_addc(&line, 'r'));
    assert_false(sw_ctl_parse(&req, line.data, line.len, &err));
    assert_non_null(strstr(sw_buf_str(&err), "request too long"));
    free(reason);
    sw_buf_free(&line);
    sw_buf_free(&err);
}

/* Every refusal says why: a long key with a control byte in its value
 * once made a reason longer than the reply's error buffer, and the
 * operator read "error: " and nothing (the control socket's buffer is
 * 1024 bytes, as here). */
static void
test_reason_always_said(void **state)
{
    struct sw_buf line, err;
    char key[2001];

    (void) state;
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    sw_buf_init(&line, 2 * SW_CTL_MAX_REQUEST);
    sw_buf_init(&err, 1024);
    assert_true(sw_buf_printf(&line, "verb=status\t%s=a\\x01", key));
    assert_false(sw_ctl_parse(&req, line.data, line.len, &err));
    assert_true(err.len > 0);
    assert_true(err.len < 200);
    assert_non_null(strstr(sw_buf_str(&err), "control character in kkkk"));
    sw_buf_free(&line);
    sw_buf_free(&err);
}

/* sw_ctl_scope on its own, including buffer limits. */
static const struct scope_case {
    const char *in;
    size_t size;
    bool ok;
    enum sw_scope_kind kind;
    const char *name;
} scope_cases[] = {
    { "Example.COM", 254, true, SW_SCOPE_DESTINATION, "example.com" },
    { "example.com.", 254, true, SW_SCOPE_DESTINATION, "example.com" },
    { "destination:x.org", 254, true, SW_SCOPE_DESTINATION, "x.org" },
    { "DESTINATION:x.org", 254, false, SW_SCOPE_DESTINATION, NULL },
    { "pool:m365", 254, true, SW_SCOPE_POOL, "m365" },
    { "pool:M365_a.b-c", 254, true, SW_SCOPE_POOL, "M365_a.b-c" },
    { "pool:", 254, false, SW_SCOPE_POOL, NULL },
    { "pool:a b", 254, false, SW_SCOPE_POOL, NULL },
    { "pool:a/b", 254, false, SW_SCOPE_POOL, NULL },
    { "pool:abcd", 4, false, SW_SCOPE_POOL, NULL },
    { "pool:abc", 4, true, SW_SCOPE_POOL, "abc" },
    { "example.com", 11, false, SW_SCOPE_DESTINATION, NULL },
    { "example.com", 12, true, SW_SCOPE_DESTINATION, "example.com" },
    { "", 254, false, SW_SCOPE_DESTINATION, NULL },
    { "*", 254, false, SW_SCOPE_DESTINATION, NULL },
    { "x.org:25", 254, false, SW_SCOPE_DESTINATION, NULL },
};

static void
test_scope_table(void **state)
{
    enum sw_scope_kind kind;
    char name[300];
    struct sw_buf err;
    size_t i;
    bool ok;
    int failed = 0;

    (void) state;
    sw_buf_init(&err, 1024);
    for (i = 0; i < sizeof(scope_cases) / sizeof(scope_cases[0]); i++) {
        const struct scope_case *c = &scope_cases[i];

        sw_buf_reset(&err);
        memset(name, '#', sizeof(name));
        ok = sw_ctl_scope(c->in, &kind, name, c->size, &err);
        if (ok != c->ok || (ok && (kind != c->kind || strcmp(name, c->name) != 0))) {
            print_error("sw_ctl_scope(\"%s\", %zu): %s %s:%.*s, expected %s %s:%s\n", c->in,
                        c->size, ok ? "ok" : "refused", sw_scope_kind_name(kind), ok ? 300 : 0,
                        name, c->ok ? "ok" : "refused", sw_scope_kind_name(c->kind),
                        c->name ? c->name : "");
            failed++;
        }
        if (!ok && err.len == 0) {
            print_error("sw_ctl_scope(\"%s\"): refused without a message\n", c->in);
            failed++;
        }
        if (name[c->size] != '#') {
            print_error("sw_ctl_scope(\"%s\"): wrote past %zu bytes\n", c->in, c->size);
            failed++;
        }
    }
    sw_buf_free(&err);
    assert_int_equal(failed, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_reason_always_said),
        cmocka_unit_test(test_scope_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
