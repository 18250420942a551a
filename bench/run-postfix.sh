#!/bin/bash
# bench/run-postfix.sh - Postfix end to end: messages/s with and without
# spillway in transport_maps.
#
# One private Postfix instance (tests/e2e/lib.sh) on 127.0.0.1, two smtp-sink
# relays (primary = relayhost, alt-eu = where diverted destinations go) and
# spillway-routed with BENCH_DIVERSIONS pinned destinations.  Three
# configurations of the same instance:
#   a  no transport_maps
#   b  transport_maps = cdb:FILE  (postmap of the same diversions: the static table)
#   c  transport_maps = socketmap:unix:SOCK:transport  (spillway-routed)
# Each run restarts Postfix with the configuration, injects BENCH_MESSAGES
# messages with smtp-source (BENCH_SESSIONS parallel sessions, one injector
# per session, each with its own recipient domain, -N so every message has a
# new recipient and the resolve caches do not hide the table; 1 in 10
# injectors sends to a diverted domain or a subdomain of one), and times from
# the first injection to the queue being empty.  Every message must have been
# delivered (status=sent), the diverted ones to alt-eu in b and c.  Each
# configuration runs BENCH_REPEAT times, interleaved in rotating order; the
# median and the ratios c/b and c/a are printed.
#
# Run as root.  Environment (defaults):
#   BENCH_MESSAGES=5000 BENCH_SESSIONS=20 BENCH_SIZE=2000 BENCH_REPEAT=3
#   BENCH_DIVERSIONS=1000 BENCH_PORT_BASE=27400 (uses BASE..BASE+4)
#   BENCH_SOCKMAP=unix|inet (unix)  BENCH_WARMUP=200 (messages, config a, not counted)
#   BENCH_RUN_TIMEOUT=180 (seconds for one run to drain)
#   BENCH_MAX_STEAL=0.03 BENCH_RETRIES=1: a run during which the hypervisor
#   took more than this share of the CPUs (steal time) is done again, at
#   most BENCH_RETRIES times (the last attempt counts whatever its steal)
#   BENCH_WORKDIR=/tmp (where the instance and its queue live; /dev/shm puts
#   the queue on tmpfs and takes the disk's fsyncs out of the figures)
# Targets are reported, not asserted.  Exit 0 if every message was delivered.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
MESSAGES=${BENCH_MESSAGES:-5000}
SESSIONS=${BENCH_SESSIONS:-20}
SIZE=${BENCH_SIZE:-2000}
REPEAT=${BENCH_REPEAT:-3}
NDIV=${BENCH_DIVERSIONS:-1000}
BASE=${BENCH_PORT_BASE:-27400}
SMKIND=${BENCH_SOCKMAP:-unix}
WARMUP=${BENCH_WARMUP:-200}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-180}
MAX_STEAL=${BENCH_MAX_STEAL:-0.03}
RETRIES=${BENCH_RETRIES:-1}

[[ $(id -u) == 0 ]] || { echo "bench: run as root" >&2; exit 1; }
((SESSIONS >= 1 && SESSIONS <= 100)) || { echo "bench: BENCH_SESSIONS 1..100" >&2; exit 2; }
((MESSAGES >= SESSIONS && MESSAGES <= 200000)) ||
    { echo "bench: BENCH_MESSAGES from BENCH_SESSIONS to 200000" >&2; exit 2; }
[[ $SMKIND == unix || $SMKIND == inet ]] || { echo "bench: BENCH_SOCKMAP unix|inet" >&2; exit 2; }

E2E_DIR=$(mktemp -d "${BENCH_WORKDIR:-/tmp}/spillway-bench-postfix.XXXXXX")
BENCH_DIR=$E2E_DIR/sw
# shellcheck source=../tests/e2e/lib.sh
. "$HERE/../tests/e2e/lib.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

cleanup() {
    local rc=$?
    set +e
    bench_routed_stop
    (exit "$rc")            # e2e_cleanup reads the status to decide what to show
    e2e_cleanup
    return "$rc"
}
trap cleanup EXIT

bench_build
e2e_ports "$BASE"
for p in "$PORT_SMTPD" "$PORT_PRIMARY" "$PORT_ALT1" "$PORT_SOCKMAP"; do
    bench_port_free "$p"
done
mkdir -p "$BENCH_DIR"
chmod 755 "$BENCH_DIR"
ALT_NEXTHOP="[127.0.0.1]:$PORT_ALT1"

# ---- relays: smtp-sink, fast and counting --------------------------------
# shellcheck disable=SC2317  # called indirectly
sink_count() {
    # the last "mesg=N" of the sink's running counter (0 before any)
    local f="$E2E_DIR/logs/sink-$1.log"
    [[ -s $f ]] || { echo 0; return 0; }
    tr '\r' '\n' <"$f" | awk -F'mesg=' 'NF > 1 { n = $2 + 0 } END { print n + 0 }'
}
e2e_spawn sink-primary smtp-sink -u nobody -c "127.0.0.1:$PORT_PRIMARY" 1000
e2e_spawn sink-alt smtp-sink -u nobody -c "127.0.0.1:$PORT_ALT1" 1000
wait_for "ss -Hltn 'sport = :$PORT_PRIMARY' | grep -q . && ss -Hltn 'sport = :$PORT_ALT1' | grep -q ." 10 ||
    fail "smtp-sink did not start"

# ---- Postfix, the static table, spillway ----------------------------------
pf_setup "default_process_limit = 200"
bench_gen_transport "$BENCH_DIR/transport" "$NDIV" "$ALT_NEXTHOP"
pf_postmap "cdb:$BENCH_DIR/transport"

if [[ $SMKIND == unix ]]; then
    SOCK=$BENCH_DIR/sockmap.sock
    SPEC="unix:$SOCK"
    PF_SOCKMAP="socketmap:unix:$SOCK:transport"
else
    SOCK=$BENCH_DIR/control.sock        # waited for instead of the inet listener
    SPEC="inet:127.0.0.1:$PORT_SOCKMAP"
    PF_SOCKMAP="socketmap:inet:127.0.0.1:$PORT_SOCKMAP:transport"
fi
bench_gen_state "$BENCH_DIR/state" "$NDIV"
bench_write_conf "$BENCH_DIR/sw.conf" "$BENCH_DIR" "\"$SPEC\"" \
    "[127.0.0.1]:$PORT_PRIMARY" "$ALT_NEXTHOP" "$PF_ETC"
bench_routed_start "$BENCH_DIR/sw.conf" "$BENCH_DIR/routed.log" "$SOCK"
bench_wait_render "$BENCH_DIR"

# sanity: the two tables agree on a diverted and a plain destination
want="smtp:$ALT_NEXTHOP"
got=$(pf_postmap -q d007.example "cdb:$BENCH_DIR/transport")
[[ $got == "$want" ]] || fail "cdb table: d007.example -> '$got', want '$want'"
got=$(postmap -c "$PF_ETC" -q rcpt@mx.D007.example "$PF_SOCKMAP")
[[ $got == "$want" ]] || fail "socketmap: rcpt@mx.D007.example -> '$got', want '$want'"
if postmap -c "$PF_ETC" -q rcpt@dom7.example "$PF_SOCKMAP" >/dev/null; then
    fail "socketmap: rcpt@dom7.example should not be found"
fi

# ---- one run ------------------------------------------------------------
# config_maps CFG: the transport_maps value
config_maps() {
    case $1 in
    a) echo "" ;;
    b) echo "cdb:$BENCH_DIR/transport" ;;
    c) echo "$PF_SOCKMAP" ;;
    esac
}

queue_empty() {
    local g
    for g in maildrop/* incoming/* active/* deferred/*/* hold/*; do
        if compgen -G "$PF_SPOOL/$g" >/dev/null; then
            return 1
        fi
    done
    return 0
}

# CPU time of spillway-routed in ns (schedstat: precise, unlike stat's ticks)
routed_cpu_ns() { awk '{ print $1 }' "/proc/$ROUTED_PID/schedstat"; }
# CPU seconds used so far by this Postfix instance: every live process of it
# (utime + stime) plus what the master has reaped from exited children
# (cutime + cstime); and the part of it in trivial-rewrite, the process that
# does the transport lookups.  Ticks, so good to 10 ms per process.
# Prints "TOTAL REWRITE".
pf_cpu_s() {
    local pids
    pids=$(_pf_procs | sed 's|^|/proc/|; s|$|/stat|')
    [[ -n $pids ]] || { echo "0 0"; return 0; }
    # shellcheck disable=SC2086  # one path per pid
    cat $pids 2>/dev/null | sed 's/^[0-9]* (\([^)]*\)) /\1 /' |
        awk -v hz="$(getconf CLK_TCK)" '{ c = $13 + $14 + $15 + $16; t += c
            if ($1 == "trivial-rewrite") w += c }
            END { printf "%.2f %.2f\n", t / hz, w / hz }'
}

steal_ticks() { bench_steal_ticks; }

routed_lookups() {
    "$SWCTL_BIN" -s "$BENCH_DIR/control.sock" status | awk '/^lookups:/ { print $2 }'
}

# run CFG MESSAGES LABEL: prints
#   "CFG msgs secs rate inject_secs diverted lookups routed_cpu_ms postfix_cpu_s
#    rewrite_cpu_s steal_s"
run() {
    local cfg=$1 msgs=$2 label=$3 i per rest n dom t0 t1 tinj off sent div bounced deferred
    local lk0 lk1 cpu0 cpu1 pids=() ndiv_exp=0 sp0 sa0 sp1 sa1 deadline pfc0 pfc1 rw0 rw1 st0 st1
    pf_stop
    postconf -c "$PF_ETC" -e "transport_maps = $(config_maps "$cfg")"
    pf_start
    # let the master spawn its first daemons before the clock starts
    sleep 1
    queue_empty || fail "queue not empty before run $label"
    off=$(wc -l <"$PF_LOG" 2>/dev/null || echo 0)
    sp0=$(sink_count primary)
    sa0=$(sink_count alt)
    lk0=$(routed_lookups)
    cpu0=$(routed_cpu_ns)
    read -r pfc0 rw0 <<<"$(pf_cpu_s)"
    st0=$(steal_ticks)
    per=$((msgs / SESSIONS))
    rest=$((msgs % SESSIONS))
    t0=$EPOCHREALTIME
    for ((i = 0; i < SESSIONS; i++)); do
        n=$((per + (i < rest ? 1 : 0)))
        ((n > 0)) || continue
        if ((i % 20 == 0)); then
            dom=$(printf 'd%03d.example' $(((i * 37 + 7) % NDIV)))
            ndiv_exp=$((ndiv_exp + n))
        elif ((i % 20 == 10)); then
            dom=$(printf 'mx.d%03d.example' $(((i * 37 + 7) % NDIV)))
            ndiv_exp=$((ndiv_exp + n))
        else
            dom="dom$i.example"
        fi
        smtp-source -s 1 -m "$n" -l "$SIZE" -N -f sender@org.example \
            -M client.test.spillway -t "rcpt@$dom" "127.0.0.1:$PORT_SMTPD" \
            >>"$E2E_DIR/logs/smtp-source.log" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i" || fail "smtp-source failed in run $label (see logs/smtp-source.log)"
    done
    tinj=$EPOCHREALTIME
    deadline=$((SECONDS + RUN_TIMEOUT))
    until queue_empty; do
        ((SECONDS < deadline)) || fail "run $label: queue not empty after ${RUN_TIMEOUT}s"
        sleep 0.05
    done
    t1=$EPOCHREALTIME
    cpu1=$(routed_cpu_ns)
    read -r pfc1 rw1 <<<"$(pf_cpu_s)"
    st1=$(steal_ticks)
    lk1=$(routed_lookups)
    [[ $cfg == a ]] && ndiv_exp=0
    # postlogd may write the last lines a moment later
    for ((i = 0; i < 100; i++)); do
        sent=$(tail -n +"$((off + 1))" "$PF_LOG" | grep -c 'status=sent' || true)
        ((sent >= msgs)) && break
        sleep 0.1
    done
    div=$(tail -n +"$((off + 1))" "$PF_LOG" | grep 'status=sent' |
        grep -c "relay=127.0.0.1\[127.0.0.1\]:$PORT_ALT1," || true)
    bounced=$(tail -n +"$((off + 1))" "$PF_LOG" | grep -c 'status=bounced' || true)
    deferred=$(tail -n +"$((off + 1))" "$PF_LOG" | grep -c 'status=deferred' || true)
    sp1=$(sink_count primary)
    sa1=$(sink_count alt)
    ((sent == msgs)) || fail "run $label: $sent of $msgs messages delivered"
    ((bounced == 0)) || fail "run $label: $bounced bounced"
    ((div == ndiv_exp)) || fail "run $label: $div messages went to alt-eu, want $ndiv_exp"
    (((sp1 - sp0) + (sa1 - sa0) == msgs)) ||
        fail "run $label: the sinks counted $((sp1 - sp0)) + $((sa1 - sa0)), want $msgs"
    ((deferred == 0)) || bench_msg "run $label: $deferred deferral(s) (timing includes the retry)"
    awk -v c="$cfg" -v m="$msgs" -v a="$t0" -v b="$t1" -v i="$tinj" -v d="$div" \
        -v l="$((lk1 - lk0))" -v u="$((cpu1 - cpu0))" -v p0="$pfc0" -v p1="$pfc1" \
        -v w0="$rw0" -v w1="$rw1" -v s="$((st1 - st0))" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        printf "%s %d %.3f %.1f %.3f %d %d %.1f %.2f %.2f %.2f\n", c, m, b - a, m / (b - a),
            i - a, d, l, u / 1e6, p1 - p0, w1 - w0, s / hz }'
}

bench_machine_note
echo "postfix $(postconf -c "$PF_ETC" -h mail_version 2>/dev/null || echo '?'), $MESSAGES messages of $SIZE bytes, $SESSIONS sessions, $NDIV diversions, socketmap over $SMKIND"
echo "queue in $PF_SPOOL ($(stat -f -c %T "$PF_SPOOL"))"

if ((WARMUP > 0)); then
    bench_msg "warm-up: $WARMUP messages (config a, not counted)"
    run a "$((WARMUP < SESSIONS ? SESSIONS : WARMUP))" warmup >/dev/null
fi

results=$E2E_DIR/results.txt
: >"$results"
orders=("a b c" "b c a" "c a b")
for ((r = 0; r < REPEAT; r++)); do
    for cfg in ${orders[$((r % 3))]}; do
        for ((try = 0; ; try++)); do
            line=$(run "$cfg" "$MESSAGES" "$cfg$((r + 1))")
            read -r _ _ secs rate inj div lk cpu pfcpu rwcpu steal <<<"$line"
            if ((try >= RETRIES)) || awk -v s="$steal" -v t="$secs" -v n="$(nproc)" \
                -v m="$MAX_STEAL" 'BEGIN { exit !(s / (t * n) <= m) }'; then
                break
            fi
            bench_msg "run $((r + 1))/$REPEAT config $cfg: $rate msg/s, but steal $steal s in $secs s: discarded, once more"
        done
        echo "$line" >>"$results"
        busy=$(bench_foreign_busy)
        bench_msg "run $((r + 1))/$REPEAT config $cfg: $rate msg/s ($secs s; injected in $inj s; $div diverted; $lk socketmap lookups; CPU: postfix $pfcpu s, of it trivial-rewrite $rwcpu s; routed $cpu ms; steal $steal s)${busy:+ OTHER LOAD: $busy}"
    done
done
pf_stop

median() { # CFG FIELD
    awk -v c="$1" -v f="$2" '$1 == c { print $f }' "$results" | sort -n |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
# cpu_per_msg: Postfix (+ spillway-routed) CPU ms per message, one value per run
awk '{ printf "%s %.3f %.3f\n", $1, ($9 * 1000 + $8) / $2, ($10 * 1000 + $8) / $2 }' \
    "$results" >"$E2E_DIR/cpu.txt"
cpu_median() { # CFG [COLUMN]: 2 = all Postfix (+ routed), 3 = trivial-rewrite (+ routed)
    awk -v c="$1" -v f="${2:-2}" '$1 == c { print $f }' "$E2E_DIR/cpu.txt" | sort -n |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
echo
printf '%-44s %10s %8s %10s %10s  %s\n' configuration "median/s" "secs" "CPU_ms/msg" \
    "lookup_ms" "all runs msg/s"
for cfg in a b c; do
    case $cfg in
    a) name="a: no transport_maps" ;;
    b) name="b: cdb transport table ($NDIV diversions)" ;;
    c) name="c: socketmap spillway-routed ($SMKIND)" ;;
    esac
    printf '%-44s %10s %8s %10s %10s  %s\n' "$name" "$(median "$cfg" 4)" "$(median "$cfg" 3)" \
        "$(cpu_median "$cfg")" "$(cpu_median "$cfg" 3)" \
        "$(awk -v c="$cfg" '$1 == c { printf "%s ", $4 }' "$results")"
done
ma=$(median a 4)
mb=$(median b 4)
mc=$(median c 4)
awk -v a="$ma" -v b="$mb" -v c="$mc" 'BEGIN {
    printf "\nratio c/b = %.3f  (target >= 0.95: %s)\nratio c/a = %.3f\n", c / b,
        (c / b >= 0.95 ? "met" : "MISSED"), c / a }'
awk -v a="$(cpu_median a)" -v b="$(cpu_median b)" -v c="$(cpu_median c)" 'BEGIN {
    printf "CPU per message (Postfix, plus spillway-routed in c): c/b = %.3f, c/a = %.3f\n", c / b, c / a }'
echo "(CPU_ms/msg: all Postfix processes, plus spillway-routed in c; lookup_ms: trivial-rewrite,"
echo " which resolves and does the transport lookups, plus spillway-routed in c; medians)"
awk '$1 == "c" { l += $7; m += $2; u += $8; n++ } END { if (n && m && l)
    printf "socketmap: %.2f lookups per message; spillway-routed CPU %.1f ms per 1000 messages (%.1f us per lookup)\n", l / m, u * 1000 / m, u * 1000 / l }' "$results"
echo "raw (cfg msgs secs msg/s inject_secs diverted lookups routed_cpu_ms postfix_cpu_s rewrite_cpu_s steal_s):"
sed 's/^/  /' "$results"
