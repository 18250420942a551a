#!/bin/bash
# bench/run-abuse.sh - the attacks of issue 13, replayed on loopback against
# a running spillway-routed (and spillway-milter), with what each costs.
#
# For each attack: the socketmap lookup p99 while it runs against the p99
# with no attack (sockmap_bench, 4 connections, closed loop, on the unix
# socketmap; "no-answer" when the connection failed or no reply came for
# 3 s), the p99 after the attacker has gone, the scopes diverted before and after (spillwayctl
# status --json) and what the daemon made of it.  Attacks:
#   ctl-flood    nobody opens connections to the 0666 control socket, up to
#                BENCH_FLOOD_CONNS or BENCH_FLOOD_SECS, holds them, leaves
#   tcp-flood    the same against the loopback TCP socketmap endpoint
#   slowloris    nobody keeps BENCH_SLOW_CONNS connections (half control,
#                half TCP socketmap) sending one byte a second
#   log-forge    nobody appends forged postfix/smtp lines (550 5.7.606
#                through the primary) to the mail log the daemon follows;
#                that file is 0666 here, standing in for /var/log/mail.log,
#                which any user's logger(1) writes through syslog
#   tag-replay   one outbound message through spillway-milter (miltertest)
#                gives a tag; BENCH_REPLAY forged bounces carry it (half
#                with "; x=N" appended), each from another client address
#   second-start a second spillway-routed, then a second spillway-milter,
#                with the same configuration: does it refuse, and do the
#                first ones keep serving once it is gone?
# The daemon runs with a soft descriptor limit of BENCH_NOFILE (1024, what
# a systemd service gets unless its unit says otherwise).  Nothing here
# asserts: it reports what happens (exit 0 unless the set-up failed).
#
# Run as root after a build (ROUTED_BIN, SWCTL_BIN, MILTER_BIN: the
# binaries, default ./spillway-routed ... at the top).  Environment
# (defaults): BENCH_PORT_BASE=27700 (socketmap TCP; +1, +2 the relays'
# nexthops, never connected) BENCH_MEASURE_SECS=5 BENCH_FLOOD_CONNS=2000
# BENCH_FLOOD_SECS=10 BENCH_SLOW_CONNS=200 BENCH_SLOW_SECS=10 BENCH_FORGED=10
# BENCH_REPLAY=20 BENCH_NOFILE=1024 BENCH_ROUTED_EXTRA (lines added to the
# routed group, e.g. a future maillog trust setting) BENCH_ATTACKS (all six,
# in the order above) BENCH_KEEP=1 keeps the work directory.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
BASE=${BENCH_PORT_BASE:-27700}
MEASURE=${BENCH_MEASURE_SECS:-5}
FLOOD_N=${BENCH_FLOOD_CONNS:-2000}
FLOOD_S=${BENCH_FLOOD_SECS:-10}
SLOW_N=${BENCH_SLOW_CONNS:-200}
SLOW_S=${BENCH_SLOW_SECS:-10}
FORGED=${BENCH_FORGED:-10}
REPLAY=${BENCH_REPLAY:-20}
NOFILE=${BENCH_NOFILE:-1024}
ATTACKS=${BENCH_ATTACKS:-ctl-flood tcp-flood slowloris log-forge tag-replay second-start}
P_SM=$BASE P_PRIM=$((BASE + 1)) P_ALT=$((BASE + 2))

BENCH_DIR=$(mktemp -d /tmp/spillway-bench-abuse.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
MILTER_BIN=${MILTER_BIN:-$BENCH_TOP/spillway-milter}
D=$BENCH_DIR
MILTER_PID=
EXTRA_PIDS=()
_abuse_cleanup() {
    local rc=$? p
    set +e
    for p in "${EXTRA_PIDS[@]}" $MILTER_PID; do kill -TERM "$p" 2>/dev/null; done
    for p in "${EXTRA_PIDS[@]}" $MILTER_PID; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    (exit "$rc")
    _bench_cleanup
}
trap _abuse_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_require_root
bench_build
[[ -x $MILTER_BIN ]] || bench_die "$MILTER_BIN not built"
command -v miltertest >/dev/null || bench_die "miltertest not installed (apt-get install miltertest)"
getent passwd nobody >/dev/null && getent group nogroup >/dev/null || bench_die "no user nobody/nogroup"
bench_port_free "$P_SM"
bench_machine_note

# The binaries, copied (a rebuild during the run changes nothing); the work
# directory open to nobody (the attacker reaches the 0666 sockets in it).
chmod 755 "$D"
mkdir -p "$D/bin" "$D/pf" "$D/render" "$D/att"
chown nobody:nogroup "$D/att"   # where the attacker writes its reports
for b in "$ROUTED_BIN" "$SWCTL_BIN" "$MILTER_BIN" "$SOCKMAP_BENCH"; do install -m 755 "$b" "$D/bin/"; done
R=$D/bin/spillway-routed CTL=$D/bin/spillwayctl MIL=$D/bin/spillway-milter SMB=$D/bin/sockmap_bench
printf 'binary: spillway-routed built %s sha256 %s\n' "$(date -u -r "$ROUTED_BIN" +%Y-%m-%dT%H:%M:%SZ)" \
    "$(sha256sum <"$R" | cut -c1-16)"
bench_minimal_pfconf "$D/pf"
cp "$BENCH_TOP/conf/patterns.conf" "$D/patterns.conf"
printf 'k1 %s\n' "$(openssl rand -hex 32)" >"$D/tag.keys"
chmod 600 "$D/tag.keys"
install -m 666 /dev/null "$D/mail.log"
cat >"$D/spillway.conf" <<EOF
# spillway.conf for bench/run-abuse.sh
routed: { socketmap = [ "unix:$D/sockmap.sock", "inet:127.0.0.1:$P_SM" ];
          control = "$D/control.sock"; evidence = "$D/evidence.sock";
          state = "$D/state"; render_dir = "$D/render"; postfix_config = "$D/pf";
          maillog = "$D/mail.log"; flush = ["/bin/true"];
          ${BENCH_ROUTED_EXTRA:-} };
milter: { socket = "unix:$D/milter.sock"; tag_keys = "$D/tag.keys"; };
classify: { patterns = "$D/patterns.conf"; };
pools = ( { name = "m365"; relays = ["m365"]; hosts = ["*.protection.outlook.test"]; } );
relays = ( { name = "m365"; nexthop = "[127.0.0.1]:$P_PRIM"; role = "primary"; },
           { name = "alt-eu"; nexthop = "[127.0.0.2]:$P_ALT"; priority = 10; } );
rules = ( { name = "pool-reputation"; classes = ["reputation"]; scope = "destination";
            threshold = { events = 3; window = "10m"; ratio = 0.2; }; hold = "30m"; } );
EOF
"$R" -n -c "$D/spillway.conf" >/dev/null || bench_die "the configuration does not validate"

# ---------------------------------------------------------------- helpers
# routed_start : spillway-routed with a soft limit of NOFILE descriptors; its
# log through a counter that keeps the first 20,000 lines (a flood of log
# lines must not fill the disk) and counts all of them in $D/loglines
routed_start() {
    : >"$D/routed.log"
    echo 0 >"$D/loglines"
    rm -f "$D/log.fifo"
    mkfifo "$D/log.fifo"
    /usr/bin/python3 -c '
import sys, time
keep, n, last = open(sys.argv[1], "ab", buffering=0), 0, 0.0
def note():
    with open(sys.argv[2], "w") as c:
        c.write("%d\n" % n)
for line in sys.stdin.buffer:
    n += 1
    if n <= 20000:
        keep.write(line)
    if time.monotonic() - last > 0.5:
        note(); last = time.monotonic()
note()' "$D/routed.log" "$D/loglines" <"$D/log.fifo" &
    EXTRA_PIDS+=($!)
    (
        ulimit -S -n "$NOFILE"
        exec "$R" -c "$D/spillway.conf" -e </dev/null >/dev/null 2>"$D/log.fifo"
    ) &
    ROUTED_PID=$!
    local i
    for ((i = 0; i < 300; i++)); do
        [[ -S $D/sockmap.sock ]] && grep -q 'started: ' "$D/routed.log" && return 0
        kill -0 "$ROUTED_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$D/routed.log" >&2
    bench_die "spillway-routed did not start"
}

# loglines : the daemon's log lines so far
loglines() { sed -n '$p' "$D/loglines" 2>/dev/null || echo 0; }

# p99 SECS : socketmap lookup p99 (µs) over SECS seconds, or "stalled"
p99() {
    local line rc=0 n
    line=$(timeout $(($1 + 10)) "$SMB" -e "unix:$D/sockmap.sock" -c 4 -d "$1" -n 5000000 -w 100 \
        -t 3 -p 0 2>/dev/null) || rc=$?
    n=$(bench_kv "$line" lookups)
    if [[ $n =~ ^[0-9]+$ ]] && ((n > 0)); then
        # "!": the client gave up (no reply for 3 s) or saw bad replies
        printf '%s%s\n' "$(bench_kv "$line" p99)" "$( ((rc == 0)) || echo '!')"
    else
        echo no-answer
    fi
}

# status_json : spillwayctl status --json, or nothing within 5 s
status_json() { timeout 5 "$CTL" -s "$D/control.sock" --json status 2>/dev/null || true; }

# diverted : number of scopes not on their primary, or "?" (no answer)
diverted() {
    status_json | /usr/bin/python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)
except Exception:
    print("?"); sys.exit(0)
print(sum(1 for x in s.get("scopes", []) if x.get("state") != "primary"))'
}

# evidence KEY : a field of the status evidence object ("?" if no answer)
evidence() {
    status_json | /usr/bin/python3 -c '
import json, sys
try:
    print(json.load(sys.stdin)["evidence"][sys.argv[1]])
except Exception:
    print("?")' "$1"
}

# as_nobody CMD... : an unprivileged local user (may open 4096 descriptors)
as_nobody() { (ulimit -n 4096 && exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"); }

# The attacker's programs.
cat >"$D/flood.py" <<'PY'
# flood.py ENDPOINT MAX SECS HOLD READY: open up to MAX connections (stop
# at MAX, after SECS, or after 50 failures in a row), write the count to
# READY, hold them HOLD seconds, leave.
import socket, sys, time
ep, cap, secs, hold, ready = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
conns, fails, t0 = [], 0, time.monotonic()
while len(conns) < cap and time.monotonic() - t0 < secs and fails < 50:
    try:
        if ep.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(0.2); s.connect(ep[5:])
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.settimeout(0.2)
            s.connect(("127.0.0.1", int(ep.split(":")[-1])))
        conns.append(s); fails = 0
    except OSError:
        fails += 1
        time.sleep(0.01)
with open(ready, "w") as f:
    f.write("%d\n" % len(conns))
time.sleep(hold)
PY
cat >"$D/slow.py" <<'PY'
# slow.py N SECS CTL TCPPORT OUT: N connections, half to the control socket,
# half to the TCP socketmap; one byte a second on each for SECS seconds;
# OUT gets how many were open at the start and how many the server closed.
import socket, sys, time
n, secs, ctl, port, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
conns, t0 = [], time.monotonic()
for i in range(n):
    if time.monotonic() - t0 > secs / 2:
        break  # the daemon accepts no more: keep what is open
    try:
        if i % 2:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(0.5); s.connect(ctl)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.settimeout(0.5); s.connect(("127.0.0.1", port))
        s.setblocking(False); conns.append(s)
    except OSError:
        pass
opened, closed, k = len(conns), 0, 0
payload = b"99999:transport slow.example"
while conns and time.monotonic() - t0 < secs:
    alive = []
    for s in conns:
        try:
            s.send(payload[k % len(payload):k % len(payload) + 1]); alive.append(s)
        except BlockingIOError:
            alive.append(s)
        except OSError:
            closed += 1; s.close()
    conns, k = alive, k + 1
    time.sleep(1)
with open(out, "w") as f:
    f.write("opened=%d closed_by_server=%d\n" % (opened, closed))
PY
chmod 644 "$D/flood.py" "$D/slow.py"

RESULTS=()
# result NAME DURING AFTER DIV_BEFORE DIV_AFTER NOTE
result() {
    RESULTS+=("$(printf '%-13s %10s %10s %8s %8s  %s' "$1" "$2" "$3" "$4" "$5" "$6")")
    printf '%-13s p99 during %s µs, after %s µs; diverted %s -> %s; %s\n' "$1" "$2" "$3" "$4" "$5" "$6"
}

# flood NAME ENDPOINT
attack_flood() {
    local name=$1 ep=$2 d0 l0 during after n fpid
    d0=$(diverted)
    l0=$(loglines)
    rm -f "$D/att/ready"
    as_nobody /usr/bin/python3 "$D/flood.py" "$ep" "$FLOOD_N" "$FLOOD_S" $((MEASURE + 5)) "$D/att/ready" &
    fpid=$!
    EXTRA_PIDS+=("$fpid")
    for ((i = 0; i < (FLOOD_S + 5) * 10; i++)); do [[ -s $D/att/ready ]] && break; sleep 0.1; done
    n=$(cat "$D/att/ready" 2>/dev/null || echo "?")
    during=$(p99 "$MEASURE")
    timeout 20 tail --pid="$fpid" -f /dev/null || kill -KILL "$fpid" 2>/dev/null || true
    wait "$fpid" 2>/dev/null || true
    sleep 1
    after=$(p99 "$MEASURE")
    result "$name" "$during" "$after" "$d0" "$(diverted)" \
        "$n connections held; daemon log +$(($(loglines) - l0)) lines; $(alive)"
}

# alive : is the first daemon still there
alive() { if kill -0 "$ROUTED_PID" 2>/dev/null; then echo "daemon alive"; else echo "DAEMON GONE"; fi; }

attack_slowloris() {
    local d0 l0 during after spid
    d0=$(diverted)
    l0=$(loglines)
    rm -f "$D/att/slow.out"
    as_nobody /usr/bin/python3 "$D/slow.py" "$SLOW_N" "$SLOW_S" "$D/control.sock" "$P_SM" "$D/att/slow.out" &
    spid=$!
    EXTRA_PIDS+=("$spid")
    sleep 2
    during=$(p99 "$MEASURE")
    timeout $((SLOW_S + 20)) tail --pid="$spid" -f /dev/null || kill -KILL "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    after=$(p99 "$MEASURE")
    result slowloris "$during" "$after" "$d0" "$(diverted)" \
        "$(cat "$D/att/slow.out" 2>/dev/null || echo 'no report'); daemon log +$(($(loglines) - l0)) lines; $(alive)"
}

attack_logforge() {
    local d0 lines0 during after i q now bg
    d0=$(diverted)
    lines0=$(status_json | /usr/bin/python3 -c 'import json,sys
try: print(json.load(sys.stdin)["maillog"]["outcomes"])
except Exception: print("?")')
    p99 "$MEASURE" >"$D/p99.bg" &
    bg=$!
    now=$(date '+%b %e %H:%M:%S')
    for ((i = 0; i < FORGED; i++)); do
        q=$(printf 'F%09X' "$i")
        printf '%s mta postfix/smtp[1]: %s: to=<user%d@forged.example>, relay=127.0.0.1[127.0.0.1]:%d, delay=0.1, delays=0/0/0/0.1, dsn=5.7.606, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.7.606 Access denied, banned sending IP [40.107.3.4] (in reply to RCPT TO command))\n' \
            "$now" "$q" "$i" "$P_PRIM"
    done | as_nobody tee -a "$D/mail.log" >/dev/null
    wait "$bg" || true
    during=$(cat "$D/p99.bg")
    sleep 2
    after=$(p99 "$MEASURE")
    local scope
    scope=$(status_json | grep -o 'forged\.example' | head -n 1 || true)
    result log-forge "$during" "$after" "$d0" "$(diverted)" \
        "$FORGED lines by nobody; outcomes $lines0 -> $(status_json | /usr/bin/python3 -c 'import json,sys
try: print(json.load(sys.stdin)["maillog"]["outcomes"])
except Exception: print("?")'); forged.example $([[ -n $scope ]] && echo DIVERTED || echo "not diverted")"
}

milter_start() {
    "$MIL" -e -c "$D/spillway.conf" 2>>"$D/milter.log" &
    MILTER_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do [[ -S $D/milter.sock ]] && return 0; sleep 0.1; done
    cat "$D/milter.log" >&2
    bench_die "spillway-milter did not start"
}

attack_tagreplay() {
    local d0 t0 r0 during after bg scope
    [[ -n $MILTER_PID ]] || milter_start
    d0=$(diverted)
    t0=$(evidence trusted)
    r0=$(evidence records)
    cat >"$D/replay.lua" <<'LUA'
-- one outbound message gives a tag; then forged bounces carry it
local sock, n = os.getenv("MT_SOCKET"), tonumber(os.getenv("MT_N"))
local conn = assert(mt.connect(sock, 40, 0.25), "connect")
assert(mt.negotiate(conn, nil, nil, nil) == nil, "negotiate")
assert(mt.conninfo(conn, "client.example", "127.0.0.1") == nil) -- a local client: mail that leaves
assert(mt.mailfrom(conn, "<alice@org.example>") == nil)
assert(mt.header(conn, "From", "alice@org.example") == nil)
assert(mt.header(conn, "Message-ID", "<replay@org.example>") == nil)
assert(mt.eoh(conn) == nil)
assert(mt.bodystring(conn, "Hello.\r\n") == nil)
mt.getreply(conn)
assert(mt.eom(conn) == nil)
mt.getreply(conn)
local tag = mt.getheader(conn, "X-Spillway-Tag", 0)
mt.disconnect(conn)
if not tag then mt.echo("tag: none"); return end
mt.echo("tag: " .. tag)
for i = 1, n do
    local t = tag
    if i % 2 == 0 then t = tag .. "; x=" .. i end
    local c = assert(mt.connect(sock, 40, 0.25), "connect")
    assert(mt.negotiate(c, nil, nil, nil) == nil, "negotiate")
    assert(mt.conninfo(c, "mx.example", "192.0.2." .. (10 + i)) == nil)
    assert(mt.mailfrom(c, "<>") == nil)
    local dom = "replay" .. (i % 3) .. ".example"
    local body = "--b1\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n\r\n" ..
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n" ..
        "Reporting-MTA: dns; out1.protection.outlook.test\r\n\r\n" ..
        "Final-Recipient: rfc822; u" .. i .. "@" .. dom .. "\r\nAction: failed\r\nStatus: 5.7.606\r\n" ..
        "Diagnostic-Code: smtp; 550 5.7.606 Access denied, banned sending IP [40.107.3.4]\r\n\r\n" ..
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n" ..
        "Message-ID: <replay@org.example>\r\nFrom: alice@org.example\r\nX-Spillway-Tag: " .. t .. "\r\n\r\n--b1--\r\n"
    assert(mt.header(c, "From", "MAILER-DAEMON@out1.protection.outlook.test") == nil)
    assert(mt.header(c, "To", "alice@org.example") == nil)
    assert(mt.header(c, "Subject", "Undeliverable") == nil)
    assert(mt.header(c, "MIME-Version", "1.0") == nil)
    assert(mt.header(c, "Content-Type", "multipart/report; report-type=delivery-status; boundary=\"b1\"") == nil)
    assert(mt.eoh(c) == nil)
    assert(mt.bodystring(c, body) == nil)
    mt.getreply(c)
    assert(mt.eom(c) == nil)
    mt.getreply(c)
    mt.disconnect(c)
end
mt.echo("bounces sent: " .. n)
LUA
    p99 "$MEASURE" >"$D/p99.bg" &
    bg=$!
    MT_SOCKET="unix:$D/milter.sock" MT_N=$REPLAY timeout 60 miltertest -s "$D/replay.lua" >"$D/replay.out" 2>&1 || true
    wait "$bg" || true
    during=$(cat "$D/p99.bg")
    sleep 2
    after=$(p99 "$MEASURE")
    scope=$(status_json | grep -o 'replay[0-9]\.example' | sort -u | wc -l || true)
    result tag-replay "$during" "$after" "$d0" "$(diverted)" \
        "$(grep -c . <<<"$(grep '^tag:' "$D/replay.out" || true)") tag, $REPLAY bounces; evidence records $r0 -> $(evidence records), trusted $t0 -> $(evidence trusted); replay domains diverted: $scope/3"
}

attack_second() {
    local d0 during after pid2 rc2 note mnote st
    d0=$(diverted)
    : >"$D/second.log"
    "$R" -c "$D/spillway.conf" -e </dev/null >/dev/null 2>"$D/second.log" &
    pid2=$!
    EXTRA_PIDS+=("$pid2")
    sleep 3
    if kill -0 "$pid2" 2>/dev/null; then
        note="second routed RUNNING (pid $pid2)"
        during=$(p99 "$MEASURE")
        kill -TERM "$pid2" 2>/dev/null || true
        timeout 10 tail --pid="$pid2" -f /dev/null || kill -KILL "$pid2" 2>/dev/null || true
    else
        rc2=0
        wait "$pid2" || rc2=$?
        note="second routed exited $rc2: \"$(tail -n 1 "$D/second.log" | sed 's/^[^ ]* [^ ]* //' | cut -c1-110 || true)\""
        during=$(p99 "$MEASURE")
    fi
    wait "$pid2" 2>/dev/null || true
    sleep 1
    after=$(p99 "$MEASURE")
    st=$(status_json | /usr/bin/python3 -c 'import json,sys
try: print(json.load(sys.stdin)["pid"])
except Exception: print("none")')
    note="$note; control answers pid $st (first $ROUTED_PID); $(alive)"
    # The milter: a second one with the same configuration.
    [[ -n $MILTER_PID ]] || milter_start
    "$MIL" -e -c "$D/spillway.conf" </dev/null >/dev/null 2>"$D/second-milter.log" &
    pid2=$!
    EXTRA_PIDS+=("$pid2")
    sleep 3
    if kill -0 "$pid2" 2>/dev/null; then
        mnote="second milter RUNNING"
        kill -TERM "$pid2" 2>/dev/null || true
        timeout 10 tail --pid="$pid2" -f /dev/null || kill -KILL "$pid2" 2>/dev/null || true
    else
        mnote="second milter exited: \"$(tail -n 1 "$D/second-milter.log" | sed 's/^[^ ]* [^ ]* //' | cut -c1-110 || true)\""
    fi
    wait "$pid2" 2>/dev/null || true
    printf 'local ok, c = pcall(mt.connect, "unix:%s", 5, 0.2)\nif ok and c ~= nil and mt.negotiate(c, nil, nil, nil) == nil then mt.echo("first milter: answers") else mt.echo("first milter: UNREACHABLE") end\n' \
        "$D/milter.sock" >"$D/reach.lua"
    mnote="$mnote; $(timeout 20 miltertest -s "$D/reach.lua" 2>&1 | tail -n 1 || true)"
    result second-start "$during" "$after" "$d0" "$(diverted)" "$note; $mnote"
}

# ---------------------------------------------------------------- run
routed_start
bench_wait_render "$D"
base=$(p99 "$MEASURE")
printf 'no attack: p99 %s µs (socketmap unix, 4 connections, %s s); scopes diverted %s\n' \
    "$base" "$MEASURE" "$(diverted)"
for a in $ATTACKS; do
    # Each attack meets a daemon that answers: one left wedged (or gone) by
    # the attack before is replaced (SIGTERM, SIGKILL after 5 s; the state
    # file stays), and the summary says so.
    if [[ $(p99 1) == no-answer || $(diverted) == "?" ]]; then
        bench_routed_stop
        routed_start
        RESULTS+=("$(printf '%-13s %s' restart "spillway-routed did not answer after the attack before: restarted")")
        echo "restart: spillway-routed did not answer after the attack before: restarted"
    fi
    case $a in
    ctl-flood) attack_flood ctl-flood "unix:$D/control.sock" ;;
    tcp-flood) attack_flood tcp-flood "inet:127.0.0.1:$P_SM" ;;
    slowloris) attack_slowloris ;;
    log-forge) attack_logforge ;;
    tag-replay) attack_tagreplay ;;
    second-start) attack_second ;;
    *) bench_die "unknown attack $a" ;;
    esac
done

echo
echo "spillway-routed under attack (lookup p99 in µs; no attack: $base)"
printf '%-13s %10s %10s %8s %8s  %s\n' attack during after div.bef div.aft note
printf '%s\n' "${RESULTS[@]}"
