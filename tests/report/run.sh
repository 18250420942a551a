#!/bin/bash
# tests/report/run.sh - scripts/spillway-report on logs of real end-to-end
# runs (see README in this directory): the timeline, the time each scope
# spent diverted, the messages per relay (equal to what the test relays
# counted), evidence, every input format, options, exit status, and hostile
# input.  Needs perl and the usual tools only: no root, no Postfix.
set -u

here=$(cd "$(dirname "$0")" && pwd -P)
report=${SW_REPORT:-$here/../../scripts/spillway-report}
tmp=$(mktemp -d /tmp/sw-report-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export TZ=UTC LC_ALL=C
cd "$here" || exit 1

failures=0
checks=0
current=

# run NAME ARGS... : run the report, keep its output, error output and status
run() {
    current=$1
    shift
    "$report" "$@" >"$tmp/$current.out" 2>"$tmp/$current.err"
    echo $? >"$tmp/$current.rc"
}

bad() {
    failures=$((failures + 1))
    echo "FAIL [$current]: $*" >&2
}

# has TEXT... : the last output has a line containing TEXT exactly
has() {
    local t
    for t in "$@"; do
        checks=$((checks + 1))
        grep -qF -- "$t" "$tmp/$current.out" || bad "no line with: $t"
    done
}

# has_re REGEX... : the last output has a line matching the extended REGEX
has_re() {
    local t
    for t in "$@"; do
        checks=$((checks + 1))
        grep -qE -- "$t" "$tmp/$current.out" || bad "no line matching: $t"
    done
}

# lacks TEXT : no line of the last output contains TEXT
lacks() {
    checks=$((checks + 1))
    ! grep -qF -- "$1" "$tmp/$current.out" || bad "unexpected line with: $1"
}

# status N : the last run exited with N
status() {
    checks=$((checks + 1))
    [[ $(cat "$tmp/$current.rc") == "$1" ]] ||
        bad "exit status $(cat "$tmp/$current.rc"), want $1; stderr: $(head -c 300 "$tmp/$current.err")"
}

# count REGEX N : N lines of the last output match REGEX
count() {
    local n
    checks=$((checks + 1))
    n=$(grep -cE -- "$1" "$tmp/$current.out")
    [[ $n == "$2" ]] || bad "$n lines match $1, want $2"
}

# relay_row NAME ROLE DELIVERED DEFERRED BOUNCED : a row of Messages per relay
relay_row() {
    local name
    name=$(printf '%s' "$1" | sed 's/[][\\.|()*+?^$]/\\&/g')
    has_re "^  $name +$2 +$3 +$4 +$5\$"
}

# sane : every line short enough, no raw control character, nothing on stderr
sane() {
    checks=$((checks + 1))
    if awk 'length($0) > 160 { exit 1 }' "$tmp/$current.out"; then :; else
        bad "a line longer than 160 characters"
    fi
    checks=$((checks + 1))
    if LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$tmp/$current.out"; then
        bad "a raw control character in the output"
    fi
    checks=$((checks + 1))
    [[ ! -s $tmp/$current.err ]] || bad "stderr: $(head -c 300 "$tmp/$current.err")"
}

# json_ok : the last output is valid JSON (when python3 is there to say so)
json_ok() {
    command -v python3 >/dev/null || return 0
    checks=$((checks + 1))
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/$current.out" 2>/dev/null ||
        bad "not valid JSON"
}

# ---------------------------------------------------------------- t40 recovery
# Divert, probe, relapse while probing (hold doubled), probe, return.  The
# relays of that run counted primary 5 and alt-eu 6 messages.
run recovery recovery.maillog recovery.routed.log
status 0
sane
has '  period: 2026-11-22 18:03:53 - 2026-11-22 18:04:23 (30s)' \
    '  lines:  105 read, 31 used, 74 ignored, 0 not understood' \
    '  2026-11-22 18:03:56  divert   destination:fo.example primary -> alt-eu rule=pool-reputation hold=6s' \
    '                                pool=m365 events=2/10m ratio=1.00 evidence=log:2' \
    '                                first="host 127.0.0.1[127.0.0.1] said: 550 5.7.606 Access denied, banned sending IP [40.107.1.2]. To request removal ..."' \
    '  2026-11-22 18:04:03  probe    destination:fo.example alt-eu -> alt-eu rule=pool-reputation hold=6s share=0.5' \
    '  2026-11-22 18:04:06  divert   destination:fo.example primary -> alt-eu rule=pool-reputation hold=12s' \
    '                                reason="relapse while probing"' \
    '  2026-11-22 18:04:22  return   destination:fo.example alt-eu -> primary rule=pool-reputation successes=2' \
    '  2026-11-22 18:04:23  stopped  signal=15' \
    '    diverted at 2026-11-22 18:03:56, returned at 2026-11-22 18:04:22 (return): 26s via alt-eu, rule pool-reputation' \
    '  divert/stay decisions: 2, citing evidence from log 2'
has_re '^  destination:fo\.example +2 +1 +0 +0 +0 +26s  primary$'
relay_row primary primary 5 6 0
relay_row alt-eu alternate 6 0 0
relay_row total '' 11 6 0
lacks 'WARNING'
lacks 'relays not named'
count '^  2026-11-22 ..:..:..  (divert|probe|return) ' 5

run recovery-json --json recovery.maillog recovery.routed.log
status 0
json_ok
has '"scope":"destination:fo.example","seconds_diverted":26,"state":"primary"' \
    '"delivered":6,"named":true,"nexthop":"[127.0.0.2]:26432","relay":"alt-eu","role":"alternate"' \
    '"end_time":"2026-11-22T18:04:22+00:00","ended_by":"return","relay":"alt-eu","rule":"pool-reputation","seconds":26' \
    '"totals":{"bounced":0,"deferred":6,"delivered":11}'

# Without config: and dns: lines the relays stay as Postfix wrote them;
# --relay names them again (by address and port, by [name]:port).
grep -vE 'spillway-routed\[[0-9]+\]: (config|dns): ' recovery.routed.log >"$tmp/noconfig.log"
run noconfig recovery.maillog "$tmp/noconfig.log"
status 0
relay_row '127.0.0.1[127.0.0.1]:26431' - 5 6 0
relay_row '127.0.0.2[127.0.0.2]:26432' - 6 0 0
has '  (relays not named by spillway-routed config:/dns:/health: lines nor --relay are shown as the MTA wrote them)'
run relay-option --relay primary=127.0.0.1:26431 --relay 'alt-eu=[127.0.0.2]:26432' \
    recovery.maillog "$tmp/noconfig.log"
relay_row primary - 5 6 0
relay_row alt-eu - 6 0 0
run relay-option-port --relay primary=127.0.0.1:25 recovery.maillog "$tmp/noconfig.log"
relay_row '127.0.0.1[127.0.0.1]:26431' - 5 6 0
# A config: line names a relay by host and port: another port is another relay.
{
    cat "$tmp/noconfig.log"
    echo '2026-11-22T18:04:30 spillway-routed[2]: config: relay=other role=alternate nexthop=[127.0.0.1]:25 priority=5'
    echo '2026-11-22T18:04:30 spillway-routed[2]: config: relay=alt-eu role=alternate nexthop=[127.0.0.2]:26432 priority=5'
} >"$tmp/otherport.log"
run config-port recovery.maillog "$tmp/otherport.log"
relay_row '127.0.0.1[127.0.0.1]:26431' - 5 6 0
relay_row alt-eu alternate 6 0 0

# The period: --since/--until clip the scope's time; the scope was diverted
# before the period (lines before --since still count for its state).
run period --since '2026-11-22 18:04:00' --until 2026-11-22T18:04:10Z recovery.maillog recovery.routed.log
status 0
has '  period: 2026-11-22 18:04:00 - 2026-11-22 18:04:10 (10s)' \
    "    diverted before 2026-11-22 18:04:00 (the period's start), still diverted at 2026-11-22 18:04:10: 10s via alt-eu" \
    '  2026-11-22 18:04:06  divert   destination:fo.example primary -> alt-eu rule=pool-reputation hold=12s'
lacks '18:03:56  divert'
lacks '18:04:22  return'
has_re '^  destination:fo\.example +1 +1 +0 +0 +0 +10s  still diverted$'
relay_row alt-eu alternate 4 0 0

# --scope: that scope only; recipients of other domains are not counted.
run scope --scope fo.example recovery.maillog recovery.routed.log
has 'spillway-report for destination:fo.example'
relay_row alt-eu alternate 6 0 0
run other-scope --scope destination:Other.Example. recovery.maillog recovery.routed.log
status 0
has 'spillway-report for destination:other.example' '  (no scope left the primary route)' '  (no delivery lines)'
lacks 'divert   '

# RFC 3339 syslog lines with a host and another zone, merged with the classic
# maillog: the same facts.
perl -ne 'if (/^2026-11-22T(\d\d)(:\d\d:\d\d) (.*)/) { printf "2026-11-22T%02d%s.250000+01:00 mta %s\n", $1 + 1, $2, $3 } else { print }' \
    recovery.routed.log >"$tmp/rfc3339.log"
run rfc3339 "$tmp/rfc3339.log" recovery.maillog
status 0
has '  2026-11-22 18:03:56  divert   destination:fo.example primary -> alt-eu rule=pool-reputation hold=6s' \
    '  2026-11-22 18:04:22  return   destination:fo.example alt-eu -> primary rule=pool-reputation successes=2'
has_re '^  destination:fo\.example +2 +1 +0 +0 +0 +26s  primary$'
relay_row alt-eu alternate 6 0 0

# The same log given twice (say mail.log and syslog): a delivery or a bounce
# counts once per queue ID and recipient; deferrals are attempts.
run twice recovery.maillog recovery.routed.log recovery.maillog
relay_row primary primary 5 12 0
relay_row alt-eu alternate 6 0 0

# gzip input, and standard input.
gzip -c recovery.maillog >"$tmp/maillog.1.gz"
run gzip "$tmp/maillog.1.gz" recovery.routed.log
status 0
relay_row alt-eu alternate 6 0 0
current=stdin
"$report" - recovery.routed.log <recovery.maillog >"$tmp/$current.out" 2>&1
echo $? >"$tmp/$current.rc"
status 0
relay_row primary primary 5 6 0
has '  files:  (standard input) (87 lines)'

# ---------------------------------------------------------------- t40 relapse
# The first run of that scenario: no config: lines (older spillway-routed),
# still diverted at the end of the log; relays as Postfix wrote them.
run relapse relapse.maillog relapse.routed.log
status 0
sane
has '  lines:  207 read, 42 used, 164 ignored, 1 not understood' \
    '    diverted at 2026-11-22 11:40:23, still diverted at 2026-11-22 11:41:21: 58s via alt-eu, rule pool-reputation'
has_re '^  destination:fo\.example +2 +1 +0 +0 +0 +58s  still diverted \(probing\)$'
relay_row '127.0.0.1[127.0.0.1]:25401' - 2 10 0
relay_row '127.0.0.2[127.0.0.2]:25402' - 23 0 0

# ---------------------------------------------------------------- t40 residency
# No eligible alternate: one stay warning, mail deferred on the primary.
run residency residency.maillog residency.routed.log
status 0
has '  2026-11-22 18:04:28  stay     destination:x.gov.uk primary -> primary rule=pool-reputation' \
    '                                reason="no eligible alternate: relay alt-eu is outside the jurisdictions allowed for the destination;'
has_re '^  destination:x\.gov\.uk +0 +0 +0 +1 +0 +0s  primary$'
relay_row primary primary 0 6 0

# ---------------------------------------------------------------- t50 milter
# Bounces read by spillway-milter, trusted and not; a diversion on dsn
# evidence.  The relays counted primary 74 and alt-eu 3.
run milter milter.maillog milter.routed.log milter.milter.log
status 0
sane
has '                                pool=m365 events=3/10m ratio=1.00 evidence=dsn:3' \
    '  divert/stay decisions: 1, citing evidence from dsn 1' \
    '  bounces read by spillway-milter: 9 recipient(s)' \
    '  records: duplicate 1, sent 8'
has_re '^  reputation +m365 +trusted +4$' '^  reputation +m365 +untrusted +4$' '^  reputation +none +untrusted +1$'
has_re '^  destination:bigcorp\.example +1 +0 +0 +0 +0 +6s  still diverted$'
relay_row primary primary 74 0 0
relay_row alt-eu alternate 3 0 0
relay_row 'none (discard)' - 9 0 0
run milter-scope --scope bigcorp.example milter.maillog milter.routed.log milter.milter.log
has '  bounces read by spillway-milter: 9 recipient(s)'
relay_row primary primary 6 0 0
relay_row alt-eu alternate 3 0 0
lacks 'none (discard)'
run milter-pool --scope pool:m365 milter.maillog milter.routed.log milter.milter.log
has '  bounces read by spillway-milter: 8 recipient(s)'
lacks 'reputation   none'

# ---------------------------------------------------------------- t60 health
# Probes, DNS and DNSBL changes, pins, a release, a hold while an egress IP
# is listed, reroutes when relays go down.
run health health.routed.log
status 0
sane
has '  2026-11-22 18:05:31  relay    nx (alternate) unknown -> down health="down 0/0 dns=NXDOMAIN" eligible=no' \
    '  2026-11-22 18:05:31  dns      servfail name=a.servfail.test addresses=none error="no usable answer (SERVFAIL or unreachable)"' \
    '  2026-11-22 18:05:32  health   plain 127.0.0.24 unknown -> down fails=1 next=2s relay_health="down 0/1"' \
    '                                probe="EHLO: STARTTLS is not offered"' \
    '  2026-11-22 18:05:37  pin      pool:m365 primary -> multi rule=operator for=1h uid=0' \
    '  2026-11-22 18:05:37  release  pool:m365 multi -> primary rule=operator uid=0' \
    '  2026-11-22 18:05:39  dnsbl    ip=40.107.1.2 zone=bl.test state=listed code=127.0.0.4 source=evidence' \
    '  2026-11-22 18:05:41  hold     destination:fo.example mx -> mx rule=pool-reputation hold=3s' \
    '                                reason="40.107.1.2 listed in bl.test (127.0.0.4)"' \
    '  2026-11-22 18:05:46  reroute  destination:fo.example multi -> static rule=pool-reputation'
has_re '^  destination:b\.example +0 +0 +1 +0 +0 +9s  still diverted \(pinned\)$' \
    '^  destination:fo\.example +1 +0 +0 +0 +0 +8s  still diverted \(probing\)$' \
    '^  pool:m365 +0 +0 +1 +0 +0 +0s  primary$'
has '    diverted at 2026-11-22 18:05:38, still diverted at 2026-11-22 18:05:46: 8s via static, rule pool-reputation'

# ---------------------------------------------------------------- t70 geo
# A primary reached by [name]:port whose addresses come from dns: lines:
# Postfix logs the addresses; the relays counted 70 messages in all.
run geo geo.maillog geo.routed.log
status 0
relay_row geo primary 70 0 0
has '  2026-11-22 18:05:56  relay    geo (primary) up -> partial health="partial 4/5" answers=up-addresses'

# ---------------------------------------------------------------- t30 control
run control control.routed.log
status 0
has '  2026-11-22 18:05:14  pin      destination:x.example primary -> alt-eu rule=operator for=1h uid=65534' \
    '  2026-11-22 18:05:14  reload   uid=0 result=refused why="/tmp/spillway-e2e-t30.qnfnwc/sw/spillway.conf:16: relays[2].priority: must be an integer"' \
    '  2026-11-22 18:05:14  relay    relay:alt-eu draining -> disabled uid=0' \
    '  2026-11-22 18:05:14  reroute  destination:x.example alt-eu -> alt-x rule=operator for=1h uid=65534'
has_re '^ +3 warning socketmap +last at 2026-11-22 18:05:14: oversized request' \
    '^ +2 warning control +last at'

# ---------------------------------------------------------------- t80 Sendmail
# A real Sendmail 8.17 with spillway, all in one syslog file (classic format,
# host name mta.test.spillway): a diversion on log evidence, one on the
# milter's dsn evidence, an operator's release and a pin to alt-us, reached
# through a mailer of its own.  Sendmail logs no port.  The relays counted
# primary 11, alt-eu 4, alt-us 1.
run sendmail-t80 --year 2026 sendmail.maillog
status 0
sane
has '  2026-11-22 18:10:40  divert   destination:div.example primary -> alt-eu rule=pool-reputation hold=1h' \
    '                                pool=m365 events=2/10m ratio=1.00 evidence=log:2' \
    '  2026-11-22 18:10:42  divert   destination:bnc.example primary -> alt-eu rule=pool-reputation hold=1h' \
    '  2026-11-22 18:10:42  release  destination:div.example alt-eu -> primary rule=pool-reputation uid=0' \
    '    diverted at 2026-11-22 18:10:40, returned at 2026-11-22 18:10:42 (release): 2s via alt-eu, rule pool-reputation' \
    '  divert/stay decisions: 2, citing evidence from dsn 1, log 1'
has_re '^  destination:us\.example +0 +0 +1 +0 +0 +1s  still diverted \(pinned\)$' \
    '^  reputation +m365 +trusted +2$'
relay_row primary primary 11 2 0
relay_row alt-eu alternate 4 0 0
relay_row alt-us alternate 1 0 0

# ---------------------------------------------------------------- Sendmail cases
# Made from Sendmail lines seen in tests (several recipients a line, [more],
# a relay without an address, bounces), spillway's lines in two syslog
# formats within one file; sm-msp-queue is not a relay.
run sendmail --year 2026 sendmail-cases.log
status 0
sane
has '  lines:  21 read, 18 used, 3 ignored, 0 not understood' \
    '    diverted at 2026-11-22 11:29:10, returned at 2026-11-22 12:04:40 (return): 35m29s via alt-eu, rule pool-reputation' \
    '  WARNING: 2 recipient(s) bounced: their mail went back to the senders'
relay_row primary primary 3 2 2
relay_row alt-eu alternate 8 0 0
relay_row 'relay.example. [192.0.2.1]' - 1 0 0
relay_row total '' 12 2 2

# ---------------------------------------------------------------- hostile input
# Binary, broken key=value, impossible dates, escapes; plus huge lines made here.
{
    cat hostile.log
    printf '\n'
    head -c 100000 /dev/zero | tr '\0' 'x'
    printf '\nNov 22 11:40:40 mta spillway-routed[1]: divert: scope=destination:huge.example first="'
    head -c 50000 /dev/zero | tr '\0' 'y'
    printf '" from=primary to=alt-eu\n'
    head -c 20000 /dev/urandom
} >"$tmp/hostile.log"
run hostile --year 2026 "$tmp/hostile.log"
status 0
sane
has '  2026-11-22 11:40:23  divert   destination:\x1b[31mred.example\x07 primary -> alt-eu rule=r hold=30m' \
    '                                first="bell\x07 quote\" backslash\\ utf8 é bad utf8 \xe2\x82 esc \x1b[2J"' \
    '  2026-11-22 11:40:31  wait     destination:w.example no eligible alternate: mail waits on the primary until relay alt-eu is usable'
lacks 'destination:evil.example'
lacks 'huge.example'
lacks 'no-scope'
relay_row primary primary 0 0 2
relay_row 'mx.evil.example. [192.0.2.66]' - 0 1 0
relay_row 'mx.example.com[192.0.2.90]:25' - 0 0 1
has_re '^  lines:  [0-9]+ read, 11 used, [0-9]+ ignored, [0-9]+ not understood$'
run hostile-json --json --year 2026 "$tmp/hostile.log"
status 0
json_ok
run empty /dev/null
status 0
has '  period: no dated lines' '  (no spillway-routed decisions in the period)'

# ---------------------------------------------------------------- the year
# A classic date more than a day ahead is last year's; today is this year's.
if today=$(date '+%b %e %H:%M:%S') && ahead=$(date -d '+3 days' '+%b %e %H:%M:%S' 2>/dev/null); then
    year=$(date +%Y)
    ahead_year=$(date -d '+3 days' +%Y)
    printf '%s mta spillway-routed[1]: started: config=a relays=1 pools=1 scopes=0\n' "$ahead" "$today" >"$tmp/year.log"
    run year "$tmp/year.log"
    has "  $((ahead_year - 1))-$(date -d '+3 days' +%m-%d) "
    has "  $year-$(date +%m-%d) "
    run year-option --year 2020 "$tmp/year.log"
    has "  2020-$(date -d '+3 days' +%m-%d) "
fi

# ---------------------------------------------------------------- usage
run missing recovery.maillog "$tmp/no-such-file"
status 1
checks=$((checks + 1))
grep -qF "cannot read $tmp/no-such-file" "$tmp/missing.err" || bad "the error does not name the file"
checks=$((checks + 1))
[[ ! -s $tmp/missing.out ]] || bad "a report despite an unreadable file"
run directory "$tmp"
status 1
run bad-option --frobnicate recovery.maillog
status 2
run bad-since --since yesterday recovery.maillog
status 2
run bad-relay --relay nonsense recovery.maillog
status 2
run bad-scope --scope 'a b' recovery.maillog
status 2
run help -h
status 0
has 'usage: spillway-report [options] [LOGFILE...]'
printf '\037\213garbage that is not gzip\n' >"$tmp/broken.gz"
run broken-gzip "$tmp/broken.gz"
status 1
checks=$((checks + 1))
grep -qF "$tmp/broken.gz" "$tmp/broken-gzip.err" || bad "the gzip error does not name the file"

if ((failures)); then
    echo "tests/report/run.sh: $failures of $checks checks failed" >&2
    exit 1
fi
echo "tests/report/run.sh: $checks checks passed"
