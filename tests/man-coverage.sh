#!/bin/bash
# tests/man-coverage.sh - the man pages cover what the programs accept and
# say: every config key (the *_keys[] tables the parser checks against),
# every command-line option (getopt strings, spillwayctl's long options),
# every spillwayctl verb (ctl.c), every log event (the "word:" that starts
# a log format in the sources, and the decision events), and every metric
# name.  Each page also passes groff's warnings.  Reads the sources, so it
# fails when something new is added without its documentation.
set -euo pipefail
srcdir=${srcdir:-.}
src=$srcdir/milter
man=$srcdir/man
missing=0

# need PAGE WHAT WORD... : each WORD appears as a word in PAGE
need() {
    local page=$1 what=$2 w
    shift 2
    for w in "$@"; do
        # An option starts with groff's "\-", often right after a font
        # escape (\fB\-s): no word boundary is needed before it.
        local left='(^|[^A-Za-z0-9_])'
        [[ $w == '\\'* ]] && left=''
        if ! grep -qE -- "$left$w([^A-Za-z0-9_]|$)" "$man/$page"; then
            echo "man/$page: $what \"$w\" is not documented" >&2
            missing=$((missing + 1))
        fi
    done
}

# keys FILE... : the strings of every "*_keys[] = { ... }" table
keys() {
    awk '/_keys\[\] = \{/ { on = 1 } on { print } on && /\};/ { on = 0 }' "$@" |
        grep -oE '"[a-z_]+"' | tr -d '"' | sort -u
}

# events FILE... : the words that start a log format, "divert: ..." -> divert
events() {
    grep -hoE 'sw_(info|warn|error)\("[a-z_]+:' "$@" |
        sed -E 's/.*\("//; s/:$//' | sort -u
}

# options FILE : the option letters of its getopt string
options() {
    grep -hoE 'getopt(_long)?\(argc, argv, "[^"]*"' "$1" | sed -E 's/.*"(.*)"/\1/' |
        tr -d ':' | fold -w1 | sort -u
}

mapfile -t conf_keys < <(keys "$src/global/conf.c" "$src/global/conf_health.c" "$src/global/conf_rpath.c" "$src/global/conf_cluster.c" "$src/global/classify.c")
need spillway.conf.5 "config key" "${conf_keys[@]}"

for o in $(options "$src/spillway-routed/routed_main.c"); do need spillway-routed.8 option "\\\\-$o"; done
for o in $(options "$src/spillway-milter/milter_main.c"); do need spillway-milter.8 option "\\\\-$o"; done
for o in $(options "$src/spillwayctl/spillwayctl.c"); do need spillwayctl.8 option "\\\\-$o"; done
mapfile -t long_opts < <(sed -n '/struct option opts\[\]/,/};/p' "$src/spillwayctl/spillwayctl.c" |
    grep -oE '\{ *"[a-z-]+"' | grep -oE '[a-z-]+')
for o in "${long_opts[@]}"; do need spillwayctl.8 "long option" "\\\\-\\\\-$o"; done

mapfile -t verbs < <(sed -n '/verbs\[\] = {/,/};/p' "$src/global/ctl.c" | grep -oE '"[a-z-]+"' | tr -d '"')
need spillwayctl.8 verb "${verbs[@]}"

# Log events: the routing helper's files and the shared modules it runs
# go to spillway-routed(8); the milter's to spillway-milter(8).
mapfile -t routed_events < <(events "$src"/spillway-routed/*.c "$src"/util/follow.c "$src"/global/engine.c)
need spillway-routed.8 "log event" "${routed_events[@]}"
mapfile -t decision_events < <(grep -hoE 'decision\(&?d, "[a-z]+"|event = "[a-z]+"' "$src"/*/*.c |
    grep -oE '"[a-z]+"' | tr -d '"' | sort -u)
((${#decision_events[@]} >= 5)) || { echo "found only ${#decision_events[@]} decision events" >&2; exit 1; }
need spillway-routed.8 "decision event" "${decision_events[@]}"
mapfile -t milter_events < <(events "$src"/spillway-milter/*.c)
need spillway-milter.8 "log event" "${milter_events[@]}"

mapfile -t metrics < <(grep -ohE '"spillway_[a-z_]+"' "$src/spillway-routed/routed_metrics.c" "$src/spillway-routed/routed_cluster_view.c" | tr -d '"' | sort -u)
((${#metrics[@]} >= 10)) || { echo "found only ${#metrics[@]} metric names" >&2; exit 1; }
need spillway-routed.8 metric "${metrics[@]}"

# groff: no warnings (missing macros, bad escapes, unknown requests).
if command -v groff >/dev/null; then
    for p in "$man"/*.[0-9]; do
        if w=$(groff -man -Tutf8 -ww -z "$p" 2>&1) && [[ -z $w ]]; then :; else
            echo "$p: groff: $w" >&2
            missing=$((missing + 1))
        fi
    done
else
    echo "groff not installed: page lint skipped" >&2
fi

if ((missing > 0)); then
    echo "man-coverage: $missing item(s) undocumented" >&2
    exit 1
fi
echo "man-coverage: ${#conf_keys[@]} keys, ${#verbs[@]} verbs, $((${#routed_events[@]} + ${#decision_events[@]} + ${#milter_events[@]})) events, ${#metrics[@]} metrics: all documented"
