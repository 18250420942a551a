#!/bin/bash
# tests/e2e/t95-cluster-sentinel.sh - two spillway nodes sharing through a
# Redis watched by Sentinels, and a failover under load (issue 15).
#
# Real components on loopback: a Redis master and one replica, three
# redis-sentinel processes (quorum 2) watching master "spw"; node A is the
# rig of lib.sh + sw.sh (a private Postfix whose spillway-routed reads its
# maillog), node B a second spillway-routed only (no Postfix), both with
# cluster { sentinels = [...]; master = "spw"; }.
#
#   1. both nodes reach state=ok; an operator's pin on B reaches A
#      (A's explain names node=b, A's socketmap answer changes)
#   2. mail flows through A's Postfix while a bounded loop of socketmap
#      lookups runs against A and B: every lookup is answered
#   3. the replica is made to lack the pin (a write lost in the failover:
#      replication is asynchronous), then the master is SIGKILLed (or
#      SIGSTOPped); the Sentinels promote the replica; both nodes log
#      degraded, then the new master and state=ok against it; the pin's
#      owner re-asserts it on the new master; a pin made on A after the
#      failover reaches B
#   4. every message delivered exactly once, none bounced, the pinned
#      destination's through alt-eu
# Ports 27100-27199.  Run as root.  T95_SIGNAL=STOP: the master hangs
# instead of dying (the nodes' deadline finds it out).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "t95-cluster-sentinel: must run as root" >&2; exit 1; }
for p in redis-server redis-sentinel redis-cli; do
    command -v "$p" >/dev/null || { echo "t95-cluster-sentinel: $p is not installed" >&2; exit 1; }
done
PF_CHROOT=${PF_CHROOT:-y}
E2E_DIR=$(mktemp -d /tmp/spillway-e2e-t95.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
trap e2e_cleanup EXIT
start=$SECONDS

BASE=${T95_BASE:-27100}
SIGNAL=${T95_SIGNAL:-KILL}
[[ $SIGNAL == KILL || $SIGNAL == STOP ]] || fail "T95_SIGNAL: KILL or STOP"
e2e_ports "$BASE"
PORT_SOCKMAP_B=$((BASE + 5))
PORT_MASTER=$((BASE + 10))
PORT_REPLICA=$((BASE + 11))
PORT_SENTINELS=("$((BASE + 20))" "$((BASE + 21))" "$((BASE + 22))")
MASTER_NAME=spw
KEY=spillway:decisions
RD=$E2E_DIR/redis
SWB=$E2E_DIR/swb
SWB_CONF=$SWB/spillway.conf
LOGA=$E2E_DIR/logs/routed.log
LOGB=$E2E_DIR/logs/routed-b.log
log "ports $BASE-$((BASE + 22))"

rcli() { local port=$1; shift; redis-cli -h 127.0.0.1 -p "$port" "$@"; }
swctlb() { "$SW_CTL" -s "$SWB/control.sock" "$@"; }

# ---------------------------------------------------------------------------
# Redis: a master, a replica, three Sentinels

# redis_start NAME PORT [LINE...] : a Redis with its own config and directory
redis_start() {
    local name=$1 port=$2 line
    shift 2
    mkdir -p "$RD/$name"
    {
        printf 'port %s\nbind 127.0.0.1\nsave ""\nappendonly no\ndir %s\n' "$port" "$RD/$name"
        for line in "$@"; do printf '%s\n' "$line"; done
    } >"$RD/$name.conf"
    e2e_spawn "redis-$name" redis-server "$RD/$name.conf"
    wait_for "rcli $port ping | grep -q PONG" 10 || fail "redis $name did not start on $port"
}

# sentinel_start I : Sentinel I with its own writable config file
sentinel_start() {
    local i=$1 port=${PORT_SENTINELS[$1]}
    mkdir -p "$RD/sentinel$i"
    cat >"$RD/sentinel$i.conf" <<EOF
port $port
bind 127.0.0.1
dir $RD/sentinel$i
sentinel monitor $MASTER_NAME 127.0.0.1 $PORT_MASTER 2
sentinel down-after-milliseconds $MASTER_NAME 1000
sentinel failover-timeout $MASTER_NAME 6000
sentinel parallel-syncs $MASTER_NAME 1
EOF
    e2e_spawn "sentinel$i" redis-sentinel "$RD/sentinel$i.conf"
    wait_for "rcli $port ping | grep -q PONG" 10 || fail "sentinel $i did not start on $port"
}

# sentinel_field I FIELD : a field of SENTINEL MASTER spw as Sentinel I sees it
sentinel_field() {
    rcli "${PORT_SENTINELS[$1]}" sentinel master "$MASTER_NAME" 2>/dev/null |
        awk -v f="$2" 'prev == f { print; exit } { prev = $0 }'
}

redis_start master "$PORT_MASTER"
redis_start replica "$PORT_REPLICA" "replicaof 127.0.0.1 $PORT_MASTER"
wait_for "rcli $PORT_REPLICA info replication | grep -q '^master_link_status:up'" 20 ||
    fail "the replica did not sync with the master"
for i in 0 1 2; do sentinel_start "$i"; done
# Before any failover every Sentinel must know the replica and the two
# others (they find each other through the master's hello channel).
for i in 0 1 2; do
    wait_for "[[ \$(sentinel_field $i num-other-sentinels) == 2 && \$(sentinel_field $i num-slaves) == 1 ]]" 30 ||
        fail "sentinel $i: $(sentinel_field "$i" num-other-sentinels) other sentinels, $(sentinel_field "$i" num-slaves) replicas"
done
log "redis master :$PORT_MASTER, replica :$PORT_REPLICA, sentinels ${PORT_SENTINELS[*]} ready"

# ---------------------------------------------------------------------------
# Node A (Postfix + spillway-routed) and node B (spillway-routed only)

"$SW_CTL" genkey "$E2E_DIR/cluster.key" >/dev/null || fail "genkey"
cluster_group() {
    local eps="" p
    for p in "${PORT_SENTINELS[@]}"; do eps+="${eps:+, }\"inet:127.0.0.1:$p\""; done
    printf 'cluster: { sentinels = [%s]; master = "%s"; node = "%s"; key_file = "%s";\n' \
        "$eps" "$MASTER_NAME" "$1" "$E2E_DIR/cluster.key"
    printf '           timeout = "1s"; heartbeat = "1s"; peer_timeout = "5s"; };\n'
}

relay_start primary "$PORT_PRIMARY" 127.0.0.1
relay_start alt1 "$PORT_ALT1" 127.0.0.2
relay_start alt2 "$PORT_ALT2" 127.0.0.3
pf_setup "$(sw_main_cf_auto | head -n 1)" "$(sw_main_cf_auto | tail -n 1)"
sw_config_auto '{ name = "pool-reputation"; classes = ["reputation"]; scope = "destination";
                  threshold = { events = 3; window = "10m"; ratio = 0.2; }; hold = "30m"; }' \
    "" "" "$(cluster_group a)"

# Node B: A's config with its own sockets, state and render directory, no
# maillog (it has no MTA), node "b".
mkdir -p "$SWB/render"
sed -e "s|^\( *socketmap = \).*|\1[\"unix:$SWB/socketmap.sock\", \"inet:127.0.0.1:$PORT_SOCKMAP_B\"];|" \
    -e "s|\"$SW_DIR/|\"$SWB/|g" \
    -e '/^ *maillog = /d' \
    -e 's|node = "a";|node = "b";|' "$SW_CONF" >"$SWB_CONF"
if ! grep -q 'node = "b"' "$SWB_CONF" || grep -q "$SW_DIR/" "$SWB_CONF" || grep -q 'maillog' "$SWB_CONF"; then
    fail "node B's config was not derived from A's: $(cat "$SWB_CONF")"
fi
"$SW_ROUTED" -n -c "$SWB_CONF" >/dev/null || fail "node B's spillway.conf does not validate"

sw_start
pf_start
e2e_spawn routed-b "$SW_ROUTED" -e -c "$SWB_CONF"
wait_for "swctlb status" 15 || fail "node B did not start"

wait_for "grep -q 'cluster: state=ok node=a redis=inet:127.0.0.1:$PORT_MASTER' '$LOGA'" 20 ||
    fail "node A did not reach cluster state=ok"
wait_for "grep -q 'cluster: state=ok node=b redis=inet:127.0.0.1:$PORT_MASTER' '$LOGB'" 20 ||
    fail "node B did not reach cluster state=ok"
swctl status | grep -q '^cluster: ok, node a' || fail "A's status: $(swctl status | grep -i cluster)"
log "both nodes: cluster state=ok against :$PORT_MASTER"

# ---------------------------------------------------------------------------
# 1. An operator's pin on B reaches A

before=$(smc "inet:127.0.0.1:$PORT_SOCKMAP" "transport x@dest.example")
swctlb divert dest.example --to alt-eu --for 1h --reason "t95 pin on b" >/dev/null ||
    fail "divert on B refused"
wait_for "grep -qE 'pin: scope=destination:dest.example from=primary to=alt-eu .* node=b ' '$LOGA'" 15 ||
    fail "B's pin did not reach A"
swctl explain x@dest.example | grep -q 'node=b' || fail "A's explain: $(swctl explain x@dest.example)"
pinned=$(smc "inet:127.0.0.1:$PORT_SOCKMAP" "transport x@dest.example")
[[ $pinned != "$before" && $pinned == OK* ]] ||
    fail "A's socketmap answer for dest.example: '$before' before the pin, '$pinned' after"
expect_eq "B's own answer" "$(smc "inet:127.0.0.1:$PORT_SOCKMAP_B" "transport x@dest.example")" "$pinned"
[[ -n $(rcli "$PORT_MASTER" hget "$KEY" destination:dest.example) ]] || fail "the pin is not in Redis"
log "B's pin reached A: $before -> $pinned"

# ---------------------------------------------------------------------------
# 2. Lookups against both nodes, all along (through the failover too)

# A bounded loop (count and time): each round asks A and B, one connection
# each, for the pinned destination and another.  A refusal, a hang (5 s),
# a TEMP or an unexpected answer for the pinned destination is a failure.
LOOKUPS=$E2E_DIR/lookups.out
STOP=$E2E_DIR/lookups.stop
cat >"$E2E_DIR/lookups.py" <<'PY'
import os, socket, sys, time
pa, pb, pinned, stop, out = sys.argv[1:]

def ask(port, reqs):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    s.settimeout(5)
    buf, res = b"", []
    for q in reqs:
        b = q.encode()
        s.sendall(b"%d:%s," % (len(b), b))
        while True:
            if b":" in buf:
                n, rest = buf.split(b":", 1)
                if len(rest) >= int(n) + 1:
                    res.append(rest[:int(n)].decode())
                    buf = rest[int(n) + 1:]
                    break
            c = s.recv(4096)
            if not c:
                raise EOFError("closed")
            buf += c
    s.close()
    return res

ok = bad = 0
deadline = time.monotonic() + 150
with open(out, "w") as f:
    for i in range(3000):
        if os.path.exists(stop) or time.monotonic() > deadline:
            break
        for node, port in (("A", pa), ("B", pb)):
            try:
                r = ask(port, [f"transport u{i}@dest.example", f"transport u{i}@other{i % 7}.example"])
                good = r[0] == pinned and r[1].split(" ")[0] in ("OK", "NOTFOUND")
            except Exception as e:
                r, good = [repr(e)], False
            if good:
                ok += 1
            else:
                bad += 1
                print(f"round {i} node {node}: {r}", file=f, flush=True)
        time.sleep(0.02)
    print(f"lookups ok={ok} bad={bad}", file=f, flush=True)
PY
e2e_spawn lookups "$E2E_PYTHON" "$E2E_DIR/lookups.py" "$PORT_SOCKMAP" "$PORT_SOCKMAP_B" "$pinned" "$STOP" "$LOOKUPS"
sleep 0.5
send_mail a@dest.example 4 pinned || fail "mail refused"
send_mail a@other1.example 3 other || fail "mail refused"
send_mail a@other2.example 3 other2 || fail "mail refused"
wait_for "(( \$(relay_count alt1) + \$(relay_count primary) >= 10 ))" 30 ||
    fail "the first mail was not delivered"
expect_eq "the pinned destination's mail went to alt-eu" "$(relay_count alt1)" 4

# ---------------------------------------------------------------------------
# 3. The failover

# A write lost in the failover: the replica (made writable for this) drops
# the pin the master has; only the pin's owner re-asserting it after the
# failover brings it back.
rcli "$PORT_REPLICA" config set replica-read-only no >/dev/null
rcli "$PORT_REPLICA" hdel "$KEY" destination:dest.example >/dev/null
expect_eq "the replica lacks the pin" "$(rcli "$PORT_REPLICA" hexists "$KEY" destination:dest.example)" 0
expect_eq "the master has the pin" "$(rcli "$PORT_MASTER" hexists "$KEY" destination:dest.example)" 1

na=$(wc -l <"$LOGA")
nb=$(wc -l <"$LOGB")
log "SIG$SIGNAL to the master (:$PORT_MASTER)"
mpid=$(cat "$E2E_DIR/pids/redis-master.pid")
kill -"$SIGNAL" "$mpid"
[[ $SIGNAL != KILL ]] || wait "$mpid" 2>/dev/null || true
# Mail goes on while the link is down.
send_mail b@dest.example 3 during || fail "mail refused during the failover"
send_mail b@other3.example 2 during2 || fail "mail refused during the failover"

# after_in LOG FROM-LINE REGEX... : the REGEXes appear in LOG after line
# FROM-LINE, each after the one before
after_in() {
    local f=$1 from=$2 n re m
    n=$from
    shift 2
    for re in "$@"; do
        m=$(tail -n +"$((n + 1))" "$f" | grep -nE -m 1 -- "$re" | cut -d: -f1) || return 1
        [[ -n $m ]] || return 1
        n=$((n + m))
    done
}
NEW="inet:127.0.0.1:$PORT_REPLICA"
OLD="inet:127.0.0.1:$PORT_MASTER"
for nl in "a $LOGA $na" "b $LOGB $nb"; do
    read -r node f from <<<"$nl"
    wait_for "after_in '$f' $from 'warning: cluster: state=degraded node=$node ' \
        'cluster: master=$NEW \\(was $OLD\\) from sentinel ' \
        'cluster: state=ok node=$node redis=$NEW '" 60 ||
        fail "node $node: no degraded, master=$NEW (was $OLD), state=ok in that order:
$(tail -n +"$((from + 1))" "$f" | grep 'cluster:')"
done
expect_eq "the replica was promoted" "$(rcli "$PORT_REPLICA" role | head -n 1)" master
log "both nodes: degraded, then master=$NEW, then state=ok"

wait_for "[[ \$(rcli $PORT_REPLICA hexists $KEY destination:dest.example) == 1 ]]" 15 ||
    fail "the pin was not re-asserted on the new master"
rcli "$PORT_REPLICA" hget "$KEY" destination:dest.example | grep -q 'node=b' ||
    fail "the re-asserted pin: $(rcli "$PORT_REPLICA" hget "$KEY" destination:dest.example)"
swctl explain x@dest.example | grep -q 'node=b' || fail "A lost B's pin"
log "the pin is on the new master (re-asserted by its owner)"

swctl divert late.example --to alt-us --for 1h --reason "t95 pin on a after the failover" >/dev/null ||
    fail "divert on A refused"
wait_for "grep -qE 'pin: scope=destination:late.example from=primary to=alt-us .* node=a ' '$LOGB'" 15 ||
    fail "A's pin after the failover did not reach B"
swctlb explain x@late.example | grep -q 'node=a' || fail "B's explain: $(swctlb explain x@late.example)"
send_mail c@late.example 2 late || fail "mail refused"
log "A's pin after the failover reached B"

# ---------------------------------------------------------------------------
# 4. Lookups all answered; mail delivered exactly once

touch "$STOP"
wait_for "grep -q '^lookups ' '$LOOKUPS'" 15 || fail "the lookup loop did not end"
res=$(tail -n 1 "$LOOKUPS")
log "$res"
if ! [[ $res =~ ^lookups\ ok=([0-9]+)\ bad=0$ ]] || ((BASH_REMATCH[1] == 0)); then
    fail "lookups not all answered: $(head -n 5 "$LOOKUPS")"
fi

pf_wait_empty 60 || fail "queue did not drain"
assert_exactly_once || fail "exactly-once check failed"
expect_eq "bounced" "$(pf_bounced_count)" 0
expect_eq "alt-eu got every dest.example message" "$(relay_count alt1)" 7
expect_eq "alt-us got every late.example message" "$(relay_count alt2)" 2
expect_eq "the primary got the rest" "$(relay_count primary)" 8

e2e_kill routed-b
sw_stop
echo "t95-cluster-sentinel: ok ($((SECONDS - start))s)"
