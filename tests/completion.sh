#!/bin/bash
# tests/completion.sh - the bash completion of spillwayctl
# (conf/spillwayctl.bash-completion), sourced and called as bash calls it
# (COMP_WORDS, COMP_CWORD), no daemon needed:
#   - the verbs it offers are exactly the verbs of spillwayctl's usage text
#     (milter/spillwayctl/spillwayctl.c), so a new verb needs its completion;
#   - prefixes, options before and after the verb, relay actions;
#   - with no daemon answering (the built spillwayctl, a socket that does
#     not exist), relay names and destinations complete to nothing.
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

if ((fails > 0)); then
    echo "$fails failed" >&2
    exit 1
fi
