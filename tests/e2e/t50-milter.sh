#!/bin/bash
# tests/e2e/t50-milter.sh - spillway-milter in a real Postfix (issue 4).
#
# A private Postfix with the shipped smtpd_milters line (conf/postfix-main.cf),
# spillway-milter and spillway-routed.  The primary relay accepts everything:
# the trouble shows only in the bounces that come back later.
#   1. outbound mail is tagged: every message the primary received carries
#      an X-Spillway-Tag that verifies (recomputed here, independently);
#   2. forged bounces (no tag, a bad MAC, an expired tag, a tag lifted onto
#      another Message-ID, and a genuine tag from a reporter that names no
#      pool) reach spillway-routed as untrusted evidence and change nothing;
#   3. genuine tagged bounces from the provider's host: past the threshold
#      (3) the destination is diverted; a repeated bounce is suppressed as a
#      duplicate; later mail for it goes to the alternate;
#   4. the milter killed (SIGKILL) under load: every message is still
#      accepted and delivered exactly once; restarted, it tags again.
# Nothing is ever bounced by Postfix.  Run as root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "t50-milter: must run as root" >&2; exit 1; }
start=$SECONDS
E2E_DIR=$(mktemp -d /tmp/spillway-e2e-t50.XXXXXX)
PF_CHROOT=y
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
trap e2e_cleanup EXIT
e2e_ports "${T50_BASE:-25500}"
SW_MILTER=$SW_BUILDDIR/spillway-milter
KEYS=$SW_DIR/tag.keys

# --------------------------------------------------------------- set-up
relay_start primary "$PORT_PRIMARY" 127.0.0.1
relay_start alt1 "$PORT_ALT1" 127.0.0.2
relay_start alt2 "$PORT_ALT2" 127.0.0.3
milter_line=$(grep '^smtpd_milters' "$SW_TOP_SRC/conf/postfix-main.cf") ||
    fail "conf/postfix-main.cf has no smtpd_milters line"
# Bounces for our own sender are read by the milter, then discarded here.
pf_setup "$(sw_main_cf socketmap | sed 's/= /= inline:{org.example=discard:}, /')" "$milter_line"
sw_config_auto '{ name = "bounce-reputation"; classes = ["reputation"]; scope = "destination";
                  threshold = { events = 3; window = "10m"; }; hold = "1h"; }' "" "" \
    "milter: { socket = \"unix:$SW_MILTER_SOCK\"; tag_keys = \"$KEYS\";
               group = \"postfix\"; tag_max_age = \"7d\"; rate = 100; };"
# The pool is named by its provider's hosts and egress addresses.
sed -i 's|pools = ( { name = "m365"; relays = \["primary"\]; } );|pools = ( { name = "m365"; relays = ["primary"]; hosts = ["*.protection.outlook.test"]; egress = ["40.107.0.0/16"]; } );|' "$SW_CONF"
grep -q 'protection.outlook.test' "$SW_CONF" || fail "pool hosts not set"
printf '# e2e key file\nk1 %s\n' "$(openssl rand -hex 32)" >"$KEYS"
chmod 600 "$KEYS"
"$SW_MILTER" -n -c "$SW_CONF" >/dev/null || fail "spillway-milter -n refuses the config"

# milter_start - one more "started:" line than before: after a kill the
# old socket file and the old line are still there, and mail sent before
# the new milter listens would go out untagged.
milter_start() {
    local n
    n=$(grep -c 'started:' "$E2E_DIR/logs/milter.log" 2>/dev/null || true)
    e2e_spawn milter "$SW_MILTER" -e -c "$SW_CONF"
    wait_for "[[ -S $SW_MILTER_SOCK ]] && (( \$(grep -c 'started:' '$E2E_DIR/logs/milter.log') > ${n:-0} ))" 10 ||
        fail "spillway-milter did not start: $(tail -5 "$E2E_DIR/logs/milter.log")"
}
sw_start
milter_start
pf_start

# evidence FIELD : a counter of spillway-routed's bounce evidence
evidence() { swctl --json status | python3 -c "import json,sys; print(json.load(sys.stdin)['evidence']['$1'])"; }
# milter_log_count REGEX
milter_log_count() { grep -cE -- "$1" "$E2E_DIR/logs/milter.log" || true; }
# route_of DOMAIN : "primary" or "alternate", as spillway-routed answers it
route_of() { swctl --json explain "u@$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['route'])"; }
# msg_for RCPT : one .msg file the primary received for RCPT
msg_for() { grep -l "^rcpt: $1\$" "$E2E_DIR"/relays/primary/spool/*.msg | head -n 1; }
bounce() { "$E2E_PYTHON" "$HERE/bounce.py" --port "$PORT_SMTPD" "$@" >/dev/null; }

# --------------------------------------------------------------- 1. tagging
log "1. outbound mail is tagged"
for i in 1 2 3 4 5 6; do send_mail "u$i@bigcorp.example" 1 "big$i"; done
send_mail a@other.example 2 other
# One header of 80 KB: past libmilter's 64 KB packets unless SMFIP_MDS_1M.
"$E2E_PYTHON" - "$PORT_SMTPD" "$E2E_DIR/sent.list" <<'PY' || fail "the large-header message was refused"
import smtplib, sys
mid = "<long-header@test.spillway>"
fold = "\r\n ".join(["x" * 70] * 1150)
msg = (f"From: sender@org.example\r\nTo: big@other.example\r\nSubject: long\r\n"
       f"Message-ID: {mid}\r\nX-Long: {fold}\r\n\r\nbody\r\n")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60) as s:
    s.sendmail("sender@org.example", ["big@other.example"], msg)
open(sys.argv[2], "a").write(mid + "\n")
PY
# No Message-ID: Postfix adds one for a local client, after or before the
# milter sees the headers; either way the tag must verify at the relay.
"$E2E_PYTHON" - "$PORT_SMTPD" <<'PY' || fail "the message without a Message-ID was refused"
import smtplib, sys
msg = "From: sender@org.example\r\nTo: noid@other.example\r\nSubject: no id\r\n\r\nbody\r\n"
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60) as s:
    s.sendmail("sender@org.example", ["noid@other.example"], msg)
PY
pf_wait_empty 60 || fail "queue did not drain"
expect_eq "primary got all" "$(relay_count primary)" 10
tags=$(grep -li '^X-Spillway-Tag: v=1; t=[0-9]*; k=k1; h=' "$E2E_DIR"/relays/primary/spool/*.msg | wc -l)
expect_eq "tagged messages at the primary" "$tags" 10
# The tag verifies with the key, computed here without spillway's code.
"$E2E_PYTHON" - "$KEYS" "$E2E_DIR"/relays/primary/spool/*.msg <<'PY' || fail "a tag does not verify"
import base64, hashlib, hmac, re, sys
kid, secret = [l.split() for l in open(sys.argv[1]) if l.strip() and l[0] != "#"][0]
for path in sys.argv[2:]:
    # a relay's spool file: its own "relay:/rcpt:" block, a blank line, the message
    h = open(path, encoding="utf-8", errors="replace").read().replace("\r\n", "\n").split("\n\n")[1]
    tag = re.search(r"(?im)^X-Spillway-Tag: v=1; t=(\d+); k=(\S+); h=([^;\s]+)(; m=0)?$", h)
    if tag is None:
        sys.exit(f"{path}: no well-formed tag")
    mid = "" if tag.group(4) else re.search(r"(?im)^Message-ID: (.*)$", h).group(1).strip()
    mac = hmac.new(bytes.fromhex(secret), f"spillway-tag/1|{tag.group(1)}|{mid}".encode(),
                   hashlib.sha256).digest()[:16]
    want = base64.urlsafe_b64encode(mac).decode().rstrip("=")
    if tag.group(2) != kid or tag.group(3) != want:
        sys.exit(f"{path}: tag {tag.group(0)!r} does not verify")
PY

# --------------------------------------------------------------- 2. forged bounces
log "2. forged bounces change nothing"
bounce --original "$(msg_for u1@bigcorp.example)" --rcpt u1@bigcorp.example --mode notag
bounce --original "$(msg_for u2@bigcorp.example)" --rcpt u2@bigcorp.example --mode badtag
bounce --original "$(msg_for u3@bigcorp.example)" --rcpt u3@bigcorp.example --mode expired --keys "$KEYS"
bounce --original "$(msg_for u4@bigcorp.example)" --rcpt u4@bigcorp.example --mode wrongid
bounce --original "$(msg_for u5@bigcorp.example)" --rcpt u5@bigcorp.example --reporter none \
    --text "550 5.7.1 Service unavailable, Client host blocked using Spamhaus"
wait_for "(( \$(evidence records) >= 5 ))" 20 || fail "routed did not receive 5 records: $(evidence records)"
expect_eq "trusted records" "$(evidence trusted)" 0
for want in "tag=absent untrusted evidence=sent" "tag=invalid untrusted evidence=sent" \
    "tag=expired untrusted evidence=sent" "pool=none tag=valid untrusted evidence=sent"; do
    (($(milter_log_count "$want") >= 1)) || fail "milter log lacks: $want"
done
expect_eq "invalid tags (bad MAC, lifted tag)" "$(milter_log_count 'tag=invalid untrusted')" 2
expect_eq "bigcorp still primary" "$(route_of bigcorp.example)" primary
expect_eq "no divert" "$(sw_decisions divert)" 0

# --------------------------------------------------------------- 3. genuine bounces
log "3. genuine tagged bounces divert past the threshold"
bounce --original "$(msg_for u1@bigcorp.example)" --rcpt u1@bigcorp.example
bounce --original "$(msg_for u2@bigcorp.example)" --rcpt u2@bigcorp.example
bounce --original "$(msg_for u2@bigcorp.example)" --rcpt u2@bigcorp.example # a duplicate
wait_for "(( \$(milter_log_count 'evidence=duplicate') >= 1 ))" 20 || fail "duplicate not suppressed"
expect_eq "two are not the threshold" "$(route_of bigcorp.example)" primary
bounce --original "$(msg_for u3@bigcorp.example)" --rcpt u3@bigcorp.example
wait_for "grep -qE 'divert: scope=destination:bigcorp.example pool=m365 from=primary to=alt-eu rule=bounce-reputation events=3/10m .*evidence=dsn:3' '$E2E_DIR/logs/routed.log'" 20 ||
    fail "no divert decision: $(grep -E 'divert|evidence' "$E2E_DIR/logs/routed.log" | tail -5)"
expect_eq "trusted records" "$(evidence trusted)" 3
expect_eq "bigcorp diverted" "$(route_of bigcorp.example)" alternate
swctl explain u@bigcorp.example | grep -qE '^  [0-9T:Z-]* dsn pool=m365 trusted rcpt=<u1@bigcorp.example> .*dsn=5.7.606 class=reputation' ||
    fail "explain does not show the dsn evidence: $(swctl explain u@bigcorp.example)"
send_mail u9@bigcorp.example 3 after
send_mail b@other.example 2 other2
pf_wait_empty 60 || fail "queue did not drain"
expect_eq "alt-eu got the diverted mail" "$(relay_count alt1)" 3
expect_eq "primary kept the rest" "$(relay_count primary)" 12
assert_exactly_once || fail "exactly-once check failed"

# --------------------------------------------------------------- 4. milter killed
log "4. the milter killed under load"
before=$(wc -l <"$E2E_DIR/sent.list")
send_mail load@other.example 40 load &
loader=$!
wait_for "(( \$(wc -l <'$E2E_DIR/sent.list') >= before + 5 ))" 30 || true
kill -KILL "$(cat "$E2E_DIR/pids/milter.pid")"
rm -f "$E2E_DIR/pids/milter.pid"
# More sessions while it is dead: accepted, untagged (default_action=accept).
send_mail dead@other.example 20 dead || fail "refused while the milter was dead: $(cat "$E2E_DIR/refused.list")"
wait "$loader" || fail "refused while the milter was killed: $(cat "$E2E_DIR/refused.list")"
expect_eq "refused" "$(wc -l <"$E2E_DIR/refused.list")" 0
milter_start
send_mail c@other.example 2 back
pf_wait_empty 90 || fail "queue did not drain"
assert_exactly_once || fail "exactly-once check failed"
expect_eq "bounced by Postfix" "$(pf_bounced_count)" 0
untagged=$(grep -L '^X-Spillway-Tag: v=1' "$E2E_DIR"/relays/primary/spool/*.msg | xargs -r grep -l '^rcpt: dead@' | wc -l)
expect_eq "accepted untagged while the milter was dead" "$untagged" 20
(($(pf_log_count 'warning: .*spillway-milter') >= 1)) || fail "Postfix logged no milter warning"
for f in $(grep -l '^rcpt: c@other.example$' "$E2E_DIR"/relays/primary/spool/*.msg); do
    grep -q '^X-Spillway-Tag: v=1' "$f" || fail "mail after the restart is not tagged: $f"
done
echo "t50-milter: ok ($((SECONDS - start))s)"
