/* routed_dnsbl.c - DNSBL checks of blamed egress IPs and of the alternates */

/*
 * DESIGN.md 6.  Two kinds of address are checked against dnsbl.zones
 * through dnsbl.resolver: the egress IPs that evidence blames (the IP in
 * a reputation or throttle text, inside the pool's egress CIDRs when the
 * pool names any: a shared pool sends from whichever IP it picks, so an
 * IP is worth checking only once a receiver named it), and the addresses
 * of the alternates (dnsbl.alternates).  A listing of a blamed IP keeps
 * its scopes diverted at the end of their hold (routed_decide.c asks
 * routed_dnsbl_scope_listed); a listed alternate is not eligible
 * (health.c), and routing follows through the listing_changed callback
 * the caller gave at start, so that this file never calls back up into
 * routed_decide.c.  Each address is checked
 * every dnsbl.interval; a resolver error (127.255.255.x, SERVFAIL,
 * timeout) changes nothing and is logged once per change.
 *
 * Owns: the table of checked addresses (bounded: the oldest blamed IP
 * makes room), its own c-ares channel.
 */
#include "config.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "global/attrib.h"
#include "global/dnsbl.h"
#include "util/log.h"
#include "routed.h"
#include "routed_dns.h"

#define DNSBL_ADDRS 256
#define DNSBL_ZONES 8

struct zstate {
    enum sw_dnsbl_verdict verdict; /* CLEAN until an answer says otherwise */
    bool known, in_flight;
    char code[96];     /* listed: the answer; error: why */
    time_t next, since;
    char said[100];    /* the last answer logged, "verdict why" */
};

struct entry {
    char ip[SW_IP_MAX + 1];
    bool blamed;       /* named by evidence */
    bool alternate;    /* an address of an alternate */
    time_t learned;
    struct zstate z[DNSBL_ZONES];
};

struct qarg {
    struct routed_dnsbl *db;
    unsigned gen;
    char ip[SW_IP_MAX + 1];
    size_t zone;
};

struct routed_dnsbl {
    struct routed *rd;
    routed_changed_fn listing_changed; /* an alternate's listing changed */
    struct routed_dns *dns;
    struct event *tick;
    struct entry *e;
    size_t n;
    unsigned gen;
};

/* find - an entry by address */
static struct entry *
find(const struct routed_dnsbl *db, const char *ip)
{
    size_t i;

    for (i = 0; db && i < db->n; i++)
        if (strcmp(db->e[i].ip, ip) == 0)
            return &db->e[i];
    return NULL;
}

/* add - an entry (the oldest blamed-only entry makes room) */
static struct entry *
add(struct routed_dnsbl *db, const char *ip, time_t now)
{
    struct entry *e = find(db, ip);
    size_t i, victim = DNSBL_ADDRS;

    if (e)
        return e;
    if (db->n == DNSBL_ADDRS) {
        for (i = 0; i < db->n; i++)
            if (!db->e[i].alternate
                && (victim == DNSBL_ADDRS || db->e[i].learned < db->e[victim].learned))
                victim = i;
        if (victim == DNSBL_ADDRS)
            return NULL;
        db->e[victim] = db->e[--db->n];
    }
    e = &db->e[db->n++];
    memset(e, 0, sizeof(*e));
    SW_COPY(e->ip, ip);
    e->learned = now;
    return e;
}

/* listed_in - "IP in ZONE (CODE)" of the first listing, or false */
static bool
listed_in(const struct routed_dnsbl *db, const struct entry *e, char *why, size_t size)
{
    const struct sw_strv *zones = &db->rd->conf->dnsbl.zones;
    size_t z;

    for (z = 0; z < zones->n && z < DNSBL_ZONES; z++)
        if (e->z[z].known && e->z[z].verdict == SW_DNSBL_LISTED) {
            if (why)
                (void) snprintf(why, size, "%s listed in %s (%s)", e->ip, zones->v[z],
                                e->z[z].code);
            return true;
        }
    return false;
}

/* mark_relays - copy an alternate address's listing into the health view */
static void
mark_relays(struct routed_dnsbl *db, const struct entry *e)
{
    struct routed *rd = db->rd;
    struct sw_relay_health *h = (struct sw_relay_health *) rd->health;
    char why[160];
    bool listed = listed_in(db, e, why, sizeof(why)), changed = false;
    size_t i, k;

    for (i = 0; h && i < rd->conf->nrelays; i++) {
        if (rd->conf->relays[i].role != SW_ROLE_ALTERNATE)
            continue;
        for (k = 0; k < h[i].naddrs; k++) {
            if (strcmp(h[i].addr[k].ip, e->ip) != 0)
                continue;
            if (listed != (h[i].addr[k].listed[0] != '\0'))
                changed = true;
            SW_COPY(h[i].addr[k].listed, listed ? why : "");
        }
    }
    if (changed)
        db->listing_changed(rd);
}

/* answer_cb - one zone's answer for one address */
static void
answer_cb(const struct routed_dns_answer *a, void *arg)
{
    struct qarg *q = arg;
    struct routed_dnsbl *db = q->db;
    struct entry *e;
    struct zstate *z;
    enum sw_dnsbl_verdict v;
    char why[96], said[100];
    time_t now = time(NULL);

    if (a->status == DNS_CANCELLED || q->gen != db->gen || (e = find(db, q->ip)) == NULL
        || q->zone >= db->rd->conf->dnsbl.zones.n) {
        free(q);
        return;
    }
    z = &e->z[q->zone];
    z->in_flight = false;
    z->next = now + db->rd->conf->dnsbl.interval;
    v = sw_dnsbl_verdict(a->status == DNS_NXDOMAIN, a->status == DNS_FAILED,
                         (const char (*)[SW_IP_MAX + 1]) a->addr,
                         a->status == DNS_OK ? a->n : 0, why, sizeof(why));
    if (v == SW_DNSBL_ERROR && a->status == DNS_FAILED)
        (void) snprintf(why, sizeof(why), "%s", a->error);
    (void) snprintf(said, sizeof(said), "%d %s", (int) v, why);
    if (strcmp(said, z->said) != 0) {
        SW_COPY(z->said, said);
        if (v == SW_DNSBL_ERROR)
            sw_warn("dnsbl: ip=%s zone=%s state=error why=\"%s\" kept=%s", e->ip,
                    db->rd->conf->dnsbl.zones.v[q->zone], why,
                    z->known ? sw_dnsbl_verdict_name(z->verdict) : "unknown");
        else
            sw_info("dnsbl: ip=%s zone=%s state=%s%s%s source=%s%s", e->ip,
                    db->rd->conf->dnsbl.zones.v[q->zone], sw_dnsbl_verdict_name(v),
                    v == SW_DNSBL_LISTED ? " code=" : "", v == SW_DNSBL_LISTED ? why : "",
                    e->blamed ? "evidence" : "alternate", e->blamed && e->alternate ? "+alternate" : "");
    }
    if (v != SW_DNSBL_ERROR) {
        if (!z->known || v != z->verdict)
            z->since = now;
        z->known = true;
        z->verdict = v;
        SW_COPY(z->code, why);
        if (e->alternate)
            mark_relays(db, e);
    }
    free(q);
}

/* check - query one zone for one address */
static void
check(struct routed_dnsbl *db, struct entry *e, size_t zone)
{
    char name[300];
    struct qarg *q;

    if (!sw_dnsbl_query_name(e->ip, db->rd->conf->dnsbl.zones.v[zone], name, sizeof(name))
        || (q = calloc(1, sizeof(*q))) == NULL) {
        e->z[zone].next = time(NULL) + db->rd->conf->dnsbl.interval;
        return;
    }
    q->db = db;
    q->gen = db->gen;
    q->zone = zone;
    SW_COPY(q->ip, e->ip);
    e->z[zone].in_flight = true;
    routed_dns_query(db->dns, name, 1, answer_cb, q);
}

/* routed_dnsbl_relays_changed - the alternates' current addresses are
 * the ones checked (called when a relay's address set changes) */
void
routed_dnsbl_relays_changed(struct routed *rd)
{
    struct routed_dnsbl *db = rd->dnsbl;
    const struct sw_relay_health *h = rd->health;
    time_t now = time(NULL);
    struct entry *e;
    size_t i, k;

    if (db == NULL)
        return;
    for (i = 0; i < db->n; i++)
        db->e[i].alternate = false;
    if (!rd->conf->dnsbl.alternates || rd->conf->dnsbl.zones.n == 0 || h == NULL)
        return;
    for (i = 0; i < rd->conf->nrelays; i++) {
        if (rd->conf->relays[i].role != SW_ROLE_ALTERNATE)
            continue;
        for (k = 0; k < h[i].naddrs; k++)
            if ((e = add(db, h[i].addr[k].ip, now)) != NULL) {
                e->alternate = true;
                mark_relays(db, e); /* an address already known listed */
            }
    }
}

/* tick_cb - start the checks that are due */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_dnsbl *db = arg;
    time_t now = time(NULL);
    size_t i, z, nz = db->rd->conf->dnsbl.zones.n;

    (void) fd;
    (void) what;
    if (db->dns == NULL || nz == 0)
        return;
    for (i = 0; i < db->n; i++) {
        if (!db->e[i].blamed && !db->e[i].alternate)
            continue;
        for (z = 0; z < nz && z < DNSBL_ZONES; z++)
            if (!db->e[i].z[z].in_flight && db->e[i].z[z].next <= now)
                check(db, &db->e[i], z);
    }
}

/* open_dns - the channel for DNSBL queries */
static void
open_dns(struct routed_dnsbl *db)
{
    const struct sw_conf *c = db->rd->conf;
    struct sw_buf err;

    if (c->dnsbl.zones.n == 0)
        return;
    sw_buf_init(&err, 1024);
    db->dns = routed_dns_new(db->rd->base, c->dnsbl.resolver ? c->dnsbl.resolver : c->dns.resolver,
                             c->dns.timeout, &err);
    if (db->dns == NULL)
        sw_error("dnsbl: %s: no DNSBL checks", sw_buf_str(&err));
    sw_buf_free(&err);
}

/* routed_dnsbl_start - the table and its tick */
struct routed_dnsbl *
routed_dnsbl_start(struct routed *rd, routed_changed_fn listing_changed)
{
    struct routed_dnsbl *db = calloc(1, sizeof(*db));
    struct timeval one = { 1, 0 };

    if (db == NULL || (db->e = calloc(DNSBL_ADDRS, sizeof(*db->e))) == NULL) {
        free(db);
        return NULL;
    }
    db->rd = rd;
    db->listing_changed = listing_changed;
    if ((db->tick = event_new(rd->base, -1, EV_PERSIST, tick_cb, db)) == NULL
        || event_add(db->tick, &one) < 0) {
        routed_dnsbl_stop(db);
        return NULL;
    }
    open_dns(db);
    return db;
}

/* routed_dnsbl_reload - zones or resolver may have changed: check again */
void
routed_dnsbl_reload(struct routed_dnsbl *db)
{
    size_t i;

    if (db == NULL)
        return;
    db->gen++;
    routed_dns_free(db->dns);
    db->dns = NULL;
    for (i = 0; i < db->n; i++)
        memset(db->e[i].z, 0, sizeof(db->e[i].z));
    open_dns(db);
    routed_dnsbl_relays_changed(db->rd);
}

/* routed_dnsbl_stop - free */
void
routed_dnsbl_stop(struct routed_dnsbl *db)
{
    if (db == NULL)
        return;
    db->gen++;
    routed_dns_free(db->dns);
    if (db->tick)
        event_free(db->tick);
    free(db->e);
    free(db);
}

/* blamed_ips - the addresses an evidence text blames, within the pool's
 * egress CIDRs when it has any */
static size_t
blamed_ips(const struct sw_conf *c, const char *pool_name, const char *text, const char *egress,
           char (*out)[SW_IP_MAX + 1], size_t max)
{
    char ips[8][SW_IP_MAX + 1];
    const struct sw_pool *pool = sw_conf_pool(c, pool_name);
    size_t n = sw_text_ips(text, ips, 7), i, k, m = 0;

    if (egress && egress[0] && n < 8)
        memcpy(ips[n++], egress, strlen(egress) + 1); /* from the Received chain */
    for (i = 0; i < n && m < max; i++) {
        bool inside = pool == NULL || pool->egress.n == 0;

        for (k = 0; pool && !inside && k < pool->egress.n; k++)
            inside = sw_cidr_match(pool->egress.v[k], ips[i]);
        if (inside)
            memcpy(out[m++], ips[i], sizeof(ips[i]));
    }
    return m;
}

/* routed_dnsbl_learn - evidence against a pool names its egress IPs */
void
routed_dnsbl_learn(struct routed *rd, const struct sw_evidence *ev)
{
    char ips[4][SW_IP_MAX + 1];
    struct entry *e;
    size_t n, i;

    if (rd->dnsbl == NULL || rd->conf->dnsbl.zones.n == 0 || ev->success
        || !(ev->cls & (SW_CLASS_REPUTATION | SW_CLASS_THROTTLE)))
        return;
    n = blamed_ips(rd->conf, ev->pool, ev->text, ev->egress, ips, 4);
    for (i = 0; i < n; i++)
        if ((e = add(rd->dnsbl, ips[i], ev->time)) != NULL && !e->blamed) {
            e->blamed = true;
            e->learned = ev->time;
            sw_info("dnsbl: ip=%s learned=evidence pool=%s source=%s", e->ip, ev->pool,
                    sw_ev_source_name(ev->source));
        }
}

/* ip_listed - is an address listed now? */
static bool
ip_listed(const struct routed *rd, const char *ip, char *why, size_t size)
{
    const struct entry *e = find(rd->dnsbl, ip);

    return e && listed_in(rd->dnsbl, e, why, size);
}

/* routed_dnsbl_scope_listed - does a scope's evidence blame a listed IP? */
bool
routed_dnsbl_scope_listed(const struct routed *rd, const struct sw_scope *s, char *why,
                          size_t size)
{
    char ips[4][SW_IP_MAX + 1];
    size_t k, n, i;

    for (k = 0; rd->dnsbl && k < s->nev; k++) {
        n = blamed_ips(rd->conf, s->ev[k].pool, s->ev[k].text, s->ev[k].egress, ips, 4);
        for (i = 0; i < n; i++)
            if (ip_listed(rd, ips[i], why, size))
                return true;
    }
    return false;
}

/* routed_dnsbl_status - one line per checked address */
void
routed_dnsbl_status(const struct routed *rd, struct sw_buf *out)
{
    const struct routed_dnsbl *db = rd->dnsbl;
    const struct sw_strv *zones = &rd->conf->dnsbl.zones;
    size_t i, z;

    if (db == NULL || zones->n == 0)
        return;
    (void) sw_buf_printf(out, "dnsbl: zones=%zu addresses=%zu\n", zones->n, db->n);
    for (i = 0; i < db->n; i++) {
        (void) sw_buf_printf(out, "  %s (%s%s)", db->e[i].ip, db->e[i].blamed ? "blamed" : "",
                             db->e[i].alternate ? (db->e[i].blamed ? ", alternate" : "alternate")
                                                : "");
        for (z = 0; z < zones->n && z < DNSBL_ZONES; z++)
            (void) sw_buf_printf(out, " %s=%s%s%s", zones->v[z],
                                 db->e[i].z[z].known ? sw_dnsbl_verdict_name(db->e[i].z[z].verdict)
                                                     : "unknown",
                                 db->e[i].z[z].code[0] ? ":" : "", db->e[i].z[z].code);
        (void) sw_buf_addc(out, '\n');
    }
}
