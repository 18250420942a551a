#!/bin/bash
# tests/e2e/t94-cluster-faults.sh - the cluster when Redis fails (issue 15):
# two real Postfix nodes, each with its own spillway-routed, one Redis
# (tests/e2e/cluster.sh).  While mail flows through both nodes (a bounded
# count) and a bounded loop asks both nodes' socket maps (every lookup must
# be answered, and answered right, within a few seconds):
#
#   restart  Redis is killed (SIGKILL) and restarted EMPTY: both nodes log
#            state=degraded then state=ok; the pin node a made before the
#            kill is back in Redis (a's re-assertion) and held on both nodes.
#   hang     Redis is stopped (SIGSTOP) for a few seconds: both nodes log
#            state=degraded and keep answering; a divert made on a while
#            Redis hangs reaches b once Redis runs again (reconcile).
#   and      nothing lost or bounced: every message exactly once at the
#            relays, no lookup failed or hung.
# Run as root.  Usage: t94-cluster-faults.sh [restart] [hang]   (default: both)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "t94-cluster-faults: must run as root" >&2; exit 1; }
scenarios=" ${*:-restart hang} "
start=$SECONDS
E2E_DIR=$(mktemp -d /tmp/spillway-e2e-t94.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
# shellcheck source=cluster.sh
. "$HERE/cluster.sh"
trap cl_cleanup EXIT
cl_ports "${T94_BASE:-27050}"
MAIL_MAX=60       # messages per node at most (one every 0.4 s)
LOOKUP_MAX=3000   # lookup rounds at most

cl_setup '{ name = "pool-reputation"; classes = ["reputation"]; scope = "destination";
            threshold = { events = 3; window = "10m"; }; hold = "30m"; }' a b
for n in a b; do
    node_use "$n"
    node_start
done
cl_wait_up 30
ALT_EU="OK smtp:[127.0.0.2]:$PORT_ALT1"
node_use a
SM_A=inet:127.0.0.1:$PORT_SOCKMAP
node_use b
SM_B=inet:127.0.0.1:$PORT_SOCKMAP

sm() {
    node_use "$1"
    smc "inet:127.0.0.1:$PORT_SOCKMAP" "transport $2"
}
wait_sm() {
    wait_for "[[ \$(sm $1 $2) == '$3' ]]" "$4" ||
        fail "node $1 answers '$(sm "$1" "$2")' for $2, want '$3'"
}

# The pin made before anything fails.
node_use a
swctl divert pin.example --to alt-eu --for 1h --reason "before the faults" >/dev/null || fail "divert on a"
wait_sm b u@pin.example "$ALT_EU" 10
rcli HGET spillway:decisions destination:pin.example | grep -q 'node=a' || fail "the pin is not in Redis"

# ---------------------------------------------------------------------------
# traffic: mail through both nodes, lookups against both

# mail_loop NODE : up to MAIL_MAX messages through NODE until stop-mail
mail_loop() {
    local i
    node_use "$1"
    for ((i = 1; i <= MAIL_MAX; i++)); do
        [[ -f $E2E_DIR/stop-mail ]] && break
        if ((i % 3 == 0)); then
            send_mail "u$i@pin.example" 1 "pin-$1-$i" || true
        else
            send_mail "u$i@flow-$1.example" 1 "flow-$1-$i" || true
        fi
        sleep 0.4
    done
}

cat >"$E2E_DIR/lookups.py" <<'PY'
# lookups.py STOPFILE MAX ENDPOINT=WANT... : rounds of lookups, one new
# connection each, 3 s deadline; prints "ok N" at the end and a line for
# every failure (no answer, a hang, a wrong answer).
import os, socket, sys, time

stop, rounds, checks = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def ask(ep, req):
    host, port = ep[5:].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=3) as s:
        s.settimeout(3)
        q = req.encode()
        s.sendall(b"%d:%s," % (len(q), q))
        buf = b""
        while b":" not in buf:
            c = s.recv(4096)
            if not c:
                raise EOFError("closed")
            buf += c
        n, rest = buf.split(b":", 1)
        while len(rest) < int(n) + 1:
            c = s.recv(4096)
            if not c:
                raise EOFError("closed")
            rest += c
        return rest[:int(n)].decode()

ok = 0
for r in range(rounds):
    if os.path.exists(stop):
        break
    for c in checks:
        ep, req, want = c.split("|")
        t = time.monotonic()
        try:
            got = ask(ep, req)
        except Exception as e:
            print(f"FAIL round {r} {ep} {req!r}: {type(e).__name__}: {e} after {time.monotonic() - t:.1f}s", flush=True)
            continue
        if got != want:
            print(f"FAIL round {r} {ep} {req!r}: {got!r}, want {want!r}", flush=True)
        else:
            ok += 1
    time.sleep(0.05)
print(f"ok {ok}", flush=True)
PY
e2e_spawn lookups "$E2E_PYTHON" "$E2E_DIR/lookups.py" "$E2E_DIR/stop-lookups" "$LOOKUP_MAX" \
    "$SM_A|transport u@pin.example|$ALT_EU" "$SM_B|transport u@pin.example|$ALT_EU" \
    "$SM_A|transport u@flow-a.example|NOTFOUND " "$SM_B|transport u@flow-b.example|NOTFOUND "
e2e_spawn mail-a mail_loop a
e2e_spawn mail-b mail_loop b
log "traffic started"
sleep 2

# counts NODE : "degraded-lines ok-lines" of its log
counts() {
    node_use "$1"
    echo "$(node_log_count 'warning: cluster: state=degraded node=') $(node_log_count ' cluster: state=ok node=')"
}

# wait_outage_and_back NODE BASE : a degraded line, then an ok line, after BASE
wait_degraded() {
    local d o
    read -r d o <<<"$2"
    wait_for "read -r d2 o2 <<<\"\$(counts $1)\"; ((d2 > $d))" 20 ||
        fail "node $1 did not log state=degraded"
}
wait_ok_again() {
    local d o
    read -r d o <<<"$2"
    wait_for "read -r d2 o2 <<<\"\$(counts $1)\"; ((o2 > $o))" 30 ||
        fail "node $1 did not log state=ok again"
}

# ---------------------------------------------------------------------------
# (a) Redis killed, restarted empty
if [[ $scenarios == *" restart "* ]]; then
    log "restart: SIGKILL Redis, restart it empty"
    base_a=$(counts a)
    base_b=$(counts b)
    cl_redis_kill9
    sleep 1
    cl_redis_start
    wait_degraded a "$base_a"
    wait_degraded b "$base_b"
    wait_ok_again a "$base_a"
    wait_ok_again b "$base_b"
    wait_for "rcli HGET spillway:decisions destination:pin.example | grep -q 'node=a'" 15 ||
        fail "the pin was not re-asserted into the empty Redis: '$(rcli HGET spillway:decisions destination:pin.example)'"
    for n in a b; do
        expect_eq "node $n: pin.example after the restart" "$(sm "$n" u@pin.example)" "$ALT_EU"
        node_use "$n"
        swctl explain u@pin.example | grep -qE '^  destination:pin.example +pinned +-> alt-eu .*node=a' ||
            fail "node $n: explain: $(swctl explain u@pin.example)"
    done
    log "restart: ok"
fi

# ---------------------------------------------------------------------------
# (b) Redis hung
if [[ $scenarios == *" hang "* ]]; then
    log "hang: SIGSTOP Redis"
    base_a=$(counts a)
    base_b=$(counts b)
    cl_redis_pause
    wait_degraded a "$base_a"
    wait_degraded b "$base_b"
    node_use a
    timeout 10 "$SW_CTL" -s "$SW_DIR/control.sock" divert hung.example --to alt-eu --for 1h --reason "while Redis hangs" >/dev/null ||
        fail "divert on a while Redis hangs"
    expect_eq "node a: hung.example at once" "$(sm a u@hung.example)" "$ALT_EU"
    sleep 2
    expect_eq "node b: hung.example while Redis hangs" "$(sm b u@hung.example)" "NOTFOUND "
    log "hang: SIGCONT Redis"
    cl_redis_resume
    wait_ok_again a "$base_a"
    wait_ok_again b "$base_b"
    wait_sm b u@hung.example "$ALT_EU" 20
    node_use b
    node_wait_log '(pin|reassert): scope=destination:hung.example from=primary to=alt-eu rule=operator .*node=a ' 5 ||
        fail "node b: no pin line for hung.example with node=a"
    rcli HGET spillway:decisions destination:hung.example | grep -q 'node=a' || fail "hung.example is not in Redis"
    send_mail u@hung.example 2 hung-b
    log "hang: ok"
fi

# ---------------------------------------------------------------------------
# (c) nothing lost, nothing bounced, every lookup answered
touch "$E2E_DIR/stop-mail"
for n in mail-a mail-b; do
    wait_for "! kill -0 \$(cat '$E2E_DIR/pids/$n.pid')" 30 || fail "$n did not stop"
done
touch "$E2E_DIR/stop-lookups"
wait_for "grep -q '^ok ' '$E2E_DIR/logs/lookups.log'" 30 || fail "the lookup loop did not end"
if grep -q '^FAIL' "$E2E_DIR/logs/lookups.log"; then
    grep '^FAIL' "$E2E_DIR/logs/lookups.log" | head -n 20 >&2
    fail "$(grep -c '^FAIL' "$E2E_DIR/logs/lookups.log") lookup(s) failed"
fi
nlook=$(sed -n 's/^ok //p' "$E2E_DIR/logs/lookups.log")
((nlook >= 40)) || fail "only $nlook lookups answered"
[[ -s $E2E_DIR/refused.list ]] && fail "Postfix refused mail: $(cat "$E2E_DIR/refused.list")"
cl_wait_empty 90
assert_exactly_once || fail "exactly-once check failed"
cl_assert_no_bounce
expect_eq "pin.example and hung.example at alt1 only" \
    "$(relay_msgids primary | grep -cE '^<(pin|hung)-' || true)" 0
log "$(sort -u "$E2E_DIR/sent.list" | wc -l) messages, $nlook lookups answered"
echo "t94-cluster-faults: ok ($((SECONDS - start))s)"
