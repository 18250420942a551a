#!/bin/bash
# tests/e2e/t90-returnpath.sh - return-path routing in a real Postfix (issue 14).
#
# A private Postfix with spillway-milter in smtpd_milters and
# non_smtpd_milters, and spillway-routed.  milter.return_path names a fixed
# return-path domain (bounces.example.net, any sender) and the per-sender-
# domain form for example.com (bounces.example.com); Postfix relays both
# (relay_domains) for a client that is not in mynetworks.  The primary
# accepts everything: the trouble shows only in the provider's NDRs, which
# quote nothing of ours but come back to the envelope sender.  The senders'
# mailboxes (example.org, example.com) are a counting sink (mbox); the
# return-path domains are routed to another (leak), where an NDR that was
# not restored would show under its tagged address.
#   1. outbound mail (SMTP from 127.0.0.1, and the sendmail command) reaches
#      the primary with its envelope sender rewritten (sw0= at the fixed
#      domain, sw1= at bounces.<sender domain>), each tag verified here
#      independently (tests/e2e/rpath.py); postmaster is left alone;
#   2. forged NDRs to made-up return-path addresses (another key, a tag
#      moved to another sender, garbage, no tag, an expired day signed with
#      the real key) are refused at RCPT (550 5.1.1, expired 5.7.1) and
#      change nothing;
#   3. the provider's NDRs, sent by SMTP from outside to the exact sender
#      the primary saw, are trusted evidence on the strength of the envelope
#      tag: two per tag at most (milter.tag_cap), so one sender's three NDRs
#      do not divert, a second sender's NDR does (evidence=dsn:3); each NDR
#      and an auto-reply reach the original sender's mailbox exactly once;
#   4. later mail for the diverted destination goes to the alternate;
#   5. nothing is bounced by Postfix, nothing is left in the queue;
#   6. an NDR of Postfix's own (the primary refused a recipient for good)
#      is restored too and reaches the sender's mailbox once: it passes the
#      milter through internal_mail_filter_classes = bounce;
#   7. return_path removed and the milter reloaded: outbound senders reach
#      the primary as they were.
# Run as root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "t90-returnpath: must run as root" >&2; exit 1; }
start=$SECONDS
E2E_DIR=$(mktemp -d /tmp/spillway-e2e-t90.XXXXXX)
PF_CHROOT=y
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
trap e2e_cleanup EXIT
e2e_ports "${T90_BASE:-26500}"
PORT_MBOX=$((PORT_SOCKMAP + 1))
SW_MILTER=$SW_BUILDDIR/spillway-milter
KEYS=$SW_DIR/tag.keys
RP=bounces.example.net # the fixed return-path domain
SUB=bounces            # bounces.example.com for example.com's senders
STRANGER=127.0.0.5     # the provider's MX: not in mynetworks, not outbound

# --------------------------------------------------------------- set-up
relay_start primary "$PORT_PRIMARY" 127.0.0.1
relay_start alt1 "$PORT_ALT1" 127.0.0.2
relay_start alt2 "$PORT_ALT2" 127.0.0.3
relay_start mbox "$PORT_MBOX" 127.0.0.4
relay_start leak "$PORT_MBOX" 127.0.0.6
milter_line=$(grep '^smtpd_milters' "$SW_TOP_SRC/conf/postfix-main.cf") ||
    fail "conf/postfix-main.cf has no smtpd_milters line"
mbox="smtp:[127.0.0.4]:$PORT_MBOX"
# The shipped wiring (conf/postfix-main.cf): non_smtpd_milters, and the
# return-path domains in relay_domains.  Where an address the milter did not
# restore goes: a counting relay (leak) that must get nothing.  (Not retry:
# as conf/postfix-main.cf suggests: smtpd_reject_unlisted_recipient refuses
# RCPT to a retry: destination with 450 4.1.1 before the milter sees it;
# T90_RP_ROUTE=retry: shows it.)
rp_route=${T90_RP_ROUTE:-smtp:[127.0.0.6]:$PORT_MBOX}
pf_setup "$(sw_main_cf socketmap | sed "s/= /= inline:{example.org=$mbox, example.com=$mbox, $RP=$rp_route, $SUB.example.com=$rp_route}, /")" \
    "$milter_line" "$(sw_shipped_cf non_smtpd_milters '{')" \
    "mynetworks = 127.0.0.1/32" "relay_domains = $RP, $SUB.example.com" \
    "internal_mail_filter_classes = bounce"
rp_conf="return_path = { domain = \"$RP\"; subdomain = \"$SUB\"; sender_domains = [\"example.com\"]; };"
sw_config_auto '{ name = "bounce-reputation"; classes = ["reputation"]; scope = "destination";
                  threshold = { events = 3; window = "10m"; }; hold = "1h"; }' "" "" \
    "milter: { socket = \"unix:$SW_MILTER_SOCK\"; tag_keys = \"$KEYS\";
               group = \"postfix\"; rate = 1000; outbound = { networks = [\"127.0.0.1\"]; };
               $rp_conf };"
sed -i 's|pools = ( { name = "m365"; relays = \["primary"\]; } );|pools = ( { name = "m365"; relays = ["primary"]; hosts = ["*.protection.outlook.test"]; egress = ["40.107.0.0/16"]; } );|' "$SW_CONF"
grep -q 'protection.outlook.test' "$SW_CONF" || fail "pool hosts not set"
printf '# e2e key file\nk1 %s\n' "$(openssl rand -hex 32)" >"$KEYS"
chmod 600 "$KEYS"
"$SW_MILTER" -n -c "$SW_CONF" >/dev/null || fail "spillway-milter -n refuses the config"

e2e_spawn milter "$SW_MILTER" -e -c "$SW_CONF"
sw_start
wait_for "[[ -S $SW_MILTER_SOCK ]] && grep -q 'started:' '$E2E_DIR/logs/milter.log'" 10 ||
    fail "spillway-milter did not start: $(tail -5 "$E2E_DIR/logs/milter.log")"
pf_start

evidence() { swctl --json status | python3 -c "import json,sys; print(json.load(sys.stdin)['evidence']['$1'])"; }
milter_log_count() { grep -cE -- "$1" "$E2E_DIR/logs/milter.log" || true; }
route_of() { swctl --json explain "u@$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['route'])"; }
# msg_for RELAY RCPT : one .msg file RELAY received for RCPT
msg_for() { grep -l "^rcpt: $2\$" "$E2E_DIR/relays/$1/spool/"*.msg 2>/dev/null | head -n 1 || true; }
# mail_from FILE : the envelope sender a relay saw
mail_from() { sed -n 's/^mail-from: //p' "$1" | head -n 1; }
rpath() { "$E2E_PYTHON" "$HERE/rpath.py" "$@"; }
# ndr TO FAILED [ARGS...] : the provider's NDR; its Message-ID goes to sent.list
ndr() {
    local to=$1 failed=$2 mid
    shift 2
    mid=$(rpath ndr --port "$PORT_SMTPD" --source "$STRANGER" --to "$to" --rcpt "$failed" "$@") ||
        fail "NDR to $to refused: $mid"
    echo "$mid" >>"$E2E_DIR/sent.list"
    echo "$mid"
}

# send_from SENDER TAG RCPT... : one message by SMTP from 127.0.0.1
send_from() {
    "$E2E_PYTHON" - "$PORT_SMTPD" "$E2E_DIR/sent.list" "$@" <<'PY'
import secrets, smtplib, sys
from email.utils import formatdate
port, sent, sender, tag, *rcpts = sys.argv[1:]
mid = f"<{tag}-{secrets.token_hex(6)}@test.spillway>"
msg = (f"From: {sender}\r\nTo: {', '.join(rcpts)}\r\nSubject: e2e {tag}\r\n"
       f"Date: {formatdate(localtime=True)}\r\nMessage-ID: {mid}\r\n\r\nHello ({tag}).\r\n")
with smtplib.SMTP("127.0.0.1", int(port), local_hostname="client.test.spillway", timeout=60) as s:
    s.sendmail(sender, rcpts, msg)
open(sent, "a").write(mid + "\n")
PY
}
# submit SENDER TAG RCPT : one message through Postfix's sendmail command
submit() {
    local mid="<$2-$RANDOM$RANDOM@test.spillway>"
    printf 'From: %s\nTo: %s\nSubject: e2e %s\nMessage-ID: %s\n\nSubmitted locally.\n' \
        "$1" "$3" "$2" "$mid" | sendmail -C "$PF_ETC" -i -f "$1" "$3" ||
        fail "sendmail refused the message from $1"
    echo "$mid" >>"$E2E_DIR/sent.list"
}

# --------------------------------------------------------------- 1. outbound
log "1. outbound envelope senders are rewritten"
send_from jane@example.org jane a1@ironport.example a2@ironport.example a3@ironport.example
send_from bob@example.org bob b1@ironport.example
send_from carol@example.com carol c1@ironport.example
send_from Dave.Smith@Example.ORG dave d1@other.example
send_from postmaster@example.org pm p1@other.example
submit local@example.org local l1@other.example
pf_wait_empty 60 || fail "queue did not drain"
expect_eq "primary got all" "$(relay_count primary)" 6
jane_rp=$(mail_from "$(msg_for primary a1@ironport.example)")
bob_rp=$(mail_from "$(msg_for primary b1@ironport.example)")
carol_rp=$(mail_from "$(msg_for primary c1@ironport.example)")
dave_rp=$(mail_from "$(msg_for primary d1@other.example)")
local_rp=$(mail_from "$(msg_for primary l1@other.example)")
t0='[a-z2-7]{8}=[a-z2-7]{3}'
[[ $jane_rp =~ ^sw0=$t0=example\.org=jane@bounces\.example\.net$ ]] || fail "jane's return path: '$jane_rp'"
[[ $bob_rp =~ ^sw0=$t0=example\.org=bob@bounces\.example\.net$ ]] || fail "bob's return path: '$bob_rp'"
[[ $carol_rp =~ ^sw1=$t0=carol@bounces\.example\.com$ ]] || fail "carol's return path: '$carol_rp'"
[[ $dave_rp =~ ^sw0=$t0=example\.org=Dave\.Smith@bounces\.example\.net$ ]] || fail "Dave's return path: '$dave_rp'"
[[ $local_rp =~ ^sw0=$t0=example\.org=local@bounces\.example\.net$ ]] ||
    fail "locally submitted mail's return path: '$local_rp'"
expect_eq "postmaster left alone" "$(mail_from "$(msg_for primary p1@other.example)")" postmaster@example.org
# The MACs, computed here without spillway's code.
for pair in "$jane_rp jane@example.org" "$bob_rp bob@example.org" "$carol_rp carol@example.com" \
    "$dave_rp dave.smith@example.org" "$local_rp local@example.org"; do
    read -r addr want <<<"$pair"
    got=$(rpath verify "$KEYS" "$addr" --domain "$RP" --subdomain "$SUB") || fail "$addr does not verify"
    expect_eq "the sender $addr restores to" "${got,,}" "$want"
done
expect_eq "header tags still added" \
    "$(grep -li '^X-Spillway-Tag: v=1; ' "$E2E_DIR"/relays/primary/spool/*.msg | wc -l)" 6

# --------------------------------------------------------------- 2. forged NDRs
log "2. forged NDRs are refused at RCPT"
jane_h=$(cut -d= -f2-3 <<<"$jane_rp")
forged=(
    "5.1.1 $(rpath make "$KEYS" jane@example.org --domain "$RP" --secret "$(openssl rand -hex 32)")"
    "5.1.1 $(rpath make "$KEYS" carol@example.com --subdomain "$SUB" --secret "$(openssl rand -hex 32)")"
    "5.1.1 sw0=$jane_h=example.org=boss@$RP"
    "5.1.1 sw1=$jane_h=boss@$SUB.example.com"
    "5.1.1 sw0=zzzzzzzz=aaa=example.org=jane@$RP"
    "5.1.1 nobody@$RP"
    "5.7.1 $(rpath make "$KEYS" jane@example.org --domain "$RP" --days-ago 30)"
)
n=0
for f in "${forged[@]}"; do
    read -r want addr <<<"$f"
    n=$((n + 1))
    out=$(rpath ndr --port "$PORT_SMTPD" --source "$STRANGER" --to "$addr" --rcpt "f$n@ironport.example") &&
        fail "forged NDR to $addr accepted: $out"
    [[ $out =~ ^refused\ 550\ $want\  ]] || fail "forged NDR to $addr: '$out', want 550 $want"
done
expect_eq "refusals logged" "$(milter_log_count 'return-path: refused')" "${#forged[@]}"
expect_eq "evidence records" "$(evidence records)" 0
expect_eq "ironport still primary" "$(route_of ironport.example)" primary
expect_eq "mailbox sink" "$(relay_count mbox)" 0

# --------------------------------------------------------------- 3. genuine NDRs
log "3. the provider's NDRs come home, restored, as trusted evidence"
ndr_jane1=$(ndr "$jane_rp" a1@ironport.example --original "$(msg_for primary a1@ironport.example)")
ndr_jane2=$(ndr "$jane_rp" a2@ironport.example --original "$(msg_for primary a2@ironport.example)")
wait_for "(( \$(evidence trusted) >= 2 ))" 20 ||
    fail "routed has $(evidence trusted) trusted records of $(evidence records), want 2: $(grep -E ': bounce: ' "$E2E_DIR/logs/milter.log" | tail -2)"
# Folded to upper case by some MTA on the way: still valid, still jane's tag.
ndr_jane3=$(ndr "${jane_rp^^}" a3@ironport.example)
wait_for "(( \$(milter_log_count 'evidence=tag-cap') >= 1 ))" 20 ||
    fail "the third NDR of one tag was not capped: $(grep -E ': bounce: ' "$E2E_DIR/logs/milter.log" | tail -1)"
expect_eq "trusted records from one tag" "$(evidence trusted)" 2
expect_eq "one tag does not divert" "$(route_of ironport.example)" primary
ndr_carol=$(ndr "$carol_rp" c1@ironport.example \
    --text "550 5.7.606 Access denied, banned sending IP [40.107.3.4]. To request removal from this list please visit https://sender.office.com/ and follow the directions.")
wait_for "grep -qE 'divert: scope=destination:ironport.example pool=m365 from=primary to=alt-eu rule=bounce-reputation events=3/10m .*evidence=dsn:3' '$E2E_DIR/logs/routed.log'" 20 ||
    fail "no divert decision: $(grep -E 'divert|evidence' "$E2E_DIR/logs/routed.log" | tail -5)"
expect_eq "ironport diverted" "$(route_of ironport.example)" alternate
ndr_bob=$(ndr "$bob_rp" b1@ironport.example --original "$(msg_for primary b1@ironport.example)")
reply_bob=$(rpath reply --port "$PORT_SMTPD" --source "$STRANGER" --to "$bob_rp") ||
    fail "auto-reply to $bob_rp refused: $reply_bob"
echo "$reply_bob" >>"$E2E_DIR/sent.list"
wait_for "(( \$(evidence trusted) >= 4 ))" 20 || fail "routed has $(evidence trusted) trusted records, want 4"
explain=$(swctl explain u@ironport.example)
for r in a1 a2 c1; do
    grep -qE "^  [0-9T:Z-]* dsn pool=m365 trusted rcpt=<$r@ironport.example> .*class=reputation" <<<"$explain" ||
        fail "explain does not show the dsn evidence for $r: $explain"
done
expect_eq "trusted return-path records sent by the milter" \
    "$(milter_log_count 'tag=valid trusted evidence=sent via=return-path')" 4

# --------------------------------------------------------------- 4. after the divert
log "4. later mail for the diverted destination goes to the alternate"
send_from jane@example.org later a9@ironport.example
send_from jane@example.org later2 z1@other.example
pf_wait_empty 60 || fail "queue did not drain"
alt=$(msg_for alt1 a9@ironport.example)
[[ -n $alt ]] || fail "the alternate did not get a9@ironport.example"
[[ $(mail_from "$alt") =~ ^sw0=$t0=example\.org=jane@bounces\.example\.net$ ]] ||
    fail "sender at the alternate: '$(mail_from "$alt")'"
expect_eq "alt-eu got the diverted mail" "$(relay_count alt1)" 1
expect_eq "primary got the rest" "$(relay_count primary)" 7

# --------------------------------------------------------------- 5. exactly once
log "5. every NDR reached its sender once; nothing bounced"
for pair in "$ndr_jane1 jane@example.org" "$ndr_jane2 jane@example.org" "$ndr_jane3 jane@example.org" \
    "$ndr_carol carol@example.com" "$ndr_bob bob@example.org" "$reply_bob bob@example.org"; do
    read -r mid want <<<"$pair"
    files=$(grep -lxF "message-id: $mid" "$E2E_DIR"/relays/mbox/spool/*.msg || true)
    expect_eq "copies of $mid in the mailboxes" "$(grep -c . <<<"$files" || true)" 1
    expect_eq "recipient of $mid" "$(sed -n 's/^rcpt: //p' "$files" | tr '[:upper:]' '[:lower:]')" "$want"
done
expect_eq "mailbox sink" "$(relay_count mbox)" 6
expect_eq "NDRs not restored" "$(relay_count leak)" 0
expect_eq "return-path addresses delivered unrestored" \
    "$(grep -lE '^rcpt: (sw[01]=|nobody@)' "$E2E_DIR"/relays/*/spool/*.msg | wc -l)" 0
expect_eq "restores logged" "$(milter_log_count 'return-path: restored <[sS][wW][01]=')" 6
assert_exactly_once || fail "exactly-once check failed"
expect_eq "queue" "$(pf_queue_count)" 0
expect_eq "bounced by Postfix" "$(pf_bounced_count)" 0
expect_eq "Postfix's own notifications" "$(pf_log_count 'sender (non-delivery|delay|delivery status) notification')" 0
expect_eq "evidence records (none untrusted)" "$(evidence records)" "$(evidence trusted)"

# --------------------------------------------------------------- 6. Postfix's own NDR
log "6. Postfix's own NDR of a rewritten sender reaches the sender"
# The primary refuses a recipient for good (not reputation: the dsn filter
# leaves it a 5xx); Postfix's bounce goes to the return path, passes the
# milter (non_smtpd_milters, internal_mail_filter_classes = bounce) and is
# restored like the provider's.
relay_rules primary "gone.example 550 5.1.1 <x@gone.example>: Recipient address rejected: User unknown"
send_from jane@example.org gone x@gone.example
sed -i '/^<gone-/d' "$E2E_DIR/sent.list" # refused by the primary: delivered nowhere
pf_wait_empty 60 || fail "queue did not drain"
expect_eq "bounced by Postfix" "$(pf_bounced_count)" 1
own=$(grep -l '^rcpt: jane@example.org$' "$E2E_DIR"/relays/mbox/spool/*.msg |
    xargs grep -l '^Final-Recipient: rfc822; *x@gone.example' || true)
expect_eq "Postfix's NDRs in jane's mailbox" "$(grep -c . <<<"$own" || true)" 1
expect_eq "NDRs not restored" "$(relay_count leak)" 0
relay_rules primary ""

# --------------------------------------------------------------- 7. off
log "7. return_path off: senders unchanged"
grep -qF "$rp_conf" "$SW_CONF" || fail "no return_path in the config"
conf=$(<"$SW_CONF")
printf '%s\n' "${conf//"$rp_conf"/}" >"$SW_CONF"
! grep -q return_path "$SW_CONF" || fail "return_path still in the config"
"$SW_MILTER" -n -c "$SW_CONF" >/dev/null || fail "spillway-milter -n refuses the config without return_path"
kill -USR1 "$(cat "$E2E_DIR/pids/milter.pid")"
wait_for "(( \$(milter_log_count 'reloaded ') >= 1 ))" 10 || fail "the milter did not reload"
send_from jane@example.org off o1@other.example
submit local@example.org offlocal o2@other.example
pf_wait_empty 60 || fail "queue did not drain"
expect_eq "sender at the primary, return_path off" "$(mail_from "$(msg_for primary o1@other.example)")" jane@example.org
expect_eq "submitted sender at the primary, return_path off" \
    "$(mail_from "$(msg_for primary o2@other.example)")" local@example.org
grep -qi '^X-Spillway-Tag: v=1; ' "$(msg_for primary o1@other.example)" || fail "not tagged with return_path off"
assert_exactly_once || fail "exactly-once check failed"
expect_eq "bounced by Postfix" "$(pf_bounced_count)" 1
echo "t90-returnpath: ok ($((SECONDS - start))s)"
