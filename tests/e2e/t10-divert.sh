#!/bin/bash
# tests/e2e/t10-divert.sh - operator diversions with a real Postfix.
#
# Issue 2, scenarios 1-4: a diverted domain's new mail reaches the
# alternate while other domains stay on the primary; mail the primary
# deferred with a 4xx reaches the alternate after the divert; release and
# --for expiry bring the domain back.  Two passes, one per wiring:
#   socketmap: transport_maps = socketmap:unix:spillway/socketmap (chrooted
#              Postfix, the socket under the queue directory);
#   table:     transport_maps = lmdb:RENDERED (spillway's fail-static table).
# Every message is counted at the relays: delivered exactly once, none bounced.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

if [[ ${1:-} != --pass ]]; then
    # shellcheck source=passes.sh
    . "$HERE/passes.sh"
    e2e_passes "$HERE/t10-divert.sh" "socketmap y 25200" "table n 25210"
    exit 0
fi

wiring=$2
base=$3
E2E_DIR=$(mktemp -d /tmp/spillway-e2e-t10.XXXXXX)
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

# when_routed DOMAIN : wait until the wiring routes DOMAIN to an alternate
when_routed() {
    if [[ $wiring == table ]]; then
        sw_wait_table_has "$1" || fail "rendered table never listed $1"
    fi
}
# when_primary DOMAIN : wait until the wiring no longer diverts DOMAIN
when_primary() {
    if [[ $wiring == table ]]; then
        sw_wait_table_lacks "$1" || fail "rendered table still lists $1"
    fi
}

# -- before any diversion: everything on the primary --------------------------
send_mail a@div.example 2 pre
send_mail a@keep.example 2 prekeep
pf_wait_empty 30 || fail "queue did not drain"
expect_eq "primary before divert" "$(relay_count primary)" 4

# -- the primary defers div.example: mail waits in the queue ------------------
relay_rules primary "div.example 450 4.7.1 Primary relay busy, try later"
send_mail b@div.example 3 deferred
wait_for "(( \$(pf_log_count 'to=<b@div.example>.*status=deferred') >= 3 ))" 20 ||
    fail "div.example mail was not deferred by the primary"
expect_eq "queue before divert" "$(pf_queue_count)" 3

# -- (1)+(2) divert: new and deferred div.example mail goes to alt-eu ---------
out=$(swctl divert div.example --to alt-eu --for 1h --reason "e2e provider incident")
grep -q '^pin: scope=destination:div.example from=primary to=alt-eu rule=operator for=1h uid=0 reason="e2e provider incident"$' <<<"$out" ||
    fail "divert printed: $out"
expect_eq "divert logged once" "$(sw_log_count 'pin: scope=destination:div.example from=primary to=alt-eu')" 1
when_routed div.example
send_mail c@div.example 3 new
send_mail c@keep.example 3 keep
pf_flush
pf_wait_empty 90 || fail "queue did not drain after the divert"
expect_eq "alt-eu after divert" "$(relay_count alt1)" 6
expect_eq "alt-eu got the deferred mail" "$(relay_msgids alt1 | grep -c '^<deferred-' || true)" 3
expect_eq "alt-eu got the new mail" "$(relay_msgids alt1 | grep -c '^<new-' || true)" 3
expect_eq "primary kept keep.example" "$(relay_count primary)" 7
expect_eq "alt-us untouched" "$(relay_count alt2)" 0
expect_eq "bounced" "$(pf_bounced_count)" 0
swctl explain someone@Div.Example | grep -q '^route:    relay alt-eu: OK smtp:\[127.0.0.1\]:'"$PORT_ALT1"'$' ||
    fail "explain does not show the diversion"
log "divert: ok"

# -- (3a) release: back to the primary -----------------------------------------
relay_rules primary ""
swctl release div.example >/dev/null
when_primary div.example
send_mail d@div.example 2 released
pf_wait_empty 30 || fail "queue did not drain after release"
expect_eq "primary after release" "$(relay_count primary)" 9
expect_eq "alt-eu after release" "$(relay_count alt1)" 6
swctl explain d@div.example | grep -q '^route:    primary: NOTFOUND' || fail "explain after release"
log "release: ok"

# -- (3b) --for expiry: a pin ends by itself -----------------------------------
swctl divert div.example --for 12s --reason "short pin" >/dev/null   # policy picks alt-eu
when_routed div.example
send_mail e@div.example 2 short
wait_for "(( \$(relay_count alt1) == 8 ))" 10 || fail "short pin: mail did not reach alt-eu"
wait_for "swctl status | grep -q '^scopes off the primary route: 0$'" 20 || fail "the pin did not expire"
expect_eq "expiry logged" "$(sw_log_count 'expire: scope=destination:div.example from=alt-eu to=primary')" 1
when_primary div.example
send_mail f@div.example 2 after
pf_wait_empty 30 || fail "queue did not drain after expiry"
expect_eq "primary after expiry" "$(relay_count primary)" 11
expect_eq "alt-eu after expiry" "$(relay_count alt1)" 8
assert_exactly_once || fail "exactly-once check failed"
expect_eq "bounced" "$(pf_bounced_count)" 0
expect_eq "history" "$(swctl history | awk '{print $2}' | tr '\n' ' ')" "pin: release: pin: expire: "
log "expiry: ok"

# The wiring really was used: at least one OK answer per diverted address
# (b@, c@, e@; qmgr caches the last address it resolved, so repeats of the
# same address may not reach spillway again).
if [[ $wiring == socketmap ]]; then
    n=$(swctl --json status | sed 's/.*"found":\([0-9]*\).*/\1/')
    ((n >= 3)) || fail "socketmap answered OK only $n times"
fi
sw_stop
log "pass wiring=$wiring: ok"
