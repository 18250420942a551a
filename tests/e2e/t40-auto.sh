#!/bin/bash
# tests/e2e/t40-auto.sh - automatic diversion and return, learned from the
# MTA's own delivery outcomes (issue 3), with a real Postfix whose primary
# relay answers with exact provider texts.
#
#   reputation  the primary refuses one destination with 550 5.7.606: after
#               the threshold it is diverted; the mail refused before the
#               switch was kept queued by dsn-filter.pcre; none bounces
#   content     550 5.7.1 spam verdicts: no diversion (they bounce, as they must)
#   throttle    421 4.7.0 too many connections for everything: pool diversion
#   recovery    hold ends, probing, return; a relapse doubles the hold
#   residency   the only alternates are outside the allowed jurisdiction:
#               no diversion, one warning, mail deferred and not bounced
#   budget      the alternate's max_per_hour runs out: the rest waits on the
#               primary, deferred, not bounced
# Holds are seconds, not minutes, so the suite stays fast.  Run as root.
# Usage: t40-auto.sh [SCENARIO...]   (default: all)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ALL="reputation content throttle recovery residency budget"
BLOCK="550 5.7.606 Access denied, banned sending IP [40.107.1.2]. To request removal from this list please visit https://sender.office.com/"

if [[ ${1:-} != --pass ]]; then
    [[ $(id -u) == 0 ]] || { echo "t40-auto: must run as root" >&2; exit 1; }
    start=$SECONDS
    base=${T40_BASE:-25400}
    for s in ${*:-$ALL}; do
        PF_CHROOT=y bash "$HERE/t40-auto.sh" --pass "$s" "$base"
        base=$((base + 10))
    done
    echo "t40-auto: ok ($((SECONDS - start))s)"
    exit 0
fi

scenario=$2
E2E_DIR=$(mktemp -d "/tmp/spillway-e2e-t40-$scenario.XXXXXX")
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
trap e2e_cleanup EXIT
e2e_ports "$3"
log "scenario $scenario, ports $PORT_SMTPD-$PORT_SOCKMAP"

DEST_RULE='{ name = "pool-reputation"; classes = ["reputation"]; scope = "destination";
             threshold = { events = 3; window = "10m"; ratio = 0.2; }; hold = "30m"; hold_max = "8h"; }'

# setup RULES [ALT1-OPTS] [ALT2-OPTS] : relays, Postfix and spillway
setup() {
    relay_start primary "$PORT_PRIMARY" 127.0.0.1
    relay_start alt1 "$PORT_ALT1" 127.0.0.2
    relay_start alt2 "$PORT_ALT2" 127.0.0.3
    pf_setup "$(sw_main_cf_auto | head -n 1)" "$(sw_main_cf_auto | tail -n 1)"
    sw_config_auto "$@"
    sw_start
    pf_start
}

# wait_decision REGEX TIMEOUT : a decision line appears in spillway's log
wait_decision() {
    wait_for "grep -qE -- '$1' '$E2E_DIR/logs/routed.log'" "$2" ||
        fail "no decision matching: $1"
}

# delivered_all : the queue drains, every message exactly once, none bounced
delivered_all() {
    pf_wait_empty "${1:-90}" || fail "queue did not drain"
    assert_exactly_once || fail "exactly-once check failed"
    expect_eq "bounced" "$(pf_bounced_count)" 0
}

# report_check SCOPE : scripts/spillway-report on this run's logs (Postfix's
# maillog and spillway-routed's log) has the divert and the return of SCOPE,
# a time diverted between those two lines' times, and per relay as many
# delivered messages as the relays themselves received, none bounced.
report_check() {
    local scope=$1 out="$E2E_DIR/report.txt" json="$E2E_DIR/report.json" opts=() t0 t1 secs
    local rlog="$E2E_DIR/logs/routed.log" name relay got want
    # Relays are named from spillway-routed's config: lines; without them
    # (an older spillway-routed), by --relay.
    grep -q 'spillway-routed\[[0-9]*\]: config: relay=' "$rlog" ||
        opts=(--relay "primary=127.0.0.1:$PORT_PRIMARY" --relay "alt-eu=127.0.0.2:$PORT_ALT1"
              --relay "alt-us=127.0.0.3:$PORT_ALT2")
    "$SW_TOP_SRC/scripts/spillway-report" "${opts[@]}" "$PF_LOG" "$rlog" >"$out" ||
        fail "spillway-report failed"
    "$SW_TOP_SRC/scripts/spillway-report" --json "${opts[@]}" "$PF_LOG" "$rlog" >"$json" ||
        fail "spillway-report --json failed"
    log "spillway-report:"$'\n'"$(cat "$out")"
    grep -qE "^  [0-9-]{10} [0-9:]{8}  divert   $scope primary -> alt-eu rule=" "$out" ||
        fail "the report's timeline has no divert of $scope"
    grep -qE "^  [0-9-]{10} [0-9:]{8}  return   $scope alt-eu -> primary " "$out" ||
        fail "the report's timeline has no return of $scope"
    # Time diverted: from the first divert line to the return line.
    t0=$(date -d "$(grep -m1 " divert: scope=$scope " "$rlog" | cut -d' ' -f1)" +%s)
    t1=$(date -d "$(grep -m1 " return: scope=$scope " "$rlog" | cut -d' ' -f1)" +%s)
    secs=$(grep -o "\"scope\":\"$scope\",\"seconds_diverted\":[0-9]*" "$json" | grep -o '[0-9]*$')
    [[ -n $secs ]] && ((secs > 0 && secs >= t1 - t0 - 1 && secs <= t1 - t0 + 1)) ||
        fail "time diverted ${secs:-?}s, want $((t1 - t0))s (divert to return)"
    # Messages per relay: the report's delivered count = the relay's own count.
    for relay in primary:primary alt-eu:alt1 alt-us:alt2; do
        name=${relay%%:*}
        want=$(relay_count "${relay#*:}")
        got=$(awk -v n="$name" '$1 == n && $3 ~ /^[0-9]+$/ { print $3 }' \
            <(sed -n '/^Messages per relay/,/^  total/p' "$out"))
        expect_eq "report: delivered through $name" "${got:-0}" "$want"
    done
    grep -qE '^  total +[0-9]+ +[0-9]+ +0$' "$out" || fail "the report counts bounces"
}

case $scenario in
reputation)
    setup "$DEST_RULE"
    relay_rules primary "fo.example $BLOCK"
    send_mail a@fo.example 5 blocked
    send_mail a@ok.example 5 fine
    wait_decision 'divert: scope=destination:fo.example pool=m365 from=primary to=alt-eu rule=pool-reputation events=3/10m ratio=1.00 hold=30m evidence=log:3 first="host 127.0.0.1\[127.0.0.1\] said: 550 5.7.606 Access denied' 30
    delivered_all
    expect_eq "alt-eu got every fo.example message" "$(relay_count alt1)" 5
    expect_eq "primary kept ok.example" "$(relay_count primary)" 5
    (($(pf_log_count 'dsn=4.7.606, status=deferred \(host 127.0.0.1\[127.0.0.1\] said: 550 5.7.606') >= 3)) ||
        fail "dsn-filter.pcre did not keep the 550s queued"
    expect_eq "one divert decision" "$(sw_decisions divert)" 1
    swctl explain a@fo.example | grep -q '^  [0-9T:Z-]* log relay=primary rcpt=<a@fo.example> id=[0-9A-F]* dsn=4.7.606 class=reputation pattern=' ||
        fail "explain shows no evidence: $(swctl explain a@fo.example)"
    swctl history | grep -q 'divert: scope=destination:fo.example' || fail "history"
    # The rendered filters, as Postfix itself applies them.
    q() { postmap -c "$PF_ETC" -q "$1" "pcre:$SW_DIR/render/$2" || true; }
    expect_eq "dsn filter: the primary's 550" \
        "$(q '5.7.606 host 127.0.0.1[127.0.0.1] said: 550 5.7.606 Access denied, banned sending IP [40.107.1.2]' dsn-filter.pcre)" \
        "4.7.606 host 127.0.0.1[127.0.0.1] said: 550 5.7.606 Access denied, banned sending IP [40.107.1.2]"
    expect_eq "dsn filter: an alternate's 550 is left alone" \
        "$(q '5.7.606 host 127.0.0.2[127.0.0.2] said: 550 5.7.606 Access denied, banned sending IP [40.107.1.2]' dsn-filter.pcre)" ""
    spam='5.7.1 host 127.0.0.1[127.0.0.1] said: 550 5.7.1 Message rejected as spam'
    [[ $(q "$spam" dsn-filter.pcre) == "$spam" || -z $(q "$spam" dsn-filter.pcre) ]] ||
        fail "dsn filter changed a spam verdict: $(q "$spam" dsn-filter.pcre)"
    expect_eq "dsn filter: a spam verdict naming a blocklist keeps its 5xx" \
        "$(q '5.7.1 host 127.0.0.1[127.0.0.1] said: 550 5.7.1 Message looks like spam; client blocked using zen.spamhaus.org' dsn-filter.pcre | cut -c1-6)" \
        "5.7.1 "
    expect_eq "reply filter" "$(q '550 5.7.606 Access denied, banned sending IP [40.107.1.2]' reply-filter.pcre)" \
        "450 4.7.606 Access denied, banned sending IP [40.107.1.2]"
    expect_eq "reply filter without an enhanced code" \
        "$(q '554 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org' reply-filter.pcre)" \
        "454 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"
    ;;
content)
    setup "$DEST_RULE"
    relay_rules primary "spam.example 550 5.7.1 Message rejected as spam by Content Filtering."
    send_mail a@spam.example 4 spam
    wait_for "(( \$(pf_log_count 'to=<a@spam.example>.*status=bounced') >= 4 ))" 30 ||
        fail "spam verdicts did not bounce"
    sleep 1
    expect_eq "no diversion" "$(sw_decisions divert)" 0
    swctl status | grep -q '^scopes off the primary route: 0$' || fail "a scope was diverted"
    expect_eq "alt-eu untouched" "$(relay_count alt1)" 0
    ;;
throttle)
    setup '{ name = "pool-throttle"; classes = ["throttle"]; scope = "pool";
             threshold = { events = 4; window = "5m"; }; hold = "30m"; }'
    relay_rules primary "* 421 4.7.0 Too many concurrent connections from this IP, try again later"
    send_mail a@one.example 3 one
    send_mail a@two.example 3 two
    wait_decision 'divert: scope=pool:m365 pool=m365 from=primary to=alt-eu rule=pool-throttle events=[4-6]/5m' 40
    delivered_all
    expect_eq "alt-eu got everything" "$(relay_count alt1)" 6
    expect_eq "primary got nothing" "$(relay_count primary)" 0
    ;;
recovery)
    setup '{ name = "pool-reputation"; classes = ["reputation"]; scope = "destination";
             threshold = { events = 2; window = "10m"; }; hold = "6s"; hold_max = "1m";
             recover = { share = 0.5; successes = 2; }; }'
    relay_rules primary "fo.example $BLOCK"
    send_mail a@fo.example 2 first
    wait_decision 'divert: scope=destination:fo.example .* hold=6s' 30
    wait_decision 'probe: scope=destination:fo.example .*share=0.5' 40
    # Still refusing while probing: the primary's share meets a 550 again.
    i=0
    until grep -qE 'divert: .*hold=12s .*reason="relapse while probing"' "$E2E_DIR/logs/routed.log"; do
        ((++i <= 10)) || fail "no relapse while probing"
        send_mail "r$i@fo.example" 1 relapse
        sleep 1.5
    done
    relay_rules primary ""
    wait_decision 'probe: scope=destination:fo.example .*hold=12s' 60
    i=0
    until grep -qE 'return: scope=destination:fo.example .*from=alt-eu to=primary' "$E2E_DIR/logs/routed.log"; do
        ((++i <= 20)) || fail "no return to the primary"
        send_mail "p$i@fo.example" 1 probe
        sleep 1
    done
    send_mail after@fo.example 2 after
    delivered_all
    (($(relay_msgids primary | grep -c '^<after-') == 2)) || fail "mail after the return did not go to the primary"
    report_check destination:fo.example
    ;;
residency)
    setup "$DEST_RULE"
    relay_rules primary "x.gov.uk $BLOCK"
    send_mail a@x.gov.uk 4 uk
    wait_for "grep -q 'warning: stay: scope=destination:x.gov.uk' '$E2E_DIR/logs/routed.log'" 30 ||
        fail "no warning that nothing is eligible"
    grep -q 'stay: .*reason="no eligible alternate: relay alt-eu is outside the jurisdictions allowed for the destination; relay alt-us is outside' \
        "$E2E_DIR/logs/routed.log" || fail "the warning does not say why"
    send_mail b@x.gov.uk 2 uk2
    sleep 3
    expect_eq "one warning per episode" "$(sw_decisions stay)" 1
    expect_eq "no diversion" "$(sw_decisions divert)" 0
    expect_eq "alternates untouched" "$(($(relay_count alt1) + $(relay_count alt2)))" 0
    expect_eq "bounced" "$(pf_bounced_count)" 0
    expect_eq "deferred in the queue" "$(pf_queue_count)" 6
    ;;
budget)
    setup '{ name = "pool-reputation"; classes = ["reputation"]; scope = "destination";
             threshold = { events = 2; window = "10m"; }; hold = "30m"; }' \
        'max_per_hour = 3;' 'enabled = false;'
    relay_rules primary "fo.example $BLOCK"
    send_mail a@fo.example 2 first
    wait_decision 'divert: scope=destination:fo.example' 30
    wait_for "(( \$(relay_count alt1) == 2 ))" 60 || fail "the first two did not reach alt-eu"
    for i in 1 2 3 4 5 6; do
        send_mail "n$i@fo.example" 1 "later$i"
        wait_for "(( \$(pf_log_count 'to=<n$i@fo.example>.*status=(sent|deferred)') >= 1 ))" 30 ||
            fail "message $i had no outcome"
        sleep 0.5
    done
    expect_eq "alt-eu took its budget" "$(relay_count alt1)" 3
    expect_eq "the rest waits on the primary" "$(pf_queue_count)" 5
    expect_eq "bounced" "$(pf_bounced_count)" 0
    swctl explain x@fo.example | grep -q 'hourly budget' || fail "explain does not name the budget"
    ;;
*)
    fail "unknown scenario $scenario"
    ;;
esac
sw_stop
log "scenario $scenario: ok"
