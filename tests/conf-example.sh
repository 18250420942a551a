#!/bin/sh
# tests/conf-example.sh - the shipped example configuration validates (with
# the shipped pattern library in place of its installed path).
set -eu
srcdir=${srcdir:-.}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
sed "s|/etc/spillway/patterns.conf|$(cd "$srcdir" && pwd)/conf/patterns.conf|" \
    "$srcdir/conf/spillway.conf" >"$tmp"
grep -q "classify:" "$tmp"
./spillway-routed -n -c "$tmp"
