/* classify.c - SMTP reply classification: reputation, throttle or other */

/*
 * Owns the pattern library (its strings, compiled expressions and literal
 * prefilter) and the one decision of DESIGN.md section 3 that depends on
 * reply wording.
 *
 * Evaluation order (classify.h): four groups, by class and tier: the
 * exclusions of the provider tier, those of the general tier, the
 * diverting patterns of the provider tier, those of the general tier.
 * The first pattern in that order that matches anywhere in the text wins,
 * which is also what a Postfix pcre table rendered in that order decides.
 * sw_classify_cues() then tries the rest of the winner's group too, for
 * the cues only; the mail path (sw_classify()) stops at the winner.
 *
 * Cost.  Trying ~80 JIT expressions one after another costs a scan each;
 * one big alternation is worse, since PCRE2 tries every alternative at
 * every position (BENCHMARKS.md, "Classifier speed").  So each pattern is
 * split at its top-level '|' into branches, and from each branch a set of
 * literals is extracted such that every match contains one of them
 * (case-folded): "\bblocked using\b" needs "blocked using";
 * "(?:zen|sbl)\.spamhaus\.org" needs ".spamhaus.org".  A call lower-cases
 * the text once, finds all the literals in one pass (a bitmap of hashed
 * three-byte prefixes rules out almost every position, a small hash
 * table holds the candidates), and runs only the branches whose literals
 * occur, in evaluation order, stopping at the first match.  A branch the
 * extractor does not understand has no literals and always runs, so the
 * prefilter can only save work, never change an answer (the unit tests,
 * the benchmark and the fuzz target check that against plain sequential
 * evaluation).
 *
 * The work of one expression is capped (SW_CLASSIFY_MATCH_LIMIT) so an
 * operator's pattern with catastrophic backtracking cannot stall a mail
 * thread: hitting the cap yields "other", which never diverts.
 *
 * Threads.  After sw_patterns_compile() nothing here is written: the
 * compiled code, its JIT code and the match context are shared read-only.
 * Each call keeps its scratch (folded text, bitmaps, PCRE2 match data) on
 * its own stack; the match data comes from a PCRE2 general context whose
 * allocator hands out a stack array (malloc only for the interpreter's
 * frames when JIT is not available), so the mail path takes no lock,
 * calls no malloc, and a libmilter thread that exits leaves nothing.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <pcre2.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "global/classify.h"
#include "global/conf_get.h"

/* Compile options of every expression.  Postfix pcre tables default to
 * case-insensitive matching too; no UTF-8 mode, so any bytes are valid. */
#define SW_RE_OPTIONS           (PCRE2_CASELESS | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP)

/* Work cap of one expression on one text (JIT: backtracking steps). */
#define SW_CLASSIFY_MATCH_LIMIT 1000000u

/* Per-call PCRE2 objects (general context, match data) on the stack. */
#define SW_CLASSIFY_ARENA       512

/* A "host NAME[ADDR] said: " prefix is looked for in this many bytes. */
#define SW_CLASSIFY_MAX_PREFIX  320

/* Prefilter limits: they bound build time and the per-call bitmaps. */
#define SW_BRANCHES_MAX         4096 /* branches of all patterns */
#define SW_BRANCH_SPLIT         64   /* patterns with more top-level branches stay whole */
#define SW_ATOMS_MAX            4096 /* distinct literals */
#define SW_ATOM_SET             16   /* literals one branch may need (any of) */
#define SW_ATOM_LEN             24   /* longer literals are cut (a prefix is required too) */
#define SW_ATOM_BUCKETS         1024 /* literals by hash of their first three bytes */
#define SW_TRI_BITS             16   /* bitmap of hashed first three bytes */
#define SW_EXTRACT_DEPTH        32   /* group nesting the extractor follows */
#define SW_WORDS(n)             (((n) + 63) / 64)

/* A literal in a bucket, with the key that put it there. */
struct atom_ref {
    uint32_t key; /* first 3 (or 2) folded bytes */
    uint32_t atom;
};

struct branch {
    pcre2_code *code;
    size_t pattern; /* index into v */
    bool jit;
};

struct pattern {
    char *name;
    char *regex;
    char *provider;
    char *note;
    unsigned cls;
    unsigned tier;
    int line;
};

struct sw_patterns {
    struct pattern *v; /* library order */
    size_t n;
    bool compiled;
    /* Built by sw_patterns_compile(). */
    struct branch *br; /* evaluation order */
    size_t nbr;
    pcre2_match_context *mctx;
    uint64_t always[SW_WORDS(SW_BRANCHES_MAX)]; /* branches without literals */
    uint8_t tri[(1u << SW_TRI_BITS) / 8];       /* hashed first 3 bytes of some literal */
    uint8_t pair[65536 / 8];                    /* the 2 bytes of some 2-byte literal */
    char *atom_text;                            /* literals, NUL-separated */
    uint32_t *atom_off;                         /* offset of each literal */
    uint8_t *atom_len;
    size_t natoms;
    uint32_t bucket[SW_ATOM_BUCKETS + 2]; /* bucket_atom[b[i]..b[i+1]); the last: 2-byte ones */
    struct atom_ref *bucket_atom;
    uint32_t *user_start; /* branches that need literal a: user[s[a]..s[a+1]) */
    uint32_t *user;
};

/* sw_class_name - class word for logs and config */
const char *
sw_class_name(unsigned cls)
{
    switch (cls) {
    case SW_CLASS_OTHER: return "other";
    case SW_CLASS_REPUTATION: return "reputation";
    case SW_CLASS_THROTTLE: return "throttle";
    default: return "unknown";
    }
}

/* sw_tier_name - tier word for output and config */
const char *
sw_tier_name(unsigned tier)
{
    return tier == SW_TIER_GENERAL ? "general" : "provider";
}

/* group - evaluation group of a pattern (classify.h): 0 to 3 */
static unsigned
group(const struct pattern *pt)
{
    return (pt->cls == SW_CLASS_OTHER ? 0u : 2u) + (pt->tier == SW_TIER_GENERAL ? 1u : 0u);
}

#define SW_GROUPS 4

/* sw_class_parse - class word to value */
bool
sw_class_parse(const char *s, unsigned *cls)
{
    if (strcmp(s, "reputation") == 0)
        *cls = SW_CLASS_REPUTATION;
    else if (strcmp(s, "throttle") == 0)
        *cls = SW_CLASS_THROTTLE;
    else if (strcmp(s, "other") == 0)
        *cls = SW_CLASS_OTHER;
    else
        return false;
    return true;
}

/* sw_patterns_new - an empty library */
struct sw_patterns *
sw_patterns_new(void)
{
    return calloc(1, sizeof(struct sw_patterns));
}

/* pattern_free - release one pattern's strings */
static void
pattern_free(struct pattern *pt)
{
    free(pt->name);
    free(pt->regex);
    free(pt->provider);
    free(pt->note);
    memset(pt, 0, sizeof(*pt));
}

/* matcher_free - release what sw_patterns_compile() built */
static void
matcher_free(struct sw_patterns *p)
{
    size_t i;

    for (i = 0; i < p->nbr; i++)
        pcre2_code_free(p->br[i].code);
    free(p->br);
    pcre2_match_context_free(p->mctx);
    free(p->atom_text);
    free(p->atom_off);
    free(p->atom_len);
    free(p->bucket_atom);
    free(p->user_start);
    free(p->user);
    p->br = NULL;
    p->nbr = 0;
    p->mctx = NULL;
    p->atom_text = NULL;
    p->atom_off = NULL;
    p->atom_len = NULL;
    p->bucket_atom = NULL;
    p->user_start = NULL;
    p->user = NULL;
    p->natoms = 0;
}

/* sw_patterns_free - release the library */
void
sw_patterns_free(struct sw_patterns *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->n; i++)
        pattern_free(&p->v[i]);
    free(p->v);
    matcher_free(p);
    free(p);
}

/* lower - ASCII case folding, locale-free */
static unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char) (c + 'a' - 'A') : c;
}

/* is_alnum - ASCII letter or digit, locale-free */
static bool
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* valid_name - [A-Za-z0-9._-], bounded */
static bool
valid_name(const char *s)
{
    size_t n = 0;

    for (; *s; s++, n++)
        if (!is_alnum(*s) && *s != '.' && *s != '_' && *s != '-')
            return false;
    return n > 0 && n <= SW_PATTERN_NAME_MAX;
}

/*
 * Literal extraction.  A light recursive-descent reader of the PCRE2
 * syntax the library uses; whatever it does not know makes it give up
 * (bad), and the branch then always runs.  For each sequence it keeps the
 * best requirement seen: a literal run ("blocked using"), or the set of
 * requirements of a group's alternatives.  Optional items (?, *, {0,n})
 * and lookarounds require nothing; zero-width assertions (\b, ^) do not
 * break a run since they consume nothing.
 */
struct req {
    bool none; /* no literal is required */
    size_t n;
    char s[SW_ATOM_SET][SW_ATOM_LEN + 1];
};

struct rx {
    const char *p;
    bool bad;     /* unknown syntax: no prefilter for this branch */
    bool top_opt; /* an option setting at the top level: do not split */
    int depth;
    size_t nsplit; /* top-level '|' seen */
    const char *split[SW_BRANCH_SPLIT];
};

/* req_minlen - length of the shortest required literal (0: none) */
static size_t
req_minlen(const struct req *r)
{
    size_t i, m = SIZE_MAX;

    if (r->none || r->n == 0)
        return 0;
    for (i = 0; i < r->n; i++)
        if (strlen(r->s[i]) < m)
            m = strlen(r->s[i]);
    return m;
}

/* req_better - longer shortest literal first, then fewer literals */
static bool
req_better(const struct req *a, const struct req *b)
{
    size_t la = req_minlen(a), lb = req_minlen(b);

    return la > lb || (la == lb && la > 0 && a->n < b->n);
}

/* req_union - either requirement will do (alternation) */
static void
req_union(struct req *a, const struct req *b)
{
    size_t i, j;

    if (a->none || b->none) {
        a->none = true;
        return;
    }
    for (i = 0; i < b->n; i++) {
        for (j = 0; j < a->n && strcmp(a->s[j], b->s[i]) != 0; j++)
            ;
        if (j < a->n)
            continue;
        if (a->n == SW_ATOM_SET) {
            a->none = true;
            return;
        }
        memcpy(a->s[a->n++], b->s[i], sizeof(b->s[i]));
    }
}

/* run_flush - a literal run is a requirement; keep it if it is better */
static void
run_flush(struct req *best, char *run, size_t *rlen)
{
    size_t len = *rlen, min = req_minlen(best);

    if (len == 0)
        return;
    run[len] = '\0';
    *rlen = 0;
    /* The same rule as req_better(), for a one-literal set. */
    if (best->none || len > min || (len == min && best->n > 1)) {
        best->none = false;
        best->n = 1;
        memcpy(best->s[0], run, len + 1);
    }
}

/* run_add - one literal byte */
static void
run_add(struct req *best, char *run, size_t *rlen, char c)
{
    if (c == '\0') {
        run_flush(best, run, rlen); /* atoms are C strings */
        return;
    }
    run[(*rlen)++] = (char) lower((unsigned char) c);
    if (*rlen == SW_ATOM_LEN)
        run_flush(best, run, rlen);
}

/* quantifier - consume one; *min is its lower bound; false when none */
static bool
quantifier(struct rx *x, unsigned long *min)
{
    const char *q = x->p;
    char *end;

    if (*q == '*' || *q == '?') {
        *min = 0;
        q++;
    } else if (*q == '+') {
        *min = 1;
        q++;
    } else if (*q == '{') {
        if (!(q[1] >= '0' && q[1] <= '9')) {
            x->bad = true; /* "{,n}" and a literal '{' differ between versions */
            return false;
        }
        *min = strtoul(q + 1, &end, 10);
        if (*end == ',')
            for (end++; *end >= '0' && *end <= '9'; end++)
                ;
        if (*end != '}') {
            x->bad = true;
            return false;
        }
        q = end + 1;
    } else {
        return false;
    }
    if (*q == '?' || *q == '+')
        q++; /* lazy or possessive */
    x->p = q;
    return true;
}

/* skip_class - past a [...] character class */
static void
skip_class(struct rx *x)
{
    const char *s = x->p + 1, *o;

    if (*s == '^')
        s++;
    if (*s == ']')
        s++;
    for (; *s && *s != ']'; s++) {
        if (*s == '\\' && s[1] == 'Q') {
            x->bad = true; /* quoting inside a class: not worth reading */
            return;
        }
        if (*s == '\\' && s[1] != '\0')
            s++;
        else if (*s == '[' && s[1] == ':' && (o = strstr(s + 2, ":]")) != NULL)
            s = o + 1;
    }
    if (*s != ']') {
        x->bad = true;
        return;
    }
    x->p = s + 1;
}

static void extract_alt(struct rx *x, struct req *out);

/* extract_group - after '(': the group's requirement, or none */
static void
extract_group(struct rx *x, struct req *out)
{
    const char *s = x->p + 1, *o;
    bool zero_width = false, opt_x = false;

    out->none = true;
    out->n = 0;
    if (*s == '*') {
        x->bad = true;
        return;
    }
    if (*s == '?') {
        s++;
        if (*s == ':' || *s == '>' || *s == '|') {
            s++;
        } else if (*s == '=' || *s == '!') {
            s++;
            zero_width = true;
        } else if (*s == '<' && (s[1] == '=' || s[1] == '!')) {
            s += 2;
            zero_width = true;
        } else if (*s == '#') {
            if ((o = strchr(s, ')')) == NULL) {
                x->bad = true;
                return;
            }
            x->p = o + 1;
            return;
        } else if (*s == '<' || *s == '\'' || (*s == 'P' && s[1] == '<')) {
            if ((o = strpbrk(s + 1, ">'")) == NULL) {
                x->bad = true;
                return;
            }
            s = o + 1; /* named group */
        } else {
            /* PCRE2 option letters; anything else after "(?" is a
             * recursion, callout, conditional or reference. */
            for (o = s; *o && strchr("imnsxUJ-^", *o) != NULL; o++)
                opt_x = opt_x || *o == 'x';
            if (opt_x || o == s || (*o != ')' && *o != ':')) {
                x->bad = true;
                return;
            }
            if (*o == ')') {
                /* An option setting: it also reaches later top-level
                 * branches, so they must not be compiled apart. */
                if (x->depth == 0)
                    x->top_opt = true;
                x->p = o + 1;
                return;
            }
            s = o + 1;
        }
    }
    x->p = s;
    if (++x->depth > SW_EXTRACT_DEPTH) {
        x->bad = true;
        return;
    }
    extract_alt(x, out);
    x->depth--;
    if (x->bad || *x->p != ')') {
        x->bad = true;
        return;
    }
    x->p++;
    if (zero_width) {
        out->none = true;
        out->n = 0;
    }
}

/* extract_seq - one alternative: the best requirement among its items */
static void
extract_seq(struct rx *x, struct req *best)
{
    char run[SW_ATOM_LEN + 1], c;
    struct req *sub;
    unsigned long min;
    size_t rlen = 0;
    const char *e;

    best->none = true;
    best->n = 0;
    while (!x->bad && *x->p && *x->p != '|' && *x->p != ')') {
        c = *x->p;
        if (c == '(') {
            run_flush(best, run, &rlen);
            if ((sub = malloc(sizeof(*sub))) == NULL) {
                x->bad = true;
                break;
            }
            extract_group(x, sub);
            if (!x->bad && quantifier(x, &min) && min == 0)
                sub->none = true;
            if (!x->bad && req_better(sub, best))
                *best = *sub;
            free(sub);
            continue;
        }
        if (c == '[' || c == '.') {
            run_flush(best, run, &rlen);
            if (c == '[')
                skip_class(x);
            else
                x->p++;
            (void) quantifier(x, &min);
            continue;
        }
        if (c == '^' || c == '$') {
            x->p++;
            continue;
        }
        if (c == '*' || c == '+' || c == '?' || c == '{') {
            x->bad = true; /* a quantifier without an item */
            break;
        }
        if (c == '\\') {
            e = x->p + 1;
            if (*e == 'Q') {
                for (e++; *e && !(e[0] == '\\' && e[1] == 'E'); e++)
                    run_add(best, run, &rlen, *e);
                x->p = *e ? e + 2 : e;
                if (*x->p == '*' || *x->p == '+' || *x->p == '?' || *x->p == '{')
                    x->bad = true;
                continue;
            }
            if (*e && strchr("bBAzZGKE", *e)) {
                x->p += 2; /* zero width */
                continue;
            }
            if (*e && strchr("dDwWsShHvVNR", *e)) {
                run_flush(best, run, &rlen);
                x->p += 2;
                (void) quantifier(x, &min);
                continue;
            }
            switch (*e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'f': c = '\f'; break;
            case 'a': c = '\a'; break;
            case 'e': c = '\033'; break;
            default:
                if (*e == '\0' || is_alnum(*e)) {
                    x->bad = true; /* \x, octal, back-references, properties */
                    continue;
                }
                c = *e;
                break;
            }
            x->p += 2;
        } else {
            x->p++;
        }
        /* c is one literal byte; a quantifier may follow. */
        if (!quantifier(x, &min)) {
            run_add(best, run, &rlen, c);
        } else if (min == 0) {
            run_flush(best, run, &rlen);
        } else {
            run_add(best, run, &rlen, c);
            run_flush(best, run, &rlen);
        }
    }
    run_flush(best, run, &rlen);
}

/* extract_alt - alternatives: every one must supply a requirement */
static void
extract_alt(struct rx *x, struct req *out)
{
    struct req *next;

    extract_seq(x, out);
    while (!x->bad && *x->p == '|') {
        if (x->depth == 0) {
            if (x->nsplit < SW_BRANCH_SPLIT)
                x->split[x->nsplit] = x->p;
            x->nsplit++;
        }
        x->p++;
        if ((next = malloc(sizeof(*next))) == NULL) {
            x->bad = true;
            return;
        }
        extract_seq(x, next);
        req_union(out, next);
        free(next);
    }
}

/* check_regex - compile one pattern alone; false after recording why */
static bool
check_regex(struct sw_cfctx *cx, const config_setting_t *s, const char *path, const char *re)
{
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off;
    pcre2_code *code;
    uint32_t minlen = 0;
    int rc;

    if (strlen(re) > SW_PATTERN_REGEX_MAX) {
        sw_cf_error(cx, s, path, "longer than %d bytes", SW_PATTERN_REGEX_MAX);
        return false;
    }
    code = pcre2_compile((PCRE2_SPTR) re, PCRE2_ZERO_TERMINATED, SW_RE_OPTIONS, &rc, &off, NULL);
    if (code == NULL) {
        if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
            (void) snprintf((char *) msg, sizeof(msg), "error %d", rc);
        sw_cf_error(cx, s, path, "bad regular expression at offset %zu: %s", (size_t) off,
                    (const char *) msg);
        return false;
    }
    (void) pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &minlen);
    pcre2_code_free(code);
    if (minlen == 0) {
        sw_cf_error(cx, s, path, "can match an empty string (it would match every reply)");
        return false;
    }
    return true;
}

/* An element of a list being added, before it is applied. */
struct entry {
    struct pattern pt;
    bool enabled;
};

static const char *const pattern_keys[] = {
    "name", "class", "tier", "provider", "match", "note", "enabled", NULL,
};

/* parse_entry - one { ... } of a patterns list */
static void
parse_entry(struct sw_cfctx *cx, const config_setting_t *g, const char *path, struct entry *e)
{
    config_setting_t *m;
    char *cls = NULL, *tier = NULL, kp[96];
    const char *key;

    e->enabled = true;
    e->pt.line = (int) config_setting_source_line(g);
    sw_cf_check_keys(cx, g, path, pattern_keys);
    if (sw_cf_str(cx, g, path, "name", true, &e->pt.name) && e->pt.name
        && !valid_name(e->pt.name)) {
        (void) snprintf(kp, sizeof(kp), "%s.name", path);
        sw_cf_error(cx, config_setting_get_member(g, "name"), kp,
                    "\"%s\": use letters, digits, '.', '_' or '-' (at most %d)", e->pt.name,
                    SW_PATTERN_NAME_MAX);
    }
    (void) sw_cf_bool(cx, g, path, "enabled", &e->enabled);
    if (sw_cf_str(cx, g, path, "class", e->enabled, &cls) && cls
        && !sw_class_parse(cls, &e->pt.cls)) {
        (void) snprintf(kp, sizeof(kp), "%s.class", path);
        sw_cf_error(cx, config_setting_get_member(g, "class"), kp,
                    "\"%s\": must be \"reputation\", \"throttle\" or \"other\"", cls);
    }
    free(cls);
    if (sw_cf_str(cx, g, path, "tier", false, &tier) && tier) {
        if (strcmp(tier, "general") == 0)
            e->pt.tier = SW_TIER_GENERAL;
        else if (strcmp(tier, "provider") != 0) {
            (void) snprintf(kp, sizeof(kp), "%s.tier", path);
            sw_cf_error(cx, config_setting_get_member(g, "tier"), kp,
                        "\"%s\": must be \"provider\" or \"general\"", tier);
        }
    }
    free(tier);
    if (sw_cf_str(cx, g, path, "match", e->enabled, &e->pt.regex) && e->pt.regex) {
        (void) snprintf(kp, sizeof(kp), "%s.match", path);
        (void) check_regex(cx, config_setting_get_member(g, "match"), kp, e->pt.regex);
    }
    (void) sw_cf_str(cx, g, path, "provider", false, &e->pt.provider);
    (void) sw_cf_str(cx, g, path, "note", false, &e->pt.note);
    for (key = "provider"; key; key = strcmp(key, "provider") == 0 ? "note" : NULL) {
        m = config_setting_get_member(g, key);
        if (m && config_setting_type(m) == CONFIG_TYPE_STRING
            && strlen(config_setting_get_string(m)) > SW_PATTERN_TEXT_MAX) {
            (void) snprintf(kp, sizeof(kp), "%s.%s", path, key);
            sw_cf_error(cx, m, kp, "longer than %d bytes", SW_PATTERN_TEXT_MAX);
        }
    }
    if (e->pt.provider == NULL)
        e->pt.provider = strdup("local");
    if (e->pt.note == NULL)
        e->pt.note = strdup("");
    if (e->pt.provider == NULL || e->pt.note == NULL)
        sw_cf_error(cx, g, path, "out of memory");
}

/* find - index of a name in the library, or n */
static size_t
find(const struct sw_patterns *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->n; i++)
        if (strcmp(p->v[i].name, name) == 0)
            return i;
    return p->n;
}

/*
 * apply - merge validated entries into the library
 *
 * Replacements and removals happen in place; the new names are then
 * inserted, in list order, before every older pattern.  Fails (changing
 * nothing) only for memory or the library size limit.
 */
static bool
apply(struct sw_patterns *p, struct entry *e, size_t ne)
{
    struct pattern *v;
    size_t i, j, nnew = 0, k = 0;

    for (i = 0; i < ne; i++)
        if (e[i].enabled && find(p, e[i].pt.name) == p->n)
            nnew++;
    if (p->n + nnew > SW_PATTERNS_MAX)
        return false;
    if ((v = calloc(p->n + nnew ? p->n + nnew : 1, sizeof(*v))) == NULL)
        return false;
    for (i = 0; i < ne; i++)
        if (e[i].enabled && find(p, e[i].pt.name) == p->n) {
            v[k++] = e[i].pt;
            memset(&e[i].pt, 0, sizeof(e[i].pt));
        }
    for (j = 0; j < p->n; j++) {
        for (i = 0; i < ne; i++)
            if (e[i].pt.name && strcmp(e[i].pt.name, p->v[j].name) == 0)
                break;
        if (i == ne) {
            v[k++] = p->v[j];
            continue;
        }
        pattern_free(&p->v[j]);
        if (e[i].enabled) {
            v[k++] = e[i].pt;
            memset(&e[i].pt, 0, sizeof(e[i].pt));
        }
    }
    free(p->v);
    p->v = v;
    p->n = k;
    return true;
}

/* sw_patterns_add_list - validate a list, then merge it */
bool
sw_patterns_add_list(struct sw_patterns *p, const config_setting_t *list, const char *file,
                     struct sw_buf *err)
{
    struct sw_cfctx cx = { file ? file : "patterns", err, 0 };
    struct entry *e = NULL;
    config_setting_t *g;
    char path[48];
    size_t i, j, n = 0;
    bool ok = false;

    if (p->compiled) {
        sw_cf_error(&cx, list, "patterns", "the library is already compiled");
        return false;
    }
    if (list == NULL) {
        sw_cf_error(&cx, NULL, "patterns", "missing (required)");
        return false;
    }
    if (config_setting_type(list) != CONFIG_TYPE_LIST) {
        sw_cf_error(&cx, list, "patterns", "must be a list ( { ... }, { ... } )");
        return false;
    }
    n = (size_t) config_setting_length(list);
    if (n > SW_PATTERNS_MAX) {
        sw_cf_error(&cx, list, "patterns", "more than %d patterns", SW_PATTERNS_MAX);
        return false;
    }
    if (n && (e = calloc(n, sizeof(*e))) == NULL) {
        sw_cf_error(&cx, list, "patterns", "out of memory");
        return false;
    }
    for (i = 0; i < n; i++) {
        g = config_setting_get_elem(list, (unsigned) i);
        (void) snprintf(path, sizeof(path), "patterns[%zu]", i);
        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            sw_cf_error(&cx, g, path, "must be a group { ... }");
            continue;
        }
        parse_entry(&cx, g, path, &e[i]);
        for (j = 0; e[i].pt.name && j < i; j++)
            if (e[j].pt.name && strcmp(e[i].pt.name, e[j].pt.name) == 0) {
                sw_cf_error(&cx, g, path, "pattern \"%s\" already defined at line %d", e[i].pt.name,
                            e[j].pt.line);
                break;
            }
    }
    if (cx.nerrors > SW_CONF_MAX_ERRORS)
        sw_buf_printf(err, "\n%s: %d more errors not shown", cx.file,
                      cx.nerrors - SW_CONF_MAX_ERRORS);
    if (cx.nerrors == 0 && !(ok = apply(p, e, n)))
        sw_cf_error(&cx, list, "patterns", "out of memory, or more than %d patterns in all",
                    SW_PATTERNS_MAX);
    for (i = 0; i < n; i++)
        pattern_free(&e[i].pt);
    free(e);
    return ok;
}

/* sw_patterns_load_file - read "patterns = ( ... );" from a file */
bool
sw_patterns_load_file(struct sw_patterns *p, const char *path, struct sw_buf *err)
{
    static const char *const top_keys[] = { "patterns", NULL };
    struct sw_cfctx cx = { path, err, 0 };
    config_setting_t *list;
    config_t cf;
    FILE *fp;
    bool ok = false;

    /* Open it ourselves: libconfig reports a missing file as a syntax
     * error at line 0, which would mislead the operator. */
    if ((fp = fopen(path, "r")) == NULL) {
        sw_buf_printf(err, "%s%s: %s", err->len ? "\n" : "", path, strerror(errno));
        return false;
    }
    config_init(&cf);
    if (config_read(&cf, fp) != CONFIG_TRUE) {
        sw_buf_printf(err, "%s%s:%d: syntax: %s", err->len ? "\n" : "",
                      config_error_file(&cf) ? config_error_file(&cf) : path,
                      config_error_line(&cf), config_error_text(&cf));
        goto done;
    }
    sw_cf_check_keys(&cx, config_root_setting(&cf), "", top_keys);
    if ((list = config_lookup(&cf, "patterns")) == NULL)
        sw_cf_error(&cx, config_root_setting(&cf), "patterns", "missing (required)");
    if (cx.nerrors == 0)
        ok = sw_patterns_add_list(p, list, path, err);
done:
    (void) fclose(fp);
    config_destroy(&cf);
    return ok;
}

/* Literals of the branches while the prefilter is built. */
struct build {
    struct req *need; /* per branch; none: always runs */
    char **atom;
    size_t natoms;
};

/* atom_id - index of a literal, added if new; SIZE_MAX when full */
static size_t
atom_id(struct build *b, const char *s)
{
    size_t i;

    for (i = 0; i < b->natoms; i++)
        if (strcmp(b->atom[i], s) == 0)
            return i;
    if (b->natoms == SW_ATOMS_MAX || (b->atom[b->natoms] = strdup(s)) == NULL)
        return SIZE_MAX;
    return b->natoms++;
}

/*
 * Literal lookup keys.  Most literals are 3 bytes or longer and are found
 * by their first three bytes: a hashed bitmap answers "no literal starts
 * here" for almost every position of ordinary text, and a bucket of the
 * same hash holds the candidates.  The few 2-byte literals ("BL", "TS")
 * have a bitmap of their own and one extra bucket.
 */

/* tri_key - three folded bytes */
static uint32_t
tri_key(const unsigned char *s)
{
    return (uint32_t) s[0] | (uint32_t) s[1] << 8 | (uint32_t) s[2] << 16;
}

/* pair_key - two folded bytes */
static uint32_t
pair_key(const unsigned char *s)
{
    return (uint32_t) s[0] | (uint32_t) s[1] << 8;
}

/* tri_hash - SW_TRI_BITS bits of a three-byte key */
static uint32_t
tri_hash(uint32_t key)
{
    return (key * 2654435761u) >> (32 - SW_TRI_BITS);
}

/* atom_bucket - the bucket of a literal */
static uint32_t
atom_bucket(const unsigned char *s, size_t len)
{
    return len == 2 ? SW_ATOM_BUCKETS : tri_hash(tri_key(s)) % SW_ATOM_BUCKETS;
}

/* add_branch - compile one branch and record what it needs */
static bool
add_branch(struct sw_patterns *p, struct build *b, size_t pat, const char *re, size_t len,
           const struct req *need, struct sw_buf *err)
{
    struct branch *br;
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off;
    int rc;

    if (p->nbr == SW_BRANCHES_MAX) {
        sw_buf_printf(err, "patterns: more than %d branches in all", SW_BRANCHES_MAX);
        return false;
    }
    br = &p->br[p->nbr];
    br->pattern = pat;
    br->code = pcre2_compile((PCRE2_SPTR) re, len, SW_RE_OPTIONS, &rc, &off, NULL);
    if (br->code == NULL) {
        (void) pcre2_get_error_message(rc, msg, sizeof(msg));
        sw_buf_printf(err, "patterns: %s: cannot compile a branch: %s", p->v[pat].name,
                      (const char *) msg);
        return false;
    }
    /* Without JIT (a platform without it, or no executable memory) the
     * interpreter gives the same answers, more slowly. */
    br->jit = pcre2_jit_compile(br->code, PCRE2_JIT_COMPLETE) == 0;
    b->need[p->nbr] = *need;
    if (req_minlen(need) < 2)
        b->need[p->nbr].none = true; /* one byte filters nothing */
    p->nbr++;
    return true;
}

/* split_pattern - compile a pattern as its top-level branches, or whole */
static bool
split_pattern(struct sw_patterns *p, struct build *b, size_t pat, struct sw_buf *err)
{
    const char *re = p->v[pat].regex, *start, *end;
    struct rx *x = calloc(1, sizeof(*x)), *y = calloc(1, sizeof(*y));
    struct req *need = malloc(sizeof(*need));
    char *sub = NULL;
    size_t i;
    bool ok = false;

    if (x == NULL || y == NULL || need == NULL) {
        sw_buf_adds(err, "patterns: out of memory");
        goto done;
    }
    x->p = re;
    extract_alt(x, need);
    if (x->bad || *x->p != '\0') {
        need->none = true;
        ok = add_branch(p, b, pat, re, strlen(re), need, err);
        goto done;
    }
    if (x->nsplit == 0 || x->nsplit > SW_BRANCH_SPLIT || x->top_opt) {
        ok = add_branch(p, b, pat, re, strlen(re), need, err);
        goto done;
    }
    /* A|B matches somewhere iff A or B does: compile each alone, with
     * its own literals, so a branch runs only when its words occur. */
    for (i = 0; i <= x->nsplit; i++) {
        start = i == 0 ? re : x->split[i - 1] + 1;
        end = i == x->nsplit ? re + strlen(re) : x->split[i];
        if ((sub = strndup(start, (size_t) (end - start))) == NULL) {
            sw_buf_adds(err, "patterns: out of memory");
            goto done;
        }
        memset(y, 0, sizeof(*y));
        y->p = sub;
        extract_alt(y, need);
        if (y->bad || *y->p != '\0')
            need->none = true;
        ok = add_branch(p, b, pat, sub, strlen(sub), need, err);
        free(sub);
        sub = NULL;
        if (!ok)
            goto done;
    }
    ok = true;
done:
    free(x);
    free(y);
    free(need);
    return ok;
}

/* build_prefilter - literal tables from the branches' requirements */
static bool
build_prefilter(struct sw_patterns *p, struct build *b)
{
    uint32_t *cursor = NULL, count[SW_ATOM_BUCKETS + 1];
    size_t i, j, a, k, len = 0;
    unsigned key;

    /* Give every needed literal an id; a branch whose literals do not
     * all fit always runs. */
    for (i = 0; i < p->nbr; i++) {
        for (j = 0; !b->need[i].none && j < b->need[i].n; j++)
            if (atom_id(b, b->need[i].s[j]) == SIZE_MAX)
                b->need[i].none = true;
        if (b->need[i].none)
            p->always[i / 64] |= (uint64_t) 1 << (i % 64);
    }
    p->natoms = b->natoms;
    for (a = 0; a < b->natoms; a++)
        len += strlen(b->atom[a]) + 1;
    p->atom_text = malloc(len + 1);
    p->atom_off = calloc(b->natoms + 1, sizeof(*p->atom_off));
    p->atom_len = calloc(b->natoms + 1, sizeof(*p->atom_len));
    p->bucket_atom = calloc(b->natoms + 1, sizeof(*p->bucket_atom));
    p->user_start = calloc(b->natoms + 1, sizeof(*p->user_start));
    cursor = calloc(b->natoms + 1, sizeof(*cursor));
    if (!p->atom_text || !p->atom_off || !p->atom_len || !p->bucket_atom || !p->user_start
        || !cursor) {
        free(cursor);
        return false;
    }
    /* The literals, and which first bytes start one. */
    memset(count, 0, sizeof(count));
    for (a = 0, k = 0; a < b->natoms; a++) {
        const unsigned char *u = (const unsigned char *) b->atom[a];

        p->atom_off[a] = (uint32_t) k;
        p->atom_len[a] = (uint8_t) strlen(b->atom[a]);
        memcpy(p->atom_text + k, b->atom[a], p->atom_len[a] + 1u);
        k += p->atom_len[a] + 1u;
        if (p->atom_len[a] == 2) {
            key = pair_key(u);
            p->pair[key / 8] |= (uint8_t) (1u << (key % 8));
        } else {
            key = tri_hash(tri_key(u));
            p->tri[key / 8] |= (uint8_t) (1u << (key % 8));
        }
        count[atom_bucket(u, p->atom_len[a])]++;
    }
    /* Literals grouped by bucket (a counting sort). */
    for (i = 0, k = 0; i <= SW_ATOM_BUCKETS; i++) {
        p->bucket[i] = (uint32_t) k;
        k += count[i];
        count[i] = p->bucket[i];
    }
    p->bucket[SW_ATOM_BUCKETS + 1] = (uint32_t) k;
    for (a = 0; a < b->natoms; a++) {
        const unsigned char *u = (const unsigned char *) b->atom[a];
        struct atom_ref *r = &p->bucket_atom[count[atom_bucket(u, p->atom_len[a])]++];

        r->key = p->atom_len[a] == 2 ? pair_key(u) : tri_key(u);
        r->atom = (uint32_t) a;
    }
    /* The branches that need each literal, in evaluation order. */
    for (i = 0, k = 0; i < p->nbr; i++)
        for (j = 0; !b->need[i].none && j < b->need[i].n; j++, k++)
            p->user_start[atom_id(b, b->need[i].s[j]) + 1]++;
    for (a = 0; a < b->natoms; a++) {
        p->user_start[a + 1] += p->user_start[a];
        cursor[a] = p->user_start[a];
    }
    if ((p->user = calloc(k + 1, sizeof(*p->user))) == NULL) {
        free(cursor);
        return false;
    }
    for (i = 0; i < p->nbr; i++)
        for (j = 0; !b->need[i].none && j < b->need[i].n; j++)
            p->user[cursor[atom_id(b, b->need[i].s[j])]++] = (uint32_t) i;
    free(cursor);
    return true;
}

/* sw_patterns_compile - build the matchers; the library is then frozen */
bool
sw_patterns_compile(struct sw_patterns *p, struct sw_buf *err)
{
    struct build b = { NULL, NULL, 0 };
    size_t pass, i;
    bool ok = false;

    if (p->compiled)
        return true;
    memset(p->always, 0, sizeof(p->always));
    memset(p->pair, 0, sizeof(p->pair));
    memset(p->tri, 0, sizeof(p->tri));
    p->br = calloc(SW_BRANCHES_MAX, sizeof(*p->br));
    b.need = calloc(SW_BRANCHES_MAX, sizeof(*b.need));
    b.atom = calloc(SW_ATOMS_MAX, sizeof(*b.atom));
    if ((p->mctx = pcre2_match_context_create(NULL)) == NULL || p->br == NULL || b.need == NULL
        || b.atom == NULL) {
        sw_buf_adds(err, "patterns: out of memory");
        goto done;
    }
    (void) pcre2_set_match_limit(p->mctx, SW_CLASSIFY_MATCH_LIMIT);
    /* Evaluation order: the four groups, each in library order. */
    for (pass = 0; pass < SW_GROUPS; pass++)
        for (i = 0; i < p->n; i++)
            if (group(&p->v[i]) == pass && !split_pattern(p, &b, i, err))
                goto done;
    if (!build_prefilter(p, &b)) {
        sw_buf_adds(err, "patterns: out of memory");
        goto done;
    }
    ok = p->compiled = true;
done:
    if (!ok)
        matcher_free(p);
    for (i = 0; i < b.natoms; i++)
        free(b.atom[i]);
    free(b.atom);
    free(b.need);
    return ok;
}

/* sw_patterns_count - number of patterns */
size_t
sw_patterns_count(const struct sw_patterns *p)
{
    return p->n;
}

/* nth - the i-th pattern in evaluation order, or NULL */
static const struct pattern *
nth(const struct sw_patterns *p, size_t i)
{
    size_t j, k = 0, pass;

    for (pass = 0; pass < SW_GROUPS; pass++)
        for (j = 0; j < p->n; j++)
            if (group(&p->v[j]) == pass && k++ == i)
                return &p->v[j];
    return NULL;
}

/* sw_patterns_tier - the tier of the i-th pattern in evaluation order */
unsigned
sw_patterns_tier(const struct sw_patterns *p, size_t i)
{
    const struct pattern *pt = nth(p, i);

    return pt ? pt->tier : SW_TIER_PROVIDER;
}

/* sw_patterns_get - the i-th pattern in evaluation order */
bool
sw_patterns_get(const struct sw_patterns *p, size_t i, const char **name, unsigned *cls,
                const char **regex, const char **provider, const char **note)
{
    const struct pattern *pt = nth(p, i);

    if (pt == NULL)
        return false;
    if (name)
        *name = pt->name;
    if (cls)
        *cls = pt->cls;
    if (regex)
        *regex = pt->regex;
    if (provider)
        *provider = pt->provider;
    if (note)
        *note = pt->note;
    return true;
}

/* Bump allocation from a caller's array; malloc beyond it. */
struct arena {
    unsigned char *base;
    size_t size;
    size_t used;
};

/* arena_malloc - PCRE2 private_malloc */
static void *
arena_malloc(size_t n, void *data)
{
    struct arena *a = data;
    size_t off = (a->used + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);

    if (off <= a->size && n <= a->size - off) {
        a->used = off + n;
        return a->base + off;
    }
    return malloc(n);
}

/* arena_free - PCRE2 private_free: only what malloc gave */
static void
arena_free(void *ptr, void *data)
{
    struct arena *a = data;
    uintptr_t u = (uintptr_t) ptr, b = (uintptr_t) a->base;

    if (ptr != NULL && (u < b || u >= b + a->size))
        free(ptr);
}

/* postfix_prefix - length of a leading "host NAME[ADDR] said: ", or 0 */
static size_t
postfix_prefix(const char *t, size_t len)
{
    static const char said[] = "] said: ";
    size_t i = 5, limit = len < SW_CLASSIFY_MAX_PREFIX ? len : SW_CLASSIFY_MAX_PREFIX;

    if (limit < 5 || memcmp(t, "host ", 5) != 0)
        return 0;
    while (i < limit && t[i] != '[' && t[i] != ' ')
        i++;
    if (i == 5 || i == limit || t[i] != '[')
        return 0;
    while (i < limit && t[i] != ']' && t[i] != ' ')
        i++;
    if (limit - i < sizeof(said) - 1 || memcmp(t + i, said, sizeof(said) - 1) != 0)
        return 0;
    return i + sizeof(said) - 1;
}

/* hit - literal a occurs: its branches become candidates (once) */
static void
hit(const struct sw_patterns *p, size_t a, uint64_t *cand, uint64_t *seen)
{
    const uint32_t *u, *uend;

    seen[a / 64] |= (uint64_t) 1 << (a % 64);
    for (u = p->user + p->user_start[a], uend = p->user + p->user_start[a + 1]; u < uend; u++)
        cand[*u / 64] |= (uint64_t) 1 << (*u % 64);
}

/* probe - the literals of one bucket that start at t[0..left) */
static void
probe(const struct sw_patterns *p, uint32_t bk, uint32_t key, const unsigned char *t, size_t left,
      uint64_t *cand, uint64_t *seen)
{
    const struct atom_ref *r, *end;
    size_t a;

    for (r = p->bucket_atom + p->bucket[bk], end = p->bucket_atom + p->bucket[bk + 1]; r < end;
         r++) {
        a = r->atom;
        if (r->key != key || seen[a / 64] & ((uint64_t) 1 << (a % 64)) || p->atom_len[a] > left
            || memcmp(t, p->atom_text + p->atom_off[a], p->atom_len[a]) != 0)
            continue;
        hit(p, a, cand, seen);
    }
}

/* find_literals - mark the branches whose literals occur in folded text */
static void
find_literals(const struct sw_patterns *p, const unsigned char *t, size_t len, uint64_t *cand,
              uint64_t *seen)
{
    uint32_t key, h;
    size_t i;

    for (i = 0; i + 1 < len; i++) {
        key = pair_key(t + i);
        if (p->pair[key / 8] & (1u << (key % 8)))
            probe(p, SW_ATOM_BUCKETS, key, t + i, len - i, cand, seen);
        if (i + 2 >= len)
            continue;
        key = tri_key(t + i);
        h = tri_hash(key);
        if (p->tri[h / 8] & (1u << (h % 8)))
            probe(p, h % SW_ATOM_BUCKETS, key, t + i, len - i, cand, seen);
    }
}

/* classify - the verdict on one reply; with all_cues, the rest of the
 * winner's group is tried for the cues too */
static void
classify(const struct sw_patterns *p, const char *text, size_t len, bool all_cues,
         struct sw_verdict *v)
{
    alignas(max_align_t) unsigned char mem[SW_CLASSIFY_ARENA];
    unsigned char folded[SW_CLASSIFY_MAX_TEXT];
    uint64_t cand[SW_WORDS(SW_BRANCHES_MAX)], seen[SW_WORDS(SW_ATOMS_MAX)], w;
    struct arena arena = { mem, sizeof(mem), 0 };
    pcre2_general_context *gc = NULL;
    pcre2_match_data *md = NULL;
    const struct branch *br;
    const struct pattern *win = NULL, *pt;
    const PCRE2_SIZE *ov;
    size_t i, skip, nw;
    int rc;

    v->cls = SW_CLASS_OTHER;
    v->tier = SW_TIER_GENERAL;
    v->name = v->provider = v->note = NULL;
    v->ncues = 0;
    if (p == NULL || !p->compiled || p->nbr == 0 || (text == NULL && len > 0))
        return;
    if (text == NULL)
        text = "";
    if (len > SW_CLASSIFY_MAX_TEXT)
        len = SW_CLASSIFY_MAX_TEXT;
    skip = postfix_prefix(text, len);
    text += skip;
    len -= skip;

    /* Which branches can match: those without literals, and those with
     * a literal that occurs. */
    nw = SW_WORDS(p->nbr);
    memcpy(cand, p->always, nw * sizeof(cand[0]));
    memset(seen, 0, SW_WORDS(p->natoms) * sizeof(seen[0]));
    for (i = 0; i < len; i++)
        folded[i] = lower((unsigned char) text[i]);
    find_literals(p, folded, len, cand, seen);

    if ((gc = pcre2_general_context_create(arena_malloc, arena_free, &arena)) == NULL
        || (md = pcre2_match_data_create(1, gc)) == NULL)
        goto done;
    /* The first candidate in evaluation order that matches wins; the
     * rest of its group gives the cues.  A pattern's branches are
     * adjacent, so one already among the cues is the last one. */
    for (i = 0; i < nw; i++) {
        for (w = cand[i]; w; w &= w - 1) {
            br = &p->br[i * 64 + (size_t) __builtin_ctzll(w)];
            pt = &p->v[br->pattern];
            if (win && (!all_cues || group(pt) != group(win) || v->ncues == SW_CUES_MAX))
                goto done;
            if (win && v->cue[v->ncues - 1].name == pt->name)
                continue;
            if (br->jit)
                rc = pcre2_jit_match(br->code, (PCRE2_SPTR) text, len, 0, 0, md, p->mctx);
            else
                rc = pcre2_match(br->code, (PCRE2_SPTR) text, len, 0, 0, md, p->mctx);
            if (rc == PCRE2_ERROR_NOMATCH)
                continue;
            if (rc < 0) {
                if (win == NULL)
                    goto done; /* work limit or worse: other, never a diversion */
                continue;      /* a cue less */
            }
            if (win == NULL) {
                win = pt;
                v->cls = pt->cls;
                v->tier = pt->tier;
                v->name = pt->name;
                v->provider = pt->provider;
                v->note = pt->note;
            }
            ov = pcre2_get_ovector_pointer(md);
            v->cue[v->ncues].name = pt->name;
            v->cue[v->ncues].off = skip + ov[0];
            v->cue[v->ncues].len = ov[1] > ov[0] ? ov[1] - ov[0] : 0;
            v->ncues++;
        }
    }
done:
    /* Frees only what fell back to malloc; the rest is on our stack. */
    pcre2_match_data_free(md);
    pcre2_general_context_free(gc);
}

/* sw_classify - the verdict, with the winner as its only cue */
void
sw_classify(const struct sw_patterns *p, const char *text, size_t len, struct sw_verdict *v)
{
    classify(p, text, len, false, v);
}

/* sw_classify_cues - the verdict and all its cues */
void
sw_classify_cues(const struct sw_patterns *p, const char *text, size_t len, struct sw_verdict *v)
{
    classify(p, text, len, true, v);
}
