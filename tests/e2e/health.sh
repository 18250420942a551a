# shellcheck shell=bash
# tests/e2e/health.sh - rig for the relay health-probe tests: a test DNS
# server, a test CA, and test relays that speak STARTTLS or misbehave.
#
# Sourced AFTER lib.sh (it uses e2e_spawn, e2e_kill, relay_start, fail, log):
#   E2E_DIR=$(mktemp -d); . tests/e2e/lib.sh; . tests/e2e/health.sh
#   trap e2e_cleanup EXIT
#   dns_zone_set "$E2E_DIR/zones" "relay1.test A 30 127.0.0.21"
#   dns_start "$E2E_DIR/zones"
#   testca_make relay1.test
#   tlsrelay_start r1 25121 127.0.0.21 relay1.test
#   ... probe ...; relay_connections r1; dns_query_count relay1.test A
#
# Files, besides lib.sh's:
#   $E2E_DIR/dns.querylog          one line per query the DNS server got:
#                                  "EPOCH NAME TYPE RCODE" (see dnsserver.py)
#   $E2E_DIR/logs/dns.log          the DNS server's stderr (bad zone lines...)
#   $E2E_DIR/ca/                   testca.sh's CA and certificates
#   $E2E_DIR/relays/NAME/NAME.connlog  one line per connection: "EPOCH IP:PORT"
#
# API (see each function's comment):
#   dns_start ZONEFILE [ADDR] [PORT]   start dnsserver.py (127.0.53.53:53)
#   dns_stop                           stop it
#   dns_zone_set ZONEFILE LINE...      replace the zones file atomically
#   dns_query_count NAME [TYPE]        queries for NAME (and TYPE) so far
#   testca_make NAME...                CA + certificates in $E2E_DIR/ca; sets TESTCA_DIR
#   tlsrelay_start NAME PORT ADDR CERTNAME [MODE]   smtprelay.py with STARTTLS
#   relay_connections NAME             connections the relay has accepted
#
# Only loopback addresses (127.0.0.0/8) are used; dnsserver.py and
# smtprelay.py refuse anything else.

declare -F e2e_spawn >/dev/null || {
    echo "health.sh: source lib.sh first" >&2
    return 1
}

DNS_QUERYLOG="$E2E_DIR/dns.querylog"

# dns_start ZONEFILE [ADDR] [PORT] : start dnsserver.py on ADDR:PORT (UDP and
# TCP; default 127.0.53.53:53, needs root for port 53) serving ZONEFILE (which
# may be created or changed later), and wait until it answers a query over UDP
# and TCP.  One DNS server per test: a running one is stopped first.  The
# readiness probes are CH-class queries, which the query log leaves out.
dns_start() {
    local zones=$1 addr=${2:-127.0.53.53} port=${3:-53} i pid
    [[ -n $zones ]] || fail "dns_start: no zones file"
    [[ $zones == /* ]] || zones="$PWD/$zones"
    _e2e_init
    e2e_kill dns
    : >"$E2E_DIR/logs/dns.log"
    e2e_spawn dns "$E2E_PYTHON" "$E2E_LIB_DIR/dnsserver.py" --addr "$addr" --port "$port" \
        --zones "$zones" --querylog "$DNS_QUERYLOG" --pidfile "$E2E_DIR/pids/dns.pid"
    pid=$(cat "$E2E_DIR/pids/dns.pid")
    # The server names its pid in the answer: another server that already
    # holds ADDR:PORT cannot pass for ours.
    for ((i = 0; i < 50; i++)); do
        if _dns_ready "$addr" "$port" "$pid"; then
            log "dns server on $addr:$port (pid $pid)"
            return 0
        fi
        _pid_alive "$pid" || break
        sleep 0.2
    done
    cat "$E2E_DIR/logs/dns.log" >&2
    fail "dns server did not start on $addr:$port"
}

# _dns_ready ADDR PORT PID : does dnsserver.py PID answer over UDP and TCP?
_dns_ready() {
    "$E2E_PYTHON" - "$@" <<'PY' 2>/dev/null
import sys
from dnslib import DNSRecord
addr, port, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
want = f"dnsserver.py {pid}".encode()
for tcp in (False, True):
    q = DNSRecord.question("id.server", "TXT", "CH")
    a = DNSRecord.parse(q.send(addr, port, tcp=tcp, timeout=0.5))
    if not any(rr.rdata.data == [want] for rr in a.rr):
        sys.exit(1)
PY
}

# dns_stop : stop the DNS server (a test of "DNS down" can dns_start again)
dns_stop() { e2e_kill dns; }

# dns_zone_set ZONEFILE LINE... : replace ZONEFILE with the given lines (each
# argument one or more lines; "" adds nothing), written to a temporary file
# and renamed, so dnsserver.py never reads half a file and sees the change on
# its next query (new inode).
dns_zone_set() {
    local zones=$1 line
    shift
    mkdir -p "$(dirname "$zones")"
    : >"$zones.tmp.$$"
    for line in "$@"; do
        [[ -n $line ]] && printf '%s\n' "$line" >>"$zones.tmp.$$"
    done
    mv -f "$zones.tmp.$$" "$zones"
}

# dns_query_count NAME [TYPE] : number of queries logged for NAME (any case,
# trailing dot optional) and, if given, TYPE (A, AAAA, MX, TXT...), whatever
# the answer (DROP included)
dns_query_count() {
    local name=${1,,} type=${2:-}
    name=${name%.}
    [[ -f $DNS_QUERYLOG ]] || { echo 0; return 0; }
    awk -v n="$name" -v t="${type^^}" '$2 == n && (t == "" || $3 == t) {c++} END {print c + 0}' \
        "$DNS_QUERYLOG"
}

# testca_make NAME... : run testca.sh into $E2E_DIR/ca (CA, NAME.crt/.key for
# each NAME, wrongname, expired and selfsigned for the first NAME) and set
# TESTCA_DIR.  Reuses what is already there and still fits.
testca_make() {
    (($# >= 1)) || fail "testca_make: no name"
    _e2e_init
    bash "$E2E_LIB_DIR/testca.sh" "$E2E_DIR/ca" "$@" || fail "testca.sh failed"
    TESTCA_DIR="$E2E_DIR/ca"
}

# tlsrelay_start NAME PORT ADDR CERTNAME [MODE] : relay_start NAME PORT ADDR
# with STARTTLS using $TESTCA_DIR/CERTNAME.crt/.key (CERTNAME: a NAME given to
# testca_make, or wrongname, expired, selfsigned) and smtprelay.py's --mode
# MODE (normal, no-starttls, hang-after-ehlo, close-after-banner, hang-banner,
# hang-after-starttls; default normal).  Rules, spool and counts as for any relay.
tlsrelay_start() {
    local name=$1 port=$2 addr=$3 cert=$4 mode=${5:-normal}
    [[ -n ${TESTCA_DIR:-} ]] || fail "tlsrelay_start: run testca_make first"
    [[ -f $TESTCA_DIR/$cert.crt && -f $TESTCA_DIR/$cert.key ]] ||
        fail "tlsrelay_start: no certificate $TESTCA_DIR/$cert.crt"
    relay_start "$name" "$port" "$addr" --tls-cert "$TESTCA_DIR/$cert.crt" \
        --tls-key "$TESTCA_DIR/$cert.key" --mode "$mode"
}

# relay_connections NAME : number of connections the relay has accepted
# (lines in $E2E_DIR/relays/NAME/NAME.connlog), in every mode
relay_connections() {
    local f="$E2E_DIR/relays/$1/$1.connlog"
    [[ -f $f ]] || { echo 0; return 0; }
    wc -l <"$f"
}
