/* rpath_dns.c - the DNS records a return-path domain needs (spillwayctl dns-records) */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "global/rpath_dns.h"

/* A provider's relay sends from the provider's pool, not from the address
 * its submission name resolves to: its SPF include is what covers it. */
static const struct {
    const char *suffix;
    const char *include;
} providers[] = {
    { ".outlook.com", "include:spf.protection.outlook.com" },
    { ".office365.com", "include:spf.protection.outlook.com" },
    { ".gmail.com", "include:_spf.google.com" },
    { ".google.com", "include:_spf.google.com" },
    { ".googlemail.com", "include:_spf.google.com" },
};

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static bool
has_word(const struct sw_buf *b, const char *w)
{
    const char *s = sw_buf_str(b), *p;
    size_t n = strlen(w);

    for (p = strstr(s, w); p; p = strstr(p + 1, w))
        if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

static void
add_mech(struct sw_buf *spf, const char *m)
{
    if (!has_word(spf, m + 1)) /* m starts with its space */
        sw_buf_adds(spf, m);
}

/* spf - one record covering every relay; notes say how each was covered */
static void
spf(const struct sw_conf *c, struct sw_buf *spf, struct sw_buf *notes)
{
    struct in6_addr a6;
    struct in_addr a4;
    char m[300];
    size_t i, j, k;
    bool covered;

    sw_buf_adds(spf, "v=spf1");
    for (i = 0; i < c->nrelays; i++) {
        const struct sw_relay *r = &c->relays[i];

        covered = false;
        for (j = 0; j < c->npools; j++)
            if (sw_strv_has(&c->pools[j].relays, r->name))
                for (k = 0; k < c->pools[j].egress.n; k++) {
                    (void) snprintf(m, sizeof(m), "%s%s",
                                    strchr(c->pools[j].egress.v[k], ':') ? " ip6:" : " ip4:",
                                    c->pools[j].egress.v[k]);
                    add_mech(spf, m);
                    covered = true;
                }
        if (covered) {
            sw_buf_printf(notes, ";   relay %s: the egress addresses of its pool\n", r->name);
            continue;
        }
        for (j = 0; j < sizeof(providers) / sizeof(providers[0]); j++)
            if (ends_with(r->host, providers[j].suffix)) {
                (void) snprintf(m, sizeof(m), " %s", providers[j].include);
                add_mech(spf, m);
                sw_buf_printf(notes, ";   relay %s: %s is a provider's relay: its include\n",
                              r->name, r->host);
                covered = true;
                break;
            }
        if (covered)
            continue;
        if (inet_pton(AF_INET, r->host, &a4) == 1 || inet_pton(AF_INET6, r->host, &a6) == 1) {
            (void) snprintf(m, sizeof(m), "%s%s", strchr(r->host, ':') ? " ip6:" : " ip4:",
                            r->host);
            add_mech(spf, m);
            sw_buf_printf(notes, ";   relay %s: its address\n", r->name);
            continue;
        }
        (void) snprintf(m, sizeof(m), " %s:%s", r->mx ? "mx" : "a", r->host);
        add_mech(spf, m);
        sw_buf_printf(notes,
                      ";   relay %s: the addresses of %s (if it sends from other addresses, "
                      "list them as the pool's egress, or use its provider's include)\n",
                      r->name, r->host);
    }
    sw_buf_adds(spf, " ~all");
}

static void
records(const char *domain, const char *mx, const struct sw_buf *spfrec, struct sw_buf *out)
{
    sw_buf_printf(out, "%s.\tIN MX 10 %s.\n", domain, mx);
    sw_buf_printf(out, "%s.\tIN TXT \"%s\"\n", domain, sw_buf_str(spfrec));
}

/* sw_rpath_dns - the records, as zone-file lines with comments */
void
sw_rpath_dns(const struct sw_conf *c, const char *mx, struct sw_buf *out)
{
    const struct sw_rpath_conf *rp = &c->milter.rp;
    struct sw_buf rec, notes;
    size_t i;

    if (!sw_rpath_on(rp)) {
        sw_buf_adds(out, "; milter.return_path is not set: no return-path domain to publish\n");
        return;
    }
    sw_buf_init(&rec, 4096);
    sw_buf_init(&notes, 4096);
    spf(c, &rec, &notes);
    sw_buf_adds(out, "; The return-path domains of milter.return_path.  Each needs:\n"
                     ";  - an MX to this host, so that bounces and auto-replies come here;\n"
                     ";  - an SPF record covering every relay that may send our mail, the\n"
                     ";    primary and each alternate (a diversion must not fail SPF):\n");
    sw_buf_adds(out, sw_buf_str(&notes));
    sw_buf_adds(out, ";    \"~all\": a relay left out soft-fails rather than loses mail;\n"
                     ";  - no A record and no mailboxes: only spillway's addresses live there.\n");
    if (rp->domain) {
        sw_buf_printf(out,
                      ";\n; Fixed domain %s, for every sender.  DMARC: SPF aligns (relaxed) only\n"
                      "; for From domains with the same organisational domain; for the others\n"
                      "; DMARC rests on DKIM, which the relays sign with the From domain.\n",
                      rp->domain);
        records(rp->domain, mx, &rec, out);
    }
    if (rp->subdomain) {
        sw_buf_printf(out,
                      ";\n; One domain per sender domain (\"%s.<sender domain>\"): SPF aligns with\n"
                      "; the From domain in DMARC's relaxed mode (aspf=r, the default).\n",
                      rp->subdomain);
        for (i = 0; i < rp->sender_domains.n; i++) {
            const char *d = rp->sender_domains.v[i];
            char name[300];

            if (d[0] == '*' || d[0] == '.') {
                sw_buf_printf(out, "; %s: the same two records at %s.<each domain>\n", d,
                              rp->subdomain);
                continue;
            }
            (void) snprintf(name, sizeof(name), "%s.%s", rp->subdomain, d);
            records(name, mx, &rec, out);
        }
    }
    sw_buf_free(&rec);
    sw_buf_free(&notes);
}
