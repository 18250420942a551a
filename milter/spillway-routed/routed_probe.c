/* routed_probe.c - one SMTP probe of one relay address (libevent, OpenSSL) */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "util/buf.h"
#include "routed_probe.h"
#include "util/smtpreply.h"

enum step { S_CONNECT, S_BANNER, S_EHLO, S_STARTTLS, S_TLS, S_EHLO2, S_MAIL, S_RCPT, S_RSET,
            S_QUIT };

static const char *const step_name[] = { "connect", "banner", "EHLO", "STARTTLS", "TLS",
                                         "EHLO", "MAIL", "RCPT", "RSET", "QUIT" };

struct routed_probe {
    struct event_base *base;
    struct bufferevent *bev;
    struct event *timer;
    SSL_CTX *ctx;
    enum step step;
    struct sw_reply reply;
    struct timeval t0;
    struct routed_probe_result res;
    bool reported;
    /* copied from the config */
    char name[SW_HOST_MAX + 1];
    char helo[SW_HOST_MAX + 1];
    char from[256];
    char rcpt[256];
    bool starttls, verify;
    long timeout;
    routed_probe_cb cb;
    void *arg;
    struct routed_probe *prev, *next; /* every live probe */
};

/* Every probe not yet freed, also those past their report (saying QUIT),
 * which no caller holds any more: routed_probe_cancel_all frees them at
 * exit.  Single-threaded: the loop's thread only. */
static struct routed_probe *live;

static void read_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

/* elapsed - milliseconds since the start */
static long
elapsed(const struct routed_probe *p)
{
    struct timeval now, d;

    (void) evutil_gettimeofday(&now, NULL);
    evutil_timersub(&now, &p->t0, &d);
    return (long) d.tv_sec * 1000 + (long) d.tv_usec / 1000;
}

/* destroy - free everything, no callback */
static void
destroy(struct routed_probe *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else if (live == p)
        live = p->next;
    if (p->next)
        p->next->prev = p->prev;
    if (p->bev)
        bufferevent_free(p->bev);
    if (p->timer)
        event_free(p->timer);
    if (p->ctx)
        SSL_CTX_free(p->ctx);
    free(p);
}

/* report - the callback, once */
static void
report(struct routed_probe *p)
{
    if (p->reported)
        return;
    p->reported = true;
    p->res.ms[SW_MARK_DONE] = elapsed(p);
    p->cb(&p->res, p->arg);
}

/* fail - report a failure at the current step and end the probe */
static void
fail(struct routed_probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct routed_probe *p, const char *fmt, ...)
{
    char text[SW_HEALTH_WHY_MAX - 15]; /* room for the step's name */
    va_list ap;

    va_start(ap, fmt);
    (void) vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    (void) snprintf(p->res.why, sizeof(p->res.why), "%.12s: %s", step_name[p->step], text);
    p->res.ok = false;
    report(p);
    destroy(p);
}

/* send - one command line */
static void
send_line(struct routed_probe *p, enum step next, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
send_line(struct routed_probe *p, enum step next, const char *fmt, ...)
{
    va_list ap;

    p->step = next;
    sw_reply_init(&p->reply);
    va_start(ap, fmt);
    (void) evbuffer_add_vprintf(bufferevent_get_output(p->bev), fmt, ap);
    va_end(ap);
    (void) evbuffer_add(bufferevent_get_output(p->bev), "\r\n", 2);
}

/* succeed - the checks passed: report, then QUIT politely */
static void
succeed(struct routed_probe *p)
{
    p->res.ok = true;
    report(p);
    send_line(p, S_QUIT, "QUIT");
}

/* start_tls - put OpenSSL between us and the socket */
static void
start_tls(struct routed_probe *p)
{
    struct bufferevent *tls;
    SSL *ssl;

    if ((ssl = SSL_new(p->ctx)) == NULL || !SSL_set_tlsext_host_name(ssl, p->name)
        || (p->verify && !SSL_set1_host(ssl, p->name))) {
        if (ssl)
            SSL_free(ssl);
        fail(p, "cannot set up TLS");
        return;
    }
    /* The chain and the name are checked after the handshake, so that
     * the log says why rather than "handshake failure". */
    SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
    tls = bufferevent_openssl_filter_new(p->base, p->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (tls == NULL) {
        SSL_free(ssl);
        fail(p, "cannot set up TLS");
        return;
    }
    p->bev = tls;
    p->step = S_TLS;
    bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
    bufferevent_setcb(tls, read_cb, NULL, event_cb, p);
    (void) bufferevent_enable(tls, EV_READ | EV_WRITE);
}

/* tls_done - handshake finished: check the certificate, EHLO again */
static void
tls_done(struct routed_probe *p)
{
    SSL *ssl = bufferevent_openssl_get_ssl(p->bev);
    long vr;

    p->res.ms[SW_MARK_TLS] = elapsed(p);
    (void) snprintf(p->res.tls, sizeof(p->res.tls), "%s", SSL_get_version(ssl));
    if (p->verify) {
        if (SSL_get0_peer_certificate(ssl) == NULL) {
            fail(p, "no server certificate");
            return;
        }
        if ((vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
            fail(p, "certificate for %s: %s", p->name, X509_verify_cert_error_string(vr));
            return;
        }
    }
    send_line(p, S_EHLO2, "EHLO %s", p->helo);
}

/* reply_done - one complete reply for the current step */
static void
reply_done(struct routed_probe *p)
{
    const struct sw_reply *r = &p->reply;
    int want = p->step == S_BANNER || p->step == S_STARTTLS ? 220 : 250;

    if (p->step == S_QUIT) {
        destroy(p);
        return;
    }
    if (p->step == S_RCPT ? (r->code / 100 != 2) : r->code != want) {
        fail(p, "%d %s", r->code, r->text);
        return;
    }
    switch (p->step) {
    case S_BANNER:
        p->res.ms[SW_MARK_BANNER] = elapsed(p);
        send_line(p, S_EHLO, "EHLO %s", p->helo);
        break;
    case S_EHLO:
        p->res.ms[SW_MARK_EHLO] = elapsed(p);
        if (p->starttls) {
            if (!(r->ext & SW_EXT_STARTTLS)) {
                fail(p, "STARTTLS is not offered");
                return;
            }
            send_line(p, S_STARTTLS, "STARTTLS");
            break;
        }
        /* FALLTHROUGH */
    case S_EHLO2:
        if (p->rcpt[0])
            send_line(p, S_MAIL, "MAIL FROM:<%s>", p->from);
        else
            succeed(p);
        break;
    case S_STARTTLS:
        start_tls(p);
        break;
    case S_MAIL: send_line(p, S_RCPT, "RCPT TO:<%s>", p->rcpt); break;
    case S_RCPT: send_line(p, S_RSET, "RSET"); break;
    case S_RSET: succeed(p); break;
    default: break;
    }
}

/* read_cb - feed the reply parser */
static void
read_cb(struct bufferevent *bev, void *arg)
{
    struct routed_probe *p = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char chunk[512];
    size_t got, used;
    enum sw_reply_status st;
    int n;

    while ((n = evbuffer_copyout(in, chunk, sizeof(chunk))) > 0) {
        got = (size_t) n;
        st = sw_reply_feed(&p->reply, chunk, got, &used);
        (void) evbuffer_drain(in, used);
        if (st == SW_REPLY_BAD) {
            fail(p, "bad reply: %s", p->reply.error);
            return;
        }
        if (st == SW_REPLY_MORE)
            continue;
        /* Nothing may follow a reply we have not asked for yet: after a
         * STARTTLS 220 that would be the plaintext-injection attack. */
        if (evbuffer_get_length(in) > 0 && p->step != S_QUIT) {
            fail(p, "data after the reply (%zu bytes)", evbuffer_get_length(in));
            return;
        }
        reply_done(p); /* may free p */
        return;
    }
}

/* event_cb - connected, handshake done, closed, or an error */
static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct routed_probe *p = arg;
    unsigned long e;
    char buf[160];

    (void) bev;
    if (what & BEV_EVENT_CONNECTED) {
        if (p->step == S_CONNECT) {
            p->res.ms[SW_MARK_CONNECT] = elapsed(p);
            p->step = S_BANNER;
            sw_reply_init(&p->reply);
        } else if (p->step == S_TLS) {
            tls_done(p);
        }
        return;
    }
    if (p->step == S_QUIT) {
        destroy(p);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        fail(p, "connection closed by the server");
        return;
    }
    if (p->step == S_TLS && (e = bufferevent_get_openssl_error(p->bev)) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        fail(p, "handshake failed: %s", buf);
        return;
    }
    fail(p, "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* timeout_cb - the whole probe took too long */
static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct routed_probe *p = arg;

    (void) fd;
    (void) what;
    if (p->step == S_QUIT) {
        destroy(p);
        return;
    }
    fail(p, "timeout after %lds", p->timeout);
}

/* to_sockaddr - numeric address and port */
static bool
to_sockaddr(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t) port);
        *len = sizeof(*s4);
        return true;
    }
    if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t) port);
        *len = sizeof(*s6);
        return true;
    }
    return false;
}

/* routed_probe_start - begin; NULL only if nothing could be set up (the
 * callback has then run with the reason) */
struct routed_probe *
routed_probe_start(struct event_base *base, const char *ip, int port, const char *name,
                   const char *helo, const struct sw_probe_conf *pc, SSL_CTX *ctx,
                   routed_probe_cb cb, void *arg)
{
    struct routed_probe_result early;
    struct sockaddr_storage ss;
    struct timeval tv = { pc->timeout, 0 };
    struct routed_probe *p;
    socklen_t len;

    if ((p = calloc(1, sizeof(*p))) == NULL || !to_sockaddr(ip, port, &ss, &len)) {
        free(p);
        memset(&early, 0, sizeof(early));
        (void) snprintf(early.why, sizeof(early.why), "connect: cannot start a probe of %s", ip);
        cb(&early, arg);
        return NULL;
    }
    p->base = base;
    p->next = live;
    if (live)
        live->prev = p;
    live = p;
    p->cb = cb;
    p->arg = arg;
    p->timeout = pc->timeout;
    p->starttls = pc->starttls;
    p->verify = pc->verify;
    SW_COPY(p->name, name);
    SW_COPY(p->helo, helo);
    SW_COPY(p->from, pc->mail_from ? pc->mail_from : "");
    SW_COPY(p->rcpt, pc->rcpt ? pc->rcpt : "");
    if (ctx && SSL_CTX_up_ref(ctx))
        p->ctx = ctx;
    (void) evutil_gettimeofday(&p->t0, NULL);
    sw_reply_init(&p->reply);
    if ((p->starttls && p->ctx == NULL)
        || (p->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL
        || (p->timer = evtimer_new(base, timeout_cb, p)) == NULL
        || evtimer_add(p->timer, &tv) < 0) {
        fail(p, "cannot start a probe");
        return NULL;
    }
    bufferevent_setcb(p->bev, read_cb, NULL, event_cb, p);
    (void) bufferevent_enable(p->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(p->bev, (struct sockaddr *) &ss, (int) len) < 0) {
        fail(p, "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return NULL;
    }
    return p;
}

/* routed_probe_cancel_all - at exit: every probe, reported or not */
void
routed_probe_cancel_all(void)
{
    while (live)
        destroy(live);
}

/* routed_probe_cancel - stop without a callback */
void
routed_probe_cancel(struct routed_probe *p)
{
    if (p)
        destroy(p);
}
