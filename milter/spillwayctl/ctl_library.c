/* ctl_library.c - spillwayctl classify and patterns: the pattern library
 * without the daemon */

/*
 * Both verbs read the library as the daemons would: the operator's
 * patterns from -c FILE (or the default configuration when it exists),
 * else the library file alone (--patterns FILE, or the shipped one).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "global/classify.h"
#include "global/conf.h"
#include "ctl_library.h"
#include "util/buf.h"

/* library - load it; NULL after printing why.  *c or *own is set (free both) */
static const struct sw_patterns *
library(const struct ctl_library_args *a, struct sw_conf **c, struct sw_patterns **own)
{
    struct sw_buf err;
    const struct sw_patterns *p = NULL;
    const char *conf;
    size_t i;
    bool ok, lib_only = false;

    *c = NULL;
    *own = NULL;
    sw_buf_init(&err, 65536);
    if (a->npatterns == 0 && (a->conf || access(a->default_conf, R_OK) == 0)) {
        conf = a->conf ? a->conf : a->default_conf;
        if ((*c = sw_conf_load(conf, &err)) != NULL) {
            p = (*c)->patterns;
        } else {
            /* A fresh install's configuration may not validate yet (a
             * user not created, a relay not filled in): its pattern
             * library still answers, and the operator is told why. */
            (void) fprintf(stderr, "spillwayctl: %s does not validate (%.*s): its pattern library "
                                   "alone is used\n",
                           conf, (int) strcspn(sw_buf_str(&err), "\n"), sw_buf_str(&err));
            sw_buf_reset(&err);
            p = *own = sw_conf_load_patterns(conf, &err);
        }
    } else {
        lib_only = true;
    }
    if (lib_only && (*own = sw_patterns_new()) != NULL) {
        ok = sw_patterns_load_file(*own, a->npatterns ? a->patterns[0] : a->default_patterns, &err);
        for (i = 1; ok && i < a->npatterns; i++)
            ok = sw_patterns_load_file(*own, a->patterns[i], &err);
        if (ok && sw_patterns_compile(*own, &err))
            p = *own;
    }
    if (p == NULL)
        (void) fprintf(stderr, "spillwayctl: %s\n", err.len ? sw_buf_str(&err) : "out of memory");
    sw_buf_free(&err);
    return p;
}

/* cue_words - the words cue i matched, cut to fit snip */
static const char *
cue_words(const struct sw_verdict *v, size_t i, const char *text, char *snip, size_t size)
{
    (void) snprintf(snip, size, "%.*s", (int) v->cue[i].len, text + v->cue[i].off);
    return snip;
}

/* cues_json - "cues":[{"pattern":..,"text":..},...] */
static void
cues_json(struct sw_buf *out, const struct sw_verdict *v, const char *text)
{
    size_t i;
    char snip[256];

    sw_buf_adds(out, ",\"cues\":[");
    for (i = 0; i < v->ncues; i++) {
        sw_buf_adds(out, i ? ",{\"pattern\":" : "{\"pattern\":");
        sw_buf_add_json(out, v->cue[i].name);
        sw_buf_adds(out, ",\"text\":");
        sw_buf_add_json(out, cue_words(v, i, text, snip, sizeof(snip)));
        sw_buf_addc(out, '}');
    }
    sw_buf_addc(out, ']');
}

/* cues_text - cues:     ip-blocked "IP is blocked", missing-ptr "5.7.25" */
static void
cues_text(struct sw_buf *out, const struct sw_verdict *v, const char *text)
{
    size_t i;
    char snip[256];

    sw_buf_adds(out, "cues:    ");
    for (i = 0; i < v->ncues; i++) {
        sw_buf_printf(out, "%s %s \"", i ? "," : "", v->cue[i].name);
        sw_buf_add_escaped(out, cue_words(v, i, text, snip, sizeof(snip)), 120);
        sw_buf_addc(out, '"');
    }
    sw_buf_addc(out, '\n');
}

/* ctl_classify - the verdict on one reply; 0, or 2 when the library is bad */
int
ctl_classify(const struct ctl_library_args *a, const char *text)
{
    const struct sw_patterns *p;
    struct sw_patterns *own;
    struct sw_conf *c;
    struct sw_verdict v;
    struct sw_buf out;

    if ((p = library(a, &c, &own)) == NULL)
        return 2;
    sw_classify_cues(p, text, strlen(text), &v);
    sw_buf_init(&out, 8192);
    if (a->json) {
        sw_buf_printf(&out, "{\"class\":\"%s\",\"tier\":\"%s\",\"pattern\":", sw_class_name(v.cls),
                      sw_tier_name(v.tier));
        sw_buf_add_json(&out, v.name ? v.name : "");
        sw_buf_adds(&out, ",\"provider\":");
        sw_buf_add_json(&out, v.provider ? v.provider : "");
        sw_buf_adds(&out, ",\"note\":");
        sw_buf_add_json(&out, v.note ? v.note : "");
        cues_json(&out, &v, text);
        sw_buf_adds(&out, "}\n");
    } else {
        sw_buf_printf(&out, "class:    %s\ntier:     %s\n", sw_class_name(v.cls),
                      sw_tier_name(v.tier));
        if (v.name) {
            sw_buf_printf(&out, "pattern:  %s\nprovider: %s\nnote:     ", v.name,
                          v.provider ? v.provider : "-");
            sw_buf_add_escaped(&out, v.note ? v.note : "-", 400);
            sw_buf_addc(&out, '\n');
            cues_text(&out, &v, text);
        } else {
            sw_buf_adds(&out, "pattern:  (none matched: other, which never diverts)\n");
        }
    }
    (void) fputs(sw_buf_str(&out), stdout);
    sw_buf_free(&out);
    sw_patterns_free(own);
    sw_conf_free(c);
    return 0;
}

/* ctl_patterns - the library in evaluation order, one pattern a line */
int
ctl_patterns(const struct ctl_library_args *a)
{
    const struct sw_patterns *p;
    struct sw_patterns *own;
    struct sw_conf *c;
    const char *name, *provider;
    struct sw_buf out;
    unsigned cls;
    size_t i;

    if ((p = library(a, &c, &own)) == NULL)
        return 2;
    sw_buf_init(&out, 1 << 20);
    if (!a->json)
        sw_buf_printf(&out, "%-4s %-10s %-8s %-32s %s\n", "#", "class", "tier", "name", "provider");
    for (i = 0; sw_patterns_get(p, i, &name, &cls, NULL, &provider, NULL); i++) {
        if (a->json) {
            sw_buf_printf(&out, "{\"order\":%zu,\"class\":\"%s\",\"tier\":\"%s\",\"name\":", i + 1,
                          sw_class_name(cls), sw_tier_name(sw_patterns_tier(p, i)));
            sw_buf_add_json(&out, name);
            sw_buf_adds(&out, ",\"provider\":");
            sw_buf_add_json(&out, provider);
            sw_buf_adds(&out, "}\n");
        } else {
            sw_buf_printf(&out, "%-4zu %-10s %-8s %-32s ", i + 1, sw_class_name(cls),
                          sw_tier_name(sw_patterns_tier(p, i)), name);
            sw_buf_add_escaped(&out, provider, 80);
            sw_buf_addc(&out, '\n');
        }
    }
    (void) fputs(sw_buf_str(&out), stdout);
    sw_buf_free(&out);
    sw_patterns_free(own);
    sw_conf_free(c);
    return 0;
}
