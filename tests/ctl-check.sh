#!/bin/sh
# tests/ctl-check.sh - spillwayctl check (the configuration and the host,
# with a private Postfix configuration directory read by the real
# postconf), spillwayctl genkey, and spillway-milter -n refusing a key file
# every user can read.
set -eu
srcdir=${srcdir:-.}
lib=$(cd "$srcdir" && pwd)/conf/patterns.conf
POSTCONF=/usr/sbin/postconf
if [ ! -x "$POSTCONF" ]; then
    echo "ctl-check: no $POSTCONF (postfix not installed): skipped"
    exit 77
fi
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir "$t/pf" "$t/state" "$t/render" "$t/run"
: >"$t/pf/master.cf"
: >"$t/maillog"
user=nobody
getent passwd "$user" >/dev/null || user=root
cat >"$t/spillway.conf" <<CONF
routed: { socketmap = "unix:$t/run/socketmap"; control = "unix:$t/run/control.sock";
          evidence = "unix:$t/run/evidence.sock"; state = "$t/state/state";
          render_dir = "$t/render"; postfix_config = "$t/pf"; maillog = "postlog:$t/maillog"; };
milter: { socket = "unix:$t/run/milter.sock"; user = "$user"; tag_keys = "$t/tag.keys"; };
relays = ( { name = "primary"; nexthop = "[127.0.0.1]:2525"; role = "primary"; jurisdiction = "us"; },
           { name = "alt"; nexthop = "[127.0.0.2]:2525"; role = "alternate"; jurisdiction = "eu"; } );
residency = ( { destinations = [ "*.example.de" ]; allow = [ "eu" ]; } );
classify: { patterns = "$lib"; };
CONF

# genkey: a new file, 0640 (the milter user's group) or 0600; never over one.
./spillwayctl -c "$t/spillway.conf" genkey "$t/tag.keys" >"$t/out" || { cat "$t/out"; fail "genkey failed"; }
mode=$(stat -c %a "$t/tag.keys")
[ "$mode" = 640 ] || [ "$mode" = 600 ] || fail "genkey wrote mode $mode"
grep -Eq '^k[0-9]{8} [0-9a-f]{64}$' "$t/tag.keys" || fail "genkey wrote no key line"
cp "$t/tag.keys" "$t/tag.keys.first"
./spillwayctl -c "$t/spillway.conf" genkey "$t/tag.keys" >/dev/null 2>"$t/err" && fail "genkey overwrote a key file"
cmp -s "$t/tag.keys" "$t/tag.keys.first" || fail "genkey changed an existing key file"
grep -q "File exists (to rotate" "$t/err" || { cat "$t/err"; fail "no rotation hint"; }
./spillway-milter -n -c "$t/spillway.conf" >/dev/null || fail "the milter does not load genkey's file"

# A Postfix that knows nothing of spillway: errors, each with what to do.
printf 'transport_maps = hash:/etc/postfix/transport\nsmtpd_milters = { unix:opendkim/opendkim.sock }\n' >"$t/pf/main.cf"
rc=0
./spillwayctl -c "$t/spillway.conf" check >"$t/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$t/out"; fail "check gave exit $rc on a Postfix without spillway"; }
grep -q '^error: transport_maps: "hash:/etc/postfix/transport": Postfix does not ask spillway-routed; add it in front of your own tables: postconf -e "transport_maps = socketmap:unix:'"$t"'/run/socketmap:transport hash:/etc/postfix/transport"$' "$t/out" ||
    { cat "$t/out"; fail "no transport_maps error that keeps the existing table"; }
grep -q '^error: smtpd_milters: "{ unix:opendkim/opendkim.sock }" does not name the milter socket' "$t/out" ||
    { cat "$t/out"; fail "no smtpd_milters error"; }
grep -q '^warning: smtp_delivery_status_filter: ' "$t/out" || fail "no dsn filter warning"

# Wired as conf/postfix-main.cf says, appended to the existing lists: clean.
cat >"$t/pf/main.cf" <<CF
transport_maps = socketmap:unix:$t/run/socketmap:transport hash:/etc/postfix/transport
smtpd_milters = { unix:opendkim/opendkim.sock } { unix:$t/run/milter.sock, default_action=accept }
smtp_delivery_status_filter = pcre:$t/render/dsn-filter.pcre
smtp_tls_policy_maps = lmdb:$t/render/tls-policy
CF
./spillwayctl -c "$t/spillway.conf" check >"$t/out" 2>&1 || { cat "$t/out"; fail "check failed a wired host"; }
grep -q '^0 error(s), 0 warning(s)$' "$t/out" || { cat "$t/out"; fail "findings on a wired host"; }

# The host: a key every user can read, a mail log that is gone, a residency
# rule no relay may serve.
chmod 644 "$t/tag.keys"
rm "$t/maillog"
sed -i 's/allow = \[ "eu" \]/allow = [ "ch" ]/' "$t/spillway.conf"
rc=0
./spillwayctl -c "$t/spillway.conf" check >"$t/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat "$t/out"; fail "check gave exit $rc"; }
grep -q "^error: milter.tag_keys: $t/tag.keys is readable by every user (mode 0644)" "$t/out" ||
    { cat "$t/out"; fail "the readable key is not an error"; }
grep -q "^error: routed.maillog: $t/maillog does not exist" "$t/out" || fail "the missing mail log is not an error"
grep -q '^error: residency: the rule at line 7 allows no relay' "$t/out" || { cat "$t/out"; fail "the residency rule is not an error"; }
grep -q '^3 error(s), 0 warning(s)$' "$t/out" || { cat "$t/out"; fail "the summary is wrong"; }

# A journal source: journald's files and the group the unit reads them with.
sed 's|maillog = "postlog:[^"]*"|maillog = "journal"|' "$t/spillway.conf" >"$t/journal.conf"
./spillwayctl -c "$t/journal.conf" check >"$t/out" 2>&1 || true
if [ -n "$(find /run/log/journal /var/log/journal -mindepth 1 -maxdepth 1 2>/dev/null | head -1)" ]; then
    if getent group adm >/dev/null; then want='^ok: routed.maillog: journal: files present'; else want='^error: routed.maillog: journal: no group adm'; fi
else
    want='^error: routed.maillog: journal: no journal files'
fi
grep -q "$want" "$t/out" || { cat "$t/out"; fail "the journal finding is not: $want"; }

# spillway-milter -n refuses the readable key (as OpenDKIM does).
./spillway-milter -n -c "$t/spillway.conf" >/dev/null 2>"$t/err" && fail "milter -n accepted a key every user can read"
grep -q "milter.tag_keys: $t/tag.keys is readable by every user" "$t/err" || { cat "$t/err"; fail "milter -n does not say why"; }
echo "ctl-check: ok"
