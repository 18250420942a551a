/* milter_cb.c - the libmilter callbacks: tag outbound mail, read bounces */

/*
 * Negotiates only what it needs: the client address (connect), the
 * envelope sender (MAIL), the headers and, for bounces only, the body.
 * Replies the MTA does not have to wait for are declined (SMFIP_NR_*),
 * bodies of ordinary mail are skipped (SMFIS_SKIP), and large packets are
 * accepted (SMFIP_MDS_1M), so an ordinary message costs two round trips
 * (first body chunk, end of message).
 *
 * Never rejects, delays or changes a bounce, except that with
 * milter.return_path a recipient at a return-path domain must verify and
 * is turned back into its sender (milter_rpath.c); every internal failure
 * answers "continue" (DESIGN.md 2).  The RCPT step and the actions that
 * change the envelope are negotiated only when return_path is set, per
 * connection: a reload that turns it on applies to connections made
 * after it.  Outbound mail (a non-null sender that
 * is not a delivery report, from a client in milter.outbound.networks or
 * a sender authenticated by SMTP AUTH: outbound.h) gets the
 * X-Spillway-Tag header at the end of the message; inbound mail is never
 * tagged, or anyone who mails us would get a valid tag back.  The
 * {auth_authen} macro comes with MAIL FROM (Postfix's default
 * milter_mail_macros and Sendmail's default Milter.macros.envfrom carry
 * it).
 */
#include "config.h"

#define _FFR_MDS_NEGOTIATE 1
#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "global/analyze.h"
#include "global/outbound.h"
#include "util/buf.h"
#include "util/log.h"
#include "milter.h"

/* Steps spillway asks the MTA to leave out, or not to wait for. */
#define WANT_STEPS                                                                                \
    (SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN | SMFIP_NR_MAIL \
     | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_SKIP | SMFIP_MDS_1M)

/* What the return path changes: the sender, and recipients back home. */
#define RP_ACTIONS (SMFIF_CHGFROM | SMFIF_ADDRCPT | SMFIF_DELRCPT)

/* Over TCP these cost more than they save: the MTA then writes several
 * small packets without waiting, Nagle's algorithm holds each until the
 * last is acknowledged, and the milter's delayed ACK adds about 40 ms per
 * message (measured with Postfix: 0.5 of a milter that replies to every
 * step).  On a unix socket there is no such delay. */
#define NO_REPLY_STEPS (SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH)

struct session {
    unsigned long steps; /* negotiated protocol flags */
    char client[64];
    bool null_sender;
    bool auth;   /* MAIL FROM came with {auth_authen}: an SMTP AUTH login */
    bool report; /* Content-Type multipart/report */
    bool failed; /* something went wrong: just continue */
    bool rp_on;  /* return_path was on at negotiation: RCPT and RP_ACTIONS granted */
    char sender[SW_RPATH_ADDR_MAX + 2]; /* MAIL FROM as given */
    struct milter_rp rp;
    char message_id[SW_TAG_MAX * 2];
    struct sw_buf msg; /* headers, and the body of a bounce, capped */
};

/* reply - NOREPLY where the MTA was told not to wait for one */
static sfsistat
reply(const struct session *s, unsigned long nr)
{
    return s && (s->steps & nr) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static struct session *
session(SMFICTX *ctx)
{
    return smfi_getpriv(ctx);
}

static bool
is_bounce(const struct session *s)
{
    return s->null_sender || s->report;
}

static void
message_reset(struct session *s)
{
    s->null_sender = s->auth = s->report = s->failed = false;
    s->message_id[0] = '\0';
    s->sender[0] = '\0';
    milter_rp_reset(&s->rp);
    sw_buf_reset(&s->msg);
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
             unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    struct session *s = calloc(1, sizeof(*s));
    struct milter_gen *g;
    bool rp = false;

    (void) f2;
    (void) f3;
    if (s == NULL) {
        milter_stat_add(&sw_milter.stats.failures, 1);
        return SMFIS_ALL_OPTS; /* libmilter's defaults; the callbacks cope */
    }
    if ((g = milter_gen_get()) != NULL) {
        rp = sw_rpath_on(&g->conf->milter.rp);
        milter_gen_put(g);
    }
    sw_buf_init(&s->msg, SW_BOUNCE_KEEP_MAX + 2 * SW_BOUNCE_HEADER_MAX);
    s->steps = f1 & WANT_STEPS;
    s->rp_on = rp && (f0 & RP_ACTIONS) == RP_ACTIONS;
    if (s->rp_on) /* recipients are judged, and must be answered */
        s->steps &= ~SMFIP_NORCPT;
    if (sw_milter.tcp) /* see NO_REPLY_STEPS */
        s->steps &= ~NO_REPLY_STEPS;
    (void) smfi_setpriv(ctx, s);
    *pf0 = f0 & (s->rp_on ? SMFIF_ADDHDRS | RP_ACTIONS : SMFIF_ADDHDRS);
    *pf1 = s->steps;
    *pf2 = *pf3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    struct session *s = session(ctx);

    (void) host;
    if (s == NULL)
        return SMFIS_CONTINUE;
    (void) snprintf(s->client, sizeof(s->client), "unknown");
    if (sa && sa->sa_family == AF_INET)
        (void) inet_ntop(AF_INET, &((struct sockaddr_in *) sa)->sin_addr, s->client,
                         sizeof(s->client));
    else if (sa && sa->sa_family == AF_INET6
             && IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *) sa)->sin6_addr))
        /* ::ffff:192.0.2.1 is 192.0.2.1: matched against IPv4 ranges */
        (void) inet_ntop(AF_INET, &((struct sockaddr_in6 *) sa)->sin6_addr.s6_addr[12], s->client,
                         sizeof(s->client));
    else if (sa && sa->sa_family == AF_INET6)
        (void) inet_ntop(AF_INET6, &((struct sockaddr_in6 *) sa)->sin6_addr, s->client,
                         sizeof(s->client));
    else if (sa)
        (void) snprintf(s->client, sizeof(s->client), "local");
    return reply(s, SMFIP_NR_CONN);
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
    struct session *s = session(ctx);
    const char *from = argv && argv[0] ? argv[0] : "", *auth;

    if (s == NULL)
        return SMFIS_CONTINUE;
    message_reset(s);
    /* A path longer than RFC 5321's 256 octets is not an address: it is
     * never rewritten (nor cut into one that would be). */
    SW_COPY(s->sender, strlen(from) < sizeof(s->sender) ? from : "too-long");
    s->null_sender = strcmp(from, "<>") == 0 || *from == '\0';
    auth = smfi_getsymval(ctx, "{auth_authen}");
    s->auth = auth != NULL && *auth != '\0';
    return reply(s, SMFIP_NR_MAIL);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
    struct session *s = session(ctx);
    struct milter_gen *g;
    sfsistat r = SMFIS_CONTINUE;

    if (s == NULL || argv == NULL || argv[0] == NULL || (g = milter_gen_get()) == NULL)
        return SMFIS_CONTINUE;
    r = milter_rp_rcpt(ctx, &s->rp, g, argv[0]);
    milter_gen_put(g);
    return r;
}

/* add_header - "Name: value" with CRLF line ends, into the kept copy */
static void
add_header(struct session *s, const char *name, const char *value)
{
    const char *p = value, *nl;

    sw_buf_adds(&s->msg, name);
    sw_buf_adds(&s->msg, ": ");
    /* Copied a line at a time: this runs for every header of every message. */
    while ((nl = strchr(p, '\n')) != NULL) {
        sw_buf_add(&s->msg, p, (size_t) (nl - p));
        if (nl == value || nl[-1] != '\r')
            sw_buf_addc(&s->msg, '\r');
        sw_buf_addc(&s->msg, '\n');
        p = nl + 1;
    }
    sw_buf_adds(&s->msg, p);
    sw_buf_adds(&s->msg, "\r\n");
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
    struct session *s = session(ctx);

    if (s == NULL || name == NULL || value == NULL)
        return reply(s, SMFIP_NR_HDR);
    if (s->message_id[0] == '\0' && strcasecmp(name, "Message-ID") == 0)
        (void) snprintf(s->message_id, sizeof(s->message_id), "%s", value);
    if (strcasecmp(name, "Content-Type") == 0 && strcasestr(value, "multipart/report"))
        s->report = true;
    add_header(s, name, value);
    return reply(s, SMFIP_NR_HDR);
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
    struct session *s = session(ctx);

    if (s)
        sw_buf_adds(&s->msg, "\r\n");
    return reply(s, SMFIP_NR_EOH);
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    struct session *s = session(ctx);
    size_t room;

    if (s == NULL || !is_bounce(s))
        return s && (s->steps & SMFIP_SKIP) ? SMFIS_SKIP : SMFIS_CONTINUE;
    room = s->msg.len < SW_BOUNCE_KEEP_MAX ? SW_BOUNCE_KEEP_MAX - s->msg.len : 0;
    (void) sw_buf_add(&s->msg, chunk, len < room ? len : room);
    if (len >= room && (s->steps & SMFIP_SKIP))
        return SMFIS_SKIP; /* kept what the parser looks at */
    return SMFIS_CONTINUE;
}

/* tag - the header on outbound mail */
static void
tag(SMFICTX *ctx, struct session *s, const struct milter_gen *g)
{
    char value[SW_TAG_MAX + 1];

    if (g->keys.n == 0)
        return;
    if (!sw_tag_make(&g->keys, time(NULL), s->message_id, value, sizeof(value))
        || smfi_addheader(ctx, SW_TAG_HEADER, value) != MI_SUCCESS) {
        milter_stat_add(&sw_milter.stats.failures, 1);
        sw_warn("could not add %s: mail goes out untagged", SW_TAG_HEADER);
        return;
    }
    milter_stat_add(&sw_milter.stats.tagged, 1);
}

/* read_bounce - analyse and hand the evidence on */
static void
read_bounce(struct session *s, const struct milter_gen *g, const char *qid)
{
    struct sw_analysis *a = malloc(sizeof(*a));

    if (a == NULL) {
        milter_stat_add(&sw_milter.stats.failures, 1);
        return;
    }
    /* Came to a return-path address: its tag vouches for the bounce. */
    sw_analyze_to(g->conf, g->keys.n ? &g->keys : NULL, s->msg.data ? s->msg.data : "",
                  s->msg.len, s->rp.n ? s->rp.r[0].rcpt : NULL, time(NULL), a);
    milter_stat_add(&sw_milter.stats.bounces, 1);
    if (a->b.kind != SW_BOUNCE_NONE)
        milter_evidence(g, a, s->client, qid);
    else
        sw_debug("%s: null sender, not a bounce spillway can read", qid);
    free(a);
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
    struct session *s = session(ctx);
    struct milter_gen *g;
    const char *qid;

    if (s == NULL)
        return SMFIS_CONTINUE;
    milter_stat_add(&sw_milter.stats.messages, 1);
    if ((g = milter_gen_get()) != NULL) {
        qid = milter_qid(ctx);
        if (is_bounce(s))
            read_bounce(s, g, qid);
        else if (sw_outbound(&g->conf->milter, s->client, s->auth)) {
            tag(ctx, s, g);
            if (s->rp_on)
                milter_rp_rewrite(ctx, &s->rp, g, s->sender, qid);
        } else
            milter_stat_add(&sw_milter.stats.inbound, 1);
        if (s->rp.n)
            milter_rp_restore(ctx, &s->rp, qid);
        milter_gen_put(g);
    }
    message_reset(s);
    return SMFIS_CONTINUE;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
    struct session *s = session(ctx);

    if (s)
        message_reset(s);
    return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
    struct session *s = session(ctx);

    if (s) {
        sw_buf_free(&s->msg);
        free(s);
        (void) smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

struct smfiDesc milter_desc = {
    .xxfi_name = "spillway",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | RP_ACTIONS,
    .xxfi_connect = cb_connect,
    .xxfi_envfrom = cb_envfrom,
    .xxfi_envrcpt = cb_envrcpt,
    .xxfi_header = cb_header,
    .xxfi_eoh = cb_eoh,
    .xxfi_body = cb_body,
    .xxfi_eom = cb_eom,
    .xxfi_abort = cb_abort,
    .xxfi_close = cb_close,
    .xxfi_negotiate = cb_negotiate,
};
