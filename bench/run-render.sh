#!/bin/bash
# bench/run-render.sh - time from a routing decision to each MTA's
# fail-static table, by number of diversions already in place.
#
# For each size N in BENCH_RENDER_SIZES (default "0 1000 100000") starts
# spillway-routed with routed.mta = "both" and a state file of N pinned
# destinations, so that every decision renders Postfix's transport table
# (postmap lmdb:) and Sendmail's mailertable (makemap hash) one after the
# other, as on a host wired to both.  Then BENCH_RENDER_DECISIONS (5) times:
# `spillwayctl divert newK.example`, and poll until
#   (a) `postmap -c PFCONF -q newK.example lmdb:DIR/transport` answers, and
#   (b) the key is in DIR/mailertable.db, read as Sendmail reads it: a shared
#       flock(2) on the file, then one Berkeley DB hash lookup (Perl's
#       DB_File; `makemap -u` would dump the whole map, itself O(N)).
# Each table has its own poller, started before the clock; each latency
# runs from just before spillwayctl to the first look that sees the key.
# The pollers look every BENCH_RENDER_POLL_MS (10 ms), or every 2% of the
# time elapsed if that is more (a postmap -q costs a few ms of CPU, which
# the daemon's tools would otherwise lose); at most BENCH_RENDER_TIMEOUT
# (120 s).  The daemon is left idle (no tool running)
# before the next decision.  After the decisions, with the daemon stopped:
# one `postmap lmdb:` and one `makemap hash` of the rendered files by
# themselves (median of BENCH_RENDER_TOOL_RUNS, 3), the file sizes, and
# what one poll costs (postmap -q, the DB_File lookup, makemap -u | grep).
#
# Sendmail is not installed (its package conflicts with Postfix): makemap
# comes from `dpkg -x` of the cached sendmail-bin .deb that the e2e rig
# keeps in SM_CACHE (/var/cache/spillway-test/sendmail, tests/e2e/sendmail.sh
# sm_fetch downloads it if missing).  makemap refuses to run without a
# sendmail.cf (it reads TrustedUser from it); an empty file is enough for
# root, and is what routed.sendmail_cf names here.
#
# Run as root.  Environment: BENCH_RENDER_SIZES, BENCH_RENDER_DECISIONS=5,
# BENCH_RENDER_TIMEOUT=120, BENCH_RENDER_POLL_MS=10,
# BENCH_RENDER_TOOL_RUNS=3, BENCH_START_TIMEOUT=900 (one start-up and its
# render), SM_CACHE, MAKEMAP_BIN (a makemap to use instead of the .deb's).
# No target from the issue; nothing is asserted about time.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
SIZES=${BENCH_RENDER_SIZES:-0 1000 100000}
DECISIONS=${BENCH_RENDER_DECISIONS:-5}
TIMEOUT=${BENCH_RENDER_TIMEOUT:-120}
POLL_MS=${BENCH_RENDER_POLL_MS:-10}
TOOL_RUNS=${BENCH_RENDER_TOOL_RUNS:-3}
START_TIMEOUT=${BENCH_START_TIMEOUT:-900}
ALT_NEXTHOP='[127.0.0.1]:25002'

((DECISIONS >= 1 && DECISIONS <= 100)) || { echo "bench: BENCH_RENDER_DECISIONS: 1 to 100" >&2; exit 2; }
((TIMEOUT >= 1 && TIMEOUT <= 600)) || { echo "bench: BENCH_RENDER_TIMEOUT: 1 to 600" >&2; exit 2; }
((TOOL_RUNS >= 1 && TOOL_RUNS <= 20)) || { echo "bench: BENCH_RENDER_TOOL_RUNS: 1 to 20" >&2; exit 2; }
((POLL_MS >= 1 && POLL_MS <= 1000)) || { echo "bench: BENCH_RENDER_POLL_MS: 1 to 1000" >&2; exit 2; }

BENCH_DIR=$(mktemp -d /tmp/spillway-bench-render.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

bench_cleanup_on_exit

bench_require_root
bench_build
chmod 755 "$BENCH_DIR"
POSTMAP=$(command -v postmap) || bench_die "postmap not found (install postfix)"
perl -MDB_File -MFcntl -e 1 2>/dev/null || bench_die "Perl's DB_File is missing"

# --- makemap, from the e2e rig's cached Sendmail packages ------------------
# tests/e2e/sendmail.sh expects the e2e rig's log and fail; sm_fetch and
# _sm_deb need nothing else.
log() { bench_msg "$*"; }
fail() { bench_die "$*"; }
E2E_DIR=$BENCH_DIR
# shellcheck source=../tests/e2e/sendmail.sh
. "$BENCH_TOP/tests/e2e/sendmail.sh"

SM_CFFILE=$BENCH_DIR/sendmail.cf
: >"$SM_CFFILE" # makemap only needs the file (TrustedUser unset: root only)
if [[ -n ${MAKEMAP_BIN:-} ]]; then
    MAKEMAP=$MAKEMAP_BIN
else
    sm_fetch
    for p in "${SM_PKGS[@]}"; do
        dpkg -x "$(_sm_deb "$p")" "$BENCH_DIR/smroot" || bench_die "dpkg -x $p failed"
    done
    MAKEMAP=$BENCH_DIR/smroot/usr/sbin/makemap
fi
"$MAKEMAP" -C "$SM_CFFILE" -l 2>/dev/null | grep -qx hash ||
    bench_die "$MAKEMAP does not run or has no hash maps (ldd $MAKEMAP)"

# The daemon and its client are copied, so a rebuild during the run changes nothing.
ROUTED_BUILT=$(stat -c %y "$ROUTED_BIN" | cut -d. -f1)
mkdir -p "$BENCH_DIR/bin"
install -m 755 "$ROUTED_BIN" "$SWCTL_BIN" "$BENCH_DIR/bin/"
ROUTED_BIN=$BENCH_DIR/bin/$(basename "$ROUTED_BIN")
SWCTL=$BENCH_DIR/bin/$(basename "$SWCTL_BIN")
bench_minimal_pfconf "$BENCH_DIR/pf"

# --- helpers -----------------------------------------------------------------
# now_us: the wall clock in microseconds (bash's EPOCHREALTIME, no process)
now_us() { local t=$EPOCHREALTIME; printf '%s\n' "${t/./}"; }
# ms_since T0_US: milliseconds since T0_US, rounded
ms_since() { local t=$EPOCHREALTIME; printf '%s\n' $(((${t/./} - $1 + 500) / 1000)); }
kib() { awk -v b="$(stat -c %s "$1" 2>/dev/null || echo 0)" 'BEGIN { printf "%.0f", b / 1024 }'; }
# median FILE / max FILE: of one number per line
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max() { sort -n "$1" | awk 'END { print (NR ? $1 : "-") }'; }

# pf_has DIR KEY: Postfix's table answers for KEY
pf_has() { "$POSTMAP" -c "$BENCH_DIR/pf" -q "$2" "lmdb:$1/transport" >/dev/null 2>&1; }

# sm_has DIR KEY: DIR/mailertable.db holds KEY, read as Sendmail reads it
# (a shared lock on the file, then a hash lookup; makemap keeps an
# exclusive lock while it rebuilds in place).  Bounded by 10 s.
sm_has() {
    perl -MDB_File -MFcntl=:DEFAULT,:flock -e '
        alarm 10;
        open(my $fh, "<", $ARGV[0]) or exit 1;
        flock($fh, LOCK_SH) or exit 1;
        tie(my %h, "DB_File", $ARGV[0], O_RDONLY, 0, $DB_HASH) or exit 1;
        exit(exists $h{$ARGV[1]} ? 0 : 1)' "$1/mailertable.db" "$2" 2>/dev/null
}

# idle DIR TIMEOUT: both tables exist, nothing renders now (no child of the
# daemon, no temporary file), twice 100 ms apart; 1 after TIMEOUT seconds
idle() {
    local i quiet=0
    for ((i = 0; i < $2 * 20; i++)); do
        if [[ -f $1/transport.lmdb && -f $1/mailertable.db && ! -e $1/transport.tmp ]] &&
            ! pgrep -P "$ROUTED_PID" >/dev/null 2>&1; then
            ((++quiet >= 2)) && return 0
        else
            quiet=0
        fi
        sleep 0.05
    done
    return 1
}

# poll_pf DIR KEY GO OUT: when GO exists (it holds the start, in µs), ask
# Postfix's table for KEY until it answers; then write the milliseconds
# since the start to OUT.  Polls every POLL_MS, or 2% of the time elapsed
# if more (the poller's own postmap processes compete with the daemon's
# tools for the CPUs); gives up after TIMEOUT s.
poll_pf() {
    local dir=$1 key=$2 go=$3 out=$4 t0 t el ms i
    for ((i = 0; i < 2000; i++)); do [[ -s $go ]] && break; sleep 0.005; done
    read -r t0 <"$go" || return 1
    while :; do
        if pf_has "$dir" "$key"; then
            ms_since "$t0" >"$out"
            return 0
        fi
        t=$EPOCHREALTIME
        el=$((${t/./} - t0))
        ((el < TIMEOUT * 1000000)) || return 1
        ms=$((el / 50000 > POLL_MS ? el / 50000 : POLL_MS))
        sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
    done
}

# poll_sm DIR KEY GO OUT: the same for DIR/mailertable.db, in one Perl
# process that opens the map afresh for each look, as sm_has does
poll_sm() {
    perl -MDB_File -MFcntl=:DEFAULT,:flock -MTime::HiRes=time,sleep -e '
        my ($db, $key, $go, $out, $timeout, $poll) = @ARGV;
        my $t0;
        alarm($timeout + 20);
        for (1 .. 2000) {
            if (open(my $g, "<", $go)) { $t0 = <$g>; last if defined $t0 && $t0 =~ /^\d+$/; }
            sleep 0.005;
        }
        exit 1 unless defined $t0 && $t0 =~ /^\d+$/;
        $t0 /= 1e6;
        while ((my $el = time - $t0) < $timeout) {
            if (open(my $fh, "<", $db)) {
                if (flock($fh, LOCK_SH) && tie(my %h, "DB_File", $db, O_RDONLY, 0, $DB_HASH)) {
                    my $found = exists $h{$key};
                    untie %h;
                    if ($found) {
                        my $ms = (time - $t0) * 1000;
                        open(my $o, ">", $out) or exit 1;
                        printf $o "%.0f\n", $ms;
                        close($o);
                        exit 0;
                    }
                }
                close($fh);
            }
            my $s = $el / 50 > $poll / 1000 ? $el / 50 : $poll / 1000;
            sleep $s;
        }
        exit 1' "$1/mailertable.db" "$2" "$3" "$4" "$TIMEOUT" "$POLL_MS" 2>/dev/null
}

# --- the runs ----------------------------------------------------------------
bench_machine_note
echo "spillway-routed: built $ROUTED_BUILT, sha256 $(sha256sum "$ROUTED_BIN" | cut -c1-16)"
echo "postmap: $("$POSTMAP" -c "$BENCH_DIR/pf" -h 2>/dev/null | head -1 || true)$(postconf -c "$BENCH_DIR/pf" -h mail_version 2>/dev/null | sed 's/^/Postfix /')"
echo "makemap: $MAKEMAP ($(dpkg-deb -f "$(_sm_deb sendmail-bin 2>/dev/null)" Version 2>/dev/null || echo '?')), sendmail_cf: an empty file"
echo "each latency: spillwayctl divert to the first look that sees the key (every ${POLL_MS} ms or 2% of the time elapsed)"
RESULTS=$BENCH_DIR/results
: >"$RESULTS"
failures=0
for n in $SIZES; do
    d=$BENCH_DIR/n$n
    r=$d/render
    mkdir -p "$d"
    ctl=$d/control.sock
    bench_gen_state "$d/state" "$n"
    bench_write_conf "$d/sw.conf" "$d" "\"unix:$d/sockmap.sock\"" '[127.0.0.1]:25001' \
        "$ALT_NEXTHOP" "$BENCH_DIR/pf" \
        "mta = \"both\"; mailertable_format = \"hash\"; makemap = \"$MAKEMAP\"; sendmail_cf = \"$SM_CFFILE\";"
    t0=$(now_us)
    bench_routed_start "$d/sw.conf" "$d/routed.log" "$ctl" "$START_TIMEOUT"
    idle "$r" "$START_TIMEOUT" || { cat "$d/routed.log" >&2; bench_die "$n: no start-up render of both tables"; }
    start_ms=$(ms_since "$t0")
    if ((n > 0)); then
        grep -q "restored $n scopes" "$d/routed.log" ||
            { cat "$d/routed.log" >&2; bench_die "the state file was not restored"; }
    fi
    pf_has "$r" d000.example || ((n == 0)) || bench_die "$n: transport.lmdb lacks d000.example"
    sm_has "$r" d000.example || ((n == 0)) || bench_die "$n: mailertable.db lacks d000.example"
    bench_msg "$n diversions: started and both tables rendered in $start_ms ms"

    : >"$d/pf.ms"
    : >"$d/sm.ms"
    for ((k = 1; k <= DECISIONS; k++)); do
        key=new$k.example
        go=$d/go.$k
        rm -f "$go" "$d/pf.$k" "$d/sm.$k"
        # One poller per table, in parallel, so that neither waits for the
        # other's query; both start before the clock and wait for $go.
        poll_pf "$r" "$key" "$go" "$d/pf.$k" &
        pf_pid=$!
        poll_sm "$r" "$key" "$go" "$d/sm.$k" &
        sm_pid=$!
        sleep 0.3 # the pollers are ready (perl has loaded DB_File)
        t0=$(now_us)
        echo "$t0" >"$go.tmp" && mv "$go.tmp" "$go"
        "$SWCTL" -s "$ctl" divert "$key" --to alt-eu --for 1h --reason bench >/dev/null ||
            bench_die "spillwayctl divert $key failed"
        wait "$pf_pid" || true
        wait "$sm_pid" || true
        pf=$(cat "$d/pf.$k" 2>/dev/null || true)
        sm=$(cat "$d/sm.$k" 2>/dev/null || true)
        if [[ -z $pf || -z $sm ]]; then
            bench_msg "$n/$key: not in $([[ -z $pf ]] && echo "transport ")$([[ -z $sm ]] && echo mailertable) after $TIMEOUT s"
            failures=$((failures + 1))
        fi
        [[ -n $pf ]] && echo "$pf" >>"$d/pf.ms"
        [[ -n $sm ]] && echo "$sm" >>"$d/sm.ms"
        bench_msg "$n/$key: transport ${pf:-timeout} ms, mailertable ${sm:-timeout} ms"
        idle "$r" "$TIMEOUT" || bench_msg "warning: $n: the render has not settled after $TIMEOUT s"
    done
    # Cross-check the DB_File reading with makemap's own dump, once.
    "$MAKEMAP" -C "$SM_CFFILE" -u hash "$r/mailertable" >"$d/dump" 2>>"$d/makemap.err" || true
    if ! grep -q "^new$DECISIONS\.example[[:space:]]" "$d/dump"; then
        bench_msg "$n: makemap -u does not list new$DECISIONS.example"
        failures=$((failures + 1))
    fi
    bench_routed_stop
    rfail=$(grep -c 'render: cannot update' "$d/routed.log" || true)
    grep 'render: cannot update' "$d/routed.log" | head -3 | sed 's/^/  log: /' >&2 || true

    # The tools by themselves on the rendered files (the daemon is stopped).
    : >"$d/postmap.ms"
    : >"$d/makemap.ms"
    for ((i = 0; i < TOOL_RUNS; i++)); do
        t0=$(now_us)
        "$POSTMAP" -c "$BENCH_DIR/pf" "lmdb:$r/transport" || bench_die "postmap failed"
        ms_since "$t0" >>"$d/postmap.ms"
        t0=$(now_us)
        # shellcheck disable=SC2094  # makemap reads the text and writes mailertable.db
        "$MAKEMAP" -C "$SM_CFFILE" hash "$r/mailertable" <"$r/mailertable" 2>>"$d/makemap.err" ||
            bench_die "makemap failed: $(tail -n 3 "$d/makemap.err")"
        ms_since "$t0" >>"$d/makemap.ms"
    done
    # What one poll costs.
    t0=$(now_us); pf_has "$r" "new1.example" || true; q_pf=$(ms_since "$t0")
    t0=$(now_us); sm_has "$r" "new1.example" || true; q_sm=$(ms_since "$t0")
    t0=$(now_us)
    "$MAKEMAP" -C "$SM_CFFILE" -u hash "$r/mailertable" 2>>"$d/makemap.err" | grep '^new1\.example' >/dev/null || true
    q_dump=$(ms_since "$t0")

    printf '%s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s\n' "$n" \
        "$(median "$d/pf.ms")" "$(max "$d/pf.ms")" "$(median "$d/sm.ms")" "$(max "$d/sm.ms")" \
        "$(median "$d/postmap.ms")" "$(median "$d/makemap.ms")" \
        "$(kib "$r/transport")" "$(kib "$r/transport.lmdb")" "$(kib "$r/mailertable")" \
        "$(kib "$r/mailertable.db")" "$start_ms" "$q_pf" "$q_sm" "$q_dump" "$rfail" \
        "$(wc -l <"$d/pf.ms")/$(wc -l <"$d/sm.ms")" >>"$RESULTS"
done

echo
printf '%-10s | %21s | %21s | %11s | %11s\n' "" "decision -> Postfix" "decision -> Sendmail" "postmap" "makemap"
printf '%-10s | %10s %10s | %10s %10s | %11s | %11s\n' diversions median_ms max_ms median_ms max_ms alone_ms alone_ms
while read -r n pfm pfx smm smx pa ma _; do
    printf '%-10s | %10s %10s | %10s %10s | %11s | %11s\n' "$n" "$pfm" "$pfx" "$smm" "$smx" "$pa" "$ma"
done <"$RESULTS"
echo
printf '%-10s %10s %10s %12s %14s %9s %9s %9s %11s %8s %6s\n' diversions transport \
    .lmdb mailertable mailertable.db start_ms q_pf_ms q_sm_ms makemap_-u failing seen
while read -r n _ _ _ _ _ _ tk lk mk dk st qp qs qd rn seen; do
    printf '%-10s %7s KiB %6s KiB %8s KiB %10s KiB %9s %9s %9s %8s ms %8s %6s\n' "$n" "$tk" "$lk" \
        "$mk" "$dk" "$st" "$qp" "$qs" "$qd" "$rn" "$seen"
done <"$RESULTS"
echo
echo "decision -> X: from spillwayctl divert to the first look that finds the key ($DECISIONS decisions"
echo "per size; Sendmail's table is built after Postfix's, so its latency includes postmap)."
echo "alone: median of $TOOL_RUNS runs of postmap lmdb:transport / makemap hash mailertable <"
echo "mailertable on the rendered files, daemon stopped.  start_ms: exec to both tables rendered."
echo "q_pf, q_sm: one poll (postmap -q; flock + DB_File lookup); makemap_-u: the whole dump | grep."
echo "failing: 'render: cannot update' lines in the daemon's log; seen: decisions found in"
echo "transport/mailertable."
if ((failures)); then
    echo "bench: $failures decision(s) did not reach a table, or makemap -u disagreed" >&2
    exit 1
fi
