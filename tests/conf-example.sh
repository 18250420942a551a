#!/bin/sh
# tests/conf-example.sh - the example configuration this build installs
# validates (with the shipped pattern library in place of its installed
# path): conf/spillway.conf, or the one made from it for the build's MTA
# (sw-MTA/spillway.conf, Makefile.am).
set -eu
srcdir=${srcdir:-.}
conf=$srcdir/conf/spillway.conf
for f in sw-postfix/spillway.conf sw-sendmail/spillway.conf; do
    if [ -f "$f" ]; then conf=$f; fi
done
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# milter.user and milter.group name the users that spillway's sysusers.d
# file and the postfix package make: where they are absent, stand-ins.
user=spillway-milter group=postfix mgroup=spillway-milter
getent passwd "$user" >/dev/null || user=nobody
getent group "$group" >/dev/null || group=root
getent group "$mgroup" >/dev/null || mgroup=root
sed -e "s|/etc/spillway/patterns.conf|$(cd "$srcdir" && pwd)/conf/patterns.conf|" \
    -e "s|user = \"spillway-milter\"|user = \"$user\"|" -e "s|group = \"postfix\"|group = \"$group\"|" \
    -e "s|group = \"spillway-milter\"|group = \"$mgroup\"|" \
    "$conf" >"$tmp"
grep -q "classify:" "$tmp"
./spillway-routed -n -c "$tmp"
