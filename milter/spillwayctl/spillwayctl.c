/* spillwayctl.c - the operator's tool: see, explain and override routing */

/*
 * Builds one control request (ctl.h) from the command line, sends it to
 * spillway-routed's control socket and prints the reply.  Exit status:
 * 0 done, 1 refused by the daemon (unknown relay, no permission, ...) or
 * failed (a configuration that cannot be read), 2 usage, 3 the daemon
 * cannot be reached.  Under --json every answer is one JSON document on
 * stdout, an error too ({"error": "...", "status": N}), with the same
 * exit status.
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
#include "util/duration.h"
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

static bool json_errors; /* --json: errors as JSON objects on stdout */

/* json_error - {"error": MSG, "status": N} on stdout */
static void
json_error(int status, const char *msg)
{
    struct sw_buf out;

    sw_buf_init(&out, 65536);
    sw_buf_adds(&out, "{\"error\":");
    sw_buf_add_json(&out, msg);
    sw_buf_printf(&out, ",\"status\":%d}\n", status);
    (void) fputs(sw_buf_str(&out), stdout);
    sw_buf_free(&out);
}

/* usage - and exit: --help on stdout (0), else on stderr (2) */
static void
usage(int status)
{
    if (status && json_errors)
        json_error(status, "usage error (spillwayctl --help shows the usage)");
    (void) fprintf(
        status ? stderr : stdout,
        "usage: spillwayctl [-s SOCKET | -c FILE] [--json] VERB [ARGS]\n"
        "       spillwayctl --help | --version\n"
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
        "  genkey FILE                         a new tag key file, mode 0640 (no daemon)\n"
        "DURATION is a number with its unit (s, m, h, d, w): 30m, 2h, 1d, 1h30m; at most 366d.\n"
        "Exit status: 0 done, 1 refused or failed, 2 usage, 3 spillway-routed cannot be reached.\n");
    exit(status);
}

/* die - one error and an exit status: a line on stderr, or a JSON
 * object on stdout under --json */
static void __attribute__((noreturn, format(printf, 2, 3))) die(int status, const char *fmt, ...)
{
    struct sw_buf msg;
    va_list ap;

    sw_buf_init(&msg, 65536);
    va_start(ap, fmt);
    (void) sw_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (json_errors)
        json_error(status, sw_buf_str(&msg));
    else
        (void) fprintf(stderr, "spillwayctl: %s\n", sw_buf_str(&msg));
    sw_buf_free(&msg);
    exit(status);
}

/* wants_json - is --json (or -j) among the options?  Known before getopt
 * runs, so that its own usage errors are JSON too. */
static bool
wants_json(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)
            return true;
    return false;
}

/* check_duration - a duration option as the daemon will take it */
static void
check_duration(const char *opt, const char *value)
{
    long seconds;

    if (value && !sw_duration_parse_unit(value, &seconds))
        die(2,
            "%s %s: a number with its unit (s, m, h, d, w), for example 30m, 2h, 1d, 1h30m; "
            "at most 366d",
            opt, value);
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
        die(1, "%s", sw_buf_str(&err));
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
dns_records(const char *conf_path, const char *mx, bool json)
{
    struct sw_conf *c;
    struct sw_buf err, out;
    char host[256];
    int rc;

    sw_buf_init(&err, 65536);
    if ((c = sw_conf_load(conf_path ? conf_path : SW_DEFAULT_CONF, &err)) == NULL)
        die(1, "%s", sw_buf_str(&err));
    if (mx == NULL) {
        fqdn(host, sizeof(host));
        mx = host;
    }
    sw_buf_init(&out, 16384);
    sw_rpath_dns(c, mx, &out);
    rc = sw_rpath_on(&c->milter.rp) ? 0 : 1; /* 1: nothing to publish */
    if (json) {
        /* The zone-file text as it is, for a program to paste */
        sw_buf_init(&err, 65536 + 2 * out.len);
        sw_buf_adds(&err, "{\"mx\":");
        sw_buf_add_json(&err, mx);
        sw_buf_adds(&err, ",\"zone\":");
        sw_buf_add_json(&err, sw_buf_str(&out));
        if (rc)
            sw_buf_adds(&err, ",\"error\":\"no milter.return_path is configured\",\"status\":1");
        sw_buf_adds(&err, "}\n");
        (void) fputs(sw_buf_str(&err), stdout);
    } else {
        (void) fputs(sw_buf_str(&out), stdout);
    }
    sw_buf_free(&out);
    sw_buf_free(&err);
    sw_conf_free(c);
    return rc;
}

/* only_for - an option the verb would ignore is a usage error: an
 * operator who typed it meant something by it */
static void
only_for(const char *verb, const char *opt, bool given, const char *verbs)
{
    const char *p;
    size_t n = strlen(verb);

    if (!given)
        return;
    for (p = verbs; (p = strstr(p, verb)) != NULL; p += n)
        if ((p == verbs || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return;
    die(2, "%s: not an option of %s (only of: %s)", opt, verb, verbs);
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
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *sock = NULL, *conf = NULL, *pool = NULL, *to = NULL, *dur = NULL, *reason = NULL,
               *since = NULL, *patterns[CTL_PATTERNS_MAX], *mx = NULL, *verb, *body;
    size_t npatterns = 0;
    struct sw_buf req, reply;
    bool json = false;
    char *path;
    int ch, i, status;

    json_errors = wants_json(argc, argv);
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
        case 'V': (void) printf("spillwayctl %s\n", PACKAGE_VERSION); return 0;
        default: usage(2);
        }
    }
    if (optind >= argc)
        usage(2);
    verb = argv[optind];
    i = optind + 1;
    check_duration("--for", dur);
    check_duration("--since", since);
    only_for(verb, "--pool", pool != NULL, "divert release");
    only_for(verb, "--to, --for and --reason", to || dur || reason, "divert");
    only_for(verb, "--since", since != NULL, "history");
    only_for(verb, "--patterns", npatterns > 0, "classify patterns");
    only_for(verb, "--mx", mx != NULL, "dns-records");
    if (strcmp(verb, "classify") == 0 || strcmp(verb, "patterns") == 0) {
        struct ctl_library_args la = { conf, { NULL }, 0, SW_DEFAULT_CONF, SW_DEFAULT_PATTERNS,
                                       json };

        for (la.npatterns = 0; la.npatterns < npatterns; la.npatterns++)
            la.patterns[la.npatterns] = patterns[la.npatterns];

        if (argc - i != (verb[0] == 'c' ? 1 : 0))
            usage(2);
        status = verb[0] == 'c' ? ctl_classify(&la, argv[i]) : ctl_patterns(&la);
        /* ctl_library.c says why on stderr; under --json stdout still
         * gets one JSON document */
        if (status && json)
            json_error(status, "the pattern library could not be read (the reason is on stderr)");
        return status;
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
        return dns_records(conf, mx, json);
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
        if (strcmp(argv[i], "enable") != 0 && strcmp(argv[i], "disable") != 0
            && strcmp(argv[i], "drain") != 0)
            die(2, "relay %s: the action is enable, disable or drain", argv[i]);
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
        struct sw_buf msg; /* the error line, without its newline */

        sw_buf_init(&msg, SW_CTL_MAX_REPLY);
        (void) sw_buf_add(&msg, reply.data + 7, strcspn(sw_buf_str(&reply) + 7, "\n"));
        status = 1;
        if (json)
            json_error(status, sw_buf_str(&msg));
        else
            (void) fprintf(stderr, "spillwayctl: %s\n", sw_buf_str(&msg));
        sw_buf_free(&msg);
    } else {
        sw_buf_free(&reply);
        die(3, "unexpected reply from spillway-routed");
    }
    sw_buf_free(&reply);
    return status;
}
