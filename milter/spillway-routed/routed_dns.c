/* routed_dns.c - c-ares on spillway-routed's event loop */
#include "config.h"

#include <ares.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routed_dns.h"

#define DNS_MAX_FDS 16 /* sockets c-ares keeps open at once (one per server) */

struct fdev {
    ares_socket_t fd;
    struct event *ev;
};

struct routed_dns {
    struct event_base *base;
    ares_channel channel;
    struct event *timer;
    struct fdev fds[DNS_MAX_FDS];
    size_t pending;
};

struct query {
    struct routed_dns *d;
    int type;
    routed_dns_cb cb;
    void *arg;
};

static void arm_timer(struct routed_dns *d);

/* fd_cb - a socket c-ares watches is ready */
static void
fd_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_dns *d = arg;

    ares_process_fd(d->channel, (what & EV_READ) ? (ares_socket_t) fd : ARES_SOCKET_BAD,
                    (what & EV_WRITE) ? (ares_socket_t) fd : ARES_SOCKET_BAD);
    arm_timer(d);
}

/* timer_cb - c-ares's next timeout */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_dns *d = arg;

    (void) fd;
    (void) what;
    ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    arm_timer(d);
}

/* arm_timer - wake up when c-ares wants to retry or give up */
static void
arm_timer(struct routed_dns *d)
{
    struct timeval tv, *t;

    if (d->pending == 0) {
        (void) evtimer_del(d->timer);
        return;
    }
    if ((t = ares_timeout(d->channel, NULL, &tv)) != NULL)
        (void) evtimer_add(d->timer, t);
}

/* sock_state_cb - c-ares opens, closes or changes interest in a socket */
static void
sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    struct routed_dns *d = data;
    struct fdev *slot = NULL, *free_slot = NULL;
    size_t i;

    for (i = 0; i < DNS_MAX_FDS; i++) {
        if (d->fds[i].ev && d->fds[i].fd == fd)
            slot = &d->fds[i];
        else if (d->fds[i].ev == NULL && free_slot == NULL)
            free_slot = &d->fds[i];
    }
    if (slot) {
        event_free(slot->ev);
        slot->ev = NULL;
    }
    if (!readable && !writable)
        return;
    if ((slot = slot ? slot : free_slot) == NULL)
        return; /* c-ares's own timeout ends the query */
    slot->fd = fd;
    slot->ev = event_new(d->base, (evutil_socket_t) fd,
                         (short) (EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0)),
                         fd_cb, d);
    if (slot->ev && event_add(slot->ev, NULL) < 0) {
        event_free(slot->ev);
        slot->ev = NULL;
    }
}

/* routed_dns_new - a channel on the loop */
struct routed_dns *
routed_dns_new(struct event_base *base, const char *servers, long timeout, struct sw_buf *err)
{
    static bool initialised;
    struct ares_options opt;
    struct routed_dns *d;
    int rc;

    if (!initialised) {
        if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
            sw_buf_printf(err, "c-ares: %s", ares_strerror(rc));
            return NULL;
        }
        initialised = true;
    }
    if ((d = calloc(1, sizeof(*d))) == NULL) {
        sw_buf_adds(err, "out of memory");
        return NULL;
    }
    d->base = base;
    memset(&opt, 0, sizeof(opt));
    opt.sock_state_cb = sock_state_cb;
    opt.sock_state_cb_data = d;
    opt.timeout = (int) (timeout * 1000);
    opt.tries = 2;
    opt.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
    rc = ares_init_options(&d->channel, &opt,
                           ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES
                               | ARES_OPT_FLAGS);
    if (rc != ARES_SUCCESS) {
        sw_buf_printf(err, "c-ares: %s", ares_strerror(rc));
        free(d);
        return NULL;
    }
    if (servers && (rc = ares_set_servers_ports_csv(d->channel, servers)) != ARES_SUCCESS) {
        sw_buf_printf(err, "c-ares: resolver %s: %s", servers, ares_strerror(rc));
        ares_destroy(d->channel);
        free(d);
        return NULL;
    }
    if ((d->timer = evtimer_new(base, timer_cb, d)) == NULL) {
        sw_buf_adds(err, "out of memory");
        ares_destroy(d->channel);
        free(d);
        return NULL;
    }
    return d;
}

/* routed_dns_free - cancel everything (callbacks run now) and close */
void
routed_dns_free(struct routed_dns *d)
{
    size_t i;

    if (d == NULL)
        return;
    ares_destroy(d->channel);
    for (i = 0; i < DNS_MAX_FDS; i++)
        if (d->fds[i].ev)
            event_free(d->fds[i].ev);
    event_free(d->timer);
    free(d);
}

/* status_of - c-ares status to ours */
static enum routed_dns_status
status_of(int status, char *error, size_t size)
{
    switch (status) {
    case ARES_SUCCESS: return DNS_OK;
    case ARES_ENOTFOUND: return DNS_NXDOMAIN;
    case ARES_ENODATA: return DNS_NODATA;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION: return DNS_CANCELLED;
    case ARES_ESERVFAIL: (void) snprintf(error, size, "SERVFAIL"); return DNS_FAILED;
    case ARES_EREFUSED: (void) snprintf(error, size, "REFUSED"); return DNS_FAILED;
    case ARES_ETIMEOUT: (void) snprintf(error, size, "timeout"); return DNS_FAILED;
    case ARES_ECONNREFUSED: /* c-ares 1.18 says so after SERVFAIL from every server */
        (void) snprintf(error, size, "no usable answer (SERVFAIL or unreachable)");
        return DNS_FAILED;
    default: (void) snprintf(error, size, "%s", ares_strerror(status)); return DNS_FAILED;
    }
}

/* parse_addrs - A or AAAA answers with their TTLs */
static int
parse_addrs(int type, const unsigned char *abuf, int alen, struct routed_dns_answer *a)
{
    struct ares_addrttl t4[ROUTED_DNS_MAX];
    struct ares_addr6ttl t6[ROUTED_DNS_MAX];
    int n = ROUTED_DNS_MAX, rc, i;

    if (type == 1)
        rc = ares_parse_a_reply(abuf, alen, NULL, t4, &n);
    else
        rc = ares_parse_aaaa_reply(abuf, alen, NULL, t6, &n);
    if (rc != ARES_SUCCESS)
        return rc;
    for (i = 0; i < n && a->n < ROUTED_DNS_MAX; i++) {
        long ttl = type == 1 ? t4[i].ttl : t6[i].ttl;

        if (type == 1)
            (void) inet_ntop(AF_INET, &t4[i].ipaddr, a->addr[a->n], sizeof(a->addr[0]));
        else
            (void) inet_ntop(AF_INET6, &t6[i].ip6addr, a->addr[a->n], sizeof(a->addr[0]));
        if (a->n == 0 || ttl < a->ttl)
            a->ttl = ttl;
        a->n++;
    }
    return n == 0 ? ARES_ENODATA : ARES_SUCCESS;
}

/* parse_mx - MX hosts, lowest preference first */
static int
parse_mx(const unsigned char *abuf, int alen, struct routed_dns_answer *a)
{
    struct ares_mx_reply *mx, *m, *best;
    int rc, prev = -1, bestpref;
    size_t k;

    if ((rc = ares_parse_mx_reply(abuf, alen, &mx)) != ARES_SUCCESS)
        return rc;
    /* Selection by preference, a few hosts: quadratic in at most 16. */
    for (k = 0; k < ROUTED_DNS_MAX; k++) {
        best = NULL;
        bestpref = 70000;
        for (m = mx; m; m = m->next)
            if ((int) m->priority > prev && (int) m->priority < bestpref) {
                best = m;
                bestpref = m->priority;
            }
        if (best == NULL)
            break;
        for (m = mx; m && a->n < ROUTED_DNS_MAX; m = m->next)
            if (m->priority == best->priority && strlen(m->host) <= SW_HOST_MAX)
                (void) snprintf(a->host[a->n++], sizeof(a->host[0]), "%s", m->host);
        prev = bestpref;
    }
    ares_free_data(mx);
    return a->n ? ARES_SUCCESS : ARES_ENODATA;
}

/* answer_cb - c-ares is done with a query */
static void
answer_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct query *q = arg;
    struct routed_dns_answer *a;

    (void) timeouts;
    q->d->pending--;
    if ((a = calloc(1, sizeof(*a))) == NULL) {
        free(q);
        return; /* the caller's own schedule retries */
    }
    if (status == ARES_SUCCESS)
        status = q->type == 15 ? parse_mx(abuf, alen, a) : parse_addrs(q->type, abuf, alen, a);
    a->status = status_of(status, a->error, sizeof(a->error));
    q->cb(a, q->arg);
    free(a);
    free(q);
}

/* routed_dns_query - start one query */
void
routed_dns_query(struct routed_dns *d, const char *name, int type, routed_dns_cb cb, void *arg)
{
    struct routed_dns_answer a;
    struct query *q;

    if ((q = malloc(sizeof(*q))) == NULL) {
        memset(&a, 0, sizeof(a));
        a.status = DNS_FAILED;
        (void) snprintf(a.error, sizeof(a.error), "out of memory");
        cb(&a, arg);
        return;
    }
    q->d = d;
    q->type = type;
    q->cb = cb;
    q->arg = arg;
    d->pending++;
    ares_query(d->channel, name, 1 /* C_IN */, type, answer_cb, q);
    arm_timer(d);
}
