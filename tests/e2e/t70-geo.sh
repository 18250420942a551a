#!/bin/bash
# tests/e2e/t70-geo.sh - relay health with a real Postfix: the geo pool
# (DESIGN.md 1: "A provider's geo-DNS handed one site a regional endpoint
# pool that failed while another regional pool worked").
#
# The administrator's static route is `relayhost = [relay.geo.test]:PORT`;
# a DNS server on loopback gives relay.geo.test four addresses, of which
# two (127.0.0.11, .12) answer every RCPT with a 4xx.  Postfix resolves the
# name through that same DNS server: in its chroot, $PF_SPOOL/etc/resolv.conf
# names that server (127.0.53.70).  spillway-routed resolves the name with
# c-ares, probes each address (STARTTLS, certificate verified against
# relay.geo.test, MAIL/RCPT/RSET) and, the primary being partial, answers
# every lookup with the two up addresses and renders a TLS policy that keeps
# Postfix verifying the relay's name on those pinned addresses.
#   1. partial: status/explain/socketmap/tls-policy say so; 40 messages go
#      to .13/.14 only, first time, over verified TLS; .11/.12 see probes only
#   2. recovery: the regional endpoints heal, geo is up 4/4, answers are
#      NOTFOUND again and Postfix's own relayhost (via DNS) carries the mail
#   3. the DNS answer changes (a fifth, broken address; then .11 leaves it):
#      spillway follows it after the TTL and keeps mail off the new bad
#      endpoint and off the one that left
# Nothing bounces, nothing is deferred while spillway pins.  Run as root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "t70-geo: must run as root" >&2; exit 1; }
start=$SECONDS
# A name of our own, as t50 does (not a bare mktemp -d /tmp/tmp.XXXXXX).
E2E_DIR=${E2E_DIR:-$(mktemp -d /tmp/spillway-e2e-t70.XXXXXX)}
PF_CHROOT=${PF_CHROOT:-y}
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
# shellcheck source=health.sh
. "$HERE/health.sh"
trap e2e_cleanup EXIT
e2e_ports "${T70_BASE:-25700}"
[[ $PF_CHROOT == y ]] || fail "t70-geo needs PF_CHROOT=y (Postfix's resolv.conf lives in the chroot)"

GEO=relay.geo.test
P=$PORT_PRIMARY            # every geo endpoint listens on 127.0.0.1x:P
ZONES=$E2E_DIR/zones
REGIONAL_DOWN="* 451 4.3.0 Regional endpoint unavailable, try another"
SOCKMAP=inet:127.0.0.1:$PORT_SOCKMAP
DNS_ADDR=127.0.53.70       # a DNS server address of its own (t60 uses 127.0.53.60)
log "ports $PORT_SMTPD-$PORT_SOCKMAP, geo endpoints on port $P"

# --------------------------------------------------------------- helpers

# zone ADDR... : relay.geo.test's A records (TTL 5 s)
zone() {
    local a lines=()
    for a in "$@"; do lines+=("$GEO A 5 $a"); done
    dns_zone_set "$ZONES" "${lines[@]}"
}

# geo_state : "STATE UP IP=STATE ..." (addresses sorted) from status --json
geo_state() {
    swctl status --json | "$E2E_PYTHON" -c '
import json, sys
for r in json.load(sys.stdin)["relays"]:
    if r["name"] == "geo":
        h = r["health"]
        a = sorted(x["ip"] + "=" + x["state"] for x in h["addresses"])
        print(h["state"], h["up"], *a)
'
}

# wait_geo WANT TIMEOUT
wait_geo() {
    wait_for "[[ \$(geo_state) == '$1' ]]" "$2" ||
        fail "geo never became '$1' within $2 s; now: $(geo_state 2>&1)"
    log "geo: $1"
}

# ask RCPT : spillway's socketmap answer for RCPT, as Postfix gets it
ask() { "$E2E_PYTHON" "$HERE/sockmap-client.py" "$SOCKMAP" "transport $1"; }

# pinned_set RCPT : the addresses of an "OK smtp:[a]:p,[b]:p" answer, sorted
# one a line ("NOT-PINNED: ANSWER" for anything else)
pinned_set() {
    local ans
    ans=$(ask "$1")
    if [[ $ans =~ ^OK\ smtp:(\[[0-9.]+\]:[0-9]+)(,\[[0-9.]+\]:[0-9]+)*$ ]]; then
        tr ',' '\n' <<<"${ans#OK smtp:}" | sort
    else
        echo "NOT-PINNED: $ans"
    fi
}

# expect_pinned RCPT ADDR... : the answer names exactly [ADDR]:P
expect_pinned() {
    local rcpt=$1 a want
    shift
    want=$(for a in "$@"; do echo "[$a]:$P"; done | sort)
    expect_eq "socketmap answer for $rcpt" "$(pinned_set "$rcpt" | paste -sd' ')" \
        "$(paste -sd' ' <<<"$want")"
}

# tls_policy ADDR : the rendered policy for [ADDR]:P, as Postfix looks it up
tls_policy() { postmap -c "$PF_ETC" -q "[$1]:$P" "lmdb:$SW_DIR/render/tls-policy" || true; }

# foreign_rcpts RELAY : RCPT log lines of RELAY that were not the probe's
foreign_rcpts() {
    local f="$E2E_DIR/relays/$1/$1.rcptlog"
    [[ -f $f ]] || return 0
    grep -v ' geo-check\.test$' "$f" || true
}

# probe_rcpts RELAY : RCPT log lines of the probe (domain geo-check.test)
probe_rcpts() {
    local f="$E2E_DIR/relays/$1/$1.rcptlog"
    [[ -f $f ]] || { echo 0; return 0; }
    grep -c ' geo-check\.test$' "$f" || true
}

# sent_via REGEX : status=sent lines whose relay= matches REGEX
sent_via() { pf_log_count "relay=$1, .*status=sent"; }

# drain WHAT : queue empty, every message exactly once, nothing bounced
drain() {
    pf_wait_empty "${2:-60}" || fail "$1: the queue did not drain"
    assert_exactly_once || fail "$1: exactly-once check failed"
    expect_eq "$1: bounced" "$(pf_bounced_count)" 0
}

# --------------------------------------------------------------- set-up
log "set-up: DNS, CA, relays"
zone 127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14
dns_start "$ZONES" "$DNS_ADDR"
testca_make "$GEO"
# The failing regional pool refuses every recipient, the probe's included;
# geo15 joins the DNS answer only in phase 3.
for n in 11 12 15; do relay_rules "geo$n" "$REGIONAL_DOWN"; done
for n in 11 12 13 14 15; do tlsrelay_start "geo$n" "$P" "127.0.0.$n" "$GEO"; done
relay_start alt "$PORT_ALT1" 127.0.0.2

pf_setup "relayhost = [$GEO]:$P" \
    "smtp_dns_support_level = enabled" \
    "smtp_host_lookup = dns" \
    "smtp_tls_security_level = may" \
    "smtp_tls_CAfile = $TESTCA_DIR/ca.crt" \
    "$(sw_main_cf tls-policy)" \
    "smtp_tls_loglevel = 1" \
    "$(sw_main_cf socketmap)"
pf_master_add "tlsmgr    unix  -       -       y       1000?   1       tlsmgr"
# Postfix's chrooted smtp resolves relay.geo.test through our DNS server.
echo "nameserver $DNS_ADDR" >"$PF_SPOOL/etc/resolv.conf"
chmod 644 "$PF_SPOOL/etc/resolv.conf"

_sw_dirs
{
    echo "# spillway.conf for t70-geo (generated)"
    _sw_routed ""
    # backoff_max: a down address is probed again within 4 s (not after
    # minutes of doubling), so the recovery phase stays short.
    cat <<CONF
dns = { resolver = "$DNS_ADDR:53"; timeout = "1s"; min_ttl = "2s"; max_ttl = "30s"; };
relays = (
  { name = "geo"; nexthop = "[$GEO]:$P"; role = "primary";
    probe = { interval = "2s"; timeout = "1s"; backoff_max = "4s"; starttls = true; verify = true;
              ca_file = "$TESTCA_DIR/ca.crt"; rcpt = "probe@geo-check.test"; fall = 2; rise = 2; }; },
  { name = "alt"; nexthop = "[127.0.0.2]:$PORT_ALT1"; priority = 10; }
);
pools = ( { name = "geo"; relays = ["geo"]; } );
CONF
} >"$SW_CONF"
"$SW_ROUTED" -n -c "$SW_CONF" >/dev/null || fail "spillway.conf does not validate"
sw_start
pf_start
[[ $(cat "$PF_SPOOL/etc/resolv.conf") == "nameserver $DNS_ADDR" ]] ||
    fail "postfix start replaced the chroot's resolv.conf"

# --------------------------------------------------------------- 1. partial
log "1. partial: two of four regional endpoints refuse every recipient"
PARTIAL="partial 2 127.0.0.11=down 127.0.0.12=down 127.0.0.13=up 127.0.0.14=up"
wait_geo "$PARTIAL" 30
grep -qE "dns: relay=geo name=$GEO addresses=127\.0\.0\.11,127\.0\.0\.12,127\.0\.0\.13,127\.0\.0\.14 " \
    "$E2E_DIR/logs/routed.log" || fail "no dns: line with the four addresses"
for n in 11 12; do
    grep -qE "health: relay=geo address=127\.0\.0\.$n state=down .*probe=\"RCPT: 451 4\.3\.0 Regional endpoint unavailable" \
        "$E2E_DIR/logs/routed.log" || fail "no health: line saying why 127.0.0.$n is down"
done
grep -qE 'relay: name=geo role=primary state=partial .*answers=up-addresses' "$E2E_DIR/logs/routed.log" ||
    fail "no relay: line for the partial state"
swctl status --json | "$E2E_PYTHON" -c '
import json, sys
h = next(r for r in json.load(sys.stdin)["relays"] if r["name"] == "geo")["health"]
for a in h["addresses"]:
    if a["ip"] in ("127.0.0.13", "127.0.0.14"):
        assert a["state"] == "up" and a["tls"].startswith("TLS"), a
    else:
        assert a["state"] == "down" and a["why"].startswith("RCPT: 451 4.3.0"), a
' || fail "status --json: addresses without TLS or without the reason: $(swctl status --json)"
expect_pinned user@dest.example 127.0.0.13 127.0.0.14
expect_pinned someone@elsewhere.example 127.0.0.13 127.0.0.14
swctl explain user@dest.example | grep -qE "^route: +primary relay geo, by its up addresses: OK smtp:\[127\.0\.0\.1[34]\]:$P,\[127\.0\.0\.1[34]\]:$P$" ||
    fail "explain: $(swctl explain user@dest.example)"
# The rendered table (the lmdb wiring) says the same for the pool's "*".
[[ $(postmap -c "$PF_ETC" -q '*' "lmdb:$SW_DIR/render/transport" || true) =~ ^smtp:\[127\.0\.0\.1[34]\]:$P,\[127\.0\.0\.1[34]\]:$P$ ]] ||
    fail "rendered transport table: $(cat "$SW_DIR/render/transport")"
for n in 11 12 13 14; do
    expect_eq "tls-policy for [127.0.0.$n]:$P" "$(tls_policy "127.0.0.$n")" \
        "secure match=$GEO servername=$GEO"
done

defer0=$(pf_log_count 'status=deferred')
for d in d1 d2 d3 d4; do send_mail "u@$d.example" 10 "partial-$d"; done
drain "partial"
expect_eq "deferred while pinned" "$(($(pf_log_count 'status=deferred') - defer0))" 0
expect_eq "the up endpoints hold every message" "$(($(relay_count geo13) + $(relay_count geo14)))" 40
for r in geo11 geo12 geo15 alt; do expect_eq "$r's spool" "$(relay_count "$r")" 0; done
# Postfix alone would try .11/.12 too (its relayhost resolves to all four)
# and, after their 451, fall back to another address or defer: the proof
# that spillway pinned is that the bad endpoints saw the probe and nothing else.
for r in geo11 geo12; do
    [[ -z $(foreign_rcpts "$r") ]] || fail "$r saw recipients other than the probe's: $(foreign_rcpts "$r" | sort | uniq -c)"
    (($(probe_rcpts "$r") >= 1)) || fail "$r was never probed"
done
expect_eq "sent via the pinned addresses" "$(sent_via '127\.0\.0\.1[34]\[127\.0\.0\.1[34]\]:'"$P")" 40
v=$(pf_log_count "Verified TLS connection established to 127\\.0\\.0\\.1[34]\\[127\\.0\\.0\\.1[34]\\]:$P")
((v >= 1)) || fail "Postfix did not verify the relay's name on the pinned addresses"
expect_eq "unverified TLS to the pinned addresses" \
    "$(pf_log_count "(Untrusted|Trusted|Anonymous) TLS connection established to 127\\.0\\.0\\.1[34]\\[")" 0
log "partial: 40 delivered to .13 ($(relay_count geo13)) and .14 ($(relay_count geo14)), $v verified TLS session(s)"

# --------------------------------------------------------------- 2. recovery
log "2. recovery: the regional endpoints heal"
relay_rules geo11 ""
relay_rules geo12 ""
wait_geo "up 4 127.0.0.11=up 127.0.0.12=up 127.0.0.13=up 127.0.0.14=up" 30
wait_for "[[ \$(ask user@dest.example) == NOTFOUND* ]]" 5 ||
    fail "socketmap answer after recovery: $(ask user@dest.example)"
grep -qE 'relay: name=geo role=primary state=up was=partial' "$E2E_DIR/logs/routed.log" ||
    fail "no relay: line for the return to up"
swctl explain user@dest.example | grep -qE '^route: +primary: NOTFOUND' ||
    fail "explain after recovery: $(swctl explain user@dest.example)"
wait_for "! postmap -c '$PF_ETC' -q '*' 'lmdb:$SW_DIR/render/transport'" 5 ||
    fail "rendered transport table still pins: $(cat "$SW_DIR/render/transport")"

via_dns0=$(sent_via "$GEO\\[127\\.0\\.0\\.1[1-4]\\]:$P")
for d in r1 r2; do send_mail "v@$d.example" 10 "recovered-$d"; done
drain "recovery"
# relay=relay.geo.test[127.0.0.1x]: Postfix resolved its relayhost itself,
# through the test DNS server (the chroot's resolv.conf).
expect_eq "sent via relayhost relay.geo.test (Postfix's own DNS lookup)" \
    "$(($(sent_via "$GEO\\[127\\.0\\.0\\.1[1-4]\\]:$P") - via_dns0))" 20
expect_eq "geo15's spool" "$(relay_count geo15)" 0
log "recovery: per endpoint .11 $(relay_count geo11), .12 $(relay_count geo12), .13 $(relay_count geo13), .14 $(relay_count geo14)"

# --------------------------------------------------------------- 3. DNS change
log "3. the DNS answer changes: a fifth endpoint, broken"
zone 127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14 127.0.0.15
wait_for "grep -qE 'dns: relay=geo name=$GEO addresses=127\\.0\\.0\\.11,127\\.0\\.0\\.12,127\\.0\\.0\\.13,127\\.0\\.0\\.14,127\\.0\\.0\\.15 ' '$E2E_DIR/logs/routed.log'" 15 ||
    fail "spillway did not follow the new DNS answer"
wait_geo "partial 4 127.0.0.11=up 127.0.0.12=up 127.0.0.13=up 127.0.0.14=up 127.0.0.15=down" 15
expect_pinned user@dest.example 127.0.0.11 127.0.0.12 127.0.0.13 127.0.0.14
expect_eq "tls-policy for the new address" "$(tls_policy 127.0.0.15)" "secure match=$GEO servername=$GEO"
log "3b. ... and 127.0.0.11 leaves it"
zone 127.0.0.12 127.0.0.13 127.0.0.14 127.0.0.15
wait_for "grep -qE 'dns: relay=geo name=$GEO addresses=127\\.0\\.0\\.12,127\\.0\\.0\\.13,127\\.0\\.0\\.14,127\\.0\\.0\\.15 ' '$E2E_DIR/logs/routed.log'" 15 ||
    fail "spillway did not follow the address leaving the DNS answer"
wait_geo "partial 3 127.0.0.12=up 127.0.0.13=up 127.0.0.14=up 127.0.0.15=down" 15
expect_pinned user@dest.example 127.0.0.12 127.0.0.13 127.0.0.14
wait_for "[[ -z \$(tls_policy 127.0.0.11) ]]" 5 ||
    fail "tls-policy still has the address that left: $(tls_policy 127.0.0.11)"
defer0=$(pf_log_count 'status=deferred')
geo11_before=$(relay_count geo11)
rcpt15_before=$(foreign_rcpts geo15 | wc -l)
send_mail w@n1.example 10 "dnschange"
drain "dns change"
expect_eq "deferred while pinned" "$(($(pf_log_count 'status=deferred') - defer0))" 0
expect_eq "mail to the address that left the DNS answer" "$(($(relay_count geo11) - geo11_before))" 0
expect_eq "geo15's spool" "$(relay_count geo15)" 0
expect_eq "recipients other than the probe's at geo15" "$(($(foreign_rcpts geo15 | wc -l) - rcpt15_before))" 0
(($(probe_rcpts geo15) >= 1)) || fail "geo15 was never probed"

sw_stop
echo "t70-geo: ok ($((SECONDS - start))s)"
