#!/bin/bash
# tests/e2e/t90-returnpath.sh - return-path routing in a real Postfix (issue 14).
#
# A private Postfix with spillway-milter in smtpd_milters and
# non_smtpd_milters, and spillway-routed.  milter.return_path names a fixed
# return-path domain (bounces.example.net, any sender) and the per-sender-
# domain form for example.com (bounces.example.com); Postfix relays both
# (relay_domains) for a client that is not in mynetworks, and routes them to
# the restore agent (spillway-milter --restore) through a pipe(8) transport:
# the safety net for what the milter did not restore.  The primary accepts
# everything: the trouble shows only in the provider's NDRs, which quote
# nothing of ours but come back to the envelope sender.  The senders'
# mailboxes (example.org, example.com) are a counting sink (mbox); no relay
# may ever see a return-path address as a recipient.
#
# The wiring, as it works here (main.cf lines, then the master.cf line):
#   transport_maps = inline:{bounces.example.net=spillway-rp:, bounces.example.com=spillway-rp:}, <the harness's maps>
#   relay_domains = bounces.example.net, bounces.example.com
#   spillway-rp_destination_recipient_limit = 1
#   spillway-rp unix - n n - - pipe flags= null_sender= user=nobody argv=<builddir>/spillway-milter --restore -c <E2E_DIR>/sw/spillway.conf ${sender} ${recipient} -- /usr/sbin/sendmail -C <E2E_DIR>/pf/etc
# With the system instance (/etc/postfix) and the shipped users (README):
#   spillway-rp unix - n n - - pipe flags= null_sender= user=spillway-milter argv=/usr/sbin/spillway-milter --restore -c /etc/spillway/spillway.conf ${sender} ${recipient} -- /usr/sbin/sendmail
# - column 4 (unprivileged) "n": pipe starts as root to become user=;
#   column 5 (chroot) "n": the agent and sendmail run from the real file
#   system, unchrooted;
# - user=: pipe refuses root, the mail_owner (postfix) and the setgid group
#   (user=x:postdrop); it runs with that user's uid and primary group only,
#   which must read the key file, spillway.conf and its patterns (here the
#   key file is root:nogroup 0640; production: root:spillway-milter 0640);
# - null_sender= : ${sender} is "" for a report and the agent hands it on
#   with -f "" (pipe's default is MAILER-DAEMON; Postfix's cleanup happens
#   to turn MAILER-DAEMON@$myorigin back into the null sender, so this test
#   passes without it too; the empty form is what pipe(8) recommends for
#   mail fed back into Postfix);
# - _destination_recipient_limit = 1: ${recipient} becomes one argument per
#   recipient, and the agent takes exactly one (without the limit, a report
#   to two return-path addresses exits 64 and bounces);
# - sendmail -C DIR: a non-root sendmail (and its postdrop) may name a
#   configuration directory other than /etc/postfix only when the default
#   main.cf lists it in alternate_config_directories (postmulti's instances
#   are).  This host has no /etc/postfix/main.cf, so the test runs in a
#   mount namespace of its own where /etc/postfix is a copy with that one
#   line; nothing outside the test sees it.
#
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
#      and an auto-reply reach the original sender's mailbox exactly once,
#      restored by the milter (the pipe transport delivers none of them);
#   4. later mail for the diverted destination goes to the alternate;
#   5. nothing is bounced by Postfix, nothing is left in the queue;
#   6. an NDR of Postfix's own (the primary refused a recipient for good)
#      passes no milter: the pipe transport restores it, and it reaches the
#      sender's mailbox once, with the null sender;
#   7. the milter killed: the NDRs that smtpd accepts meanwhile
#      (default_action=accept) to valid addresses (one of them with two
#      return-path recipients) are restored by the pipe transport, once
#      each, senders kept; those to a forged and an expired address are
#      refused by the agent (67: bounced, dsn=5.1.1) and, being reports
#      themselves, go nowhere: no mailbox, no relay, no postmaster notice
#      (notify_classes has no 2bounce: Postfix drops them silently).
#      The milter restarted: RCPT to a forged address is refused again, and
#      the milter restores a valid one before the pipe sees it;
#   8. return_path removed and the milter reloaded: outbound senders reach
#      the primary as they were.
# Run as root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "t90-returnpath: must run as root" >&2; exit 1; }
# In a mount namespace of its own: /etc/postfix is replaced (below) by a
# copy whose main.cf lets a non-root sendmail -C name this test's instance.
if [[ -z ${T90_NAMESPACE:-} ]]; then
    T90_NAMESPACE=1 exec unshare --mount --propagation private -- "$BASH" "$0" "$@"
fi
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
milter_line=$(grep '^smtpd_milters' "$SW_TOP_SRC/conf/postfix-main.cf") ||
    fail "conf/postfix-main.cf has no smtpd_milters line"
mbox="smtp:[127.0.0.4]:$PORT_MBOX"
# The shipped wiring (conf/postfix-main.cf): non_smtpd_milters, and the
# return-path domains in relay_domains; and the restore agent's transport
# (the header above says why each attribute).
rp_user=nobody
cp -a /etc/postfix "$E2E_DIR/etc-postfix"
printf 'alternate_config_directories = %s\n' "$PF_ETC" >>"$E2E_DIR/etc-postfix/main.cf"
mount --bind "$E2E_DIR/etc-postfix" /etc/postfix # in this test's mount namespace only
pf_setup "$(sw_main_cf socketmap | sed "s/= /= inline:{example.org=$mbox, example.com=$mbox, $RP=spillway-rp:, $SUB.example.com=spillway-rp:}, /")" \
    "$milter_line" "$(sw_shipped_cf non_smtpd_milters '{')" \
    "mynetworks = 127.0.0.1/32" "relay_domains = $RP, $SUB.example.com" \
    "spillway-rp_destination_recipient_limit = 1"
rp_conf="return_path = { domain = \"$RP\"; subdomain = \"$SUB\"; sender_domains = [\"example.com\"]; };"
sw_config_auto '{ name = "bounce-reputation"; classes = ["reputation"]; scope = "destination";
                  threshold = { events = 3; window = "10m"; }; hold = "1h"; }' "" "" \
    "milter: { socket = \"unix:$SW_MILTER_SOCK\"; tag_keys = \"$KEYS\";
               group = \"postfix\"; rate = 1000; outbound = { networks = [\"127.0.0.1\"]; };
               $rp_conf };"
sed -i 's|pools = ( { name = "m365"; relays = \["primary"\]; } );|pools = ( { name = "m365"; relays = ["primary"]; hosts = ["*.protection.outlook.test"]; egress = ["40.107.0.0/16"]; } );|' "$SW_CONF"
grep -q 'protection.outlook.test' "$SW_CONF" || fail "pool hosts not set"
sw_agent_files # the agent's user may not enter the checkout
pf_master_add "spillway-rp unix - n n - - pipe flags= null_sender= user=$rp_user argv=$SW_AGENT --restore -c $SW_CONF \${sender} \${recipient} -- /usr/sbin/sendmail -C $PF_ETC"
printf '# e2e key file\nk1 %s\n' "$(openssl rand -hex 32)" >"$KEYS"
chown "root:$(id -gn "$rp_user")" "$KEYS"
chmod 640 "$KEYS"
"$SW_MILTER" -n -c "$SW_CONF" >/dev/null || fail "spillway-milter -n refuses the config"
# What the pipe transport's user must read (else the agent exits 75 and the
# reports wait in the queue).
setpriv --reuid "$rp_user" --regid "$(id -g "$rp_user")" --clear-groups \
    "$SW_AGENT" -n -c "$SW_CONF" >/dev/null || fail "$rp_user cannot read the config or the keys"

milter_start() {
    local n
    n=$(grep -c 'started:' "$E2E_DIR/logs/milter.log" 2>/dev/null || true)
    e2e_spawn milter "$SW_MILTER" -e -c "$SW_CONF"
    wait_for "[[ -S $SW_MILTER_SOCK ]] && (( \$(grep -c 'started:' '$E2E_DIR/logs/milter.log') > ${n:-0} ))" 10 ||
        fail "spillway-milter did not start: $(tail -5 "$E2E_DIR/logs/milter.log")"
}
milter_start
sw_start
pf_start

evidence() { swctl --json status | python3 -c "import json,sys; print(json.load(sys.stdin)['evidence']['$1'])"; }
milter_log_count() { grep -cE -- "$1" "$E2E_DIR/logs/milter.log" || true; }
route_of() { swctl --json explain "u@$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['route'])"; }
# msg_for RELAY RCPT : one .msg file RELAY received for RCPT
msg_for() { grep -l "^rcpt: $2\$" "$E2E_DIR/relays/$1/spool/"*.msg 2>/dev/null | head -n 1 || true; }
# mail_from FILE : the envelope sender a relay saw
mail_from() { sed -n 's/^mail-from: //p' "$1" | head -n 1; }
rpath() { "$E2E_PYTHON" "$HERE/rpath.py" "$@"; }
# rp_at_relays : messages any relay received for an address at a return-path
# domain (Postfix's default route for them would be the primary)
rp_at_relays() {
    { grep -liE "^rcpt: .*@(${RP//./\\.}|$SUB\\.example\\.com)\$" "$E2E_DIR"/relays/*/spool/*.msg || true; } | wc -l
}
# pipe_log STATUS : the maillog lines of the pipe transport's deliveries
pipe_log() { pf_log_count " relay=spillway-rp, .* status=$1 "; }
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
expect_eq "return-path addresses at a relay" "$(rp_at_relays)" 0
expect_eq "delivered by the pipe transport" "$(pf_log_count ' relay=spillway-rp,')" 0
expect_eq "restores logged" "$(milter_log_count 'return-path: restored <[sS][wW][01]=')" 6
assert_exactly_once || fail "exactly-once check failed"
expect_eq "queue" "$(pf_queue_count)" 0
expect_eq "bounced by Postfix" "$(pf_bounced_count)" 0
expect_eq "Postfix's own notifications" "$(pf_log_count 'sender (non-delivery|delay|delivery status) notification')" 0
expect_eq "evidence records (none untrusted)" "$(evidence records)" "$(evidence trusted)"

# --------------------------------------------------------------- 6. Postfix's own NDR
log "6. Postfix's own NDR of a rewritten sender reaches the sender"
# The primary refuses a recipient for good (not reputation: the dsn filter
# leaves it a 5xx); Postfix's bounce goes to the return path and passes no
# milter (no internal_mail_filter_classes): the pipe transport restores it.
relay_rules primary "gone.example 550 5.1.1 <x@gone.example>: Recipient address rejected: User unknown"
send_from jane@example.org gone x@gone.example
sed -i '/^<gone-/d' "$E2E_DIR/sent.list" # refused by the primary: delivered nowhere
pf_wait_empty 60 || fail "queue did not drain"
expect_eq "bounced by Postfix" "$(pf_bounced_count)" 1
own=$(grep -l '^rcpt: jane@example.org$' "$E2E_DIR"/relays/mbox/spool/*.msg |
    xargs grep -l '^Final-Recipient: rfc822; *x@gone.example' || true)
expect_eq "Postfix's NDRs in jane's mailbox" "$(grep -c . <<<"$own" || true)" 1
expect_eq "envelope sender of Postfix's NDR in jane's mailbox" "$(mail_from "$own")" ""
expect_eq "delivered by the pipe transport" \
    "$(pf_log_count "to=<sw0=$t0=example\.org=jane@bounces\.example\.net>, relay=spillway-rp, .* status=sent ")" 1
expect_eq "pipe deliveries" "$(pipe_log '[a-z]+')" 1
expect_eq "return-path addresses at a relay" "$(rp_at_relays)" 0
relay_rules primary ""

# --------------------------------------------------------------- 7. milter down
log "7. the milter down: the pipe transport restores, and refuses forgeries"
kill -KILL "$(cat "$E2E_DIR/pids/milter.pid")"
wait "$(cat "$E2E_DIR/pids/milter.pid")" 2>/dev/null || true
rm -f "$E2E_DIR/pids/milter.pid"
mbox0=$(relay_count mbox)
primary0=$(relay_count primary)
sent0=$(pipe_log sent)
bounced0=$(pf_bounced_count)
notices0=$(pf_log_count 'non-delivery notification')
# Accepted (default_action=accept), still addressed to the return path.
ndr_carol2=$(ndr "$carol_rp" c2@ironport.example)
# An auto-reply (not the null sender) to two return-path addresses at once.
reply_two=$("$E2E_PYTHON" - "$PORT_SMTPD" "$STRANGER" "$bob_rp" "$local_rp" <<'PY'
import smtplib, sys, time
port, source, *rcpts = sys.argv[1:]
mid = f"<{time.time_ns()}.away@mx.provider.test>"
msg = (f"From: Away <away@provider.test>\r\nTo: {', '.join(rcpts)}\r\n"
       f"Subject: Automatic reply\r\nMessage-ID: {mid}\r\nAuto-Submitted: auto-replied\r\n"
       f"\r\nI am away.\r\n")
with smtplib.SMTP("127.0.0.1", int(port), local_hostname="provider.test", timeout=60,
                  source_address=(source, 0)) as s:
    s.sendmail("away@provider.test", rcpts, msg)
print(mid)
PY
) || fail "the auto-reply to two return-path addresses was refused: $reply_two"
# Forged and expired: accepted at RCPT (no milter), refused by the agent.
bad_rp="sw0=$jane_h=example.org=boss@$RP"
old_rp=$(rpath make "$KEYS" carol@example.com --subdomain "$SUB" --days-ago 30)
bad_ndr=$(rpath ndr --port "$PORT_SMTPD" --source "$STRANGER" --to "$bad_rp" --rcpt f8@ironport.example) ||
    fail "NDR to $bad_rp refused with the milter down: $bad_ndr"
old_ndr=$(rpath ndr --port "$PORT_SMTPD" --source "$STRANGER" --to "$old_rp" --rcpt f9@ironport.example) ||
    fail "NDR to $old_rp refused with the milter down: $old_ndr"
pf_wait_empty 60 || fail "queue did not drain"
expect_eq "pipe deliveries sent" "$(($(pipe_log sent) - sent0))" 3
files=$(grep -lxF "message-id: $ndr_carol2" "$E2E_DIR"/relays/*/spool/*.msg || true)
expect_eq "copies of the NDR to carol" "$(grep -c . <<<"$files" || true)" 1
expect_eq "recipient of the NDR to carol" "$(sed -n 's/^rcpt: //p' "$files")" carol@example.com
expect_eq "envelope sender of the NDR to carol" "$(mail_from "$files")" ""
files=$(grep -lxF "message-id: $reply_two" "$E2E_DIR"/relays/*/spool/*.msg || true)
# shellcheck disable=SC2086 # one file name a line
expect_eq "recipients of the auto-reply" "$(sed -n 's/^rcpt: //p' $files | sort | tr '\n' ' ')" \
    "bob@example.org local@example.org "
# shellcheck disable=SC2086
expect_eq "envelope senders of the auto-reply" "$(sed -n 's/^mail-from: //p' $files | sort -u)" away@provider.test
expect_eq "mailbox sink" "$(($(relay_count mbox) - mbox0))" 3
expect_eq "refused by the agent, forged" \
    "$(pf_log_count "to=<$bad_rp>, relay=spillway-rp, .* dsn=5\.1\.1, status=bounced .*not a valid return-path address")" 1
expect_eq "refused by the agent, expired" \
    "$(pf_log_count "to=<$old_rp>, relay=spillway-rp, .* dsn=5\.1\.1, status=bounced .*an expired return-path address")" 1
expect_eq "bounced by Postfix" "$(($(pf_bounced_count) - bounced0))" 2
# A report about a report: Postfix sends none (notify_classes has no 2bounce).
expect_eq "notifications" "$(($(pf_log_count 'non-delivery notification') - notices0))" 0
expect_eq "the refused NDRs at any relay" \
    "$(cat "$E2E_DIR"/relays/*/spool/*.msg | grep -cixF -e "message-id: $bad_ndr" -e "message-id: $old_ndr" || true)" 0
expect_eq "primary (postmaster)" "$(relay_count primary)" "$primary0"
expect_eq "return-path addresses at a relay" "$(rp_at_relays)" 0
milter_start
out=$(rpath ndr --port "$PORT_SMTPD" --source "$STRANGER" --to "$bad_rp" --rcpt f10@ironport.example) &&
    fail "forged NDR to $bad_rp accepted after the restart: $out"
[[ $out =~ ^refused\ 550\ 5\.1\.1\  ]] || fail "forged NDR after the restart: '$out', want 550 5.1.1"
restored0=$(milter_log_count 'return-path: restored <')
ndr_carol3=$(ndr "$carol_rp" c3@ironport.example)
pf_wait_empty 60 || fail "queue did not drain"
expect_eq "restored by the milter after the restart" \
    "$(($(milter_log_count 'return-path: restored <') - restored0))" 1
expect_eq "copies of $ndr_carol3 in carol's mailbox" \
    "$(grep -lxF "message-id: $ndr_carol3" "$E2E_DIR"/relays/mbox/spool/*.msg | xargs -r grep -lx 'rcpt: carol@example.com' | wc -l)" 1
expect_eq "pipe deliveries sent" "$(($(pipe_log sent) - sent0))" 3
assert_exactly_once || fail "exactly-once check failed"

# --------------------------------------------------------------- 8. off
log "8. return_path off: senders unchanged"
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
expect_eq "bounced by Postfix" "$(pf_bounced_count)" 3
echo "t90-returnpath: ok ($((SECONDS - start))s)"
