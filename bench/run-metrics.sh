#!/bin/bash
# bench/run-metrics.sh - the cost of spillway-routed's Prometheus endpoint
# (routed.metrics; spillway-routed(8), METRICS; milter/spillway-routed/routed_metrics.c).
#
# spillway-routed with 20 relays (r01 primary, r02..r20 alternates on
# 127.0.3.1..20, not probed: nothing listens there and nothing is sent to
# them) and N pinned destinations dNNN.example spread over the alternates,
# restored from a state file in the format of milter/global/statefile.h (as
# run-sockmap.sh does; `spillwayctl divert` one by one would take minutes
# for 10,000 and render the table each time).  The endpoint on
# inet:127.0.0.1:BENCH_PORT, the socketmap on a unix socket.
#
# (a) For each N in BENCH_METRICS_SIZES: BENCH_SCRAPES sequential scrapes
#     (a small Python client: connect, GET /metrics with Connection: close,
#     read to the end; timed from connect to the last byte), p50/p99/max,
#     the exposition's size, and the daemon's CPU per scrape (from
#     /proc/PID/schedstat over the scrapes: the time the event loop spends
#     on one scrape, during which it serves no lookup).  Side by side, what
#     an administrator would otherwise run to see the same table:
#     `spillwayctl status` and `spillwayctl --json status`, BENCH_STATUS_RUNS
#     times each (wall time of the whole command, output size, daemon CPU per
#     call).  The last scrape of each N is checked: spillway_scopes{state=
#     "pinned"} must be N, and the spillway_scope_diverted samples plus
#     spillway_scope_series_omitted must add up to N.
#     An answer other than 200 is counted and shown, not an error.  Per-scope
#     series stop at routed.metrics_scopes (default 1000; the rest is counted
#     in spillway_scope_series_omitted), so the 30,000 case shows that a
#     scrape stays small and answers 200 in a large incident.
# (b) With BENCH_LOAD_SCOPES (10,000) scopes: the open-loop lookup client of
#     run-probes.sh (taken from that script's source at run time), at
#     BENCH_OPENLOOP_RATE (5,000) lookups/s for BENCH_OPENLOOP_SECS (20) s on
#     BENCH_OPENLOOP_CONNS (200) connections, client and daemon pinned to
#     CPU 0, in two cases on the same daemon:
#       none    no scrapes;
#       scrape  a scraper on the last CPU (Prometheus is another process)
#               fetching /metrics every BENCH_SCRAPE_INTERVAL (1) s while the
#               client runs (at most OL_SECS / interval + 5 scrapes).
#     BENCH_REPEAT (3) rounds, the order alternating (none scrape, scrape
#     none, ...).  Latency from each lookup's send and from when it was due
#     (see run-probes.sh), p50..max; the daemon's lookup counter must equal
#     the lookups sent.
#
# Run as root from anywhere, after `make -j2` at the top.  Environment
# (defaults):
#   BENCH_METRICS_SIZES="0 1000 10000 30000" (empty: no (a))  BENCH_SCRAPES=200
#   BENCH_METRICS_SCOPES: routed.metrics_scopes (unset: the daemon's default, 1000)
#   BENCH_STATUS_RUNS=20
#   BENCH_LOAD_SCOPES=10000  BENCH_OPENLOOP_RATE=5000 (0 skips (b))
#   BENCH_OPENLOOP_SECS=20  BENCH_OPENLOOP_CONNS=200  BENCH_SCRAPE_INTERVAL=1
#   BENCH_REPEAT=3  BENCH_PORT=27440 (the endpoint)
#   BENCH_KEEP=1 keeps the work directory.
# Bounded: every scrape loop by count and by BENCH_SCRAPE_MAX_SECS (120 s),
# each scrape by a 10 s socket timeout, each client run by timeout(1).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
SIZES=${BENCH_METRICS_SIZES-0 1000 10000 30000}   # empty: skip (a)
SCRAPES=${BENCH_SCRAPES:-200}
STATUS_RUNS=${BENCH_STATUS_RUNS:-20}
LOAD_SCOPES=${BENCH_LOAD_SCOPES:-10000}
OL_RATE=${BENCH_OPENLOOP_RATE:-5000}
OL_SECS=${BENCH_OPENLOOP_SECS:-20}
OL_CONNS=${BENCH_OPENLOOP_CONNS:-200}
INTERVAL=${BENCH_SCRAPE_INTERVAL:-1}
REPEAT=${BENCH_REPEAT:-3}
PORT=${BENCH_PORT:-27440}
SCRAPE_MAX_SECS=${BENCH_SCRAPE_MAX_SECS:-120}
NRELAYS=20
NET=127.0.3                      # relay i's nexthop is [$NET.i]:25

BENCH_DIR=$(mktemp -d /tmp/sw-XXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
bench_cleanup_on_exit

bench_require_root
[[ -x $ROUTED_BIN && -x $SWCTL_BIN ]] || bench_die "spillway-routed or spillwayctl not built: run make -j2 in $BENCH_TOP"
command -v python3 >/dev/null || bench_die "python3 not found"
for n in $SIZES $LOAD_SCOPES; do
    [[ $n =~ ^[0-9]+$ ]] && ((n <= 200000)) || bench_die "scope counts: 0 to 200000"
done
[[ $SCRAPES =~ ^[0-9]+$ ]] && ((SCRAPES >= 1 && SCRAPES <= 10000)) || bench_die "BENCH_SCRAPES: 1 to 10000"
[[ $STATUS_RUNS =~ ^[0-9]+$ ]] && ((STATUS_RUNS <= 1000)) || bench_die "BENCH_STATUS_RUNS: 0 to 1000"
[[ $REPEAT =~ ^[0-9]+$ ]] && ((REPEAT >= 1 && REPEAT <= 20)) || bench_die "BENCH_REPEAT: 1 to 20"
[[ $INTERVAL =~ ^[0-9]+(\.[0-9]+)?$ ]] || bench_die "BENCH_SCRAPE_INTERVAL: seconds"
awk -v i="$INTERVAL" 'BEGIN { exit !(i >= 0.05 && i <= 60) }' || bench_die "BENCH_SCRAPE_INTERVAL: 0.05 to 60 s"
[[ $OL_RATE =~ ^[0-9]+$ ]] && ((OL_RATE <= 50000)) || bench_die "BENCH_OPENLOOP_RATE: 0 to 50000"
bench_port_free "$PORT"
if ((OL_RATE > 0)); then
    command -v cc >/dev/null || bench_die "no C compiler for the open-loop client (BENCH_OPENLOOP_RATE=0 skips it)"
fi

# A private copy of the daemon: a rebuild of the tree during the run does
# not change what is measured.
cp "$ROUTED_BIN" "$BENCH_DIR/spillway-routed"
ROUTED_SRC=$ROUTED_BIN
ROUTED_BIN=$BENCH_DIR/spillway-routed
SOCK=$BENCH_DIR/sockmap.sock
CTL=$BENCH_DIR/control.sock
NCPU=$(nproc)
LAST_CPU=$((NCPU - 1))

# ---- the open-loop client, from run-probes.sh --------------------------------
if ((OL_RATE > 0)); then
    awk '/^    cat >"\$BENCH_DIR\/openloop.c" <<.EOF.$/ { on = 1; next } on && /^EOF$/ { exit } on' \
        "$HERE/run-probes.sh" >"$BENCH_DIR/openloop.c"
    grep -q 'int main' "$BENCH_DIR/openloop.c" || bench_die "cannot find the open-loop client in run-probes.sh"
    cc -O2 -Wall -o "$BENCH_DIR/openloop" "$BENCH_DIR/openloop.c" || bench_die "cannot build the open-loop client"
fi

# ---- the scraper ---------------------------------------------------------------
# scrape.py PORT COUNT INTERVAL MAXSECS BODYFILE: COUNT scrapes, one every
# INTERVAL s (0: back to back), for at most MAXSECS s.  One line per scrape
# (start offset, seconds, HTTP status, body bytes); the last body in BODYFILE
# when its status was 200, else an empty file.
cat >"$BENCH_DIR/scrape.py" <<'EOF'
import socket, sys, time
last = b""
port, count, interval, maxsecs, bodyfile = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
req = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
t0 = time.monotonic()
body = b""
for i in range(count):
    due = t0 + i * interval
    now = time.monotonic()
    if now - t0 > maxsecs:
        break
    if due > now:
        time.sleep(due - now)
    start = time.monotonic()
    chunks = []
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(req)
        while True:
            c = s.recv(262144)
            if not c:
                break
            chunks.append(c)
        s.close()
    except OSError as e:
        print(f"{start - t0:.3f} {time.monotonic() - start:.6f} error 0", flush=True)
        continue
    end = time.monotonic()
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else "bad"
    print(f"{start - t0:.3f} {end - start:.6f} {status} {len(body)}", flush=True)
    last = body if status == "200" else b""
with open(bodyfile, "wb") as f:
    f.write(last)
EOF

# ---- configuration and state ---------------------------------------------------
bench_minimal_pfconf "$BENCH_DIR/pf"
mkdir -p "$BENCH_DIR/render"
{
    echo "# spillway.conf for bench/run-metrics.sh"
    echo "routed: { socketmap = [ \"unix:$SOCK\" ];"
    echo "          metrics = \"inet:127.0.0.1:$PORT\";"
    [[ -z ${BENCH_METRICS_SCOPES:-} ]] || echo "          metrics_scopes = $BENCH_METRICS_SCOPES;"
    echo "          control = \"$CTL\";"
    echo "          state = \"$BENCH_DIR/state\";"
    echo "          render_dir = \"$BENCH_DIR/render\";"
    echo "          postfix_config = \"$BENCH_DIR/pf\"; };"
    echo "pools = ( { name = \"bench\"; relays = [\"r01\"]; egress = [\"40.107.0.0/16\"];"
    echo "            hosts = [\"*.outlook.com\"]; } );"
    echo "relays = ("
    for ((i = 1; i <= NRELAYS; i++)); do
        role='role = "alternate"; priority = '$((10 + i))';'
        ((i == 1)) && role='role = "primary";'
        printf '  { name = "r%02d"; nexthop = "[%s.%d]:25"; %s jurisdiction = "EU"; }%s\n' \
            "$i" "$NET" "$i" "$role" "$([[ $i == "$NRELAYS" ]] || echo ,)"
    done
    echo ");"
} >"$BENCH_DIR/sw.conf"
"$ROUTED_BIN" -n -c "$BENCH_DIR/sw.conf" >/dev/null 2>&1 || {
    "$ROUTED_BIN" -n -c "$BENCH_DIR/sw.conf" || true
    bench_die "the generated configuration does not validate"
}

# gen_state N : N pinned destinations d000.example.. on r02..r20, entered
# over the last day (so spillway_scope_diverted_seconds varies), for a day
gen_state() {
    awk -v n="$1" -v now="$(date +%s)" -v nr="$NRELAYS" 'BEGIN {
        printf "v=1\tspillway=state\tsaved=%d\n", now
        for (i = 0; i < n; i++)
            printf "scope=destination:d%03d.example\tstate=pinned\trelay=r%02d\tsince=%d\tuntil=%d\thold=0\tuid=0\trule=operator\treason=bench\n",
                i, 2 + i % (nr - 1), now - (i * 37) % 86400, now + 86400
    }' >"$BENCH_DIR/state"
}

# start N : the daemon with N scopes, the start-up render finished
start() {
    rm -f "$BENCH_DIR/state" "$BENCH_DIR"/render/*
    gen_state "$1"
    : >"$BENCH_DIR/routed.log"
    bench_routed_start "$BENCH_DIR/sw.conf" "$BENCH_DIR/routed.log" "$SOCK" 120
    bench_wait_render "$BENCH_DIR"
    if (($1 > 0)); then
        grep -q "restored $1 scopes" "$BENCH_DIR/routed.log" ||
            { cat "$BENCH_DIR/routed.log" >&2; bench_die "the state file was not restored"; }
    fi
    grep -q "metrics: listening endpoint=inet:127.0.0.1:$PORT" "$BENCH_DIR/routed.log" ||
        { cat "$BENCH_DIR/routed.log" >&2; bench_die "no 'metrics: listening' line"; }
    # the first resolution of the relays' addresses (a tick after the start)
    # renders the table again: let it pass
    sleep 2
    bench_wait_render "$BENCH_DIR"
}

# cpu_ns : the daemon's CPU time so far (ns)
cpu_ns() { local v; read -r v _ </proc/"$ROUTED_PID"/schedstat; echo "$v"; }

# pct FILE COL Q : the Q-quantile (0..1) of column COL of FILE
pct() {
    awk -v c="$2" '{ print $c }' "$1" | sort -g |
        awk -v q="$3" '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int((NR - 1) * q) + 1; print v[i] }'
}

bench_machine_note
echo "spillway-routed: $ROUTED_SRC (built $(stat -c %y "$ROUTED_SRC" | cut -d. -f1), sha256 $(sha256sum "$ROUTED_BIN" | cut -c1-12))"
echo "$NRELAYS relays (not probed); scopes pinned from a state file; endpoint inet:127.0.0.1:$PORT"
echo "$(python3 --version 2>&1) for the scraper; $(curl --version 2>/dev/null | head -n1 | cut -d' ' -f1-2)"

# ---- (a) scrape time and size vs scopes ---------------------------------------
rows_a=()
bad_a=0
for n in $SIZES; do
    start "$n"
    # one scrape with curl, as a user would check it (and a warm-up)
    if command -v curl >/dev/null; then
        curl -s -o "$BENCH_DIR/curl.$n.txt" -w 'curl: HTTP %{http_code}, %{size_download} bytes in %{time_total} s\n' \
            --max-time 10 "http://127.0.0.1:$PORT/metrics" || echo "curl: failed"
    fi
    c0=$(cpu_ns)
    timeout $((SCRAPE_MAX_SECS + 30)) python3 "$BENCH_DIR/scrape.py" "$PORT" "$SCRAPES" 0 "$SCRAPE_MAX_SECS" \
        "$BENCH_DIR/body.$n.txt" >"$BENCH_DIR/scrapes.$n.txt" || bench_die "the scraper failed"
    c1=$(cpu_ns)
    done_n=$(wc -l <"$BENCH_DIR/scrapes.$n.txt")
    non200=$(awk '$3 != 200' "$BENCH_DIR/scrapes.$n.txt" | wc -l)
    size=$(awk '$3 == 200 { s = $4 } END { print s + 0 }' "$BENCH_DIR/scrapes.$n.txt")
    status_line=$(awk '{ s[$3]++ } END { for (k in s) printf "%s%s x%d", (n++ ? ", " : ""), k, s[k] }' "$BENCH_DIR/scrapes.$n.txt")
    # the check on the last body
    check="-"
    if [[ -s $BENCH_DIR/body.$n.txt ]]; then
        # Listed scopes are capped by routed.metrics_scopes; the rest are
        # counted in spillway_scope_series_omitted: the two add up to N.
        read -r pinned samples omitted < <(awk '/^spillway_scopes\{state="pinned"\}/ { p = $2 }
            /^spillway_scope_series_omitted / { o = $2 }
            /^spillway_scope_diverted\{/ { s++ } END { print p + 0, s + 0, o + 0 }' "$BENCH_DIR/body.$n.txt")
        if [[ $pinned == "$n" && $((samples + omitted)) == "$n" ]]; then check="ok ($samples listed)"; else check="MISMATCH(pinned=$pinned samples=$samples omitted=$omitted)"; bad_a=$((bad_a + 1)); fi
    elif ((non200 > 0)); then
        check="no body (HTTP $status_line)"
    fi
    scrape_cpu=$(awk -v c=$((c1 - c0)) -v n="$done_n" 'BEGIN { printf "%.3f", n ? c / 1e6 / n : 0 }')
    # spillwayctl status, the same table from the control socket
    st_p50=- st_p99=- st_size=- st_cpu=- js_p50=- js_size=- js_cpu=-
    if ((STATUS_RUNS > 0)); then
        for v in plain json; do
            args=(status)
            [[ $v == json ]] && args=(--json status)
            : >"$BENCH_DIR/status.$v.$n.txt"
            c0=$(cpu_ns)
            for ((k = 0; k < STATUS_RUNS; k++)); do
                t0=$(date +%s%N)
                timeout 30 "$SWCTL_BIN" -s "$CTL" "${args[@]}" >"$BENCH_DIR/out.$v.$n" 2>&1 ||
                    bench_msg "spillwayctl ${args[*]} failed"
                t1=$(date +%s%N)
                echo "$(((t1 - t0) / 1000))" >>"$BENCH_DIR/status.$v.$n.txt"
            done
            c1=$(cpu_ns)
            p50=$(pct "$BENCH_DIR/status.$v.$n.txt" 1 0.5)
            p99=$(pct "$BENCH_DIR/status.$v.$n.txt" 1 0.99)
            sz=$(stat -c %s "$BENCH_DIR/out.$v.$n")
            cpu=$(awk -v c=$((c1 - c0)) -v n="$STATUS_RUNS" 'BEGIN { printf "%.3f", c / 1e6 / n }')
            if [[ $v == plain ]]; then st_p50=$p50 st_p99=$p99 st_size=$sz st_cpu=$cpu
            else js_p50=$p50 js_size=$sz js_cpu=$cpu; fi
        done
    fi
    sp50=$(pct "$BENCH_DIR/scrapes.$n.txt" 2 0.5)
    sp99=$(pct "$BENCH_DIR/scrapes.$n.txt" 2 0.99)
    smax=$(pct "$BENCH_DIR/scrapes.$n.txt" 2 1)
    rows_a+=("$n|$done_n|$status_line|$size|$sp50|$sp99|$smax|$scrape_cpu|$st_p50|$st_p99|$st_size|$st_cpu|$js_p50|$js_size|$js_cpu|$check")
    bench_msg "$n scopes: $done_n scrapes ($status_line), $size bytes, p50 $sp50 s p99 $sp99 s, daemon CPU $scrape_cpu ms/scrape; status p50 ${st_p50} us ($st_size bytes); check $check"
    bench_routed_stop
    cp "$BENCH_DIR/routed.log" "$BENCH_DIR/routed.a.$n.log"
done

# ---- (b) lookups with and without scraping ------------------------------------
errors=0
if ((OL_RATE > 0)); then
    start "$LOAD_SCOPES"
    if ((NCPU >= 2)); then
        taskset -pc 0 "$ROUTED_PID" >/dev/null
        pin_client=(taskset -c 0)
        pin_scraper=(taskset -c "$LAST_CPU")
    else
        pin_client=()
        pin_scraper=()
    fi
    max_scrapes=$(awk -v s="$OL_SECS" -v i="$INTERVAL" 'BEGIN { printf "%d", s / i + 5 }')
    sent=0
    for ((r = 1; r <= REPEAT; r++)); do
        order=(none scrape)
        ((r % 2 == 0)) && order=(scrape none)
        for cfg in "${order[@]}"; do
            spid=
            if [[ $cfg == scrape ]]; then
                "${pin_scraper[@]}" python3 "$BENCH_DIR/scrape.py" "$PORT" "$max_scrapes" "$INTERVAL" \
                    $((OL_SECS + 5)) "$BENCH_DIR/body.load.txt" >"$BENCH_DIR/load.scrapes.$r.txt" 2>&1 &
                spid=$!
            fi
            st0=$(bench_steal_ticks)
            c0=$(cpu_ns)
            if ! line=$(timeout $((OL_SECS + 60)) "${pin_client[@]}" "$BENCH_DIR/openloop" "$SOCK" "$OL_RATE" \
                "$OL_SECS" "$OL_CONNS" 2>"$BENCH_DIR/client.err"); then
                errors=$((errors + 1))
                cat "$BENCH_DIR/client.err" >&2
            fi
            c1=$(cpu_ns)
            nscr=0
            scr=""
            if [[ -n $spid ]]; then
                kill -TERM "$spid" 2>/dev/null || true
                wait "$spid" 2>/dev/null || true
                nscr=$(awk '$3 == 200' "$BENCH_DIR/load.scrapes.$r.txt" | wc -l)
                scr=" scrape_p50_ms=$(awk '{ print $2 * 1000 }' "$BENCH_DIR/load.scrapes.$r.txt" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] + 0 }')"
            fi
            steal=$(awk -v a="$st0" -v b="$(bench_steal_ticks)" -v hz="$(getconf CLK_TCK)" \
                -v t="$OL_SECS" -v n="$NCPU" 'BEGIN { printf "%.0f%%", 100 * (b - a) / hz / (t * n) }')
            cpu=$(awk -v c=$((c1 - c0)) -v t="$OL_SECS" 'BEGIN { printf "%.1f", c / 1e6 / t }')
            busy=$(bench_foreign_busy)
            printf '%s scrapes=%d%s daemon_cpu_ms_per_s=%s steal=%s round=%d\n' "$line" "$nscr" "$scr" "$cpu" "$steal" "$r" \
                >>"$BENCH_DIR/load.$cfg.txt"
            sent=$((sent + $(bench_kv "$line" lookups)))
            bench_msg "round $r $cfg: from send p50 $(bench_kv "$line" send_p50) p99 $(bench_kv "$line" send_p99) p99.9 $(bench_kv "$line" send_p999) max $(bench_kv "$line" send_max) us; from due p99 $(bench_kv "$line" p99) us; waited $(bench_kv "$line" waited_for_conn); $nscr scrapes; daemon CPU $cpu ms/s; steal $steal${busy:+; OTHER LOAD: $busy}"
        done
    done
    got=$("$SWCTL_BIN" -s "$CTL" status | awk '/^lookups:/ { print $2 }')
    if [[ $got != "$sent" ]]; then
        bench_msg "the daemon counted $got lookups, the client sent $sent"
        errors=$((errors + 1))
    fi
    lookups_check="daemon's lookup counter $got, lookups sent $sent"
    bench_routed_stop
fi

# ---- report ----------------------------------------------------------------------
if ((${#rows_a[@]})); then
    echo
    echo "(a) $SCRAPES scrapes back to back per table size (connect to last byte), and spillwayctl status $STATUS_RUNS times"
    printf '%-7s %-8s %-12s %10s %9s %9s %9s %11s | %11s %11s %10s %11s | %11s %10s %11s  %s\n' \
        scopes scrapes http bytes p50_ms p99_ms max_ms cpu_ms/scr status_p50 status_p99 st_bytes st_cpu_ms \
        json_p50 json_bytes json_cpu_ms check
    for row in "${rows_a[@]}"; do
        IFS='|' read -r n dn sl sz p50 p99 mx cpu sp50 sp99 ssz scpu jp50 jsz jcpu ck <<<"$row"
        awk -v n="$n" -v dn="$dn" -v sl="$sl" -v sz="$sz" -v p50="$p50" -v p99="$p99" -v mx="$mx" -v cpu="$cpu" \
            -v sp50="$sp50" -v sp99="$sp99" -v ssz="$ssz" -v scpu="$scpu" -v jp50="$jp50" -v jsz="$jsz" -v jcpu="$jcpu" -v ck="$ck" '
            function ms(us) { return us == "-" ? "-" : sprintf("%.2f", us / 1000) }
            BEGIN {
                printf "%-7d %-8d %-12s %10d %9.3f %9.3f %9.3f %11s | %11s %11s %10s %11s | %11s %10s %11s  %s\n",
                    n, dn, sl, sz, p50 * 1000, p99 * 1000, mx * 1000, cpu, ms(sp50), ms(sp99), ssz, scpu,
                    ms(jp50), jsz, jcpu, ck }'
    done
    echo "(status_*: wall time of the whole spillwayctl process in ms; cpu_ms: the daemon's CPU per scrape or call)"
fi
if ((OL_RATE > 0)); then
    med() {
        while read -r l; do bench_kv "$l" "$2"; done <"$1" | sort -g |
            awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
    }
    all() { while read -r l; do printf '%s ' "$(bench_kv "$l" "$2")"; done <"$1"; }
    echo
    echo "(b) $LOAD_SCOPES scopes; open loop $OL_RATE lookups/s for ${OL_SECS}s on $OL_CONNS connections, client and"
    echo "daemon on CPU 0, scraper on CPU $LAST_CPU every ${INTERVAL}s; latency from the send (us), medians of $REPEAT runs:"
    printf '  %-7s %8s %8s %8s %9s %9s %9s %9s %8s %8s %9s\n' case p50 p90 p99 p999 max due_p99 due_max waited scrapes cpu_ms/s
    for cfg in none scrape; do
        f=$BENCH_DIR/load.$cfg.txt
        printf '  %-7s %8s %8s %8s %9s %9s %9s %9s %8s %8s %9s\n' "$cfg" "$(med "$f" send_p50)" "$(med "$f" send_p90)" \
            "$(med "$f" send_p99)" "$(med "$f" send_p999)" "$(med "$f" send_max)" "$(med "$f" p99)" \
            "$(med "$f" max)" "$(med "$f" waited_for_conn)" "$(med "$f" scrapes)" "$(med "$f" daemon_cpu_ms_per_s)"
    done
    echo "  every run (from send p99 / p99.9 / max us, steal):"
    for cfg in none scrape; do
        printf '    %-7s' "$cfg"
        while read -r l; do
            printf ' %s/%s/%s(%s)' "$(bench_kv "$l" send_p99)" "$(bench_kv "$l" send_p999)" "$(bench_kv "$l" send_max)" \
                "$(bench_kv "$l" steal)"
        done <"$BENCH_DIR/load.$cfg.txt"
        echo
    done
    echo "  scrapes during the scrape runs, median time (ms): $(all "$BENCH_DIR/load.scrape.txt" scrape_p50_ms)"
    awk -v a="$(med "$BENCH_DIR/load.scrape.txt" send_p99)" -v b="$(med "$BENCH_DIR/load.none.txt" send_p99)" \
        -v c="$(med "$BENCH_DIR/load.scrape.txt" send_p999)" -v d="$(med "$BENCH_DIR/load.none.txt" send_p999)" 'BEGIN {
        printf "  p99 scrape/none = %.2f, p99.9 scrape/none = %.2f\n", (b > 0 ? a / b : 0), (d > 0 ? c / d : 0) }'
    echo "  $lookups_check"
fi
if ((bad_a)); then
    echo "bench: $bad_a exposition check(s) failed (above)" >&2
    exit 1
fi
if ((errors)); then
    echo "bench: $errors error(s) in the lookup runs (above)" >&2
    exit 1
fi
