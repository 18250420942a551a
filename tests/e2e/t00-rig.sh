#!/bin/bash
# tests/e2e/t00-rig.sh - self-test of the e2e rig (lib.sh + smtprelay.py).
#
# Needs no spillway: a private Postfix routes with a static lmdb transport
# table to two test relays, and we check that the rig counts exactly what was
# delivered, that a busy relay (450) defers without bouncing, and that the
# deferred mail arrives exactly once after the relay recovers.
#
# Runs two passes, each in its own work directory and ports:
#   PF_CHROOT=n (base port 25100) and PF_CHROOT=y (base port 25110).
# Run as root.  Prints "t00-rig: ok" and exits 0 on success.
# E2E_KEEP=1 keeps the work directories for inspection.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

if [[ ${1:-} != --pass ]]; then
    [[ $(id -u) == 0 ]] || { echo "t00-rig: must run as root" >&2; exit 1; }
    start=$SECONDS
    child=
    # Pass a SIGTERM/SIGINT on to the running pass and let it clean up.
    trap 'if [[ -n $child ]]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi; exit 143' TERM INT
    for pass in "n 25100" "y 25110"; do
        PF_CHROOT=${pass% *} bash "$HERE/t00-rig.sh" --pass "${pass#* }" &
        child=$!
        wait "$child"
        child=
    done
    echo "t00-rig: ok ($((SECONDS - start))s)"
    exit 0
fi

# ---- one pass ---------------------------------------------------------------
base=$2
E2E_DIR=$(mktemp -d /tmp/spillway-e2e-t00.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
trap e2e_cleanup EXIT

# expect_eq WHAT GOT WANT
expect_eq() {
    [[ $2 == "$3" ]] || fail "$1: got '$2', want '$3'"
}

e2e_ports "$base"
log "pass PF_CHROOT=$PF_CHROOT, ports $PORT_SMTPD-$PORT_SOCKMAP, dir $E2E_DIR"

relay_start primary "$PORT_PRIMARY"
relay_start alt1 "$PORT_ALT1"

# -- the relay on its own (first pass only): rule replies, 421 closes --------
if [[ $PF_CHROOT == n ]]; then
    relay_rules alt1 \
        "# a comment" \
        "fo.example 550 5.7.606 Access denied, banned sending IP [40.107.1.2]" \
        "gone.example 421 4.7.0 Go away"
    out=$(swaks --server "127.0.0.1:$PORT_ALT1" --helo client.test.spillway \
        --from s@org.example --to u@FO.example --quit-after RCPT 2>&1 || true)
    grep -q '<\*\* *550 5.7.606 Access denied, banned sending IP \[40.107.1.2\]' <<<"$out" ||
        { echo "$out" >&2; fail "relay did not apply the 550 rule"; }
    out=$(swaks --server "127.0.0.1:$PORT_ALT1" --helo client.test.spillway \
        --from s@org.example --to u@gone.example 2>&1 || true)
    grep -q '<\*\* *421 4.7.0 Go away' <<<"$out" ||
        { echo "$out" >&2; fail "relay did not apply the 421 rule"; }
    grep -qi 'connection closed\|remote host closed\|lost connection' <<<"$out" ||
        { echo "$out" >&2; fail "relay did not close after 421"; }
    expect_eq "alt1 messages after refusals" "$(relay_count alt1)" 0
    expect_eq "alt1 rcptlog" "$(cat "$E2E_DIR/relays/alt1/alt1.rcptlog")" \
        "$(printf '550 fo.example\n421 gone.example')"
    relay_rules alt1 ""
    : >"$E2E_DIR/relays/alt1/alt1.rcptlog"
    log "relay rules: ok"
fi

# -- Postfix with a static transport table -------------------------------------
pf_setup "transport_maps = lmdb:$E2E_DIR/transport"
printf 'alt.example  smtp:[127.0.0.1]:%s\n' "$PORT_ALT1" >"$E2E_DIR/transport"
pf_postmap "lmdb:$E2E_DIR/transport"
pf_start
log "postfix started"

send_mail u@pri.example 5 pri
send_mail u@alt.example 5 alt
pf_wait_empty 30 || fail "queue did not drain"
expect_eq "primary count" "$(relay_count primary)" 5
expect_eq "alt1 count" "$(relay_count alt1)" 5
expect_eq "alt1 got only alt.example mail" "$(relay_msgids alt1 | grep -c '^<alt-' || true)" 5
expect_eq "primary got only pri.example mail" "$(relay_msgids primary | grep -c '^<pri-' || true)" 5
assert_exactly_once || fail "exactly-once check failed"
# Dot-stuffing survived the trip (smtplib -> smtpd -> smtp -> relay).
expect_eq "unstuffed dot lines" \
    "$(grep -lx '\.dot-stuffed line.\?' "$E2E_DIR"/relays/*/spool/*.msg | wc -l)" 10
expect_eq "spool header" "$(find "$E2E_DIR/relays/alt1/spool" -name '*.msg' | head -n 1 | xargs head -n 3 |
    sed 's/<.*>/<ID>/')" "$(printf 'relay: alt1\nmessage-id: <ID>\nrcpt: u@alt.example')"
log "routing: ok"

# -- primary busy: mail is deferred, not bounced --------------------------------
relay_rules primary "* 450 4.7.1 Primary relay busy, try later"
send_mail u@pri.example 3 busy
wait_for "(( \$(pf_log_count 'to=<u@pri.example>.*status=deferred .*450 4.7.1 Primary relay busy') >= 3 ))" 20 ||
    fail "the 3 messages were not deferred"
expect_eq "queue while primary busy" "$(pf_queue_count)" 3
expect_eq "primary count while busy" "$(relay_count primary)" 5
expect_eq "bounced while busy" "$(pf_bounced_count)" 0
rejected=$(grep -c '^450 pri.example$' "$E2E_DIR/relays/primary/primary.rcptlog" || true)
((rejected >= 3)) || fail "primary rcptlog shows $rejected 450 replies, want >= 3"
log "deferral: ok"

# -- primary back: deferred mail arrives exactly once ---------------------------
relay_rules primary ""
pf_flush
pf_wait_empty 30 || fail "deferred mail did not drain"
expect_eq "primary count after recovery" "$(relay_count primary)" 8
expect_eq "alt1 count after recovery" "$(relay_count alt1)" 5
assert_exactly_once || fail "exactly-once check failed"
expect_eq "bounced" "$(pf_bounced_count)" 0
expect_eq "sent.list" "$(wc -l <"$E2E_DIR/sent.list")" 13
log "recovery: ok"

pf_stop
[[ -z $(_pf_procs) ]] || fail "postfix processes left after pf_stop"
log "pass PF_CHROOT=$PF_CHROOT: ok"
