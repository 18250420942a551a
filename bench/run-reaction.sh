#!/bin/bash
# bench/run-reaction.sh - reaction time of spillway-routed: from the mail
# log line that crosses a rule's threshold to the changed socketmap answer
# (target: under 10 ms).  A real daemon, a real log file on disk, inotify.
# Bounded: ROUNDS (default 50) rounds of at most 2 s.  Run from the top of
# a built tree (or set SW_BUILDDIR).  Needs no Postfix.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)
build=${SW_BUILDDIR:-$top}
rounds=${ROUNDS:-50}
port=${PORT:-26100}
dir=$(mktemp -d /tmp/spillway-bench-reaction.XXXXXX)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
cat >"$dir/spillway.conf" <<CONF
routed: { socketmap = "inet:127.0.0.1:$port"; control = "$dir/control.sock"; state = "$dir/state";
          render_dir = "$dir"; maillog = "$dir/maillog"; };
classify: { patterns = "$top/conf/patterns.conf"; };
pools = ( { name = "m365"; relays = ["primary"]; } );
relays = ( { name = "primary"; nexthop = "[127.0.0.1]:2525"; role = "primary"; },
           { name = "alt"; nexthop = "[127.0.0.2]:2525"; } );
rules = ( { name = "rep"; classes = ["reputation"]; threshold = { events = 3; window = "10m"; }; hold = "1h"; } );
CONF
: >"$dir/maillog"
"$build/spillway-routed" -c "$dir/spillway.conf" 2>"$dir/routed.log" &
pid=$!
for _ in $(seq 50); do [[ -S $dir/control.sock ]] && break; sleep 0.1; done
/usr/bin/python3 "$top/bench/reaction.py" "$dir/maillog" 127.0.0.1 "$port" "$rounds"
