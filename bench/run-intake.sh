#!/bin/bash
# bench/run-intake.sh - Postfix intake: messages/s with no milter, a plain
# pass-through milter, and spillway-milter (header tag only, and with the
# return path rewritten), and Postfix rewriting the return path itself,
# side by side in one run.
#
# One private Postfix instance (tests/e2e/lib.sh, not chrooted) on
# 127.0.0.1:BASE, relayhost = an smtp-sink on BASE+1 (delivery is cheap and
# counted).  Configurations of the same instance:
#   n  no smtpd_milters
#   p  smtpd_milters = bench/passthrough_milter (every callback, every step
#      with a reply: what users would otherwise run)
#   s  smtpd_milters = spillway-milter (a generated HMAC key file and config;
#      outbound mail, so every message gets an X-Spillway-Tag header)
#   m  smtpd_milters = passthrough_milter -m: only end-of-message, adds one
#      header, every other step skipped: the floor for any libmilter milter
#      that tags mail (a reference point, no target)
#   r  smtpd_milters = a second spillway-milter whose config has
#      milter.return_path = { domain = "bounces.bench.example"; }: the header
#      tag as in s, and every message's envelope sender rewritten
#      (smfi_chgfrom) to sw0=...@bounces.bench.example
#   c  no milter; smtpd hands mail to its own cleanup service (cleanup-rp,
#      -o cleanup_service_name) with sender_canonical_maps =
#      socketmap:unix:SOCK:rp-sender, sender_canonical_classes =
#      envelope_sender, answered by a running spillway-routed with the same
#      key file and return_path: Postfix rewrites the envelope sender itself
#      (PostSRSd 2.x style), confined to this listener as it must be in
#      production; the milter CPU column shows spillway-routed's CPU
# each milter as { SPEC, default_action=accept, command_timeout=5s,
# content_timeout=10s }.
# One run: restart Postfix with the configuration, then one smtp-source
# (-s BENCH_SESSIONS -m BENCH_MESSAGES -l BENCH_SIZE) injects; the figure is
# the accepted messages per second as smtp-source sees it (its wall time).
# Then the queue must drain, the sink must have counted every message, the
# maillog must show no milter or socketmap warning (with
# default_action=accept a milter that fails is silently skipped, which would
# flatter it), and qmgr must log the rewritten sender (from=<sw0=...>) for
# every message of r and c, and for none of the others.
# Two session modes (BENCH_MODES): "new" = one SMTP session per message
# (smtp-source's default, a milter connection per message too), and
# "persistent" = smtp-source -d (each of the sessions sends many messages).
# Each configuration runs BENCH_REPEAT times per mode, interleaved in
# rotating order (n p s m r c, p s m r c n, ...); the medians and the ratios
# s/n, s/p, s/m, r/s, r/n, c/n and c/r are printed.  Before the runs, a
# check per configuration, 3 messages to a dumping sink: s adds
# X-Spillway-Tag and leaves the sender alone; r adds the header and the
# sink sees MAIL FROM:<sw0=HHHHHHHH=DDK=org.example=sender@bounces.bench.example>;
# c rewrites the sender the same way, with no header.
#
# Run as root, after `make -j2` at the top (./spillway-milter and, for c,
# ./spillway-routed; MILTER_BIN= and ROUTED_BIN= point elsewhere; SWCTL_BIN=
# for the lookup count of c).
# Environment (defaults):
#   BENCH_MESSAGES=3000 BENCH_SESSIONS=20 BENCH_SIZE=2000 BENCH_REPEAT=3
#   BENCH_MODES="new persistent"  BENCH_CONFIGS="n p s m r c" (n, p, s required)
#   BENCH_PORT_BASE=27600 (uses BASE..BASE+6)
#   BENCH_MILTER_SOCKET=unix|inet (unix; inet uses 127.0.0.1:BASE+3..BASE+6;
#   spillway-routed's socketmap is a unix socket either way)
#   BENCH_WARMUP=200 (messages, config n, not counted)
#   BENCH_RUN_TIMEOUT=300 (seconds for one injection, and again to drain)
#   BENCH_MAX_STEAL=0.03 BENCH_RETRIES=1 (a run with more steal is redone)
#   BENCH_WORKDIR=/tmp  BENCH_KEEP=1 keeps the directory (E2E_KEEP works too)
# Targets are reported, not asserted.  Exit 0 if every message arrived.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
MESSAGES=${BENCH_MESSAGES:-3000}
SESSIONS=${BENCH_SESSIONS:-20}
SIZE=${BENCH_SIZE:-2000}
REPEAT=${BENCH_REPEAT:-3}
MODES=${BENCH_MODES:-new persistent}
CONFIGS=${BENCH_CONFIGS:-n p s m r c}
BASE=${BENCH_PORT_BASE:-27600}
MSOCK=${BENCH_MILTER_SOCKET:-unix}
WARMUP=${BENCH_WARMUP:-200}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-300}
MAX_STEAL=${BENCH_MAX_STEAL:-0.03}
RETRIES=${BENCH_RETRIES:-1}

[[ $(id -u) == 0 ]] || { echo "bench: run as root" >&2; exit 1; }
((SESSIONS >= 1 && SESSIONS <= 100)) || { echo "bench: BENCH_SESSIONS 1..100" >&2; exit 2; }
((MESSAGES >= SESSIONS && MESSAGES <= 100000)) ||
    { echo "bench: BENCH_MESSAGES from BENCH_SESSIONS to 100000" >&2; exit 2; }
((REPEAT >= 1 && REPEAT <= 20)) || { echo "bench: BENCH_REPEAT 1..20" >&2; exit 2; }
((RUN_TIMEOUT >= 10 && RUN_TIMEOUT <= 3600)) || { echo "bench: BENCH_RUN_TIMEOUT 10..3600" >&2; exit 2; }
[[ $MSOCK == unix || $MSOCK == inet ]] || { echo "bench: BENCH_MILTER_SOCKET unix|inet" >&2; exit 2; }
for m in $MODES; do
    [[ $m == new || $m == persistent ]] || { echo "bench: BENCH_MODES: new and/or persistent" >&2; exit 2; }
done
read -r -a CFGS <<<"$CONFIGS"
[[ " $CONFIGS " == *" n "* && " $CONFIGS " == *" p "* && " $CONFIGS " == *" s "* &&
    $CONFIGS =~ ^[npsmrc\ ]+$ ]] ||
    { echo "bench: BENCH_CONFIGS: n, p and s, optionally m, r and c, separated by spaces" >&2; exit 2; }
# has_cfg X: configuration X is measured
has_cfg() { [[ " $CONFIGS " == *" $1 "* ]]; }
# the return-path domain of r and c, and the rewritten sender the sink must
# see (fixed form: sw0=HMAC(8)=DAY(2)KEY(1)=<sender domain>=<sender local>@)
RP_DOMAIN=bounces.bench.example
RP_RE='sw0=[a-z2-7]{8}=[a-z0-9]{3}=org\.example=sender@bounces\.bench\.example'

E2E_DIR=$(mktemp -d "${BENCH_WORKDIR:-/tmp}/spillway-bench-intake.XXXXXX")
BENCH_DIR=$E2E_DIR/sw
# shellcheck disable=SC2034  # read by e2e_cleanup
[[ ${BENCH_KEEP:-0} == 1 ]] && E2E_KEEP=1
# shellcheck source=../tests/e2e/lib.sh
. "$HERE/../tests/e2e/lib.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
MILTER_BIN=${MILTER_BIN:-$BENCH_TOP/spillway-milter}
PT_BIN=$HERE/passthrough_milter
RP_PID=
ROUTED_PID=
# e2e_cleanup stops Postfix and every e2e_spawn'ed process and removes the
# directory, but only once the rig exists: an early exit removes it here
cleanup() {
    local rc=$?
    set +e
    (exit "$rc")                # e2e_cleanup reads the status
    e2e_cleanup
    [[ ${E2E_KEEP:-0} == 1 ]] || rm -rf -- "$E2E_DIR"
    return "$rc"
}
trap cleanup EXIT

[[ -x $MILTER_BIN ]] || bench_die "$MILTER_BIN not built: run make -j2 in $BENCH_TOP"
mkdir -p "$BENCH_DIR"
# a private copy: a rebuild of the tree during the run does not change it
cp "$MILTER_BIN" "$BENCH_DIR/spillway-milter"
MILTER_SRC=$MILTER_BIN
MILTER_BIN=$BENCH_DIR/spillway-milter
if has_cfg c; then
    [[ -x $ROUTED_BIN ]] || bench_die "$ROUTED_BIN not built: run make -j2 in $BENCH_TOP"
    cp "$ROUTED_BIN" "$BENCH_DIR/spillway-routed"
    ROUTED_SRC=$ROUTED_BIN
    ROUTED_BIN=$BENCH_DIR/spillway-routed
fi
make -s -C "$HERE" passthrough_milter >&2
e2e_ports "$BASE"
PORT_MIN=$((BASE + 5))
PORT_RP=$((BASE + 6))
for p in "$PORT_SMTPD" "$PORT_PRIMARY" "$PORT_ALT1" "$PORT_ALT2" "$PORT_SOCKMAP" "$PORT_MIN" "$PORT_RP"; do
    bench_port_free "$p"
done
mkdir -p "$BENCH_DIR"
chmod 755 "$BENCH_DIR"

# ---- sinks: the relayhost (counting) and one that dumps, for the check ----
# sink_count NAME: the last "mesg=N" of the sink's running counter
sink_count() {
    local f="$E2E_DIR/logs/sink-$1.log"
    [[ -s $f ]] || { echo 0; return 0; }
    tr '\r' '\n' <"$f" | awk -F'mesg=' 'NF > 1 { n = $2 + 0 } END { print n + 0 }'
}
mkdir -p "$BENCH_DIR/dump"
chown nobody "$BENCH_DIR/dump"
e2e_spawn sink-relay smtp-sink -u nobody -c "127.0.0.1:$PORT_PRIMARY" 1000
e2e_spawn sink-dump smtp-sink -u nobody -D "$BENCH_DIR/dump/all" "127.0.0.1:$PORT_ALT1" 100
wait_for "ss -Hltn 'sport = :$PORT_PRIMARY' | grep -q . && ss -Hltn 'sport = :$PORT_ALT1' | grep -q ." 10 ||
    fail "smtp-sink did not start"

# ---- the milters --------------------------------------------------------
if [[ $MSOCK == unix ]]; then
    PT_LISTEN="unix:$BENCH_DIR/passthrough.sock"
    PT_PF="unix:$BENCH_DIR/passthrough.sock"
    SW_LISTEN="unix:$BENCH_DIR/spillway-milter.sock"
    SW_PF="unix:$BENCH_DIR/spillway-milter.sock"
    MIN_LISTEN="unix:$BENCH_DIR/minimal.sock"
    MIN_PF="unix:$BENCH_DIR/minimal.sock"
    RP_LISTEN="unix:$BENCH_DIR/spillway-milter-rp.sock"
    RP_PF="unix:$BENCH_DIR/spillway-milter-rp.sock"
else
    PT_LISTEN="inet:$PORT_ALT2@127.0.0.1"
    PT_PF="inet:127.0.0.1:$PORT_ALT2"
    SW_LISTEN="inet:$PORT_SOCKMAP@127.0.0.1"      # libmilter form, spillway.conf(5)
    SW_PF="inet:127.0.0.1:$PORT_SOCKMAP"
    MIN_LISTEN="inet:$PORT_MIN@127.0.0.1"
    MIN_PF="inet:127.0.0.1:$PORT_MIN"
    RP_LISTEN="inet:$PORT_RP@127.0.0.1"
    RP_PF="inet:127.0.0.1:$PORT_RP"
fi
# spillway-routed's socketmap (c), always a unix socket (mode 0666)
RSOCK=$BENCH_DIR/routed.sock

# milter_wait NAME PFSPEC (Postfix syntax): the socket exists (and smtpd,
# an unprivileged user, may connect to it) or its port listens
milter_wait() {
    local name=$1 spec=$2 pid
    pid=$(cat "$E2E_DIR/pids/$name.pid")
    if [[ $spec == unix:* ]]; then
        wait_for "[[ -S ${spec#unix:} ]] || ! kill -0 $pid" 10 || true
        [[ -S ${spec#unix:} ]] || { cat "$E2E_DIR/logs/$name.log" >&2; fail "$name did not create ${spec#unix:}"; }
        chmod 666 "${spec#unix:}"
    else
        wait_for "ss -Hltn 'sport = :${spec##*:}' | grep -q . || ! kill -0 $pid" 10 || true
        ss -Hltn "sport = :${spec##*:}" | grep -q . ||
            { cat "$E2E_DIR/logs/$name.log" >&2; fail "$name does not listen on $spec"; }
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$E2E_DIR/logs/$name.log" >&2; fail "$name exited"; }
}

e2e_spawn passthrough "$PT_BIN" "$PT_LISTEN"
milter_wait passthrough "$PT_PF"
e2e_spawn minimal "$PT_BIN" -m "$MIN_LISTEN"
milter_wait minimal "$MIN_PF"

# an HMAC key file (current key first) and a config for spillway-milter
umask 077
printf '# generated by bench/run-intake.sh\nbench1 %s\n' \
    "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$BENCH_DIR/tag.keys"
umask 022
cat >"$BENCH_DIR/spillway.conf" <<EOF
# spillway.conf for bench/run-intake.sh (generated)
milter: { socket = "$SW_LISTEN"; tag_keys = "$BENCH_DIR/tag.keys"; };
routed: { evidence = "$BENCH_DIR/evidence.sock"; control = "$BENCH_DIR/control.sock";
          state = "$BENCH_DIR/state"; render_dir = "$BENCH_DIR/render"; };
classify: { patterns = "$BENCH_TOP/conf/patterns.conf"; };
pools = ( { name = "primary"; relays = ["primary"]; egress = ["127.0.0.0/8"]; } );
relays = ( { name = "primary"; nexthop = "[127.0.0.1]:$PORT_PRIMARY"; role = "primary"; } );
EOF
e2e_spawn spillway-milter "$MILTER_BIN" -c "$BENCH_DIR/spillway.conf" -e
milter_wait spillway-milter "$SW_PF"
PT_PID=$(cat "$E2E_DIR/pids/passthrough.pid")
MIN_PID=$(cat "$E2E_DIR/pids/minimal.pid")
SW_PID=$(cat "$E2E_DIR/pids/spillway-milter.pid")

# r and c: the same key file with return_path on, one config for the second
# spillway-milter (its milter group) and for spillway-routed (the rp-sender
# map reads milter.tag_keys and milter.return_path)
if has_cfg r || has_cfg c; then
    mkdir -p "$BENCH_DIR/rp/render"
    bench_minimal_pfconf "$BENCH_DIR/rp/pfconf"
    cat >"$BENCH_DIR/spillway-rp.conf" <<EOF
# spillway.conf for bench/run-intake.sh, configurations r and c (generated)
milter: { socket = "$RP_LISTEN"; tag_keys = "$BENCH_DIR/tag.keys";
          return_path = { domain = "$RP_DOMAIN"; }; };
routed: { socketmap = [ "unix:$RSOCK" ];
          evidence = "$BENCH_DIR/rp/evidence.sock"; control = "$BENCH_DIR/rp/control.sock";
          state = "$BENCH_DIR/rp/state"; render_dir = "$BENCH_DIR/rp/render";
          postfix_config = "$BENCH_DIR/rp/pfconf"; };
classify: { patterns = "$BENCH_TOP/conf/patterns.conf"; };
pools = ( { name = "primary"; relays = ["primary"]; egress = ["127.0.0.0/8"]; } );
relays = ( { name = "primary"; nexthop = "[127.0.0.1]:$PORT_PRIMARY"; role = "primary"; } );
EOF
    "$MILTER_BIN" -n -c "$BENCH_DIR/spillway-rp.conf" >/dev/null ||
        fail "spillway-milter -n: spillway-rp.conf does not validate (no milter.return_path in this build?)"
fi
if has_cfg r; then
    e2e_spawn spillway-milter-rp "$MILTER_BIN" -c "$BENCH_DIR/spillway-rp.conf" -e
    milter_wait spillway-milter-rp "$RP_PF"
    RP_PID=$(cat "$E2E_DIR/pids/spillway-milter-rp.pid")
fi
if has_cfg c; then
    "$ROUTED_BIN" -n -c "$BENCH_DIR/spillway-rp.conf" >/dev/null ||
        fail "spillway-routed -n: spillway-rp.conf does not validate"
    e2e_spawn spillway-routed "$ROUTED_BIN" -c "$BENCH_DIR/spillway-rp.conf" -e
    ROUTED_PID=$(cat "$E2E_DIR/pids/spillway-routed.pid")
    wait_for "grep -q 'started: ' $E2E_DIR/logs/spillway-routed.log && [[ -S $RSOCK ]] || ! kill -0 $ROUTED_PID" 30 || true
    { grep -q 'started: ' "$E2E_DIR/logs/spillway-routed.log" && [[ -S $RSOCK ]] && kill -0 "$ROUTED_PID"; } 2>/dev/null ||
        { cat "$E2E_DIR/logs/spillway-routed.log" >&2; fail "spillway-routed did not start (socketmap $RSOCK)"; }
fi

# ---- Postfix --------------------------------------------------------------
pf_setup "default_process_limit = 200"
SMTPD_SVC="127.0.0.1:$PORT_SMTPD/inet"
# c: a cleanup service of its own for the outbound listener, so that the
# sender rewriting touches only what that smtpd receives (pickup, bounce and
# any inbound listener keep the plain cleanup)
if has_cfg c; then
    pf_master_add "cleanup-rp unix n - n - 0 cleanup -o sender_canonical_maps=socketmap:unix:$RSOCK:rp-sender -o sender_canonical_classes=envelope_sender"
fi

config_milters() {
    local opts="default_action=accept, command_timeout=5s, content_timeout=10s"
    case $1 in
    n) echo "" ;;
    p) echo "{ $PT_PF, $opts }" ;;
    s) echo "{ $SW_PF, $opts }" ;;
    m) echo "{ $MIN_PF, $opts }" ;;
    r) echo "{ $RP_PF, $opts }" ;;
    c) echo "" ;;
    esac
}
config_name() {
    case $1 in
    n) echo "n: no milter" ;;
    p) echo "p: pass-through milter (all steps)" ;;
    s) echo "s: spillway-milter" ;;
    m) echo "m: minimal milter (eom only, 1 header)" ;;
    r) echo "r: spillway-milter + return path" ;;
    c) echo "c: sender_canonical_maps (routed)" ;;
    esac
}

# pf_config CFG [TRANSPORT_MAPS]: restart Postfix with CFG's milter (and,
# for c, the smtpd's cleanup service that rewrites senders)
pf_config() {
    pf_stop
    postconf -c "$PF_ETC" -e "smtpd_milters = $(config_milters "$1")" "transport_maps = ${2:-}"
    if [[ $1 == c ]]; then
        postconf -c "$PF_ETC" -P "$SMTPD_SVC/cleanup_service_name=cleanup-rp"
    else
        postconf -c "$PF_ETC" -PX "$SMTPD_SVC/cleanup_service_name"
    fi
    pf_start
    sleep 1                     # let the master spawn its first daemons
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

# wait_drained LABEL: the queue is empty (at most RUN_TIMEOUT s)
wait_drained() {
    local deadline=$((SECONDS + RUN_TIMEOUT))
    until queue_empty; do
        ((SECONDS < deadline)) || fail "$1: queue not empty after ${RUN_TIMEOUT}s"
        sleep 0.05
    done
}

# CPU seconds used so far by this Postfix instance: live processes plus what
# the master reaped from exited ones (utime+stime+cutime+cstime, in ticks)
pf_cpu_s() {
    local pids
    pids=$(_pf_procs | sed 's|^|/proc/|; s|$|/stat|')
    [[ -n $pids ]] || { echo 0; return 0; }
    # shellcheck disable=SC2086  # one path per pid
    cat $pids 2>/dev/null | sed 's/^[0-9]* ([^)]*) //' |
        awk -v hz="$(getconf CLK_TCK)" '{ t += $12 + $13 + $14 + $15 } END { printf "%.2f\n", t / hz }'
}
# milter_cpu_ms PID: CPU of a milter process, all its threads, dead ones too
milter_cpu_ms() {
    sed 's/^[0-9]* ([^)]*) //' "/proc/$1/stat" |
        awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($12 + $13) * 1000 / hz }'
}

# milter_warnings OFFSET: maillog lines after OFFSET that show a milter
# failing (with default_action=accept the mail then goes on unfiltered) or
# a table lookup failing or looping (c: the socketmap; a tagged sender must
# not be tagged again)
milter_warnings() {
    tail -n +"$(($1 + 1))" "$PF_LOG" |
        grep -E 'warning: .*[Mm]ilter|milter-reject|Milter|warning: .*(socketmap|lookup|unreasonable)' || true
}
# rewritten_count OFFSET: messages qmgr took in after OFFSET whose envelope
# sender is the rewritten one (after the milter's smfi_chgfrom, or cleanup's
# sender_canonical_maps)
rewritten_count() {
    tail -n +"$(($1 + 1))" "$PF_LOG" | grep -cE "/qmgr\[[0-9]+\]: [0-9A-F]+: from=<$RP_RE>" || true
}

# ---- the checks: what each spillway configuration does to outbound mail --
# check_through CFG: 3 messages through CFG to the dumping sink; their dump
# ends up in dump/check-CFG (the sink opens the file per transaction, so a
# rename starts a new one)
check_through() {
    local cfg=$1 off w
    pf_config "$cfg" "inline:{check.example=smtp:[127.0.0.1]:$PORT_ALT1}"
    off=$(wc -l <"$PF_LOG" 2>/dev/null || echo 0)
    timeout 60 smtp-source -s 1 -m 3 -l 500 -f sender@org.example -M client.test.spillway \
        -t "rcpt-$cfg@check.example" "127.0.0.1:$PORT_SMTPD" >>"$E2E_DIR/logs/smtp-source.log" 2>&1 ||
        fail "check $cfg: smtp-source failed"
    wait_drained "check $cfg"
    wait_for "[[ \$(grep -c '^X-Rcpt-Args: <rcpt-$cfg@' $BENCH_DIR/dump/all 2>/dev/null) -ge 3 ]]" 10 ||
        fail "check $cfg: the dumping sink did not get 3 messages"
    # the whole of the third message: its header is written after MAIL FROM
    case $cfg in
    s | r) wait_for "[[ \$(grep -c '^X-Spillway-Tag:' $BENCH_DIR/dump/all 2>/dev/null) -ge 3 ]]" 10 || true ;;
    *) sleep 0.5 ;;
    esac
    mv "$BENCH_DIR/dump/all" "$BENCH_DIR/dump/check-$cfg"
    w=$(milter_warnings "$off")
    [[ -z $w ]] || fail "check $cfg: warnings in the maillog: $w"
}
# dump_count CFG ERE: lines of check CFG's dump that match
dump_count() { grep -cE -- "$2" "$BENCH_DIR/dump/check-$1" || true; }
dump_show() { grep -E '^(X-Mail-Args|X-Rcpt-Args|X-Spillway-Tag):' "$BENCH_DIR/dump/check-$1" >&2 || true; }
# dump_expect CFG PATTERN COUNT MESSAGE : the check's dump has COUNT lines
# matching PATTERN, or it is shown and the run fails with MESSAGE
dump_expect() {
    (($(dump_count "$1" "$2") == $3)) || { dump_show "$1"; fail "$4"; }
}

bench_msg "check s: 3 messages through spillway-milter to a dumping sink"
check_through s
dump_expect s '^X-Spillway-Tag:' 3 "check s: the dumping sink did not get 3 messages with an X-Spillway-Tag header"
dump_expect s '^X-Mail-Args: <sender@org\.example>' 3 "check s: without return_path the envelope sender must stay sender@org.example"
tag=$(grep -m 1 '^X-Spillway-Tag:' "$BENCH_DIR/dump/check-s")
bench_msg "check s: ok ($tag; MAIL FROM:<sender@org.example>)"
rp_r=''
rp_c=''
if has_cfg r; then
    bench_msg "check r: 3 messages through spillway-milter with return_path to a dumping sink"
    check_through r
    dump_expect r '^X-Spillway-Tag:' 3 "check r: the dumping sink did not get 3 messages with an X-Spillway-Tag header"
    dump_expect r "^X-Mail-Args: <$RP_RE>" 3 "check r: the dumping sink did not see MAIL FROM:<sw0=...=org.example=sender@$RP_DOMAIN> 3 times"
    rp_r=$(grep -m 1 -oE "$RP_RE" "$BENCH_DIR/dump/check-r")
    bench_msg "check r: ok (MAIL FROM:<$rp_r>, and X-Spillway-Tag)"
fi
if has_cfg c; then
    bench_msg "check c: 3 messages through sender_canonical_maps (spillway-routed) to a dumping sink"
    check_through c
    dump_expect c "^X-Mail-Args: <$RP_RE>" 3 "check c: the dumping sink did not see MAIL FROM:<sw0=...=org.example=sender@$RP_DOMAIN> 3 times"
    dump_expect c '^X-Spillway-Tag:' 0 "check c: an X-Spillway-Tag header, but no milter was configured"
    rp_c=$(grep -m 1 -oE "$RP_RE" "$BENCH_DIR/dump/check-c")
    bench_msg "check c: ok (MAIL FROM:<$rp_c>, no header)"
fi
if [[ -n $rp_r && -n $rp_c && $rp_r != "$rp_c" ]]; then
    bench_msg "NOTE: the milter (r) and spillway-routed (c) made different return paths for one sender on one day: $rp_r and $rp_c"
fi
PT_EXPECT=0
MIN_EXPECT=0
C_EXPECT=3                      # messages through c's cleanup (the check's 3)

# run CFG MODE MSGS LABEL: prints
#   "CFG MODE msgs intake_secs intake_rate drain_secs e2e_rate milter_cpu_ms postfix_cpu_s steal_s"
run() {
    local cfg=$1 mode=$2 msgs=$3 label=$4 dflag=() off s0 s1 t0 t1 t2 pid=
    local mc0=0 mc1=0 pc0 pc1 st0 st1 w i
    [[ $mode == persistent ]] && dflag=(-d)
    case $cfg in
    p) pid=$PT_PID ;;
    s) pid=$SW_PID ;;
    m) pid=$MIN_PID ;;
    r) pid=$RP_PID ;;
    c) pid=$ROUTED_PID ;;          # the socketmap server in place of a milter
    esac
    pf_config "$cfg"
    queue_empty || fail "queue not empty before run $label"
    off=$(wc -l <"$PF_LOG" 2>/dev/null || echo 0)
    s0=$(sink_count relay)
    [[ -n $pid ]] && mc0=$(milter_cpu_ms "$pid")
    pc0=$(pf_cpu_s)
    st0=$(bench_steal_ticks)
    t0=$EPOCHREALTIME
    timeout "$RUN_TIMEOUT" smtp-source -s "$SESSIONS" -m "$msgs" -l "$SIZE" "${dflag[@]}" \
        -f sender@org.example -M client.test.spillway -t rcpt@dom.example \
        "127.0.0.1:$PORT_SMTPD" >>"$E2E_DIR/logs/smtp-source.log" 2>&1 ||
        fail "run $label: smtp-source failed or timed out (see logs/smtp-source.log)"
    t1=$EPOCHREALTIME
    wait_drained "run $label"
    t2=$EPOCHREALTIME
    [[ -n $pid ]] && mc1=$(milter_cpu_ms "$pid")
    pc1=$(pf_cpu_s)
    st1=$(bench_steal_ticks)
    for ((i = 0; i < 100; i++)); do       # the sink counts at "."; let it catch up
        s1=$(sink_count relay)
        ((s1 - s0 >= msgs)) && break
        sleep 0.1
    done
    ((s1 - s0 == msgs)) || fail "run $label: the sink counted $((s1 - s0)) messages, want $msgs"
    w=$(milter_warnings "$off")
    [[ -z $w ]] || fail "run $label: milter warnings in the maillog (the milter was skipped?): $(head -n 3 <<<"$w")"
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
        fail "run $label: the milter has exited"
    fi
    i=$(tail -n +"$((off + 1))" "$PF_LOG" | grep -c 'status=bounced' || true)
    ((i == 0)) || fail "run $label: $i message(s) bounced"
    i=$(rewritten_count "$off")
    if [[ $cfg == r || $cfg == c ]]; then
        ((i == msgs)) || fail "run $label: $i of $msgs messages with the rewritten sender (qmgr from=<sw0=...>)"
    else
        ((i == 0)) || fail "run $label: $i message(s) with a rewritten sender, want none"
    fi
    awk -v c="$cfg" -v mo="$mode" -v m="$msgs" -v a="$t0" -v b="$t1" -v d="$t2" \
        -v mc="$((mc1 - mc0))" -v p0="$pc0" -v p1="$pc1" -v s="$((st1 - st0))" \
        -v hz="$(getconf CLK_TCK)" 'BEGIN {
        printf "%s %s %d %.3f %.1f %.3f %.1f %d %.2f %.2f\n", c, mo, m, b - a, m / (b - a),
            d - a, m / (d - a), mc, p1 - p0, s / hz }'
}

bench_machine_note
echo "postfix $(postconf -c "$PF_ETC" -h mail_version 2>/dev/null || echo '?'), $MESSAGES messages of $SIZE bytes, smtp-source -s $SESSIONS, modes: $MODES, milters over $MSOCK sockets"
echo "spillway-milter: $MILTER_SRC (built $(stat -c %y "$MILTER_SRC" | cut -d. -f1), sha256 $(sha256sum "$MILTER_BIN" | cut -c1-12))"
if has_cfg c; then
    echo "spillway-routed: $ROUTED_SRC (built $(stat -c %y "$ROUTED_SRC" | cut -d. -f1), sha256 $(sha256sum "$ROUTED_BIN" | cut -c1-12))"
fi
if has_cfg r || has_cfg c; then
    echo "return path: domain $RP_DOMAIN (fixed form), e.g. ${rp_r:-$rp_c}"
fi
echo "queue in $PF_SPOOL ($(stat -f -c %T "$PF_SPOOL"))"

if ((WARMUP > 0)); then
    bench_msg "warm-up: $WARMUP messages (config n, not counted)"
    run n new "$((WARMUP < SESSIONS ? SESSIONS : WARMUP))" warmup >/dev/null
fi

results=$E2E_DIR/results.txt
: >"$results"
for mode in $MODES; do
    for ((r = 0; r < REPEAT; r++)); do
        # rotate: n p s m r c, p s m r c n, s m r c n p, ...
        order=()
        for ((i = 0; i < ${#CFGS[@]}; i++)); do
            order+=("${CFGS[$(((i + r) % ${#CFGS[@]}))]}")
        done
        for cfg in "${order[@]}"; do
            for ((try = 0; ; try++)); do
                line=$(run "$cfg" "$mode" "$MESSAGES" "$cfg-$mode-$((r + 1))")
                [[ $cfg == p ]] && PT_EXPECT=$((PT_EXPECT + MESSAGES))
                [[ $cfg == m ]] && MIN_EXPECT=$((MIN_EXPECT + MESSAGES))
                [[ $cfg == c ]] && C_EXPECT=$((C_EXPECT + MESSAGES))
                read -r _ _ _ secs rate dsecs _ mcpu pfcpu steal <<<"$line"
                if ((try >= RETRIES)) || awk -v s="$steal" -v t="$dsecs" -v n="$(nproc)" \
                    -v m="$MAX_STEAL" 'BEGIN { exit !(s / (t * n) <= m) }'; then
                    break
                fi
                bench_msg "run $((r + 1))/$REPEAT $cfg $mode: $rate msg/s, but steal $steal s in $dsecs s: discarded, once more"
            done
            echo "$line" >>"$results"
            busy=$(bench_foreign_busy | tr ',' '\n' | grep -vxE 'spillway-milter|passthrough_mil' |
                paste -sd, - || true)
            bench_msg "run $((r + 1))/$REPEAT $mode $(config_name "$cfg"): $rate msg/s accepted ($secs s; drained at $dsecs s; CPU: postfix $pfcpu s, milter $mcpu ms; steal $steal s)${busy:+ OTHER LOAD: $busy}"
        done
    done
done
pf_stop
# c: what spillway-routed answered (Postfix looks the rewritten sender up
# again: one OK and one NOTFOUND per message are expected)
rp_lookups=''
if has_cfg c && [[ -x $SWCTL_BIN ]]; then
    rp_lookups=$("$SWCTL_BIN" -s "$BENCH_DIR/rp/control.sock" status 2>/dev/null | grep -E '^lookups:' || true)
fi

# the pass-through and minimal milters saw every message they were given
# (each prints its count when it stops)
e2e_kill passthrough
e2e_kill minimal
pt_seen=$(sed -n 's/.*stopped; messages=\([0-9]*\).*/\1/p' "$E2E_DIR/logs/passthrough.log" | tail -n 1)
min_seen=$(sed -n 's/.*stopped; messages=\([0-9]*\).*/\1/p' "$E2E_DIR/logs/minimal.log" | tail -n 1)
[[ $pt_seen == "$PT_EXPECT" ]] ||
    fail "the pass-through milter saw ${pt_seen:-?} messages to the end, want $PT_EXPECT"
[[ $min_seen == "$MIN_EXPECT" ]] ||
    fail "the minimal milter saw ${min_seen:-?} messages to the end, want $MIN_EXPECT"

median() { # CFG MODE FIELD
    awk -v c="$1" -v m="$2" -v f="$3" '$1 == c && $2 == m { print $f }' "$results" | sort -n |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
# per message: Postfix CPU ms, milter CPU ms (one value per run)
awk '{ printf "%s %s %.3f %.3f\n", $1, $2, $9 * 1000 / $3, $8 / $3 }' "$results" >"$E2E_DIR/cpu.txt"
cpu_total() { # CFG MODE: the median of Postfix + milter CPU ms per message
    awk -v c="$1" -v m="$2" '$1 == c && $2 == m { print $3 + $4 }' "$E2E_DIR/cpu.txt" | sort -n |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
cpu_median() { # CFG MODE COLUMN (3 = Postfix, 4 = milter)
    awk -v c="$1" -v m="$2" -v f="$3" '$1 == c && $2 == m { print $f }' "$E2E_DIR/cpu.txt" | sort -n |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo
for mode in $MODES; do
    if [[ $mode == new ]]; then
        echo "mode new: one SMTP session (and one milter connection) per message"
    else
        echo "mode persistent: $SESSIONS sessions, smtp-source -d (many messages per session)"
    fi
    printf '  %-38s %9s %8s %9s %11s %11s  %s\n' configuration "accept/s" "secs" "e2e/s" \
        "pf_ms/msg" "milt_ms/msg" "all runs accept/s"
    for cfg in "${CFGS[@]}"; do
        printf '  %-38s %9s %8s %9s %11s %11s  %s\n' "$(config_name "$cfg")" \
            "$(median "$cfg" "$mode" 5)" "$(median "$cfg" "$mode" 4)" "$(median "$cfg" "$mode" 7)" \
            "$(cpu_median "$cfg" "$mode" 3)" "$(cpu_median "$cfg" "$mode" 4)" \
            "$(awk -v c="$cfg" -v m="$mode" '$1 == c && $2 == m { printf "%s ", $5 }' "$results")"
    done
    awk -v n="$(median n "$mode" 5)" -v p="$(median p "$mode" 5)" -v s="$(median s "$mode" 5)" \
        -v m="$(median m "$mode" 5)" -v r="$(median r "$mode" 5)" -v c="$(median c "$mode" 5)" 'BEGIN {
        printf "  ratio s/n = %.3f  (target >= 0.85: %s)\n", s / n, (s / n >= 0.85 ? "met" : "MISSED")
        printf "  ratio s/p = %.3f  (target > 1, faster than the pass-through: %s)\n", s / p, (s > p ? "met" : "MISSED")
        printf "  ratio p/n = %.3f\n", p / n
        if (m > 0) printf "  ratio m/n = %.3f, s/m = %.3f  (m: the floor for a milter that adds a header)\n", m / n, s / m
        if (r > 0) printf "  ratio r/s = %.3f  (target >= 0.97, the rewrite costs < 3%%: %s), r/n = %.3f\n", r / s, (r / s >= 0.97 ? "met" : "MISSED"), r / n
        if (c > 0) printf "  ratio c/n = %.3f", c / n
        if (c > 0 && r > 0) printf ", c/r = %.3f  (Postfix rewriting against the milter)", c / r
        if (c > 0) printf "\n"
        }'
    # CPU per message (Postfix + milter) moves less than wall time on a shared
    # VM: its inverse ratio is what the rate ratio would be if CPU-bound
    awk -v n="$(cpu_total n "$mode")" -v p="$(cpu_total p "$mode")" -v s="$(cpu_total s "$mode")" \
        -v m="$(cpu_total m "$mode")" -v r="$(cpu_total r "$mode")" -v c="$(cpu_total c "$mode")" 'BEGIN {
        printf "  CPU ms/msg, Postfix + milter (median): n %.3f  p %.3f  s %.3f", n, p, s
        if (m > 0) printf "  m %.3f", m
        if (r > 0) printf "  r %.3f", r
        if (c > 0) printf "  c %.3f (+ spillway-routed)", c
        printf "\n  if CPU-bound: s/n = %.3f, s/p = %.3f", n / s, p / s
        if (m > 0) printf ", s/m = %.3f", m / s
        if (r > 0) printf ", r/s = %.3f, r/n = %.3f", s / r, n / r
        if (c > 0) printf ", c/n = %.3f", n / c
        if (c > 0 && r > 0) printf ", c/r = %.3f", r / c
        printf "\n\n" }'
done
echo "(accept/s: messages / smtp-source wall time; e2e/s: until the queue was empty;"
echo " pf_ms/msg: CPU of every Postfix process per message; milt_ms/msg: the milter's,"
echo " for c spillway-routed's (the socketmap); medians)"
echo "pass-through milter: saw $pt_seen of $PT_EXPECT messages; minimal: $min_seen of $MIN_EXPECT; the sink counted every message of every run"
if has_cfg r || has_cfg c; then
    echo "every message of every r and c run had its sender rewritten (qmgr from=<sw0=...@$RP_DOMAIN>), none of the others"
fi
if [[ -n $rp_lookups ]]; then
    echo "spillway-routed, $C_EXPECT messages through c: $rp_lookups"
fi
echo "raw (cfg mode msgs intake_secs accept/s drain_secs e2e/s milter_cpu_ms postfix_cpu_s steal_s):"
sed 's/^/  /' "$results"
