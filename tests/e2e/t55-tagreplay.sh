#!/bin/bash
# tests/e2e/t55-tagreplay.sh - one seen tag replayed in many forged bounces (issue 13).
#
# A private Postfix with spillway-milter and spillway-routed, the rule of
# the shipped example (3 reputation events in 10 minutes divert a
# destination), the default milter.tag_cap (2) and a rate high enough that
# it is not what holds.  milter.outbound.networks is 127.0.0.1 only, so a
# client on 127.0.0.5 is a stranger on the Internet.
#   1. mail that leaves (127.0.0.1) is tagged; mail from the stranger is
#      not, so mailing us earns no tag;
#   2. a recipient of one tagged message replays its tag (with its
#      Message-ID) in 24 forged bounces, each naming another failed
#      recipient in two destinations: as it was, with "; x=N" appended,
#      with its separators folded into tabs.  At most tag_cap (2) records
#      are trusted, the varied texts are invalid or the same tag, the rest
#      are suppressed as tag-cap, and nothing is diverted;
#   3. genuine bounces of three other outbound messages still count: the
#      destination they name is diverted, and later mail for it goes to
#      the alternate.
# Every message is delivered exactly once; Postfix bounces nothing.  Run
# as root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "t55-tagreplay: must run as root" >&2; exit 1; }
start=$SECONDS
E2E_DIR=$(mktemp -d /tmp/spillway-e2e-t55.XXXXXX)
PF_CHROOT=y
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
trap e2e_cleanup EXIT
e2e_ports "${T55_BASE:-26250}"
SW_MILTER=$SW_BUILDDIR/spillway-milter
KEYS=$SW_DIR/tag.keys
FORGED=24 # forged bounces: far more than the cap, and than the threshold

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
               group = \"postfix\"; tag_max_age = \"7d\"; rate = 1000;
               outbound = { networks = [\"127.0.0.1\"]; }; };"
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

# evidence FIELD : a counter of spillway-routed's bounce evidence
evidence() { swctl --json status | python3 -c "import json,sys; print(json.load(sys.stdin)['evidence']['$1'])"; }
milter_log_count() { grep -cE -- "$1" "$E2E_DIR/logs/milter.log" || true; }
route_of() { swctl --json explain "u@$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['route'])"; }
msg_for() { grep -l "^rcpt: $1\$" "$E2E_DIR"/relays/primary/spool/*.msg | head -n 1; }
bounce() { "$E2E_PYTHON" "$HERE/bounce.py" --port "$PORT_SMTPD" "$@" >/dev/null; }

# --------------------------------------------------------------- 1. what is tagged
log "1. outbound mail is tagged, inbound mail is not"
send_mail victim@partner.example 1 seen
for i in 1 2 3; do send_mail "p$i@partner2.example" 1 "genuine$i"; done
# The stranger: a client address outside milter.outbound.networks.
"$E2E_PYTHON" - "$PORT_SMTPD" "$E2E_DIR/sent.list" <<'PY' || fail "the inbound message was refused"
import smtplib, sys
mid = "<inbound-1@stranger.example>"
msg = (f"From: someone@stranger.example\r\nTo: inbox@partner.example\r\nSubject: hello\r\n"
       f"Message-ID: {mid}\r\n\r\nbody\r\n")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="mx.stranger.example",
                  source_address=("127.0.0.5", 0), timeout=60) as s:
    s.sendmail("someone@stranger.example", ["inbox@partner.example"], msg)
open(sys.argv[2], "a").write(mid + "\n")
PY
pf_wait_empty 60 || fail "queue did not drain"
expect_eq "primary got all" "$(relay_count primary)" 5
inbound=$(msg_for inbox@partner.example)
[[ -n $inbound ]] || fail "the inbound message did not arrive"
! grep -qi '^X-Spillway-Tag:' "$inbound" || fail "inbound mail was tagged: $(grep -i '^X-Spillway-Tag:' "$inbound")"
for r in victim@partner.example p1@partner2.example p2@partner2.example p3@partner2.example; do
    grep -q '^X-Spillway-Tag: v=1; t=[0-9]*; k=k1; h=' "$(msg_for "$r")" || fail "outbound mail for $r not tagged"
done

# --------------------------------------------------------------- 2. the replay
log "2. one seen tag replayed in $FORGED forged bounces"
seen=$(msg_for victim@partner.example)
for ((i = 1; i <= FORGED; i++)); do
    dom=target.example
    ((i % 2)) || dom=target2.example
    case $((i % 3)) in
    0) bounce --original "$seen" --rcpt "f$i@$dom" ;;
    1) bounce --original "$seen" --rcpt "f$i@$dom" --tag-suffix "; x=$i" ;;
    2) bounce --original "$seen" --rcpt "f$i@$dom" --tag-tabs ;;
    esac
done
wait_for "(( \$(milter_log_count ': bounce: ') >= FORGED ))" 30 ||
    fail "the milter read $(milter_log_count ': bounce: ') of $FORGED bounces"
wait_for "(( \$(milter_log_count 'evidence=sent') == \$(evidence records) ))" 20 ||
    fail "routed has $(evidence records) records, the milter sent $(milter_log_count 'evidence=sent')"
expect_eq "trusted records from one tag" "$(evidence trusted)" 2
expect_eq "trusted records sent by the milter" "$(milter_log_count 'tag=valid trusted evidence=sent')" 2
(($(milter_log_count 'evidence=tag-cap') >= FORGED / 2)) ||
    fail "only $(milter_log_count 'evidence=tag-cap') records suppressed by the tag cap"
expect_eq "varied tags (; x=N) read as invalid" "$(milter_log_count 'tag=invalid untrusted')" $((FORGED / 3))
expect_eq "target.example still primary" "$(route_of target.example)" primary
expect_eq "target2.example still primary" "$(route_of target2.example)" primary
expect_eq "no divert" "$(sw_decisions divert)" 0

# --------------------------------------------------------------- 3. genuine bounces
log "3. genuine bounces of outbound mail still count"
for i in 1 2 3; do bounce --original "$(msg_for "p$i@partner2.example")" --rcpt "p$i@partner2.example"; done
wait_for "grep -qE 'divert: scope=destination:partner2.example pool=m365 from=primary to=alt-eu rule=bounce-reputation events=3/10m .*evidence=dsn:3' '$E2E_DIR/logs/routed.log'" 20 ||
    fail "no divert decision: $(grep -E 'divert|evidence' "$E2E_DIR/logs/routed.log" | tail -5)"
expect_eq "trusted records" "$(evidence trusted)" 5
expect_eq "partner2.example diverted" "$(route_of partner2.example)" alternate
expect_eq "target.example still primary" "$(route_of target.example)" primary
send_mail after@partner2.example 2 after
send_mail after@target.example 2 after
pf_wait_empty 60 || fail "queue did not drain"
expect_eq "alt-eu got the diverted mail" "$(relay_count alt1)" 2
expect_eq "primary kept the rest" "$(relay_count primary)" 7
assert_exactly_once || fail "exactly-once check failed"
expect_eq "bounced by Postfix" "$(pf_bounced_count)" 0
echo "t55-tagreplay: ok ($((SECONDS - start))s)"
