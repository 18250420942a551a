#!/bin/bash
# tests/milter-analyze.sh - what spillway-milter --analyze prints per file:
# valid UTF-8 JSON when a diagnostic holds Latin-1 bytes, the records of
# every message of an mbox file, and one "failed": false line for a file
# without a failed recipient.  Checked with python3's json module.
# Run by "make check"; needs python3 (skips, 77, without it).
set -euo pipefail

SRC=${FUZZ_SRCDIR:+$FUZZ_SRCDIR/../..}
SRC=$(cd "${SRC:-$(dirname "$0")/..}" && pwd -P)
BUILD=${SW_BUILDDIR:-$(pwd -P)}
MILTER=${MILTER_BIN:-$BUILD/spillway-milter}
PATTERNS=${SW_PATTERNS:-$SRC/conf/patterns.conf}
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
[[ -x $MILTER ]] || { echo "FAIL: $MILTER not built"; exit 1; }

dir=$(mktemp -d /tmp/spillway-analyze.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# dsn RCPT DIAG: a minimal RFC 3464 report for one failed recipient
dsn() {
    printf 'From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail\n'
    printf 'MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
    printf -- '--b\nContent-Type: text/plain\n\nNot delivered.\n\n'
    printf -- '--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n'
    printf 'Final-Recipient: rfc822; %s\nAction: failed\nStatus: 5.7.1\n' "$1"
    printf 'Diagnostic-Code: smtp; %s\n\n--b--\n' "$2"
}
# Latin-1: e-acute (0xe9) and a-grave (0xe0) as single bytes
dsn ann@example.org $'550 5.7.1 Message refus\xe9 \xe0 cause de votre IP' >"$dir/latin1.eml"
{
    printf 'From MAILER-DAEMON  Thu Jul  2 12:05:05 2020\n'
    dsn bob@example.org '550 5.7.1 first bounce'
    printf 'From double-bounce@mx.example.net  Thu Jul  2 12:05:06 2020\n'
    dsn cat@example.org '550 5.7.1 second bounce'
} >"$dir/two.mbox"
printf 'From: Dan <dan@example.org>\nSubject: lunch\n\nSee you at noon.\n' >"$dir/plain.eml"

"$MILTER" --analyze --patterns "$PATTERNS" "$dir/latin1.eml" "$dir/two.mbox" "$dir/plain.eml" \
    >"$dir/out.json" || fail "--analyze exited $?"
python3 - "$dir" <<'PY' || exit 1
import json, sys
d = sys.argv[1]
raw = open(d + "/out.json", "rb").read()
bad = []
try:
    text = raw.decode("utf-8")  # strict: an invalid byte fails
except UnicodeDecodeError as e:
    bad.append("output is not UTF-8: %s" % e)
    text = raw.decode("latin-1")
recs = [json.loads(l) for l in text.splitlines()]
by = lambda f: [r for r in recs if r["file"] == d + "/" + f]
lat = by("latin1.eml")
if len(lat) != 1 or lat[0]["diagnostic"] != "550 5.7.1 Message refus\u00e9 \u00e0 cause de votre IP":
    bad.append("latin1.eml: %r" % lat)
two = [(r["recipient"], r["failed"]) for r in by("two.mbox")]
if two != [("bob@example.org", True), ("cat@example.org", True)]:
    bad.append("two.mbox: %r, want the records of both messages" % two)
pl = by("plain.eml")
if len(pl) != 1 or pl[0]["failed"] is not False or pl[0]["recipient"] is not None:
    bad.append("plain.eml: %r, want one \"failed\": false line" % pl)
for b in bad:
    print("FAIL: " + b)
if bad:
    sys.exit(1)
print("PASS: %d lines of valid UTF-8 JSON" % len(recs))
PY
