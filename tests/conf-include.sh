#!/bin/sh
# tests/conf-include.sh - @include in spillway.conf: a relative name is
# read from the directory of the main file whatever the working directory
# (under systemd it is /), and the errors name the file they are in.
set -eu
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir "$tmp/etc"
cat >"$tmp/etc/spillway.conf" <<'CONF'
relays = ( { name = "primary"; nexthop = "[127.0.0.1]:2525"; role = "primary"; } );
@include "routed.conf"
CONF
printf 'routed: { socketmap = "inet:127.0.0.1:29999"; };\n' >"$tmp/etc/routed.conf"

# From /, from the file's own directory, and from elsewhere: all read it.
for wd in / "$tmp/etc" "$tmp"; do
    (cd "$wd" && "$top/spillway-routed" -n -c "$tmp/etc/spillway.conf" >"$tmp/out" 2>&1) ||
        { cat "$tmp/out"; fail "the include is not found from $wd"; }
done

# An error inside the included file names that file and its line.
printf 'routed: {\n  socketmap = "inet:127.0.0.1:29999";\n  colour = 1;\n};\n' >"$tmp/etc/routed.conf"
(cd / && "$top/spillway-routed" -n -c "$tmp/etc/spillway.conf" >"$tmp/out" 2>&1) &&
    fail "an unknown key in the included file was accepted"
grep -q 'routed.conf:3: routed.colour: unknown key' "$tmp/out" || { cat "$tmp/out"; fail "the error does not name routed.conf:3"; }

# A missing include names the file and where a relative name was looked for.
sed -i 's/routed.conf/missing.conf/' "$tmp/etc/spillway.conf"
(cd / && "$top/spillway-routed" -n -c "$tmp/etc/spillway.conf" >"$tmp/out" 2>&1) &&
    fail "a missing include was accepted"
grep -q "spillway.conf:2: syntax: cannot open include file \"missing.conf\" (relative names are read from $tmp/etc)" "$tmp/out" ||
    { cat "$tmp/out"; fail "the error does not name the missing include"; }
echo "conf-include: ok"
