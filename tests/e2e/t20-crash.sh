#!/bin/bash
# tests/e2e/t20-crash.sh - spillway-routed killed with SIGKILL under load.
#
# Issue 2, scenario 5.  With the rendered table, Postfix keeps routing the
# diverted domain while spillway-routed is dead.  With the socketmap, new
# mail is refused with a 4xx and queued mail is deferred (4.3.0): nothing
# bounces.  After a restart the persisted diversion is back, and every
# accepted message is delivered exactly once.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

if [[ ${1:-} != --pass ]]; then
    # shellcheck source=passes.sh
    . "$HERE/passes.sh"
    e2e_passes "$HERE/t20-crash.sh" "table n 25220" "socketmap y 25230"
    exit 0
fi

wiring=$2
base=$3
E2E_DIR=$(mktemp -d /tmp/spillway-e2e-t20.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
trap e2e_cleanup EXIT

e2e_ports "$base"
log "pass wiring=$wiring PF_CHROOT=$PF_CHROOT ports $PORT_SMTPD-$PORT_SOCKMAP"
relay_start primary "$PORT_PRIMARY"
relay_start alt1 "$PORT_ALT1"
relay_start alt2 "$PORT_ALT2"
pf_setup "$(sw_main_cf "$wiring")"
sw_config
sw_start
pf_start
swctl divert div.example --to alt-eu --for 1h --reason "crash test" >/dev/null
[[ $wiring == table ]] && { sw_wait_table_has div.example || fail "table not rendered"; }
wait_for "[[ -s $SW_DIR/state ]] && grep -q div.example $SW_DIR/state" 5 || fail "state not saved"

# load TAG N : N small batches to both domains, a few per second, refusals tolerated
load() {
    local i
    for ((i = 1; i <= $2; i++)); do
        send_mail "l$i@div.example" 2 "$1-div$i" 2>/dev/null || true
        send_mail "l$i@keep.example" 2 "$1-keep$i" 2>/dev/null || true
        sleep 0.1
    done
}

if [[ $wiring == table ]]; then
    load crash 15 &
    loader=$!
    sleep 1
    sw_kill9
    log "spillway-routed killed under load"
    wait "$loader"
    expect_eq "refused while spillway was down" "$(wc -l <"$E2E_DIR/refused.list" 2>/dev/null || echo 0)" 0
    pf_flush
    pf_wait_empty 60 || fail "queue did not drain with spillway down"
    expect_eq "alt-eu got every div.example message" "$(relay_count alt1)" 30
    expect_eq "primary got every keep.example message" "$(relay_count primary)" 30
else
    # Mail for the diverted domain waits, deferred by alt-eu, when the crash comes.
    relay_rules alt1 "* 450 4.7.1 Alternate busy, try later"
    send_mail q@div.example 5 queued
    wait_for "(( \$(pf_log_count 'to=<q@div.example>, relay=127.0.0.1\\[127.0.0.1\\]:$PORT_ALT1.*status=deferred') >= 5 ))" 20 ||
        fail "queued mail was not deferred by alt-eu"
    load crash 15 &
    loader=$!
    sleep 1
    sw_kill9
    log "spillway-routed killed under load"
    wait "$loader"
    ! send_mail x@div.example 3 down 2>/dev/null || fail "new mail was accepted without a route"
    refused=$(wc -l <"$E2E_DIR/refused.list")
    ((refused >= 3)) || fail "only $refused refusals"
    (( $(pf_log_count 'reject: RCPT from .*451 4.3.0 .*Temporary lookup failure') >= 3 )) ||
        fail "refusals were not 451 4.3.0 temporary lookup failures"
    relay_rules alt1 ""
    pf_flush
    wait_for "(( \$(pf_log_count 'dsn=4.3.0, status=deferred \\(address resolver failure\\)') >= 1 ))" 60 ||
        fail "queued mail was not deferred for the resolver failure"
    expect_eq "bounced while spillway was down" "$(pf_bounced_count)" 0
    # Some queued messages may still reach alt-eu: qmgr keeps its last
    # resolved address for 30 s, so it may not need spillway for them.
    # Only diverted mail can be there, and never twice (checked below).
    (($(relay_count alt1) <= 5)) || fail "alt-eu got more than the queued diverted mail"
fi

# -- restart: the diversion comes back from the state file --------------------
sw_start
swctl status | grep -q '^  destination:div.example  *pinned   -> alt-eu ' || fail "diversion not restored"
expect_eq "restore logged" "$(sw_log_count 'state: restored path=.* scopes=1 ')" 1
if [[ $wiring == socketmap ]]; then
    # The refused senders try again.  (Another address: smtpd caches its
    # last resolver answer, a failure included, for up to 30 s.)
    send_mail y@div.example 3 retry
    pf_flush
    pf_wait_empty 90 || fail "queue did not drain after the restart"
    accepted_div=$(grep -c -- '-div[0-9]*-\|^<queued-\|^<retry-' "$E2E_DIR/sent.list" || true)
    expect_eq "alt-eu got every accepted div.example message" "$(relay_count alt1)" "$accepted_div"
fi
assert_exactly_once || fail "exactly-once check failed"
expect_eq "bounced" "$(pf_bounced_count)" 0
sw_stop
log "pass wiring=$wiring: ok"
