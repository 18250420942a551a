#!/bin/bash
# bench/run-probes.sh - socketmap lookups while spillway-routed probes relays.
#
# The issue's target: socketmap lookup p99 with 50 relays under probing, one
# of them hanging, within 10% of the same without probes.
#
# 50 relays on 50 loopback addresses 127.0.1.1 .. 127.0.1.50:
#   r01..r49  Postfix smtp-sink on port BENCH_RELAY_PORT (answer at once);
#   r50       tests/e2e/smtprelay.py --mode hang-banner on the same port
#             (accepts and never says anything: every probe of it runs into
#             its timeout);
# and, for the STARTTLS configuration, 49 more smtprelay.py on the same
# addresses, port BENCH_TLS_PORT, with a certificate from tests/e2e/testca.sh.
# Every relay process is pinned to the last CPU: they stand in for remote
# hosts, whose CPU is not the daemon's.
#
# Configurations of spillway-routed (the same relays, pools, state file and
# socketmap; only the relays' probe = { } groups differ):
#   none   no probe group: nothing is probed (the baseline);
#   probe  probe = { interval = "2s"; timeout = "1s"; backoff_max = "2s"; }
#          on all 50 relays: connect, banner, EHLO, QUIT;
#   tls    the same plus starttls = true, verify = true (ca_file, name):
#          connect, banner, EHLO, STARTTLS, TLS handshake with certificate
#          verification, EHLO, QUIT; r01..r49 point at the TLS relays.
# (interval must be longer than timeout and durations are whole seconds, so
# 2s/1s is the most aggressive setting: about 25 probes/s, the 49 started in
# the same tick every 2 s, and the hanging relay probed every 3 s, each probe
# holding a connection for its 1 s timeout.)
#
# 1,000 destinations are pinned to r02 (an alternate) through the state file,
# as in run-sockmap.sh; sockmap_bench checks every reply (10% of keys are in
# those domains and must get "OK smtp:[127.0.1.2]:PORT").
#
# Cases, over the unix socket (sockmap_bench's epoll client; closed loop:
# each connection sends its next request when the last reply is in):
#   1same   1 connection, client and daemon pinned to CPU 0 (the relays on
#           the last CPU): the daemon's service time without the VM's
#           cross-CPU wake-ups (see BENCHMARKS.md, "Socketmap lookups");
#   16same  16 connections, client and daemon on CPU 0: the same isolation
#           from the relays, and a stall of the loop delays 16 lookups
#           instead of one;
#   16      16 connections, nothing pinned but the relays (as run-sockmap.sh;
#           the relays then share a CPU with client and daemon).
# Before those, an open-loop run (a small C client built here from the source
# below): BENCH_OPENLOOP_RATE lookups/s at fixed times, each on a free one of
# 200 connections, client and daemon on CPU 0.  A closed-loop client hides
# stalls of the loop (a stalled connection sends nothing more, so a 50 ms
# stall costs one slow sample per connection); the Postfix processes asking
# a real daemon do not wait for each other.  Each lookup is timed from its
# send (the daemon's part; exact while a free connection is there when the
# lookup is due: 200 connections cover a 40 ms stall at 5,000/s, and
# waited_for_conn counts the lookups that found none) and from when it was
# due (also counts how late the client's timer woke it: on this VM up to
# a millisecond or more at p99, whatever the daemon does).
# One daemon start per configuration and round; every case runs on it. Rounds
# rotate the order (none probe tls, probe tls none, tls none probe) so drift
# falls on every configuration alike. Before and after the runs of a probed
# start, `spillwayctl status` must show r01..r49 up and r50 down with a
# timeout; the probes made during each run are counted at the relays
# (smtp-sink's session counter, smtprelay.py's connection log).
#
# Run as root from anywhere, after `make -j2` at the top.  Environment
# (defaults):
#   BENCH_LOOKUPS=1500000 BENCH_SECS=20 BENCH_REPEAT=3
#   BENCH_CONFIGS="none probe tls"   BENCH_CASES="1same 16same 16" (empty: none)
#   BENCH_RELAY_PORT=27420 BENCH_TLS_PORT=27421 BENCH_DIVERSIONS=1000
#   BENCH_PROBE_INTERVAL=2s BENCH_PROBE_TIMEOUT=1s BENCH_READY_TIMEOUT=30
#   BENCH_IDLE_SECS=6 (after each start: the daemon's CPU with no lookups)
#   BENCH_OPENLOOP_RATE=5000 BENCH_OPENLOOP_SECS=20 BENCH_OPENLOOP_CONNS=200
#     (the open-loop run; RATE=0 skips it)
#   BENCH_KEEP=1 keeps the work directory.
# Exit status 0 when every reply was valid and the probe checks passed; the
# 10% target is reported, not asserted.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
LOOKUPS=${BENCH_LOOKUPS:-1500000}
SECS=${BENCH_SECS:-20}
REPEAT=${BENCH_REPEAT:-3}
CONFIGS=${BENCH_CONFIGS:-none probe tls}
CASES=${BENCH_CASES-1same 16same 16}   # empty: the open-loop run only
PORT=${BENCH_RELAY_PORT:-27420}
TLS_PORT=${BENCH_TLS_PORT:-27421}
NDIV=${BENCH_DIVERSIONS:-1000}
P_INTERVAL=${BENCH_PROBE_INTERVAL:-2s}
P_TIMEOUT=${BENCH_PROBE_TIMEOUT:-1s}
READY=${BENCH_READY_TIMEOUT:-30}
IDLE=${BENCH_IDLE_SECS:-6}
OL_RATE=${BENCH_OPENLOOP_RATE:-5000}
OL_SECS=${BENCH_OPENLOOP_SECS:-20}
OL_CONNS=${BENCH_OPENLOOP_CONNS:-200}
INTERVAL_S=${P_INTERVAL%s}
[[ $INTERVAL_S =~ ^[0-9]+$ ]] || INTERVAL_S=60
NRELAYS=50                      # the issue's figure; r50 is the hanging one
NET=127.0.1                     # relay i listens on $NET.i
TLS_NAME=relay.bench.test       # the name on the TLS relays' certificate

BENCH_DIR=$(mktemp -d /tmp/spillway-bench-probes.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
SMTPRELAY=$BENCH_TOP/tests/e2e/smtprelay.py
TESTCA=$BENCH_TOP/tests/e2e/testca.sh

RELAY_PIDS=()
_probes_cleanup() {
    local rc=$? p
    set +e
    bench_routed_stop
    for p in "${RELAY_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${RELAY_PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    (exit "$rc")
    _bench_cleanup
}
trap _probes_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_require_root
bench_build
command -v smtp-sink >/dev/null || bench_die "smtp-sink not found (it comes with Postfix)"
command -v python3 >/dev/null || bench_die "python3 not found"
[[ -f $SMTPRELAY && -f $TESTCA ]] || bench_die "tests/e2e/smtprelay.py or testca.sh missing"
for c in $CASES; do
    case $c in 1same | 16same | 16) ;; *) bench_die "BENCH_CASES: 1same, 16same, 16" ;; esac
done
for c in $CONFIGS; do
    case $c in none | probe | tls) ;; *) bench_die "BENCH_CONFIGS: none, probe, tls" ;; esac
done
for p in "$PORT" "$TLS_PORT"; do bench_port_free "$p"; done
if ((OL_RATE > 0)); then
    command -v cc >/dev/null || bench_die "no C compiler for the open-loop client (BENCH_OPENLOOP_RATE=0 skips it)"
fi
chmod 755 "$BENCH_DIR"

bench_machine_note  # before the relays start, which load the machine for a while

# A private copy of the daemon: a rebuild of the tree during the run does not
# change what is measured.
cp "$ROUTED_BIN" "$BENCH_DIR/spillway-routed"
ROUTED_SRC=$ROUTED_BIN
ROUTED_BIN=$BENCH_DIR/spillway-routed

NCPU=$(nproc)
ALL_CPUS="0-$((NCPU - 1))"
RELAY_CPU=$((NCPU - 1))
pin_relay=(taskset -c "$RELAY_CPU")
((NCPU >= 2)) || pin_relay=()
SOCK=$BENCH_DIR/sockmap.sock
CTL=$BENCH_DIR/control.sock
HANG_IP=$NET.$NRELAYS
want_tls=0
[[ " $CONFIGS " == *" tls "* ]] && want_tls=1

# ---- the open-loop client ----------------------------------------------------
# sockmap_bench is closed-loop: a connection sends its next request only when
# the last reply is in, so a stall of the daemon's loop delays one request per
# connection and the client then waits with it (coordinated omission).  Postfix
# processes ask when mail needs it, whatever the daemon is doing.  This client
# sends at a fixed rate on any free connection of N and times each lookup from
# the moment it was due (and, separately, from its send).
if ((OL_RATE > 0)); then
    cat >"$BENCH_DIR/openloop.c" <<'EOF'
/* openloop SOCKET RATE SECS CONNS: fixed-rate socketmap lookups (bench/run-probes.sh).
 * Prints one key=value line: p50.. from when each lookup was due, send_p50..
 * from its send, waited_for_conn = lookups that found every connection busy. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#define MAXC 256
static uint64_t now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return (uint64_t) t.tv_sec * 1000000000ull + (uint64_t) t.tv_nsec; }
static int cmp(const void *a, const void *b) { uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b; return x < y ? -1 : x > y; }
static void pr(const char *pre, uint32_t *v, long n)
{
    qsort(v, (size_t) n, sizeof(*v), cmp);
#define Q(q) (v[(long) ((double) (n - 1) * (q))] / 1000.0)
    printf(" %sp50=%.1f %sp90=%.1f %sp99=%.1f %sp999=%.1f %smax=%.1f", pre, Q(.5), pre, Q(.9), pre, Q(.99), pre, Q(.999), pre, v[n - 1] / 1000.0);
}
static uint32_t cap(uint64_t d) { return d > UINT32_MAX ? UINT32_MAX : (uint32_t) d; }
int main(int argc, char **argv)
{
    static char in[MAXC][1024];
    static size_t inl[MAXC];
    static int fd[MAXC], busy[MAXC];
    static uint64_t tsend[MAXC], tdue[MAXC];
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    struct epoll_event ev, evs[MAXC + 1];
    double rate, secs;
    long total, sent = 0, done = 0, late = 0;
    uint64_t t0, end, period, due;
    uint32_t *ls, *ld;
    int nc, i, ep, tfd, waited = 0;
    if (argc != 5 || strlen(argv[1]) >= sizeof(a.sun_path)) { fprintf(stderr, "usage: openloop SOCKET RATE SECS CONNS\n"); return 2; }
    rate = atof(argv[2]); secs = atof(argv[3]); nc = atoi(argv[4]);
    if (rate < 1 || rate > 200000 || secs <= 0 || secs > 600 || nc < 1 || nc > MAXC) { fprintf(stderr, "openloop: bad arguments\n"); return 2; }
    total = (long) (rate * secs); period = (uint64_t) (1e9 / rate);
    if ((ls = calloc((size_t) total, 4)) == NULL || (ld = calloc((size_t) total, 4)) == NULL) return 2;
    (void) prctl(PR_SET_TIMERSLACK, 1UL);
    strcpy(a.sun_path, argv[1]);
    if ((ep = epoll_create1(0)) < 0 || (tfd = timerfd_create(CLOCK_MONOTONIC, 0)) < 0) { perror("openloop"); return 2; }
    for (i = 0; i < nc; i++) {
        if ((fd[i] = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 || connect(fd[i], (struct sockaddr *) &a, sizeof(a)) < 0) { perror("openloop: connect"); return 2; }
        ev.events = EPOLLIN; ev.data.u32 = (uint32_t) i;
        (void) epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &ev);
    }
    ev.events = EPOLLIN; ev.data.u32 = MAXC;
    (void) epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    t0 = now() + 100000000ull;
    end = t0 + (uint64_t) ((secs + 30) * 1e9);
    while (done < total) {
        uint64_t t = now();
        struct itimerspec its = { 0 };
        int n, e;
        if (t > end) { fprintf(stderr, "openloop: no reply for too long\n"); return 1; }
        while (sent < total && (due = t0 + (uint64_t) sent * period) <= t) {
            char key[128], req[160];
            long k = sent % 20000;
            int kl, rl;
            for (i = 0; i < nc && busy[i]; i++) ;
            if (i == nc) { if (!waited) late++; waited = 1; break; } /* every connection busy: it waits */
            waited = 0;
            /* 1 key in 10 in a pinned domain dNNN.example, as sockmap_bench */
            kl = k % 10 == 0 ? snprintf(key, sizeof(key), "transport user%ld@d%03ld.example", k, (k / 10) % 1000)
                             : snprintf(key, sizeof(key), "transport user%ld@dom%ld.example", k, k);
            rl = snprintf(req, sizeof(req), "%d:%s,", kl, key);
            tdue[i] = due; tsend[i] = now();
            if (write(fd[i], req, (size_t) rl) != rl) { perror("openloop: write"); return 1; }
            busy[i] = 1; inl[i] = 0; sent++;
        }
        if (sent < total) {
            due = t0 + (uint64_t) sent * period;
            its.it_value.tv_sec = (time_t) (due / 1000000000ull);
            its.it_value.tv_nsec = (long) (due % 1000000000ull);
            (void) timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        }
        n = epoll_wait(ep, evs, MAXC + 1, 1000);
        for (e = 0; e < n; e++) {
            uint32_t c = evs[e].data.u32;
            char *colon;
            ssize_t r;
            uint64_t te;
            if (c == MAXC) { uint64_t x; if (read(tfd, &x, 8) < 0) { /* spurious */ } continue; }
            if ((r = read(fd[c], in[c] + inl[c], sizeof(in[c]) - inl[c])) <= 0) { fprintf(stderr, "openloop: connection closed\n"); return 1; }
            inl[c] += (size_t) r;
            if ((colon = memchr(in[c], ':', inl[c])) == NULL || inl[c] < (size_t) (colon - in[c]) + 2 + strtoul(in[c], NULL, 10)) continue;
            if (strncmp(colon + 1, "OK ", 3) != 0 && strncmp(colon + 1, "NOTFOUND ", 9) != 0) { fprintf(stderr, "openloop: bad reply\n"); return 1; }
            te = now();
            ls[done] = cap(te - tsend[c]); ld[done] = cap(te - tdue[c]);
            done++; busy[c] = 0;
        }
    }
    printf("rate=%.0f secs=%.1f conns=%d lookups=%ld waited_for_conn=%ld", rate, secs, nc, done, late);
    pr("send_", ls, done);
    pr("", ld, done);
    printf("\n");
    return 0;
}
EOF
    cc -O2 -Wall -o "$BENCH_DIR/openloop" "$BENCH_DIR/openloop.c" || bench_die "cannot build the open-loop client"
fi

# ---- relays ----------------------------------------------------------------
mkdir -p "$BENCH_DIR/sink" "$BENCH_DIR/relays"
for ((i = 1; i < NRELAYS; i++)); do
    "${pin_relay[@]}" smtp-sink -u nobody -c "$NET.$i:$PORT" 100 \
        >"$BENCH_DIR/sink/$i.out" 2>"$BENCH_DIR/sink/$i.err" </dev/null &
    RELAY_PIDS+=($!)
done

# relay_py NAME ADDR PORT ARGS... : one smtprelay.py, its connection log in
# $BENCH_DIR/relays/NAME.connlog
relay_py() {
    local name=$1 addr=$2 port=$3
    shift 3
    mkdir -p "$BENCH_DIR/relays/$name.spool"
    "${pin_relay[@]}" python3 "$SMTPRELAY" --addr "$addr" --port "$port" --name "$name" \
        --spool "$BENCH_DIR/relays/$name.spool" "$@" \
        >"$BENCH_DIR/relays/$name.log" 2>&1 </dev/null &
    RELAY_PIDS+=($!)
}
relay_py hang "$HANG_IP" "$PORT" --mode hang-banner
if ((want_tls)); then
    bash "$TESTCA" "$BENCH_DIR/ca" "$TLS_NAME"
    for ((i = 1; i < NRELAYS; i++)); do
        relay_py "tls$i" "$NET.$i" "$TLS_PORT" --tls-cert "$BENCH_DIR/ca/$TLS_NAME.crt" \
            --tls-key "$BENCH_DIR/ca/$TLS_NAME.key"
    done
fi

# wait_listeners PORT N : N sockets listen on :PORT within 60 s
wait_listeners() {
    local n
    for ((t = 0; t < 600; t++)); do
        n=$(ss -Hltn "sport = :$1" | grep -c "$NET\." || true)
        ((n >= $2)) && return 0
        sleep 0.1
    done
    bench_die "only $n of $2 relays listen on port $1 after 60 s"
}
wait_listeners "$PORT" "$NRELAYS"
((want_tls)) && wait_listeners "$TLS_PORT" $((NRELAYS - 1))
for p in "${RELAY_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || bench_die "a relay exited at start"; done

# probes_so_far MODE : connections the relays have had (smtp-sink sessions or
# smtprelay.py connections of the relays MODE probes, plus the hanging one's)
probes_so_far() {
    local n=0 f
    if [[ $1 == tls ]]; then
        n=$(cat "$BENCH_DIR"/relays/tls*.connlog 2>/dev/null | wc -l)
    else
        for f in "$BENCH_DIR"/sink/*.out; do
            # smtp-sink -c: "sess=N quit=N mesg=N" lines separated by \r
            n=$((n + $(tr '\r' '\n' <"$f" | awk -F'[= ]' '/^sess=/ { s = $2 } END { print s + 0 }')))
        done
    fi
    f=$BENCH_DIR/relays/hang.connlog
    [[ -f $f ]] && n=$((n + $(wc -l <"$f")))
    echo "$n"
}

# cpu_ns PID... : CPU time used so far by these processes (ns, schedstat;
# spillway-routed and the relays are single-threaded)
cpu_ns() {
    local p t=0 v
    for p in "$@"; do
        read -r v _ </proc/"$p"/schedstat 2>/dev/null || v=0
        t=$((t + v))
    done
    echo "$t"
}

# ---- configuration ---------------------------------------------------------
bench_minimal_pfconf "$BENCH_DIR/pf"
mkdir -p "$BENCH_DIR/render"

# write_conf FILE MODE
write_conf() {
    local file=$1 mode=$2 probe='' i port role
    case $mode in
    probe) probe="probe = { interval = \"$P_INTERVAL\"; timeout = \"$P_TIMEOUT\"; backoff_max = \"$P_INTERVAL\"; };" ;;
    tls) probe="probe = { interval = \"$P_INTERVAL\"; timeout = \"$P_TIMEOUT\"; backoff_max = \"$P_INTERVAL\"; starttls = true; verify = true; ca_file = \"$BENCH_DIR/ca/ca.crt\"; name = \"$TLS_NAME\"; };" ;;
    esac
    {
        echo "# spillway.conf for bench/run-probes.sh, configuration $mode"
        echo "routed: { socketmap = [ \"unix:$SOCK\" ];"
        echo "          control = \"$CTL\";"
        echo "          evidence = \"$BENCH_DIR/evidence.sock\";"
        echo "          state = \"$BENCH_DIR/state\";"
        echo "          render_dir = \"$BENCH_DIR/render\";"
        echo "          postfix_config = \"$BENCH_DIR/pf\"; };"
        echo "pools = ( { name = \"bench\"; relays = [\"r01\"]; egress = [\"40.107.0.0/16\"];"
        echo "            hosts = [\"*.outlook.com\"]; } );"
        echo "relays = ("
        for ((i = 1; i <= NRELAYS; i++)); do
            port=$PORT
            [[ $mode == tls && $i != "$NRELAYS" ]] && port=$TLS_PORT
            role='role = "alternate"; priority = '$((10 + i))';'
            ((i == 1)) && role='role = "primary";'
            printf '  { name = "r%02d"; nexthop = "[%s.%d]:%d"; %s jurisdiction = "EU"; %s }%s\n' \
                "$i" "$NET" "$i" "$port" "$role" "$probe" "$([[ $i == "$NRELAYS" ]] || echo ,)"
        done
        echo ");"
    } >"$file"
}

# health_check MODE : r01..r49 up and r50 down with a timeout, per status;
# prints a one-line summary, returns 1 when it is not so
health_check() {
    "$SWCTL_BIN" -s "$CTL" status >"$BENCH_DIR/status.txt" 2>&1 || return 1
    awk -v hang="$HANG_IP" -v net="$NET." -v n="$NRELAYS" -v tls="$([[ $1 == tls ]] && echo 1 || echo 0)" '
        /^health:/ { h = 1; next }
        h && $1 ~ /^127\./ && index($1, net) == 1 {
            if ($1 == hang) { hs = $2; hl = $0; next }
            if ($2 == "up") { up++; if ($0 ~ /TLSv1/) t++ } else other = other " " $1 "=" $2
        }
        END {
            ok = (up == n - 1 && hs == "down" && hl ~ /timeout/ && (!tls || t == n - 1))
            sub(/^ +/, "", hl)
            printf "%d/%d up%s%s; hanging: %s\n", up, n - 1, tls ? sprintf(" (%d with TLS)", t) : "",
                other == "" ? "" : "; not up:" other, hl == "" ? "(not listed)" : hl
            exit !ok
        }' "$BENCH_DIR/status.txt"
}

# wait_health MODE : health_check passes within READY seconds
wait_health() {
    local t
    for ((t = 0; t < READY * 5; t++)); do
        health_check "$1" >/dev/null && return 0
        sleep 0.2
    done
    health_check "$1" || true
    return 1
}

# ---- runs ------------------------------------------------------------------
echo "spillway-routed: $ROUTED_SRC (built $(stat -c %y "$ROUTED_SRC" | cut -d. -f1), sha256 $(sha256sum "$ROUTED_BIN" | cut -c1-12))"
echo "$NRELAYS relays on $NET.1-$NRELAYS ($HANG_IP hangs), probes every $P_INTERVAL with a $P_TIMEOUT timeout; $NDIV pinned destinations on r02"
echo "$LOOKUPS lookups or ${SECS}s per run; configurations: $CONFIGS; $REPEAT rounds; relays pinned to CPU $RELAY_CPU"

cases=()
for c in $CASES; do
    case $c in
    1same) cases+=("1 conn, same CPU|1|same") ;;
    16same) cases+=("16 conns, same CPU|16|same") ;;
    16) cases+=("16 conns|16|") ;;
    esac
done
read -r -a cfgs <<<"$CONFIGS"
errors=0
probe_bad=0
flaps=0
for ((r = 1; r <= REPEAT; r++)); do
    # rotate the order each round
    order=()
    for ((k = 0; k < ${#cfgs[@]}; k++)); do
        order+=("${cfgs[$(((k + r - 1) % ${#cfgs[@]}))]}")
    done
    for cfg in "${order[@]}"; do
        write_conf "$BENCH_DIR/sw.conf" "$cfg"
        rm -f "$BENCH_DIR/state"
        bench_gen_state "$BENCH_DIR/state" "$NDIV" r02
        : >"$BENCH_DIR/routed.log"
        bench_routed_start "$BENCH_DIR/sw.conf" "$BENCH_DIR/routed.log" "$SOCK"
        bench_wait_render "$BENCH_DIR"
        grep -q "restored $NDIV scopes" "$BENCH_DIR/routed.log" ||
            { cat "$BENCH_DIR/routed.log" >&2; bench_die "the state file was not restored"; }
        if [[ $cfg != none ]]; then
            wait_health "$cfg" >"$BENCH_DIR/health.txt" ||
                { cat "$BENCH_DIR/health.txt" >&2; bench_die "round $r $cfg: the relays' health did not settle within $READY s"; }
        fi
        # every change of health (and the first resolution of the relays'
        # addresses, one tick after the start, probed or not) renders the
        # tables again and saves the state: let that pass
        sleep 2
        bench_wait_render "$BENCH_DIR"
        sent=0
        # idle: what the probes alone cost the daemon
        p0=$(probes_so_far "$cfg")
        c0=$(cpu_ns "$ROUTED_PID")
        sleep "$IDLE"
        c1=$(cpu_ns "$ROUTED_PID")
        p1=$(probes_so_far "$cfg")
        awk -v c=$((c1 - c0)) -v p=$((p1 - p0)) -v t="$IDLE" -v r="$r" 'BEGIN {
            printf "round=%d probes=%d probes_per_s=%.1f cpu_ms_per_s=%.2f us_per_probe=%.0f\n",
                r, p, p / t, c / 1e6 / t, (p > 0 ? c / 1e3 / p : 0) }' >>"$BENCH_DIR/idle.$cfg.txt"
        bench_msg "round $r $cfg, idle ${IDLE}s: $(tail -n1 "$BENCH_DIR/idle.$cfg.txt")"
        if ((OL_RATE > 0)); then
            # open loop: client and daemon on CPU 0, as the 1same case
            ((NCPU >= 2)) && taskset -pc 0 "$ROUTED_PID" >/dev/null
            pre=()
            ((NCPU >= 2)) && pre=(taskset -c 0)
            p0=$(probes_so_far "$cfg")
            if ! line=$(timeout $((OL_SECS + 60)) "${pre[@]}" "$BENCH_DIR/openloop" "$SOCK" "$OL_RATE" \
                "$OL_SECS" "$OL_CONNS" 2>"$BENCH_DIR/client.err"); then
                errors=$((errors + 1))
                cat "$BENCH_DIR/client.err" >&2
            fi
            p1=$(probes_so_far "$cfg")
            printf '%s probes=%d round=%d\n' "$line" $((p1 - p0)) "$r" >>"$BENCH_DIR/open.$cfg.txt"
            sent=$((sent + $(bench_kv "$line" lookups)))
            bench_msg "round $r $cfg, open loop ${OL_RATE}/s, from send: p50 $(bench_kv "$line" send_p50) p99 $(bench_kv "$line" send_p99) p99.9 $(bench_kv "$line" send_p999) max $(bench_kv "$line" send_max) us; from due: p99 $(bench_kv "$line" p99) max $(bench_kv "$line" max) us; waited for a connection $(bench_kv "$line" waited_for_conn); $((p1 - p0)) probes"
        fi
        expect="smtp:[$NET.2]:$PORT"
        [[ $cfg == tls ]] && expect="smtp:[$NET.2]:$TLS_PORT"
        for i in "${!cases[@]}"; do
            IFS='|' read -r label conns pin <<<"${cases[$i]}"
            pre=()
            if [[ $pin == same ]] && ((NCPU >= 2)); then
                taskset -pc 0 "$ROUTED_PID" >/dev/null
                pre=(taskset -c 0)
            else
                taskset -pc "$ALL_CPUS" "$ROUTED_PID" >/dev/null
            fi
            p0=$(probes_so_far "$cfg")
            st0=$(bench_steal_ticks)
            c0=$(cpu_ns "$ROUTED_PID")
            rc0=$(cpu_ns "${RELAY_PIDS[@]}")
            if ! line=$(timeout $((SECS + 60)) "${pre[@]}" "$SOCKMAP_BENCH" -e "unix:$SOCK" \
                -c "$conns" -n "$LOOKUPS" -d "$SECS" -D "$NDIV" -o "$expect" 2>"$BENCH_DIR/client.err"); then
                errors=$((errors + 1))
                cat "$BENCH_DIR/client.err" >&2
            fi
            c1=$(cpu_ns "$ROUTED_PID")
            rc1=$(cpu_ns "${RELAY_PIDS[@]}")
            p1=$(probes_so_far "$cfg")
            secs=$(bench_kv "$line" secs)
            cpu=$(awk -v c=$((c1 - c0)) -v rc=$((rc1 - rc0)) -v n="$(bench_kv "$line" lookups)" -v t="$secs" 'BEGIN {
                printf "cpu_us_per_lookup=%.2f relays_cpu_pct=%.1f", (n > 0 ? c / 1e3 / (n + 1000) : 0),
                    (t > 0 ? rc / 1e7 / t : 0) }')
            steal=$(awk -v a="$st0" -v b="$(bench_steal_ticks)" -v hz="$(getconf CLK_TCK)" \
                -v t="$secs" -v n="$NCPU" 'BEGIN { printf "%.0f%%", (t > 0 ? 100 * (b - a) / hz / (t * n) : 0) }')
            pps=$(awk -v d=$((p1 - p0)) -v t="$secs" 'BEGIN { printf "%.1f", (t > 0 ? d / t : 0) }')
            busy=$(bench_foreign_busy)
            printf '%s probes=%d probes_per_s=%s steal=%s round=%d %s\n' "$line" $((p1 - p0)) "$pps" \
                "$steal" "$r" "$cpu" >>"$BENCH_DIR/$cfg.$i.txt"
            sent=$((sent + $(bench_kv "$line" lookups) + 1000))
            bench_msg "round $r $cfg, $label: $(bench_kv "$line" rate)/s p50 $(bench_kv "$line" p50) p99 $(bench_kv "$line" p99) us, errors $(bench_kv "$line" errors); $((p1 - p0)) probes ($pps/s); steal $steal${busy:+; OTHER LOAD: $busy}"
            if [[ $cfg == none ]] && ((p1 != p0)); then
                bench_msg "round $r none: $((p1 - p0)) connections to the relays without probes"
                probe_bad=$((probe_bad + 1))
            fi
            # a run longer than two intervals must have seen probes
            if [[ $cfg != none ]] && ((p1 - p0 == 0)) &&
                awk -v t="$secs" -v i="$INTERVAL_S" 'BEGIN { exit !(t > 2 * i) }'; then
                bench_msg "round $r $cfg, $label: no probe reached a relay during the run"
                probe_bad=$((probe_bad + 1))
            fi
        done
        taskset -pc "$ALL_CPUS" "$ROUTED_PID" >/dev/null
        if [[ $cfg != none ]]; then
            if h=$(health_check "$cfg"); then
                bench_msg "round $r $cfg, health after the runs: $h"
            else
                bench_msg "round $r $cfg, health after the runs is NOT as expected: $h"
                probe_bad=$((probe_bad + 1))
            fi
            cp "$BENCH_DIR/status.txt" "$BENCH_DIR/status.$cfg.txt"
        fi
        got=$("$SWCTL_BIN" -s "$CTL" status | awk '/^lookups:/ { print $2 }')
        [[ $got == "$sent" ]] ||
            bench_msg "round $r $cfg: the daemon counted $got lookups, the client sent $sent"
        if grep -E 'health: relay=r[0-9]+ .*was=up' "$BENCH_DIR/routed.log" >&2; then
            bench_msg "round $r $cfg: an address that was up went down (above)"
            flaps=$((flaps + 1))
        fi
        bench_routed_stop
        cp "$BENCH_DIR/routed.log" "$BENCH_DIR/routed.$cfg.$r.log"
    done
done

# ---- report ----------------------------------------------------------------
# med FILE KEY : median of KEY over the lines of FILE
med() {
    while read -r line; do bench_kv "$line" "$2"; done <"$1" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# all FILE KEY : the values of KEY, in run order
all() { while read -r line; do printf '%s ' "$(bench_kv "$line" "$2")"; done <"$1"; }

echo
echo "medians of $REPEAT runs (each column on its own; all runs below):"
printf '%-18s %-6s %8s %7s %7s %7s %8s %8s %8s %10s %8s %6s\n' case config rate/s p50_us p90_us \
    p99_us p999_us max_us probes/s cpu_us/lkp relays% errors
for i in "${!cases[@]}"; do
    IFS='|' read -r label _ <<<"${cases[$i]}"
    for cfg in "${cfgs[@]}"; do
        f=$BENCH_DIR/$cfg.$i.txt
        printf '%-18s %-6s %8s %7s %7s %7s %8s %8s %8s %10s %8s %6s\n' "$label" "$cfg" "$(med "$f" rate)" \
            "$(med "$f" p50)" "$(med "$f" p90)" "$(med "$f" p99)" "$(med "$f" p999)" \
            "$(med "$f" max)" "$(med "$f" probes_per_s)" "$(med "$f" cpu_us_per_lookup)" \
            "$(med "$f" relays_cpu_pct)" \
            "$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^errors=/) { split($i, a, "="); s += a[2] } } END { print s + 0 }' "$f")"
    done
done
echo
echo "idle (no lookups, ${IDLE}s after the relays' health settled), medians: the daemon's CPU"
for cfg in "${cfgs[@]}"; do
    f=$BENCH_DIR/idle.$cfg.txt
    printf '  %-6s %6s probes/s  %6s ms CPU per s  %5s us per probe  (runs: %s)\n' "$cfg" \
        "$(med "$f" probes_per_s)" "$(med "$f" cpu_ms_per_s)" "$(med "$f" us_per_probe)" \
        "$(all "$f" cpu_ms_per_s)"
done
if ((OL_RATE > 0)); then
    echo
    echo "open loop: $OL_RATE lookups/s for ${OL_SECS}s, a free one of $OL_CONNS connections each, client and daemon"
    echo "on CPU 0; latency from each lookup's send, and from when it was due (due_), medians of $REPEAT runs:"
    printf '  %-6s %8s %8s %8s %9s %9s %9s %9s %8s\n' config p50_us p90_us p99_us p999_us max_us due_p99 due_max waited
    for cfg in "${cfgs[@]}"; do
        f=$BENCH_DIR/open.$cfg.txt
        printf '  %-6s %8s %8s %8s %9s %9s %9s %9s %8s\n' "$cfg" "$(med "$f" send_p50)" "$(med "$f" send_p90)" \
            "$(med "$f" send_p99)" "$(med "$f" send_p999)" "$(med "$f" send_max)" "$(med "$f" p99)" \
            "$(med "$f" max)" "$(med "$f" waited_for_conn)"
    done
    echo "  all runs (from send p99/p99.9/max us):"
    for cfg in "${cfgs[@]}"; do
        printf '    %-6s' "$cfg"
        while read -r line; do
            printf ' %s/%s/%s' "$(bench_kv "$line" send_p99)" "$(bench_kv "$line" send_p999)" \
                "$(bench_kv "$line" send_max)"
        done <"$BENCH_DIR/open.$cfg.txt"
        echo
    done
fi
echo
echo "all runs, in round order (rate/s, p99 us, steal):"
for i in "${!cases[@]}"; do
    IFS='|' read -r label _ <<<"${cases[$i]}"
    for cfg in "${cfgs[@]}"; do
        printf '  %-18s %-6s' "$label" "$cfg"
        while read -r line; do
            printf ' %s/%s/%s' "$(bench_kv "$line" rate)" "$(bench_kv "$line" p99)" \
                "$(bench_kv "$line" steal)"
        done <"$BENCH_DIR/$cfg.$i.txt"
        echo
    done
done
if [[ " ${cfgs[*]} " == *" none "* ]]; then
    echo
    echo "target: p99 with probes / p99 without <= 1.10"
    for i in "${!cases[@]}"; do
        IFS='|' read -r label _ <<<"${cases[$i]}"
        for cfg in "${cfgs[@]}"; do
            [[ $cfg == none ]] && continue
            base=$(med "$BENCH_DIR/none.$i.txt" p99)
            this=$(med "$BENCH_DIR/$cfg.$i.txt" p99)
            # per round: the two runs of the same round
            rounds=$(paste -d' ' <(all "$BENCH_DIR/$cfg.$i.txt" p99 | tr ' ' '\n') \
                <(all "$BENCH_DIR/none.$i.txt" p99 | tr ' ' '\n') |
                awk 'NF == 2 && $2 > 0 { printf "%.2f ", $1 / $2 }')
            awk -v a="$this" -v b="$base" -v l="$label" -v c="$cfg" -v rr="$rounds" 'BEGIN {
                r = (b > 0 ? a / b : 0)
                printf "  %-18s %-6s p99 %s / %s us = %.3f (per round: %s) %s\n", l, c, a, b, r, rr,
                    (r <= 1.10 ? "within 10%" : "NOT within 10%") }'
        done
    done
    if ((OL_RATE > 0)); then
        for cfg in "${cfgs[@]}"; do
            [[ $cfg == none ]] && continue
            base=$(med "$BENCH_DIR/open.none.txt" send_p99)
            this=$(med "$BENCH_DIR/open.$cfg.txt" send_p99)
            rounds=$(paste -d' ' <(all "$BENCH_DIR/open.$cfg.txt" send_p99 | tr ' ' '\n') \
                <(all "$BENCH_DIR/open.none.txt" send_p99 | tr ' ' '\n') |
                awk 'NF == 2 && $2 > 0 { printf "%.2f ", $1 / $2 }')
            awk -v a="$this" -v b="$base" -v c="$cfg" -v rr="$rounds" -v rt="$OL_RATE" 'BEGIN {
                r = (b > 0 ? a / b : 0)
                printf "  %-18s %-6s p99 %s / %s us = %.3f (per round: %s) %s\n", "open loop " rt "/s", c, a, b, r, rr,
                    (r <= 1.10 ? "within 10%" : "NOT within 10%") }'
        done
    fi
fi
for cfg in "${cfgs[@]}"; do
    [[ -f $BENCH_DIR/status.$cfg.txt ]] || continue
    echo
    echo "health section of spillwayctl status after the last $cfg runs (r01-r03, r50):"
    awk '/^health:/ { h = 1; print; next } h && /^  r(01|02|03|50) / { p = 1; print; next }
         h && /^  r/ { p = 0 } h && p && /^    / { print }' "$BENCH_DIR/status.$cfg.txt"
done
((flaps == 0)) || echo "bench: in $flaps start(s) an up relay was marked down during the runs" >&2
if ((errors)); then
    echo "bench: $errors run(s) had invalid replies or stalls" >&2
    exit 1
fi
if ((probe_bad)); then
    echo "bench: $probe_bad probe check(s) failed (see above)" >&2
    exit 1
fi
