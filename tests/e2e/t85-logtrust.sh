#!/bin/bash
# tests/e2e/t85-logtrust.sh - forged mail log lines do not move mail (issue 13)
#
#   syslog   a forgeable source (a file any user's lines reach, as syslog's
#            do through logger): "syslog:" without maillog_trust is refused
#            by the config check; the old bare path is read but its lines are
#            not evidence, so deferrals forged as user nobody divert nothing;
#            a reload that accepts the source (maillog_trust = "forgeable")
#            is applied at once; lines stamped two hours ago are not
#            evidence, fresh ones are
#   postlog  Postfix's own maillog_file: nobody cannot write it; a reload
#            to a postlog file that others can write is refused and the
#            running source kept; status names the source as proven
#   journal  a journal (systemd-journal-remote writes it, journalbridge.py
#            stamps what journald would take from the kernel): entries forged
#            with SYSLOG_IDENTIFIER=postfix/smtp but another _UID or _COMM are
#            refused and divert nothing; Postfix's real deferrals, through the
#            same journal, divert, and every message arrives exactly once at
#            the alternate, none bounced
# Every scenario checks that -n, the started: line and status (text and
# JSON) name the source and whether it can be forged.  Run as root.
# Usage: t85-logtrust.sh [SCENARIO...]   (default: all)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ALL="syslog postlog journal"
BLOCK="550 5.7.606 Access denied, banned sending IP [40.107.1.2]. To request removal from this list please visit https://sender.office.com/"

if [[ ${1:-} != --pass ]]; then
    [[ $(id -u) == 0 ]] || { echo "t85-logtrust: must run as root" >&2; exit 1; }
    start=$SECONDS
    base=${T85_BASE:-26100}
    for s in ${*:-$ALL}; do
        PF_CHROOT=y bash "$HERE/t85-logtrust.sh" --pass "$s" "$base"
        base=$((base + 10))
    done
    echo "t85-logtrust: ok ($((SECONDS - start))s)"
    exit 0
fi

scenario=$2
E2E_DIR=$(mktemp -d "/tmp/spillway-e2e-t85-$scenario.XXXXXX")
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"
trap e2e_cleanup EXIT
e2e_ports "$3"
log "scenario $scenario, ports $PORT_SMTPD-$PORT_SOCKMAP"

DEST_RULE='{ name = "pool-reputation"; classes = ["reputation"]; scope = "destination";
             threshold = { events = 3; window = "10m"; ratio = 0.2; }; hold = "30m"; hold_max = "8h"; }'

# deferral ID RCPT : the message of a Postfix deferral by the primary for RCPT
deferral() {
    printf '%s: to=<%s>, relay=127.0.0.1[127.0.0.1]:%s, delay=0.2, delays=0.1/0/0/0.1, dsn=4.7.606, status=deferred (host 127.0.0.1[127.0.0.1] said: %s (in reply to RCPT TO command))' \
        "$1" "$2" "$PORT_PRIMARY" "$BLOCK"
}

# status_json KEY : one member of status --json's "maillog" object
status_json() {
    swctl status --json | "$E2E_PYTHON" -c 'import json,sys; v=json.load(sys.stdin)["maillog"][sys.argv[1]]; print(str(v).lower() if isinstance(v, bool) else v)' "$1"
}

# set_maillog LINES : replace the routed maillog settings in the config
set_maillog() {
    sed -i -e '/^ *maillog/d' -e "s|^    postfix_config = .*|&\n    $1|" "$SW_CONF"
}

# no_divert WHY : no decision moved anything, no scope in status
no_divert() {
    expect_eq "divert decisions ($1)" "$(sw_decisions divert)" 0
    swctl status | grep -q 'destination:fo.example' && fail "fo.example has a scope ($1)"
    return 0
}

# as_nobody CMD... : run as an unprivileged local user
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

case $scenario in
syslog)
    pf_setup "$(sw_main_cf_auto | head -n 1)" "$(sw_main_cf_auto | tail -n 1)"
    sw_config_auto "$DEST_RULE"
    F=$E2E_DIR/mail.log # stands for /var/log/mail.log: any user's lines reach it
    : >"$F"
    chmod 666 "$F"

    log "syslog: without maillog_trust the config check refuses it, and says why"
    set_maillog "maillog = \"syslog:$F\";"
    if out=$("$SW_ROUTED" -n -c "$SW_CONF" 2>&1); then fail "syslog: source accepted: $out"; fi
    grep -q 'routed.maillog.*any local user can write a syslog source.*"journal".*"postlog:FILE".*maillog_trust = "forgeable"' <<<"$out" ||
        fail "the refusal does not say why and what to use: $out"
    grep -q "$SW_CONF:[0-9]*" <<<"$out" || fail "the refusal names no file and line: $out"

    log "syslog: the old bare path is read, but is not evidence"
    set_maillog "maillog = \"$F\";"
    out=$("$SW_ROUTED" -n -c "$SW_CONF" 2>&1) || fail "bare path refused: $out"
    grep -q "maillog=$F kind=syslog forgeable=yes evidence=no" <<<"$out" || fail "-n: $out"
    grep -q 'warning: routed.maillog is a bare path.*NOT evidence' <<<"$out" || fail "-n warning: $out"
    sw_start
    grep -q "started: .*maillog=$F kind=syslog forgeable=yes evidence=no" "$E2E_DIR/logs/routed.log" ||
        fail "started: line: $(grep started: "$E2E_DIR/logs/routed.log")"
    for i in 1 2 3 4 5; do
        as_nobody sh -c "printf '%s\n' \"\$1\" >>'$F'" - "$(date '+%b %e %H:%M:%S') mta postfix/smtp[$((4000 + i))]: $(deferral "F0E0D00$i" "u$i@fo.example")"
    done
    wait_for "(( \$(status_json unused) >= 5 ))" 10 || fail "the forged lines were not read: $(swctl status --json | head -c 400)"
    no_divert "bare path"
    swctl status | grep -q "mail log: $F (syslog, FORGEABLE: any local user can write it, NOT evidence)" ||
        fail "status: $(swctl status | grep -A1 'mail log')"
    expect_eq "json forgeable" "$(status_json forgeable)" true
    expect_eq "json evidence" "$(status_json evidence)" false
    expect_eq "json kind" "$(status_json kind)" syslog

    log "syslog: accepted on reload; old lines are not evidence, fresh ones are"
    set_maillog "maillog = \"syslog:$F\"; maillog_trust = \"forgeable\";"
    swctl reload >/dev/null || fail "reload refused"
    wait_for "(( \$(sw_log_count 'reload: maillog=syslog:.* result=restarted') == 1 ))" 5 ||
        fail "the new source was not applied"
    expect_eq "json evidence after reload" "$(status_json evidence)" true
    for i in 1 2 3 4; do
        printf '%s\n' "$(date -d '-2 hours' '+%b %e %H:%M:%S') mta postfix/smtp[$((5000 + i))]: $(deferral "0AD000$i" "o$i@fo.example")" >>"$F"
    done
    wait_for "(( \$(status_json untimely) >= 4 ))" 10 || fail "old lines were not refused as untimely"
    no_divert "lines two hours old"
    (($(sw_log_count 'maillog: too old count=1 line=') == 1)) || fail "no (or more than one) warning for old lines"
    for i in 1 2 3; do
        printf '%s\n' "$(date '+%b %e %H:%M:%S') mta postfix/smtp[$((6000 + i))]: $(deferral "0BE000$i" "n$i@fo.example")" >>"$F"
    done
    wait_for "(( \$(sw_decisions divert) == 1 ))" 10 || fail "an accepted forgeable source did not divert"
    ;;

postlog)
    relay_start primary "$PORT_PRIMARY" 127.0.0.1
    relay_start alt1 "$PORT_ALT1" 127.0.0.2
    relay_start alt2 "$PORT_ALT2" 127.0.0.3
    pf_setup "$(sw_main_cf_auto | head -n 1)" "$(sw_main_cf_auto | tail -n 1)"
    sw_config_auto "$DEST_RULE"
    out=$("$SW_ROUTED" -n -c "$SW_CONF" 2>&1) || fail "-n: $out"
    grep -q "maillog=postlog:$PF_LOG kind=postlog forgeable=no evidence=yes" <<<"$out" || fail "-n: $out"
    pf_start
    wait_for "[[ -s $PF_LOG ]]" 10 || fail "postlogd wrote nothing"
    log "postlog: $(stat -c '%U:%G %a' "$PF_LOG") $PF_LOG"
    sw_start
    grep -q "started: .*maillog=postlog:$PF_LOG kind=postlog forgeable=no evidence=yes" "$E2E_DIR/logs/routed.log" ||
        fail "started: line"
    if as_nobody sh -c "printf 'x\n' >>'$PF_LOG'" 2>/dev/null; then
        fail "user nobody can write Postfix's maillog_file"
    fi
    swctl status | grep -q "mail log: postlog:$PF_LOG (postlog, writer proven, evidence)" ||
        fail "status: $(swctl status | grep -A1 'mail log')"
    expect_eq "json forgeable" "$(status_json forgeable)" false

    log "postlog: a reload to a file that others can write is refused"
    OPEN=$E2E_DIR/open.log
    : >"$OPEN"
    chmod 666 "$OPEN"
    cp "$SW_CONF" "$SW_CONF.good"
    set_maillog "maillog = \"postlog:$OPEN\";"
    if out=$(swctl reload 2>&1); then fail "reload to a world-writable postlog file accepted"; fi
    grep -q 'writable by every user' <<<"$out" || fail "the refusal does not say why: $out"
    expect_eq "source kept" "$(status_json source)" "postlog:$PF_LOG"
    cp "$SW_CONF.good" "$SW_CONF"

    log "postlog: Postfix's own deferrals divert"
    relay_rules primary "fo.example $BLOCK"
    send_mail a@fo.example 4 blocked
    wait_for "(( \$(sw_decisions divert) == 1 ))" 60 || fail "no diversion"
    pf_wait_empty 90 || fail "queue did not drain"
    assert_exactly_once || fail "exactly-once check failed"
    expect_eq "bounced" "$(pf_bounced_count)" 0
    expect_eq "alt-eu got every fo.example message" "$(relay_count alt1)" 4
    ;;

journal)
    relay_start primary "$PORT_PRIMARY" 127.0.0.1
    relay_start alt1 "$PORT_ALT1" 127.0.0.2
    relay_start alt2 "$PORT_ALT2" 127.0.0.3
    pf_setup "$(sw_main_cf_auto | head -n 1)" "$(sw_main_cf_auto | tail -n 1)"
    sw_config_auto "$DEST_RULE"
    JDIR=$E2E_DIR/journal
    INJECT=$E2E_DIR/inject.jsonl
    install -d -o root -g root -m 755 "$JDIR"
    : >"$INJECT"
    e2e_spawn journal "$E2E_PYTHON" "$HERE/journalbridge.py" "$PF_LOG" "$INJECT" \
        "$JDIR/bridge.journal" "$(id -u postfix)" 600
    wait_for "[[ -s $JDIR/bridge.journal ]] || grep -q journalbridge: '$E2E_DIR/logs/journal.log'" 10 ||
        fail "the journal bridge did not start"
    set_maillog "maillog = \"journal:$JDIR\";"
    out=$("$SW_ROUTED" -n -c "$SW_CONF" 2>&1) || fail "-n: $out"
    grep -q "maillog=journal:$JDIR kind=journal forgeable=no evidence=yes" <<<"$out" || fail "-n: $out"
    pf_start
    wait_for "[[ -s $JDIR/bridge.journal ]]" 10 || fail "no journal file"
    sw_start
    grep -q "started: .*maillog=journal:$JDIR kind=journal forgeable=no evidence=yes" "$E2E_DIR/logs/routed.log" ||
        fail "started: line"
    swctl status | grep -q "mail log: journal:$JDIR (journal, writer proven, evidence)" ||
        fail "status: $(swctl status | grep -A1 'mail log')"
    expect_eq "json forgeable" "$(status_json forgeable)" false
    expect_eq "json kind" "$(status_json kind)" journal

    log "journal: forged entries (SYSLOG_IDENTIFIER=postfix/smtp, wrong _UID or _COMM) are refused"
    nobody=$(id -u nobody)
    forge() { # UID-or-"" COMM N
        "$E2E_PYTHON" -c 'import json,sys
uid, comm, msg = sys.argv[1:4]
e = {"_COMM": comm, "_PID": "777", "SYSLOG_IDENTIFIER": "postfix/smtp", "MESSAGE": msg}
if uid: e["_UID"] = uid
print(json.dumps(e))' "$1" "$2" "$(deferral "FF0E0D0$3" "f$3@fo.example")" >>"$INJECT"
    }
    n=0
    for who in "$nobody logger" "$nobody smtp" "0 logger" " smtp"; do
        read -r uid comm <<<"$who"
        [[ $who == " smtp" ]] && { uid=""; comm=smtp; }
        for i in 1 2; do
            n=$((n + 1))
            forge "$uid" "$comm" "$n"
        done
    done
    wait_for "(( \$(status_json refused) >= $n ))" 15 || fail "forged entries not refused: $(status_json refused)/$n"
    no_divert "forged journal entries"
    expect_eq "forged outcomes counted as evidence" "$(status_json outcomes)" 0
    (($(sw_log_count 'maillog: refused writer=') >= 1 && $(sw_log_count 'maillog: refused writer=') <= 2)) ||
        fail "refusals not rate-limited: $(sw_log_count 'maillog: refused writer=') lines"

    log "journal: Postfix's own deferrals, through the journal, divert"
    relay_rules primary "fo.example $BLOCK"
    send_mail a@fo.example 4 blocked
    wait_for "(( \$(sw_decisions divert) == 1 ))" 60 || fail "no diversion from Postfix's journal entries"
    grep -qE 'divert: scope=destination:fo.example .*evidence=log:3' "$E2E_DIR/logs/routed.log" ||
        fail "the divert was not taken on log evidence"
    pf_wait_empty 90 || fail "queue did not drain"
    assert_exactly_once || fail "exactly-once check failed"
    expect_eq "bounced" "$(pf_bounced_count)" 0
    expect_eq "alt-eu got every fo.example message" "$(relay_count alt1)" 4
    expect_eq "primary delivered none" "$(relay_count primary)" 0
    ;;
*) fail "unknown scenario $scenario" ;;
esac
log "$scenario: ok"
