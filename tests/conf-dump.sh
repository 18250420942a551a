#!/bin/sh
# tests/conf-dump.sh - spillway-routed -p: the effective configuration with
# every default written out, in spillway.conf's syntax; what it prints
# loads again and prints the same (the round trip), on the shipped example
# and on a file that uses pools, rules, residency, probes and a return path.
set -eu
srcdir=${srcdir:-.}
lib=$(cd "$srcdir" && pwd)/conf/patterns.conf
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
user=nobody
getent passwd "$user" >/dev/null || user=root

# The shipped example, with the stand-ins tests/conf-example.sh uses.
conf=$srcdir/conf/spillway.conf
for f in sw-postfix/spillway.conf sw-sendmail/spillway.conf; do
    if [ -f "$f" ]; then conf=$f; fi
done
group=postfix mgroup=spillway-milter
getent group "$group" >/dev/null || group=root
getent group "$mgroup" >/dev/null || mgroup=root
sed -e "s|/etc/spillway/patterns.conf|$lib|" -e "s|user = \"spillway-milter\"|user = \"$user\"|" \
    -e "s|group = \"postfix\"|group = \"$group\"|" -e "s|group = \"spillway-milter\"|group = \"$mgroup\"|" \
    "$conf" >"$t/example.conf"

cat >"$t/full.conf" <<CONF
relays = ( { name = "m365"; nexthop = "[127.0.0.1]:2525"; role = "primary"; jurisdiction = "us";
             probe = { starttls = false; interval = "2m"; }; },
           { name = "eu"; nexthop = "[127.0.0.2]:2525"; role = "alternate"; jurisdiction = "eu";
             priority = 20; weight = 3; max_per_hour = 5000; } );
pools = ( { name = "m365"; relays = [ "m365" ]; egress = [ "192.0.2.0/24" ];
            hosts = [ "*.outlook.com" ]; } );
rules = ( { name = "rep"; classes = [ "reputation", "throttle" ]; scope = "pool";
            threshold = { events = 5; window = "15m"; ratio = 0.25; }; recover = { share = 0.1; }; } );
residency = ( { destinations = [ "*.example.de" ]; allow = [ "eu" ]; } );
milter: { user = "$user"; tag_keys = "$t/tag.keys";
          return_path = { domain = "bounces.example.net"; max_age = "3d"; }; };
routed: { maillog = "postlog:/var/log/mail.log"; flush = [ "/usr/sbin/postqueue", "-f" ]; };
dnsbl: { zones = [ "zen.spamhaus.org" ]; interval = "20m"; };
classify: { patterns = "$lib"; };
log_facility = "local3";
CONF

printf 'k1 %s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$t/tag.keys"
chmod 600 "$t/tag.keys"
for name in example full; do
    ./spillway-routed -p -c "$t/$name.conf" >"$t/$name.1" || fail "-p refused $name.conf"
    ./spillway-routed -n -c "$t/$name.1" >/dev/null 2>"$t/err" || { cat "$t/err"; fail "the dump of $name.conf does not load"; }
    ./spillway-routed -p -c "$t/$name.1" >"$t/$name.2" || fail "-p refused the dump of $name.conf"
    # The first line names the file read; everything after it must match.
    tail -n +2 "$t/$name.1" >"$t/$name.a"
    tail -n +2 "$t/$name.2" >"$t/$name.b"
    cmp -s "$t/$name.a" "$t/$name.b" || { diff "$t/$name.a" "$t/$name.b"; fail "$name.conf: the round trip changed the configuration"; }
done

# Defaults are written out, values kept, units chosen for reading.
for want in '    hold = "30m";' '    hold_max = "8h";' '      window = "15m";' '      ratio = 0.25;' \
    '      share = 0.1;' '      successes = 10;' '    classes = [ "reputation", "throttle" ];' \
    '    scope = "pool";' '    weight = 3;' '    max_per_hour = 5000;' '      interval = "2m";' \
    '      starttls = false;' '  history = 1000;' 'log_facility = "local3";' \
    '    max_age = "3d";' '  flush = [ "/usr/sbin/postqueue", "-f" ];' '  interval = "20m";' \
    '  maillog_trust = "proven";'; do
    grep -qxF "$want" "$t/full.1" || { cat "$t/full.1"; fail "the dump lacks: $want"; }
done
# Without a milter group its defaults are comments (written out, the group
# would turn the milter's checks on).
grep -q '^# milter: not in the file' "$t/example.1" && fail "the example has a milter group, the dump says not"
printf 'relays = ( { name = "p"; nexthop = "[127.0.0.1]"; role = "primary"; } );\n' >"$t/bare.conf"
./spillway-routed -p -c "$t/bare.conf" >"$t/bare.1"
grep -q '^# milter: not in the file' "$t/bare.1" || fail "a file without milter gets a milter group"
grep -q '^milter:' "$t/bare.1" && fail "a file without milter gets an active milter group"
echo "conf-dump: ok"
