#!/bin/bash
# tests/log-facility.sh - log_facility reaches syslog: spillway-routed runs
# in a private mount namespace where /dev/log is a socket this test
# reads, and the priority of its "started:" line carries the facility
# (local3, info: <158>).  Needs root (unshare -m); skipped otherwise.
set -euo pipefail
BUILD=${SW_BUILDDIR:-$PWD}
ROUTED=$BUILD/spillway-routed
if [[ $(id -u) != 0 ]] || ! unshare -m true 2>/dev/null; then
    echo "log-facility: needs root and unshare -m: skipped"
    exit 77
fi
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; cat "$dir/syslog" 2>/dev/null | head -5; exit 1; }
python3 - "$dir/log" "$dir/syslog" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
s.settimeout(30)
with open(sys.argv[2], "ab", buffering=0) as out:
    end = time.time() + 30
    while time.time() < end:
        try:
            out.write(s.recv(8192) + b"\n")
        except socket.timeout:
            break
PY
for i in $(seq 50); do [[ -S $dir/log ]] && break; sleep 0.1; done
[[ -S $dir/log ]] || fail "no syslog socket"
cat >"$dir/spillway.conf" <<CONF
log_facility = "local3";
routed: { socketmap = [ "unix:$dir/socketmap" ]; control = "$dir/control.sock";
          evidence = "$dir/evidence.sock"; state = "$dir/state"; render_dir = "$dir";
          render_format = "none"; };
relays = ( { name = "p"; nexthop = "[127.0.0.1]:2525"; role = "primary"; } );
CONF
# The daemon runs 2 s in the namespace, then gets SIGTERM.
# /dev/log may not exist (a host without a syslog daemon): a private /dev
# then holds null, urandom and the test's socket.
timeout -s TERM 2 unshare -m sh -c "
    if [ ! -e /dev/log ]; then
        mount -t tmpfs -o mode=0755 tmpfs /dev && mknod -m 666 /dev/null c 1 3 &&
            mknod -m 444 /dev/urandom c 1 9 && : >/dev/log
    fi &&
    mount --bind '$dir/log' /dev/log && exec '$ROUTED' -c '$dir/spillway.conf'" || true
for i in $(seq 50); do grep -q 'started: config=' "$dir/syslog" 2>/dev/null && break; sleep 0.1; done
grep -q '^<158>.*spillway-routed\[[0-9]*\]: started: config=' "$dir/syslog" ||
    fail "the started line is not at local3.info (<158>)"
grep -q '^<158>.*stopped: config=' "$dir/syslog" || fail "the stopped line is not at local3.info"
echo "log-facility: ok"
