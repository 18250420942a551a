/* analyze.c - a bounce, read and judged: one finding per recipient */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "global/analyze.h"
#include "global/attrib.h"

/* rcpt_domain - the recipient's domain, lower case, no trailing dot */
static void
rcpt_domain(const char *rcpt, char *out, size_t size)
{
    const char *at = strrchr(rcpt, '@');
    size_t n, i;

    out[0] = '\0';
    if (at == NULL || at[1] == '\0')
        return;
    at++;
    n = strcspn(at, " \t<>");
    if (n && at[n - 1] == '.')
        n--;
    if (n == 0 || n >= size)
        return;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) at[i];

        if (!isalnum(c) && c != '-' && c != '.' && c != '_') {
            out[0] = '\0'; /* an address literal or junk: no destination */
            return;
        }
        out[i] = (char) tolower(c);
    }
    out[n] = '\0';
}

/* sw_analyze - parse, verify, attribute, classify */
void
sw_analyze(const struct sw_conf *conf, const struct sw_tag_keys *keys, const char *msg, size_t len,
           time_t now, struct sw_analysis *a)
{
    sw_analyze_to(conf, keys, msg, len, NULL, now, a);
}

/* sw_analyze_to - the same, with the envelope recipient's return path */
void
sw_analyze_to(const struct sw_conf *conf, const struct sw_tag_keys *keys, const char *msg,
              size_t len, const char *rcpt, time_t now, struct sw_analysis *a)
{
    const char *hosts[SW_BOUNCE_HOSTS_MAX], *ips[SW_BOUNCE_IPS_MAX];
    char reason[SW_BOUNCE_DIAG_MAX + 64];
    struct sw_finding *f;
    size_t i, n;

    memset(a, 0, sizeof(*a));
    (void) sw_bounce_parse(msg, len, &a->b);
    a->tag = sw_tag_check(keys, a->b.tag, a->b.message_id, now, conf->milter.tag_max_age,
                          a->tag_id);
    sw_rpath_check(&conf->milter.rp, keys, rcpt, now, &a->rp);
    if (a->tag != SW_TAG_VALID && a->rp.state == SW_RPATH_VALID) {
        /* The provider's NDR rarely quotes our header; the address it was
         * sent to is ours and bound to one sender and day.  Its canonical
         * form keys the guard and its tag_cap (guard.h). */
        a->tag = SW_TAG_VALID;
        SW_COPY(a->tag_id, a->rp.id);
        a->via_rp = true;
    }
    for (i = 0; i < a->b.nhosts; i++)
        hosts[i] = a->b.hosts[i];
    for (i = 0; i < a->b.nips; i++)
        ips[i] = a->b.ips[i];
    a->pool = sw_attrib_named_pool(conf, hosts, a->b.nhosts, ips, a->b.nips);
    /* The egress IP it names is what a DNSBL check of the pool needs. */
    for (i = 0; a->pool && !a->egress[0] && i < a->b.nips; i++)
        for (n = 0; n < a->pool->egress.n; n++)
            if (sw_cidr_match(a->pool->egress.v[n], a->b.ips[i])) {
                SW_COPY(a->egress, a->b.ips[i]);
                break;
            }
    for (i = 0; i < a->b.nrcpt; i++) {
        f = &a->f[a->n++];
        f->r = &a->b.rcpt[i];
        f->failed = sw_bounce_rcpt_failed(f->r);
        rcpt_domain(f->r->rcpt, f->domain, sizeof(f->domain));
        f->v.cls = SW_CLASS_OTHER;
        if (f->failed && conf->patterns) {
            n = sw_bounce_reason(f->r, reason, sizeof(reason));
            sw_classify(conf->patterns, reason, n, &f->v);
        }
        f->trusted = f->failed && a->tag == SW_TAG_VALID && a->pool != NULL && f->domain[0];
    }
}


/* sw_analysis_explain - classify the failed recipients again, with all
 * the cues (the mail path keeps only the deciding pattern) */
void
sw_analysis_explain(const struct sw_conf *conf, struct sw_analysis *a)
{
    char reason[SW_BOUNCE_DIAG_MAX + 64];
    size_t i, n;

    for (i = 0; conf->patterns && i < a->n; i++)
        if (a->f[i].failed) {
            n = sw_bounce_reason(a->f[i].r, reason, sizeof(reason));
            sw_classify_cues(conf->patterns, reason, n, &a->f[i].v);
        }
}

/* sw_analysis_evrec - the record sent to spillway-routed */
void
sw_analysis_evrec(const struct sw_analysis *a, size_t i, time_t now, const char *client,
                  struct sw_evrec *r)
{
    const struct sw_finding *f = &a->f[i];
    char reason[SW_BOUNCE_DIAG_MAX + 64];

    memset(r, 0, sizeof(*r));
    r->ev.time = now;
    r->ev.source = SW_EV_DSN;
    r->ev.cls = f->v.cls;
    r->ev.trusted = f->trusted;
    r->ev.code = f->r->code >= 200 && f->r->code <= 599 ? f->r->code : 0;
    if (a->pool)
        SW_COPY(r->ev.pool, a->pool->name);
    SW_COPY(r->ev.domain, f->domain);
    SW_COPY(r->ev.rcpt, f->r->rcpt);
    SW_COPY(r->ev.id, a->b.message_id);
    SW_COPY(r->ev.dsn, f->r->status);
    if (f->v.name)
        SW_COPY(r->ev.pattern, f->v.name);
    SW_COPY(r->ev.egress, a->egress);
    (void) sw_bounce_reason(f->r, reason, sizeof(reason));
    SW_COPY(r->ev.text, reason);
    SW_COPY(r->tag, sw_tag_state_name(a->tag));
    SW_COPY(r->client, client ? client : "");
}

static void
json_field(struct sw_buf *out, const char *key, const char *value, bool more)
{
    sw_buf_add_json(out, key);
    sw_buf_addc(out, ':');
    if (value == NULL || *value == '\0')
        sw_buf_adds(out, "null");
    else
        sw_buf_add_json(out, value);
    if (more)
        sw_buf_addc(out, ',');
}

/* json_cues - "cues":["ip-blocked","missing-ptr"], the names only (the
 * reply text is in "diagnostic") */
static void
json_cues(struct sw_buf *out, const struct sw_finding *f)
{
    size_t i;

    sw_buf_adds(out, "\"cues\":[");
    for (i = 0; f && i < f->v.ncues; i++) {
        if (i)
            sw_buf_addc(out, ',');
        sw_buf_add_json(out, f->v.cue[i].name);
    }
    sw_buf_adds(out, "],");
}

/* json_record - the fields of one line of --analyze output; f NULL: no recipient */
static void
json_record(const struct sw_analysis *a, const struct sw_finding *f, const char *file,
            struct sw_buf *out)
{
    const struct sw_bounce_rcpt *r = f ? f->r : NULL;

    sw_buf_addc(out, '{');
    json_field(out, "file", file, true);
    json_field(out, "recipient", r ? r->rcpt : NULL, true);
    sw_buf_printf(out, "\"failed\":%s,", f && f->failed ? "true" : "false");
    json_field(out, "action", r ? r->action : NULL, true);
    json_field(out, "status", r ? r->status : NULL, true);
    if (r && r->code)
        sw_buf_printf(out, "\"code\":%d,", r->code);
    else
        sw_buf_adds(out, "\"code\":null,");
    json_field(out, "remote_mta", r ? r->remote_mta : NULL, true);
    json_field(out, "diagnostic", r ? r->diagnostic : NULL, true);
    json_field(out, "class", f ? sw_class_name(f->v.cls) : NULL, true);
    json_field(out, "tier", f && f->v.name ? sw_tier_name(f->v.tier) : NULL, true);
    json_field(out, "pattern", f ? f->v.name : NULL, true);
    json_cues(out, f);
    json_field(out, "pool", a->pool ? a->pool->name : NULL, true);
    json_field(out, "tag", sw_tag_state_name(a->tag), true);
    json_field(out, "tag_from", a->tag == SW_TAG_VALID ? (a->via_rp ? "return-path" : "header") : NULL,
               true);
    json_field(out, "return_path",
               a->rp.state == SW_RPATH_NOT_OURS ? NULL : sw_rpath_state_name(a->rp.state), true);
    sw_buf_printf(out, "\"trusted\":%s,", f && f->trusted ? "true" : "false");
    json_field(out, "kind", sw_bounce_kind_name(a->b.kind), false);
    sw_buf_addc(out, '}');
}

/* sw_analysis_json - one line of --analyze output */
void
sw_analysis_json(const struct sw_analysis *a, size_t i, const char *file, struct sw_buf *out)
{
    json_record(a, &a->f[i], file, out);
}

/* sw_analysis_json_none - the line of a file without a recipient */
void
sw_analysis_json_none(const struct sw_analysis *a, const char *file, struct sw_buf *out)
{
    json_record(a, NULL, file, out);
}
