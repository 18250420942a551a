#!/bin/bash
# bench/run-reroute.sh - from the delivery attempt that crosses the
# threshold to the first delivery through the alternate, with a real
# Postfix on production timers (queue_run_delay 300s, minimal_backoff_time
# 300s, maximal_backoff_time 4000s): without spillway's flush the deferred
# mail would wait five minutes or more.  Target: under 60 s.  Bounded: one
# run of at most 150 s.  Run as root from a built tree (or SW_BUILDDIR).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)
E2E_DIR=$(mktemp -d /tmp/spillway-bench-reroute.XXXXXX)
# shellcheck source=../tests/e2e/lib.sh
. "$top/tests/e2e/lib.sh"
# shellcheck source=../tests/e2e/sw.sh
. "$top/tests/e2e/sw.sh"
trap e2e_cleanup EXIT
e2e_ports "${BASE_PORT:-26200}"
relay_start primary "$PORT_PRIMARY" 127.0.0.1
relay_start alt1 "$PORT_ALT1" 127.0.0.2
relay_start alt2 "$PORT_ALT2" 127.0.0.3
PF_CHROOT=y pf_setup "$(sw_main_cf_auto | head -n 1)" "$(sw_main_cf_auto | tail -n 1)" \
    "queue_run_delay = 300s" "minimal_backoff_time = 300s" "maximal_backoff_time = 4000s"
sw_config_auto '{ name = "rep"; classes = ["reputation"]; scope = "destination";
                  threshold = { events = 3; window = "10m"; }; hold = "30m"; }'
sw_start
pf_start
relay_rules primary "fo.example 550 5.7.606 Access denied, banned sending IP [40.107.1.2]"
send_mail a@fo.example 3 bench
t_event= t_first=
for ((i = 0; i < 1500; i++)); do
    now=$EPOCHREALTIME
    if [[ -z $t_event ]] && (($(pf_log_count 'to=<a@fo.example>.*status=deferred') >= 3)); then
        t_event=$now
    fi
    if [[ -n $t_event ]] && (($(pf_log_count 'to=<a@fo.example>, relay=127.0.0.2.*status=sent') >= 1)); then
        t_first=$now
        break
    fi
    sleep 0.1
done
[[ -n $t_first ]] || fail "no rerouted delivery within 150 s"
pf_wait_empty 120 || fail "queue did not drain"
assert_exactly_once
awk -v a="$t_event" -v b="$t_first" 'BEGIN { printf "reroute (threshold event -> first delivery via the alternate, production timers): %.1f s\n", b - a }'
grep -E 'divert:' "$E2E_DIR/logs/routed.log" | sed 's/^/  /' | cut -c1-160
