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

/* copy_addr - the addr-spec of an address field value, or "" when none
 * can be read: type stripped (RFC 3464 section 2.3.2), angle brackets
 * and a trailing comment gone, and an obsolete source route
 * ("@relay,@relay2:user@host", RFC 5321 section 4.1.2 and C.1) dropped.
 * A token with an "@" inside that is not an ASCII addr-spec (an RFC 6533
 * UTF-8 address) is kept as it stands. */
static void
copy_addr(char *out, size_t size, const char *value)
{
    const char *s = sw_bounce_strip_type(value), *colon;
    size_t n, at;

    while (*s == ' ' || *s == '<')
        s++;
    if (*s == '@' && (colon = strchr(s, ':')) != NULL)
        for (s = colon + 1; *s == ' ' || *s == '<';)
            s++;
    if ((n = sw_bounce_addr_len(s, strlen(s))) == 0) {
        for (at = 0; s[n] != '\0' && !b_is_space(s[n]) && s[n] != '>'; n++)
            if (s[n] == '@')
                at = n;
        if (at == 0 || at + 1 == n)
            n = 0;
    }
    b_copy(out, size, s, n);
}

/* A recipient group of a delivery-status part, while it is read. */
struct dsn_group {
    struct sw_bounce_rcpt r;
    char final[SW_BOUNCE_ADDR_MAX];
    char original[SW_BOUNCE_ADDR_MAX];
    bool has_final, has_original; /* the fields were there, readable or not */
};

/* dsn_flush - a finished group becomes a record: when it names a
 * recipient, or when it reports a failure of one whose address cannot
 * be read (a record without an address: evidence all the same) */
static void
dsn_flush(struct sw_bounce *b, struct dsn_group *g)
{
    const char *addr = g->final[0] ? g->final : g->original;
    struct sw_bounce_rcpt *r;

    if ((addr[0] != '\0' || sw_bounce_rcpt_failed(&g->r))
        && (r = sw_bounce_rcpt_add(b, addr, strlen(addr))) != NULL) {
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
        if ((final && g->has_final) || (!final && g->has_original))
            dsn_flush(b, g);
        copy_addr(final ? g->final : g->original, sizeof(g->final), value);
        if (final)
            g->has_final = true;
        else
            g->has_original = true;
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
        /* The per-message group has neither recipient nor Action. */
        if (g.has_final || g.has_original || g.r.action[0] || g.r.status[0])
            dsn_flush(b, &g);
    }
}
