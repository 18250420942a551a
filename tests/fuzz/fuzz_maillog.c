/* fuzz_maillog.c - fuzz target: mail log lines */

/*
 * The input is a piece of a mail log: it is split at "\n" and each line is
 * parsed, from a heap copy of exactly its length so that AddressSanitizer
 * sees any read past it (len is authoritative; the line is not
 * NUL-terminated).  Every outcome is checked against the contract of
 * maillog.h, and every other recipient of a Sendmail list must parse to
 * the same outcome apart from rcpt and domain.  The line's timestamp
 * (logtime.h) is read too, at a fixed "now" so that a run repeats: a
 * parsed time must be one the evidence check can judge.  A broken
 * invariant abort()s so the fuzzer reports it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/logtime.h"
#include "util/maillog.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Recipients of one line re-parsed by index (the rest are only counted). */
#define FZ_MAX_RCPT_CHECK 8

/* terminated - a NUL within the array */
static bool
terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

/* domain_of - the domain is what follows an "@" at the end of rcpt, lower-cased */
static bool
domain_of(const char *rcpt, const char *domain)
{
    size_t n = strlen(rcpt), d = strlen(domain), i;
    char c;

    if (d == 0)
        return true;
    if (n < d + 1 || rcpt[n - d - 1] != '@')
        return false;
    for (i = 0; i < d; i++) {
        c = rcpt[n - d + i];
        if (c >= 'A' && c <= 'Z')
            c = (char) (c - 'A' + 'a');
        if (c != domain[i])
            return false;
    }
    return true;
}

/* check_outcome - the contract of struct sw_outcome */
static void
check_outcome(const struct sw_outcome *o)
{
    if (!terminated(o->queue_id, sizeof(o->queue_id)) || !terminated(o->rcpt, sizeof(o->rcpt))
        || !terminated(o->domain, sizeof(o->domain))
        || !terminated(o->relay_host, sizeof(o->relay_host))
        || !terminated(o->relay_addr, sizeof(o->relay_addr)) || !terminated(o->dsn, sizeof(o->dsn))
        || !terminated(o->text, sizeof(o->text)))
        abort();
    if (o->mta != SW_OUTCOME_POSTFIX && o->mta != SW_OUTCOME_SENDMAIL)
        abort();
    if (o->status != SW_OUTCOME_SENT && o->status != SW_OUTCOME_DEFERRED
        && o->status != SW_OUTCOME_BOUNCED)
        abort();
    if (o->queue_id[0] == '\0' || o->rcpt[0] == '\0' || o->nrcpt == 0)
        abort();
    if (o->mta == SW_OUTCOME_POSTFIX && (o->nrcpt != 1 || o->rcpt_more))
        abort();
    if (!fz_plain(o->queue_id, false) || !fz_plain(o->rcpt, false) || !fz_plain(o->domain, true)
        || !fz_plain(o->relay_host, true) || !fz_plain(o->relay_addr, true)
        || !fz_plain(o->text, false))
        abort();
    if (!fz_status_shape(o->dsn))
        abort();
    if (o->relay_port < 0 || o->relay_port > 65535
        || (o->mta == SW_OUTCOME_SENDMAIL && o->relay_port != 0))
        abort();
    if (o->reply_code != 0 && (o->reply_code < 200 || o->reply_code > 599))
        abort();
    if (o->from_remote && o->reply_code == 0)
        abort();
    if (o->text_cut && strlen(o->text) != SW_OUTCOME_TEXT_MAX)
        abort();
    if (!domain_of(o->rcpt, o->domain))
        abort();
}

/* same_but_rcpt - two parses of one line differ only in rcpt and domain */
static bool
same_but_rcpt(const struct sw_outcome *a, const struct sw_outcome *b)
{
    return a->mta == b->mta && a->status == b->status && strcmp(a->queue_id, b->queue_id) == 0
           && strcmp(a->relay_host, b->relay_host) == 0 && strcmp(a->relay_addr, b->relay_addr) == 0
           && a->relay_port == b->relay_port && strcmp(a->dsn, b->dsn) == 0
           && a->reply_code == b->reply_code && strcmp(a->text, b->text) == 0
           && a->text_cut == b->text_cut && a->from_remote == b->from_remote && a->nrcpt == b->nrcpt
           && a->rcpt_more == b->rcpt_more;
}

/* check_line - one line */
static void
check_line(const char *line, size_t len)
{
    struct sw_outcome o, other;
    enum sw_maillog_result r;
    enum sw_logtime_verdict v;
    time_t t = 0;
    size_t i;

    /* 2026-12-03T10:00:00Z: fixed, so that a crash reproduces. */
    if (sw_logtime_parse(line, len, (time_t) 1796292000, &t)) {
        v = sw_logtime_check(t, (time_t) 1796292000);
        if (v != SW_LOGTIME_OK && v != SW_LOGTIME_FUTURE && v != SW_LOGTIME_OLD)
            abort();
    }
    r = sw_maillog_parse(line, len, &o);
    if (r != SW_MAILLOG_OUTCOME) {
        if (r != SW_MAILLOG_IGNORED && r != SW_MAILLOG_BAD)
            abort();
        /* Whatever the result, the strings stay terminated. */
        if (!terminated(o.rcpt, sizeof(o.rcpt)) || !terminated(o.text, sizeof(o.text)))
            abort();
        return;
    }
    check_outcome(&o);
    for (i = 1; i < o.nrcpt && i < FZ_MAX_RCPT_CHECK; i++) {
        if (sw_maillog_parse_rcpt(line, len, i, &other) != SW_MAILLOG_OUTCOME)
            abort();
        check_outcome(&other);
        if (!same_but_rcpt(&o, &other))
            abort();
    }
    if (sw_maillog_parse_rcpt(line, len, o.nrcpt, &other) != SW_MAILLOG_BAD)
        abort();
}

/* LLVMFuzzerTestOneInput - a piece of a mail log */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *) data, *nl;
    size_t off = 0, len;
    char *copy;

    while (off < size) {
        nl = memchr(in + off, '\n', size - off);
        len = nl ? (size_t) (nl - (in + off)) : size - off;
        if ((copy = malloc(len ? len : 1)) == NULL)
            abort();
        memcpy(copy, in + off, len);
        check_line(copy, len);
        free(copy);
        off += len + 1;
    }
    return 0;
}
