#!/bin/bash
# tests/e2e/t93-cluster.sh - several nodes sharing evidence and decisions
# through Redis (issue 15): three real Postfix instances, each with its own
# spillway-routed (cluster group) following its own mail log, one Redis,
# relays shared by all (tests/e2e/cluster.sh).
#
#   propagation  the primary refuses one destination with a real provider
#                text; the refused mail goes through node a only.  Nodes b
#                and c divert the destination (from a's evidence or a's
#                decision) before they ever sent mail there; their mail for
#                it then reaches the alternate.  Every message exactly once
#                over all relays, none bounced on any node.
#   operator     a pin made on b holds on a (explain names node=b, a's
#                socket map answers the alternate); released on a, it is
#                released on b; a relay drained on c is drained on a and b,
#                enabled again on a, on all; a short pin expires on every
#                node by itself (no release record in the stream).
#   refused      records written into the stream by hand: a bad mac is
#                counted as a rejected signature by every node, a correctly
#                signed record naming a relay nobody has as rejected unknown;
#                neither moves a route.  The same record correctly signed
#                and naming a known relay does (the control: the refusals
#                are for the mac and the relay, not for the writer).
# Run as root.  Usage: t93-cluster.sh [SCENARIO...]   (default: all)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ALL="propagation operator refused"
BLOCK="550 5.7.606 Access denied, banned sending IP [40.107.1.2]. To request removal from this list please visit https://sender.office.com/"
DEST_RULE='{ name = "pool-reputation"; classes = ["reputation"]; scope = "destination";
             threshold = { events = 3; window = "10m"; ratio = 0.2; }; hold = "30m"; hold_max = "8h"; }'

[[ $(id -u) == 0 ]] || { echo "t93-cluster: must run as root" >&2; exit 1; }
scenarios=${*:-$ALL}
start=$SECONDS
E2E_DIR=$(mktemp -d /tmp/spillway-e2e-t93.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
# shellcheck source=cluster.sh
. "$HERE/cluster.sh"
trap cl_cleanup EXIT
cl_ports "${T93_BASE:-27000}"

cl_setup "$DEST_RULE" a b c
for n in a b c; do
    node_use "$n"
    node_start
done
cl_wait_up 30
log "nodes a b c up, Redis on $PORT_REDIS"

# sm NODE ADDRESS : that node's socket map answer for ADDRESS (inet endpoint)
sm() {
    node_use "$1"
    smc "inet:127.0.0.1:$PORT_SOCKMAP" "transport $2"
}
ALT_EU="OK smtp:[127.0.0.2]:$PORT_ALT1"

# wait_sm NODE ADDRESS WANT TIMEOUT
wait_sm() {
    wait_for "[[ \$(sm $1 $2) == '$3' ]]" "$4" ||
        fail "node $1 answers '$(sm "$1" "$2")' for $2, want '$3'"
}

propagation() {
    local n
    relay_rules primary "fo.example $BLOCK"
    node_use a
    send_mail a@fo.example 4 blocked-a
    for n in a b c; do
        node_use "$n"
        send_mail "$n@ok.example" 2 "ok-$n"
    done
    node_use a
    node_wait_log 'divert: scope=destination:fo.example pool=m365 from=primary to=alt-eu rule=pool-reputation ' 30 ||
        fail "node a did not divert fo.example"
    (($(pf_log_count 'to=<a@fo.example>.*said: 550 5.7.606') >= 3)) ||
        fail "node a's mail log does not show the refusals"
    for n in b c; do
        node_use "$n"
        node_wait_log 'divert: scope=destination:fo.example .*to=alt-eu' 30 ||
            fail "node $n did not divert fo.example (a's evidence or decision)"
        log "node $n: $(grep -m1 'divert: scope=destination:fo.example' "$(node_log)" | cut -d' ' -f3-)"
        expect_eq "node $n: fo.example lines in its own mail log" "$(pf_log_count 'fo\.example')" 0
        wait_sm "$n" u@fo.example "$ALT_EU" 5
        send_mail "$n@fo.example" 3 "via-$n"
    done
    cl_wait_empty 90
    assert_exactly_once || fail "exactly-once check failed"
    cl_assert_no_bounce
    expect_eq "fo.example at alt1" "$(relay_msgids alt1 | grep -cE '^<(blocked-a|via-b|via-c)-')" 10
    expect_eq "ok.example at the primary" "$(relay_msgids primary | grep -cE '^<ok-[abc]-')" 6
    for n in b c; do
        node_use "$n"
        expect_eq "node $n: refusals in its mail log" "$(pf_log_count 'said: 550')" 0
    done
    relay_rules primary ""
}

operator() {
    local n got
    node_use b
    swctl divert op.example --to alt-eu --for 1h --reason "cluster e2e" >/dev/null || fail "divert on b"
    for n in a c; do
        wait_sm "$n" u@op.example "$ALT_EU" 10
        node_use "$n"
        got=$(swctl explain u@op.example)
        grep -qE '^  destination:op.example +pinned +-> alt-eu .* rule=operator node=b reason="cluster e2e"' <<<"$got" ||
            fail "node $n: explain does not show b's pin: $got"
        node_wait_log 'pin: scope=destination:op.example from=primary to=alt-eu rule=operator for=(59m5[0-9]s|1h) uid=0 node=b ' 5 ||
            fail "node $n: no pin line with node=b"
        # The fail-static table follows the shared decision too.
        sw_wait_table_has op.example || fail "node $n: its rendered table lacks b's pin"
    done
    # Mail through a takes b's pin.
    node_use a
    send_mail u@op.example 2 op-a
    pf_wait_empty 60 || fail "node a: queue did not drain"
    expect_eq "op.example through a at alt1" "$(relay_msgids alt1 | grep -c '^<op-a-')" 2

    node_use a
    swctl release op.example >/dev/null || fail "release on a"
    for n in b c; do
        wait_sm "$n" u@op.example "NOTFOUND " 10
        node_use "$n"
        swctl explain u@op.example | grep -q 'pinned' && fail "node $n: still pinned: $(swctl explain u@op.example)"
        node_wait_log 'release: scope=destination:op.example .*node=a' 5 || fail "node $n: no release line with node=a"
        sw_wait_table_lacks op.example || fail "node $n: its rendered table still has the released pin"
    done

    # A relay drained on c is drained on a and b; enabled again on a, on all.
    node_use c
    swctl relay drain alt-us >/dev/null || fail "relay drain on c"
    for n in a b; do
        node_use "$n"
        node_wait_log 'relay: scope=relay:alt-us from=enabled to=draining node=c' 10 ||
            fail "node $n: alt-us not drained after c drained it"
        swctl status | grep -qE '^  alt-us +alternate +draining ' ||
            fail "node $n: status does not show alt-us draining: $(swctl status | grep alt-us)"
    done
    node_use a
    swctl relay enable alt-us >/dev/null || fail "relay enable on a"
    for n in b c; do
        node_use "$n"
        node_wait_log 'relay: scope=relay:alt-us from=draining to=enabled node=a' 10 ||
            fail "node $n: alt-us not enabled after a enabled it"
    done

    # A short pin expires everywhere, each node by itself.
    node_use a
    swctl divert short.example --to alt-eu --for 6s --reason "short" >/dev/null || fail "short divert on a"
    for n in b c; do
        wait_sm "$n" u@short.example "$ALT_EU" 5
    done
    for n in a b c; do
        wait_sm "$n" u@short.example "NOTFOUND " 20
    done
    # Nobody published the expiry: every record of short.example is the pin.
    got=$(rcli XRANGE spillway:stream - + | grep -c 'scope=destination:short.example' || true)
    expect_eq "short.example records in the stream (the pin only)" "$got" 1
}

# counters NODE : "rejected_signature rejected_unknown received_dec"
counters() {
    node_use "$1"
    swctl --json status | "$E2E_PYTHON" -c '
import json, sys
c = json.load(sys.stdin)["cluster"]
print(c["rejected_signature"], c["rejected_unknown"], c["received_dec"])'
}

# forged SCOPE-DOMAIN RELAY : a pin record of node "ops", signed, one line
forged() {
    local now
    now=$(date +%s)
    printf 'v=1\ttype=dec\tnode=ops\tat=%s\tk=%s\tscope=destination:%s\tstate=pinned\trelay=%s\tsince=%s\tuntil=%s\thold=0\trule=operator\treason=forged\tuid=0\tevent=pin\n' \
        "${EPOCHREALTIME/./}" "$(cl_key_id)" "$1" "$2" "$now" "$((now + 3600))" |
        sed 's/^\(.*at=[0-9]\{13\}\)[0-9]*/\1/' | cl_sign
}

refused() {
    local n rec base=() c
    for n in a b c; do
        base+=("$(counters "$n")")
    done
    # 1. A bad mac (last hex digit changed).
    rec=$(forged bad-mac.example alt-eu)
    c=${rec: -1}
    [[ $c == 0 ]] && c=1 || c=0
    rcli XADD spillway:stream '*' r "${rec%?}$c" >/dev/null || fail "XADD"
    # 2. Correctly signed, a relay nobody has.
    rcli XADD spillway:stream '*' r "$(forged unknown-relay.example nowhere)" >/dev/null || fail "XADD"
    # 3. The control: correctly signed, a known relay: taken.
    rcli XADD spillway:stream '*' r "$(forged signed-ok.example alt-eu)" >/dev/null || fail "XADD"
    for n in a b c; do
        wait_sm "$n" u@signed-ok.example "$ALT_EU" 10
    done
    local i=0 want s u d
    for n in a b c; do
        read -r s u d <<<"${base[i]}"
        want="$((s + 1)) $((u + 1)) $((d + 1))"
        wait_for "[[ \$(counters $n) == '$want' ]]" 10 ||
            fail "node $n: rejected signature, unknown, received dec: $(counters "$n"), want $want"
        expect_eq "node $n: bad mac moved nothing" "$(sm "$n" u@bad-mac.example)" "NOTFOUND "
        expect_eq "node $n: unknown relay moved nothing" "$(sm "$n" u@unknown-relay.example)" "NOTFOUND "
        node_use "$n"
        expect_eq "node $n: decision lines for the refused records" \
            "$(node_log_count 'scope=destination:(bad-mac|unknown-relay)\.example')" 0
        swctl status | grep -qE '^  refused: signature [1-9]' || fail "node $n: status shows no refused signature"
        i=$((i + 1))
    done
}

for s in $scenarios; do
    case $s in
    propagation | operator | refused) log "scenario $s"; $s; log "scenario $s: ok" ;;
    *) fail "unknown scenario $s" ;;
    esac
done
echo "t93-cluster: ok ($((SECONDS - start))s)"
