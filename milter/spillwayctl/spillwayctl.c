/* spillwayctl.c - the operator's tool: see, explain and override routing */

/*
 * Builds one control request (ctl.h) from the command line, sends it to
 * spillway-routed's control socket and prints the reply.  Exit status:
 * 0 done, 1 refused by the daemon (unknown relay, no permission, ...),
 * 2 usage, 3 the daemon cannot be reached.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/buf.h"
#include "global/rpath_dns.h"
#include "global/conf.h"
#include "global/ctl.h"
#include "util/kv.h"
#include "util/listen.h"

#include "ctl_check.h"
#include "ctl_library.h"

#define SW_DEFAULT_CONTROL "/run/spillway/control.sock"
#ifndef SW_SYSCONFDIR
#define SW_SYSCONFDIR "/etc"
#endif
#define SW_DEFAULT_CONF     SW_SYSCONFDIR "/spillway/spillway.conf"
#define SW_DEFAULT_PATTERNS SW_SYSCONFDIR "/spillway/patterns.conf"
#define SW_POSTCONF         "/usr/sbin/postconf"

/* usage - and exit */
static void
usage(int status)
{
    (void) fprintf(
        status ? stderr : stdout,
        "usage: spillwayctl [-s SOCKET | -c FILE] [--json] VERB [ARGS]\n"
        "  status                              scopes, relays and pools at a glance\n"
        "  explain ADDRESS                     the route for an address, and why\n"
        "  divert DOMAIN|--pool NAME [--to RELAY] --for DURATION --reason TEXT\n"
        "  release DOMAIN|--pool NAME          back to the primary route\n"
        "  relay enable|disable|drain NAME     administrative state of a relay\n"
        "  history [--since DURATION]          recent decisions\n"
        "  reload                              re-read the configuration\n"
        "  classify [--patterns FILE...] TEXT  class, tier, pattern and cues of an SMTP reply (no daemon)\n"
        "  patterns [--patterns FILE...]       the pattern library in evaluation order (no daemon)\n"
        "  dns-records [--mx HOST]             what the return-path domains need in DNS (no daemon)\n"
        "  check                               the configuration and the host, like postfix check (no daemon)\n"
        "  genkey FILE                         a new tag key file, mode 0640 (no daemon)\n");
    exit(status);
}

/* die - one-line error and an exit status */
static void __attribute__((noreturn, format(printf, 2, 3))) die(int status, const char *fmt, ...)
{
    va_list ap;

    (void) fputs("spillwayctl: ", stderr);
    va_start(ap, fmt);
    (void) vfprintf(stderr, fmt, ap);
    va_end(ap);
    (void) fputc('\n', stderr);
    exit(status);
}

/* control_path - -s, else routed.control of -c, else the default */
static char *
control_path(const char *sock, const char *conf_path)
{
    struct sw_buf err;
    struct sw_conf *c;
    char *p;

    if (sock)
        return strdup(sock);
    if (conf_path == NULL)
        return strdup(SW_DEFAULT_CONTROL);
    sw_buf_init(&err, 65536);
    if ((c = sw_conf_load(conf_path, &err)) == NULL)
        die(2, "%s", sw_buf_str(&err));
    p = strdup(c->routed.control);
    sw_conf_free(c);
    sw_buf_free(&err);
    return p;
}

/* transact - send the request, read the whole reply */
static void
transact(const char *path, const struct sw_buf *req, struct sw_buf *reply)
{
    struct sw_endpoint ep;
    struct sw_buf err, spec;
    char chunk[65536];
    size_t off = 0;
    ssize_t n;
    int fd;

    sw_buf_init(&err, 1024);
    sw_buf_init(&spec, 4096);
    sw_buf_printf(&spec, "unix:%s", path);
    if (!sw_endpoint_parse(sw_buf_str(&spec), &ep, &err))
        die(2, "control socket: %s", sw_buf_str(&err));
    if ((fd = sw_endpoint_connect(&ep, &err)) < 0)
        die(3, "cannot reach spillway-routed (%s): is it running?", sw_buf_str(&err));
    while (off < req->len) {
        if ((n = send(fd, req->data + off, req->len - off, MSG_NOSIGNAL)) < 0) {
            if (errno == EINTR)
                continue;
            /* The daemon may refuse (permission) before reading the
             * request and close: its reply is still there to read. */
            if (errno == EPIPE || errno == ECONNRESET)
                break;
            die(3, "send: %s", strerror(errno));
        }
        off += (size_t) n;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die(3, "read: %s", strerror(errno));
        }
        if (!sw_buf_add(reply, chunk, (size_t) n))
            die(3, "reply too large");
    }
    (void) close(fd);
    sw_buf_free(&err);
    sw_buf_free(&spec);
}

/* scope_arg - "--pool NAME" or a domain */
static void
scope_arg(struct sw_buf *req, const char *pool, int argc, char **argv, int *i)
{
    struct sw_buf s;

    sw_buf_init(&s, 1024);
    if (pool)
        sw_buf_printf(&s, "pool:%s", pool);
    else if (*i < argc)
        sw_buf_adds(&s, argv[(*i)++]);
    else
        usage(2);
    sw_kv_add(req, "scope", sw_buf_str(&s));
    sw_buf_free(&s);
}

/* fqdn - this host's name as the resolver completes it */
static void
fqdn(char *out, size_t size)
{
    struct addrinfo hints, *ai = NULL;

    if (gethostname(out, size) != 0)
        (void) snprintf(out, size, "localhost");
    out[size - 1] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_CANONNAME;
    if (strchr(out, '.') == NULL && getaddrinfo(out, NULL, &hints, &ai) == 0 && ai->ai_canonname)
        (void) snprintf(out, size, "%s", ai->ai_canonname);
    if (ai)
        freeaddrinfo(ai);
}

/* dns_records - the return-path domains' MX and SPF records, from the config */
static int
dns_records(const char *conf_path, const char *mx)
{
    struct sw_conf *c;
    struct sw_buf err, out;
    char host[256];
    int rc;

    sw_buf_init(&err, 65536);
    if ((c = sw_conf_load(conf_path ? conf_path : SW_DEFAULT_CONF, &err)) == NULL)
        die(2, "%s", sw_buf_str(&err));
    if (mx == NULL) {
        fqdn(host, sizeof(host));
        mx = host;
    }
    sw_buf_init(&out, 16384);
    sw_rpath_dns(c, mx, &out);
    (void) fputs(sw_buf_str(&out), stdout);
    rc = sw_rpath_on(&c->milter.rp) ? 0 : 1; /* 1: nothing to publish */
    sw_buf_free(&out);
    sw_buf_free(&err);
    sw_conf_free(c);
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "pool", required_argument, NULL, 'p' },
        { "to", required_argument, NULL, 't' },
        { "for", required_argument, NULL, 'f' },
        { "reason", required_argument, NULL, 'r' },
        { "since", required_argument, NULL, 'S' },
        { "socket", required_argument, NULL, 's' },
        { "config", required_argument, NULL, 'c' },
        { "patterns", required_argument, NULL, 'P' },
        { "mx", required_argument, NULL, 'M' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *sock = NULL, *conf = NULL, *pool = NULL, *to = NULL, *dur = NULL, *reason = NULL,
               *since = NULL, *patterns[CTL_PATTERNS_MAX], *mx = NULL, *verb, *body;
    size_t npatterns = 0;
    struct sw_buf req, reply;
    bool json = false;
    char *path;
    int ch, i, status;

    while ((ch = getopt_long(argc, argv, "s:c:jh", opts, NULL)) != -1) {
        switch (ch) {
        case 's': sock = optarg; break;
        case 'c': conf = optarg; break;
        case 'j': json = true; break;
        case 'p': pool = optarg; break;
        case 't': to = optarg; break;
        case 'f': dur = optarg; break;
        case 'r': reason = optarg; break;
        case 'S': since = optarg; break;
        case 'P':
            if (npatterns == CTL_PATTERNS_MAX)
                die(2, "at most %d --patterns files", CTL_PATTERNS_MAX);
            patterns[npatterns++] = optarg;
            break;
        case 'M': mx = optarg; break;
        case 'h': usage(0); break;
        default: usage(2);
        }
    }
    if (optind >= argc)
        usage(2);
    verb = argv[optind];
    i = optind + 1;
    if (strcmp(verb, "classify") == 0 || strcmp(verb, "patterns") == 0) {
        struct ctl_library_args la = { conf, { NULL }, 0, SW_DEFAULT_CONF, SW_DEFAULT_PATTERNS,
                                       json };

        for (la.npatterns = 0; la.npatterns < npatterns; la.npatterns++)
            la.patterns[la.npatterns] = patterns[la.npatterns];

        if (argc - i != (verb[0] == 'c' ? 1 : 0))
            usage(2);
        return verb[0] == 'c' ? ctl_classify(&la, argv[i]) : ctl_patterns(&la);
    }
    if (strcmp(verb, "genkey") == 0) {
        if (argc - i != 1)
            usage(2);
        return ctl_genkey(conf ? conf : SW_DEFAULT_CONF, argv[i]);
    }
    if (strcmp(verb, "check") == 0) {
        if (argc != i)
            usage(2);
        return ctl_check(conf ? conf : SW_DEFAULT_CONF, SW_POSTCONF);
    }
    if (strcmp(verb, "dns-records") == 0) {
        if (argc != i)
            usage(2);
        return dns_records(conf, mx);
    }
    sw_buf_init(&req, SW_CTL_MAX_REQUEST);
    sw_buf_init(&reply, SW_CTL_MAX_REPLY);
    sw_kv_add(&req, "verb", verb);
    if (json)
        sw_kv_add(&req, "json", "1");

    if (strcmp(verb, "status") == 0 || strcmp(verb, "reload") == 0) {
        /* no arguments */
    } else if (strcmp(verb, "explain") == 0) {
        if (i >= argc)
            usage(2);
        sw_kv_add(&req, "address", argv[i++]);
    } else if (strcmp(verb, "divert") == 0) {
        scope_arg(&req, pool, argc, argv, &i);
        if (dur == NULL)
            die(2, "divert needs --for DURATION (a diversion always expires)");
        if (reason == NULL)
            die(2, "divert needs --reason TEXT (it is logged and shown by status)");
        if (to)
            sw_kv_add(&req, "to", to);
        sw_kv_add(&req, "for", dur);
        sw_kv_add(&req, "reason", reason);
    } else if (strcmp(verb, "release") == 0) {
        scope_arg(&req, pool, argc, argv, &i);
    } else if (strcmp(verb, "relay") == 0) {
        if (argc - i < 2)
            usage(2);
        sw_kv_add(&req, "action", argv[i++]);
        sw_kv_add(&req, "name", argv[i++]);
    } else if (strcmp(verb, "history") == 0) {
        if (since)
            sw_kv_add(&req, "since", since);
    } else {
        die(2, "unknown verb \"%s\" (try --help)", verb);
    }
    if (i != argc)
        die(2, "unexpected argument \"%s\"", argv[i]);
    if (req.overflow)
        die(2, "request too long");
    sw_buf_addc(&req, '\n');

    path = control_path(sock, conf);
    transact(path, &req, &reply);
    free(path);
    sw_buf_free(&req);
    body = strchr(sw_buf_str(&reply), '\n');
    if (strncmp(sw_buf_str(&reply), "ok\n", 3) == 0) {
        (void) fputs(body + 1, stdout);
        status = 0;
    } else if (strncmp(sw_buf_str(&reply), "error: ", 7) == 0) {
        (void) fprintf(stderr, "spillwayctl: %s", sw_buf_str(&reply) + 7);
        if (reply.data[reply.len - 1] != '\n')
            (void) fputc('\n', stderr);
        status = 1;
    } else {
        (void) fprintf(stderr, "spillwayctl: unexpected reply from spillway-routed\n");
        status = 3;
    }
    sw_buf_free(&reply);
    return status;
}
