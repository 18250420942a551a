#!/bin/bash
# tests/daemon-guard.sh - a second start, a descriptor flood, many clients
# of one user and slow clients cannot stop spillway-routed (or take the
# milter's socket).  No MTA: the daemons on sockets in a temporary
# directory and a TCP socketmap on 127.0.0.1.  The attacks that need
# another user (nobody) run only as root; the rest run as anyone.
#
#   1. a second spillway-routed with the same config refuses to start and
#      names the first one's pid; the first keeps answering; a second one
#      with another state file but the same socketmap path refuses too
#      (the socket is live); the same for spillway-milter
#   2. descriptors run out (ulimit -n): the accept loop pauses instead of
#      spinning; the daemon stays responsive (it stops on SIGTERM), logs a
#      bounded number of lines, and answers again once the flood is gone
#   3. one user holds at most routed.clients_per_user connections, on the
#      unix socketmap and on loopback TCP alike (the kernel names the TCP
#      client's uid); another user's lookups go on being answered
#   4. a control client that trickles its request is closed after 10 s
#      from its connection, however often it sends a byte; refused control
#      peers are logged at most once a minute with a count
# SW_GUARD_ONLY="2 3" runs only those parts.
set -euo pipefail

SRC=${FUZZ_SRCDIR:+$FUZZ_SRCDIR/../..}
SRC=$(cd "${SRC:-$(dirname "$0")/..}" && pwd -P)
BUILD=${SW_BUILDDIR:-$(pwd -P)}
ROUTED=$BUILD/spillway-routed
MILTER=$BUILD/spillway-milter
CTL=$BUILD/spillwayctl
PORT=${SW_GUARD_PORT:-25990}

[[ -x $ROUTED && -x $MILTER && -x $CTL ]] || { echo "FAIL: programs not built in $BUILD"; exit 1; }
# Debian's python3: another user may not reach a python3 under /root (pyenv).
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }

dir=$(mktemp -d /tmp/spillway-guard.XXXXXX)
chmod 755 "$dir" # the attacker (nobody) must reach the sockets
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    for f in "$dir"/*.log; do [[ -f $f ]] && { echo "---- $f"; tail -n 20 "$f"; }; done
    exit 1
}

mkdir -p "$dir/pf" "$dir/render"
printf 'compatibility_level = 3.6\n' >"$dir/pf/main.cf"
# conf FILE STATE [EXTRA] : a routed config on the test's sockets
conf() {
    cat >"$1" <<EOF
routed: { socketmap = [ "unix:$dir/socketmap", "inet:127.0.0.1:$PORT" ];
          control = "$dir/control.sock"; evidence = "$dir/evidence.sock";
          state = "$2"; render_dir = "$dir/render"; postfix_config = "$dir/pf";
          ${3:-} };
pools = ( { name = "m365"; relays = ["m365"]; } );
relays = ( { name = "m365"; nexthop = "[127.0.0.1]:9"; role = "primary"; },
           { name = "alt"; nexthop = "[127.0.0.2]:9"; priority = 10; } );
EOF
}

# lookup ENDPOINT : one socketmap lookup, the reply on stdout
lookup() {
    timeout 10 "$PY" "$SRC/tests/e2e/sockmap-client.py" "$1" "transport u@example.com" 2>&1
}

# start_routed CONF LOG [ULIMIT] : background routed, wait for the control socket
start_routed() {
    local i
    if [[ -n ${3:-} ]]; then
        (ulimit -n "$3" && exec "$ROUTED" -c "$1" -e) >"$2" 2>&1 </dev/null &
    else
        "$ROUTED" -c "$1" -e >"$2" 2>&1 </dev/null &
    fi
    pids+=($!)
    routed_pid=$!
    for i in $(seq 100); do
        [[ -S $dir/control.sock ]] && lookup "unix:$dir/socketmap" | grep -q NOTFOUND && return 0
        kill -0 "$routed_pid" 2>/dev/null || fail "spillway-routed did not start"
        sleep 0.1
    done
    fail "spillway-routed did not answer"
}

# stop_routed : SIGTERM must be obeyed within 5 s
stop_routed() {
    local i
    kill -TERM "$routed_pid"
    for i in $(seq 50); do
        kill -0 "$routed_pid" 2>/dev/null || { wait "$routed_pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    fail "spillway-routed ignored SIGTERM"
}

# as_nobody CMD... : run as another user, when we can
can_switch=0
if [[ $(id -u) == 0 ]] && getent passwd nobody >/dev/null && command -v setpriv >/dev/null; then
    can_switch=1
fi
want() { [[ -z ${SW_GUARD_ONLY:-} || " $SW_GUARD_ONLY " == *" $1 "* ]]; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

# flood.py ENDPOINT N SECONDS : open up to N connections, hold them
cat >"$dir/flood.py" <<'EOF'
import socket, sys, time
ep, n, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
conns, refused = [], 0
deadline = time.time() + secs
for i in range(n):
    if time.time() > deadline:
        break
    try:
        if ep.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(1)
            s.connect(ep[5:])
        else:
            host, port = ep[5:].rsplit(":", 1)
            s = socket.create_connection((host, int(port)), timeout=1)
        conns.append(s)
    except OSError:
        refused += 1
time.sleep(1)
alive = 0
for s in conns:  # a connection the daemon closed reads EOF at once
    s.setblocking(False)
    try:
        alive += 0 if s.recv(1) == b"" else 1
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print("opened=%d alive=%d refused=%d" % (len(conns), alive, refused), flush=True)
sys.stdout.flush()
time.sleep(max(0.0, deadline - time.time()))
EOF

# trickle.py PATH : a control request, one byte a second; how long it lived
cat >"$dir/trickle.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
start = time.time()
msg = b"verb=status" + b"x" * 40
for b in msg:
    try:
        s.send(bytes([b]))
        s.settimeout(1)
        if s.recv(1) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
print("%.0f" % (time.time() - start))
EOF

# ---- 1. a second start
if want 1; then
conf "$dir/a.conf" "$dir/state"
start_routed "$dir/a.conf" "$dir/routed1.log"
first=$routed_pid
rc=0
timeout 10 "$ROUTED" -c "$dir/a.conf" -e >"$dir/second.log" 2>&1 </dev/null || rc=$?
((rc != 0)) || fail "a second spillway-routed with the same config started"
grep -q "already running as pid $first" "$dir/second.log" ||
    fail "the second start does not name pid $first: $(tail -n 2 "$dir/second.log")"
lookup "unix:$dir/socketmap" | grep -q NOTFOUND || fail "the first daemon lost its socketmap"
lookup "inet:127.0.0.1:$PORT" | grep -q NOTFOUND || fail "the first daemon lost its TCP socketmap"
timeout 10 "$CTL" -s "$dir/control.sock" status >/dev/null || fail "the first daemon lost its control socket"
conf "$dir/b.conf" "$dir/state-b"
rc=0
timeout 10 "$ROUTED" -c "$dir/b.conf" -e >"$dir/third.log" 2>&1 </dev/null || rc=$?
((rc != 0)) || fail "a daemon with another state file took the live sockets"
grep -q "in use" "$dir/third.log" || fail "no 'in use' reason: $(tail -n 2 "$dir/third.log")"
lookup "unix:$dir/socketmap" | grep -q NOTFOUND || fail "the first daemon lost its socketmap to the third"
# Only the evidence socket shared: the other daemon starts without it
# (bounce evidence is optional) and the first keeps its socket.
ino=$(stat -c %i "$dir/evidence.sock")
mkdir -p "$dir/other"
sed -e "s|$dir/socketmap|$dir/other/socketmap|; s|inet:127.0.0.1:$PORT|inet:127.0.0.1:$((PORT + 1))|" \
    -e "s|$dir/control.sock|$dir/other/control.sock|; s|$dir/state-b|$dir/other/state|" \
    "$dir/b.conf" >"$dir/other/f.conf"
"$ROUTED" -c "$dir/other/f.conf" -e >"$dir/fourth.log" 2>&1 </dev/null &
fourth=$!
pids+=($fourth)
for i in $(seq 50); do grep -q 'evidence' "$dir/fourth.log" 2>/dev/null && break; sleep 0.1; done
grep -q 'routed.evidence .*in use' "$dir/fourth.log" || fail "no 'in use' for the shared evidence socket"
[[ $(stat -c %i "$dir/evidence.sock") == "$ino" ]] || fail "the evidence socket was replaced"
kill -TERM "$fourth"; wait "$fourth" 2>/dev/null || true
echo "ok: second start refused (pid $first named), sockets kept"

printf 'k1 %s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$dir/tag.keys"
chmod 600 "$dir/tag.keys"
cat >"$dir/m.conf" <<EOF
milter: { socket = "unix:$dir/milter.sock"; tag_keys = "$dir/tag.keys"; };
routed: { evidence = "$dir/evidence.sock"; };
classify: { patterns = "${SW_PATTERNS:-$SRC/conf/patterns.conf}"; };
pools = ( { name = "m365"; relays = ["m365"]; } );
relays = ( { name = "m365"; nexthop = "[127.0.0.1]:9"; role = "primary"; } );
EOF
"$MILTER" -c "$dir/m.conf" -e >"$dir/milter1.log" 2>&1 </dev/null &
pids+=($!)
mpid=$!
for i in $(seq 50); do [[ -S $dir/milter.sock ]] && break; sleep 0.1; done
[[ -S $dir/milter.sock ]] || fail "spillway-milter did not start"
ino=$(stat -c %i "$dir/milter.sock")
rc=0
timeout 10 "$MILTER" -c "$dir/m.conf" -e >"$dir/milter2.log" 2>&1 </dev/null || rc=$?
((rc != 0)) || fail "a second spillway-milter started"
grep -q "already running as pid $mpid" "$dir/milter2.log" ||
    fail "the second milter does not name pid $mpid: $(tail -n 2 "$dir/milter2.log")"
[[ $(stat -c %i "$dir/milter.sock" 2>/dev/null) == "$ino" ]] || fail "the second milter replaced the socket"
kill -0 "$mpid" || fail "the first milter died"
rm -f "$dir/milter.sock.lock" # the lock file is not what protects the socket
rc=0
timeout 10 "$MILTER" -c "$dir/m.conf" -e >"$dir/milter3.log" 2>&1 </dev/null || rc=$?
((rc != 0)) && grep -q "in use" "$dir/milter3.log" || fail "a milter took a live socket"
[[ $(stat -c %i "$dir/milter.sock" 2>/dev/null) == "$ino" ]] || fail "the socket was replaced"
echo "ok: second milter refused, socket kept"
stop_routed
fi

# ---- 2. out of descriptors
if want 2; then
conf "$dir/c.conf" "$dir/state" "clients_per_user = 100000;"
start_routed "$dir/c.conf" "$dir/routed2.log" 48
who=()
((can_switch)) && who=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
"${who[@]}" "$PY" "$dir/flood.py" "unix:$dir/socketmap" 300 6 >"$dir/flood2.out" &
fpid=$!
sleep 3
# While the flood lasts: the loop must still run (the control socket,
# SIGTERM later); the accept warnings must stay few.
lines=$(grep -c 'accept' "$dir/routed2.log" || true)
((lines <= 5)) || fail "$lines accept lines in 3 s: the accept loop spins"
grep -q 'paused' "$dir/routed2.log" || fail "no pause logged when descriptors ran out"
wait "$fpid" || true
sleep 1
lookup "unix:$dir/socketmap" | grep -q NOTFOUND || fail "no answer after the flood left"
echo "ok: descriptors ran out: paused, $lines warning line(s), answering after ($(cat "$dir/flood2.out"))"
stop_routed
fi

# ---- 3. connections per user
if ! want 3; then
    :
elif ((can_switch)); then
    conf "$dir/d.conf" "$dir/state" "clients_per_user = 20;"
    start_routed "$dir/d.conf" "$dir/routed3.log"
    for ep in "unix:$dir/socketmap" "inet:127.0.0.1:$PORT"; do
        as_nobody "$PY" "$dir/flood.py" "$ep" 60 5 >"$dir/flood3.out" &
        fpid=$!
        sleep 2.5
        out=$(lookup "$ep")
        grep -q NOTFOUND <<<"$out" || fail "root's lookup on $ep during nobody's flood: $out"
        wait "$fpid" || true
        alive=$(sed -n 's/.*alive=\([0-9]*\).*/\1/p' "$dir/flood3.out")
        [[ $alive == 20 ]] || fail "nobody kept $alive connections on $ep (limit 20): $(cat "$dir/flood3.out")"
        echo "ok: $ep: nobody held $alive of 60, root answered"
    done
    n=$(grep -c 'has 20 connections' "$dir/routed3.log" || true)
    ((n >= 1 && n <= 2)) || fail "$n limit warnings (want one per cause per minute)"
    stop_routed
else
    echo "skipped: connections per user (needs root and setpriv)"
fi

# ---- 4. slow control clients, refused peers
if want 4; then
conf "$dir/e.conf" "$dir/state"
start_routed "$dir/e.conf" "$dir/routed4.log"
lived=$(timeout 40 "$PY" "$dir/trickle.py" "$dir/control.sock" || echo 40)
((lived >= 9 && lived <= 13)) || fail "a trickling control client lived ${lived}s (want about 10)"
echo "ok: trickling control client closed after ${lived}s"
if ((can_switch)); then
    # A copy nobody can run: the checkout may lie under a 0700 directory.
    install -m 755 "$CTL" "$dir/spillwayctl"
    for i in $(seq 30); do
        timeout 5 setpriv --reuid=nobody --regid=nogroup --clear-groups "$dir/spillwayctl" \
            -s "$dir/control.sock" status >>"$dir/ctl.out" 2>&1 || true
    done
    grep -q 'permission denied: uid' "$dir/ctl.out" ||
        fail "nobody's requests were not refused as such: $(head -n 2 "$dir/ctl.out")"
    n=$(grep -c 'control: refused uid=' "$dir/routed4.log" || true)
    ((n == 1)) || fail "$n refusal lines for 30 refused requests (want 1 a minute)"
    echo "ok: 30 refused control requests, $n log line"
fi
stop_routed
fi
echo "daemon-guard: ok"
