#!/bin/bash
# tests/e2e/t35-metrics.sh - the Prometheus endpoint (routed.metrics),
# scraped while a real Postfix runs an incident: every family is checked
# against what the relays, Postfix's log and spillwayctl say.
#
#   format      a strict parser of the text format: HELP and TYPE before
#               samples, no duplicate series, numbers that parse
#   relays      admin, health and probe timings of a probed alternate, an
#               unprobed one, max_per_hour; disable and a stopped relay
#   incident    the primary refuses one destination with 5.7.606: the
#               diverted scope, evidence by class and source equal to
#               Postfix's deferrals, deliveries per relay equal to the
#               relays' own counts, the budget's use, lookups, decisions
#   cap         routed.metrics_scopes bounds the per-scope series; the
#               rest are counted
#   milter      an evidence datagram counts as source dsn
#   http        404 for other paths, POST refused
# Run as root.  About 30 s.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "t35-metrics: must run as root" >&2; exit 1; }
E2E_DIR=$(mktemp -d /tmp/spillway-e2e-t35.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
trap e2e_cleanup EXIT
start=$SECONDS
e2e_ports 25350
PORT_METRICS=25359
BLOCK="550 5.7.606 Access denied, banned sending IP [40.107.1.2]. To request removal from this list please visit https://sender.office.com/"
RULE='{ name = "pool-reputation"; classes = ["reputation"]; scope = "destination";
        threshold = { events = 3; window = "10m"; ratio = 0.2; }; hold = "30m"; }'

relay_start primary "$PORT_PRIMARY" 127.0.0.1
relay_start alt1 "$PORT_ALT1" 127.0.0.2
relay_start alt2 "$PORT_ALT2" 127.0.0.3
PF_CHROOT=y pf_setup "$(sw_main_cf_auto | head -n 1)" "$(sw_main_cf_auto | tail -n 1)"
sw_config_auto "$RULE" \
    'max_per_hour = 50; probe = { interval = "2s"; timeout = "1s"; fall = 1; rise = 1; };'
# The endpoint is the only difference from t40's configuration.
# metrics_scopes = 2: at most two per-scope series, so the cap is seen.
sed -i "s|^routed: {|routed: {\n    metrics = \"inet:127.0.0.1:$PORT_METRICS\"; metrics_scopes = 2;|" "$SW_CONF"
"$SW_ROUTED" -n -c "$SW_CONF" >/dev/null || fail "config with metrics does not validate"
sw_start
grep -q "metrics: listening endpoint=inet:127.0.0.1:$PORT_METRICS" "$E2E_DIR/logs/routed.log" ||
    fail "no 'metrics: listening' line"
pf_start

SCRAPE=$E2E_DIR/scrape.txt
# scrape : fetch /metrics, validate the format, keep it in $SCRAPE
scrape() {
    "$E2E_PYTHON" - "$PORT_METRICS" >"$SCRAPE" <<'PY' || fail "scrape failed or the exposition is malformed"
import re, sys, urllib.request
r = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5)
ctype = r.headers.get("Content-Type", "")
body = r.read().decode("utf-8")
if not ctype.startswith("text/plain; version=0.0.4"):
    sys.exit(f"content type {ctype!r}")
name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
label_re = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample_re = re.compile(rf"^({name_re})(\{{{label_re}(?:,{label_re})*\}})? (\S+)$")
typed, helped, seen = {}, set(), set()
for n, line in enumerate(body.split("\n")[:-1], 1):
    m = re.match(rf"^# (HELP|TYPE) ({name_re}) (.+)$", line)
    if m:
        kind, name, rest = m.groups()
        if kind == "HELP":
            if name in helped:
                sys.exit(f"line {n}: second HELP for {name}")
            helped.add(name)
        else:
            if rest not in ("counter", "gauge") or name in typed:
                sys.exit(f"line {n}: bad or second TYPE: {line}")
            typed[name] = rest
        continue
    m = sample_re.match(line)
    if not m:
        sys.exit(f"line {n}: not a sample: {line!r}")
    name, labels, value = m.groups()
    if name not in typed or name not in helped:
        sys.exit(f"line {n}: {name} has no HELP/TYPE before its samples")
    if typed[name] == "counter" and not name.endswith("_total"):
        sys.exit(f"line {n}: counter {name} does not end in _total")
    float(value)
    if (name, labels) in seen:
        sys.exit(f"line {n}: duplicate series {name}{labels or ''}")
    seen.add((name, labels))
if not body.endswith("\n"):
    sys.exit("no final newline")
sys.stdout.write(body)
PY
}

# metric 'NAME{LABELS}' : its value in the last scrape (empty if absent)
metric() { awk -v k="$1" '$1 == k { print $2 }' "$SCRAPE"; }

# expect_metric 'NAME{LABELS}' VALUE [TIMEOUT] : scrape until it has VALUE
expect_metric() {
    local key=$1 want=$2 t=${3:-1} i got
    for ((i = 0; i < t * 4; i++)); do
        scrape
        got=$(metric "$key")
        [[ $got == "$want" ]] && return 0
        sleep 0.25
    done
    fail "$key = '${got:-absent}', expected $want"
}

log "format and relays"
scrape
expect_eq "build_info" "$(metric 'spillway_build_info{version="'"$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$SW_TOP_SRC/config.h" 2>/dev/null || echo 0.1.0)"'"}')" 1
for r in primary alt-eu alt-us; do
    expect_eq "$r enabled" "$(metric 'spillway_relay_admin{relay="'$r'",state="enabled"}')" 1
done
expect_metric 'spillway_relay_health{relay="alt-eu",state="up"}' 1 10
expect_eq "alt-us unprobed" "$(metric 'spillway_relay_health{relay="alt-us",state="unprobed"}')" 1
expect_eq "alt-eu address up" "$(metric 'spillway_address_state{relay="alt-eu",address="127.0.0.2",state="up"}')" 1
[[ -n $(metric 'spillway_address_probe_seconds{relay="alt-eu",address="127.0.0.2"}') ]] ||
    fail "no probe duration for alt-eu's address"
[[ -z $(metric 'spillway_address_state{relay="alt-us",address="127.0.0.3",state="unknown"}') ]] ||
    fail "an unprobed relay's address has a probe state"
expect_eq "alt-eu budget" "$(metric 'spillway_relay_max_per_hour{relay="alt-eu"}')" 50
[[ -z $(metric 'spillway_relay_max_per_hour{relay="alt-us"}') ]] || fail "alt-us has no budget"
expect_eq "alt-eu usable" "$(metric 'spillway_relay_usable{relay="alt-eu"}')" 1
expect_eq "no scope yet" "$(metric 'spillway_scopes{state="diverted"}')" 0

log "incident: the primary refuses fo.example"
relay_rules primary "fo.example $BLOCK"
send_mail a@fo.example 5 blocked
send_mail a@ok.example 5 fine
wait_for "grep -q 'divert: scope=destination:fo.example' '$E2E_DIR/logs/routed.log'" 30 ||
    fail "no diversion"
pf_wait_empty 60 || fail "queue did not drain"
assert_exactly_once || fail "exactly-once check failed"
expect_eq "bounced" "$(pf_bounced_count)" 0
# Every deferral Postfix logged for the 5.7.606 text is one piece of
# reputation evidence from the log; the counts must agree exactly.
deferred=$(pf_log_count 'status=deferred .*5\.7\.606')
((deferred >= 3)) || fail "only $deferred deferrals logged"
expect_metric 'spillway_evidence_total{source="log",class="reputation"}' "$deferred" 10
expect_metric 'spillway_delivered_total{relay="alt-eu"}' "$(relay_count alt1)" 10
expect_metric 'spillway_delivered_total{relay="primary"}' "$(relay_count primary)" 10
expect_eq "alt-eu took fo.example's 5" "$(relay_count alt1)" 5
expect_eq "alt-eu budget use" "$(metric 'spillway_relay_sent_last_hour{relay="alt-eu"}')" 5
expect_eq "diverted scope" \
    "$(metric 'spillway_scope_diverted{scope="destination:fo.example",relay="alt-eu",state="diverted"}')" 1
expect_eq "scopes diverted" "$(metric 'spillway_scopes{state="diverted"}')" 1
expect_eq "divert decisions" "$(metric 'spillway_decisions_total{event="divert"}')" 1
[[ -n $(metric 'spillway_scope_diverted_seconds{scope="destination:fo.example"}') ]] ||
    fail "no time diverted for fo.example"
found=$(metric 'spillway_lookups_total{result="found"}')
notfound=$(metric 'spillway_lookups_total{result="notfound"}')
((found > 0 && notfound > 0)) || fail "lookups found=$found notfound=$notfound"
status_lookups=$(swctl status | sed -n 's/.*lookups=\([0-9]*\).*/\1/p' | head -n 1)
[[ -z $status_lookups ]] || ((status_lookups >= found + notfound)) ||
    fail "status says $status_lookups lookups, metrics $((found + notfound))"
lines=$(metric 'spillway_maillog_lines_total{result="outcome"}')
((lines >= 10)) || fail "only $lines outcomes read from the mail log"

log "per-scope series are capped (metrics_scopes = 2)"
expect_eq "nothing omitted yet" "$(metric 'spillway_scope_series_omitted')" 0
for d in x1.example x2.example; do
    swctl divert "$d" --to alt-eu --for 1h --reason "t35 cap" >/dev/null || fail "divert $d"
done
expect_metric 'spillway_scopes{state="pinned"}' 2
expect_eq "scopes diverted" "$(metric 'spillway_scopes{state="diverted"}')" 1
expect_eq "series omitted" "$(metric 'spillway_scope_series_omitted')" 1
expect_eq "scope series" "$(grep -c '^spillway_scope_diverted{' "$SCRAPE")" 2
expect_eq "seconds series" "$(grep -c '^spillway_scope_diverted_seconds{' "$SCRAPE")" 2
swctl release x1.example >/dev/null && swctl release x2.example >/dev/null || fail "release"

log "operator and health changes"
swctl relay disable alt-us >/dev/null
expect_metric 'spillway_relay_admin{relay="alt-us",state="disabled"}' 1
expect_eq "alt-us not usable" "$(metric 'spillway_relay_usable{relay="alt-us"}')" 0
relay_stop alt1
expect_metric 'spillway_relay_health{relay="alt-eu",state="down"}' 1 15
expect_eq "alt-eu address down" "$(metric 'spillway_address_state{relay="alt-eu",address="127.0.0.2",state="down"}')" 1
expect_eq "alt-eu not usable" "$(metric 'spillway_relay_usable{relay="alt-eu"}')" 0

log "milter evidence"
"$E2E_PYTHON" - "$SW_DIR/evidence.sock" <<'PY' || fail "cannot send an evidence datagram"
import socket, sys, time
rec = "\t".join(["v=1", "source=dsn", f"time={int(time.time())}", "pool=m365",
                 "domain=big.example", "rcpt=u@big.example", "id=<t35@test.spillway>",
                 "code=550", "dsn=5.7.606", "class=reputation", "trusted=1", "tag=valid",
                 "text=550 5.7.606 Access denied, banned sending IP [40.107.1.2]"])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(rec.encode(), sys.argv[1])
s.sendto(b"v=1\tgarbage", sys.argv[1])
PY
expect_metric 'spillway_evidence_total{source="dsn",class="reputation"}' 1 5
expect_eq "trusted record" "$(metric 'spillway_milter_records_total{result="trusted"}')" 1
expect_eq "unparsable record" "$(metric 'spillway_milter_records_total{result="unparsable"}')" 1

log "http"
"$E2E_PYTHON" - "$PORT_METRICS" <<'PY' || fail "http checks"
import sys, urllib.error, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
def code(url, data=None):
    try:
        return urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code
got = (code(base + "/nothing"), code(base + "/metrics", data=b"x=1"), code(base + "/"))
if got[0] != 404 or got[1] not in (405, 413, 501) or got[2] != 200:
    sys.exit(f"/nothing, POST /metrics, / gave {got}")
PY
echo "t35-metrics: ok ($((SECONDS - start))s)"
