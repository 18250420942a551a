/* sockmap_bench.c - load generator for a socketmap server (Postfix protocol)
 *
 * Opens N connections to a socketmap endpoint and keeps exactly one request
 * outstanding on each (request, wait for the whole reply, next request), the
 * way a Postfix client process talks to a socketmap table.  Requests are
 * "MAP KEY" netstrings; keys come from a generated list:
 *
 *   diverted (default 10%):  userI+extJ@DNNN.example       (mixed case)
 *                            userI@mxK.dNNN.example         (a subdomain, 1 in 4)
 *   not diverted (the rest): userI+extJ@DomK.example, userI@hostK.dom.example
 *
 * where dNNN.example (printf "d%03d.example", 0 <= NNN < -D) are the domains the
 * server is expected to divert.  Every reply is checked: it must be a
 * well-formed netstring "OK ..." or "NOTFOUND "; with -o TEXT a diverted key
 * must be answered exactly "OK TEXT" and any other key "NOTFOUND ".  Anything
 * else counts as an error.
 *
 * Every latency (send of the request to receipt of the last byte of the
 * reply) is recorded and sorted; the report gives lookups/s and the
 * p50/p90/p99/p999/max latency in microseconds.
 *
 * Two client models:
 *   default  one thread, one epoll loop over the N connections (lowest client
 *            overhead: measures the server);
 *   -T       one thread per connection with blocking sockets (like N Postfix
 *            processes; on a small machine the client's context switches
 *            are part of the figure).
 *
 * Bounded: stops after -n lookups or -d seconds, whichever comes first (both
 * capped), and gives up if no reply arrives for -t seconds.  Only unix:/path
 * and inet:127.0.0.1:PORT endpoints are accepted (loopback only).
 *
 * Output: a human summary on stderr and one line of key=value on stdout:
 *   endpoint=... model=poll conns=16 lookups=200000 secs=1.234 rate=162074
 *   p50=95.1 p90=... p99=... p999=... max=... found=... notfound=... errors=0
 *
 * Exit status: 0 ok, 1 errors in replies or a stall, 2 usage or set-up error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS       1024
#define MAX_LOOKUPS     20000000L       /* hard cap on -n */
#define MAX_SECONDS     600.0           /* hard cap on -d */
#define MAX_KEYS        1000000L
#define MAX_REPLY       (64 * 1024)     /* a reply larger than this is an error */
#define REQ_MAX         512

struct key {
    char req[REQ_MAX];          /* the whole netstring */
    unsigned short reqlen;
    bool diverted;
};

struct conn {
    int fd;
    size_t key;                 /* index of the outstanding request */
    long slot;                  /* index in lat[] or -1 (warm-up) */
    uint64_t t0;
    char in[MAX_REPLY + 32];
    size_t inlen;
    bool busy;
};

/* options */
static const char *endpoint;
static const char *mapname = "transport";
static const char *expect_ok;           /* -o: exact "OK" payload for diverted keys */
static long opt_count = 200000;
static double opt_secs = 10.0;
static double opt_stall = 5.0;
static int opt_conns = 1;
static long opt_ndiv = 1000;
static int opt_pct = 10;
static long opt_nkeys = 20000;
static long opt_warmup = 1000;
static bool opt_threads;
static unsigned opt_seed = 1;
static bool opt_verbose;

/* shared state */
static struct key *keys;
static long nkeys;
static uint32_t *lat;                   /* nanoseconds, capped at UINT32_MAX */
static atomic_long next_slot;           /* next request number (includes warm-up) */
static atomic_long n_found, n_notfound, n_errors, n_done;
static atomic_bool stop;
static _Atomic uint64_t t_start, t_deadline;
static struct sockaddr_storage sa;
static socklen_t salen;

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static void
usage(void)
{
    fprintf(stderr,
        "usage: sockmap_bench -e ENDPOINT [options]\n"
        "  -e unix:/path | inet:127.0.0.1:PORT   the socketmap server (loopback only)\n"
        "  -c N      connections (default 1, at most %d)\n"
        "  -n N      lookups to measure (default 200000, at most %ld)\n"
        "  -d SECS   stop after this long anyway (default 10, at most %.0f)\n"
        "  -w N      warm-up lookups, not recorded (default 1000)\n"
        "  -t SECS   give up when no reply arrives for this long (default 5)\n"
        "  -D N      diverted domains d000.example .. (default 1000)\n"
        "  -p PCT    share of keys in diverted domains (default 10)\n"
        "  -k N      distinct keys (default 20000)\n"
        "  -m NAME   map name in requests (default transport)\n"
        "  -o TEXT   diverted keys must get \"OK TEXT\", others \"NOTFOUND \"\n"
        "  -s SEED   key list seed (default 1)\n"
        "  -T        one blocking thread per connection (default: one epoll loop)\n"
        "  -v        more detail on stderr\n",
        MAX_CONNS, MAX_LOOKUPS, MAX_SECONDS);
    exit(2);
}

/* parse_endpoint - unix:/path or inet:127.0.0.1:PORT, nothing else */
static void
parse_endpoint(const char *spec)
{
    memset(&sa, 0, sizeof(sa));
    if (strncmp(spec, "unix:", 5) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *) &sa;

        if (strlen(spec + 5) == 0 || strlen(spec + 5) >= sizeof(un->sun_path)) {
            fprintf(stderr, "sockmap_bench: bad unix socket path\n");
            exit(2);
        }
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, spec + 5);
        salen = sizeof(*un);
        return;
    }
    if (strncmp(spec, "inet:", 5) == 0) {
        struct sockaddr_in *in = (struct sockaddr_in *) &sa;
        const char *colon = strrchr(spec + 5, ':');
        char host[64];
        char *end;
        long port;

        if (colon == NULL || (size_t) (colon - (spec + 5)) >= sizeof(host))
            usage();
        memcpy(host, spec + 5, (size_t) (colon - (spec + 5)));
        host[colon - (spec + 5)] = '\0';
        port = strtol(colon + 1, &end, 10);
        if (*end || port < 1 || port > 65535)
            usage();
        if (strcmp(host, "127.0.0.1") != 0) {
            fprintf(stderr, "sockmap_bench: only 127.0.0.1 may be a target, not %s\n", host);
            exit(2);
        }
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short) port);
        (void) inet_pton(AF_INET, host, &in->sin_addr);
        salen = sizeof(*in);
        return;
    }
    fprintf(stderr, "sockmap_bench: endpoint must be unix:/path or inet:127.0.0.1:PORT\n");
    exit(2);
}

static int
connect_one(bool nonblock)
{
    int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    if (fd < 0 || connect(fd, (struct sockaddr *) &sa, salen) < 0) {
        fprintf(stderr, "sockmap_bench: connect %s: %s\n", endpoint, strerror(errno));
        exit(2);
    }
    if (sa.ss_family == AF_INET)
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (nonblock) {
        int fl = fcntl(fd, F_GETFL);

        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            perror("sockmap_bench: fcntl");
            exit(2);
        }
    }
    return fd;
}

/* xorshift - small, seeded, good enough for a key mix */
static uint64_t rng_state;

static uint64_t
rng(void)
{
    uint64_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* make_keys - the request list, shuffled by construction */
static void
make_keys(void)
{
    char payload[REQ_MAX - 16];
    long i;
    int n;

    nkeys = opt_nkeys;
    if ((keys = calloc((size_t) nkeys, sizeof(*keys))) == NULL) {
        perror("sockmap_bench: calloc");
        exit(2);
    }
    rng_state = 0x9E3779B97F4A7C15ull ^ ((uint64_t) opt_seed * 0x2545F4914F6CDD1Dull);
    if (rng_state == 0)
        rng_state = 1;
    for (i = 0; i < nkeys; i++) {
        uint64_t r = rng();
        unsigned u = (unsigned) (rng() % 100000), x = (unsigned) (rng() % 100);
        bool div = opt_ndiv > 0 && (long) (r % 100) < opt_pct;
        long d = div ? (long) (rng() % (uint64_t) opt_ndiv) : (long) (rng() % 1000000);

        if (div && (r >> 8) % 4 == 0)
            n = snprintf(payload, sizeof(payload), "%s user%u@mx%u.d%03ld.example",
                         mapname, u, x, d);
        else if (div)
            n = snprintf(payload, sizeof(payload), "%s user%u+ext%u@D%03ld.example",
                         mapname, u, x, d);
        else if ((r >> 8) % 4 == 0)
            n = snprintf(payload, sizeof(payload), "%s user%u@host%u.dom%ld.example",
                         mapname, u, x, d);
        else
            n = snprintf(payload, sizeof(payload), "%s user%u+ext%u@Dom%ld.example",
                         mapname, u, x, d);
        if (n < 0 || (size_t) n >= sizeof(payload)) {
            fprintf(stderr, "sockmap_bench: map name too long\n");
            exit(2);
        }
        keys[i].reqlen = (unsigned short) snprintf(keys[i].req, sizeof(keys[i].req), "%d:%s,",
                                                   n, payload);
        keys[i].diverted = div;
    }
}

/* check_reply - 1 valid OK, 2 valid NOTFOUND, 0 need more, -1 bad */
static int
check_reply(const char *buf, size_t len, const struct key *k, size_t *used)
{
    size_t i, n = 0;
    const char *p;

    for (i = 0; i < len && buf[i] != ':'; i++) {
        if (buf[i] < '0' || buf[i] > '9' || i > 6)
            return -1;
        n = n * 10 + (size_t) (buf[i] - '0');
    }
    if (i == len)
        return 0;
    if (i == 0 || n > MAX_REPLY)
        return -1;
    if (len < i + 1 + n + 1)
        return 0;
    if (buf[i + 1 + n] != ',')
        return -1;
    p = buf + i + 1;
    *used = i + 1 + n + 1;
    if (n == 9 && memcmp(p, "NOTFOUND ", 9) == 0) {
        if (expect_ok && k->diverted)
            return -1;
        return 2;
    }
    if (n >= 3 && memcmp(p, "OK ", 3) == 0) {
        if (expect_ok && (!k->diverted || n - 3 != strlen(expect_ok)
                          || memcmp(p + 3, expect_ok, n - 3) != 0))
            return -1;
        return 1;
    }
    return -1;
}

static void
bad_reply(const char *buf, size_t len, const struct key *k)
{
    long e = atomic_fetch_add(&n_errors, 1);

    if (e < 5)
        fprintf(stderr, "sockmap_bench: bad reply to %.*s: %.*s\n", (int) k->reqlen, k->req,
                (int) (len > 200 ? 200 : len), buf);
}

/* take_slot - the number of the next request; false when done */
static bool
take_slot(long *slot)
{
    long s;

    if (atomic_load_explicit(&stop, memory_order_relaxed))
        return false;
    s = atomic_fetch_add(&next_slot, 1);
    if (s >= opt_warmup + opt_count)
        return false;
    *slot = s - opt_warmup;             /* negative: warm-up */
    return true;
}

/* record - one answered request (st: check_reply's verdict) */
static void
record(long slot, int st, uint64_t t0, uint64_t t1)
{
    uint64_t d = t1 - t0;

    if (slot < 0) {
        if (slot == -1) {
            /* the last warm-up request was answered: measurement starts now */
            atomic_store(&t_start, t1);
            atomic_store(&t_deadline, t1 + (uint64_t) (opt_secs * 1e9));
        }
        return;
    }
    lat[slot] = d == 0 ? 1 : d > UINT32_MAX ? UINT32_MAX : (uint32_t) d;
    atomic_fetch_add_explicit(&n_done, 1, memory_order_relaxed);
    if (st == 1)
        atomic_fetch_add_explicit(&n_found, 1, memory_order_relaxed);
    else if (st == 2)
        atomic_fetch_add_explicit(&n_notfound, 1, memory_order_relaxed);
    if (t1 > atomic_load_explicit(&t_deadline, memory_order_relaxed))
        atomic_store(&stop, true);
}

/* send_all - blocking or not, the request is tiny: one send normally */
static bool
send_req(int fd, const struct key *k)
{
    size_t off = 0;
    ssize_t w;

    while (off < k->reqlen) {
        w = send(fd, k->req + off, k->reqlen - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct timespec ts = { 0, 10000 };

            nanosleep(&ts, NULL);
            continue;
        }
        if (w <= 0)
            return false;
        off += (size_t) w;
    }
    return true;
}

/* ---- one epoll loop ---------------------------------------------------- */

static bool
conn_start(struct conn *c)
{
    long slot;

    if (!take_slot(&slot)) {
        c->busy = false;
        return true;
    }
    c->slot = slot;
    c->key = (size_t) ((slot + opt_warmup) % nkeys);
    c->busy = true;
    c->t0 = now_ns();
    return send_req(c->fd, &keys[c->key]);
}

static int
run_poll(void)
{
    struct conn *cs = calloc((size_t) opt_conns, sizeof(*cs));
    struct epoll_event ev, evs[MAX_CONNS];
    int ep = epoll_create1(EPOLL_CLOEXEC), i, n, busy, st;
    uint64_t last_progress = now_ns();
    size_t used;
    ssize_t r;
    int rc = 0;

    if (cs == NULL || ep < 0) {
        perror("sockmap_bench");
        return 2;
    }
    for (i = 0; i < opt_conns; i++) {
        cs[i].fd = connect_one(true);
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t) i;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) {
            perror("sockmap_bench: epoll_ctl");
            return 2;
        }
    }
    for (i = 0; i < opt_conns; i++)
        if (!conn_start(&cs[i])) {
            fprintf(stderr, "sockmap_bench: send: %s\n", strerror(errno));
            return 1;
        }
    for (;;) {
        busy = 0;
        for (i = 0; i < opt_conns; i++)
            busy += cs[i].busy;
        if (busy == 0)
            break;
        n = epoll_wait(ep, evs, MAX_CONNS, 100);
        if (n < 0 && errno != EINTR) {
            perror("sockmap_bench: epoll_wait");
            return 2;
        }
        if (n <= 0) {
            if ((now_ns() - last_progress) / 1e9 > opt_stall) {
                fprintf(stderr, "sockmap_bench: no reply for %.1f s: giving up\n", opt_stall);
                atomic_fetch_add(&n_errors, busy);
                return 1;
            }
            continue;
        }
        for (i = 0; i < n; i++) {
            struct conn *c = &cs[evs[i].data.u32];

            r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0) {
                fprintf(stderr, "sockmap_bench: connection %u %s\n", evs[i].data.u32,
                        r == 0 ? "closed by the server" : strerror(errno));
                atomic_fetch_add(&n_errors, 1);
                return 1;
            }
            c->inlen += (size_t) r;
            if (!c->busy) {
                bad_reply(c->in, c->inlen, &keys[0]);
                return 1;
            }
            st = check_reply(c->in, c->inlen, &keys[c->key], &used);
            switch (st) {
            case 0:
                if (c->inlen == sizeof(c->in)) {
                    bad_reply(c->in, c->inlen, &keys[c->key]);
                    return 1;
                }
                continue;
            case -1:
                bad_reply(c->in, c->inlen, &keys[c->key]);
                used = c->inlen;        /* resynchronising is hopeless: drop it */
                rc = 1;
                break;
            default:
                break;
            }
            record(c->slot, st, c->t0, now_ns());
            last_progress = now_ns();
            if (used != c->inlen) {
                /* more bytes than one reply: the server answered twice */
                bad_reply(c->in + used, c->inlen - used, &keys[c->key]);
                return 1;
            }
            c->inlen = 0;
            if (!conn_start(c)) {
                fprintf(stderr, "sockmap_bench: send: %s\n", strerror(errno));
                return 1;
            }
        }
    }
    for (i = 0; i < opt_conns; i++)
        close(cs[i].fd);
    close(ep);
    free(cs);
    return rc;
}

/* ---- one blocking thread per connection -------------------------------- */

static void *
thread_main(void *arg)
{
    struct conn *c = arg;
    struct timeval tv = { (time_t) opt_stall, (suseconds_t) ((opt_stall - (time_t) opt_stall) * 1e6) };
    size_t used;
    ssize_t r;
    long slot;
    int st;

    (void) setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (take_slot(&slot)) {
        const struct key *k = &keys[(size_t) ((slot + opt_warmup) % nkeys)];

        c->t0 = now_ns();
        if (!send_req(c->fd, k)) {
            fprintf(stderr, "sockmap_bench: send: %s\n", strerror(errno));
            atomic_fetch_add(&n_errors, 1);
            break;
        }
        c->inlen = 0;
        for (;;) {
            r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                fprintf(stderr, "sockmap_bench: recv: %s\n",
                        r == 0 ? "closed by the server"
                        : errno == EAGAIN ? "no reply in time" : strerror(errno));
                atomic_fetch_add(&n_errors, 1);
                atomic_store(&stop, true);
                return NULL;
            }
            c->inlen += (size_t) r;
            st = check_reply(c->in, c->inlen, k, &used);
            if (st == 0 && c->inlen < sizeof(c->in))
                continue;
            if (st < 1 || used != c->inlen) {
                bad_reply(c->in, c->inlen, k);
                atomic_store(&stop, true);
                return NULL;
            }
            break;
        }
        record(slot, st, c->t0, now_ns());
    }
    return NULL;
}

static int
run_threads(void)
{
    struct conn *cs = calloc((size_t) opt_conns, sizeof(*cs));
    pthread_t *th = calloc((size_t) opt_conns, sizeof(*th));
    int i;

    if (cs == NULL || th == NULL) {
        perror("sockmap_bench");
        return 2;
    }
    for (i = 0; i < opt_conns; i++)
        cs[i].fd = connect_one(false);
    for (i = 0; i < opt_conns; i++)
        if (pthread_create(&th[i], NULL, thread_main, &cs[i]) != 0) {
            fprintf(stderr, "sockmap_bench: pthread_create failed\n");
            exit(2);
        }
    for (i = 0; i < opt_conns; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < opt_conns; i++)
        close(cs[i].fd);
    free(cs);
    free(th);
    return atomic_load(&n_errors) ? 1 : 0;
}

/* ---- report ------------------------------------------------------------ */

static int
by_value(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    return x < y ? -1 : x > y;
}

static double
pct_us(const uint32_t *v, long n, double q)
{
    long i;

    if (n == 0)
        return 0;
    i = (long) (q * (double) n + 0.5) - 1;      /* nearest rank */
    if (i < 0)
        i = 0;
    if (i >= n)
        i = n - 1;
    return v[i] / 1000.0;
}

int
main(int argc, char **argv)
{
    long n, i;
    double secs, sum = 0;
    uint64_t t_end;
    int ch, rc;
    char *end;

    while ((ch = getopt(argc, argv, "e:c:n:d:w:t:D:p:k:m:o:s:Tv")) != -1) {
        switch (ch) {
        case 'e': endpoint = optarg; break;
        case 'c': opt_conns = atoi(optarg); break;
        case 'n': opt_count = strtol(optarg, &end, 10); break;
        case 'd': opt_secs = strtod(optarg, &end); break;
        case 'w': opt_warmup = strtol(optarg, &end, 10); break;
        case 't': opt_stall = strtod(optarg, &end); break;
        case 'D': opt_ndiv = strtol(optarg, &end, 10); break;
        case 'p': opt_pct = atoi(optarg); break;
        case 'k': opt_nkeys = strtol(optarg, &end, 10); break;
        case 'm': mapname = optarg; break;
        case 'o': expect_ok = optarg; break;
        case 's': opt_seed = (unsigned) strtoul(optarg, &end, 10); break;
        case 'T': opt_threads = true; break;
        case 'v': opt_verbose = true; break;
        default: usage();
        }
    }
    if (endpoint == NULL || optind != argc || opt_conns < 1 || opt_conns > MAX_CONNS
        || opt_count < 1 || opt_count > MAX_LOOKUPS || !(opt_secs > 0)
        || opt_secs > MAX_SECONDS || opt_warmup < 0 || opt_warmup > MAX_LOOKUPS
        || !(opt_stall > 0) || opt_stall > 60 || opt_ndiv < 0 || opt_pct < 0
        || opt_pct > 100 || opt_nkeys < 1 || opt_nkeys > MAX_KEYS || strlen(mapname) > 64)
        usage();
    parse_endpoint(endpoint);
    make_keys();
    if ((lat = calloc((size_t) opt_count, sizeof(*lat))) == NULL) {
        perror("sockmap_bench: calloc");
        return 2;
    }
    /* Until the warm-up ends the deadline is the cap plus a minute; the
     * stall timeout bounds a warm-up that does not progress. */
    t_start = now_ns();
    t_deadline = t_start + (uint64_t) ((opt_warmup ? MAX_SECONDS + 60 : opt_secs) * 1e9);
    rc = opt_threads ? run_threads() : run_poll();
    t_end = now_ns();
    n = atomic_load(&n_done);
    /* Slots are handed out in order but may complete out of order: keep the
     * recorded ones only (a slot taken and never answered stays 0). */
    if (n < opt_count) {
        long k = 0;

        for (i = 0; i < opt_count && k < n; i++)
            if (lat[i])
                lat[k++] = lat[i];
        n = k;
    }
    qsort(lat, (size_t) n, sizeof(*lat), by_value);
    for (i = 0; i < n; i++)
        sum += lat[i];
    secs = (double) (t_end - atomic_load(&t_start)) / 1e9;
    printf("endpoint=%s model=%s conns=%d lookups=%ld secs=%.3f rate=%.0f "
           "mean=%.1f p50=%.1f p90=%.1f p99=%.1f p999=%.1f max=%.1f "
           "found=%ld notfound=%ld errors=%ld\n",
           endpoint, opt_threads ? "threads" : "poll", opt_conns, n, secs,
           secs > 0 ? (double) n / secs : 0.0, n ? sum / (double) n / 1000.0 : 0.0,
           pct_us(lat, n, 0.50), pct_us(lat, n, 0.90), pct_us(lat, n, 0.99),
           pct_us(lat, n, 0.999), n ? lat[n - 1] / 1000.0 : 0.0,
           atomic_load(&n_found), atomic_load(&n_notfound), atomic_load(&n_errors));
    if (opt_verbose)
        fprintf(stderr, "sockmap_bench: %ld lookups in %.3f s (+%ld warm-up), %d %s "
                "connection(s), keys %ld (%d%% in %ld diverted domains)\n", n, secs,
                opt_warmup, opt_conns, opt_threads ? "threaded" : "polled", nkeys,
                opt_pct, opt_ndiv);
    if (atomic_load(&n_errors) && rc == 0)
        rc = 1;
    return rc;
}
