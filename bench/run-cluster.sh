#!/bin/bash
# bench/run-cluster.sh - several spillway-routed nodes sharing through Redis
# (issue 15), side by side in one run:
#
#  prop    propagation: evidence accepted on node A (one datagram on its
#          evidence socket, rule threshold 1 event) to a changed socketmap
#          answer on A and on B; and an operator divert on A to B's answer.
#          BENCH_PROP_ROUNDS (200) destinations each.  Target: B p99 < 50 ms.
#  lookup  socketmap lookups on B with Redis healthy and with Redis hung
#          (SIGSTOP), against node C: the same configuration without the
#          cluster group; interleaved, BENCH_REPEAT (3) rounds.  Target: hung
#          p99 within 10% of C's.
#  rate    records/s: a burst of BENCH_BURST (20000) evidence datagrams into
#          A (a class no rule counts: records only), then BENCH_FLOOD (2000)
#          that each divert a new destination (evidence and decision
#          records), then BENCH_DIVERTS (500) operator diverts on A; how fast
#          A publishes and B receives.
#  memory  BENCH_SHARED (100000) signed decisions in Redis (a template
#          written by A, re-signed by bench/cluster.py); a fresh node B
#          reconciles them: start-up to reconciled, VmRSS/VmHWM, Redis
#          used_memory; against C restoring as many scopes from a state file.
#
# Run as root from anywhere.  Ports BENCH_PORT_BASE (27200) + 1 (Redis),
# + 10, 11, 12 (socketmaps of A, B, C); nothing else.  Environment
# (defaults): BENCH_PARTS="lookup prop rate memory" BENCH_PROP_ROUNDS=200
# BENCH_REPEAT=3 BENCH_LOOKUPS=300000 BENCH_SECS=5 BENCH_LOOKUP_CONNS=1
# BENCH_BURST=20000 BENCH_FLOOD=2000 BENCH_DIVERTS=500 BENCH_SHARED=100000
# BENCH_DIVERSIONS=1000 (pinned on B and C from a state file for the
# lookups).  Targets are reported, not asserted.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
PARTS=${BENCH_PARTS:-lookup prop rate memory}
BASE=${BENCH_PORT_BASE:-27200}
ROUNDS=${BENCH_PROP_ROUNDS:-200}
REPEAT=${BENCH_REPEAT:-3}
LOOKUPS=${BENCH_LOOKUPS:-300000}
SECS=${BENCH_SECS:-5}
CONNS=${BENCH_LOOKUP_CONNS:-1}
BURST=${BENCH_BURST:-20000}
FLOOD=${BENCH_FLOOD:-2000}
NDIVERTS=${BENCH_DIVERTS:-500}
SHARED=${BENCH_SHARED:-100000}
NDIV=${BENCH_DIVERSIONS:-1000}
RPORT=$((BASE + 1))
ALT_NEXTHOP='[127.0.0.1]:25002'

BENCH_DIR=$(mktemp -d /tmp/spillway-bench-cluster.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
PY=(python3 "$HERE/cluster.py")

declare -A PID=()
REDIS_PID=

node_stop() { # NAME
    local p=${PID[$1]:-} i
    [[ -n $p ]] || return 0
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    PID[$1]=
}
cleanup() {
    local rc=$? n
    set +e
    [[ -n $REDIS_PID ]] && kill -CONT "$REDIS_PID" 2>/dev/null
    for n in "${!PID[@]}"; do node_stop "$n"; done
    if [[ -n $REDIS_PID ]]; then
        kill -TERM "$REDIS_PID" 2>/dev/null
        wait "$REDIS_PID" 2>/dev/null
    fi
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        echo "bench: kept $BENCH_DIR" >&2
    else
        rm -rf -- "$BENCH_DIR"
    fi
    return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_require_root
bench_build
command -v redis-server >/dev/null || bench_die "redis-server is not installed"
for p in "$RPORT" $((BASE + 10)) $((BASE + 11)) $((BASE + 12)); do bench_port_free "$p"; done
chmod 755 "$BENCH_DIR"
cp "$ROUTED_BIN" "$BENCH_DIR/spillway-routed"
cp "$SWCTL_BIN" "$BENCH_DIR/spillwayctl"
ROUTED_BIN=$BENCH_DIR/spillway-routed
SWCTL_BIN=$BENCH_DIR/spillwayctl
"$SWCTL_BIN" genkey "$BENCH_DIR/cluster.key" >/dev/null
bench_minimal_pfconf "$BENCH_DIR/pf"

# node_conf NAME PORT CLUSTER(0/1) [PREFIX]: spillway.conf of a node in
# $BENCH_DIR/NAME (socketmap on 127.0.0.1:PORT, evidence socket, one rule
# with a threshold of one event)
node_conf() {
    local name=$1 port=$2 cl=$3 prefix=${4:-spillway:} d=$BENCH_DIR/$1
    mkdir -p "$d"
    bench_write_conf "$d/sw.conf" "$d" "\"inet:127.0.0.1:$port\"" '[127.0.0.1]:25001' \
        "$ALT_NEXTHOP" "$BENCH_DIR/pf" "evidence = \"$d/evidence.sock\";"
    cat >>"$d/sw.conf" <<EOF
classify: { patterns = "$BENCH_TOP/conf/patterns.conf"; };
rules = ( { name = "rep"; classes = ["reputation"]; threshold = { events = 1; window = "10m"; };
            hold = "1h"; } );
EOF
    if [[ $cl == 1 ]]; then
        cat >>"$d/sw.conf" <<EOF
cluster: { redis = "inet:127.0.0.1:$RPORT"; node = "$name"; key_file = "$BENCH_DIR/cluster.key";
           prefix = "$prefix"; };
EOF
    fi
}

# node_start NAME [TIMEOUT]: start it, wait for its control socket
node_start() {
    local name=$1 d=$BENCH_DIR/$1
    ROUTED_PID=
    bench_routed_start "$d/sw.conf" "$d/routed.log" "$d/control.sock" "${2:-30}"
    PID[$name]=$ROUTED_PID
    ROUTED_PID=
}

# node_wait_ok NAME TIMEOUT: the cluster state is ok (reconciled)
node_wait_ok() {
    "${PY[@]}" wait-state "$BENCH_DIR/$1/control.sock" ok "$2" >/dev/null ||
        bench_die "node $1: the cluster state is not ok after $2 s"
}

mem_of() { # PID: "VmRSS VmHWM" in MB
    awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "%.1f %.1f\n", r / 1024, h / 1024 }' \
        "/proc/$1/status"
}

redis_info_mem() {
    "${PY[@]}" redis "$RPORT" INFO memory | awk -F: '/^used_memory:/ { printf "%.1f\n", $2 / 1048576 }'
}

# --- Redis and the three nodes ---
printf 'port %s\nbind 127.0.0.1\nsave ""\nappendonly no\ndir %s\n' "$RPORT" "$BENCH_DIR" \
    >"$BENCH_DIR/redis.conf"
redis-server "$BENCH_DIR/redis.conf" >"$BENCH_DIR/redis.log" 2>&1 &
REDIS_PID=$!
for ((i = 0; i < 50; i++)); do
    "${PY[@]}" redis "$RPORT" PING >/dev/null 2>&1 && break
    sleep 0.1
done
"${PY[@]}" redis "$RPORT" PING >/dev/null || bench_die "redis-server did not start"

node_conf a $((BASE + 10)) 1
node_conf b $((BASE + 11)) 1
node_conf c $((BASE + 12)) 0
bench_gen_state "$BENCH_DIR/b/state" "$NDIV"
bench_gen_state "$BENCH_DIR/c/state" "$NDIV"
node_start a
node_start b
node_start c
node_wait_ok a 15
node_wait_ok b 15
for n in a b c; do
    ROUTED_PID=${PID[$n]} bench_wait_render "$BENCH_DIR/$n"
done

bench_machine_note
echo "B adopted $NDIV scopes from its state file; Redis has $("${PY[@]}" redis "$RPORT" HLEN spillway:decisions) of them; B: $("${PY[@]}" status "$BENCH_DIR/b/control.sock" published_dec dropped)"
echo "spillway-routed $(stat -c %y "$ROUTED_BIN" | cut -d. -f1), sha256 $(sha256sum "$ROUTED_BIN" | cut -c1-12); redis $(redis-server --version | awk '{print $3}')"
echo "nodes: a pid ${PID[a]}, b pid ${PID[b]} (cluster, redis 127.0.0.1:$RPORT pid $REDIS_PID), c pid ${PID[c]} (no cluster)"

# ---------------------------------------------------------------------------
part_lookup() {
    local r i label ep node line st0 busy order
    local all_cpus="0-$(($(nproc) - 1))"
    echo
    echo "== lookups on B: Redis healthy, Redis hung (SIGSTOP), against C (no cluster)"
    echo "   $CONNS connection(s), $LOOKUPS lookups or ${SECS}s per run, $REPEAT rounds;" \
        "client and node on CPU 0, Redis and A on the last CPU"
    taskset -pc "$(($(nproc) - 1))" "$REDIS_PID" >/dev/null
    taskset -apc "$(($(nproc) - 1))" "${PID[a]}" >/dev/null
    taskset -apc 0 "${PID[b]}" >/dev/null
    taskset -apc 0 "${PID[c]}" >/dev/null
    for ((r = 1; r <= REPEAT; r++)); do
        for phase in healthy hung; do
            if [[ $phase == hung ]]; then
                kill -STOP "$REDIS_PID"
            fi
            if ((r % 2)); then order="b c"; else order="c b"; fi
            for node in $order; do
                [[ $node == b ]] && ep=inet:127.0.0.1:$((BASE + 11)) || ep=inet:127.0.0.1:$((BASE + 12))
                label="$node-$phase"
                st0=$(bench_steal_ticks)
                line=$(taskset -c 0 "$SOCKMAP_BENCH" -e "$ep" -c "$CONNS" -n "$LOOKUPS" -d "$SECS" \
                    -D "$NDIV" -o "smtp:$ALT_NEXTHOP") || bench_die "lookups on $node: invalid replies"
                printf '%s\n' "$line" >>"$BENCH_DIR/lookup-$label.txt"
                busy=$(bench_foreign_busy)
                bench_msg "round $r $label: $(bench_kv "$line" rate)/s p50 $(bench_kv "$line" p50) p99 $(bench_kv "$line" p99) max $(bench_kv "$line" max) us; steal $(($(bench_steal_ticks) - st0)) ticks${busy:+; OTHER LOAD: $busy}"
            done
            if [[ $phase == hung ]]; then
                "${PY[@]}" status "$BENCH_DIR/b/control.sock" state failures >>"$BENCH_DIR/lookup-hung-state.txt"
                kill -CONT "$REDIS_PID"
                node_wait_ok b 30
                node_wait_ok a 30
            fi
        done
    done
    taskset -pc "$all_cpus" "$REDIS_PID" >/dev/null
    for n in a b c; do taskset -apc "$all_cpus" "${PID[$n]}" >/dev/null; done
    echo
    printf '%-22s %9s %8s %8s %8s %8s %9s   %s\n' case rate/s p50_us p90_us p99_us p999_us max_us \
        "all runs p99 (us)"
    for label in b-healthy c-healthy b-hung c-hung; do
        line=$(bench_median_line "$BENCH_DIR/lookup-$label.txt")
        printf '%-22s %9s %8s %8s %8s %8s %9s   %s\n' "$label" "$(bench_kv "$line" rate)" \
            "$(bench_kv "$line" p50)" "$(bench_kv "$line" p90)" "$(bench_kv "$line" p99)" \
            "$(bench_kv "$line" p999)" "$(bench_kv "$line" max)" \
            "$(while read -r l; do printf '%s ' "$(bench_kv "$l" p99)"; done <"$BENCH_DIR/lookup-$label.txt")"
    done
    # the target: per round, hung B against C of the same phase; and pooled medians
    paste -d' ' <(while read -r l; do bench_kv "$l" p99; done <"$BENCH_DIR/lookup-b-hung.txt") \
        <(while read -r l; do bench_kv "$l" p99; done <"$BENCH_DIR/lookup-c-hung.txt") |
        awk '{ printf "%.2f\n", $1 / $2 }' >"$BENCH_DIR/lookup-ratio.txt"
    sort -n "$BENCH_DIR/lookup-ratio.txt" | awk -v all="$(paste -sd' ' "$BENCH_DIR/lookup-ratio.txt")" '
        { v[NR] = $1 } END { m = v[int((NR + 1) / 2)];
            printf "p99 B hung / C hung, per round: %s; median %.2f (target <= 1.10: %s)\n", all, m, (m <= 1.10 ? "met" : "MISSED") }'
    echo "B during the hung runs (state, link failures): $(paste -sd';' "$BENCH_DIR/lookup-hung-state.txt")"
}

# ---------------------------------------------------------------------------
part_prop() {
    local mode
    echo
    echo "== propagation: A accepts evidence (or an operator divert) -> socketmap answers OK, $ROUNDS destinations each"
    for mode in ev divert; do
        "${PY[@]}" prop "$BENCH_DIR/a/evidence.sock" "$BENCH_DIR/a/control.sock" \
            "127.0.0.1:$((BASE + 10))" "127.0.0.1:$((BASE + 11))" "$ROUNDS" "$mode" \
            "$BENCH_DIR/c/evidence.sock" "127.0.0.1:$((BASE + 12))" |
            tee "$BENCH_DIR/prop-$mode.txt"
    done
    awk '$3 == "node=B" { for (i = 1; i <= NF; i++) if ($i ~ /^p99=/) { split($i, a, "="); printf "%s: B p99 %.2f ms (target < 50 ms: %s)\n", $2, a[2], (a[2] < 50 ? "met" : "MISSED") } }' \
        "$BENCH_DIR"/prop-*.txt
    "$SWCTL_BIN" -s "$BENCH_DIR/b/control.sock" status | grep -A2 '^cluster:' || true
}

# ---------------------------------------------------------------------------
part_rate() {
    echo
    echo "== records/s: A publishes, B receives"
    "${PY[@]}" evrate "$BENCH_DIR/a/evidence.sock" "$BENCH_DIR/a/control.sock" \
        "$BENCH_DIR/b/control.sock" "$BURST" throttle 100 120
    "${PY[@]}" evrate "$BENCH_DIR/a/evidence.sock" "$BENCH_DIR/a/control.sock" \
        "$BENCH_DIR/b/control.sock" "$FLOOD" reputation 1 120
    "${PY[@]}" decrate "$BENCH_DIR/a/control.sock" "$BENCH_DIR/b/control.sock" "$NDIVERTS" 120
    for n in a b; do
        echo "node $n: $("$SWCTL_BIN" -s "$BENCH_DIR/$n/control.sock" status | grep -A2 '^cluster:' | tr -s ' \n' ' ')"
    done
}

# ---------------------------------------------------------------------------
part_memory() {
    local tmpl t0 t1 mem i
    echo
    echo "== memory: $SHARED shared decisions, a fresh node B reconciles them; C restores as many from a state file"
    # a template written by A, and a check that we sign as the daemon does
    "${PY[@]}" ctl-divert "$BENCH_DIR/a/control.sock" template.shared.example
    tmpl=$("${PY[@]}" redis "$RPORT" HGET spillway:decisions destination:template.shared.example)
    [[ -n $tmpl && $tmpl != None ]] || bench_die "A's decision is not in Redis"
    "${PY[@]}" verify "$BENCH_DIR/cluster.key" "$tmpl" >/dev/null ||
        bench_die "bench/cluster.py does not sign as the daemon does"
    "${PY[@]}" gen-dec "$BENCH_DIR/cluster.key" "$tmpl" "$SHARED" m: "$BENCH_DIR/shared.resp" >/dev/null
    echo "Redis used_memory before: $(redis_info_mem) MB"
    t0=$(date +%s.%N)
    redis-cli -p "$RPORT" --pipe <"$BENCH_DIR/shared.resp" >"$BENCH_DIR/pipe.log" 2>&1 ||
        { cat "$BENCH_DIR/pipe.log" >&2; bench_die "redis-cli --pipe failed"; }
    t1=$(date +%s.%N)
    echo "Redis: HLEN m:decisions $("${PY[@]}" redis "$RPORT" HLEN m:decisions), used_memory after $(redis_info_mem) MB (loaded in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s)"

    # B again, with prefix m: and no state: its first reconcile takes them all
    node_stop b
    node_conf b $((BASE + 11)) 1 m:
    rm -f "$BENCH_DIR/b/state" "$BENCH_DIR/b/routed.log"
    rm -rf "$BENCH_DIR/b/render"
    mkdir -p "$BENCH_DIR/b/render"
    t0=$(date +%s.%N)
    node_start b 120
    mem=$(mem_of "${PID[b]}")
    for ((i = 0; i < 6000; i++)); do # 300 s
        grep -q 'cluster: state=ok' "$BENCH_DIR/b/routed.log" && break
        kill -0 "${PID[b]}" 2>/dev/null || bench_die "B exited"
        sleep 0.05
    done
    t1=$(date +%s.%N)
    grep -q 'cluster: state=ok' "$BENCH_DIR/b/routed.log" || bench_die "B did not reconcile in 300 s"
    "${PY[@]}" wait "$BENCH_DIR/b/control.sock" received_dec "$SHARED" 60 >/dev/null ||
        bench_die "B did not take the $SHARED decisions"
    ROUTED_PID=${PID[b]} bench_wait_render "$BENCH_DIR/b"
    ROUTED_PID=
    printf 'B (cluster): started, VmRSS/VmHWM %s MB; reconciled (state ok) %.2f s after exec; %s\n' \
        "$(echo "$mem" | tr ' ' /)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        "$("${PY[@]}" status "$BENCH_DIR/b/control.sock" received_dec scopes)"
    printf 'B after reconcile and render: VmRSS/VmHWM %s MB\n' "$(mem_of "${PID[b]}" | tr ' ' /)"
    grep -E 'cluster: state=|restored|started:' "$BENCH_DIR/b/routed.log" | cut -c1-160 | sed 's/^/  b log: /' | head -5

    # C: the same number of scopes from a state file, no cluster
    node_stop c
    bench_gen_state "$BENCH_DIR/c/state" "$SHARED"
    rm -rf "$BENCH_DIR/c/render"
    mkdir -p "$BENCH_DIR/c/render"
    : >"$BENCH_DIR/c/routed.log"
    t0=$(date +%s.%N)
    node_start c 300
    t1=$(date +%s.%N)
    ROUTED_PID=${PID[c]} bench_wait_render "$BENCH_DIR/c"
    ROUTED_PID=
    printf 'C (state file, no cluster): started in %.2f s, %s; after render VmRSS/VmHWM %s MB\n' \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        "$("${PY[@]}" status "$BENCH_DIR/c/control.sock" scopes)" "$(mem_of "${PID[c]}" | tr ' ' /)"
}

for part in $PARTS; do
    case $part in
    lookup | prop | rate | memory) "part_$part" ;;
    *) bench_die "unknown part $part (lookup prop rate memory)" ;;
    esac
done
for n in a b c; do
    [[ -z ${PID[$n]:-} ]] || kill -0 "${PID[$n]}" 2>/dev/null || bench_die "node $n died during the benchmark"
done
