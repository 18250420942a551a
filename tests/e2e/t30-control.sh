#!/bin/bash
# tests/e2e/t30-control.sh - the control socket and the configuration, for real.
#
# Issue 2, scenario 6 and the operator's error paths: a uid not allowed on
# the control socket is refused (and logged); a group grant lets it in; a
# broken config is refused by reload with file and line while the old one
# stays; SIGUSR1 reloads; spillwayctl's exit statuses (0 done, 1 refused,
# 2 usage, 3 daemon unreachable).  No Postfix needed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "t30-control: must run as root" >&2; exit 1; }
E2E_DIR=$(mktemp -d /tmp/spillway-e2e-t30.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
trap e2e_cleanup EXIT

# status_of CMD... : the exit status, never failing the script
status_of() { local rc=0; "$@" >"$E2E_DIR/out" 2>"$E2E_DIR/err" || rc=$?; echo "$rc"; }
# as_nobody CMD... : run as uid nobody, gid nogroup, no supplementary groups
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

e2e_ports 25240
pf_setup                       # only for the paths; Postfix is not started
sw_config
expect_eq "daemon not running" "$(status_of swctl status)" 3
grep -q "cannot reach spillway-routed" "$E2E_DIR/err" || fail "no 'cannot reach' message"
sw_start

# -- (6) a uid that is not allowed is refused --------------------------------------
expect_eq "nobody refused" "$(status_of as_nobody "$SW_CTL" -s "$SW_DIR/control.sock" status)" 1
grep -q "permission denied: uid 65534 is not an authorised operator" "$E2E_DIR/err" ||
    fail "refusal message: $(cat "$E2E_DIR/err")"
expect_eq "nobody refused for divert" \
    "$(status_of as_nobody "$SW_CTL" -s "$SW_DIR/control.sock" divert x.example --for 1h --reason r)" 1
# Both refused, one line: refusals are logged at most once a minute (with a count).
expect_eq "refusals logged" "$(sw_log_count 'warning: control: refused uid=65534 gid=65534')" 1
expect_eq "nothing diverted by nobody" "$(swctl status | grep -c 'x.example' || true)" 0
log "unauthorised uid refused: ok"

# -- a group grant, applied by reload -----------------------------------------------
sw_config 'control_users = ["root"]; control_groups = ["nogroup"];'
expect_eq "reload" "$(status_of swctl reload)" 0
expect_eq "reload logged with uid" "$(sw_log_count 'reload: config=.* uid=0 result=ok')" 1
expect_eq "nobody allowed by group" "$(status_of as_nobody "$SW_CTL" -s "$SW_DIR/control.sock" divert x.example --to alt-eu --for 1h --reason "by nobody")" 0
grep -q 'pin: scope=destination:x.example from=primary to=alt-eu rule=operator for=1h uid=65534 reason="by nobody"' \
    "$E2E_DIR/logs/routed.log" || fail "operator uid not logged"
log "group grant: ok"

# -- a broken config is refused; the running one stays -------------------------------
cp "$SW_CONF" "$SW_CONF.good"
sed -i 's/priority = 20;/priority = "high";/' "$SW_CONF"
expect_eq "check of a bad config" "$(status_of "$SW_ROUTED" -n -c "$SW_CONF")" 1
grep -qE "^$SW_CONF:[0-9]+: relays\[2\]\.priority: must be an integer$" "$E2E_DIR/err" ||
    fail "error does not name file, line and key: $(cat "$E2E_DIR/err")"
expect_eq "reload of a bad config" "$(status_of swctl reload)" 1
grep -q "reload refused, the running configuration stays" "$E2E_DIR/err" || fail "reload refusal text"
grep -q "relays\[2\]\.priority: must be an integer" "$E2E_DIR/err" || fail "reload error lacks the key"
expect_eq "still serving" "$(status_of swctl status)" 0
grep -q '^  alt-us .* 20 ' "$E2E_DIR/out" || fail "old config not kept"
log "bad config refused: ok"

# -- SIGUSR1 reloads a good config ---------------------------------------------------
cp "$SW_CONF.good" "$SW_CONF"
sed -i 's/^relays = (/relays = (\n    { name = "alt-x"; nexthop = "[127.0.0.1]:2599"; priority = 5; jurisdiction = "EU"; },/' "$SW_CONF"
kill -USR1 "$(cat "$E2E_DIR/pids/routed.pid")"
wait_for "swctl status | grep -q '^  alt-x '" 5 || fail "SIGUSR1 did not reload"
log "SIGUSR1 reload: ok"

# -- the CLI's error paths -----------------------------------------------------------
expect_eq "unknown relay" "$(status_of swctl divert y.example --to nowhere --for 1h --reason r)" 1
grep -q 'unknown relay "nowhere"' "$E2E_DIR/err" || fail "unknown relay message"
expect_eq "residency" "$(status_of swctl divert a.gov.uk --to alt-eu --for 1h --reason r)" 1
grep -q 'outside the jurisdictions allowed' "$E2E_DIR/err" || fail "residency message"
expect_eq "no eligible alternate" "$(status_of swctl divert a.gov.uk --for 1h --reason r)" 1
expect_eq "divert without --for" "$(status_of swctl divert y.example --reason r)" 2
expect_eq "bad duration (client side)" "$(status_of swctl divert y.example --for soon --reason r)" 2
expect_eq "release of a primary scope" "$(status_of swctl release never.example)" 1
expect_eq "unknown pool" "$(status_of swctl divert --pool nope --for 1h --reason r)" 1
expect_eq "relay drain" "$(status_of swctl relay drain alt-eu)" 0
expect_eq "draining relay takes nothing new" "$(status_of swctl divert z.example --to alt-eu --for 1h --reason r)" 1
expect_eq "relay disable moves x.example" "$(status_of swctl relay disable alt-eu)" 0
swctl explain u@x.example | grep -q 'relay alt-x' || fail "x.example did not move off the disabled relay"
expect_eq "reroute logged" "$(sw_log_count 'reroute: scope=destination:x.example from=alt-eu to=alt-x')" 1
expect_eq "unknown verb" "$(status_of swctl frobnicate)" 2
swctl --json status | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["scopes"][0]["scope"]=="destination:x.example", d' ||
    fail "status --json"
swctl --json explain u@x.example | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["relay"]=="alt-x", d' ||
    fail "explain --json"
swctl --json history | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert [e["event"] for e in d]==["pin","relay","relay","reroute"], d' ||
    fail "history --json: $(swctl --json history)"
log "CLI errors: ok"
# -- the inet listener, and hostile netstrings close only their connection ------
inet="inet:127.0.0.1:$PORT_SOCKMAP"
expect_eq "inet lookups" "$(smc "$inet" "transport U+ext@X.Example." "transport *" "mailertable .x.example" | tr '\n' '|')" \
    "OK smtp:[127.0.0.1]:2599|NOTFOUND |OK relay:[127.0.0.1]|"
expect_eq "non-digit length" "$(smc "$inet" 'raw:1x:a,')" closed
expect_eq "missing comma" "$(smc "$inet" 'raw:3:abc;')" closed
expect_eq "oversized length" "$(smc "$inet" 'raw:99999999:')" closed
expect_eq "truncated request waits" "$(smc "$inet" 'raw:20:transport a@')" open
expect_eq "unknown map" "$(smc "unix:$SW_SOCKMAP" "virtual a@x.example")" "NOTFOUND "
expect_eq "still answering" "$(smc "unix:$SW_SOCKMAP" "transport a@x.example")" "OK smtp:[127.0.0.1]:2599"
log "socketmap listeners: ok"

# -- explain with both MTAs wired: each one's own lookup --------------------------------
sed -i 's/^routed: {$/routed: { mta = "both"; mailertable_format = "none";/' "$SW_CONF"
expect_eq "reload with mta = both" "$(status_of swctl reload)" 0
got=$(swctl --json explain u@mx.x.example | /usr/bin/python3 -c '
import json, sys
for l in json.load(sys.stdin)["lookups"]:
    print("%s %s %s=%s" % (l["mta"], l["map"], ",".join(l["keys"]), l["answer"]))')
expect_eq "explain's lookups" "$got" "postfix transport u@mx.x.example=OK smtp:[127.0.0.1]:2599
sendmail mailertable mx.x.example=OK relay:[127.0.0.1]"
expect_eq "the socket map's answers" "$(smc "$inet" "transport u@mx.x.example" "mailertable mx.x.example" | tr '\n' '|')" \
    "OK smtp:[127.0.0.1]:2599|OK relay:[127.0.0.1]|"
got=$(swctl --json explain u@other.example | /usr/bin/python3 -c '
import json, sys
print([(l["mta"], l["keys"], l["answer"]) for l in json.load(sys.stdin)["lookups"]])')
expect_eq "explain's lookups, primary" "$got" \
    "[('postfix', ['u@other.example'], 'NOTFOUND '), ('sendmail', ['other.example', '.example', '.'], 'NOTFOUND ')]"
swctl explain u@mx.x.example | grep -qxF 'lookup:   sendmail asks mailertable "mx.x.example": OK relay:[127.0.0.1]' ||
    fail "explain's text: $(swctl explain u@mx.x.example)"
[[ ! -e $SW_DIR/render/mailertable ]] || fail "mailertable_format none rendered a mailertable"
log "explain with both MTAs: ok"
sw_stop
echo "t30-control: ok"
