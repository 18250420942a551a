# shellcheck shell=bash
# tests/e2e/cluster.sh - several spillway nodes sharing one Redis (issue 15),
# on top of lib.sh and sw.sh (source both first).
#
# One redis-server on loopback (config on stdin: no save, no AOF), one key
# file every node shares, and N nodes.  A node is its own private Postfix
# instance (own queue, main.cf, maillog written by its postlogd, smtpd and
# socketmap ports) with its own spillway-routed following that maillog
# (sw_config_auto) and a cluster group naming the node.  The relays
# (relay_start) are shared: every node relays to the same primary, alt1
# (127.0.0.2) and alt2 (127.0.0.3), so assert_exactly_once counts over all
# nodes (send_mail of every node appends to the one sent.list).
#
# lib.sh and sw.sh work on one instance through globals (PF_*, PORT_SMTPD,
# PORT_SOCKMAP, SW_DIR, SW_CONF, SW_SOCKMAP, SW_MILTER_SOCK); node_use NAME
# points all of them at node NAME, so pf_*, send_mail, swctl and smc act on
# that node.  Layout: $E2E_DIR/nodes/NAME/{pf,sw}.
#
#   cl_ports BASE            relays BASE+1..3, Redis BASE+5, node i (0..)
#                            smtpd BASE+10+10i, socketmap BASE+11+10i
#   cl_redis_start / cl_redis_kill9 / cl_redis_stop / cl_redis_pause / cl_redis_resume
#   rcli ARGS...             redis-cli against the test's Redis
#   cl_key_file              the shared key file (made by cl_setup)
#   cl_setup RULES NODE...   key file, Redis, every node configured (not started)
#   node_use NAME            switch the globals to node NAME
#   node_start               start the current node's spillway-routed and Postfix
#   node_stop_sw             stop the current node's spillway-routed
#   node_log                 path of the current node's spillway-routed log
#   node_log_count REGEX     lines of it matching REGEX
#   node_wait_log REGEX TIMEOUT   wait until a line matches; 1 on timeout
#   cl_wait_up TIMEOUT       every node: cluster ok with every other node a live peer
#   cl_json_field FIELD      the current node's `--json status` cluster.FIELD
#   cl_cleanup               trap it on EXIT: every node's Postfix, then e2e_cleanup
#                            (which stops Redis, relays and daemons: all tracked)

CL_NODES=()
CL_KEY=$E2E_DIR/cluster.key
# The socket paths sw.sh derived for the default instance, relative to the
# queue directory: the same for every node, under its own queue directory.
CL_SOCKMAP_REL=${SW_SOCKMAP#"$PF_SPOOL"/}
CL_MILTER_REL=${SW_MILTER_SOCK#"$PF_SPOOL"/}

# cl_ports BASE
# shellcheck disable=SC2034  # used by lib.sh, sw.sh and the tests
cl_ports() {
    CL_BASE=$1
    PORT_PRIMARY=$((CL_BASE + 1))
    PORT_ALT1=$((CL_BASE + 2))
    PORT_ALT2=$((CL_BASE + 3))
    PORT_REDIS=$((CL_BASE + 5))
}

# ---------------------------------------------------------------------------
# Redis

# cl_redis_start : a fresh, empty Redis (config on stdin, no persistence)
cl_redis_start() {
    _e2e_init
    # Not through e2e_spawn: the config comes on stdin.  The pid is redis's
    # own (no shell in between), so SIGKILL/SIGSTOP reach it.
    redis-server - >>"$E2E_DIR/logs/redis.log" 2>&1 <<EOF &
port $PORT_REDIS
bind 127.0.0.1
save ""
appendonly no
dir $E2E_DIR
EOF
    echo $! >"$E2E_DIR/pids/redis.pid"
    wait_for "[[ \$(rcli PING 2>/dev/null) == PONG ]]" 10 || fail "redis-server did not start on $PORT_REDIS"
}

_cl_redis_pid() { cat "$E2E_DIR/pids/redis.pid"; }

# cl_redis_kill9 : the crash (its data is gone: nothing was saved)
cl_redis_kill9() {
    local pid
    pid=$(_cl_redis_pid)
    kill -CONT "$pid" 2>/dev/null || true
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    rm -f "$E2E_DIR/pids/redis.pid"
}

cl_redis_stop() {
    [[ -f $E2E_DIR/pids/redis.pid ]] && kill -CONT "$(_cl_redis_pid)" 2>/dev/null
    e2e_kill redis
}
cl_redis_pause() { kill -STOP "$(_cl_redis_pid)"; }
cl_redis_resume() { kill -CONT "$(_cl_redis_pid)"; }

# rcli ARGS... : redis-cli against the test's Redis (raw output)
rcli() { timeout 10 redis-cli --raw -h 127.0.0.1 -p "$PORT_REDIS" "$@"; }

# ---------------------------------------------------------------------------
# nodes

# node_use NAME : point lib.sh's and sw.sh's globals at node NAME
# shellcheck disable=SC2034  # used by lib.sh and sw.sh
node_use() {
    local i
    for ((i = 0; i < ${#CL_NODES[@]}; i++)); do
        [[ ${CL_NODES[i]} == "$1" ]] && break
    done
    ((i < ${#CL_NODES[@]})) || fail "node_use: no node $1"
    CL_NODE=$1
    PORT_SMTPD=$((CL_BASE + 10 + 10 * i))
    PORT_SOCKMAP=$((CL_BASE + 11 + 10 * i))
    PF_DIR=$E2E_DIR/nodes/$1/pf
    PF_ETC=$PF_DIR/etc
    PF_SPOOL=$PF_DIR/spool
    PF_DATA=$PF_DIR/data
    PF_LOG=$PF_DIR/maillog
    SW_DIR=$E2E_DIR/nodes/$1/sw
    SW_CONF=$SW_DIR/spillway.conf
    SW_SOCKMAP=$PF_SPOOL/$CL_SOCKMAP_REL
    SW_MILTER_SOCK=$PF_SPOOL/$CL_MILTER_REL
}

# cl_group [EXTRA] : the current node's cluster group
cl_group() {
    printf 'cluster: { redis = "inet:127.0.0.1:%s"; node = "%s"; key_file = "%s"; heartbeat = "1s"; peer_timeout = "5s"; %s };\n' \
        "$PORT_REDIS" "$CL_NODE" "$CL_KEY" "${1:-}"
}

# cl_setup RULES NODE... : key file, Redis, relays, and the nodes configured
# (Postfix with socketmap routing and the dsn filter, spillway following its
# maillog, in the cluster).  CL_EXTRA: more keys for every cluster group.
cl_setup() {
    local rules=$1 n
    shift
    CL_NODES=("$@")
    _e2e_init
    "$SW_CTL" genkey "$CL_KEY" >/dev/null || fail "spillwayctl genkey"
    cl_redis_start
    relay_start primary "$PORT_PRIMARY" 127.0.0.1
    relay_start alt1 "$PORT_ALT1" 127.0.0.2
    relay_start alt2 "$PORT_ALT2" 127.0.0.3
    for n in "$@"; do
        node_use "$n"
        mkdir -p "$E2E_DIR/nodes/$n"
        chmod 755 "$E2E_DIR/nodes" "$E2E_DIR/nodes/$n"
        pf_setup "$(sw_main_cf_auto | head -n 1)" "$(sw_main_cf_auto | tail -n 1)"
        sw_config_auto "$rules" "" "" "$(cl_group "${CL_EXTRA:-}")"
    done
}

node_log() { echo "$E2E_DIR/logs/routed-$CL_NODE.log"; }
node_log_count() { grep -cE -- "$1" "$(node_log)" || true; }
node_wait_log() { wait_for "grep -qE -- '$1' '$(node_log)'" "$2"; }

# node_start : spillway-routed (waits until it answers and has rendered its
# table), then Postfix
node_start() {
    e2e_spawn "routed-$CL_NODE" "$SW_ROUTED" -e -c "$SW_CONF"
    wait_for "swctl status >/dev/null 2>&1 && [[ -f $SW_DIR/render/transport.lmdb ]]" 15 ||
        fail "spillway-routed of node $CL_NODE did not start"
    pf_start
}

node_stop_sw() { e2e_kill "routed-$CL_NODE"; }

# cl_json_field FIELD : cluster.FIELD of the current node's status
cl_json_field() {
    swctl --json status | "$E2E_PYTHON" -c '
import json, sys
v = json.load(sys.stdin)["cluster"][sys.argv[1]]
print(json.dumps(v) if isinstance(v, (list, dict)) else v)' "$1"
}

# _cl_node_up : the current node is ok and sees every other node as a peer
_cl_node_up() {
    local st n
    st=$(swctl status) || return 1
    grep -q '^cluster: ok, node ' <<<"$st" || return 1
    for n in "${CL_NODES[@]}"; do
        [[ $n == "$CL_NODE" ]] && continue
        grep -qE "^  peer $n +last contact" <<<"$st" || return 1
    done
}

# cl_wait_up TIMEOUT : every node up with all its peers
cl_wait_up() {
    local n keep=${CL_NODE:-}
    for n in "${CL_NODES[@]}"; do
        node_use "$n"
        wait_for _cl_node_up "$1" || { swctl status >&2; fail "node $n: cluster not up with its peers"; }
    done
    [[ -n $keep ]] && node_use "$keep"
    return 0
}

# cl_assert_no_bounce : no node bounced anything
cl_assert_no_bounce() {
    local n
    for n in "${CL_NODES[@]}"; do
        node_use "$n"
        expect_eq "node $n: bounced" "$(pf_bounced_count)" 0
    done
}

# cl_wait_empty TIMEOUT : every node's queue drains
cl_wait_empty() {
    local n
    for n in "${CL_NODES[@]}"; do
        node_use "$n"
        pf_wait_empty "$1" || fail "node $n: queue did not drain"
    done
}

# cl_cleanup : every node's Postfix, then e2e_cleanup (tracked processes:
# the daemons, the relays, Redis); on failure the tail of every node's logs
cl_cleanup() {
    local rc=$? n
    set +e
    if [[ -f $E2E_DIR/pids/redis.pid ]]; then
        kill -CONT "$(_cl_redis_pid)" 2>/dev/null
    fi
    for n in "${CL_NODES[@]}"; do
        node_use "$n"
        if ((rc != 0)); then
            echo "---- node $n: last maillog lines" >&2
            [[ -f $PF_LOG ]] && tail -n 15 "$PF_LOG" >&2
            echo "---- node $n: last spillway-routed lines" >&2
            [[ -f $(node_log) ]] && tail -n 25 "$(node_log)" >&2
        fi
        pf_stop
    done
    (exit "$rc")
    e2e_cleanup
}

# cl_sign : sign the record on stdin (one line, without its mac) as a node
# holding the shared key does: HMAC-SHA256 with the key file's first key
# over "spillway-cluster/1|" + the line; prints the line with "\tmac=HEX".
# Lets a test write "correctly signed but bad" records.
cl_sign() {
    "$E2E_PYTHON" -c '
import hashlib, hmac, sys
kid, secret = next(l.split() for l in open(sys.argv[1]) if l.strip() and not l.startswith("#"))
line = sys.stdin.read().rstrip("\n")
assert "\tk=" + kid + "\t" in line, "record names another key than " + kid
mac = hmac.new(bytes.fromhex(secret), b"spillway-cluster/1|" + line.encode(), hashlib.sha256).hexdigest()
print(line + "\tmac=" + mac)' "$CL_KEY"
}

# cl_key_id : the id of the shared key (the k= of the records)
cl_key_id() { awk '!/^#/ && NF == 2 { print $1; exit }' "$CL_KEY"; }
