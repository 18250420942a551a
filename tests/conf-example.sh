#!/bin/sh
# tests/conf-example.sh - the shipped example configuration validates (with
# the shipped pattern library in place of its installed path).
set -eu
srcdir=${srcdir:-.}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# milter.user and milter.group name the users that spillway's sysusers.d
# file and the postfix package make: where they are absent, stand-ins.
user=spillway-milter group=postfix
getent passwd "$user" >/dev/null || user=nobody
getent group "$group" >/dev/null || group=root
sed -e "s|/etc/spillway/patterns.conf|$(cd "$srcdir" && pwd)/conf/patterns.conf|" \
    -e "s|user = \"spillway-milter\"|user = \"$user\"|" -e "s|group = \"postfix\"|group = \"$group\"|" \
    "$srcdir/conf/spillway.conf" >"$tmp"
grep -q "classify:" "$tmp"
./spillway-routed -n -c "$tmp"
