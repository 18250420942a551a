#!/bin/bash
# tests/e2e/t92-rp-sendmail.sh - the return path (issue 14) with a real Sendmail.
#
# Sendmail 8.17 from Debian's packages (tests/e2e/sendmail.sh) on
# 127.0.0.1, with the shipped snippet conf/sendmail.mc (spillway-milter as
# its INPUT_MAIL_FILTER, spillway-routed's socket map as its mailertable)
# and milter.return_path.domain = "bounces.example.net".  The relays
# (smtprelay.py) each have their own loopback address on one port, as in
# t80: the primary (SMART_HOST, advertises DSN), alt-eu, and "mbox", the
# provider where the senders' mailboxes (example.org) live.  Steps:
#   1. outbound mail from a loopback client reaches the primary with its
#      envelope sender rewritten by smfi_chgfrom to
#      sw0=HHHHHHHH=DDK=example.org=LOCAL@bounces.example.net, the very
#      address computed here apart from spillway (HMAC-SHA256 as
#      milter/global/rpath.h describes it); MAIL FROM's ESMTP parameters
#      (BODY=8BITMIME for an 8-bit body, RET=, ENVID=) survive; postmaster@
#      and the null sender are left
#      alone; the X-Spillway-Tag header is still added;
#   2. NDRs in the provider's format (Reporting-MTA a host of the m365
#      pool, 5.7.606, the original's headers quoted WITHOUT X-Spillway-Tag,
#      addressed only to the rewritten sender), mailed by SMTP from a client
#      that is not outbound (127.0.0.5), are accepted; each is trusted
#      evidence (milter: "tag=valid trusted evidence=sent via=return-path"); three
#      NDRs for mail of three senders (milter.tag_cap = 2 caps one sender's
#      tag) divert ironport.example (evidence=dsn:3), and the next mail for
#      it leaves through alt-eu; one NDR comes to the tagged address folded
#      to lower case, as some MTAs do.  Two more NDRs for one sender: the
#      first is trusted, the second capped.  Every NDR reaches its sender's
#      mailbox at mbox exactly once (smfi_delrcpt + smfi_addrcpt), and
#      nothing is delivered to a bounces.example.net address;
#   3. forged NDRs to addresses made here (one character of a genuine MAC
#      changed, a MAC with a key spillway does not hold, a genuine MAC 30
#      days old) are refused at RCPT (550 5.1.1, 550 5.7.1 for the expired
#      one) and change nothing: no evidence, no delivery, no decision;
#   4. the primary refuses a rewritten message (550): the DSN Sendmail
#      makes itself goes to the return-path address and passes no milter;
#      Sendmail delivers it with the mailer "spillwayrp", the restore agent
#      (spillway-milter --restore) run as an unprivileged user, which hands
#      it with the null sender to the private Sendmail's submission program
#      (a submit.cf, as /usr/sbin/sendmail is on Debian), and it reaches
#      the sender's mailbox once, with the null sender;
#   5. spillway-milter killed (Sendmail goes on without it): an NDR to a
#      valid return-path address is accepted and restored by the agent into
#      the sender's mailbox (case kept: F=u) once, with three Received:
#      lines and no loop; an NDR to a forged address is accepted at RCPT,
#      the agent exits 67 (EX_NOUSER), Sendmail logs "dsn=5.1.1, stat=User
#      unknown" and, the NDR's sender being null, sends a "postmaster
#      notify" to DoubleBounceAddress: no mailbox gets the NDR.  The milter
#      started again refuses the forged address at RCPT again.  Mail to
#      postmaster@ the domain goes to the postmaster, not to the agent.
# Every message is delivered exactly once; Sendmail bounces only step 4's
# and step 5's forged one.
#
# What Sendmail needs (found with this rig, Sendmail 8.17.1.9):
#   - smfi_chgfrom / smfi_addrcpt / smfi_delrcpt: nothing in the .mc.  The
#     milter asks for them when it registers (SMFIF_CHGFROM, SMFIF_ADDRCPT,
#     SMFIF_DELRCPT) and Sendmail >= 8.14 grants them; INPUT_MAIL_FILTER's
#     F= is only what to do when the milter fails.  Sendmail logs each
#     change: "Milter (spillway) chgfrom: <new>", "Milter (spillway)
#     delete: rcpt <old>, naddrs=1", "Milter (spillway) add: rcpt: <new>".
#     Its "from=" line is written before the milter's end of message and
#     keeps the original sender.
#   - Macros: the defaults do.  confMILTER_MACROS_ENVFROM carries i (queue
#     ID) and {auth_authen} (SMTP AUTH, which makes mail outbound);
#     confMILTER_MACROS_ENVRCPT {rcpt_mailer}, {rcpt_host}, {rcpt_addr};
#     the client address comes with the connect callback.  Nothing to add.
#   - ESMTP parameters: smfi_chgfrom(ctx, sender, NULL) keeps MAIL FROM's
#     parameters (RET=, ENVID=, BODY=) as the client gave them, and
#     Sendmail passes them on (RET=/ENVID= to a relay that advertises
#     DSN).  Given a non-NULL argument string, Sendmail takes it INSTEAD
#     of the client's: smfi_chgfrom(ctx, sender, "RET=HDRS ENVID=x") sends
#     RET= and ENVID= on, but no BODY=8BITMIME for an 8-bit body.
#   - Accepting the return-path domain: Sendmail's check_rcpt runs before
#     the milter sees RCPT, and relays from 127.0.0.1 for anyone ("originated
#     locally").  From any other client, mail for bounces.example.net is
#     refused ("550 5.7.1 ... Relaying denied") until the domain is in
#     class R: RELAY_DOMAIN(`bounces.example.net') (or the relay-domains
#     file, or an access-db "To:bounces.example.net RELAY").  No rule may
#     refuse the domain in ruleset 0 ($#error, a mailertable "error:"):
#     Sendmail resolves recipients at RCPT time, before the milter could
#     restore them.
#   - Delivering what the milter did not restore (its own DSNs, which pass
#     no milter; anything that came while the milter was down): the
#     domain's mail goes to a mailer that runs the restore agent.  The
#     lines, after the MAILER() lines (a TAB between a rule's two sides):
#       MAILER_DEFINITIONS
#       Mspillwayrp,	P=/usr/sbin/spillway-milter, F=DFMnu8, S=EnvFromSpillwayRP/HdrFromSMTP, R=EnvToSMTP/HdrFromSMTP,
#       		T=DNS/RFC822/X-Unix, U=spillway-milter,
#       		A=spillway-milter --restore -c /etc/spillway/spillway.conf $g $u
#       LOCAL_RULESETS
#       SEnvFromSpillwayRP
#       R$n			$@ <@>
#       R$+			$: $>EnvFromSMTP $1
#       LOCAL_RULE_0
#       Rpostmaster < @ bounces.example.net . >	$#local $: postmaster
#       R$+ < @ bounces.example.net . >	$#spillwayrp $@ bounces.example.net $: $1 < @ bounces.example.net . >
#     and in submit.mc (the submission program's .cf):
#       define(`confTRUSTED_USERS', `spillway-milter')dnl
#     Here P= is the build's binary, U=nobody, A= ends with
#     "-- $SM_DIR/bin/sendmail-msp" (the private Sendmail's submission
#     program; the default, /usr/sbin/sendmail, is the machine's), and the
#     postmaster rule sends to postmaster@ops.example at the mailbox
#     provider (the rig has no local delivery: "$#local" is not tried).
#     Why each piece:
#       $g $u: $u is the recipient as the full address (R=EnvToSMTP keeps
#         the domain; F=u keeps its case, or Sendmail folds the local
#         part); $g the envelope sender as the mailer's S= ruleset makes
#         it: "" for an SMTP "MAIL FROM:<>", but for a DSN Sendmail makes
#         itself, "MAILER-DAEMON" ($n) qualified by EnvFromSMTP
#         (MAILER-DAEMON@host): Sendmail sends its reports with "MAIL
#         FROM:<>" only over SMTP (mailer flag g).  The ruleset
#         EnvFromSpillwayRP turns $n back into the null sender; without it
#         the restored DSN reaches the sender from MAILER-DAEMON@host.
#       F=n: no "From " line before the message; F=8: 8-bit data as it is;
#         no F=m: one recipient per run; no F=S: the agent runs as U=.
#       U=: a user that can read spillway.conf, the patterns and the key
#         file (milter.tag_keys, readable by milter.user only: so that
#         user; its own group goes with it).  Sendmail dropped this mailer
#         line without a word with U=nobody:nogroup (also U=mail:nogroup;
#         not U=nobody, U=nobody:65534, U=mail:mail, nor U=nobody:nogroup
#         with the ruleset named SpwFrom: cause not found), after which
#         every chgfrom'd sender, whose domain resolved to the missing
#         mailer, was "invalid or unparsable" and left as
#         MAILER-DAEMON@host.  So give U= the user alone, and check that
#         `echo =M | sendmail -bt` lists the mailer, as this test does.
#       The agent hands the message to sendmail(1) as that user: Debian's
#         MSP, which submits it by SMTP to 127.0.0.1:25, so restored mail
#         passes the milter again (as an ordinary message to the sender)
#         and an MSP -f from an untrusted user adds "X-Authentication-
#         Warning: ... set sender to <> using -f": hence confTRUSTED_USERS
#         in submit.mc.  (The rig's MSP, run with -C, adds one "Processed
#         by nobody with -C" that a real /usr/sbin/sendmail does not.)
#       Exit codes: 0 delivered; 67 "User unknown" (dsn=5.1.1), Sendmail
#         returns the message: for an NDR (null sender) a "postmaster
#         notify" to DoubleBounceAddress (default postmaster; "" drops it),
#         for mail with a sender a DSN to that sender (backscatter while the
#         milter is down: not tested); 75 queued and retried.
#       postmaster@ the domain: the milter leaves it to the MTA, and the
#         agent would return it (67): its rule comes first.
#     The old wiring, a "self" mailer (an SMTP mailer with F=k back to
#     Sendmail's own listener), restored DSNs through the milter, but with
#     the milter down mail to the domain went round through the listener
#     until MaxHopCount ("Too many hops").
#   - The senders' domain: the mailertable is spillway's socket map, so the
#     route to their mailboxes here is a LOCAL_RULE_0 rule (a real site
#     would send it to the provider through the SMART_HOST).
# Run as root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "t92-rp-sendmail: must run as root" >&2; exit 1; }
start=$SECONDS
E2E_DIR=$(mktemp -d /tmp/sw-t92.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
# shellcheck source=sendmail.sh
. "$HERE/sendmail.sh"
trap sm_cleanup EXIT
e2e_ports "${T92_BASE:-26600}"
SM_PORT=$PORT_SMTPD          # Sendmail's SMTP
RELAY_PORT=$PORT_PRIMARY     # every relay, each on its own address
PRIMARY=127.0.0.81
ALT_EU=127.0.0.82
MBOX=127.0.0.84              # the senders' mailboxes (example.org)
PROVIDER=127.0.0.5           # where the NDRs come from: not outbound
RP_DOMAIN=bounces.example.net
REPORTER=AM6PR01MB1234.eurprd01.prod.protection.outlook.test
SW_MILTER=$SW_BUILDDIR/spillway-milter
KEYS=$SW_DIR/tag.keys
SENDERS=(jane@example.org john@example.org Joan.Smith@example.org)

# --------------------------------------------------------------- set-up
sm_fetch
sm_unpack
relay_start primary "$RELAY_PORT" "$PRIMARY" --dsn
relay_start alt1 "$RELAY_PORT" "$ALT_EU"
relay_start mbox "$RELAY_PORT" "$MBOX"

mkdir -p "$SW_DIR/render"
{
echo "# spillway.conf for t92-rp-sendmail (generated)"
sm_sw_routed
cat <<CONF
milter: { socket = "unix:$SW_DIR/milter.sock"; tag_keys = "$KEYS"; tag_cap = 2; rate = 100;
          outbound = { networks = ["127.0.0.1"]; };
          return_path = { domain = "$RP_DOMAIN"; max_age = "21d"; }; };
classify: { patterns = "$SW_TOP_SRC/conf/patterns.conf"; };
pools = ( { name = "m365"; relays = ["primary"]; hosts = ["*.protection.outlook.test"];
            egress = ["40.107.0.0/16"]; } );
relays = (
    { name = "primary"; nexthop = "[$PRIMARY]:$RELAY_PORT"; role = "primary"; jurisdiction = "EU"; },
    { name = "alt-eu"; nexthop = "[$ALT_EU]:$RELAY_PORT"; priority = 10; jurisdiction = "EU"; }
);
rules = ( { name = "rp-reputation"; classes = ["reputation"]; scope = "destination";
            threshold = { events = 3; window = "10m"; }; hold = "1h"; } );
CONF
} >"$SW_CONF"
printf '# e2e key file\nk1 %s\n' "$(openssl rand -hex 32)" >"$KEYS"
chmod 600 "$KEYS"
"$SW_ROUTED" -n -c "$SW_CONF" >/dev/null || fail "spillway-routed -n refuses the config"
"$SW_MILTER" -n -c "$SW_CONF" >/dev/null || fail "spillway-milter -n refuses the config"
sw_agent_files # the agent's user may not enter the checkout

# The .mc: t80's (the primary as SMART_HOST, the shipped snippet), the
# return-path domain in class R and delivered by the restore agent (mailer
# "spillwayrp", the lines of the header above, run as nobody, which hands
# restored mail to the private Sendmail's submission program),
# postmaster@ the domain and DoubleBounceAddress to postmaster@ops.example,
# and example.org and ops.example to the mailbox provider.
RP_USER=nobody:nogroup      # the restore agent's user (production: spillway-milter)
chown "$RP_USER" "$KEYS"    # readable by it only, as by milter.user in production
sm_msp "$RP_USER"
# shellcheck disable=SC2016  # m4 text
sm_mc "define(\`SMART_HOST', \`[$PRIMARY]')dnl" \
    "define(\`RELAY_MAILER_ARGS', \`TCP \$h $RELAY_PORT')dnl" \
    "define(\`SPILLWAY_SOCKETMAP', \`inet:$PORT_SOCKMAP@127.0.0.1')dnl" \
    "define(\`SPILLWAY_MILTER', \`unix:$SW_DIR/milter.sock')dnl" \
    "define(\`SPILLWAY_MAILERTABLE', \`$SW_DIR/render/mailertable')dnl" \
    "include(\`$SW_TOP_SRC/conf/sendmail.mc')dnl" \
    "RELAY_DOMAIN(\`$RP_DOMAIN')dnl" \
    "define(\`confDOUBLE_BOUNCE_ADDRESS', \`postmaster@ops.example')dnl" \
    --after-mailers \
    "MAILER_DEFINITIONS" \
    "Mspillwayrp,	P=$SW_AGENT, F=DFMnu8, S=EnvFromSpillwayRP/HdrFromSMTP, R=EnvToSMTP/HdrFromSMTP," \
    "		T=DNS/RFC822/X-Unix, U=${RP_USER%%:*}," \
    "		A=spillway-milter --restore -c $SW_CONF \$g \$u -- $SM_MSP" \
    "LOCAL_RULESETS" \
    "SEnvFromSpillwayRP" \
    "R\$n			\$@ <@>" \
    "R\$+			\$: \$>EnvFromSMTP \$1" \
    "LOCAL_RULE_0" \
    "Rpostmaster < @ $RP_DOMAIN . >	\$#relay \$@ [$MBOX] \$: postmaster < @ ops.example . >" \
    "R\$+ < @ $RP_DOMAIN . >	\$#spillwayrp \$@ $RP_DOMAIN \$: \$1 < @ $RP_DOMAIN . >" \
    "R\$+ < @ example.org . >	\$#relay \$@ [$MBOX] \$: \$1 < @ example.org . >" \
    "R\$+ < @ ops.example . >	\$#relay \$@ [$MBOX] \$: \$1 < @ ops.example . >"
sm_build
sm_syslog_start
# A mailer line Sendmail cannot take is dropped without a word (U=nobody:nogroup
# did that here); mail to the domain would then fail ("unknown mailer"), and
# every rewritten sender with it (setsender: invalid: MAILER-DAEMON).
mailer=$(echo '=M' | sm_cmd -bt 2>&1 | grep -F '(spillwayrp)' || true)
[[ $mailer == *" S=EnvFromSpillwayRP/HdrFromSMTP "*" U=$(id -u "${RP_USER%%:*}"):$(id -g "${RP_USER%%:*}") "*" A=spillway-milter --restore -c $SW_CONF \$g \$u -- $SM_MSP" ]] ||
    fail "Sendmail did not take the mailer spillwayrp: '$mailer'"
e2e_spawn routed "$SW_ROUTED" -e -c "$SW_CONF"
wait_for "swctl status" 15 || fail "spillway-routed did not start"
e2e_spawn milter "$SW_MILTER" -e -c "$SW_CONF"
wait_for "[[ -S $SW_DIR/milter.sock ]] && grep -q 'started:' '$E2E_DIR/logs/milter.log'" 10 ||
    fail "spillway-milter did not start: $(tail -5 "$E2E_DIR/logs/milter.log")"
sm_start
log "sendmail on 127.0.0.1:$SM_PORT; primary $PRIMARY, alt-eu $ALT_EU, mbox $MBOX on port $RELAY_PORT"

# status FIELD.SUB : a counter of spillway-routed's status
status() {
    swctl --json status | python3 -c "import json,sys; a,b='$1'.split('.'); print(json.load(sys.stdin)[a][b])"
}
# route_of DOMAIN : "primary" or "alternate"
route_of() { swctl --json explain "u@$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['route'])"; }
# msg_for RELAY RCPT : the one .msg file RELAY received for RCPT
msg_for() {
    local f
    f=$(grep -lx "rcpt: $2" "$E2E_DIR/relays/$1/spool/"*.msg 2>/dev/null || true)
    [[ -n $f && $(wc -l <<<"$f") == 1 ]] || fail "$1 has $(grep -c . <<<"$f") message(s) for $2, want 1"
    echo "$f"
}
# field FILE NAME : a line "NAME: VALUE" of a relay's spool header
field() { sed -n "1,/^\$/s/^$2: //p" "$1"; }
milter_log_count() { grep -cE -- "$1" "$E2E_DIR/logs/milter.log" || true; }

# rp_addr SENDER DAYS-AGO [KEYFILE] : the return-path address of SENDER,
# computed here from milter/global/rpath.h's description, not by spillway
rp_addr() {
    "$E2E_PYTHON" - "$1" "$2" "${3:-$KEYS}" "$RP_DOMAIN" <<'PY'
import hashlib, hmac, sys, time
sender, ago, keyfile, rpdomain = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
B32 = "abcdefghijklmnopqrstuvwxyz234567"
kid, secret = [l.split() for l in open(keyfile) if l.strip() and l[0] != "#"][0][:2]
day = int(time.time()) // 86400 - ago
local, dom = sender.rsplit("@", 1)
data = f"spillway-rp/1|{day}|{local}@{dom}".lower().encode()
v = int.from_bytes(hmac.new(bytes.fromhex(secret), data, hashlib.sha256).digest()[:5], "big")
mac = "".join(B32[(v >> (35 - 5 * i)) & 31] for i in range(8))
sel = B32[hashlib.sha256(kid.encode()).digest()[0] & 31]
dd = day % 1024
print(f"sw0={mac}={B32[dd >> 5]}{B32[dd & 31]}{sel}={dom.lower()}={local}@{rpdomain}")
PY
}

# outbound SENDER RCPT TAG [LIST] : one message from a loopback (outbound)
# client, an 8-bit body with BODY=8BITMIME RET=HDRS ENVID=env-TAG on MAIL
# FROM, its Message-ID in LIST (default sent.list: it must be delivered
# exactly once)
outbound() {
    "$E2E_PYTHON" - "$SM_PORT" "$1" "$2" "$3" "${4:-$E2E_DIR/sent.list}" <<'PY'
import secrets, smtplib, sys
from email.utils import formatdate
port, sender, rcpt, tag, sent = sys.argv[1:]
mid = f"<{tag}-{secrets.token_hex(6)}@test.spillway>"
msg = (f"From: {sender or 'MAILER-DAEMON@test.spillway'}\r\nTo: {rcpt}\r\nSubject: e2e {tag}\r\n"
       f"Date: {formatdate(localtime=True)}\r\nMessage-ID: {mid}\r\nMIME-Version: 1.0\r\n"
       f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
       f"\r\nTest message ({tag}), caf\u00e9.\r\n").encode("utf-8")
with smtplib.SMTP("127.0.0.1", int(port), local_hostname="client.test.spillway", timeout=60) as s:
    s.sendmail(sender, [rcpt], msg, mail_options=["BODY=8BITMIME", "RET=HDRS", f"ENVID=env-{tag}"],
               rcpt_options=["NOTIFY=FAILURE"])
open(sent, "a").write(mid + "\n")
PY
}

# ndr ORIGINAL TO FAILED [refused|dropped] : the provider's NDR for the
# message in the spool file ORIGINAL, whose delivery to FAILED failed,
# mailed from $PROVIDER with the null sender to TO.  Its quoted headers
# are the original's without X-Spillway-Tag.  Accepted: its Message-ID goes
# to sent.list.  With "refused": RCPT must be refused; prints "CODE TEXT".
# With "dropped": accepted, but it must reach no one: its Message-ID goes
# to dropped.list.
ndr() {
    "$E2E_PYTHON" - "$SM_PORT" "$PROVIDER" "$REPORTER" "$1" "$2" "$3" "${4:-accepted}" \
        "$E2E_DIR/sent.list" <<'PY'
import re, smtplib, sys, time
port, src, reporter, original, to, failed, want, sent = sys.argv[1:]
raw = open(original, encoding="utf-8", errors="replace").read().replace("\r\n", "\n")
hdrs = raw.split("\n\n", 2)[1]   # the relay's own block, then the message's headers
hdrs = re.sub(r"(?im)^X-Spillway-Tag:.*\n(?:[ \t].*\n)*", "", hdrs + "\n").rstrip("\n")
assert "X-Spillway-Tag" not in hdrs
subject = re.search(r"(?im)^Subject:[ \t]*(.*)$", hdrs).group(1)
mid = f"<ndr-{time.time_ns()}@{reporter}>"
text = ("550 5.7.606 Access denied, banned sending IP [40.107.3.4]. To request removal from "
        "this list please visit https://sender.office.com/ and follow the directions. For more "
        "information please go to  http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430)")
body = f"""From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.org>
To: <{to}>
Date: {time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())}
Subject: Undeliverable: {subject}
Message-ID: {mid}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="b-ms-ndr"
X-MS-Exchange-Message-Is-Ndr:
Auto-Submitted: auto-replied

--b-ms-ndr
Content-Type: text/plain; charset=us-ascii

Your message to {failed} couldn't be delivered.
{failed.split('@')[1]} suspects your message is spam and rejected it.

Remote server returned '{text}'

--b-ms-ndr
Content-Type: message/delivery-status

Reporting-MTA: dns;{reporter}
Received-From-MTA: dns;mta.test.spillway
Arrival-Date: {time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())}

Final-Recipient: rfc822;{failed}
Action: failed
Status: 5.7.606
Diagnostic-Code: smtp;{text}
Remote-MTA: dns;mx.{failed.split('@')[1]}

--b-ms-ndr
Content-Type: text/rfc822-headers

{hdrs}

--b-ms-ndr--
""".replace("\n", "\r\n")
with smtplib.SMTP("127.0.0.1", int(port), local_hostname=reporter, source_address=(src, 0),
                  timeout=60) as s:
    try:
        s.sendmail("", [to], body)
    except smtplib.SMTPRecipientsRefused as e:
        code, resp = e.recipients[to]
        if want != "refused":
            sys.exit(f"ndr: {to} refused: {code} {resp!r}")
        print(code, resp.decode("utf-8", "replace"))
        sys.exit(0)
if want == "refused":
    sys.exit(f"ndr: {to} accepted, want refused")
if want == "dropped":
    sent = sent.replace("sent.list", "dropped.list")
open(sent, "a").write(mid + "\n")
PY
}

# --------------------------------------------------------------- 1. outbound
log "1. outbound mail leaves with a return-path sender (smfi_chgfrom)"
for i in 0 1 2; do
    outbound "${SENDERS[$i]}" "v$((i + 1))@ironport.example" "out$((i + 1))"
done
outbound john@example.org c1@capped.example cap1
outbound john@example.org c2@capped.example cap2
outbound postmaster@example.org pm@keep.example pm
outbound "" null@keep.example null
sm_wait_empty 20 || fail "Sendmail's queue did not drain"
expect_eq "primary" "$(relay_count primary)" 7
declare -A RP
for i in 0 1 2; do
    s=${SENDERS[$i]}
    f=$(msg_for primary "v$((i + 1))@ironport.example")
    got=$(field "$f" mail-from)
    want=$(rp_addr "$s" 0)
    # a message sent just before midnight (UTC) carries yesterday's day
    [[ $got == "$want" ]] || [[ $got == "$(rp_addr "$s" 1)" ]] ||
        fail "envelope sender of $s's mail at the primary: got <$got>, want <$want>"
    RP[$s]=$got
    params=" $(field "$f" mail-params) "
    [[ $params == *" RET=HDRS "* && $params == *" ENVID=env-out$((i + 1)) "* ]] ||
        fail "MAIL FROM's DSN parameters lost with the rewrite: '$params'"
    [[ $params == *" BODY=8BITMIME "* ]] ||
        fail "BODY=8BITMIME lost with the rewrite (8-bit body): '$params'"
    grep -q '^X-Spillway-Tag: v=1; t=[0-9]*; k=k1; h=' "$f" || fail "$s's mail carries no X-Spillway-Tag"
done
log "return path of ${SENDERS[0]}: ${RP[${SENDERS[0]}]}"
expect_eq "postmaster left alone" "$(field "$(msg_for primary pm@keep.example)" mail-from)" "postmaster@example.org"
expect_eq "the null sender left alone" "$(field "$(msg_for primary null@keep.example)" mail-from)" ""
expect_eq "chgfrom logged by Sendmail" \
    "$(sm_log_count "Milter \\(spillway\\) chgfrom: <sw0=[a-z2-7]{8}=[a-z2-7]{3}=example\\.org=[^@]+@$RP_DOMAIN>")" 5
expect_eq "senders at the primary" "$(grep -h '^mail-from: ' "$E2E_DIR"/relays/primary/spool/*.msg | sort | tr '\n' ' ')" \
    "$(printf 'mail-from: %s\n' "" "postmaster@example.org" "${RP[${SENDERS[0]}]}" \
        "${RP[${SENDERS[1]}]}" "${RP[${SENDERS[1]}]}" "${RP[${SENDERS[1]}]}" \
        "${RP[${SENDERS[2]}]}" | sort | tr '\n' ' ')"

# --------------------------------------------------------------- 2. NDRs come home
log "2. the provider's NDRs to the return path: trusted evidence, restored senders"
expect_eq "trusted evidence before" "$(status evidence.trusted)" 0
# The provider folds the third address to lower case.
TO=("${RP[${SENDERS[0]}]}" "${RP[${SENDERS[1]}]}" "${RP[${SENDERS[2]}],,}")
ndr "$(msg_for primary v1@ironport.example)" "${TO[0]}" v1@ironport.example
ndr "$(msg_for primary v2@ironport.example)" "${TO[1]}" v2@ironport.example
wait_for "(( \$(status evidence.trusted) >= 2 ))" 15 ||
    fail "no trusted evidence from two NDRs: $(tail -5 "$E2E_DIR/logs/milter.log")"
expect_eq "ironport.example after two NDRs" "$(route_of ironport.example)" primary
expect_eq "divert decisions after two NDRs" "$(sw_decisions divert)" 0
ndr "$(msg_for primary v3@ironport.example)" "${TO[2]}" v3@ironport.example
wait_for "grep -qE 'divert: scope=destination:ironport.example pool=m365 from=primary to=alt-eu rule=rp-reputation events=3/10m .*evidence=dsn:3' '$E2E_DIR/logs/routed.log'" 15 ||
    fail "the NDRs did not divert ironport.example: $(grep -E 'divert|evidence' "$E2E_DIR/logs/routed.log" | tail -5)"
expect_eq "trusted evidence" "$(status evidence.trusted)" 3
expect_eq "milter: trusted via the return path" \
    "$(milter_log_count ': bounce: rcpt=v[123]@ironport\.example .*tag=valid trusted evidence=sent via=return-path')" 3
expect_eq "milter: 5.7.606 reputation for the m365 pool" \
    "$(milter_log_count ': bounce: rcpt=v[123]@ironport\.example .*dsn=5\.7\.606 class=reputation .*pool=m365 ')" 3
# milter.tag_cap (2): john's tag, trusted once above, is trusted once more.
ndr "$(msg_for primary c1@capped.example)" "${TO[1]}" c1@capped.example
ndr "$(msg_for primary c2@capped.example)" "${TO[1]}" c2@capped.example
wait_for "(( \$(milter_log_count ': bounce: rcpt=c[12]@capped\.example ') >= 2 ))" 15 ||
    fail "the milter did not read the NDRs for capped.example: $(tail -3 "$E2E_DIR/logs/milter.log")"
expect_eq "milter: john's second NDR trusted" \
    "$(milter_log_count ': bounce: rcpt=c1@capped\.example .*tag=valid trusted evidence=sent via=return-path')" 1
expect_eq "milter: john's third NDR capped" \
    "$(milter_log_count ': bounce: rcpt=c2@capped\.example .*tag=valid trusted evidence=tag-cap via=return-path')" 1
wait_for "(( \$(status evidence.trusted) >= 4 ))" 10 || fail "routed did not get john's second trusted record"
expect_eq "trusted evidence" "$(status evidence.trusted)" 4
expect_eq "capped.example" "$(route_of capped.example)" primary
sm_wait_empty 20 || fail "Sendmail's queue did not drain after the NDRs"
# Every NDR at its sender's mailbox, once; john has three.
expect_eq "NDRs at the mailboxes" "$(relay_count mbox)" 5
for i in 0 1 2; do
    want=${SENDERS[$i]}
    ((i == 2)) && want=${want,,} # restored from the folded address: lower case
    n=1
    ((i == 1)) && n=3
    expect_eq "NDRs at $want's mailbox" "$(grep -lx "rcpt: $want" "$E2E_DIR"/relays/mbox/spool/*.msg | wc -l)" $n
    f=$(grep -l "^Final-Recipient: rfc822;v$((i + 1))@ironport.example" "$E2E_DIR"/relays/mbox/spool/*.msg)
    [[ $(wc -l <<<"$f") == 1 ]] || fail "v$((i + 1))'s NDR at the mailboxes: $f"
    expect_eq "v$((i + 1))'s NDR: recipient" "$(field "$f" rcpt)" "$want"
    expect_eq "v$((i + 1))'s NDR: envelope sender (null)" "$(field "$f" mail-from)" ""
    expect_eq "milter: restored $want" "$(milter_log_count "return-path: restored <${TO[$i]}> -> <$want>")" "$n"
    expect_eq "Sendmail: recipient deleted" "$(sm_log_count "Milter \\(spillway\\) delete: rcpt <${TO[$i]}>")" "$n"
    expect_eq "Sendmail: recipient added" "$(sm_log_count "Milter \\(spillway\\) add: rcpt: <$want>")" "$n"
done
expect_eq "mail delivered to the return-path domain" \
    "$(grep -lE "^rcpt: .*@$RP_DOMAIN\$" "$E2E_DIR"/relays/*/spool/*.msg | wc -l || true)" 0
# The diversion is Sendmail's route: the next mail for ironport.example.
outbound jane@example.org after@ironport.example after
sm_wait_empty 20 || fail "Sendmail's queue did not drain after the divert"
expect_eq "ironport.example mail after the divert at alt-eu" "$(relay_count alt1)" 1
expect_eq "its envelope sender" "$(field "$(msg_for alt1 after@ironport.example)" mail-from)" \
    "${RP[jane@example.org]}"

# --------------------------------------------------------------- 3. forgeries
log "3. forged NDRs to made-up return-path addresses are refused at RCPT"
evidence_now() { echo "$(status evidence.records) $(status evidence.trusted) $(status evidence.bad) $(status evidence.refused)"; }
before=$(evidence_now)
bounces_before=$(milter_log_count ': bounce: ')
mbox_before=$(relay_count mbox)
genuine=${RP[john@example.org]}
mac=${genuine:4:8}
flip=b
[[ ${mac:0:1} == b ]] && flip=c
wrongmac="sw0=$flip${mac:1}${genuine:12}"
printf 'k1 %s\n' "$(openssl rand -hex 32)" >"$SW_DIR/forger.keys" # same key id, another secret
otherkey=$(rp_addr ghost@example.org 0 "$SW_DIR/forger.keys")
expired=$(rp_addr john@example.org 30)
[[ $wrongmac != "$genuine" && $otherkey == sw0=*@$RP_DOMAIN && $expired != "$genuine" ]] ||
    fail "could not forge: $wrongmac $otherkey $expired"
orig=$(msg_for primary v2@ironport.example)
for to in "$wrongmac" "$otherkey"; do
    reply=$(ndr "$orig" "$to" "f@forged.example" refused)
    [[ $reply == "550 5.1.1 "*"no such return-path address (spillway: invalid tag)"* ]] ||
        fail "forged NDR to $to: got '$reply', want 550 5.1.1 ... no such return-path address"
done
reply=$(ndr "$orig" "$expired" "f@forged.example" refused)
[[ $reply == "550 5.7.1 "*"return-path address expired (spillway: made 30 days ago)"* ]] ||
    fail "NDR to the expired $expired: got '$reply', want 550 5.7.1 ... expired (spillway: made 30 days ago)"
expect_eq "milter: refused" "$(milter_log_count 'return-path: refused ')" 3
expect_eq "Sendmail: refused by the milter" "$(sm_log_count 'Milter: to=<sw0=.*, reject=550 5\.[17]\.1 ')" 3
sm_wait_empty 20 || fail "Sendmail's queue did not drain after the forgeries"
expect_eq "evidence (records trusted bad refused)" "$(evidence_now)" "$before"
expect_eq "bounces the milter read" "$(milter_log_count ': bounce: ')" "$bounces_before"
expect_eq "NDRs at the mailboxes" "$(relay_count mbox)" "$mbox_before"
expect_eq "forged.example" "$(route_of forged.example)" primary
expect_eq "divert decisions" "$(sw_decisions divert)" 1

# --------------------------------------------------------------- 4. Sendmail's own DSN
log "4. Sendmail's own DSN of rewritten mail reaches the sender through the restore agent"
expect_eq "bounced by Sendmail so far" "$(sm_bounced_count)" 0
relay_rules primary "dead.example 550 5.1.1 <x@dead.example>: Recipient address rejected: User unknown"
outbound jane@example.org x@dead.example dsn "$E2E_DIR/undeliverable.list"
wait_for "(( \$(sm_log_count ': DSN: User unknown') >= 1 ))" 15 || fail "Sendmail made no DSN"
sm_wait_empty 20 || fail "Sendmail's queue did not drain after its DSN"
f=$(grep -lx 'rcpt: jane@example.org' "$E2E_DIR"/relays/mbox/spool/*.msg | xargs grep -li '^Final-Recipient: RFC822; *x@dead\.example' || true)
expect_eq "Sendmail's DSN at jane's mailbox" "$(grep -c . <<<"$f")" 1
expect_eq "its envelope sender (null)" "$(field "$f" mail-from)" ""
expect_eq "its X-Authentication-Warning headers (but -C's, a test artefact)" \
    "$(grep -i '^X-Authentication-Warning:' "$f" | grep -vc ' with -C ' || true)" 0
expect_eq "NDRs at the mailboxes" "$(relay_count mbox)" $((mbox_before + 1))
expect_eq "Sendmail: the DSN delivered by the restore agent" \
    "$(sm_log_count "to=<${RP[jane@example.org]}>, .*mailer=spillwayrp, .*stat=Sent")" 1
expect_eq "restore agent: jane's DSN" \
    "$(sm_log_count "spillway-milter\\[[0-9]+\\]: restore: rcpt=${RP[jane@example.org]} state=valid from=<> -> <jane@example.org> \\(through $SM_MSP\\)")" 1
expect_eq "milter: restored jane's (step 2's NDR only)" \
    "$(milter_log_count "return-path: restored <${RP[jane@example.org]}> -> <jane@example.org>")" 1
expect_eq "DSNs Sendmail made" "$(sm_log_count ': DSN: ')" 1
expect_eq "bounced by Sendmail (the DSN and the 550 it reports)" "$(sm_bounced_count)" 2
expect_eq "mail delivered to the return-path domain" \
    "$(grep -lE "^rcpt: .*@$RP_DOMAIN\$" "$E2E_DIR"/relays/*/spool/*.msg | wc -l || true)" 0

# --------------------------------------------------------------- 5. milter down
log "5. spillway-milter down: the restore agent delivers valid addresses, returns the others"
e2e_kill milter
[[ ! -S $SW_DIR/milter.sock ]] || fail "spillway-milter left its socket"
: >"$E2E_DIR/dropped.list"
mbox_before=$(relay_count mbox)
# Joan.Smith: Sendmail hands the agent the address with its case (F=u).
ndr "$(msg_for primary v3@ironport.example)" "${RP[Joan.Smith@example.org]}" down1@ironport.example
down_mid=$(tail -n 1 "$E2E_DIR/sent.list")
# A forged address is accepted at RCPT while the milter is down.
ndr "$(msg_for primary v2@ironport.example)" "$wrongmac" down2@ironport.example dropped
dropped_mid=$(tail -n 1 "$E2E_DIR/dropped.list")
sm_wait_empty 20 || fail "Sendmail's queue did not drain with the milter down"
expect_eq "Sendmail went on without the milter" "$(sm_log_count 'Milter \(spillway\): to error state')" 3
# The valid one: restored once, into Joan's mailbox, with the null sender.
f=$(grep -l "^Final-Recipient: rfc822;down1@ironport.example" "$E2E_DIR"/relays/mbox/spool/*.msg || true)
expect_eq "the NDR at the mailboxes" "$(grep -c . <<<"$f")" 1
expect_eq "its Message-ID" "$(field "$f" message-id)" "$down_mid"
expect_eq "its recipient" "$(field "$f" rcpt)" Joan.Smith@example.org
expect_eq "its envelope sender (null)" "$(field "$f" mail-from)" ""
expect_eq "restore agent: the NDR" \
    "$(sm_log_count "spillway-milter\\[[0-9]+\\]: restore: rcpt=${RP[Joan.Smith@example.org]} state=valid from=<> -> <Joan\\.Smith@example\\.org> \\(through $SM_MSP\\)")" 1
expect_eq "Sendmail: delivered by the restore agent" \
    "$(sm_log_count "to=<${RP[Joan.Smith@example.org]}>, .*mailer=spillwayrp, .*stat=Sent")" 1
# No loop: the restored message is addressed to the sender, not to the
# return-path domain (the self route went round until MaxHopCount).
expect_eq "its Received: lines (provider, submission program, its SMTP)" \
    "$(sed -n '/^$/,$p' "$f" | sed '1d; /^\r\?$/q' | grep -c '^Received:')" 3
expect_eq "Sendmail: too many hops" "$(sm_log_count 'Too many hops')" 0
# The forged one: the agent says 67 (EX_NOUSER), Sendmail returns it; its
# sender is null, so that goes to the postmaster (DoubleBounceAddress),
# and no mailbox sees the NDR.
expect_eq "restore agent: the forged address" \
    "$(sm_log_count "spillway-milter\\[[0-9]+\\]: restore: rcpt=$wrongmac state=invalid: returned to the MTA")" 1
expect_eq "Sendmail: the forged address failed (67)" \
    "$(sm_log_count "to=<$wrongmac>, .*mailer=spillwayrp, .*dsn=5\\.1\\.1, stat=User unknown")" 1
expect_eq "Sendmail: the postmaster notified" "$(sm_log_count ': postmaster notify: User unknown')" 1
expect_eq "new messages at mbox (the NDR, the postmaster's notice)" "$(relay_count mbox)" $((mbox_before + 2))
pm=$(grep -lx "rcpt: postmaster@ops.example" "$E2E_DIR"/relays/mbox/spool/*.msg || true)
expect_eq "postmaster's notices" "$(grep -c . <<<"$pm")" 1
grep -q "$wrongmac" "$pm" || fail "the postmaster's notice does not name $wrongmac"
expect_eq "the forged NDR delivered anywhere" "$(grep -rlF -- "message-id: $dropped_mid" "$E2E_DIR"/relays/*/spool/ | wc -l)" 0
# The milter back: a forged address is refused at RCPT again.
e2e_spawn milter "$SW_MILTER" -e -c "$SW_CONF"
wait_for "[[ -S $SW_DIR/milter.sock ]] && (( \$(grep -c 'started:' '$E2E_DIR/logs/milter.log') >= 2 ))" 10 ||
    fail "spillway-milter did not start again: $(tail -5 "$E2E_DIR/logs/milter.log")"
reply=$(ndr "$orig" "$wrongmac" "f@forged.example" refused)
[[ $reply == "550 5.1.1 "*"no such return-path address (spillway: invalid tag)"* ]] ||
    fail "forged NDR to $wrongmac with the milter back: got '$reply', want 550 5.1.1"
expect_eq "bounced by Sendmail (step 4's two, the forged NDR)" "$(sm_bounced_count)" 3
# postmaster@ the domain, which the milter leaves to the MTA, is not the
# restore agent's: a rule of its own before the domain's.
ndr "$orig" "postmaster@$RP_DOMAIN" pm@ironport.example
pm_mid=$(tail -n 1 "$E2E_DIR/sent.list")
sm_wait_empty 20 || fail "Sendmail's queue did not drain after the postmaster's mail"
f=$(grep -lxF "message-id: $pm_mid" "$E2E_DIR"/relays/mbox/spool/*.msg || true)
expect_eq "the mail to postmaster@$RP_DOMAIN at the mailboxes" "$(grep -c . <<<"$f")" 1
expect_eq "its recipient" "$(field "$f" rcpt)" postmaster@ops.example
expect_eq "restore agent: postmaster@" "$(sm_log_count "spillway-milter\\[[0-9]+\\]: restore: rcpt=postmaster@")" 0

# --------------------------------------------------------------- counts
assert_exactly_once || fail "exactly-once check failed"
expect_eq "queued" "$(sm_queue_count)" 0
echo "t92-rp-sendmail: ok ($((SECONDS - start))s)"
