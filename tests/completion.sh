#!/bin/bash
# tests/completion.sh - the bash completion of spillwayctl
# (conf/spillwayctl.bash-completion), sourced and called as bash calls it
# (COMP_WORDS, COMP_CWORD), no daemon needed:
#   - the verbs it offers are exactly the verbs of spillwayctl's usage text
#     (milter/spillwayctl/spillwayctl.c), so a new verb needs its completion;
#   - prefixes, options before and after the verb, relay actions;
#   - with no daemon answering (the built spillwayctl, a socket that does
#     not exist), relay names and destinations complete to nothing;
#   - with a daemon (the built spillway-routed, sockets in a temporary
#     directory), relay names, pools and diverted destinations are its own,
#     through -s or -c as typed.
set -euo pipefail
srcdir=${srcdir:-.}
fails=0
# shellcheck source=/dev/null
. "$srcdir/conf/spillwayctl.bash-completion"

# comp WORD... : complete the last WORD of "spillwayctl WORD...", sorted
comp() {
    COMP_WORDS=("$ctl" "$@")
    COMP_CWORD=$#
    COMPREPLY=()
    _spillwayctl
    printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | xargs
}
# want GOT WANT WHAT
want() {
    if [[ $1 == "$2" ]]; then
        echo "ok: $3: '$1'"
    else
        echo "FAIL: $3: got '$1', want '$2'" >&2
        fails=$((fails + 1))
    fi
}

ctl=spillwayctl
[[ -x ./spillwayctl ]] && ctl=$PWD/spillwayctl

# The verbs of the usage text: its lines '"  VERB ...'.
usage_verbs=$(sed -n 's/^ *"  \([a-z][a-z-]*\)[ |].*/\1/p' "$srcdir/milter/spillwayctl/spillwayctl.c" | sort -u | xargs)
[[ -n $usage_verbs ]] || { echo "FAIL: no verb found in spillwayctl's usage text" >&2; exit 1; }
want "$(comp '')" "$usage_verbs" "verbs (spillwayctl's usage text)"
want "$(comp re)" "relay release reload" "verbs starting with 're'"
want "$(comp --json -s /x st)" "status" "a verb after options"
want "$(comp --j)" "--json" "a global option"
want "$(comp relay '')" "disable drain enable" "relay actions"
want "$(comp divert --)" "--for --pool --reason --to" "divert's options"
want "$(comp history --s)" "--since" "history's option"

# No daemon: nothing, and quickly (the query is bounded by a timeout).
nosock=/nonexistent/spillway-control.sock
start=$SECONDS
want "$(comp -s "$nosock" relay disable '')" "" "relay names with no daemon"
want "$(comp -s "$nosock" release '')" "" "destinations with no daemon"
want "$(comp -s "$nosock" divert x --to '')" "" "--to with no daemon"
((SECONDS - start < 10)) || { echo "FAIL: completion without a daemon took $((SECONDS - start))s" >&2; fails=$((fails + 1)); }

# A daemon: relay names, pools and diverted destinations from its
# "--json status" (the built programs, sockets in a temporary directory,
# relays on loopback addresses).
routed=$PWD/spillway-routed
if [[ -x $routed && -x $ctl ]]; then
    dir=$(mktemp -d /tmp/sw-completion.XXXXXX)
    rpid=
    trap '[[ -n $rpid ]] && kill "$rpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
    mkdir -p "$dir/pf" "$dir/render"
    printf 'compatibility_level = 3.6\n' >"$dir/pf/main.cf"
    cat >"$dir/spillway.conf" <<CONF
routed: { socketmap = [ "unix:$dir/socketmap" ]; control = "$dir/control.sock";
          evidence = "$dir/evidence.sock"; state = "$dir/state"; render_dir = "$dir/render";
          postfix_config = "$dir/pf"; };
pools = ( { name = "m365"; relays = ["m365"]; } );
relays = ( { name = "m365"; nexthop = "[127.0.0.1]:9"; role = "primary"; },
           { name = "alt"; nexthop = "[127.0.0.2]:9"; priority = 10; } );
CONF
    "$routed" -c "$dir/spillway.conf" -e >"$dir/routed.log" 2>&1 </dev/null &
    rpid=$!
    for _ in $(seq 100); do
        "$ctl" -s "$dir/control.sock" status >/dev/null 2>&1 && break
        kill -0 "$rpid" 2>/dev/null || break
        sleep 0.1
    done
    "$ctl" -s "$dir/control.sock" divert example.com --to alt --for 1h --reason tests/completion.sh >/dev/null ||
        { echo "FAIL: spillway-routed did not start or divert: $(tail -5 "$dir/routed.log")" >&2; exit 1; }
    want "$(comp -s "$dir/control.sock" relay drain '')" "alt m365" "relay names from the daemon"
    want "$(comp -s "$dir/control.sock" divert x.org --to '')" "alt m365" "--to from the daemon"
    want "$(comp -s "$dir/control.sock" release --pool '')" "m365" "pools from the daemon"
    want "$(comp -s "$dir/control.sock" release '')" "example.com" "diverted destinations from the daemon"
    want "$(comp -c "$dir/spillway.conf" relay enable a)" "alt" "relay names through -c FILE"
fi

if ((fails > 0)); then
    echo "$fails failed" >&2
    exit 1
fi
