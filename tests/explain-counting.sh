#!/bin/bash
# tests/explain-counting.sh - spillwayctl explain shows the evidence that
# has not reached a threshold yet ("2 of 3 events in 10m"), in text and in
# JSON, and once it has, the JSON carries the evidence and the reason the
# text shows.  A foreground spillway-routed reads a private syslog file.
set -euo pipefail
BUILD=${SW_BUILDDIR:-$PWD}
ROUTED=$BUILD/spillway-routed
CTL=$BUILD/spillwayctl
PATTERNS=${SW_PATTERNS:-$(cd "${srcdir:-.}" && pwd)/conf/patterns.conf}
dir=$(mktemp -d)
routed_pid=
cleanup() {
    if [[ -n $routed_pid ]]; then
        kill "$routed_pid" 2>/dev/null || true
        wait "$routed_pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    echo "---- routed.log"
    tail -n 20 "$dir/routed.log" 2>/dev/null || true
    exit 1
}
until_ok() {
    local n=$(($1 * 10)) i
    shift
    for ((i = 0; i < n; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}
mkdir -p "$dir/pf" "$dir/render"
printf 'compatibility_level = 3.6\n' >"$dir/pf/main.cf"
: >"$dir/mail.log"
cat >"$dir/spillway.conf" <<CONF
routed: { socketmap = [ "unix:$dir/socketmap" ];
          control = "$dir/control.sock"; evidence = "$dir/evidence.sock";
          state = "$dir/state"; render_dir = "$dir/render"; postfix_config = "$dir/pf";
          render_format = "none"; maillog = "syslog:$dir/mail.log"; maillog_trust = "forgeable"; };
relays = ( { name = "m365"; nexthop = "[127.0.0.1]:2525"; role = "primary"; },
           { name = "alt"; nexthop = "[127.0.0.2]:2525"; priority = 10; } );
rules = ( { name = "rep"; classes = [ "reputation" ]; threshold = { events = 3; window = "10m"; };
            hold = "3s"; recover = { share = 0.5; successes = 1000; }; } );
classify: { patterns = "$PATTERNS"; };
CONF
"$ROUTED" -c "$dir/spillway.conf" -e -v >"$dir/routed.log" 2>&1 </dev/null &
routed_pid=$!
until_ok 10 "$CTL" -c "$dir/spillway.conf" status || fail "spillway-routed did not answer"

refusal() { # $1: queue id
    printf '%s mta postfix/smtp[4242]: %s: to=<u%s@big.example>, relay=127.0.0.1[127.0.0.1]:2525, delay=1, delays=0/0/0/1, dsn=5.7.606, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.7.606 Access denied, banned sending IP [192.0.2.7] (in reply to RCPT TO command))\n' \
        "$(LC_ALL=C date '+%b %e %H:%M:%S')" "$1" "$1" >>"$dir/mail.log"
}
explain() { "$CTL" -c "$dir/spillway.conf" "$@" explain u@big.example; }
unparsable() { # $1: program; a delivery line with a status nobody knows
    printf '%s mta %s[4243]: B%s: to=<x@big.example>, relay=127.0.0.1[127.0.0.1]:2525, delay=1, delays=0/0/0/1, dsn=4.0.0, status=sideways (what)\n' \
        "$(LC_ALL=C date '+%b %e %H:%M:%S')" "$1" "$RANDOM" >>"$dir/mail.log"
}
counted() { explain | grep -qF "counting: rule rep, destination:big.example: $1 of 3 events in 10m"; }

counted 0 || { explain; fail "no count before any evidence"; }

# -v: each kind of unparsable line is shown once, in full.
unparsable postfix/smtp
unparsable postfix/smtp
unparsable postfix/lmtp
until_ok 10 bash -c "(( \$(grep -c 'debug: maillog: unparsable kind=' '$dir/routed.log') >= 2 ))" ||
    fail "-v did not show the unparsable lines"
sleep 0.5
[[ $(grep -c 'unparsable kind=postfix/smtp first=yes' "$dir/routed.log") == 1 ]] || fail "postfix/smtp was not shown exactly once"
[[ $(grep -c 'unparsable kind=postfix/lmtp first=yes' "$dir/routed.log") == 1 ]] || fail "postfix/lmtp was not shown once"
refusal A1
refusal A2
until_ok 10 counted 2 || { explain; fail "explain does not show 2 of 3 events"; }
explain --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
c = d["counting"]
assert c == [{"rule": "rep", "scope": "destination:big.example", "events": 2, "needs": 3,
              "window": 600, "successes": 0, "ratio": 1.0, "needs_ratio": 0.0}], c
assert d["scope"] is None and d["evidence"] == [], d' || fail "the JSON count is wrong"

refusal A3
diverted() { explain | grep -q '^route:    relay alt'; }
until_ok 10 diverted || { explain; fail "the third refusal did not divert"; }
explain --json | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert d["relay"] == "alt" and d["scope"]["rule"] == "rep", d
ev = d["evidence"]
assert [e["id"] for e in ev] == ["A1", "A2", "A3"], ev
assert all(e["pattern"] == "m365-banned-ip" and e["class"] == "reputation" for e in ev), ev
assert d["scope"]["state"] == "diverted", d["scope"]' || fail "the JSON lacks the evidence or the rule"

# After the hold the scope probes: Postfix's answer for an address is a
# draw, and explain's route must be that answer, address by address.
probing() { explain --json | grep -q '"state":"probing"'; }
until_ok 20 probing || { explain; fail "the scope did not start probing"; }
for i in $(seq 1 40); do
    "$CTL" -c "$dir/spillway.conf" --json explain "p$i@big.example"
    echo
done >"$dir/draws.json"
python3 - "$dir/draws.json" <<'PY' || fail "explain's route is not the answer Postfix gets"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(rows) == 40
sides = set()
for d in rows:
    pf = [l for l in d["lookups"] if l["mta"] == "postfix"][0]["answer"]
    to_primary = pf.startswith("NOTFOUND")
    assert d["probe_draw"] == ("primary" if to_primary else "alternate"), (d["address"], d["probe_draw"], pf)
    assert d["route"] == ("primary" if to_primary else "alternate"), (d["address"], d["route"], pf)
    assert (d["relay"] == "") == to_primary, d
    sides.add(to_primary)
assert sides == {True, False}, "a share of 0.5 drew one side only for 40 addresses"
PY
echo "explain-counting: ok"
