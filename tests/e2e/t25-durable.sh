#!/bin/bash
# tests/e2e/t25-durable.sh - operator decisions and state survive faults.
#
# Issue 13, durability:
#   ack       a pin, a relay state and a release acknowledged by spillwayctl
#             survive a kill -9 right after the acknowledgement: the
#             restarted daemon answers them
#   nosave    with the state directory unwritable, a pin is answered with
#             an error that says it is not saved; the save is retried and
#             succeeds once the directory is writable again
#   corrupt   a state file with corrupt lines keeps its other scopes and
#             the disabled relay, and the damaged file is set aside as
#             state.corrupt.TIMESTAMP
#   render    with the render directory unwritable the table render fails,
#             is retried with back-off, and succeeds once it is writable
#             again (log lines and metrics show it)
#   evidence  a reload that moves routed.evidence opens the new socket;
#             refused datagrams are warned about once per interval, with
#             the count
# Mail flows through all of it: each message delivered exactly once, none
# bounced, diverted mail at alt-eu.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "t25-durable: must run as root" >&2; exit 1; }
E2E_DIR=$(mktemp -d /tmp/spillway-e2e-t25.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sw.sh
. "$HERE/sw.sh"

# A directory root cannot write to: immutable (chattr), or else a
# read-only bind mount.  Undone on every exit, so that clean-up works.
RO_DIRS=()
make_ro() {
    if chattr +i "$1" 2>/dev/null; then
        RO_DIRS+=("chattr:$1")
    elif mount --bind "$1" "$1" 2>/dev/null && mount -o remount,ro,bind "$1" 2>/dev/null; then
        RO_DIRS+=("mount:$1")
    else
        fail "cannot make $1 unwritable for root (neither chattr +i nor a read-only bind mount)"
    fi
    ! touch "$1/.probe" 2>/dev/null || fail "$1 is still writable"
}
make_rw() {
    local i
    for i in "${!RO_DIRS[@]}"; do
        [[ ${RO_DIRS[$i]#*:} == "$1" ]] || continue
        case ${RO_DIRS[$i]} in
        chattr:*) chattr -i "$1" ;;
        mount:*) umount "$1" ;;
        esac
        unset "RO_DIRS[$i]"
    done
}
t25_cleanup() {
    local rc=$? d
    set +e
    for d in "${RO_DIRS[@]}"; do
        make_rw "${d#*:}" 2>/dev/null
    done
    (exit "$rc") # e2e_cleanup reads the status from $?
    e2e_cleanup
}
trap t25_cleanup EXIT

status_of() { local rc=0; "$@" >"$E2E_DIR/out" 2>"$E2E_DIR/err" || rc=$?; echo "$rc"; }
metric() {
    /usr/bin/python3 - "$PORT_METRICS" "$1" <<'PY'
import sys, urllib.request
port, name = sys.argv[1:]
text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
for line in text.splitlines():
    if line.split(" ")[0] == name:
        print(line.rsplit(" ", 1)[1]); break
else:
    print("missing")
PY
}

e2e_ports 26400
PORT_METRICS=26405
relay_start primary "$PORT_PRIMARY"
relay_start alt1 "$PORT_ALT1"
relay_start alt2 "$PORT_ALT2"
pf_setup "$(sw_main_cf socketmap)"
sw_config "metrics = \"inet:127.0.0.1:$PORT_METRICS\";"
sw_start
pf_start

# -- ack: acknowledged means saved, kill -9 at once ------------------------------
expect_eq "divert acknowledged" "$(status_of swctl divert ack.example --to alt-eu --for 1h --reason ack)" 0
sw_kill9
sw_start
swctl status | grep -q '^  destination:ack.example  *pinned   -> alt-eu ' ||
    fail "the acknowledged pin was lost by kill -9 right after the acknowledgement"
expect_eq "relay disable acknowledged" "$(status_of swctl relay disable alt-us)" 0
sw_kill9
sw_start
swctl status | grep -qE '^  alt-us +alternate +disabled ' || fail "the acknowledged relay disable was lost"
expect_eq "divert gone.example" "$(status_of swctl divert gone.example --to alt-eu --for 1h --reason x)" 0
expect_eq "release acknowledged" "$(status_of swctl release gone.example)" 0
sw_kill9
sw_start
! swctl status | grep -q 'gone.example' || fail "the acknowledged release was lost"
send_mail a@ack.example 3 ack
send_mail a@keep.example 3 keep
log "ack after durable: ok"

# -- nosave: the state cannot be written; the reply says so, the save retries ------
make_ro "$SW_DIR"
expect_eq "pin while the state is unwritable" "$(status_of swctl divert nosave.example --to alt-eu --for 1h --reason ro)" 1
grep -q 'not saved: open .*state.tmp: Operation not permitted\|not saved: open .*state.tmp: Read-only file system' "$E2E_DIR/err" ||
    fail "the error does not say why: $(cat "$E2E_DIR/err")"
swctl status | grep -q '^  destination:nosave.example  *pinned' || fail "the unsaved pin is not in effect"
expect_eq "save failure logged once" "$(sw_log_count 'error: state: cannot save ')" 1
sleep 4 # retries at 1 s, 2 s, ...: not logged again
expect_eq "save failure still logged once" "$(sw_log_count 'error: state: cannot save ')" 1
(($(metric 'spillway_state_saves_total{result="failed"}') >= 2)) || fail "failed saves not counted (retried)"
expect_eq "state save failing" "$(metric spillway_state_save_failing)" 1
make_rw "$SW_DIR"
wait_for "(( \$(sw_log_count 'state: saved path=.* again_after_failures=[0-9]+') == 1 ))" 20 ||
    fail "the save was not retried"
expect_eq "state save recovered" "$(metric spillway_state_save_failing)" 0
sw_kill9
sw_start
swctl status | grep -q '^  destination:nosave.example  *pinned' || fail "the retried save did not keep the pin"
log "failed save reported and retried: ok"

# -- corrupt: one bad line costs only itself ---------------------------------------
sw_stop
grep -q '^relay=alt-us.admin=disabled' "$SW_DIR/state" || fail "state file lacks the disabled relay"
/usr/bin/python3 - "$SW_DIR/state" <<'PY'
import sys
lines = open(sys.argv[1]).readlines()
lines[2:2] = ["this line is garbage\n", "scope=destination:bad.example\tstate=asleep\n"]
open(sys.argv[1], "w").writelines(lines)
PY
cp "$SW_DIR/state" "$E2E_DIR/state.damaged"
sw_start
status=$(swctl status)
grep -q '^  destination:ack.example  *pinned   -> alt-eu ' <<<"$status" || fail "ack.example dropped with the bad line"
grep -q '^  destination:nosave.example  *pinned' <<<"$status" || fail "nosave.example dropped with the bad line"
grep -qE '^  alt-us +alternate +disabled ' <<<"$status" || fail "alt-us reset to enabled by a bad line"
(($(sw_log_count 'state: .*/state line 3: .*line skipped') == 1)) || fail "bad line 3 not logged"
(($(sw_log_count 'state: .*/state line 4: bad state: line skipped') == 1)) || fail "bad line 4 not logged"
aside=$(find "$SW_DIR" -maxdepth 1 -name 'state.corrupt.*' | head -1)
[[ -n $aside ]] || fail "the damaged file was not set aside"
[[ $(basename "$aside") =~ ^state\.corrupt\.[0-9]{8}T[0-9]{6}Z$ ]] || fail "set aside under a bad name: $aside"
cmp -s "$aside" "$E2E_DIR/state.damaged" || fail "the set-aside file is not the damaged one"
wait_for "! grep -q garbage '$SW_DIR/state'" 5 || fail "the state file was not rewritten clean"
log "damaged state file: ok"

# -- render: unwritable render directory, retried ------------------------------------
make_ro "$SW_DIR/render"
expect_eq "pin while render fails" "$(status_of swctl divert ren.example --to alt-eu --for 1h --reason r)" 0
wait_for "(( \$(sw_log_count 'error: render: cannot update ') == 1 ))" 5 || fail "render failure not logged"
sleep 4
expect_eq "render failure logged once" "$(sw_log_count 'error: render: cannot update ')" 1
(($(metric 'spillway_renders_total{result="failed"}') >= 2)) || fail "render not retried"
expect_eq "render failing" "$(metric spillway_render_failing)" 1
make_rw "$SW_DIR/render"
wait_for "(( \$(sw_log_count 'render: current table=.*/transport again_after_failures=[0-9]+') == 1 ))" 20 ||
    fail "render not retried once writable"
sw_wait_table_has ren.example || fail "the table lacks ren.example after the retry"
expect_eq "render recovered" "$(metric spillway_render_failing)" 0
send_mail b@ren.example 2 ren
log "render retried: ok"

# -- evidence: a moved socket is opened on reload; refusals rate-limited -------------
sed -i "s|evidence = \"$SW_DIR/evidence.sock\";|evidence = \"$SW_DIR/evidence2.sock\";|" "$SW_CONF"
expect_eq "reload moving the evidence socket" "$(status_of swctl reload)" 0
[[ -S $SW_DIR/evidence2.sock && ! -e $SW_DIR/evidence.sock ]] || fail "evidence socket not moved"
setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 - "$SW_DIR/evidence2.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for i in range(50):
    s.sendto(b"v=1 forged", sys.argv[1])
PY
wait_for "swctl status | grep -q ', 50 refused'" 5 || fail "refused datagrams not counted"
expect_eq "refusals warned once" "$(sw_log_count 'evidence: datagram from uid 65534 refused')" 1
log "evidence socket: ok"

pf_flush
pf_wait_empty 60 || fail "queue did not drain"
assert_exactly_once || fail "exactly-once check failed"
expect_eq "bounced" "$(pf_bounced_count)" 0
expect_eq "ack.example and ren.example at alt-eu" "$(relay_count alt1)" 5
expect_eq "keep.example at the primary" "$(relay_count primary)" 3
sw_stop
echo "t25-durable: ok (${SECONDS}s)"
