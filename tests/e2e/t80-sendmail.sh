#!/bin/bash
# tests/e2e/t80-sendmail.sh - spillway with a real Sendmail.
#
# Sendmail 8.17 unpacked from Debian's packages (tests/e2e/sendmail.sh), on
# 127.0.0.1, configured with the shipped snippet conf/sendmail.mc itself
# (m4 include(); only its two socket addresses are defined for the test):
# the milter through INPUT_MAIL_FILTER, routing through
# FEATURE(mailertable) with spillway-routed's socket map, Sendmail's log
# lines fed to routed.maillog.  Steps:
#   1. spillway answers NOTFOUND: Sendmail delivers through its SMART_HOST
#      (the primary), every message tagged by spillway-milter;
#   2. the primary throttles div.example with Microsoft's reputation text
#      (451 4.7.650): Sendmail keeps the mail queued, its stat= lines reach
#      spillway-routed, which diverts div.example; the queue run that
#      routed.flush starts delivers the queued mail at the alternate, and
#      new div.example mail goes there directly; other domains stay on the
#      primary;
#   3. every message delivered exactly once, none bounced by Sendmail;
#   4. a provider's bounces of tagged mail, submitted to Sendmail, reach
#      spillway-milter and become trusted evidence in spillway-routed (two
#      divert bnc.example);
#   5. div.example's hold expires: while probing, a share of its mail goes
#      to the primary again (Sendmail asks by host, not by address: each
#      lookup is drawn on its own); after recover.successes it returns, and
#      its next message goes to the primary;
#   6. spillwayctl release bnc.example: its next message goes to the primary;
#   7. an operator's pin to alt-us, whose spillway.conf names a mailer of
#      its own (another port), as conf/sendmail.mc documents;
#   8. spillway-milter killed: Sendmail still accepts and delivers mail
#      (the snippet has no F=T or F=R), untagged;
#   9. an operator's pin starts a queue run: mail the primary deferred for
#      pin.example (a plain 451, no evidence) goes to the pinned alternate
#      with no other queue run;
#  10. spillway-routed killed (fail-static): the rendered mailertable, the
#      second member of the snippet's sequence map, still sends us.example
#      to alt-us; keep.example waits in the queue (4.4.3) and goes to the
#      primary by the queue run spillway-routed starts when it is back.
#
# A Sendmail-only host: routed.mta = "sendmail", spillway-routed runs
# where /etc/postfix/main.cf does not exist (a mount namespace hides
# /etc/postfix if this machine has one), renders the mailertable with
# makemap and no Postfix table, and logs no render error; explain's
# Sendmail answer is the socket map's own; queue runs are started with
# ETRN (routed.flush_etrn), as on a real host where spillway-routed's user
# cannot run "sendmail -q".
#
# The relays: Sendmail ignores ports in mailertable values (MTA-FACTS.md),
# and spillway-routed attributes a Sendmail log line to a relay by its
# address alone (Sendmail logs no port).  So every relay has its own
# loopback address (127.0.0.81-83): one mailer per port on 127.0.0.1 would
# route, but every delivery would be logged as relay=[127.0.0.1] and could
# not be told apart.  The primary and alt-eu share a port, which the relay
# mailer (used by SMART_HOST and by spillway's default answers) connects
# to: RELAY_MAILER_ARGS `TCP $h PORT'.  alt-us listens on another port and
# is reached through its own mailer "relayus" (mailer = "relayus").
# Run as root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "t80-sendmail: must run as root" >&2; exit 1; }
start=$SECONDS
E2E_DIR=$(mktemp -d /tmp/sw-t80.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
# shellcheck source=sendmail.sh
. "$HERE/sendmail.sh"
trap sm_cleanup EXIT
e2e_ports "${T80_BASE:-25800}"
SM_PORT=$PORT_SMTPD         # Sendmail's SMTP
RELAY_PORT=$PORT_PRIMARY    # every relay, each on its own address
PRIMARY=127.0.0.81
ALT_EU=127.0.0.82
ALT_US=127.0.0.83
SW_MILTER=$SW_BUILDDIR/spillway-milter
KEYS=$SW_DIR/tag.keys
HOLD=10                     # seconds: long enough for steps 2-4, short for step 5
THROTTLE="451 4.7.650 The mail server [40.107.1.2] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775)"

# --------------------------------------------------------------- set-up
sm_fetch
sm_unpack
relay_start primary "$RELAY_PORT" "$PRIMARY"
relay_start alt1 "$RELAY_PORT" "$ALT_EU"
relay_start alt2 "$PORT_ALT2" "$ALT_US"

mkdir -p "$SW_DIR/render"
MAKEMAP=$SM_MAKEMAP
[[ -x $MAKEMAP ]] || fail "no makemap in the unpacked sendmail-bin ($MAKEMAP)"
{
echo "# spillway.conf for t80-sendmail (generated)"
# The test's syslog listener writes the log: forgeable.
sm_sw_routed "maillog = \"syslog:$SM_LOG\"; maillog_trust = \"forgeable\";
    flush_etrn = \"inet:127.0.0.1:$SM_PORT\";"
cat <<CONF
milter: { socket = "unix:$SW_DIR/milter.sock"; tag_keys = "$KEYS"; tag_max_age = "7d"; rate = 100; };
classify: { patterns = "$SW_TOP_SRC/conf/patterns.conf"; };
pools = ( { name = "m365"; relays = ["primary"]; hosts = ["*.protection.outlook.test"];
            egress = ["40.107.0.0/16"]; } );
relays = (
    { name = "primary"; nexthop = "[$PRIMARY]:$RELAY_PORT"; role = "primary"; jurisdiction = "EU"; },
    { name = "alt-eu"; nexthop = "[$ALT_EU]:$RELAY_PORT"; priority = 10; jurisdiction = "EU"; },
    { name = "alt-us"; nexthop = "[$ALT_US]:$PORT_ALT2"; priority = 20; jurisdiction = "US";
      mailer = "relayus"; }
);
rules = ( { name = "pool-reputation"; classes = ["reputation"]; scope = "destination";
            threshold = { events = 2; window = "10m"; }; hold = $HOLD; hold_max = "1h";
            recover = { share = 0.5; successes = 2; }; } );
CONF
} >"$SW_CONF"
printf '# e2e key file\nk1 %s\n' "$(openssl rand -hex 32)" >"$KEYS"
chmod 600 "$KEYS"
"$SW_ROUTED" -n -c "$SW_CONF" >/dev/null || fail "spillway-routed -n refuses the config"
"$SW_MILTER" -n -c "$SW_CONF" >/dev/null || fail "spillway-milter -n refuses the config"

# The test's .mc: a private instance (sm_mc), the primary as SMART_HOST,
# then the shipped snippet with the test's socket addresses.
# shellcheck disable=SC2016  # m4 text
sm_mc "define(\`SMART_HOST', \`[$PRIMARY]')dnl" \
    "define(\`RELAY_MAILER_ARGS', \`TCP \$h $RELAY_PORT')dnl" \
    "define(\`SPILLWAY_SOCKETMAP', \`inet:$PORT_SOCKMAP@127.0.0.1')dnl" \
    "define(\`SPILLWAY_MILTER', \`unix:$SW_DIR/milter.sock')dnl" \
    "define(\`SPILLWAY_MAILERTABLE', \`$SW_DIR/render/mailertable')dnl" \
    "include(\`$SW_TOP_SRC/conf/sendmail.mc')dnl" \
    --after-mailers \
    "MAILER_DEFINITIONS" \
    "Mrelayus,	P=[IPC], F=mDFMuXa8, S=EnvFromSMTP/HdrFromSMTP, R=MasqSMTP, E=\\r\\n, L=2040," \
    "		T=DNS/RFC822/SMTP, A=TCP \$h $PORT_ALT2"
sm_build

sm_syslog_start
# routed_start : spillway-routed on a host without Postfix's main.cf
routed_start() {
    if [[ -d /etc/postfix ]]; then # hidden whether or not it has a main.cf
        # shellcheck disable=SC2016  # for the inner shell
        e2e_spawn routed unshare -m sh -c 'mount -t tmpfs -o size=1m none /etc/postfix && exec "$0" "$@"' \
            "$SW_ROUTED" -e -c "$SW_CONF"
    else
        e2e_spawn routed "$SW_ROUTED" -e -c "$SW_CONF"
    fi
    wait_for "swctl status" 15 || fail "spillway-routed did not start: $(tail -3 "$E2E_DIR/logs/routed.log")"
}
routed_start
grep -qE "started: .* mta=sendmail tables=$SW_DIR/render/mailertable\(hash\)" "$E2E_DIR/logs/routed.log" ||
    fail "spillway-routed does not render for Sendmail: $(grep started: "$E2E_DIR/logs/routed.log")"
wait_for "[[ -s $SW_DIR/render/mailertable.db ]]" 10 || fail "makemap built no mailertable.db"
[[ ! -e $SW_DIR/render/transport ]] || fail "a Postfix transport table was rendered on a Sendmail host"
e2e_spawn milter "$SW_MILTER" -e -c "$SW_CONF"
wait_for "[[ -S $SW_DIR/milter.sock ]] && grep -q 'started:' '$E2E_DIR/logs/milter.log'" 10 ||
    fail "spillway-milter did not start: $(tail -5 "$E2E_DIR/logs/milter.log")"
sm_start
log "sendmail on 127.0.0.1:$SM_PORT; relays $PRIMARY, $ALT_EU on port $RELAY_PORT, $ALT_US on $PORT_ALT2"

# status FIELD.SUB : a counter of spillway-routed's status
status() {
    swctl --json status | python3 -c "import json,sys; a,b='$1'.split('.'); print(json.load(sys.stdin)[a][b])"
}
# route_of DOMAIN : "primary" or "alternate", as spillway-routed answers it
route_of() { swctl --json explain "u@$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['route'])"; }
# msg_for RELAY RCPT : one .msg file RELAY received for RCPT
msg_for() { grep -l "^rcpt: $2\$" "$E2E_DIR/relays/$1/spool/"*.msg 2>/dev/null | head -n 1 || true; }
# ids RELAY PREFIX : how many messages with Message-ID <PREFIX-...> RELAY received
ids() { relay_msgids "$1" | grep -c "^<$2-" || true; }
# sent_at RELAY-ADDR RCPT : Sendmail's queue IDs of successful deliveries
sent_at() {
    { grep -E "sm-mta\[[0-9]+\]: [[:alnum:]]+: to=<$2>, .*relay=\[$1\] .*stat=Sent" "$SM_LOG" || true; } |
        sed -E 's/.*sm-mta\[[0-9]+\]: ([[:alnum:]]+): .*/\1/' | sort -u
}

# --------------------------------------------------------------- 1. primary, tagged
log "1. NOTFOUND: Sendmail delivers through SMART_HOST, tagged by the milter"
send_mail a@keep.example 2 pre || fail "Sendmail refused mail"
send_mail a@div.example 1 prediv || fail "Sendmail refused mail"
send_mail a@bnc.example 1 prebnc || fail "Sendmail refused mail"
send_mail b@bnc.example 1 prebnc || fail "Sendmail refused mail"
sm_wait_empty 20 || fail "Sendmail's queue did not drain"
expect_eq "primary" "$(relay_count primary)" 5
expect_eq "alternates" "$(($(relay_count alt1) + $(relay_count alt2)))" 0
tagged=$(grep -l '^X-Spillway-Tag: v=1; t=[0-9]*; k=k1; h=' "$E2E_DIR"/relays/primary/spool/*.msg | wc -l || true)
expect_eq "tagged at the primary" "$tagged" 5
# Sendmail asked spillway (host, .parent, . for each recipient and sender)
# and was told NOTFOUND every time.
(($(status lookups.notfound) >= 4)) || fail "spillway-routed saw no mailertable lookups: $(swctl status | head -3)"
expect_eq "found" "$(status lookups.found)" 0
wait_for "(( \$(status maillog.outcomes) >= 5 ))" 10 ||
    fail "Sendmail's stat= lines did not reach spillway-routed: $(swctl status | sed -n 3p)"
expect_eq "unparsable log lines" "$(status maillog.unparsable)" 0

# --------------------------------------------------------------- 2. divert
log "2. the primary throttles div.example: stat= lines divert it"
relay_rules primary "div.example $THROTTLE"
etrns=$(sm_log_count 'ETRN #mqueue')
send_mail b@div.example 2 held || fail "Sendmail refused mail"
send_mail b@keep.example 1 keep || fail "Sendmail refused mail"
wait_for "(( \$(sm_log_count 'to=<b@div.example>, .*relay=\\[$PRIMARY\\] .*reply=451 4\\.7\\.650 .*stat=Deferred') >= 2 ))" 15 ||
    fail "Sendmail did not defer div.example at the primary"
wait_for "grep -qE 'divert: scope=destination:div.example pool=m365 from=primary to=alt-eu rule=pool-reputation events=2/10m ratio=1.00 hold=${HOLD}s evidence=log:2 first=\"451 4\\.7\\.650 The mail server' '$E2E_DIR/logs/routed.log'" 15 ||
    fail "no divert decision: $(grep -E 'divert|maillog' "$E2E_DIR/logs/routed.log" | tail -5)"
expect_eq "div.example route" "$(route_of div.example)" alternate
# routed.flush_etrn runs the queue: the deferred mail, still queued under
# the same queue IDs, goes to the alternate.
wait_for "(( \$(relay_count alt1) >= 2 ))" 20 ||
    fail "the deferred mail did not reach alt-eu: $(sm_queue_count) queued, calls: $(cat "$SM_DIR/calls.log")"
(($(sm_log_count 'ETRN #mqueue') > etrns)) || fail "spillway-routed's flush sent no ETRN"
deferred=$({ grep -E "to=<b@div.example>, .*stat=Deferred" "$SM_LOG" || true; } |
    sed -E 's/.*sm-mta\[[0-9]+\]: ([[:alnum:]]+): .*/\1/' | sort -u)
expect_eq "deferred, then sent at alt-eu (queue IDs)" "$(sent_at "$ALT_EU" b@div.example | tr '\n' ' ')" \
    "$(tr '\n' ' ' <<<"$deferred")"
expect_eq "held mail at alt-eu" "$(ids alt1 held)" 2
send_mail c@div.example 2 new || fail "Sendmail refused mail"
send_mail c@keep.example 2 keep2 || fail "Sendmail refused mail"
sm_wait_empty 20 || fail "Sendmail's queue did not drain after the divert"
expect_eq "new div.example mail at alt-eu" "$(ids alt1 new)" 2
expect_eq "keep.example still at the primary" "$(($(ids primary keep) + $(ids primary keep2)))" 3
expect_eq "alt-us" "$(relay_count alt2)" 0
(($(status lookups.found) >= 2)) || fail "spillway-routed answered no mailertable lookup"
# The rendered mailertable holds the diversion (makemap's own dump of the
# .db), and explain gives the answer Sendmail's lookup gets.
wait_for "'$MAKEMAP' -C '$SM_CF' -u hash '$SW_DIR/render/mailertable' | grep -qxF \"div.example	relay:[$ALT_EU]\"" 10 ||
    fail "the rendered mailertable lacks div.example: $("$MAKEMAP" -C "$SM_CF" -u hash "$SW_DIR/render/mailertable" 2>&1)"
for d in div.example keep.example; do
    explained=$(swctl --json explain "u@$d" | python3 -c "import json,sys; l=json.load(sys.stdin)['lookups']; assert [x['mta'] for x in l]==['sendmail'], l; print(l[0]['answer'])")
    asked=""
    for key in "$d" ".${d#*.}" .; do
        asked=$(smc "inet:127.0.0.1:$PORT_SOCKMAP" "spillway $key")
        [[ $asked == "NOTFOUND " ]] || break
    done
    expect_eq "explain's answer for $d, the socket map's" "$explained" "$asked"
done
expect_eq "keep.example by the socket map, every key" "$asked" "NOTFOUND "
[[ $(smc "inet:127.0.0.1:$PORT_SOCKMAP" "spillway div.example") == "OK relay:[$ALT_EU]" ]] ||
    fail "the socket map's member name: $(smc "inet:127.0.0.1:$PORT_SOCKMAP" "spillway div.example")"
swctl explain u@div.example | grep -qxF "lookup:   sendmail asks mailertable \"div.example\": OK relay:[$ALT_EU]" ||
    fail "explain's lookup line: $(swctl explain u@div.example)"

# --------------------------------------------------------------- 3. counts
log "3. exactly once, nothing bounced"
assert_exactly_once || fail "exactly-once check failed"
expect_eq "primary" "$(relay_count primary)" 8
expect_eq "alt-eu" "$(relay_count alt1)" 4
expect_eq "bounced by Sendmail" "$(sm_bounced_count)" 0

# --------------------------------------------------------------- 4. bounce evidence
log "4. bounces of tagged mail become evidence"
for r in a b; do
    "$E2E_PYTHON" "$HERE/bounce.py" --port "$SM_PORT" --original "$(msg_for primary "$r@bnc.example")" \
        --rcpt "$r@bnc.example" >/dev/null || fail "Sendmail refused the bounce for $r@bnc.example"
done
wait_for "(( \$(status evidence.trusted) >= 2 ))" 15 ||
    fail "no trusted evidence: $(tail -3 "$E2E_DIR/logs/milter.log")"
expect_eq "milter: evidence sent" "$(grep -cE 'bounce: rcpt=[ab]@bnc.example .*dsn=5\.7\.606 class=reputation .*pool=m365 tag=valid trusted evidence=sent' \
    "$E2E_DIR/logs/milter.log")" 2
# Two events are the rule's threshold: the bounces alone divert bnc.example.
wait_for "grep -qE 'divert: scope=destination:bnc.example pool=m365 from=primary to=alt-eu rule=pool-reputation events=2/10m .*evidence=dsn:2 ' '$E2E_DIR/logs/routed.log'" 10 ||
    fail "the bounces did not divert bnc.example: $(grep -E 'divert' "$E2E_DIR/logs/routed.log" | tail -3)"
swctl explain u@bnc.example | grep -qE '^  [0-9T:Z-]* dsn pool=m365 trusted rcpt=<a@bnc.example> .*dsn=5.7.606 class=reputation' ||
    fail "explain does not show the dsn evidence: $(swctl explain u@bnc.example)"
sm_wait_empty 20 || fail "Sendmail's queue did not drain after the bounces"
expect_eq "the bounces themselves, delivered on" "$(ids primary bounce)" 2

# --------------------------------------------------------------- 5. hold expires
log "5. div.example's hold expires: probing, then back to the primary"
relay_rules primary ""
wait_for "grep -qE 'probe: scope=destination:div.example from=alt-eu to=alt-eu rule=pool-reputation hold=${HOLD}s share=0.5' '$E2E_DIR/logs/routed.log'" $((HOLD + 10)) ||
    fail "div.example did not start probing: $(grep -E 'div.example' "$E2E_DIR/logs/routed.log" | tail -3)"
# One message at a time until recover.successes (2) reached the primary;
# with share 0.5 that takes about four.  Drawn by the host name alone, as
# before the fix, all of them went to alt-eu (or all to the primary).
for ((i = 1; i <= 30; i++)); do
    send_mail "p$i@div.example" 1 probe || fail "Sendmail refused mail"
    sm_wait_empty 20 || fail "Sendmail's queue did not drain while probing"
    (($(ids primary probe) >= 2)) && break
done
wait_for "grep -qE 'return: scope=destination:div.example pool=m365 from=alt-eu to=primary rule=pool-reputation successes=2' '$E2E_DIR/logs/routed.log'" 10 ||
    fail "div.example did not return: $(ids primary probe) of $((i > 30 ? 30 : i)) probe messages at the primary"
probes_primary=$(ids primary probe)
probes_alt=$(ids alt1 probe)
expect_eq "probe messages delivered" "$((probes_primary + probes_alt))" "$i"
expect_eq "probe messages at the primary" "$probes_primary" 2
log "probing: $probes_primary of $i message(s) at the primary, then return"
expect_eq "div.example route" "$(route_of div.example)" primary
send_mail d@div.example 1 returned || fail "Sendmail refused mail"
sm_wait_empty 20 || fail "Sendmail's queue did not drain after the return"
expect_eq "mail after the return at the primary" "$(ids primary returned)" 1

# --------------------------------------------------------------- 6. release
log "6. release: bnc.example back to the primary"
swctl release bnc.example >/dev/null
expect_eq "release logged" "$(sw_log_count 'release: scope=destination:bnc.example from=alt-eu to=primary')" 1
expect_eq "bnc.example route" "$(route_of bnc.example)" primary
send_mail c@bnc.example 1 released || fail "Sendmail refused mail"
sm_wait_empty 20 || fail "Sendmail's queue did not drain after the release"
expect_eq "released mail at the primary" "$(ids primary released)" 1

# --------------------------------------------------------------- 7. own mailer
log "7. a pin to alt-us, through its own mailer and port"
swctl divert us.example --to alt-us --for 1h --reason "e2e: alt-us has its own mailer" >/dev/null
send_mail a@us.example 1 us || fail "Sendmail refused mail"
sm_wait_empty 20 || fail "Sendmail's queue did not drain after the pin"
expect_eq "alt-us" "$(ids alt2 us)" 1
(($(sm_log_count "to=<a@us.example>, .*mailer=relayus, .*relay=\\[$ALT_US\\] .*stat=Sent") == 1)) ||
    fail "a@us.example did not go through mailer relayus"

# --------------------------------------------------------------- 8. milter down
log "8. the milter killed: Sendmail still takes mail (no F=T, no F=R)"
kill -KILL "$(cat "$E2E_DIR/pids/milter.pid")"
wait "$(cat "$E2E_DIR/pids/milter.pid")" 2>/dev/null || true
rm -f "$E2E_DIR/pids/milter.pid"
send_mail a@keep.example 1 nomilter || fail "Sendmail refused mail with the milter down: $(cat "$E2E_DIR/refused.list")"
sm_wait_empty 20 || fail "Sendmail's queue did not drain with the milter down"
expect_eq "delivered without the milter" "$(ids primary nomilter)" 1
f=$(grep -l '^message-id: <nomilter-' "$E2E_DIR"/relays/primary/spool/*.msg || true)
if [[ ! -f $f ]] || grep -q '^X-Spillway-Tag:' "$f"; then
    fail "mail taken without the milter is tagged: $f"
fi
(($(sm_log_count 'Milter \(spillway\): .*(to error state|Connection refused|unsafe)') >= 1)) ||
    fail "Sendmail logged nothing about the missing milter"

# --------------------------------------------------------------- 9. a pin flushes
log "9. an operator's pin starts a queue run"
relay_rules primary "pin.example 451 4.3.0 Mailbox temporarily unavailable"
send_mail a@pin.example 1 pinq || fail "Sendmail refused mail"
wait_for "(( \$(sm_log_count 'to=<a@pin.example>, .*relay=\\[$PRIMARY\\] .*stat=Deferred') >= 1 ))" 15 ||
    fail "the primary did not defer pin.example"
# Nothing else runs the queue (no -q interval): step 7's first flush
# (1 s after its pin) is let pass, and its second comes 35 s after it, so
# only the pin's own flush can deliver the mail within the wait.
sleep 2
etrns=$(sm_log_count 'ETRN #mqueue')
swctl divert pin.example --to alt-eu --for 1h --reason "e2e: queued mail takes the pin" >/dev/null
wait_for "(( \$(ids alt1 pinq) == 1 ))" 10 ||
    fail "the deferred pin.example mail did not reach alt-eu after the pin ($(sm_queue_count) queued)"
(($(sm_log_count 'ETRN #mqueue') > etrns)) || fail "the pin sent no ETRN"
expect_eq "pin.example at the primary" "$(ids primary pinq)" 0
relay_rules primary ""

# --------------------------------------------------------------- 10. fail-static
log "10. spillway-routed killed: the rendered mailertable routes what was diverted"
# As installed, the map belongs to spillway-routed's user, not root
# (makemap run by root would give it to the .cf's TrustedUser): root's
# Sendmail must still take it.
chown -R nobody: "$SW_DIR/render"
expect_eq "the built map's mode" "$(stat -c %a "$SW_DIR/render/mailertable.db")" 644
kill -KILL "$(cat "$E2E_DIR/pids/routed.pid")"
wait "$(cat "$E2E_DIR/pids/routed.pid")" 2>/dev/null || true
rm -f "$E2E_DIR/pids/routed.pid"
send_mail b@us.example 1 static || fail "Sendmail refused mail with spillway-routed down"
send_mail d@keep.example 1 waits || fail "Sendmail refused mail with spillway-routed down"
wait_for "(( \$(ids alt2 static) == 1 ))" 15 ||
    fail "us.example did not go to alt-us by the rendered mailertable: $(grep 'b@us.example' "$SM_LOG" | tail -2)"
wait_for "(( \$(sm_log_count 'to=<d@keep.example>, .*stat=queued') == 1 ))" 10 ||
    fail "keep.example was not queued with spillway-routed down: $(grep 'd@keep.example' "$SM_LOG" | tail -2)"
expect_eq "keep.example delivered while spillway-routed is down" "$(ids primary waits)" 0
expect_eq "queued" "$(sm_queue_count)" 1
chown -R root: "$SW_DIR/render" # spillway-routed runs as root here: its files again
routed_start
# spillway-routed's flush at start runs the queue: the smart host takes it.
wait_for "(( \$(ids primary waits) == 1 ))" 15 ||
    fail "the mail queued while spillway-routed was down was not delivered after its start ($(sm_queue_count) queued)"

assert_exactly_once || fail "exactly-once check failed"
expect_eq "bounced by Sendmail" "$(sm_bounced_count)" 0
expect_eq "queued" "$(sm_queue_count)" 0
expect_eq "unparsable log lines" "$(status maillog.unparsable)" 0
# A Sendmail-only host: no render error, no postmap, two starts.
expect_eq "render errors" "$(sw_log_count 'render: |postmap')" 0
expect_eq "starts for Sendmail" "$(sw_log_count 'started: .* mta=sendmail ')" 2
echo "t80-sendmail: ok ($((SECONDS - start))s)"
