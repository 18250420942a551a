#!/bin/bash
# tests/milter-protocol.sh - spillway-milter driven over the milter protocol
# by miltertest (tests/milter/protocol.lua), with a datagram listener in the
# place of spillway-routed that records the evidence the milter sends.
# Skips (77) when miltertest is not installed.
set -euo pipefail

SRC=${FUZZ_SRCDIR:+$FUZZ_SRCDIR/../..}
SRC=$(cd "${SRC:-$(dirname "$0")/..}" && pwd -P)
BUILD=${SW_BUILDDIR:-$(pwd -P)}
MILTER=$BUILD/spillway-milter
PATTERNS=${SW_PATTERNS:-$SRC/conf/patterns.conf}

command -v miltertest >/dev/null || { echo "SKIP: miltertest not installed (apt-get install miltertest)"; exit 77; }
[[ -x $MILTER ]] || { echo "FAIL: $MILTER not built"; exit 1; }

dir=$(mktemp -d /tmp/spillway-mt.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

# The milter reloads its files after dropping privileges: give it copies
# here, since the checkout may lie under a directory nobody cannot enter.
cp "$PATTERNS" "$dir/patterns.conf"
chmod 644 "$dir/patterns.conf"
printf 'proto %s\n' "$(openssl rand -hex 32)" >"$dir/tag.keys"
chmod 600 "$dir/tag.keys"
# As root: open the socket, then become nobody (the key file stays readable
# for a reload; the evidence socket is open to all local users).
privs=""
if [[ $(id -u) == 0 ]] && getent passwd nobody >/dev/null && getent group nogroup >/dev/null; then
    privs='user = "nobody"; group = "nogroup";'
    chown nobody "$dir/tag.keys"
    chmod 755 "$dir"
fi
cat >"$dir/spillway.conf" <<CONF
milter: { socket = "unix:$dir/milter.sock"; tag_keys = "$dir/tag.keys"; $privs };
routed: { evidence = "$dir/evidence.sock"; };
classify: { patterns = "$dir/patterns.conf"; };
pools = ( { name = "m365"; relays = ["m365"]; hosts = ["*.protection.outlook.test"]; } );
relays = ( { name = "m365"; nexthop = "[127.0.0.1]:2525"; role = "primary"; } );
CONF

# The bounce: a DSN for the first tagged message is not possible here (the
# tag is made inside the test), so this one carries no tag: untrusted.
cat >"$dir/bounce.eml" <<'EML'
From: MAILER-DAEMON@out1.protection.outlook.test
To: alice@org.example
Subject: Undeliverable
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Delivery failed.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; out1.protection.outlook.test

Final-Recipient: rfc822; carol@bigcorp.example
Action: failed
Status: 5.7.606
Diagnostic-Code: smtp; 550 5.7.606 Access denied, banned sending IP [40.107.3.4]

--b1
Content-Type: text/rfc822-headers

Message-ID: <m0@org.example>
From: alice@org.example

--b1--
EML
sed -i 's/$/\r/' "$dir/bounce.eml"

python3 - "$dir/evidence.sock" "$dir/records" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)  # as spillway-routed does
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(8192) + b"\n")
PY
pids+=($!)
for i in $(seq 100); do [[ -S $dir/evidence.sock ]] && break; sleep 0.1; done
"$MILTER" -e -c "$dir/spillway.conf" 2>"$dir/milter.log" &
pids+=($!)

for i in $(seq 50); do [[ -S $dir/milter.sock ]] && break; sleep 0.1; done
if [[ -n $privs ]]; then
    # The socket is bound before the privileges are dropped: wait for both.
    for i in $(seq 50); do
        uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/${pids[1]}/status")
        [[ $uid == "65534655346553465534" ]] && break
        sleep 0.1
    done
    [[ $uid == "65534655346553465534" ]] || { echo "FAIL: the milter still runs as uid $uid"; exit 1; }
    perm=$(stat -c '%a %U %G' "$dir/milter.sock")
    [[ $perm == "660 nobody nogroup" ]] || { echo "FAIL: socket is $perm"; exit 1; }
    echo "privileges dropped to nobody; socket $perm"
fi
if ! MT_SOCKET="unix:$dir/milter.sock" MT_BOUNCE="$dir/bounce.eml" MT_PID=${pids[1]} \
    miltertest -s "$SRC/tests/milter/protocol.lua" 2>&1; then
    echo "FAIL: miltertest"; cat "$dir/milter.log" "$dir/records"; exit 1
fi
for i in $(seq 50); do [[ -s $dir/records ]] && break; sleep 0.1; done
rec=$(cat "$dir/records" 2>/dev/null || true)
echo "evidence: $rec"
for want in 'v=1' 'source=dsn' 'domain=bigcorp.example' 'rcpt=carol@bigcorp.example' \
    'class=reputation' 'pool=m365' 'trusted=0' 'tag=absent' 'dsn=5.7.606' 'client=192.0.2.10'; do
    grep -qF -- "$want" <<<"$rec" || { echo "FAIL: evidence lacks $want"; cat "$dir/milter.log"; exit 1; }
done
[[ $(grep -c . <<<"$rec") == 1 ]] || { echo "FAIL: expected one record"; exit 1; }
grep -q 'reloaded' "$dir/milter.log" || { echo "FAIL: SIGUSR1 did not reload"; cat "$dir/milter.log"; exit 1; }
# SIGTERM stops it cleanly: exit 0 and its counters logged.
kill -TERM "${pids[1]}"
rc=0
wait "${pids[1]}" || rc=$?
[[ $rc == 0 ]] || { echo "FAIL: SIGTERM: exit status $rc"; cat "$dir/milter.log"; exit 1; }
grep -q 'stopped: messages=6 tagged=3 inbound=1 bounces=2 records=1 ' "$dir/milter.log" ||
    { echo "FAIL: no clean stop with the counters"; cat "$dir/milter.log"; exit 1; }
echo "PASS: milter protocol"
