#!/bin/bash
# tests/maillog-source.sh - the mail log source is never dead in silence.
# spillway-routed in the foreground with a private config whose
# routed.maillog names a file in a temporary directory, metrics on
# loopback; no MTA.
#
#   1. the file is missing at start: a warning (state=missing), status
#      says state=missing, the metric spillway_maillog_source_state has
#      state="missing" at 1 and the failure counter is 1
#   2. the file is created and written: state=ok in the log, status and
#      metrics; the per-relay counters export their zeros
#   3. no line for longer than routed.maillog_silence (2 s here): a
#      warning state=silent, and the metric says silent
set -euo pipefail

SRC=${FUZZ_SRCDIR:+$FUZZ_SRCDIR/../..}
SRC=$(cd "${SRC:-$(dirname "$0")/..}" && pwd -P)
BUILD=${SW_BUILDDIR:-$(pwd -P)}
ROUTED=$BUILD/spillway-routed
CTL=$BUILD/spillwayctl
PORT=${SW_SOURCE_PORT:-25996}

[[ -x $ROUTED && -x $CTL ]] || { echo "FAIL: programs not built in $BUILD"; exit 1; }
command -v curl >/dev/null || { echo "SKIP: curl missing"; exit 77; }

dir=$(mktemp -d /tmp/spillway-source.XXXXXX)
routed_pid=
cleanup() {
    [[ -n $routed_pid ]] && kill -9 "$routed_pid" 2>/dev/null
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    echo "---- routed.log"; tail -n 30 "$dir/routed.log" 2>/dev/null
    exit 1
}

mkdir -p "$dir/pf" "$dir/render"
printf 'compatibility_level = 3.6\n' >"$dir/pf/main.cf"
cat >"$dir/spillway.conf" <<EOF
routed: { socketmap = [ "unix:$dir/socketmap" ];
          control = "$dir/control.sock"; evidence = "$dir/evidence.sock";
          state = "$dir/state"; render_dir = "$dir/render"; postfix_config = "$dir/pf";
          maillog = "syslog:$dir/mail.log"; maillog_trust = "forgeable";
          maillog_silence = "2s"; metrics = "inet:127.0.0.1:$PORT"; };
pools = ( { name = "m365"; relays = ["m365"]; } );
relays = ( { name = "m365"; nexthop = "[127.0.0.1]:9"; role = "primary"; },
           { name = "alt"; nexthop = "[127.0.0.2]:9"; priority = 10; } );
EOF

scrape() { curl -fsS --max-time 5 "http://127.0.0.1:$PORT/metrics"; }
status() { timeout 10 "$CTL" -c "$dir/spillway.conf" status 2>&1; }
# until SECONDS CMD... : true once CMD succeeds, polled every 0.1 s
until_ok() {
    local n=$(($1 * 10)) i
    shift
    for ((i = 0; i < n; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}
# (whole outputs first: grep -q would close the pipe on curl under pipefail)
metric_is() { local m; m=$(scrape) && grep -qx -- "$1" <<<"$m"; }
status_has() { local s; s=$(status) && grep -Eq -- "$1" <<<"$s"; }
log_has() { grep -q -- "$1" "$dir/routed.log"; }

"$ROUTED" -c "$dir/spillway.conf" -e >"$dir/routed.log" 2>&1 </dev/null &
routed_pid=$!
until_ok 10 test -S "$dir/control.sock" || fail "spillway-routed did not start"
until_ok 10 scrape || fail "no metrics on 127.0.0.1:$PORT"

# 1. missing
log_has "warning: maillog: source=syslog:$dir/mail.log state=missing" ||
    fail "no warning for the missing mail log at start"
status_has "path=$dir/mail.log state=missing last_line_age=none" ||
    fail "status does not say the mail log is missing: $(status)"
metric_is 'spillway_maillog_source_state{state="missing"} 1' || fail "metric state missing"
metric_is 'spillway_maillog_source_failures_total{state="missing"} 1' || fail "failure counter"
metric_is 'spillway_deferred_total{relay="alt"} 0' || fail "no zero series for deferrals"
metric_is 'spillway_flushes_total{result="failed"} 0' || fail "no flush counter"
metric_is 'spillway_decisions_total{event="divert"} 0' || fail "no zero series for decisions"
metric_is 'spillway_decisions_total{event="return"} 0' || fail "no zero series for returns"
# timestamps with a zone: 2026-12-03T17:15:00+00:00
head -n 1 "$dir/routed.log" | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{2}:[0-9]{2} ' ||
    fail "the stderr timestamp has no zone: $(head -n 1 "$dir/routed.log")"

# 2. created and written: ok
echo "$(date '+%b %e %T') mx postfix/qmgr[1]: 4ABC: removed" >"$dir/mail.log"
until_ok 20 log_has "maillog: source=syslog:$dir/mail.log state=ok was=missing" ||
    fail "no line saying the mail log is back"
status_has "path=$dir/mail.log state=ok last_line_age=[0-9]+s" ||
    fail "status does not say ok: $(status)"
until_ok 5 metric_is 'spillway_maillog_source_state{state="ok"} 1' || fail "metric state ok"

# 3. silent: no line for longer than 2 s
until_ok 20 log_has "warning: maillog: source=syslog:$dir/mail.log state=silent was=ok" ||
    fail "no warning for the silent mail log"
metric_is 'spillway_maillog_source_state{state="silent"} 1' || fail "metric state silent"
metric_is 'spillway_maillog_source_failures_total{state="silent"} 1' || fail "silent counter"
[[ $(grep -c "state=silent" "$dir/routed.log") == 1 ]] || fail "the silence was warned more than once"

kill -TERM "$routed_pid"
until_ok 5 bash -c "! kill -0 $routed_pid" || fail "spillway-routed ignored SIGTERM"
routed_pid=
grep -q "stopping: signal=15" "$dir/routed.log" || fail "no key=value stop line"

# 4. -n: rules without any evidence source are worth a warning.
cat >"$dir/rules.conf" <<CONF
relays = ( { name = "primary"; nexthop = "[127.0.0.1]:2525"; role = "primary"; },
           { name = "alt"; nexthop = "[127.0.0.2]:2525"; role = "alternate"; } );
rules = ( { name = "rep"; classes = [ "reputation" ]; scope = "destination"; } );
classify: { patterns = "$SW_PATTERNS"; };
routed: { render_format = "none"; };
CONF
"$ROUTED" -n -c "$dir/rules.conf" >/dev/null 2>"$dir/n.err" || fail "-n refused the rules config"
grep -q "warning: 1 rules but no evidence source" "$dir/n.err" || fail "-n does not warn of rules without a source"
echo "PASS: maillog-source"
