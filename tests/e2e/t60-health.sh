#!/bin/bash
# t60-health.sh - relay health: DNS, SMTP/STARTTLS probes, DNSBL (issue 5)
#
# spillway-routed against a real DNS server and real relays on loopback,
# no Postfix needed (the tables are still rendered with postmap):
#   resolve   names with several addresses, an MX name, NXDOMAIN, SERVFAIL,
#             a zone that never answers
#   probe     STARTTLS verified against the relay's name: valid, wrong
#             name, expired, no STARTTLS, hangs after EHLO, closes after
#             the banner; every verdict with its reason in status
#   dnsbl     a listed alternate is not eligible (a diversion skips it, an
#             operator cannot pin to it) until it is delisted;
#             127.255.255.254 is a resolver error, not a listing; an IP
#             that evidence blamed keeps its scope diverted at the end of
#             the hold while it is listed, and the scope probes again once
#             it is delisted
#   lookups   answered while probes hang (socketmap queried throughout)
set -euo pipefail
E2E_DIR=${E2E_DIR:-$(mktemp -d)}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/health.sh"
. "$(dirname "$0")/sw.sh"
trap e2e_cleanup EXIT

T60_BASE=${T60_BASE:-25600}
DNS_ADDR=127.0.53.60
P=$((T60_BASE + 10)) # one port for every probed relay, one address each
e2e_ports "$T60_BASE"
pf_setup # a main.cf for postmap; Postfix itself is not started

ZONES=$E2E_DIR/zones
zones() {
    dns_zone_set "$ZONES" \
        "ok.test A 5 127.0.0.21" \
        "wrong.test A 5 127.0.0.22" \
        "expired.test A 5 127.0.0.23" \
        "plain.test A 5 127.0.0.24" \
        "hang.test A 5 127.0.0.25" \
        "close.test A 5 127.0.0.26" \
        "mx.test MX 5 10 mx1.mx.test" \
        "mx1.mx.test A 5 127.0.0.27" \
        "multi.test A 5 127.0.0.21" \
        "multi.test A 5 127.0.0.25" \
        "servfail.test SERVFAIL" \
        "drop.test DROP" \
        "21.0.0.127.bl.test A 60 127.255.255.254" \
        "$@"
}
zones "27.0.0.127.bl.test A 60 127.0.0.2" "2.1.107.40.bl.test A 60 127.0.0.4"
dns_start "$ZONES" "$DNS_ADDR"
testca_make ok.test mx1.mx.test
tlsrelay_start ok "$P" 127.0.0.21 ok.test
tlsrelay_start wrong "$P" 127.0.0.22 wrongname
tlsrelay_start expired "$P" 127.0.0.23 expired
tlsrelay_start plain "$P" 127.0.0.24 ok.test no-starttls
tlsrelay_start hang "$P" 127.0.0.25 ok.test hang-after-ehlo
tlsrelay_start close "$P" 127.0.0.26 ok.test close-after-banner
tlsrelay_start mx "$P" 127.0.0.27 mx1.mx.test

TLS="starttls = true; verify = true; ca_file = \"$TESTCA_DIR/ca.crt\";"
PROBE="interval = \"2s\"; timeout = \"1s\"; fall = 1; rise = 1;"
MAILLOG=$E2E_DIR/mail.log
: >"$MAILLOG"
_sw_dirs
{
    # A file this test writes, like a syslog daemon's: forgeable, accepted.
    _sw_routed "maillog = \"syslog:$MAILLOG\"; maillog_trust = \"forgeable\";"
    cat <<CONF
dns = { resolver = "$DNS_ADDR"; timeout = "1s"; min_ttl = "2s"; max_ttl = "10s"; };
dnsbl = { zones = ["bl.test"]; resolver = "$DNS_ADDR"; interval = "2s"; };
classify: { patterns = "$SW_TOP_SRC/conf/patterns.conf"; };
pools = ( { name = "m365"; relays = ["primary"]; egress = ["40.107.0.0/16"]; } );
relays = (
  { name = "primary"; nexthop = "[127.0.0.1]:$PORT_PRIMARY"; role = "primary"; },
  { name = "ok"; nexthop = "[ok.test]:$P"; priority = 10; probe = { $PROBE $TLS }; },
  { name = "wrong"; nexthop = "[wrong.test]:$P"; probe = { $PROBE $TLS }; },
  { name = "expired"; nexthop = "[expired.test]:$P"; probe = { $PROBE $TLS name = "ok.test"; }; },
  { name = "plain"; nexthop = "[plain.test]:$P"; probe = { $PROBE $TLS }; },
  { name = "hang"; nexthop = "[hang.test]:$P"; probe = { $PROBE }; },
  { name = "close"; nexthop = "[close.test]:$P"; probe = { $PROBE }; },
  { name = "mx"; nexthop = "mx.test:$P"; priority = 5; probe = { $PROBE $TLS }; },
  { name = "multi"; nexthop = "[multi.test]:$P"; priority = 20; probe = { $PROBE }; },
  { name = "nx"; nexthop = "[missing.test]:$P"; probe = { $PROBE }; },
  { name = "servfail"; nexthop = "[a.servfail.test]:$P"; probe = { $PROBE }; },
  { name = "drop"; nexthop = "[a.drop.test]:$P"; probe = { $PROBE }; },
  { name = "static"; nexthop = "[127.0.0.28]:$P"; priority = 30; }
);
rules = ( { name = "pool-reputation"; classes = ["reputation"]; scope = "destination";
            threshold = { events = 1; window = "10m"; }; hold = "3s"; hold_max = "1m";
            recover = { share = 0.5; successes = 1; }; } );
CONF
} >"$SW_CONF"
"$SW_ROUTED" -n -c "$SW_CONF" >/dev/null || fail "config does not validate"
sw_start

# health NAME : "STATE UP WHY-OF-FIRST-DOWN LISTED" of a relay, from status --json
health() {
    swctl status --json | "$E2E_PYTHON" -c '
import json, sys
r = [x for x in json.load(sys.stdin)["relays"] if x["name"] == sys.argv[1]][0]["health"]
down = [a["why"] for a in r["addresses"] if a["state"] == "down"] or [r["dns_error"]]
listed = [a["listed"] for a in r["addresses"] if a["listed"]]
print(r["state"], r["up"], "|", down[0], "|", listed[0] if listed else "")' "$1"
}
# want NAME REGEX [TIMEOUT] : wait until health NAME matches
want() {
    local i got
    for ((i = 0; i < ${3:-20} * 4; i++)); do
        got=$(health "$1")
        [[ $got =~ $2 ]] && return 0
        sleep 0.25
    done
    fail "relay $1: health '$got' does not match /$2/"
}

log "probes and DNS"
want ok '^up 1 '
want mx '^up 1 '
want wrong '^down 0 \| TLS: certificate for wrong.test: hostname mismatch'
want expired '^down 0 \| TLS: certificate for ok.test: certificate has expired'
want plain '^down 0 \| EHLO: STARTTLS is not offered'
want hang '^down 0 \| EHLO: timeout after 1s'
want close '^down 0 \| EHLO: connection closed by the server'
want multi '^partial 1 \| EHLO: timeout'
want nx '^down 0 \| NXDOMAIN'
want servfail '^down 0 \| .*SERVFAIL'
want drop '^down 0 \| timeout'
[[ $(health static) == unprobed* ]] || fail "an unprobed relay: $(health static)"
grep -q 'health: relay=ok address=127.0.0.21 state=up was=unknown ms=.* tls=TLSv1' \
    "$E2E_DIR/logs/routed.log" || fail "no health line for relay ok"
# Each change is logged once: the hanging relay fails every 2 s, but its
# address went down once.
sleep 3
expect_eq "one line for hang's change" \
    "$(sw_log_count 'health: relay=hang address=127.0.0.25 state=down')" 1
swctl status | grep -qE '^  multi +partial 1/2' || fail "status shows no partial relay"
# A partial alternate is answered by its up addresses, with TLS policy
# entries that verify the relay's name.
swctl divert --pool m365 --to multi --for 1h --reason "t60 partial" >/dev/null
got=$("$E2E_PYTHON" "$E2E_LIB_DIR/sockmap-client.py" "inet:127.0.0.1:$PORT_SOCKMAP" "transport u@dest.example")
expect_eq "partial relay answer" "$got" "OK smtp:[127.0.0.21]:$P"
swctl release --pool m365 >/dev/null
sw_wait_table_lacks '*' 10 || fail "the table still diverts"
got=$(postmap -c "$PF_ETC" -q "[127.0.0.27]:$P" "lmdb:$SW_DIR/render/tls-policy") ||
    fail "no TLS policy entry for the MX relay's address"
expect_eq "TLS policy" "$got" "secure match=mx1.mx.test servername=mx1.mx.test"

log "DNSBL: a listed alternate"
want mx '^up 1 \| .* \| 127.0.0.27 listed in bl.test \(127.0.0.2\)'
grep -q 'dnsbl: ip=127.0.0.21 zone=bl.test state=error why="answer 127.255.255.254 is a resolver error, not a listing"' \
    "$E2E_DIR/logs/routed.log" || fail "127.255.255.254 not logged as a resolver error"
[[ $(health ok) != *listed* ]] || fail "127.255.255.254 made a listing"
out=$(swctl divert a.example --to mx --for 1h --reason t60 2>&1) && fail "pinned to a listed relay"
[[ $out == *"has an address listed in a DNSBL"* ]] || fail "refusal does not say why: $out"
swctl divert b.example --for 1h --reason t60 >/dev/null
swctl status | grep -qE 'destination:b.example +pinned +-> ok ' ||
    fail "the diversion did not skip the listed relay (mx has the best priority)"
zones "2.1.107.40.bl.test A 60 127.0.0.4"
want mx '^up 1 \| .* \| $' 15
grep -q 'dnsbl: ip=127.0.0.27 zone=bl.test state=clean' "$E2E_DIR/logs/routed.log" ||
    fail "no log line for the delisting"
swctl divert c.example --for 1h --reason t60 >/dev/null
swctl status | grep -qE 'destination:c.example +pinned +-> mx ' ||
    fail "the delisted relay is not chosen again"

log "DNSBL: a blamed egress IP holds its scope"
printf '%s\n' "$(date '+%b %e %H:%M:%S') mta postfix/smtp[23210]: 2FA7EA766CA: to=<u@fo.example>, relay=127.0.0.1[127.0.0.1]:$PORT_PRIMARY, delay=0.01, delays=0/0/0/0.01, dsn=5.7.606, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.7.606 Access denied, banned sending IP [40.107.1.2] (in reply to RCPT TO command))" >>"$MAILLOG"
wait_for "grep -q 'divert: scope=destination:fo.example' '$E2E_DIR/logs/routed.log'" 15 ||
    fail "no diversion from the log line"
wait_for "grep -q 'dnsbl: ip=40.107.1.2 zone=bl.test state=listed code=127.0.0.4' '$E2E_DIR/logs/routed.log'" 15 ||
    fail "the blamed IP was not checked"
wait_for "grep -qE 'hold: scope=destination:fo.example .*40.107.1.2 listed in bl.test \\(127.0.0.4\\)' '$E2E_DIR/logs/routed.log'" 15 ||
    fail "the hold ended although the blamed IP is listed"
swctl explain u@fo.example | grep -q 'dnsbl:    40.107.1.2 listed in bl.test (127.0.0.4): corroborates' ||
    fail "explain does not show the listing"
[[ $(sw_log_count 'probe: scope=destination:fo.example') == 0 ]] || fail "probing while listed"
zones
wait_for "grep -q 'probe: scope=destination:fo.example' '$E2E_DIR/logs/routed.log'" 20 ||
    fail "no probing after the delisting"

log "lookups answered while probes hang"
n=$("$E2E_PYTHON" - "$PORT_SOCKMAP" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
worst, n, end = 0.0, 0, time.time() + 3
while time.time() < end and n < 20000:
    q = b"transport u%d@x.example" % n
    t = time.perf_counter()
    s.sendall(b"%d:%s," % (len(q), q))
    buf = b""
    while not buf.endswith(b","):
        buf += s.recv(4096)
    worst = max(worst, time.perf_counter() - t)
    n += 1
print(n, round(worst * 1000, 1))
PY
)
log "lookups during probes: ${n% *} answered, slowest ${n#* } ms"
((${n% *} > 100)) || fail "too few lookups answered while probes hang"
log "t60-health: ok"
