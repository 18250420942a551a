/* bounce_dsn.c - the fields of an RFC 3464 message/delivery-status part */

/*
 * RFC 3464 section 2: per-message fields (Reporting-MTA), then one group
 * of fields per recipient, groups separated by empty lines.  Real
 * reports bend this: groups run together without the empty line, Action
 * comes before Final-Recipient, a recipient is reported twice (two
 * attempts).  So a group also ends where a second Final-Recipient (or
 * Original-Recipient) starts, fields are kept until the group ends, and a
 * second group for an address only fills what the first lacked.
 */
#include "config.h"

#include <string.h>

#include "global/bounce_impl.h"
#include "util/mime.h"

/* copy_addr - an address field value: type stripped, angle brackets gone */
static void
copy_addr(char *out, size_t size, const char *value)
{
    const char *s = sw_bounce_strip_type(value), *e;

    while (*s == ' ' || *s == '<')
        s++;
    for (e = s + strlen(s); e > s && (b_is_space(e[-1]) || e[-1] == '>'); e--)
        ;
    b_copy(out, size, s, (size_t) (e - s));
}

/* A recipient group of a delivery-status part, while it is read. */
struct dsn_group {
    struct sw_bounce_rcpt r;
    char final[SW_BOUNCE_ADDR_MAX];
    char original[SW_BOUNCE_ADDR_MAX];
};

/* dsn_flush - a finished group becomes a record (when it names a recipient) */
static void
dsn_flush(struct sw_bounce *b, struct dsn_group *g)
{
    const char *addr = g->final[0] ? g->final : g->original;
    struct sw_bounce_rcpt *r;

    if (addr[0] != '\0' && (r = sw_bounce_rcpt_add(b, addr, strlen(addr))) != NULL) {
        /* A second group for the same address (another attempt) adds
         * only what the first one lacked. */
        if (r->action[0] == '\0')
            memcpy(r->action, g->r.action, sizeof(r->action));
        if (r->status[0] == '\0')
            memcpy(r->status, g->r.status, sizeof(r->status));
        if (r->remote_mta[0] == '\0')
            memcpy(r->remote_mta, g->r.remote_mta, sizeof(r->remote_mta));
        if (r->diagnostic[0] == '\0')
            memcpy(r->diagnostic, g->r.diagnostic, sizeof(r->diagnostic));
    }
    memset(g, 0, sizeof(*g));
}

/* dsn_field - one field of a delivery-status part */
static void
dsn_field(struct sw_bounce *b, void *arg, const char *name, const char *value)
{
    struct dsn_group *g = arg;
    const char *v;
    size_t n;

    if (sw_mime_ieq(name, "Reporting-MTA")) {
        if (b->reporting_mta[0] == '\0') {
            b_copy(b->reporting_mta, sizeof(b->reporting_mta), sw_bounce_strip_type(value),
                           strlen(sw_bounce_strip_type(value)));
            v = b->reporting_mta;
            for (n = 0; v[n] && !b_is_space(v[n]); n++)
                ;
            sw_bounce_add_host(b, v, n);
        }
        return;
    }
    if (sw_mime_ieq(name, "Final-Recipient") || sw_mime_ieq(name, "Original-Recipient")) {
        bool final = b_lower(name[0]) == 'f';

        /* RFC 3464 section 2.3: a group per recipient; some reports run
         * the groups together, so a second Final- (or Original-)
         * Recipient starts the next one. */
        if ((final && g->final[0]) || (!final && g->original[0]))
            dsn_flush(b, g);
        copy_addr(final ? g->final : g->original, sizeof(g->final), value);
    } else if (sw_mime_ieq(name, "Action")) {
        for (n = 0;
             value[n] && !b_is_space(value[n]) && value[n] != '(' && n + 1 < sizeof(g->r.action);
             n++)
            g->r.action[n] = b_lower(value[n]);
        g->r.action[n] = '\0';
    } else if (sw_mime_ieq(name, "Status")) {
        if ((n = sw_bounce_status_len(value)) > 0 && n < sizeof(g->r.status))
            b_copy(g->r.status, sizeof(g->r.status), value, n);
    } else if (sw_mime_ieq(name, "Remote-MTA")) {
        v = sw_bounce_strip_type(value);
        b_copy(g->r.remote_mta, sizeof(g->r.remote_mta), v, strlen(v));
    } else if (sw_mime_ieq(name, "Diagnostic-Code")) {
        if (g->r.diagnostic[0] == '\0')
            sw_bounce_set_diag(&g->r, value, strlen(value));
    }
}

/* sw_bounce_dsn - the fields of a message/delivery-status body */
void
sw_bounce_dsn(struct sw_bounce *b, const char *s, size_t n, char *field, size_t size)
{
    struct sw_mime_cursor c = { s, s + n };
    char name[SW_BOUNCE_NAME_MAX];
    struct dsn_group g;
    bool cut;

    memset(&g, 0, sizeof(g));
    while (c.p < c.end) {
        /* An empty line ends a group (RFC 3464 section 2.1). */
        while (sw_mime_field(&c, name, sizeof(name), field, size, &cut)) {
            if (cut)
                b->truncated = true;
            dsn_field(b, &g, name, field);
        }
        if (g.final[0] || g.original[0])
            dsn_flush(b, &g);
    }
}
