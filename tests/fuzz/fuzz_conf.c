/* fuzz_conf.c - fuzz target: the text of spillway.conf */

/*
 * The input is a whole configuration file.  sw_conf_load_string() must
 * either return a generation that holds what the rest of the program
 * relies on (every relay named and with a nexthop the answer code can
 * format, pools naming existing relays, defaults filled in), or NULL with
 * an error message; never both, never neither.  A broken invariant
 * abort()s so the fuzzer reports it.
 *
 * Costs and side effects: routed.control_users and control_groups are
 * resolved with getpwnam/getgrnam (reads /etc/passwd and /etc/group), and
 * libconfig follows @include directives to files named in the input.
 *
 * libconfig 1.5 leaks its scanner's string buffer when a syntax error
 * follows a string literal (the input '""' is enough).  The leak is in
 * the library, bounded by the file size and only on a refused file, so it
 * is suppressed here, by the scanner's two allocating frames only, to keep
 * LeakSanitizer useful for spillway's own allocations.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/answer.h"
#include "global/conf.h"
#include "global/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

#define FZ_ERR_MAX 65536 /* what spillway-routed uses at start */

/* __lsan_default_suppressions - read by LeakSanitizer at start-up, if linked */
const char *
__lsan_default_suppressions(void)
{
    return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

/* nonempty - a loaded string field */
static void
nonempty(const char *s)
{
    if (s == NULL || *s == '\0')
        abort();
}

/* check_relays - every relay is usable by the answer code */
static void
check_relays(const struct sw_conf *c)
{
    struct sw_policy p = { c, NULL, NULL, NULL };
    struct sw_buf out;
    size_t i;

    if (c->nrelays == 0 || c->relays == NULL)
        abort();
    sw_buf_init(&out, 4096);
    for (i = 0; i < c->nrelays; i++) {
        nonempty(c->relays[i].name);
        nonempty(c->relays[i].nexthop);
        nonempty(c->relays[i].transport);
        nonempty(c->relays[i].mailer);
        nonempty(c->relays[i].host); /* a valid nexthop always splits */
        if (sw_conf_relay(c, c->relays[i].name) != &c->relays[i])
            abort(); /* names are unique */
        sw_buf_reset(&out);
        if (!sw_answer_transport(&p, &c->relays[i], NULL, &out) || out.len == 0)
            abort();
        sw_buf_reset(&out);
        if (!sw_answer_mailertable(&p, &c->relays[i], NULL, &out) || out.len == 0)
            abort();
    }
    sw_buf_free(&out);
}

/* check_pools - references resolved, names unique */
static void
check_pools(const struct sw_conf *c)
{
    size_t i, k;

    for (i = 0; i < c->npools; i++) {
        nonempty(c->pools[i].name);
        if (sw_conf_pool(c, c->pools[i].name) != &c->pools[i] || c->pools[i].relays.n == 0)
            abort();
        for (k = 0; k < c->pools[i].relays.n; k++)
            if (sw_conf_relay(c, c->pools[i].relays.v[k]) == NULL)
                abort();
    }
}

/* check_defaults - what apply_defaults() promises */
static void
check_defaults(const struct sw_conf *c)
{
    const struct sw_routed_conf *r = &c->routed;

    if (r->socketmap.n == 0 || r->history < 10 || r->history > 1000000)
        abort();
    nonempty(r->control);
    nonempty(r->evidence);
    nonempty(r->state);
    nonempty(r->render_dir);
    if (r->render_format == NULL
        || (strcmp(r->render_format, "lmdb") != 0 && strcmp(r->render_format, "cdb") != 0))
        abort();
    if (r->control_users.n == 0 && r->control_groups.n == 0)
        abort(); /* someone must be able to run spillwayctl */
}

/* check_policy - choosing an alternate works on any valid config */
static void
check_policy(const struct sw_conf *c)
{
    /* NULL: Sendmail's "." key, a pool-wide choice. */
    static const char *const domains[] = { "example.com", "a.b.gov.uk", NULL };
    const struct sw_relay *r;
    struct sw_policy p;
    struct sw_buf why;
    enum sw_relay_admin *admin;
    size_t i;

    if ((admin = calloc(c->nrelays, sizeof(*admin))) == NULL)
        return; /* out of memory: nothing to check */
    /* Every field set: no hourly counts, no health (all relays usable). */
    p = (struct sw_policy) { c, admin, NULL, NULL };
    sw_buf_init(&why, 4096);
    for (i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
        sw_buf_reset(&why);
        (void) sw_conf_pool_for(c, domains[i]);
        r = sw_policy_choose(&p, domains[i], "fuzz", &why);
        if (r != NULL
            && (r->role != SW_ROLE_ALTERNATE
                || sw_policy_ineligible(&p, r, domains[i], true) != NULL))
            abort();
        if (r == NULL && why.len == 0)
            abort();
    }
    sw_buf_free(&why);
    free(admin);
}

/* LLVMFuzzerTestOneInput - one configuration file */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sw_conf *c;
    struct sw_buf err;
    char *text;

    if ((text = malloc(size + 1)) == NULL)
        return 0;
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    sw_buf_init(&err, FZ_ERR_MAX);
    c = sw_conf_load_string(text, "fuzz.conf", &err);
    if ((c == NULL) != (err.len != 0))
        abort(); /* an error message iff no configuration */
    if (c != NULL) {
        check_relays(c);
        check_pools(c);
        check_defaults(c);
        check_policy(c);
    }
    sw_conf_free(c);
    sw_buf_free(&err);
    free(text);
    return 0;
}
