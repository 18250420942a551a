#!/bin/bash
# bench/run-sockmap.sh - socketmap lookups/s and latency of spillway-routed.
#
# Starts spillway-routed with 1,000 pinned destinations (state file written
# directly), then drives it with bench/sockmap_bench: 1 and 16 connections,
# over the unix socket and over inet 127.0.0.1, each case BENCH_REPEAT times
# (interleaved), BENCH_LOOKUPS lookups or BENCH_SECS seconds per run, and
# prints the median run of each case.  Extra rows: 16 blocking client
# threads (like 16 Postfix processes), and 1 connection with client and
# server pinned to the same CPU and to different CPUs (what the machine's
# cross-CPU wake-up costs).
#
# Run as root from anywhere.  Environment (defaults):
#   BENCH_LOOKUPS=200000 BENCH_SECS=10 BENCH_REPEAT=3 BENCH_PORT=27310
#   BENCH_DIVERSIONS=1000 BENCH_PINNED=1 (0: skip the pinned rows)
# Exit status 0 when every reply was valid; targets are reported, not asserted.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
LOOKUPS=${BENCH_LOOKUPS:-200000}
SECS=${BENCH_SECS:-10}
REPEAT=${BENCH_REPEAT:-3}
PORT=${BENCH_PORT:-27310}
NDIV=${BENCH_DIVERSIONS:-1000}
PINNED=${BENCH_PINNED:-1}
ALT_NEXTHOP='[127.0.0.1]:25002'

BENCH_DIR=$(mktemp -d /tmp/spillway-bench-sockmap.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

bench_cleanup_on_exit

bench_require_root
bench_build
bench_port_free "$PORT"
chmod 755 "$BENCH_DIR"

SOCK=$BENCH_DIR/sockmap.sock
bench_minimal_pfconf "$BENCH_DIR/pf"
bench_gen_state "$BENCH_DIR/state" "$NDIV"
bench_write_conf "$BENCH_DIR/sw.conf" "$BENCH_DIR" \
    "\"unix:$SOCK\", \"inet:127.0.0.1:$PORT\"" '[127.0.0.1]:25001' "$ALT_NEXTHOP" \
    "$BENCH_DIR/pf"
bench_routed_start "$BENCH_DIR/sw.conf" "$BENCH_DIR/routed.log" "$SOCK"
bench_wait_render "$BENCH_DIR"
grep -q "restored $NDIV scopes" "$BENCH_DIR/routed.log" ||
    { cat "$BENCH_DIR/routed.log" >&2; bench_die "the state file was not restored"; }

bench_machine_note
echo "spillway-routed pid $ROUTED_PID, $NDIV pinned destinations; $LOOKUPS lookups or ${SECS}s per run, median of $REPEAT"

# case NAME: label|endpoint|conns|model-flag|pin
cases=(
    "unix 1 conn|unix:$SOCK|1||"
    "unix 16 conns|unix:$SOCK|16||"
    "inet 1 conn|inet:127.0.0.1:$PORT|1||"
    "inet 16 conns|inet:127.0.0.1:$PORT|16||"
    "unix 16 threads|unix:$SOCK|16|-T|"
)
if [[ $PINNED == 1 ]] && (($(nproc) >= 2)); then
    cases+=("unix 1 conn, same CPU|unix:$SOCK|1||same"
        "unix 1 conn, other CPU|unix:$SOCK|1||other")
fi

all_cpus="0-$(($(nproc) - 1))"
errors=0
for ((r = 1; r <= REPEAT; r++)); do
    for i in "${!cases[@]}"; do
        IFS='|' read -r label ep conns flag pin <<<"${cases[$i]}"
        pre=()
        case $pin in
        same) taskset -pc 0 "$ROUTED_PID" >/dev/null; pre=(taskset -c 0) ;;
        other) taskset -pc 0 "$ROUTED_PID" >/dev/null; pre=(taskset -c 1) ;;
        *) taskset -pc "$all_cpus" "$ROUTED_PID" >/dev/null ;;
        esac
        st0=$(bench_steal_ticks)
        # shellcheck disable=SC2086  # $flag is empty or one word
        if ! line=$("${pre[@]}" "$SOCKMAP_BENCH" -e "$ep" -c "$conns" $flag \
            -n "$LOOKUPS" -d "$SECS" -D "$NDIV" -o "smtp:$ALT_NEXTHOP"); then
            errors=$((errors + 1))
        fi
        printf '%s\n' "$line" >>"$BENCH_DIR/case$i.txt"
        busy=$(bench_foreign_busy)
        steal=$(awk -v a="$st0" -v b="$(bench_steal_ticks)" -v hz="$(getconf CLK_TCK)" \
            -v t="$(bench_kv "$line" secs)" -v n="$(nproc)" 'BEGIN { printf "%.0f%%", (t > 0 ? 100 * (b - a) / hz / (t * n) : 0) }')
        bench_msg "run $r/$REPEAT $label: $(bench_kv "$line" rate)/s p99 $(bench_kv "$line" p99) us errors $(bench_kv "$line" errors); steal $steal${busy:+; OTHER LOAD: $busy}"
    done
done
taskset -pc "$all_cpus" "$ROUTED_PID" >/dev/null

echo
printf '%-24s %9s %9s %8s %8s %8s %8s %9s %6s  %s\n' case lookups rate/s p50_us p90_us \
    p99_us p999_us max_us errors "targets (>=100000/s, p99<100us)"
for i in "${!cases[@]}"; do
    IFS='|' read -r label _ <<<"${cases[$i]}"
    line=$(bench_median_line "$BENCH_DIR/case$i.txt")
    rate=$(bench_kv "$line" rate)
    p99=$(bench_kv "$line" p99)
    verdict=$(awk -v r="$rate" -v p="$p99" 'BEGIN {
        printf "%s/%s", (r >= 100000 ? "rate ok" : "rate MISSED"), (p < 100 ? "p99 ok" : "p99 MISSED") }')
    printf '%-24s %9s %9s %8s %8s %8s %8s %9s %6s  %s\n' "$label" "$(bench_kv "$line" lookups)" \
        "$rate" "$(bench_kv "$line" p50)" "$(bench_kv "$line" p90)" "$p99" \
        "$(bench_kv "$line" p999)" "$(bench_kv "$line" max)" "$(bench_kv "$line" errors)" "$verdict"
done
echo
echo "all runs (rate/s, p99 us):"
for i in "${!cases[@]}"; do
    IFS='|' read -r label _ <<<"${cases[$i]}"
    printf '  %-24s' "$label"
    while read -r line; do
        printf ' %s/%s' "$(bench_kv "$line" rate)" "$(bench_kv "$line" p99)"
    done <"$BENCH_DIR/case$i.txt"
    echo
done
echo
"$SWCTL_BIN" -s "$BENCH_DIR/control.sock" status | grep -E '^lookups:' || true
kill -0 "$ROUTED_PID" 2>/dev/null || bench_die "spillway-routed died during the benchmark"
ps -o rss=,vsz= -p "$ROUTED_PID" | awk '{ printf "spillway-routed RSS %d kB after the runs\n", $1 }'
if ((errors)); then
    echo "bench: $errors run(s) had invalid replies or stalls" >&2
    exit 1
fi
