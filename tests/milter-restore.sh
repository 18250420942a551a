#!/bin/bash
# tests/milter-restore.sh - spillway-milter --restore, the MTA's delivery
# agent for return-path addresses the milter did not restore, with a fake
# sendmail(1) that records its arguments and the message it is handed.
# Addresses are made by tests/e2e/rpath.py, apart from spillway's code.
# Run by "make check"; needs python3 (skips, 77, without it).
set -euo pipefail

SRC=${FUZZ_SRCDIR:+$FUZZ_SRCDIR/../..}
SRC=$(cd "${SRC:-$(dirname "$0")/..}" && pwd -P)
BUILD=${SW_BUILDDIR:-$(pwd -P)}
MILTER=$BUILD/spillway-milter
PATTERNS=${SW_PATTERNS:-$SRC/conf/patterns.conf}
RPATH=$SRC/tests/e2e/rpath.py
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
[[ -x $MILTER ]] || { echo "FAIL: $MILTER not built"; exit 1; }

dir=$(mktemp -d /tmp/spillway-restore.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

printf 'k1 %s\n' "$(openssl rand -hex 32)" >"$dir/tag.keys"
chmod 600 "$dir/tag.keys"
cat >"$dir/spillway.conf" <<CONF
milter: { tag_keys = "$dir/tag.keys";
          return_path = { domain = "bounces.example.net"; subdomain = "bounces";
                          sender_domains = ["example.com"]; }; };
classify: { patterns = "$PATTERNS"; };
relays = ( { name = "primary"; nexthop = "[127.0.0.1]:2525"; role = "primary"; } );
CONF
# The fake sendmail: its arguments, one per line, then the message.
cat >"$dir/sendmail" <<'SH'
#!/bin/sh
out=$(dirname "$0")/handed
: >"$out"
for a in "$@"; do printf '%s\n' "$a" >>"$out"; done
printf -- '--message--\n' >>"$out"
cat >>"$out"
exit "${FAKE_RC:-0}"
SH
chmod 755 "$dir/sendmail"
msg=$'From: MAILER-DAEMON@provider.test\r\nSubject: Undeliverable\r\n\r\nreport body\r\n'

# restore SENDER RCPT: run the agent; prints its exit status
restore() {
    local rc=0
    rm -f "$dir/handed"
    "$MILTER" --restore -c "$dir/spillway.conf" "$1" "$2" -- "$dir/sendmail" -X \
        <<<"$msg" >/dev/null 2>"$dir/err" || rc=$?
    echo "$rc"
}
handed() { cat "$dir/handed" 2>/dev/null || true; }

# 1. A valid address of each form: handed on, null sender kept, message unread.
a=$(python3 "$RPATH" make "$dir/tag.keys" Jane.Doe@example.org --domain bounces.example.net)
[[ $(restore "" "<$a>") == 0 ]] || fail "valid sw0: exit $(restore "" "<$a>"): $(cat "$dir/err")"
want=$(printf '%s\n' -X -i -f "" -- Jane.Doe@example.org --message--)
[[ $(handed | head -n 7) == "$want" ]] || fail "sw0: sendmail got: $(handed | head -n 7 | tr '\n' ' ')"
grep -q 'report body' "$dir/handed" || fail "the message was not handed on"
c=$(python3 "$RPATH" make "$dir/tag.keys" carol@example.com --subdomain bounces)
[[ $(restore "<>" "$c") == 0 ]] || fail "valid sw1 refused"
[[ $(handed | sed -n 4p) == "" && $(handed | sed -n 6p) == carol@example.com ]] ||
    fail "sw1: sendmail got: $(handed | head -n 6 | tr '\n' ' ')"
# Sendmail's own reports come with MAILER-DAEMON as the sender: null.
[[ $(restore "MAILER-DAEMON@mta.example" "$a") == 0 && $(handed | sed -n 4p) == "" ]] ||
    fail "MAILER-DAEMON@ not read as the null sender: $(handed | sed -n 4p)"
# A non-null sender (an auto-reply) stays the sender.
[[ $(restore "auto@elsewhere.example" "$a") == 0 && $(handed | sed -n 4p) == auto@elsewhere.example ]] ||
    fail "auto-reply: sender not kept"
# Folded to upper case on the way: still valid.
[[ $(restore "" "${a^^}") == 0 ]] || fail "upper-cased address refused"
echo "valid addresses handed on"

# 2. Not ours to hand on: EX_NOUSER (67), sendmail never run.
forged=$(python3 "$RPATH" make "$dir/tag.keys" Jane.Doe@example.org --domain bounces.example.net \
    --secret "$(openssl rand -hex 32)")
old=$(python3 "$RPATH" make "$dir/tag.keys" Jane.Doe@example.org --domain bounces.example.net \
    --days-ago 30)
for bad in "$forged" "$old" "garbage@bounces.example.net"; do
    rc=$(restore "" "$bad")
    [[ $rc == 67 ]] || fail "$bad: exit $rc, want 67"
    [[ ! -e $dir/handed ]] || fail "$bad: sendmail was run"
done
grep -q 'expired' <<<"$(restore "" "$old"; cat "$dir/err")" || fail "expired: no reason given"
echo "forged and expired addresses: 67"
# Not an address of this configuration: a routing mistake, kept queued (75).
for odd in "jane@example.org" "postmaster@bounces.example.net"; do
    rc=$(restore "" "$odd")
    [[ $rc == 75 ]] || fail "$odd: exit $rc, want 75"
    [[ ! -e $dir/handed ]] || fail "$odd: sendmail was run"
done
# return_path taken out of the configuration: a valid address is kept too.
cat >"$dir/off.conf" <<CONF
milter: { tag_keys = "$dir/tag.keys"; };
classify: { patterns = "$PATTERNS"; };
relays = ( { name = "primary"; nexthop = "[127.0.0.1]:2525"; role = "primary"; } );
CONF
rc=0
"$MILTER" --restore -c "$dir/off.conf" "" "$a" -- "$dir/sendmail" <<<"$msg" >/dev/null 2>&1 || rc=$?
[[ $rc == 75 && ! -e $dir/handed ]] || fail "return_path off: exit $rc, want 75"
echo "another domain, postmaster@, return_path off: 75"

# 3. Cannot tell: EX_TEMPFAIL (75), the MTA tries again.
chmod 000 "$dir/tag.keys"
if [[ $(id -u) != 0 ]]; then
    [[ $(restore "" "$a") == 75 ]] || fail "unreadable keys: not 75"
fi
chmod 600 "$dir/tag.keys"
mv "$dir/tag.keys" "$dir/tag.keys.away"
[[ $(restore "" "$a") == 75 ]] || fail "missing key file: not 75"
mv "$dir/tag.keys.away" "$dir/tag.keys"
rc=0
"$MILTER" --restore -c "$dir/spillway.conf" "" "$a" -- "$dir/no-such-sendmail" <<<"$msg" \
    >/dev/null 2>&1 || rc=$?
[[ $rc == 75 ]] || fail "no sendmail: exit $rc, want 75"
rc=0
"$MILTER" --restore -c "$dir/spillway.conf" "" <<<"$msg" >/dev/null 2>&1 || rc=$?
[[ $rc == 64 ]] || fail "usage: exit $rc, want 64"
# Two recipients in one delivery (no recipient limit on the transport):
# kept queued, not returned.
rc=0
rm -f "$dir/handed"
"$MILTER" --restore -c "$dir/spillway.conf" "" "$a" "$c" -- "$dir/sendmail" <<<"$msg" \
    >/dev/null 2>&1 || rc=$?
[[ $rc == 75 && ! -e $dir/handed ]] || fail "two recipients: exit $rc, want 75"
# sendmail's own failure is the agent's: it is exec'd.
rc=0
FAKE_RC=75 "$MILTER" --restore -c "$dir/spillway.conf" "" "$a" -- "$dir/sendmail" <<<"$msg" \
    >/dev/null 2>&1 || rc=$?
[[ $rc == 75 ]] || fail "sendmail's 75 not passed on: $rc"
echo "PASS: milter restore"
