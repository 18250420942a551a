/* classify_bench.c - replies/s of sw_classify() on one core (no asserts on time) */

/*
 * Loads a pattern library (default conf/patterns.conf), then classifies
 * three sets of texts in a loop bounded by count (-n) and time (-d):
 *
 *   corpus   the smtp_reply column of provider-replies.tsv
 *   mix      generated replies of typical length (~150 bytes): the
 *            providers' wordings with varying IPs, hosts and ids, Postfix
 *            log reasons ("host H[IP] said: ... (in reply to RCPT TO
 *            command)"), and replies that no pattern matches
 *   long     SW_CLASSIFY_MAX_TEXT bytes of text that matches nothing (the
 *            worst case for a scan)
 *
 * With -m all (the default) each set is run by four matchers:
 *
 *   classify     sw_classify(): literal prefilter, then the candidate
 *                branches in evaluation order
 *   sequential   each pattern compiled alone with JIT and tried in
 *                evaluation order until one matches (what a Postfix pcre
 *                table does)
 *   alt-ordered  one alternation per class group, each pattern followed by
 *                (*MARK:i), and a callout that keeps the smallest mark and
 *                fails, so every alternative is tried everywhere: the same
 *                answer as sequential, in one scan
 *   alt-left     the same alternations without the callout: the mark of
 *                the leftmost match (the winner depends on word order in
 *                the reply, so it is not the library's rule)
 *
 * and the verdicts of classify and sequential are compared on every text:
 * they must agree, since both implement "first in evaluation order".
 * Single-threaded; CPU time is process CPU time.
 *
 * Build (from the top directory, after ./configure):
 *   cc -O2 -I. -Imilter bench/classify_bench.c milter/global/classify.c milter/util/buf.c \
 *      milter/global/conf_get.c milter/util/duration.c \
 *      $(pkg-config --cflags --libs libpcre2-8 libconfig) -o bench/classify_bench
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "global/classify.h"

#define BENCH_MAX_TEXTS 4096
#define BENCH_MIX       2000
#define BENCH_MAX_N     100000000L
#define BENCH_MAX_SECS  600
#define BENCH_LINE_MAX  8192
#define BENCH_OPTIONS   (PCRE2_CASELESS | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP)

struct textset {
    const char *label;
    char **text;
    size_t *len;
    size_t n;
};

/* Stand-alone matchers for comparison. */
struct seq {
    pcre2_code **code;
    unsigned *cls;
    size_t n;
    pcre2_code *alt[2];   /* alt-left: [0] other, [1] divert */
    pcre2_code *order[2]; /* alt-ordered: the same with a callout */
    size_t nother;
    pcre2_match_data *md;
    pcre2_match_context *mc;
};

/* die - report and exit */
static void
die(const char *what)
{
    fprintf(stderr, "classify_bench: %s\n", what);
    exit(2);
}

/* now - a clock in seconds */
static double
now(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        die("clock_gettime failed");
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* set_add - append a copy of a text */
static void
set_add(struct textset *s, const char *t, size_t n)
{
    if (s->n == BENCH_MAX_TEXTS)
        return;
    if (s->text == NULL) {
        s->text = calloc(BENCH_MAX_TEXTS, sizeof(*s->text));
        s->len = calloc(BENCH_MAX_TEXTS, sizeof(*s->len));
        if (s->text == NULL || s->len == NULL)
            die("out of memory");
    }
    if ((s->text[s->n] = malloc(n + 1)) == NULL)
        die("out of memory");
    memcpy(s->text[s->n], t, n);
    s->text[s->n][n] = '\0';
    s->len[s->n++] = n;
}

/* load_corpus - second column of every data line */
static void
load_corpus(struct textset *s, const char *path)
{
    char line[BENCH_LINE_MAX], *a, *b;
    FILE *fp = fopen(path, "r");
    size_t ln = 0;

    if (fp == NULL) {
        fprintf(stderr, "classify_bench: %s: %s (corpus set skipped)\n", path, strerror(errno));
        return;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (ln++ == 0 || (a = strchr(line, '\t')) == NULL)
            continue;
        a++;
        if ((b = strchr(a, '\t')) == NULL)
            continue;
        set_add(s, a, (size_t) (b - a));
    }
    (void) fclose(fp);
}

/* Templates of the generated mix: {ip} gets an IP, {n} a number. */
static const char *const templates[] = {
    "550 5.7.606 Access denied, banned sending IP [{ip}]. To request removal from this list please "
    "visit https://sender.office.com/ and follow the directions. (AS{n})",
    "451 4.7.500 Server busy. Please try again later from [{ip}]. (S77719) [BN{n}NAM02FT047]",
    "421-4.7.0 [{ip}] Our system has detected an unusual rate of unsolicited mail originating "
    "from your IP address. To protect our users from spam, mail sent from your IP address has "
    "been temporarily rate limited. {n} - gsmtp",
    "550-5.1.1 The email account that you tried to reach does not exist. Please try "
    "double-checking the recipient's email address for typos or unnecessary spaces. {n} - gsmtp",
    "host mx{n}.example.net[{ip}] said: 554 5.7.1 Service unavailable; Client host [{ip}] blocked "
    "using zen.spamhaus.org (in reply to RCPT TO command)",
    "host mx.example.org[{ip}] said: 452 4.2.2 Mailbox full, quota exceeded for user {n} (in reply "
    "to RCPT TO command)",
    "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume or user "
    "complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
    "421 4.7.0 Too many concurrent connections from this IP ({ip}), try again later {n}",
    "550 5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires "
    "all senders to authenticate with either SPF or DKIM. {n} {ip}",
    "host mx{n}.example.com[{ip}] said: 250 2.0.0 Ok: queued as 4Xk{n}Yz (in reply to end of DATA "
    "command)",
    "451 4.3.0 Temporary local problem - please try later; queue id {n} from {ip}",
    "554 5.7.1 Message rejected: the content of your message looks like spam (score {n}) [{ip}]",
    "450 4.7.1 Client host rejected: cannot find your hostname, [{ip}] {n}",
    "550 Local CT IP reputation - (reject) https://community.mimecast.com/ {n} {ip}",
    "421 RP-001 (COL0-MC3-F{n}) Unfortunately, some messages from {ip} weren't sent. Please try "
    "again. We have limits for how many messages can be sent per hour and per day.",
    "550 5.7.1 Unfortunately, messages from [{ip}] weren't sent. Please contact your Internet "
    "service provider since part of their network is on our block list (S3150). {n}",
};

/* expand - a template with {ip} and {n} replaced; length or 0 */
static size_t
expand(char *out, size_t size, const char *tpl, const char *ip, unsigned n)
{
    char num[16];
    size_t o = 0, k;
    const char *v;

    (void) snprintf(num, sizeof(num), "%u", n);
    while (*tpl) {
        v = NULL;
        if (strncmp(tpl, "{ip}", 4) == 0)
            v = ip, tpl += 4;
        else if (strncmp(tpl, "{n}", 3) == 0)
            v = num, tpl += 3;
        if (v == NULL) {
            if (o + 1 >= size)
                return 0;
            out[o++] = *tpl++;
            continue;
        }
        if ((k = strlen(v)) >= size - o)
            return 0;
        memcpy(out + o, v, k);
        o += k;
    }
    out[o] = '\0';
    return o;
}

/* make_mix - n generated replies */
static void
make_mix(struct textset *s, size_t n)
{
    const size_t nt = sizeof(templates) / sizeof(templates[0]);
    char ip[32], text[1024];
    unsigned x = 12345;
    size_t i, k;

    for (i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        (void) snprintf(ip, sizeof(ip), "%u.%u.%u.%u", 192 + (x >> 8) % 32, (x >> 12) % 256,
                        (x >> 16) % 256, 1 + (x >> 24) % 254);
        if ((k = expand(text, sizeof(text), templates[i % nt], ip, x % 100000)) > 0)
            set_add(s, text, k);
    }
}

/* make_long - the longest text looked at, matching nothing */
static void
make_long(struct textset *s)
{
    static const char words[] = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do ";
    char text[SW_CLASSIFY_MAX_TEXT];
    size_t i;

    for (i = 0; i < sizeof(text); i++)
        text[i] = words[i % (sizeof(words) - 1)];
    set_add(s, text, sizeof(text));
}

/* seq_build - every pattern alone, and the two plain alternations */
static void
seq_build(const struct sw_patterns *p, struct seq *q)
{
    const char *regex;
    struct sw_buf alt[2], wrap;
    PCRE2_SIZE off;
    unsigned cls;
    size_t i;
    int rc, g;

    q->n = sw_patterns_count(p);
    q->code = calloc(q->n ? q->n : 1, sizeof(*q->code));
    q->cls = calloc(q->n ? q->n : 1, sizeof(*q->cls));
    if (q->code == NULL || q->cls == NULL)
        die("out of memory");
    sw_buf_init(&alt[0], 1 << 20);
    sw_buf_init(&alt[1], 1 << 20);
    sw_buf_init(&wrap, 1 << 20);
    for (i = 0; i < q->n; i++) {
        if (!sw_patterns_get(p, i, NULL, &cls, &regex, NULL, NULL))
            die("sw_patterns_get failed");
        q->cls[i] = cls;
        q->code[i] = pcre2_compile((PCRE2_SPTR) regex, PCRE2_ZERO_TERMINATED, BENCH_OPTIONS, &rc,
                                   &off, NULL);
        if (q->code[i] == NULL || pcre2_jit_compile(q->code[i], PCRE2_JIT_COMPLETE) != 0)
            die("cannot compile a pattern alone");
        g = cls != SW_CLASS_OTHER;
        if (!sw_buf_printf(&alt[g], "%s(?:%s\\E)(*MARK:%zu)", alt[g].len ? "|" : "", regex, i))
            die("out of memory");
        if (!g)
            q->nother++;
    }
    for (g = 0; g < 2; g++) {
        if (alt[g].len == 0)
            continue;
        q->alt[g] =
            pcre2_compile((PCRE2_SPTR) alt[g].data, alt[g].len, BENCH_OPTIONS, &rc, &off, NULL);
        if (q->alt[g] == NULL || pcre2_jit_compile(q->alt[g], PCRE2_JIT_COMPLETE) != 0)
            die("cannot compile an alternation");
        /* The ordered form: (?:alternatives)(?C1) */
        sw_buf_reset(&wrap);
        if (!sw_buf_adds(&wrap, "(?:") || !sw_buf_add(&wrap, alt[g].data, alt[g].len)
            || !sw_buf_adds(&wrap, ")(?C1)"))
            die("out of memory");
        q->order[g] =
            pcre2_compile((PCRE2_SPTR) wrap.data, wrap.len, BENCH_OPTIONS, &rc, &off, NULL);
        if (q->order[g] == NULL || pcre2_jit_compile(q->order[g], PCRE2_JIT_COMPLETE) != 0)
            die("cannot compile an ordered alternation");
        sw_buf_free(&alt[g]);
    }
    sw_buf_free(&wrap);
    if ((q->md = pcre2_match_data_create(1, NULL)) == NULL
        || (q->mc = pcre2_match_context_create(NULL)) == NULL)
        die("out of memory");
}

/* seq_classify - first pattern in evaluation order, one at a time */
static size_t
seq_classify(const struct seq *q, const char *t, size_t len)
{
    size_t i;

    if (len > SW_CLASSIFY_MAX_TEXT)
        len = SW_CLASSIFY_MAX_TEXT;
    for (i = 0; i < q->n; i++)
        if (pcre2_jit_match(q->code[i], (PCRE2_SPTR) t, len, 0, 0, q->md, NULL) >= 0)
            return i;
    return q->n;
}

/* on_mark - alt-ordered callout: keep the smallest mark, then fail */
static int
on_mark(pcre2_callout_block *cb, void *data)
{
    size_t *best = data, i;

    if (cb->mark == NULL)
        return PCRE2_ERROR_CALLOUT;
    i = (size_t) strtoul((const char *) cb->mark, NULL, 10);
    if (i < *best)
        *best = i;
    return 1;
}

/* order_classify - first pattern in evaluation order, one scan per group */
static size_t
order_classify(const struct seq *q, const char *t, size_t len)
{
    size_t best;
    int g;

    if (len > SW_CLASSIFY_MAX_TEXT)
        len = SW_CLASSIFY_MAX_TEXT;
    for (g = 0; g < 2; g++) {
        if (q->order[g] == NULL)
            continue;
        best = q->n;
        (void) pcre2_set_callout(q->mc, on_mark, &best);
        (void) pcre2_jit_match(q->order[g], (PCRE2_SPTR) t, len, 0, 0, q->md, q->mc);
        if (best < q->n)
            return best;
    }
    return q->n;
}

/* left_classify - leftmost match of the plain alternations */
static size_t
left_classify(const struct seq *q, const char *t, size_t len)
{
    int g;

    if (len > SW_CLASSIFY_MAX_TEXT)
        len = SW_CLASSIFY_MAX_TEXT;
    for (g = 0; g < 2; g++)
        if (q->alt[g] && pcre2_jit_match(q->alt[g], (PCRE2_SPTR) t, len, 0, 0, q->md, NULL) >= 0)
            return (size_t) strtoul((const char *) pcre2_get_mark(q->md), NULL, 10);
    return q->n;
}

/* run - classify a set in a loop; prints one table row */
static void
run(const struct sw_patterns *p, const struct seq *q, const struct textset *s, const char *mode,
    long max_n, double max_secs)
{
    double t0, c0, wall, cpu;
    size_t hits[3] = { 0, 0, 0 }, i = 0, idx;
    struct sw_verdict v;
    long done = 0;
    unsigned cls;

    if (s->n == 0)
        return;
    t0 = now(CLOCK_MONOTONIC);
    c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    for (; done < max_n; done++) {
        if (strcmp(mode, "classify") == 0) {
            sw_classify(p, s->text[i], s->len[i], &v);
            cls = v.cls;
        } else {
            if (strcmp(mode, "sequential") == 0)
                idx = seq_classify(q, s->text[i], s->len[i]);
            else if (strcmp(mode, "alt-ordered") == 0)
                idx = order_classify(q, s->text[i], s->len[i]);
            else
                idx = left_classify(q, s->text[i], s->len[i]);
            cls = idx < q->n ? q->cls[idx] : SW_CLASS_OTHER;
        }
        hits[cls < 3 ? cls : 0]++;
        if (++i == s->n)
            i = 0;
        /* Look at the clock every 4096 replies only. */
        if ((done & 4095) == 4095 && now(CLOCK_MONOTONIC) - t0 > max_secs) {
            done++;
            break;
        }
    }
    wall = now(CLOCK_MONOTONIC) - t0;
    cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("%-8s %-11s %6zu %10ld %8.3f %12.0f %9.2f   %zu/%zu/%zu\n", s->label, mode, s->n, done,
           cpu, cpu > 0 ? (double) done / cpu : 0.0, cpu > 0 ? cpu * 1e6 / (double) done : 0.0,
           hits[SW_CLASS_REPUTATION], hits[SW_CLASS_THROTTLE], hits[SW_CLASS_OTHER]);
    (void) wall;
}

/* cross_check - classify and sequential must name the same pattern */
static size_t
cross_check(const struct sw_patterns *p, const struct seq *q, const struct textset *s)
{
    const char *name;
    struct sw_verdict v;
    size_t i, idx, bad = 0;

    for (i = 0; i < s->n; i++) {
        sw_classify(p, s->text[i], s->len[i], &v);
        idx = seq_classify(q, s->text[i], s->len[i]);
        name = NULL;
        if (idx < q->n && !sw_patterns_get(p, idx, &name, NULL, NULL, NULL, NULL))
            die("sw_patterns_get failed");
        /* sw_classify skips a Postfix "host H[A] said: " prefix; the
         * sequential matcher sees it, so compare on those without one. */
        if (strncmp(s->text[i], "host ", 5) == 0)
            continue;
        if ((name == NULL) != (v.name == NULL) || (name && strcmp(name, v.name) != 0)) {
            if (bad++ < 5)
                fprintf(stderr, "disagree: classify %s, sequential %s: %.100s\n",
                        v.name ? v.name : "-", name ? name : "-", s->text[i]);
        }
    }
    return bad;
}

/* usage - and exit */
static void
usage(void)
{
    fprintf(stderr, "usage: classify_bench [-p patterns.conf] [-c replies.tsv] [-n count] "
                    "[-d seconds] [-m all|classify|sequential|alt-ordered|alt-left]\n");
    exit(2);
}

/* main - load, build, run every set with every matcher */
int
main(int argc, char **argv)
{
    const char *pfile = "conf/patterns.conf", *cfile = NULL, *mode = "all";
    static const char *const modes[] = { "classify", "sequential", "alt-ordered", "alt-left" };
    struct textset sets[3] = { { "corpus", NULL, NULL, 0 },
                               { "mix", NULL, NULL, 0 },
                               { "long", NULL, NULL, 0 } };
    char corpus[4096], *end;
    const char *env;
    struct sw_patterns *p;
    struct seq q;
    struct sw_buf err;
    long max_n = 2000000;
    double max_secs = 10;
    size_t si, mi, bad = 0;
    int c;

    while ((c = getopt(argc, argv, "p:c:n:d:m:")) != -1) {
        switch (c) {
        case 'p': pfile = optarg; break;
        case 'c': cfile = optarg; break;
        case 'n':
            errno = 0;
            max_n = strtol(optarg, &end, 10);
            if (errno || *end || max_n < 1 || max_n > BENCH_MAX_N)
                usage();
            break;
        case 'd':
            errno = 0;
            max_secs = strtod(optarg, &end);
            if (errno || *end || !(max_secs > 0 && max_secs <= BENCH_MAX_SECS))
                usage();
            break;
        case 'm': mode = optarg; break;
        default: usage();
        }
    }
    if (cfile == NULL) {
        env = getenv("SPILLWAY_CORPUS");
        (void) snprintf(corpus, sizeof(corpus), "%s/replies/provider-replies.tsv",
                        env ? env : "../shared/corpus");
        cfile = corpus;
    }
    sw_buf_init(&err, 65536);
    if ((p = sw_patterns_new()) == NULL)
        die("out of memory");
    if (!sw_patterns_load_file(p, pfile, &err) || !sw_patterns_compile(p, &err)) {
        fprintf(stderr, "%s\n", sw_buf_str(&err));
        return 2;
    }
    load_corpus(&sets[0], cfile);
    make_mix(&sets[1], BENCH_MIX);
    make_long(&sets[2]);
    memset(&q, 0, sizeof(q));
    seq_build(p, &q);
    for (si = 0; si < 3; si++)
        bad += cross_check(p, &q, &sets[si]);

    printf("patterns: %zu (%zu other), bound: %ld replies or %.0f s per row, one thread\n",
           sw_patterns_count(p), q.nother, max_n, max_secs);
    printf("%-8s %-11s %6s %10s %8s %12s %9s   %s\n", "set", "matcher", "texts", "replies", "cpu_s",
           "replies/s", "us/reply", "rep/thr/other");
    for (si = 0; si < 3; si++)
        for (mi = 0; mi < 4; mi++)
            if (strcmp(mode, "all") == 0 || strcmp(mode, modes[mi]) == 0)
                run(p, &q, &sets[si], modes[mi], max_n, max_secs);
    printf("classify vs sequential: %zu disagreements\n", bad);

    for (si = 0; si < 3; si++) {
        for (mi = 0; mi < sets[si].n; mi++)
            free(sets[si].text[mi]);
        free(sets[si].text);
        free(sets[si].len);
    }
    for (mi = 0; mi < q.n; mi++)
        pcre2_code_free(q.code[mi]);
    for (mi = 0; mi < 2; mi++) {
        pcre2_code_free(q.alt[mi]);
        pcre2_code_free(q.order[mi]);
    }
    pcre2_match_data_free(q.md);
    pcre2_match_context_free(q.mc);
    free(q.code);
    free(q.cls);
    sw_patterns_free(p);
    sw_buf_free(&err);
    return bad ? 1 : 0;
}
