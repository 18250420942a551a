/* maillog_bench.c - lines/s of sw_follow + sw_maillog_parse over a big mail log */

/*
 * Writes a realistic Postfix mail log (by default 1,000,000 lines: 60%
 * smtpd/cleanup/qmgr lines, 40% smtp delivery lines, of which 75% sent,
 * 18% deferred and 7% bounced, with the reply texts providers send) to a
 * temporary file, then reads it back the way spillway-routed does: one
 * sw_follow_poll() of at most 1 MiB at a time, each line through
 * sw_maillog_parse().  Single-threaded (one core; -c pins it to a CPU).
 *
 * Three measurements, each repeated -r times (best and median reported):
 *   follow+parse  the figure that counts (the target: 500,000 lines/s)
 *   follow        reading and splitting only (the callback does nothing)
 *   parse         parsing only, over the lines already in memory
 * The file is read from the page cache (it was just written): this measures
 * CPU cost, not the disk.
 *
 * Every run checks its counts against what was generated (outcomes by
 * status, no bad line): a wrong count exits 1.  Nothing asserts a timing.
 * Bounded: -n at most 20,000,000 lines, -d seconds (default 60) over all
 * measurements; the temporary file is removed unless -k.
 *
 * Build (from the top directory, after ./configure):
 *   cc -O2 -I. -Imilter -include config.h bench/maillog_bench.c milter/util/maillog.c \
 *      milter/util/follow.c milter/util/buf.c -o bench/maillog_bench
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/follow.h"
#include "util/maillog.h"

#define BENCH_MAX_LINES   20000000UL
#define BENCH_MAX_SECONDS 600
#define BENCH_MAX_REPEATS 20
#define BENCH_POLL_BYTES  (1024u * 1024u) /* what routed reads per event-loop turn */
#define BENCH_TARGET      500000.0        /* lines/s, from the issue */
#define BENCH_LINE_MAX    1024

struct counts {
    unsigned long lines, outcomes, ignored, bad, sent, deferred, bounced;
};

/* ---------------------------------------------------------------- generator */

/* rnd - xorshift64*: repeatable, no libc state */
static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* pick - 0 .. n-1 */
static unsigned
pick(uint64_t *s, unsigned n)
{
    return (unsigned) (rnd(s) % n);
}

/* Delivery kinds: status word and dsn (the replies are in put_delivery). */
static const struct {
    const char *status, *dsn;
} deliveries[] = {
    { "sent", "2.0.0" },      { "sent", "2.0.0" },     { "sent", "2.0.0" },
    { "deferred", "4.7.1" },  { "deferred", "4.4.1" }, { "deferred", "4.7.500" },
    { "bounced", "5.7.606" }, { "bounced", "5.1.1" },
};

/* put_delivery - one smtp delivery line of the given kind */
static int
put_delivery(char *buf, size_t size, const char *head, uint64_t *s, unsigned kind)
{
    char domain[64], label[64], relay[128], text[640];
    unsigned a = pick(s, 250) + 1, b = pick(s, 250) + 1, user = pick(s, 100000);
    int n = 0, m = 0;

    (void) snprintf(domain, sizeof(domain), "dom%u.example", pick(s, 5000));
    (void) snprintf(label, sizeof(label), "dom%u-example", pick(s, 5000));
    switch (kind) {
    case 0: /* Microsoft 365 */
        n = snprintf(relay, sizeof(relay), "%s.mail.protection.outlook.com[52.101.%u.%u]:25", label,
                     a, b);
        m = snprintf(text, sizeof(text),
                     "250 2.6.0 <msg%u@org.example> [InternalId=%u, Hostname=AM0PR01MB%u.eurprd01."
                     "prod.exchangelabs.com] %u bytes in 0.112, 21.4 KB/sec Queued mail for "
                     "delivery",
                     user, a * b, a, user * 7);
        break;
    case 1: /* Gmail */
        n = snprintf(relay, sizeof(relay), "aspmx.l.google.com[142.250.%u.%u]:25", a, b);
        m = snprintf(text, sizeof(text), "250 2.0.0 OK  1700000%u a%u-20020a17090%u.%u - gsmtp",
                     user, a, b, user);
        break;
    case 2: /* Postfix */
        n = snprintf(relay, sizeof(relay), "mx.%s[198.51.%u.%u]:25", domain, a, b);
        m = snprintf(text, sizeof(text), "250 2.0.0 Ok: queued as %X", user * 2654435761u);
        break;
    case 3:
        n = snprintf(relay, sizeof(relay), "mx.%s[198.51.%u.%u]:25", domain, a, b);
        m = snprintf(text, sizeof(text),
                     "host mx.%s[198.51.%u.%u] said: 450 4.7.1 Service temporarily unavailable, "
                     "try later (in reply to RCPT TO command)",
                     domain, a, b);
        break;
    case 4:
        n = snprintf(relay, sizeof(relay), "none");
        m = snprintf(text, sizeof(text), "connect to mx.%s[203.0.%u.%u]:25: Connection timed out",
                     domain, a, b);
        break;
    case 5:
        n = snprintf(relay, sizeof(relay), "%s.mail.protection.outlook.com[52.101.%u.%u]:25", label,
                     a, b);
        m = snprintf(text, sizeof(text),
                     "host %s.mail.protection.outlook.com[52.101.%u.%u] said: 451 4.7.500 Server "
                     "busy. Please try again later from [40.107.1.2]. (S77719) "
                     "[AM0PR01MB1234.eurprd01.prod.exchangelabs.com] (in reply to MAIL FROM "
                     "command)",
                     label, a, b);
        break;
    case 6:
        n = snprintf(relay, sizeof(relay), "%s.mail.protection.outlook.com[52.101.%u.%u]:25", label,
                     a, b);
        m = snprintf(text, sizeof(text),
                     "host %s.mail.protection.outlook.com[52.101.%u.%u] said: 550 5.7.606 Access "
                     "denied, banned sending IP [40.107.1.2]. To request removal from this list "
                     "please visit https://sender.office.com/ and follow the directions. (in reply "
                     "to RCPT TO command)",
                     label, a, b);
        break;
    default:
        n = snprintf(relay, sizeof(relay), "mx.%s[198.51.%u.%u]:25", domain, a, b);
        m = snprintf(text, sizeof(text),
                     "host mx.%s[198.51.%u.%u] said: 550 5.1.1 <user%u@%s>: Recipient address "
                     "rejected: User unknown in virtual mailbox table (in reply to RCPT TO "
                     "command)",
                     domain, a, b, user, domain);
        break;
    }
    if (n < 0 || (size_t) n >= sizeof(relay) || m < 0 || (size_t) m >= sizeof(text))
        return -1;
    return snprintf(buf, size,
                    "%s to=<user%u@%s>, relay=%s, delay=%u.%u, delays=0.01/0/%u.%u/0.%u, dsn=%s, "
                    "status=%s (%s)\n",
                    head, user, domain, relay, a % 9, b % 10, a % 3, b % 10, a % 10,
                    deliveries[kind].dsn, deliveries[kind].status, text);
}

/* put_other - one of the lines that are not outcomes */
static int
put_other(char *buf, size_t size, const char *stamp, unsigned qid, uint64_t *s)
{
    unsigned pid = 1000 + pick(s, 30000), a = pick(s, 250) + 1;

    switch (pick(s, 6)) {
    case 0:
        return snprintf(buf, size, "%s mta postfix/smtpd[%u]: connect from unknown[192.0.2.%u]\n",
                        stamp, pid, a);
    case 1:
        return snprintf(buf, size, "%s mta postfix/smtpd[%u]: %X: client=unknown[192.0.2.%u]\n",
                        stamp, pid, qid, a);
    case 2:
        return snprintf(buf, size,
                        "%s mta postfix/cleanup[%u]: %X: message-id=<%u.%X@app%u.org.example>\n",
                        stamp, pid, qid, a, qid * 7u, a % 5);
    case 3:
        return snprintf(buf, size,
                        "%s mta postfix/qmgr[%u]: %X: from=<app%u@org.example>, size=%u, "
                        "nrcpt=1 (queue active)\n",
                        stamp, pid, qid, a % 5, 2000 + a * 37);
    case 4: return snprintf(buf, size, "%s mta postfix/qmgr[%u]: %X: removed\n", stamp, pid, qid);
    default:
        return snprintf(buf, size,
                        "%s mta postfix/smtpd[%u]: disconnect from unknown[192.0.2.%u] ehlo=1 "
                        "mail=1 rcpt=1 data=1 quit=1 commands=5\n",
                        stamp, pid, a);
    }
}

/* generate - write nlines lines to fp; the expected counts */
static int
generate(FILE *fp, unsigned long nlines, struct counts *want)
{
    static const unsigned kinds[100] = {
        /* 75 sent, 18 deferred, 7 bounced (of deliveries) */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
        3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7,
    };
    char line[BENCH_LINE_MAX], stamp[32], head[96];
    uint64_t s = 0x5eedf00dcafe1234ULL;
    unsigned long i;
    unsigned qid, kind;
    int n;

    memset(want, 0, sizeof(*want));
    for (i = 0; i < nlines; i++) {
        /* One second of log per 200 lines, from Nov 22 00:00:00. */
        unsigned long t = i / 200;
        (void) snprintf(stamp, sizeof(stamp), "Nov 22 %02lu:%02lu:%02lu", (t / 3600) % 24,
                        (t / 60) % 60, t % 60);
        qid = 0x10000000u + (unsigned) rnd(&s) % 0xEFFFFFFFu;
        if (pick(&s, 100) < 40) {
            kind = kinds[pick(&s, 100)];
            (void) snprintf(head, sizeof(head), "%s mta postfix/smtp[%u]: %X:", stamp,
                            1000 + pick(&s, 30000), qid);
            n = put_delivery(line, sizeof(line), head, &s, kind);
            want->outcomes++;
            if (kind <= 2)
                want->sent++;
            else if (kind <= 5)
                want->deferred++;
            else
                want->bounced++;
        } else {
            n = put_other(line, sizeof(line), stamp, qid, &s);
            want->ignored++;
        }
        if (n < 0 || (size_t) n >= sizeof(line)) {
            fprintf(stderr, "maillog_bench: generated line too long\n");
            return -1;
        }
        if (fwrite(line, 1, (size_t) n, fp) != (size_t) n) {
            fprintf(stderr, "maillog_bench: write: %s\n", strerror(errno));
            return -1;
        }
    }
    want->lines = nlines;
    return 0;
}

/* ---------------------------------------------------------------- measurement */

/* now - seconds on a clock */
static double
now(clockid_t clock)
{
    struct timespec ts;

    (void) clock_gettime(clock, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* on_line_parse - the routed callback: parse and count */
static void
on_line_parse(const char *line, size_t len, void *arg)
{
    struct counts *c = arg;
    struct sw_outcome o;

    c->lines++;
    switch (sw_maillog_parse(line, len, &o)) {
    case SW_MAILLOG_OUTCOME:
        c->outcomes++;
        if (o.status == SW_OUTCOME_SENT)
            c->sent++;
        else if (o.status == SW_OUTCOME_DEFERRED)
            c->deferred++;
        else
            c->bounced++;
        break;
    case SW_MAILLOG_IGNORED: c->ignored++; break;
    case SW_MAILLOG_BAD: c->bad++; break;
    }
}

/* on_line_count - follow only */
static void
on_line_count(const char *line, size_t len, void *arg)
{
    struct counts *c = arg;

    (void) line;
    (void) len;
    c->lines++;
}

/* run_follow - one pass over the file; wall seconds, -1 on error */
static double
run_follow(const char *path, bool parse, struct counts *c, double *cpu, unsigned long *polls)
{
    struct sw_buf err;
    struct sw_follow *f;
    double t0, c0;
    long n;

    memset(c, 0, sizeof(*c));
    *polls = 0;
    sw_buf_init(&err, 1024);
    t0 = now(CLOCK_MONOTONIC);
    c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    if ((f = sw_follow_open(path, false, &err)) == NULL) {
        fprintf(stderr, "maillog_bench: %s\n", sw_buf_str(&err));
        sw_buf_free(&err);
        return -1;
    }
    do {
        n = sw_follow_poll(f, BENCH_POLL_BYTES, parse ? on_line_parse : on_line_count, c, &err);
        (*polls)++;
    } while (n > 0);
    sw_follow_close(f);
    *cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    t0 = now(CLOCK_MONOTONIC) - t0;
    if (n < 0) {
        fprintf(stderr, "maillog_bench: %s\n", sw_buf_str(&err));
        t0 = -1;
    }
    sw_buf_free(&err);
    return t0;
}

/* run_parse - parse the lines of an in-memory copy; wall seconds */
static double
run_parse(const char *text, size_t size, struct counts *c, double *cpu)
{
    const char *p = text, *end = text + size, *nl;
    double t0, c0;

    memset(c, 0, sizeof(*c));
    t0 = now(CLOCK_MONOTONIC);
    c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    while (p < end) {
        if ((nl = memchr(p, '\n', (size_t) (end - p))) == NULL)
            nl = end;
        on_line_parse(p, (size_t) (nl - p), c);
        p = nl + 1;
    }
    *cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    return now(CLOCK_MONOTONIC) - t0;
}

/* same_counts - a pass saw what was generated */
static bool
same_counts(const char *what, const struct counts *got, const struct counts *want, bool parsed)
{
    bool ok = got->lines == want->lines;

    if (parsed)
        ok = ok && got->outcomes == want->outcomes && got->ignored == want->ignored && got->bad == 0
             && got->sent == want->sent && got->deferred == want->deferred
             && got->bounced == want->bounced;
    if (!ok)
        fprintf(stderr,
                "maillog_bench: %s: counts differ: lines %lu/%lu outcomes %lu/%lu ignored %lu/%lu "
                "bad %lu sent %lu/%lu deferred %lu/%lu bounced %lu/%lu\n",
                what, got->lines, want->lines, got->outcomes, want->outcomes, got->ignored,
                want->ignored, got->bad, got->sent, want->sent, got->deferred, want->deferred,
                got->bounced, want->bounced);
    return ok;
}

/* by_value - qsort comparator for doubles */
static int
by_value(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}

/* read_all - the file into memory */
static char *
read_all(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    long len;

    if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0
        || fseek(fp, 0, SEEK_SET) != 0 || (buf = malloc((size_t) len + 1)) == NULL
        || fread(buf, 1, (size_t) len, fp) != (size_t) len) {
        fprintf(stderr, "maillog_bench: %s: cannot read\n", path);
        free(buf);
        buf = NULL;
    } else {
        *size = (size_t) len;
    }
    if (fp != NULL)
        (void) fclose(fp);
    return buf;
}

/* usage - and exit */
static void
usage(void)
{
    fprintf(stderr, "usage: maillog_bench [-n lines] [-r repeats] [-d seconds] [-c cpu] [-k]\n");
    exit(2);
}

/* main - generate, measure, report */
int
main(int argc, char **argv)
{
    unsigned long nlines = 1000000, polls = 0;
    long repeats = 3, seconds = 60, cpu_pin = -1;
    double wall[3][BENCH_MAX_REPEATS], cpu[3][BENCH_MAX_REPEATS], gen, deadline, t, c;
    const char *tmpdir = getenv("TMPDIR");
    struct counts want, got;
    char path[512], *end, *text;
    int opt, fd, done = 0, i, k, status = 0;
    bool keep = false;
    size_t size = 0;
    FILE *fp;

    while ((opt = getopt(argc, argv, "n:r:d:c:k")) != -1) {
        switch (opt) {
        case 'n':
            nlines = strtoul(optarg, &end, 10);
            if (*end || nlines == 0 || nlines > BENCH_MAX_LINES)
                usage();
            break;
        case 'r':
            repeats = strtol(optarg, &end, 10);
            if (*end || repeats < 1 || repeats > BENCH_MAX_REPEATS)
                usage();
            break;
        case 'd':
            seconds = strtol(optarg, &end, 10);
            if (*end || seconds < 1 || seconds > BENCH_MAX_SECONDS)
                usage();
            break;
        case 'c':
            cpu_pin = strtol(optarg, &end, 10);
            if (*end || cpu_pin < 0 || cpu_pin >= CPU_SETSIZE)
                usage();
            break;
        case 'k': keep = true; break;
        default: usage();
        }
    }
    if (cpu_pin >= 0) {
        cpu_set_t set;

        CPU_ZERO(&set);
        CPU_SET((int) cpu_pin, &set);
        if (sched_setaffinity(0, sizeof(set), &set) != 0)
            fprintf(stderr, "maillog_bench: cannot pin to cpu %ld: %s\n", cpu_pin, strerror(errno));
    }

    (void) snprintf(path, sizeof(path), "%s/maillog_bench.XXXXXX",
                    tmpdir && *tmpdir ? tmpdir : "/tmp");
    if ((fd = mkstemp(path)) < 0 || (fp = fdopen(fd, "w")) == NULL) {
        fprintf(stderr, "maillog_bench: %s: %s\n", path, strerror(errno));
        return 1;
    }
    t = now(CLOCK_MONOTONIC);
    if (generate(fp, nlines, &want) != 0 || fclose(fp) != 0) {
        (void) unlink(path);
        return 1;
    }
    gen = now(CLOCK_MONOTONIC) - t;
    if ((text = read_all(path, &size)) == NULL) {
        (void) unlink(path);
        return 1;
    }
    printf("maillog_bench: %lu lines (%.1f MB) in %s, generated in %.1f s: %lu outcomes "
           "(%lu sent, %lu deferred, %lu bounced), %lu other lines\n",
           nlines, (double) size / 1e6, path, gen, want.outcomes, want.sent, want.deferred,
           want.bounced, want.ignored);

    deadline = now(CLOCK_MONOTONIC) + (double) seconds;
    for (i = 0; i < repeats && now(CLOCK_MONOTONIC) < deadline; i++) {
        if ((t = run_follow(path, true, &got, &c, &polls)) < 0
            || !same_counts("follow+parse", &got, &want, true))
            status = 1;
        wall[0][i] = t;
        cpu[0][i] = c;
        if ((t = run_follow(path, false, &got, &c, &polls)) < 0
            || !same_counts("follow", &got, &want, false))
            status = 1;
        wall[1][i] = t;
        cpu[1][i] = c;
        t = run_parse(text, size, &got, &c);
        if (!same_counts("parse", &got, &want, true))
            status = 1;
        wall[2][i] = t;
        cpu[2][i] = c;
        done++;
    }
    free(text);
    if (!keep)
        (void) unlink(path);
    if (status != 0 || done == 0)
        return 1;

    for (k = 0; k < 3; k++) {
        static const char *const names[] = { "follow+parse", "follow", "parse" };

        qsort(wall[k], (size_t) done, sizeof(double), by_value);
        qsort(cpu[k], (size_t) done, sizeof(double), by_value);
        printf("%-13s best %10.0f lines/s  median %10.0f lines/s  (%.3f s wall, %.3f s cpu, "
               "%.0f ns/line)\n",
               names[k], (double) nlines / wall[k][0], (double) nlines / wall[k][done / 2],
               wall[k][0], cpu[k][0], wall[k][0] * 1e9 / (double) nlines);
    }
    printf("result: lines=%lu runs=%d polls=%lu poll_bytes=%u follow_parse_lines_per_s=%.0f "
           "median_lines_per_s=%.0f target=%.0f target_met=%s\n",
           nlines, done, polls, BENCH_POLL_BYTES, (double) nlines / wall[0][0],
           (double) nlines / wall[0][done / 2], BENCH_TARGET,
           (double) nlines / wall[0][done / 2] >= BENCH_TARGET ? "yes" : "no");
    return 0;
}
