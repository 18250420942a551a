#!/bin/sh
# tests/classify-cli.sh - spillwayctl classify and patterns, no daemon:
# a configuration that does not validate still classifies with its own
# pattern library (a fresh install, issue 17), the tier and cues are
# printed, and the library is listed in evaluation order.
set -eu
srcdir=${srcdir:-.}
lib=$(cd "$srcdir" && pwd)/conf/patterns.conf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# milter.user names no user: the file does not validate, its library does.
cat >"$tmp/bad.conf" <<CONF
milter: { user = "no-such-user-spillway"; };
relays = ( { name = "p"; nexthop = "[127.0.0.1]"; role = "primary"; } );
classify: { patterns = "$lib"; };
patterns = ( { name = "local-frob"; class = "throttle"; match = "frobnicated"; } );
CONF
./spillwayctl -c "$tmp/bad.conf" classify "451 you are frobnicated" >"$tmp/out" 2>"$tmp/err" ||
    { cat "$tmp/err"; fail "classify refused a config with an unrelated error"; }
grep -q '^pattern:  local-frob$' "$tmp/out" || { cat "$tmp/out"; fail "the operator's pattern was not used"; }
grep -q 'does not validate (.*milter.user: no such user "no-such-user-spillway"): its pattern library alone is used' "$tmp/err" ||
    { cat "$tmp/err"; fail "no warning naming the error"; }

# A syntax error is still an error (usage: exit 2), naming file and line.
printf 'relays = ( oops\n' >"$tmp/syntax.conf"
rc=0
./spillwayctl -c "$tmp/syntax.conf" classify "x" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] || fail "a syntax error gave exit $rc"
grep -q "syntax.conf:1: syntax" "$tmp/err" || { cat "$tmp/err"; fail "the syntax error is not named"; }

# Tier and cues, text and JSON.
./spillwayctl classify --patterns "$lib" \
    "554 5.7.1 Client host [192.0.2.1] blocked using zen.spamhaus.org" >"$tmp/out"
grep -q '^tier:     general$' "$tmp/out" || { cat "$tmp/out"; fail "no tier line"; }
grep -q '^cues:     spamhaus-zones "zen.spamhaus.org", .*postfix-rbl "blocked using"' "$tmp/out" ||
    { cat "$tmp/out"; fail "the cues line lacks the zone or the Postfix words"; }
./spillwayctl --json classify --patterns "$lib" "550 5.7.606 Access denied, banned sending IP [198.51.100.2]" |
    python3 -c 'import json, sys
d = json.load(sys.stdin)
assert d["tier"] == "provider" and d["pattern"] == "m365-banned-ip", d
assert d["cues"][0] == {"pattern": "m365-banned-ip", "text": "5.7.606"}, d["cues"]' ||
    fail "the JSON verdict is wrong"

# The library in evaluation order: provider exclusions, general exclusions,
# provider diverting patterns, general diverting patterns.
./spillwayctl --json patterns --patterns "$lib" | python3 -c 'import json, sys
rows = [json.loads(l) for l in sys.stdin]
rank = [(r["class"] != "other") * 2 + (r["tier"] == "general") for r in rows]
assert rows and rank == sorted(rank), "not in group order"
assert [r["order"] for r in rows] == list(range(1, len(rows) + 1))' || fail "patterns is not in evaluation order"
echo "classify-cli: ok"
