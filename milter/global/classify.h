/* classify.h - SMTP reply classification: reputation, throttle or other */
#ifndef SW_CLASSIFY_H
#define SW_CLASSIFY_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "global/conf.h" /* SW_CLASS_REPUTATION 0x1, SW_CLASS_THROTTLE 0x2 */

/*
 * The pattern library of DESIGN.md section 3: named PCRE2 regular
 * expressions, each with a class, that decide whether a reply blames the
 * sending IP or pool (reputation), a rate or connection limit (throttle),
 * or anything else (other: content, authentication, recipients, policy,
 * domain reputation).  Other never causes a diversion.
 *
 * Matching rules, the same as a Postfix pcre table's defaults:
 *  - case-insensitive (PCRE2_CASELESS; "(?-i)" turns it off inside a
 *    pattern), byte-wise (no UTF-8 mode), '.' does not match a newline;
 *  - unanchored: a pattern matches anywhere in the text;
 *  - two tiers: "provider" patterns (a provider's exact texts and codes:
 *    5.7.606, TSS04, AUP#CXBL) and "general" ones (what any refusal
 *    carries: enhanced status codes, the stage, words about the client IP
 *    or host, volume and rate words in several languages, DNSBL zones);
 *  - evaluation order: "other" patterns of the provider tier, "other"
 *    patterns of the general tier, then the reputation and throttle
 *    patterns of the provider tier, then those of the general tier; each
 *    group in library order.  So an exclusion (content, authentication,
 *    recipient) always wins: a wrong diversion costs more than a missed
 *    one.  The first pattern in that order that matches anywhere wins
 *    (not the leftmost match in the text), which is how a Postfix pcre
 *    table rendered from sw_patterns_get() in order also decides;
 *  - the cues of a verdict (sw_classify_cues()): the winning pattern and
 *    every later pattern of its group (same class and tier) that also
 *    matches, with where each matched, up to SW_CUES_MAX.  They say why,
 *    never change what; finding them about doubles the cost of a call, so
 *    the mail path (sw_classify()) keeps only the winner.
 *
 * Any PCRE2 syntax is accepted: each pattern is compiled on its own.  A
 * pattern that can match an empty string is refused (it would match every
 * reply).  For speed, the classifier only runs a pattern when one of the
 * literal words it requires occurs in the reply; a pattern whose words it
 * cannot work out (back-references, conditionals, \x escapes, "(?x)")
 * runs on every reply, which is correct, only slower.
 *
 * Lifecycle: new, then any number of add_list/load_file (shipped library
 * first, the operator's overrides after), then compile.  After compile the
 * object is immutable and may be shared by any number of threads without a
 * lock; with PCRE2's JIT (the normal case) sw_classify() allocates nothing
 * on the heap.
 */

#define SW_CLASS_OTHER       0

#define SW_CLASSIFY_MAX_TEXT 2048 /* bytes of a reply that are looked at */
#define SW_PATTERNS_MAX      1000 /* patterns in one library */
#define SW_PATTERN_NAME_MAX  64   /* [A-Za-z0-9._-] */
#define SW_PATTERN_REGEX_MAX 2048 /* bytes of one regular expression */
#define SW_PATTERN_TEXT_MAX  512  /* bytes of a provider or note */

struct sw_patterns; /* opaque, immutable once compiled */

#define SW_TIER_PROVIDER     0
#define SW_TIER_GENERAL      1
#define SW_CUES_MAX          6 /* cues kept in one verdict */

/* A pattern that matched: its name, and where in the text it matched
 * (offsets into the text given to sw_classify()). */
struct sw_cue {
    const char *name;
    size_t off;
    size_t len;
};

/* A decision; the strings live as long as the patterns.  name, provider
 * and note are NULL when no pattern matched (the class is then other,
 * tier SW_TIER_GENERAL and ncues 0).  cue[0] is the winning pattern;
 * sw_classify() fills only that one. */
struct sw_verdict {
    unsigned cls;
    unsigned tier;
    const char *name;
    const char *provider;
    const char *note;
    size_t ncues;
    struct sw_cue cue[SW_CUES_MAX];
};

struct sw_patterns *sw_patterns_new(void);

/*
 * Add a libconfig list of pattern groups:
 *   { name = "m365-banned-ip"; class = "reputation"; tier = "provider";
 *     provider = "Microsoft 365"; match = "banned sending IP"; note = "short why";
 *     enabled = true; }
 * name is required; class and match are required unless enabled = false;
 * tier defaults to "provider", provider to "local", note to "".  A name that exists already
 * (from an earlier list) is replaced in place, keeping its position; with
 * enabled = false it is removed (a name that is not defined is not an
 * error, so an override outlives a retired shipped pattern).  Patterns with
 * new names go before every pattern of earlier lists: an operator's list,
 * added after the shipped library, is evaluated first.  A name twice in
 * one list is an error.
 *
 * All or nothing: on any error nothing is changed, false is returned and
 * each problem is appended to err as "FILE:LINE: patterns[N].KEY: problem"
 * (FILE from the setting, else file).  Unknown keys are errors.
 */
bool sw_patterns_add_list(struct sw_patterns *p, const config_setting_t *list, const char *file,
                          struct sw_buf *err);
/* Read a libconfig file whose only top-level key is patterns = ( ... ); */
bool sw_patterns_load_file(struct sw_patterns *p, const char *path, struct sw_buf *err);
/* Build the matchers (with JIT when the platform allows); after all adds. */
bool sw_patterns_compile(struct sw_patterns *p, struct sw_buf *err);

/*
 * Classify one reply ("550 5.7.606 Access denied, banned sending IP ...")
 * or a Postfix log reason ("host mx.example[192.0.2.1] said: 550 ... (in
 * reply to RCPT TO command)"; the "host NAME[ADDR] said: " prefix is
 * skipped so the receiver's host name cannot match a pattern).  Only the
 * first SW_CLASSIFY_MAX_TEXT bytes are looked at; NUL bytes are ordinary
 * bytes.  No match, patterns that are not compiled, or a match that hits
 * the work limit: SW_CLASS_OTHER with name NULL.  Thread-safe.
 */
void sw_classify(const struct sw_patterns *p, const char *text, size_t len, struct sw_verdict *v);
/* The same verdict, with every cue (for operators: classify, --analyze). */
void sw_classify_cues(const struct sw_patterns *p, const char *text, size_t len,
                      struct sw_verdict *v);

size_t sw_patterns_count(const struct sw_patterns *p);
/* The i-th pattern in evaluation order (the four groups above, each in
 * library order), for rendering Postfix pcre tables:
 * the regex has the same syntax there, but may contain '/', so choose a
 * delimiter it does not contain.  False when i is out of range. */
bool sw_patterns_get(const struct sw_patterns *p, size_t i, const char **name, unsigned *cls,
                     const char **regex, const char **provider, const char **note);

/* The tier of the i-th pattern in evaluation order (SW_TIER_PROVIDER when
 * i is out of range). */
unsigned sw_patterns_tier(const struct sw_patterns *p, size_t i);

const char *sw_class_name(unsigned cls); /* "reputation", "throttle", "other" */
const char *sw_tier_name(unsigned tier); /* "provider", "general" */
bool sw_class_parse(const char *s, unsigned *cls);
void sw_patterns_free(struct sw_patterns *p);

#endif
