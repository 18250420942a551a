#!/bin/bash
# tests/e2e/t65-dsnfilter.sh - a reputation refusal from the primary stays
# queued and goes to the alternate, with a real Postfix, in the two wirings
# where Postfix names the primary's host differently from its nexthop
# (issue 13):
#
#   partial  the primary is [prim.dsn.test]:P, three addresses in DNS, one
#            failing its probe: spillway answers every lookup with the two up
#            addresses ("OK smtp:[127.0.0.61]:P,[127.0.0.62]:P"), and Postfix
#            logs "host 127.0.0.61[127.0.0.61] said: 550 5.7.606 ..."
#   mx       the primary is the MX-style nexthop dsn.test:P (relayhost, no
#            brackets); its MX host is mx1.relays.dsn.test, and Postfix logs
#            "host mx1.relays.dsn.test[127.0.0.65] said: 550 5.7.606 ..."
#
# In both, the primary answers one destination with "550 5.7.606 Access
# denied, banned sending IP [40.107.1.2]": dsn-filter.pcre must keep each
# such message deferred (not bounced), spillway must count the refusals
# and divert the destination, and every message must then be delivered
# exactly once (the refused ones at the alternate), none bounced.  The
# rendered table is also queried with postmap (Postfix's own pcre code):
# the primary's hosts in any case match, the alternate's 550 does not.
# Postfix resolves through a DNS server on loopback (its chroot's
# resolv.conf), as spillway does.  Run as root.
# Usage: t65-dsnfilter.sh [WIRING...]   (default: partial mx)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
BANNED="550 5.7.606 Access denied, banned sending IP [40.107.1.2]"

if [[ ${1:-} != --pass ]]; then
    [[ $(id -u) == 0 ]] || { echo "t65-dsnfilter: must run as root" >&2; exit 1; }
    start=$SECONDS
    base=${T65_BASE:-26300}
    wirings=("$@")
    ((${#wirings[@]})) || wirings=(partial mx)
    for w in "${wirings[@]}"; do
        PF_CHROOT=y bash "$HERE/t65-dsnfilter.sh" --pass "$w" "$base"
        base=$((base + 10))
    done
    echo "t65-dsnfilter: ok ($((SECONDS - start))s)"
    exit 0
fi

wiring=$2
E2E_DIR=$(mktemp -d "/tmp/spillway-e2e-t65-$wiring.XXXXXX")
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
# shellcheck source=health.sh
. "$HERE/health.sh"
trap e2e_cleanup EXIT
e2e_ports "$3"
P=$PORT_PRIMARY
ALT=127.0.0.64
DNS_ADDR=127.0.53.65 # a DNS server address of its own (t60: .60, t70: .70)
ZONES=$E2E_DIR/zones
log "wiring $wiring, ports $PORT_SMTPD-$PORT_SOCKMAP"

DEST_RULE='{ name = "pool-reputation"; classes = ["reputation"]; scope = "destination";
             threshold = { events = 3; window = "10m"; ratio = 0.2; }; hold = "30m"; hold_max = "8h"; }'

# prim_state : "STATE UP IP=STATE ..." (addresses sorted) of the primary
prim_state() {
    swctl status --json | "$E2E_PYTHON" -c '
import json, sys
for r in json.load(sys.stdin)["relays"]:
    if r["name"] == "primary":
        h = r["health"]
        a = sorted(x["ip"] + "=" + x["state"] for x in h["addresses"])
        print(h["state"], h["up"], *a)
'
}

# filter KEY : dsn-filter.pcre's result for KEY, as Postfix computes it
filter() { postmap -c "$PF_ETC" -q "$1" "pcre:$SW_DIR/render/dsn-filter.pcre" || true; }

# expect_deferred HOST ADDR : the table turns HOST[ADDR]'s 550 into a 4.7.606
expect_deferred() {
    local key="5.7.606 host $1[$2] said: $BANNED (in reply to RCPT TO command)"
    expect_eq "dsn-filter.pcre for $1[$2]" "$(filter "$key")" "4${key#5}"
}

# setup NEXTHOP PROBE MAIN-CF-LINE... : Postfix (resolving through our DNS
# server), spillway with the primary at NEXTHOP, the alternate at $ALT
setup() {
    local nexthop=$1 probe=$2
    shift 2
    relay_start alt "$PORT_ALT1" "$ALT"
    pf_setup "smtp_dns_support_level = enabled" "smtp_host_lookup = dns" \
        "$(sw_main_cf socketmap)" "$(sw_shipped_cf smtp_delivery_status_filter pcre:)" "$@"
    echo "nameserver $DNS_ADDR" >"$PF_SPOOL/etc/resolv.conf"
    chmod 644 "$PF_SPOOL/etc/resolv.conf"
    _sw_dirs
    {
        echo "# spillway.conf for t65-dsnfilter (generated)"
        _sw_routed "maillog = \"postlog:$PF_LOG\"; flush = [\"postqueue\", \"-c\", \"$PF_ETC\", \"-f\"];"
        cat <<CONF
dns = { resolver = "$DNS_ADDR:53"; timeout = "1s"; min_ttl = "2s"; max_ttl = "30s"; };
classify: { patterns = "$SW_TOP_SRC/conf/patterns.conf"; };
relays = (
  { name = "primary"; nexthop = "$nexthop"; role = "primary"; $probe },
  { name = "alt"; nexthop = "[$ALT]:$PORT_ALT1"; priority = 10; }
);
pools = ( { name = "m365"; relays = ["primary"]; } );
rules = ( $DEST_RULE );
CONF
    } >"$SW_CONF"
    "$SW_ROUTED" -n -c "$SW_CONF" >/dev/null || fail "spillway.conf does not validate"
    sw_start
}

# run_mail HOST-REGEX : 3 messages the primary refuses, 2 it takes; the
# refused ones deferred, diverted, delivered once at the alternate.
# HOST-REGEX: "name[addr]" as Postfix logs the primary's hosts.
run_mail() {
    local host=$1 via="$1:$P" deferred
    # Postfix starts only now: its smtp processes read dsn-filter.pcre
    # when they start, and the table already names the resolved hosts.
    pf_start
    send_mail u@blocked.example 3 blocked
    send_mail u@fine.example 2 fine
    wait_for "grep -qE 'divert: scope=destination:blocked.example pool=m365 from=primary to=alt rule=pool-reputation events=3/10m' '$E2E_DIR/logs/routed.log'" 40 ||
        fail "no diversion of blocked.example; bounced so far: $(pf_bounced_count)"
    pf_wait_empty 120 || fail "the queue did not drain"
    assert_exactly_once || fail "exactly-once check failed"
    expect_eq "bounced" "$(pf_bounced_count)" 0
    deferred=$(pf_log_count "to=<u@blocked.example>, relay=$via, .*dsn=4\\.7\\.606, status=deferred \\(host $host said: 550 5\\.7\\.606 Access denied")
    ((deferred >= 3)) || fail "dsn-filter.pcre kept $deferred refusal(s) of the primary queued, want >= 3"
    expect_eq "the alternate got the refused messages" "$(relay_msgids alt | grep -c '^<blocked-')" 3
    expect_eq "the alternate got nothing else" "$(relay_count alt)" 3
    expect_eq "sent to the alternate" "$(pf_log_count "to=<u@blocked.example>, relay=$ALT\\[$ALT\\]:$PORT_ALT1, .*status=sent")" 3
    expect_eq "sent through the primary" "$(pf_log_count "to=<u@fine.example>, relay=$via, .*status=sent")" 2
    expect_eq "one divert decision" "$(sw_decisions divert)" 1
    log "$wiring: $deferred deferral(s) kept queued, 3 delivered at the alternate, 2 through the primary"
}

case $wiring in
partial)
    # Two endpoints up (they refuse blocked.example), one failing its probe.
    dns_zone_set "$ZONES" "prim.dsn.test A 5 127.0.0.61" "prim.dsn.test A 5 127.0.0.62" \
        "prim.dsn.test A 5 127.0.0.63"
    dns_start "$ZONES" "$DNS_ADDR"
    relay_rules p61 "blocked.example $BANNED"
    relay_rules p62 "blocked.example $BANNED"
    relay_rules p63 "* 451 4.3.0 Regional endpoint unavailable, try another"
    for n in 61 62 63; do relay_start "p$n" "$P" "127.0.0.$n"; done
    setup "[prim.dsn.test]:$P" \
        "probe = { interval = \"2s\"; timeout = \"1s\"; backoff_max = \"4s\"; rcpt = \"probe@dsn-check.test\"; fall = 1; rise = 1; };" \
        "relayhost = [prim.dsn.test]:$P"
    want="partial 2 127.0.0.61=up 127.0.0.62=up 127.0.0.63=down"
    wait_for "[[ \$(prim_state) == '$want' ]]" 30 ||
        fail "the primary never became '$want'; now: $(prim_state 2>&1)"
    log "primary: $want"
    ans=$("$E2E_PYTHON" "$HERE/sockmap-client.py" "inet:127.0.0.1:$PORT_SOCKMAP" "transport u@blocked.example")
    [[ $ans =~ ^OK\ smtp:\[127\.0\.0\.6[12]\]:$P,\[127\.0\.0\.6[12]\]:$P$ ]] ||
        fail "the partial primary is not answered by its up addresses: $ans"
    wait_for "[[ \$(filter '5.7.606 host 127.0.0.62[127.0.0.62] said: $BANNED') == 4* ]]" 10 ||
        fail "dsn-filter.pcre does not name the primary's addresses: $(grep -m1 ' host ' "$SW_DIR/render/dsn-filter.pcre")"
    expect_deferred 127.0.0.61 127.0.0.61
    expect_deferred 127.0.0.63 127.0.0.63
    expect_deferred PRIM.dsn.TEST 127.0.0.61
    expect_eq "dsn-filter.pcre for the alternate's 550" \
        "$(filter "5.7.606 host ${ALT}[${ALT}] said: $BANNED")" ""
    run_mail '127\.0\.0\.6[12]\[127\.0\.0\.6[12]\]'
    expect_eq "the primary's endpoints took fine.example" "$(($(relay_count p61) + $(relay_count p62)))" 2
    expect_eq "the endpoint that is down" "$(relay_count p63)" 0
    ;;
mx)
    # relayhost dsn.test:P without brackets: Postfix looks up its MX.
    dns_zone_set "$ZONES" "dsn.test MX 5 10 mx1.relays.dsn.test" \
        "mx1.relays.dsn.test A 5 127.0.0.65"
    dns_start "$ZONES" "$DNS_ADDR"
    relay_rules mx1 "blocked.example $BANNED"
    relay_start mx1 "$P" 127.0.0.65
    setup "dsn.test:$P" "" "relayhost = dsn.test:$P"
    wait_for "grep -qE 'dns: relay=primary name=dsn.test addresses=127\\.0\\.0\\.65 ' '$E2E_DIR/logs/routed.log'" 15 ||
        fail "spillway did not resolve the primary's MX host"
    wait_for "[[ \$(filter '5.7.606 host mx1.relays.dsn.test[127.0.0.65] said: $BANNED') == 4* ]]" 10 ||
        fail "dsn-filter.pcre does not name the MX host: $(grep -m1 ' host ' "$SW_DIR/render/dsn-filter.pcre")"
    grep -q 'render: file=.*dsn-filter.pcre reason=' "$E2E_DIR/logs/routed.log" ||
        fail "no render: line for the rewritten filter"
    expect_deferred mx1.relays.dsn.test 127.0.0.65
    expect_deferred MX1.Relays.DSN.test 127.0.0.65
    expect_deferred dsn.test 127.0.0.65
    expect_eq "dsn-filter.pcre for the alternate's 550" \
        "$(filter "5.7.606 host ${ALT}[${ALT}] said: $BANNED")" ""
    ans=$("$E2E_PYTHON" "$HERE/sockmap-client.py" "inet:127.0.0.1:$PORT_SOCKMAP" "transport u@blocked.example")
    [[ $ans == NOTFOUND* ]] || fail "socketmap answer before any refusal: $ans"
    run_mail 'mx1\.relays\.dsn\.test\[127\.0\.0\.65\]'
    expect_eq "the MX host took fine.example" "$(relay_count mx1)" 2
    ;;
*)
    fail "unknown wiring $wiring"
    ;;
esac
sw_stop
log "wiring $wiring: ok"
