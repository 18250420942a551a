/* fuzz_classify.c - fuzz target: sw_classify() on hostile reply text */

/*
 * The input is one reply text as it reaches the classifier from a log
 * line, a bounce or an SMTP session: any bytes, any length.  It is
 * classified with the shipped library (conf/patterns.conf, loaded once),
 * and the verdict is checked against the contract of classify.h:
 *
 *  - the class is other, reputation or throttle;
 *  - name, provider and note are all set or all NULL, and NULL means
 *    other; a name is a pattern of the library, of the verdict's class;
 *  - the same input gives the same verdict, and bytes past
 *    SW_CLASSIFY_MAX_TEXT change nothing;
 *  - the literal prefilter changes nothing: the verdict names the first
 *    pattern in evaluation order that matches when every pattern is
 *    compiled alone and tried in turn (inputs with a Postfix
 *    "host NAME[ADDR] said: " prefix are left out of this one, since
 *    the classifier drops the prefix).
 *
 * An input that starts with a NUL byte is "\0REGEX\nTEXT" instead: a
 * library of that one pattern must match TEXT exactly when PCRE2 alone
 * does, which puts the prefilter's reading of arbitrary regex syntax to
 * the test (operators write their own patterns).
 *
 * A broken contract abort()s so the fuzzer reports it.  The library is
 * found through $SW_PATTERNS, then $srcdir/conf/patterns.conf (automake
 * exports srcdir to tests), then SW_PATTERNS_DEFAULT if the build
 * defines it, then conf/patterns.conf.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <libconfig.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "global/classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_PATH_MAX  4096
#define FZ_REGEX_MAX 512
#define FZ_OPTIONS   (PCRE2_CASELESS | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP)
#define FZ_LIMIT     1000000u /* the classifier's own work cap */

/* The library and its patterns compiled one by one, in evaluation order. */
struct fixture {
    struct sw_patterns *lib;
    pcre2_code **code;
    const char **name;
    unsigned *cls;
    size_t n;
    pcre2_match_data *md;
    pcre2_match_context *mc;
};

/* library_path - where the shipped library is */
static const char *
library_path(char *buf, size_t size)
{
    const char *e = getenv("SW_PATTERNS"), *d = getenv("srcdir");

    if (e && *e)
        return e;
    if (d && *d) {
        (void) snprintf(buf, size, "%s/conf/patterns.conf", d);
        return buf;
    }
#ifdef SW_PATTERNS_DEFAULT
    return SW_PATTERNS_DEFAULT;
#else
    return "conf/patterns.conf";
#endif
}

/* fixture_get - load and compile on first use */
static const struct fixture *
fixture_get(void)
{
    static struct fixture fx;
    static bool ready;
    char buf[FZ_PATH_MAX];
    const char *path, *re;
    struct sw_buf err;
    PCRE2_SIZE off;
    size_t i;
    int rc;

    if (ready)
        return &fx;
    path = library_path(buf, sizeof(buf));
    sw_buf_init(&err, 65536);
    if ((fx.lib = sw_patterns_new()) == NULL || !sw_patterns_load_file(fx.lib, path, &err)
        || !sw_patterns_compile(fx.lib, &err)) {
        fprintf(stderr, "fuzz_classify: %s\n", sw_buf_str(&err));
        abort();
    }
    sw_buf_free(&err);
    fx.n = sw_patterns_count(fx.lib);
    fx.code = calloc(fx.n + 1, sizeof(*fx.code));
    fx.name = calloc(fx.n + 1, sizeof(*fx.name));
    fx.cls = calloc(fx.n + 1, sizeof(*fx.cls));
    fx.md = pcre2_match_data_create(1, NULL);
    fx.mc = pcre2_match_context_create(NULL);
    if (fx.code == NULL || fx.name == NULL || fx.cls == NULL || fx.md == NULL || fx.mc == NULL)
        abort();
    (void) pcre2_set_match_limit(fx.mc, FZ_LIMIT);
    for (i = 0; i < fx.n; i++) {
        if (!sw_patterns_get(fx.lib, i, &fx.name[i], &fx.cls[i], &re, NULL, NULL))
            abort();
        fx.code[i] =
            pcre2_compile((PCRE2_SPTR) re, PCRE2_ZERO_TERMINATED, FZ_OPTIONS, &rc, &off, NULL);
        if (fx.code[i] == NULL)
            abort();
        (void) pcre2_jit_compile(fx.code[i], PCRE2_JIT_COMPLETE);
    }
    ready = true;
    return &fx;
}

/* reference - index of the first pattern that matches, n for none, or
 * SIZE_MAX when a match gave up */
static size_t
reference(const struct fixture *fx, const char *text, size_t len)
{
    size_t i;
    int rc;

    for (i = 0; i < fx->n; i++) {
        rc = pcre2_match(fx->code[i], (PCRE2_SPTR) text, len, 0, 0, fx->md, fx->mc);
        if (rc >= 0)
            return i;
        if (rc != PCRE2_ERROR_NOMATCH)
            return SIZE_MAX;
    }
    return fx->n;
}

/* same - two verdicts are equal, cues included */
static bool
same(const struct sw_verdict *a, const struct sw_verdict *b)
{
    size_t i;

    if (a->cls != b->cls || a->tier != b->tier || a->name != b->name || a->provider != b->provider
        || a->note != b->note || a->ncues != b->ncues)
        return false;
    for (i = 0; i < a->ncues; i++)
        if (a->cue[i].name != b->cue[i].name || a->cue[i].off != b->cue[i].off
            || a->cue[i].len != b->cue[i].len)
            return false;
    return true;
}

/* cues_ok - the cues are the winner and later patterns of its group (same
 * class side and tier), each once, in evaluation order, inside the text;
 * with a reference: every pattern of the group that matches is a cue,
 * until SW_CUES_MAX (w: the winner's index) */
static bool
cues_ok(const struct fixture *fx, const struct sw_verdict *v, size_t w, const char *text,
        size_t looked)
{
    size_t c = 1, j;
    int rc;

    if (v->name == NULL)
        return v->ncues == 0;
    if (v->ncues == 0 || v->ncues > SW_CUES_MAX || v->cue[0].name != v->name)
        return false;
    for (j = 0; j < v->ncues; j++)
        if (v->cue[j].off > looked || v->cue[j].len > looked - v->cue[j].off)
            return false;
    for (j = w + 1; j < fx->n && c < SW_CUES_MAX; j++) {
        if ((fx->cls[j] == SW_CLASS_OTHER) != (v->cls == SW_CLASS_OTHER)
            || sw_patterns_tier(fx->lib, j) != v->tier)
            break;
        rc = pcre2_match(fx->code[j], (PCRE2_SPTR) text, looked, 0, 0, fx->md, fx->mc);
        if (rc == PCRE2_ERROR_NOMATCH)
            continue;
        if (rc < 0)
            return true; /* the classifier gives up on this cue too: stop here */
        if (c >= v->ncues || strcmp(v->cue[c].name, fx->name[j]) != 0)
            return false;
        c++;
    }
    return c == v->ncues;
}

/* one_pattern - a library of one pattern; NULL when it is refused */
static struct sw_patterns *
one_pattern(const char *re, size_t n)
{
    struct sw_patterns *p = NULL;
    struct sw_buf cfg, err;
    config_t cf;
    size_t i;
    bool ok;

    sw_buf_init(&cfg, 4 * FZ_REGEX_MAX);
    sw_buf_init(&err, 4096);
    ok = sw_buf_adds(&cfg, "patterns = ( { name = \"f\"; class = \"reputation\"; match = \"");
    for (i = 0; ok && i < n; i++) {
        if ((unsigned char) re[i] < 0x20 || re[i] == 0x7f)
            ok = false; /* refused by the config reader anyway */
        else if (re[i] == '"' || re[i] == '\\')
            ok = sw_buf_addc(&cfg, '\\') && sw_buf_addc(&cfg, re[i]);
        else
            ok = sw_buf_addc(&cfg, re[i]);
    }
    ok = ok && sw_buf_adds(&cfg, "\"; } );\n");
    config_init(&cf);
    if (ok && config_read_string(&cf, cfg.data) == CONFIG_TRUE && (p = sw_patterns_new()) != NULL
        && (!sw_patterns_add_list(p, config_lookup(&cf, "patterns"), "fuzz", &err)
            || !sw_patterns_compile(p, &err))) {
        sw_patterns_free(p);
        p = NULL;
    }
    config_destroy(&cf);
    sw_buf_free(&cfg);
    sw_buf_free(&err);
    return p;
}

/* regex_mode - "REGEX\nTEXT": the prefilter must not change the answer */
static void
regex_mode(const char *in, size_t size)
{
    const char *nl = memchr(in, '\n', size), *text;
    pcre2_match_context *mc = NULL;
    pcre2_match_data *md = NULL;
    pcre2_code *code = NULL;
    struct sw_patterns *p;
    struct sw_verdict v;
    char re[FZ_REGEX_MAX + 1];
    size_t rlen, tlen;
    PCRE2_SIZE off;
    int rc;

    if (nl == NULL || (rlen = (size_t) (nl - in)) > FZ_REGEX_MAX)
        return;
    memcpy(re, in, rlen);
    re[rlen] = '\0';
    text = nl + 1;
    tlen = size - rlen - 1;
    if ((tlen >= 5 && memcmp(text, "host ", 5) == 0) || (p = one_pattern(re, rlen)) == NULL)
        return;
    sw_classify(p, text, tlen, &v);
    if (tlen > SW_CLASSIFY_MAX_TEXT)
        tlen = SW_CLASSIFY_MAX_TEXT;
    code = pcre2_compile((PCRE2_SPTR) re, rlen, FZ_OPTIONS, &rc, &off, NULL);
    md = pcre2_match_data_create(1, NULL);
    mc = pcre2_match_context_create(NULL);
    if (code == NULL || md == NULL || mc == NULL)
        abort(); /* the library accepted it, so it compiles */
    (void) pcre2_set_match_limit(mc, FZ_LIMIT);
    rc = pcre2_match(code, (PCRE2_SPTR) text, tlen, 0, 0, md, mc);
    if ((rc >= 0 && v.name == NULL) || (rc == PCRE2_ERROR_NOMATCH && v.name != NULL))
        abort();
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    pcre2_code_free(code);
    sw_patterns_free(p);
}

/* LLVMFuzzerTestOneInput - one reply text */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct fixture *fx = fixture_get();
    const char *text = (const char *) data;
    struct sw_verdict v, again;
    size_t i, looked = size < SW_CLASSIFY_MAX_TEXT ? size : SW_CLASSIFY_MAX_TEXT;

    if (size > 0 && text[0] == '\0') {
        regex_mode(text + 1, size - 1);
        return 0;
    }
    sw_classify(fx->lib, text, size, &v);
    if (v.cls != SW_CLASS_OTHER && v.cls != SW_CLASS_REPUTATION && v.cls != SW_CLASS_THROTTLE)
        abort();
    if ((v.name == NULL) != (v.provider == NULL) || (v.name == NULL) != (v.note == NULL))
        abort();
    if (v.name == NULL && v.cls != SW_CLASS_OTHER)
        abort();
    if (v.name != NULL) {
        for (i = 0; i < fx->n && strcmp(fx->name[i], v.name) != 0; i++)
            ;
        if (i == fx->n || fx->cls[i] != v.cls)
            abort();
    }
    sw_classify(fx->lib, text, size, &again);
    if (!same(&v, &again))
        abort();
    if (size > SW_CLASSIFY_MAX_TEXT) {
        sw_classify(fx->lib, text, SW_CLASSIFY_MAX_TEXT, &again);
        if (!same(&v, &again))
            abort();
    }
    if (looked >= 5 && memcmp(text, "host ", 5) == 0)
        return 0;
    i = reference(fx, text, looked);
    if (i == SIZE_MAX)
        return 0;
    if (i == fx->n ? v.name != NULL : v.name == NULL || strcmp(v.name, fx->name[i]) != 0)
        abort();
    if (v.ncues != (v.name ? 1u : 0u))
        abort(); /* the mail path keeps only the winner */
    sw_classify_cues(fx->lib, text, size, &again);
    if (again.name != v.name || again.cls != v.cls || !cues_ok(fx, &again, i, text, looked))
        abort();
    return 0;
}
