#!/bin/bash
# tests/cli-contract.sh - the command lines keep their promises: one table
# of cases over the four programs (spillway-milter, spillway-routed,
# spillwayctl, spillway-report) and every spillwayctl verb.
#
#   1. --help and --version: stdout, exit 0; --version is "PROGRAM VERSION"
#      with config.h's PACKAGE_VERSION (spillway-report's constant too);
#      an unknown option and a missing option argument exit 2
#   2. spillwayctl, each verb: missing or bad arguments exit 2 before any
#      daemon is asked (a duration without a unit, beyond 366d, a relay
#      action that does not exist); with no daemon on the socket, exit 3;
#      under --json the same exit status and one JSON object on stdout
#      ({"error": ..., "status": N})
#   3. against a spillway-routed in the foreground on a private control
#      socket: every verb answers (text and --json, the JSON parsed), the
#      primary's "relay disable" is refused (1) with a pointer to divert
#      --pool, the daemon itself refuses a duration without a unit, and
#      reload passes on the daemon's warnings (text and JSON)
# No MTA, no network: sockets in a temporary directory.
set -euo pipefail

SRC=${FUZZ_SRCDIR:+$FUZZ_SRCDIR/../..}
SRC=$(cd "${SRC:-$(dirname "$0")/..}" && pwd -P)
BUILD=${SW_BUILDDIR:-$(pwd -P)}
ROUTED=$BUILD/spillway-routed
MILTER=$BUILD/spillway-milter
CTL=$BUILD/spillwayctl
REPORT=$SRC/scripts/spillway-report
PATTERNS=${SW_PATTERNS:-$SRC/conf/patterns.conf}

[[ -x $ROUTED && -x $MILTER && -x $CTL ]] || { echo "FAIL: programs not built in $BUILD"; exit 1; }
PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
command -v perl >/dev/null || { echo "SKIP: perl missing"; exit 77; }
VERSION=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$BUILD/config.h")
[[ -n $VERSION ]] || { echo "FAIL: no PACKAGE_VERSION in $BUILD/config.h"; exit 1; }

dir=$(mktemp -d /tmp/spillway-cli.XXXXXX)
routed_pid=
cleanup() {
    [[ -n $routed_pid ]] && kill -9 "$routed_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
failures=0
checks=0
bad() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run CMD... : run with a time limit; $rc, $dir/out, $dir/err
run() {
    rc=0
    timeout 20 "$@" >"$dir/out" 2>"$dir/err" </dev/null || rc=$?
}

# expect RC WHAT CMD... : the exit status of one case
expect() {
    local want=$1 what=$2
    shift 2
    run "$@"
    checks=$((checks + 1))
    [[ $rc == "$want" ]] ||
        bad "$what: exit $rc, want $want ($*): $(head -c 300 "$dir/err") $(head -c 300 "$dir/out")"
}

# json_is KIND WHAT [STATUS] : stdout is one JSON document (KIND: object,
# list, error); an error object carries "error" and "status" == STATUS
json_is() {
    checks=$((checks + 1))
    "$PY" - "$1" "${3:-}" "$dir/out" <<'EOF' || bad "$2: stdout is not the JSON $1 promised: $(head -c 300 "$dir/out")"
import json, sys
kind, status, path = sys.argv[1], sys.argv[2], sys.argv[3]
doc = json.load(open(path))
if kind == "list":
    assert isinstance(doc, list)
else:
    assert isinstance(doc, dict)
if kind == "error":
    assert isinstance(doc.get("error"), str) and doc["error"], "no error text"
    assert doc.get("status") == int(status), "status %r" % doc.get("status")
EOF
}

# has WHAT FILE TEXT : FILE holds TEXT
has() {
    checks=$((checks + 1))
    grep -qF -- "$3" "$2" || bad "$1: no \"$3\" in: $(head -c 400 "$2")"
}

# ---- 1. --help, --version, unknown options, missing arguments
# program name, command, an option that needs an argument
programs=(
    "spillway-milter|$MILTER|-c"
    "spillway-routed|$ROUTED|-c"
    "spillwayctl|$CTL|-s"
    "spillway-report|$REPORT|--since"
)
for p in "${programs[@]}"; do
    IFS='|' read -r name cmd needs_arg <<<"$p"
    expect 0 "$name --help" "$cmd" --help
    has "$name --help" "$dir/out" "usage: $name"
    checks=$((checks + 1))
    [[ ! -s $dir/err ]] || bad "$name --help wrote to stderr: $(head -c 200 "$dir/err")"
    expect 0 "$name -h" "$cmd" -h
    has "$name -h" "$dir/out" "usage: $name"
    expect 0 "$name --version" "$cmd" --version
    checks=$((checks + 1))
    [[ $(cat "$dir/out") == "$name $VERSION" ]] ||
        bad "$name --version printed \"$(head -c 200 "$dir/out")\", want \"$name $VERSION\""
    expect 2 "$name unknown option" "$cmd" --no-such-option
    checks=$((checks + 1))
    [[ ! -s $dir/out ]] || bad "$name: a usage error wrote to stdout"
    expect 2 "$name $needs_arg without its argument" "$cmd" "$needs_arg"
done
expect 2 "spillway-milter, an extra argument" "$MILTER" extra
expect 2 "spillway-routed, an extra argument" "$ROUTED" extra
expect 2 "spillway-report --year not a number" "$REPORT" --year soon
expect 1 "spillway-report, a missing file" "$REPORT" "$dir/no-such.log"
expect 1 "spillway-routed -n, a missing file" "$ROUTED" -n -c "$dir/no-such.conf"
expect 1 "spillway-milter -n, a missing file" "$MILTER" -n -c "$dir/no-such.conf"

# ---- 2. spillwayctl without a daemon
nosock=(-s "$dir/nobody-listens.sock")
# exit status | arguments (split on spaces; no case needs a space inside)
ctl_cases=(
    # usage errors, decided before any daemon is asked
    "2|"
    "2|frobnicate"
    "2|status extra"
    "2|reload extra"
    "2|history extra"
    "2|history --since 60"
    "2|history --since yesterday"
    "2|history --since"
    "2|explain"
    "2|explain a@example.com b@example.com"
    "2|divert"
    "2|divert example.com --reason r"
    "2|divert example.com --for 2h"
    "2|divert example.com --for 30 --reason r"
    "2|divert example.com --for 1h30 --reason r"
    "2|divert example.com --for 367d --reason r"
    "2|divert example.com --for 366d1s --reason r"
    "2|divert example.com --for 0m --reason r"
    "2|divert --pool m365 --for 30 --reason r"
    "2|release"
    "2|release a.example b.example"
    "2|relay"
    "2|relay disable"
    "2|relay pause alt"
    "2|relay disable alt extra"
    "2|classify"
    "2|patterns extra"
    "2|dns-records extra"
    # an option the verb would ignore
    "2|status --for 2h"
    "2|release example.com --for 2h"
    "2|explain a@example.com --pool m365"
    "2|history --reason r"
    "2|status --since 1h"
    "2|reload --to alt"
    "2|status --mx mx.example"
    "2|status --patterns /dev/null"
    # well formed: the daemon cannot be reached
    "3|status"
    "3|explain someone@example.com"
    "3|divert example.com --for 2h --reason r"
    "3|divert example.com --for 366d --reason r"
    "3|divert --pool m365 --to alt --for 1h30m --reason r"
    "3|release example.com"
    "3|release --pool m365"
    "3|relay enable alt"
    "3|relay disable alt"
    "3|relay drain alt"
    "3|history"
    "3|history --since 1h"
    "3|reload"
)
for c in "${ctl_cases[@]}"; do
    want=${c%%|*}
    read -r -a args <<<"${c#*|}"
    expect "$want" "spillwayctl ${args[*]}" "$CTL" "${nosock[@]}" "${args[@]}"
    checks=$((checks + 1))
    [[ -s $dir/err ]] || bad "spillwayctl ${args[*]}: exit $want without a word on stderr"
    expect "$want" "spillwayctl --json ${args[*]}" "$CTL" "${nosock[@]}" --json "${args[@]}"
    json_is error "spillwayctl --json ${args[*]}" "$want"
done
# --json after the verb is the same option
expect 3 "spillwayctl status --json" "$CTL" "${nosock[@]}" status --json
json_is error "spillwayctl status --json" 3

# The verbs that need no daemon, on a configuration of the test's own.
mkdir -p "$dir/pf" "$dir/render" "$dir/render2"
printf 'compatibility_level = 3.6\n' >"$dir/pf/main.cf"
# conf FILE RENDER_DIR : a routed config on the test's sockets
conf() {
    cat >"$1" <<EOF
routed: { socketmap = [ "unix:$dir/socketmap" ];
          control = "$dir/control.sock"; evidence = "$dir/evidence.sock";
          state = "$dir/state"; render_dir = "$2"; postfix_config = "$dir/pf"; };
classify: { patterns = "$PATTERNS"; };
pools = ( { name = "m365"; relays = ["m365"]; } );
relays = ( { name = "m365"; nexthop = "[127.0.0.1]:9"; role = "primary"; },
           { name = "alt"; nexthop = "[127.0.0.2]:9"; priority = 10; } );
EOF
}
conf "$dir/a.conf" "$dir/render"
expect 0 "classify" "$CTL" --patterns "$PATTERNS" classify "550 5.7.1 your IP is listed"
expect 0 "classify --json" "$CTL" --json --patterns "$PATTERNS" classify "550 5.7.1 your IP is listed"
json_is object "classify --json"
expect 0 "patterns" "$CTL" --patterns "$PATTERNS" patterns
expect 1 "dns-records, no return path" "$CTL" -c "$dir/a.conf" dns-records --mx mx.example
expect 1 "dns-records --json, no return path" "$CTL" -c "$dir/a.conf" --json dns-records --mx mx.example
json_is error "dns-records --json" 1
expect 1 "a configuration that cannot be read" "$CTL" -c "$dir/no-such.conf" status
expect 1 "--json, a configuration that cannot be read" "$CTL" -c "$dir/no-such.conf" --json status
json_is error "--json, a configuration that cannot be read" 1

# ---- 3. against spillway-routed
"$ROUTED" -c "$dir/a.conf" -e >"$dir/routed.log" 2>&1 </dev/null &
routed_pid=$!
for i in $(seq 100); do
    [[ -S $dir/control.sock ]] && timeout 5 "$CTL" -s "$dir/control.sock" status >/dev/null 2>&1 && break
    kill -0 "$routed_pid" 2>/dev/null || { cat "$dir/routed.log"; echo "FAIL: spillway-routed did not start"; exit 1; }
    sleep 0.1
done
sock=(-s "$dir/control.sock")

# exit status | JSON kind under --json | arguments
live_cases=(
    "0|object|status"
    "0|object|explain someone@example.com"
    "1|error|explain user@[192.0.2.1]"
    "0|object|divert example.com --to alt --for 2h --reason incident"
    "1|error|divert example.org --to nosuch --for 2h --reason incident"
    "0|object|release example.com"
    "1|error|release example.com"
    "1|error|divert --pool nosuch --for 2h --reason r"
    "0|object|relay drain alt"
    "0|object|relay enable alt"
    "1|error|relay enable nosuch"
    "1|error|relay disable m365"
    "0|object|relay drain m365"
    "0|object|relay enable m365"
    "0|list|history"
    "0|list|history --since 1h"
    "0|object|reload"
)
for c in "${live_cases[@]}"; do
    IFS='|' read -r want kind rest <<<"$c"
    read -r -a args <<<"$rest"
    expect "$want" "live: spillwayctl ${args[*]}" "$CTL" "${sock[@]}" "${args[@]}"
    if [[ $want == 0 ]]; then
        checks=$((checks + 1))
        [[ -s $dir/out ]] || bad "live: spillwayctl ${args[*]}: nothing on stdout"
    fi
    # A change that was made is undone before its --json twin runs, so
    # both forms meet the same state.
    [[ ${args[0]} == divert && $want == 0 ]] && "$CTL" "${sock[@]}" release example.com >/dev/null
    [[ ${args[0]} == release && $want == 0 ]] &&
        "$CTL" "${sock[@]}" divert example.com --to alt --for 2h --reason again >/dev/null
    expect "$want" "live: spillwayctl --json ${args[*]}" "$CTL" "${sock[@]}" --json "${args[@]}"
    json_is "$kind" "live: spillwayctl --json ${args[*]}" "$want"
done

# The primary: refused, with the way to move its mail
expect 1 "relay disable of the primary" "$CTL" "${sock[@]}" relay disable m365
has "relay disable of the primary" "$dir/err" \
    'relay m365 is the primary: to move its mail use `spillwayctl divert --pool m365'
expect 0 "status after the refusal" "$CTL" "${sock[@]}" --json status
checks=$((checks + 1))
"$PY" -c 'import json,sys; r=[x for x in json.load(open(sys.argv[1]))["relays"] if x["name"]=="m365"]; sys.exit(r[0]["admin"]!="enabled")' "$dir/out" ||
    bad "the refused disable changed the primary's state: $(head -c 300 "$dir/out")"

# The daemon refuses a duration without a unit on its own (a client that
# is not spillwayctl), and one beyond the maximum
# ask REQUEST : one raw control request, the reply in $dir/out
ask() {
    timeout 10 "$PY" - "$dir/control.sock" "$1" >"$dir/out" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
EOF
}
ask $'verb=divert\tscope=example.net\tto=alt\tfor=30\treason=r'
has "the daemon, a duration without a unit" "$dir/out" "error: bad duration for --for: a number with its unit"
ask $'verb=divert\tscope=example.net\tto=alt\tfor=367d\treason=r'
has "the daemon, a duration beyond 366d" "$dir/out" "error: bad duration for --for"
ask $'verb=divert\tscope=example.net\tto=alt\tfor=30m\treason=r'
has "the daemon, a duration with its unit" "$dir/out" "ok"
"$CTL" "${sock[@]}" release example.net >/dev/null

# reload passes on the daemon's warnings: a render_dir change waits for
# a restart
conf "$dir/a.conf" "$dir/render2"
expect 0 "reload with a warning" "$CTL" "${sock[@]}" reload
has "reload with a warning" "$dir/out" "warning: listener, state and render_dir changes take effect at the next restart"
expect 0 "reload --json with a warning" "$CTL" "${sock[@]}" --json reload
json_is object "reload --json with a warning"
checks=$((checks + 1))
"$PY" -c 'import json,sys; w=json.load(open(sys.argv[1]))["warnings"]; sys.exit(not any("take effect at the next restart" in x for x in w))' "$dir/out" ||
    bad "reload --json: no warning in the list: $(head -c 300 "$dir/out")"
conf "$dir/a.conf" "$dir/render"
expect 0 "reload without a warning" "$CTL" "${sock[@]}" reload
checks=$((checks + 1))
! grep -q '^warning:' "$dir/out" || bad "reload warns of nothing: $(cat "$dir/out")"
echo 'relays = (' >"$dir/a.conf"
expect 1 "reload of a broken file" "$CTL" "${sock[@]}" reload
has "reload of a broken file" "$dir/err" "reload refused"
expect 1 "reload --json of a broken file" "$CTL" "${sock[@]}" --json reload
json_is error "reload --json of a broken file" 1

kill -TERM "$routed_pid"
for i in $(seq 50); do kill -0 "$routed_pid" 2>/dev/null || break; sleep 0.1; done
wait "$routed_pid" 2>/dev/null || true
routed_pid=

if ((failures)); then
    echo "cli-contract: $failures of $checks checks failed"
    exit 1
fi
echo "cli-contract: ok ($checks checks)"
