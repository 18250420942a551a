# shellcheck shell=bash
# tests/e2e/lib.sh - shared rig for spillway's end-to-end tests.
#
# Sourced by the test scripts tests/e2e/tNN-*.sh, which run as root with
# `set -euo pipefail`.  It drives a REAL private Postfix instance on 127.0.0.1
# plus small test relays (smtprelay.py) that count what they receive.
#
# Everything lives under $E2E_DIR (set by the caller, e.g. E2E_DIR=$(mktemp -d)):
#   $E2E_DIR/pids/NAME.pid        every process we started (killed by e2e_cleanup)
#   $E2E_DIR/logs/NAME.log        their stdout/stderr
#   $E2E_DIR/relays/NAME/spool/   one file per message a relay accepted
#   $E2E_DIR/relays/NAME/NAME.rules, NAME.rcptlog
#   $E2E_DIR/pf/{etc,spool,data}  the private Postfix instance; pf/maillog its log
#   $E2E_DIR/sent.list            Message-IDs that Postfix accepted from send_mail
#   $E2E_DIR/refused.list         Message-IDs that Postfix refused
#
# Typical test:
#   E2E_DIR=$(mktemp -d); . tests/e2e/lib.sh; trap e2e_cleanup EXIT
#   e2e_ports 25100; relay_start primary "$PORT_PRIMARY"; pf_setup; pf_start
#   send_mail u@x.example 5; pf_wait_empty 30; assert_exactly_once
#
# API (see each function's comment):
#   e2e_ports BASE            set PORT_SMTPD..PORT_SOCKMAP = BASE..BASE+4
#   relay_start NAME PORT [ADDR [ARGS...]]  start a test relay (ADDR: 127.0.0.x;
#                             ARGS: more smtprelay.py options); relay_stop NAME
#   relay_rules NAME LINE...  set its reply rules ("" = accept all)
#   relay_count NAME          messages in its spool; relay_msgids NAME
#   pf_setup [main.cf lines]  build the private instance (PF_CHROOT=y|n)
#   pf_master_add LINE...     append service lines to its master.cf
#   pf_start/pf_stop/pf_reload/pf_flush, pf_postmap ARGS...
#   pf_queue_count, pf_wait_empty TIMEOUT, pf_bounced_count, pf_log_count REGEX
#   wait_drained COUNT-FN RUN-FN TIMEOUT WHAT   (any MTA's queue)
#   send_mail RCPT [COUNT] [TAG]
#   assert_exactly_once
#   e2e_spawn NAME CMD...     run a helper in the background, tracked
#   e2e_kill NAME             stop a tracked process
#   e2e_cleanup               stop everything; rm $E2E_DIR unless E2E_KEEP=1
#   log MSG, fail MSG, wait_for CMD TIMEOUT

: "${E2E_DIR:?E2E_DIR must be set (e.g. E2E_DIR=\$(mktemp -d)) before sourcing lib.sh}"
mkdir -p "$E2E_DIR"
E2E_DIR=$(cd "$E2E_DIR" && pwd -P)          # absolute, no symlinks (Postfix wants that)
E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
E2E_PYTHON=${E2E_PYTHON:-/usr/bin/python3}
PF_CHROOT=${PF_CHROOT:-n}
E2E_T0=${EPOCHREALTIME}

# A signal must end the test through `exit`, so that the EXIT trap
# (e2e_cleanup) runs and nothing is left behind.
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# small helpers

# log MSG... : progress message with elapsed time, on stderr
log() {
    local now=${EPOCHREALTIME}
    printf '[e2e %6.1fs] %s\n' "$(awk -v a="$E2E_T0" -v b="$now" 'BEGIN{print b-a}')" "$*" >&2
}

# fail MSG... : print and exit 1 (the EXIT trap cleans up)
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

# wait_for CMD TIMEOUT : eval CMD every 0.2 s until it succeeds; 1 on timeout
wait_for() {
    local cmd=$1 timeout=${2:-10}
    local deadline
    deadline=$(awk -v t="$EPOCHREALTIME" -v d="$timeout" 'BEGIN{printf "%.3f", t+d}')
    while :; do
        if eval "$cmd" >/dev/null 2>&1; then
            return 0
        fi
        if awk -v t="$EPOCHREALTIME" -v d="$deadline" 'BEGIN{exit !(t>d)}'; then
            return 1
        fi
        sleep 0.2
    done
}

# e2e_ports BASE : the five ports a test uses
# shellcheck disable=SC2034  # used by the test scripts
e2e_ports() {
    local base=$1
    PORT_SMTPD=$base
    PORT_PRIMARY=$((base + 1))
    PORT_ALT1=$((base + 2))
    PORT_ALT2=$((base + 3))
    PORT_SOCKMAP=$((base + 4))
}

# Create the work layout once. The marker file lets e2e_cleanup know the
# directory is ours to delete.
_e2e_init() {
    [[ -f $E2E_DIR/.e2e-rig ]] && return 0
    mkdir -p "$E2E_DIR/pids" "$E2E_DIR/logs" "$E2E_DIR/relays"
    # mktemp -d makes 0700; unprivileged Postfix daemons must reach files here.
    chmod 755 "$E2E_DIR"
    : >"$E2E_DIR/sent.list"
    : >"$E2E_DIR/refused.list"
    touch "$E2E_DIR/.e2e-rig"
}

_pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# e2e_spawn NAME CMD... : run CMD in the background with its output in
# $E2E_DIR/logs/NAME.log; its pid goes to $E2E_DIR/pids/NAME.pid so that
# e2e_kill / e2e_cleanup stop it.
e2e_spawn() {
    local name=$1
    shift
    _e2e_init
    "$@" >>"$E2E_DIR/logs/$name.log" 2>&1 </dev/null &
    echo $! >"$E2E_DIR/pids/$name.pid"
}

# e2e_kill NAME : SIGTERM the tracked process, wait up to 5 s, then SIGKILL.
e2e_kill() {
    local name=$1 pidf="$E2E_DIR/pids/$1.pid" pid i
    [[ -f $pidf ]] || return 0
    pid=$(cat "$pidf" 2>/dev/null || true)
    if _pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            _pid_alive "$pid" || break
            sleep 0.1
        done
        if _pid_alive "$pid"; then
            log "$name ($pid) ignored SIGTERM, killing"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true    # reap if it is our child
    fi
    rm -f "$pidf"
}

# ---------------------------------------------------------------------------
# test relays

# relay_start NAME PORT [ADDR [ARGS...]] : start smtprelay.py on ADDR:PORT
# (127.0.0.1 by default), wait until ready.  ARGS are passed on to smtprelay.py
# (e.g. --mode hang-banner; see health.sh's tlsrelay_start).
relay_start() {
    local name=$1 port=$2 addr=${3:-127.0.0.1} dir
    shift $(($# < 3 ? $# : 3))
    _e2e_init
    dir="$E2E_DIR/relays/$name"
    mkdir -p "$dir/spool"
    [[ -f $dir/$name.rules ]] || : >"$dir/$name.rules"
    : >"$E2E_DIR/logs/relay-$name.log"
    e2e_spawn "relay-$name" "$E2E_PYTHON" "$E2E_LIB_DIR/smtprelay.py" \
        --addr "$addr" --port "$port" --name "$name" --spool "$dir/spool" \
        --rules "$dir/$name.rules" --pidfile "$E2E_DIR/pids/relay-$name.pid" "$@"
    if ! wait_for "grep -q listening '$E2E_DIR/logs/relay-$name.log'" 10; then
        cat "$E2E_DIR/logs/relay-$name.log" >&2
        fail "relay $name did not start on port $port"
    fi
}

# relay_stop NAME
relay_stop() { e2e_kill "relay-$1"; }

# relay_rules NAME "LINE" ... : replace the rules (each argument is one or more
# lines); relay_rules NAME "" accepts everything again.  Written by rename so
# the relay never reads half a file.
relay_rules() {
    local name=$1 dir="$E2E_DIR/relays/$1"
    shift
    mkdir -p "$dir"
    : >"$dir/$name.rules.tmp"
    local line
    for line in "$@"; do
        [[ -n $line ]] && printf '%s\n' "$line" >>"$dir/$name.rules.tmp"
    done
    mv -f "$dir/$name.rules.tmp" "$dir/$name.rules"
}

# relay_count NAME : number of messages the relay has accepted
relay_count() {
    local spool="$E2E_DIR/relays/$1/spool"
    [[ -d $spool ]] || { echo 0; return 0; }
    find "$spool" -maxdepth 1 -type f -name '*.msg' | wc -l
}

# relay_msgids NAME : Message-IDs the relay received, one per line
relay_msgids() {
    local spool="$E2E_DIR/relays/$1/spool"
    [[ -d $spool ]] || return 0
    # shellcheck disable=SC2016  # awk program
    find "$spool" -maxdepth 1 -type f -name '*.msg' -print0 |
        xargs -0 -r awk 'FNR==1 {h=1} h && /^$/ {h=0} h && /^message-id: / {print substr($0, 13)}'
}

# ---------------------------------------------------------------------------
# private Postfix instance

PF_DIR="$E2E_DIR/pf"
PF_ETC="$PF_DIR/etc"
PF_SPOOL="$PF_DIR/spool"
PF_DATA="$PF_DIR/data"
PF_LOG="$PF_DIR/maillog"

# pf_setup [main.cf lines...] : write main.cf/master.cf of a private instance.
# "name = value" arguments are set with postconf -e (so they may override the
# defaults below); other arguments are appended verbatim.
pf_setup() {
    _e2e_init
    : "${PORT_SMTPD:?call e2e_ports first}"
    local c=n
    [[ $PF_CHROOT == y ]] && c=y

    mkdir -p "$PF_ETC" "$PF_SPOOL" "$PF_DATA"
    chown root:root "$PF_DIR" "$PF_ETC" "$PF_SPOOL"
    chmod 755 "$PF_DIR" "$PF_ETC" "$PF_SPOOL"
    chown postfix:postfix "$PF_DATA"
    chmod 700 "$PF_DATA"

    cat >"$PF_ETC/main.cf" <<EOF
# Private Postfix instance for spillway e2e tests (generated by lib.sh).
compatibility_level = 3.6
queue_directory = $PF_SPOOL
data_directory = $PF_DATA
mail_owner = postfix
setgid_group = postdrop
syslog_name = spillway-e2e-$PORT_SMTPD

myhostname = mta.test.spillway
mydomain = test.spillway
myorigin = \$mydomain
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
relayhost = [127.0.0.1]:$PORT_PRIMARY
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_banner = \$myhostname ESMTP spillway-e2e
biff = no
append_dot_mydomain = no

# No DNS anywhere: literal [127.0.0.1] next hops, no reverse lookups.
smtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
smtpd_peername_lookup = no
smtp_address_preference = ipv4
# No TLS.
smtp_tls_security_level = none
smtpd_tls_security_level = none

# Logging to a file through postlogd (no syslog here).
maillog_file = $PF_LOG
maillog_file_prefixes = $E2E_DIR

# Fast retries; nothing expires during a test.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
maximal_queue_lifetime = 1d
bounce_queue_lifetime = 1d
delay_warning_time = 0h
EOF

    # master.cf: column 5 is chroot.  qmgr, proxymap, local and postlogd are
    # never chrooted (as in Debian's master.cf).  No tlsmgr: TLS is off.
    cat >"$PF_ETC/master.cf" <<EOF
# Private Postfix instance for spillway e2e tests (generated by lib.sh).
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$PORT_SMTPD inet n - $c - - smtpd
pickup    unix  n       -       $c      60      1       pickup
cleanup   unix  n       -       $c      -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       $c      -       -       trivial-rewrite
bounce    unix  -       -       $c      -       0       bounce
defer     unix  -       -       $c      -       0       bounce
trace     unix  -       -       $c      -       0       bounce
verify    unix  -       -       $c      -       1       verify
flush     unix  n       -       $c      1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       $c      -       -       smtp
relay     unix  -       -       $c      -       -       smtp
showq     unix  n       -       $c      -       -       showq
error     unix  -       -       $c      -       -       error
retry     unix  -       -       $c      -       -       error
discard   unix  -       -       $c      -       -       discard
local     unix  -       n       n       -       -       local
lmtp      unix  -       -       $c      -       -       lmtp
anvil     unix  -       -       $c      -       1       anvil
scache    unix  -       -       $c      -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

    local line
    for line in "$@"; do
        if [[ $line =~ ^[[:space:]]*([a-z0-9_]+)[[:space:]]*= ]]; then
            postconf -c "$PF_ETC" -e "$line"
        else
            printf '%s\n' "$line" >>"$PF_ETC/main.cf"
        fi
    done

    if [[ $c == y ]]; then
        _pf_sync_chroot
    fi

    # The queue subdirectories are created (with the right owners) by
    # pf_start: `postfix start` runs post-install create-missing.  We skip
    # `postfix check` here: it would do the same plus slow checks (~2 s).
}

# pf_master_add LINE... : append service definitions to master.cf (before
# pf_start, or follow with pf_reload).
pf_master_add() {
    printf '%s\n' "$@" >>"$PF_ETC/master.cf"
}

# Copy into the queue directory what chrooted daemons need, like Debian's
# /usr/lib/postfix/configure-instance.sh does for the system instance.
_pf_sync_chroot() {
    local f
    (
        umask 022
        cd "$PF_SPOOL" || exit 1
        for f in etc/localtime etc/services etc/resolv.conf etc/hosts \
            etc/host.conf etc/nsswitch.conf; do
            mkdir -p "${f%/*}"
            if [[ -f /$f ]]; then
                rm -f "$f"
                cp -L "/$f" "$f"
                chmod a+rX "$f"
            fi
        done
        mkdir -p usr/lib/zoneinfo
        ln -sfn /etc/localtime usr/lib/zoneinfo/localtime
        # NSS and resolver libraries are loaded lazily, after the chroot.
        local libs=()
        for f in /lib/*/libgcc_s*.so* /lib/*/libnss*.so* /lib/*/libresolv*.so*; do
            [[ -f $f ]] && libs+=("${f#/}")
        done
        if ((${#libs[@]})); then
            tar cf - -C / "${libs[@]}" 2>/dev/null | tar xf -
        fi
    )
}

_pf_master_pid() {
    local pid
    pid=$(tr -dc '0-9' 2>/dev/null <"$PF_SPOOL/pid/master.pid" || true)
    [[ -n $pid ]] && echo "$pid"
}

# Pids of this instance's Postfix processes: programs from /usr/lib/postfix
# whose cwd or root is the queue directory (daemons chdir there; chrooted ones
# chroot there).  One find over /proc: no fork per process.
_pf_procs() {
    # find exits 1 when a pid vanishes during the walk; that is not an error.
    { find /proc/[0-9]*/ -maxdepth 1 \( -name cwd -o -name root -o -name exe \) \
        -printf '%h\t%f\t%l\n' 2>/dev/null || true; } |
        awk -F'\t' -v d="$PF_SPOOL" '
            { split($1, p, "/"); pid = p[3] }
            $2 == "exe" && index($3, "/usr/lib/postfix/") == 1 { pf[pid] = 1 }
            $2 != "exe" && ($3 == d || index($3, d "/") == 1) { here[pid] = 1 }
            END { for (pid in here) if (pid in pf) print pid }' | sort -n
}

# pf_start : start the instance and wait until smtpd listens
pf_start() {
    _e2e_init
    if ! postfix -c "$PF_ETC" start >>"$PF_DIR/postfix.log" 2>&1; then
        cat "$PF_DIR/postfix.log" >&2
        fail "postfix start failed"
    fi
    if ! wait_for "ss -Hltn 'sport = :$PORT_SMTPD' | grep -q ." 10; then
        cat "$PF_DIR/postfix.log" >&2
        fail "postfix smtpd not listening on 127.0.0.1:$PORT_SMTPD"
    fi
}

# pf_stop : stop the instance and wait for the master and its children to exit
pf_stop() {
    [[ -d $PF_SPOOL ]] || return 0
    local pid i procs=()
    pid=$(_pf_master_pid || true)
    if _pid_alive "$pid"; then
        # What `postfix stop` does, minus its 1 s sleep before re-checking.
        # The master itself needs about 1.3 s to exit.
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            _pid_alive "$pid" || break
            sleep 0.1
        done
        if _pid_alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    # Children notice the master is gone and exit by themselves; help stragglers.
    for ((i = 0; i < 50; i++)); do
        mapfile -t procs < <(_pf_procs)
        ((${#procs[@]})) || break
        if ((i == 30)); then
            kill -TERM "${procs[@]}" 2>/dev/null || true
        fi
        sleep 0.1
    done
    mapfile -t procs < <(_pf_procs)
    if ((${#procs[@]})); then
        log "killing leftover postfix processes: ${procs[*]}"
        kill -KILL "${procs[@]}" 2>/dev/null || true
    fi
}

# pf_postmap ARGS... : postmap with this instance's config (there is no
# /etc/postfix/main.cf, so plain postmap fails)
pf_postmap() { postmap -c "$PF_ETC" "$@"; }

# pf_reload : re-read main.cf/master.cf
pf_reload() { postfix -c "$PF_ETC" reload >>"$PF_DIR/postfix.log" 2>&1; }

# pf_flush : ask for immediate delivery of all queued mail
pf_flush() { postqueue -c "$PF_ETC" -f; }

# pf_queue_count : messages in maildrop, incoming, active, deferred and hold
pf_queue_count() {
    local d n=0 c
    for d in maildrop incoming active deferred hold; do
        [[ -d $PF_SPOOL/$d ]] || continue
        c=$(find "$PF_SPOOL/$d" -type f | wc -l)
        n=$((n + c))
    done
    echo "$n"
}

# wait_drained COUNT-FN RUN-FN TIMEOUT WHAT : call RUN-FN (a queue run) every
# 5 s until COUNT-FN prints 0; 1 on timeout (any MTA: Postfix, Sendmail)
wait_drained() {
    local count=$1 run=$2 timeout=$3 what=$4 start=$SECONDS last=$SECONDS
    while (($($count) > 0)); do
        if ((SECONDS - start >= timeout)); then
            log "$what not empty after ${timeout}s: $($count) message(s)"
            return 1
        fi
        if ((SECONDS - last >= 5)); then
            $run || true
            last=$SECONDS
        fi
        sleep 0.3
    done
    return 0
}

# pf_wait_empty TIMEOUT : flush every 5 s until the queue is empty; 1 on timeout
pf_wait_empty() { wait_drained pf_queue_count pf_flush "${1:-60}" queue; }

# pf_log_count REGEX : number of maillog lines matching the extended REGEX
pf_log_count() {
    [[ -f $PF_LOG ]] || { echo 0; return 0; }
    grep -Ec -- "$1" "$PF_LOG" || true
}

# pf_bounced_count : number of status=bounced deliveries in the maillog
pf_bounced_count() { pf_log_count 'status=bounced'; }

# ---------------------------------------------------------------------------
# traffic and assertions

# send_mail RCPT [COUNT] [TAG] : COUNT messages in one SMTP session to our
# smtpd, each with a unique Message-ID <TAG-N-RANDOM@test.spillway>.  IDs that
# Postfix accepted are appended to sent.list, refused ones to refused.list.
# Returns 1 if any message was refused.
send_mail() {
    local rcpt=$1 count=${2:-1} tag=${3:-m}
    _e2e_init
    "$E2E_PYTHON" - "$PORT_SMTPD" "$rcpt" "$count" "$tag" \
        "$E2E_DIR/sent.list" "$E2E_DIR/refused.list" <<'PY'
import secrets, smtplib, sys, time
from email.utils import formatdate

port, rcpt, count, tag, sent_path, refused_path = sys.argv[1:]
count = int(count)
sender = "sender@org.example"
refused = 0
with smtplib.SMTP("127.0.0.1", int(port), local_hostname="client.test.spillway",
                  timeout=60) as s, \
        open(sent_path, "a") as sent, open(refused_path, "a") as ref:
    s.ehlo()
    for n in range(1, count + 1):
        mid = f"<{tag}-{n}-{secrets.token_hex(6)}@test.spillway>"
        msg = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: e2e {tag} {n}\r\n"
               f"Date: {formatdate(localtime=True)}\r\nMessage-ID: {mid}\r\n"
               f"\r\nTest message {n} of {count} ({tag}).\r\n.dot-stuffed line\r\n")
        try:
            s.sendmail(sender, [rcpt], msg)
            sent.write(mid + "\n"); sent.flush()
        except smtplib.SMTPRecipientsRefused as e:
            refused += 1
            ref.write(mid + "\n"); ref.flush()
            print(f"send_mail: {mid} refused: {e.recipients}", file=sys.stderr)
        except smtplib.SMTPResponseException as e:
            refused += 1
            ref.write(mid + "\n"); ref.flush()
            print(f"send_mail: {mid} refused: {e.smtp_code} {e.smtp_error!r}", file=sys.stderr)
            s.rset()
sys.exit(1 if refused else 0)
PY
}

# assert_exactly_once : every Message-ID in sent.list was received exactly
# once over all relays.  Prints what is missing or duplicated; returns 1 then.
assert_exactly_once() {
    local r name got="$E2E_DIR/received.list" bad=0
    : >"$got"
    for r in "$E2E_DIR"/relays/*/; do
        [[ -d $r ]] || continue
        name=$(basename "$r")
        relay_msgids "$name" | sed "s|\$| $name|" >>"$got"
    done
    local missing dups
    missing=$(sort -u "$E2E_DIR/sent.list" | join -v1 - <(cut -d' ' -f1 "$got" | sort -u) || true)
    dups=$(cut -d' ' -f1 "$got" | sort | uniq -d | sort | join - <(sort -u "$E2E_DIR/sent.list") || true)
    if [[ -n $missing ]]; then
        bad=1
        echo "assert_exactly_once: NOT received ($(wc -l <<<"$missing")):" >&2
        printf '  %s\n' "${missing//$'\n'/$'\n  '}" >&2
    fi
    if [[ -n $dups ]]; then
        bad=1
        echo "assert_exactly_once: received MORE than once:" >&2
        local id
        while read -r id; do
            echo "  $id at: $(awk -v id="$id" '$1 == id {printf "%s ", $2}' "$got")" >&2
        done <<<"$dups"
    fi
    if ((bad)); then
        return 1
    fi
    log "exactly once: $(sort -u "$E2E_DIR/sent.list" | wc -l) message(s)"
}

# ---------------------------------------------------------------------------
# cleanup

# e2e_cleanup : stop Postfix and every tracked process; on failure show the
# tail of the logs; remove $E2E_DIR unless E2E_KEEP=1.  Use: trap e2e_cleanup EXIT
e2e_cleanup() {
    local rc=$? f
    set +e
    trap - INT TERM
    [[ -f $E2E_DIR/.e2e-rig ]] || return "$rc"
    if ((rc != 0)); then
        echo "---- e2e failed (rc=$rc); last maillog lines:" >&2
        [[ -f $PF_LOG ]] && tail -n 25 "$PF_LOG" >&2
        for f in "$E2E_DIR"/logs/*.log; do
            [[ -s $f ]] || continue
            echo "---- tail $f" >&2
            tail -n 10 "$f" >&2
        done
    fi
    pf_stop
    for f in "$E2E_DIR"/pids/*.pid; do
        [[ -f $f ]] || continue
        f=$(basename "$f" .pid)
        e2e_kill "$f"
    done
    if [[ ${E2E_KEEP:-0} == 1 ]]; then
        echo "e2e: kept $E2E_DIR" >&2
    else
        rm -rf -- "$E2E_DIR"
    fi
    return "$rc"
}
