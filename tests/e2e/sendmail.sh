# shellcheck shell=bash
# tests/e2e/sendmail.sh - a real, private Sendmail on loopback for the e2e rig
# (lib.sh must be sourced first).
#
# Debian's postfix and sendmail packages conflict, so Sendmail is not
# installed: its packages are fetched once with `apt-get download` into a
# cache that survives between runs ($SM_CACHE), unpacked with `dpkg -x`
# into the test's own directory, and run from there with a private .cf built
# by m4 from the unpacked sendmail-cf (MTA-FACTS.md, "Sendmail").
#
#   $E2E_DIR/sm/root/        the unpacked packages (sendmail's setgid cleared)
#   $E2E_DIR/sm/sendmail.mc  the test's .mc; sendmail.cf built from it
#   $E2E_DIR/sm/mqueue/      its queue
#   $E2E_DIR/sm/maillog      everything it logged (what routed.maillog follows)
#   $E2E_DIR/sm/bin/sendmail a wrapper that runs the private sendmail with
#                            its .cf, hostname and /dev/log (spillway-routed
#                            runs it as routed.flush); calls.log lists its calls
#   $E2E_DIR/sm/bin/sendmail-msp
#                            (sm_msp) the private sendmail as a mail submission
#                            program (submit.cf): what /usr/sbin/sendmail is
#                            for a user on a real Sendmail machine
#
# Sendmail logs only through syslog(3) on /dev/log.  A small listener
# (sm_syslog_start) writes what arrives to $SM_LOG.  If /dev/log is absent
# it listens there itself and removes it at the end; if /dev/log exists
# (a syslog daemon, journald), the listener is elsewhere and every sendmail
# runs under `unshare -m` with the listener bind-mounted over /dev/log, so
# the machine's syslog never sees the test.  Every sendmail also runs under
# `unshare -u` with a fully qualified host name: a host name without a dot
# makes each sendmail call wait 60 s.
#
# API:
#   sm_fetch                 packages into $SM_CACHE (idempotent)
#   sm_unpack                dpkg -x into $SM_ROOT
#   sm_mc LINES... [--after-mailers LINES...]
#                            write the .mc: a private instance on
#                            127.0.0.1:$SM_PORT, then LINES (m4) verbatim
#   sm_build                 m4 -> sendmail.cf
#   sm_msp USER:GROUP        submit.cf and $SM_MSP, for programs Sendmail's
#                            mailers run as USER
#   sm_syslog_start          the /dev/log listener
#   sm_start / sm_stop       the daemon (sm_stop also ends queue runners)
#   sm_cmd ARGS...           run the private sendmail (e.g. sm_cmd -q)
#   sm_queue_count, sm_wait_empty TIMEOUT, sm_log_count REGEX, sm_bounced_count
#   sm_sw_routed [LINES]     the routed { } group of spillway.conf for a
#                            Sendmail-only host (sw.sh's paths, routed.mta =
#                            "sendmail", the unpacked makemap), LINES added
#   sm_cleanup               for `trap sm_cleanup EXIT` (then calls e2e_cleanup)

SM_CACHE=${SM_CACHE:-/var/cache/spillway-test/sendmail}
SM_PKGS=(sendmail-bin sendmail-base sendmail-cf libwrap0)
SM_DIR=$E2E_DIR/sm
SM_ROOT=$SM_DIR/root
SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail
SM_CF_DIR=$SM_ROOT/usr/share/sendmail/cf
SM_MC=$SM_DIR/sendmail.mc
SM_CF=$SM_DIR/sendmail.cf
SM_MAKEMAP=$SM_ROOT/usr/sbin/makemap
SM_QUEUE=$SM_DIR/mqueue
SM_LOG=$SM_DIR/maillog
SM_WRAPPER=$SM_DIR/bin/sendmail
SM_MSP=$SM_DIR/bin/sendmail-msp
SM_HOSTNAME=${SM_HOSTNAME:-mta.test.spillway}
SM_PORT=${SM_PORT:-}
SM_DEVLOG=/dev/log
SM_SYSLOG_SOCK=              # where the listener is (/dev/log or under $SM_DIR)

# sm_sw_routed [LINES] : the routed { } group of a Sendmail-only host's
# spillway.conf: the socket map on 127.0.0.1:$PORT_SOCKMAP (sendmail.mc's
# inet:PORT@127.0.0.1), the test's files, no Postfix table
sm_sw_routed() {
    cat <<CONF
routed: {
    socketmap = ["inet:127.0.0.1:$PORT_SOCKMAP"];
    control = "$SW_DIR/control.sock";
    evidence = "$SW_DIR/evidence.sock";
    state = "$SW_DIR/state";
    render_dir = "$SW_DIR/render";
    mta = "sendmail";
    makemap = "$SM_MAKEMAP";
    sendmail_cf = "$SM_CF";
    ${1:-}
};
CONF
}

# ---------------------------------------------------------------------------
# packages

# _sm_deb PKG : the newest cached .deb of PKG that dpkg-deb can read
_sm_deb() {
    local f
    # shellcheck disable=SC2012  # the names are apt's: no newlines
    ls -1 "$SM_CACHE/$1"_*.deb 2>/dev/null | sort -rV | while read -r f; do
        if dpkg-deb -f "$f" Package >/dev/null 2>&1; then
            echo "$f"
            break
        fi
    done
}

# _sm_download PKG... : apt-get download into the cache; apt-get update once
# if that fails (a bare machine whose package lists are missing or stale)
_sm_download() {
    local rc=0
    (cd "$SM_CACHE" && apt-get -q -o APT::Sandbox::User=root download "$@") \
        >>"$SM_CACHE/download.log" 2>&1 || rc=$?
    if ((rc != 0)); then
        log "apt-get download $* failed; apt-get update and retry"
        apt-get -q update >>"$SM_CACHE/download.log" 2>&1 || true
        (cd "$SM_CACHE" && apt-get -q -o APT::Sandbox::User=root download "$@") \
            >>"$SM_CACHE/download.log" 2>&1 ||
            { tail -n 5 "$SM_CACHE/download.log" >&2; return 1; }
    fi
}

# _sm_missing_libs DEB... : library packages those .debs depend on that are
# not installed here (sendmail-bin needs libldap and liblockfile, which a
# Postfix machine may lack); alternatives and versions dropped
_sm_missing_libs() {
    local deb dep
    for deb in "$@"; do
        dpkg-deb -f "$deb" Depends | tr ',|' '\n' | sed 's/(.*)//; s/:any//; s/[[:space:]]//g'
    done | sort -u | while read -r dep; do
        [[ $dep == lib* ]] || continue
        dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed' ||
            echo "$dep"
    done
}

# sm_fetch : make sure the cache holds every package, and the libraries
# they need that are not installed here (a lock keeps two tests from
# downloading at the same time)
sm_fetch() {
    local p round missing=() debs=() new=()
    mkdir -p "$SM_CACHE"
    exec {_sm_lock}>"$SM_CACHE/.lock"
    flock -w 120 "$_sm_lock" || fail "sm_fetch: $SM_CACHE is locked"
    for p in "${SM_PKGS[@]}"; do
        [[ -n $(_sm_deb "$p") ]] || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "downloading ${missing[*]} into $SM_CACHE"
        _sm_download "${missing[@]}" || fail "cannot download ${missing[*]}"
    fi
    # Dependencies of dependencies, three levels at most (libldap's own are
    # what apt installs everywhere).
    for ((round = 0; round < 3; round++)); do
        debs=()
        for p in "${SM_PKGS[@]}"; do
            debs+=("$(_sm_deb "$p")")
        done
        new=()
        while read -r p; do
            [[ " ${SM_PKGS[*]} " == *" $p "* ]] || new+=("$p")
        done < <(_sm_missing_libs "${debs[@]}")
        ((${#new[@]})) || break
        for p in "${new[@]}"; do
            [[ -n $(_sm_deb "$p") ]] || _sm_download "$p" || fail "cannot download $p"
        done
        SM_PKGS+=("${new[@]}")
    done
    exec {_sm_lock}>&-
    for p in "${SM_PKGS[@]}"; do
        [[ -n $(_sm_deb "$p") ]] || fail "sm_fetch: no usable .deb of $p in $SM_CACHE"
    done
}

# sm_unpack : the packages into $SM_ROOT; the private sendmail loses its
# setgid bit (the loader ignores LD_LIBRARY_PATH for a setgid program)
sm_unpack() {
    local p
    _e2e_init
    mkdir -p "$SM_ROOT"
    for p in "${SM_PKGS[@]}"; do
        dpkg -x "$(_sm_deb "$p")" "$SM_ROOT" || fail "dpkg -x $p failed"
    done
    chmod g-s "$SM_BIN"
    [[ -f $SM_CF_DIR/m4/cf.m4 ]] || fail "sendmail-cf: no cf.m4 in $SM_CF_DIR"
}

# _sm_libpath : LD_LIBRARY_PATH for the unpacked libraries
_sm_libpath() {
    local d path=
    for d in "$SM_ROOT"/lib/*-linux-gnu "$SM_ROOT"/usr/lib/*-linux-gnu; do
        [[ -d $d ]] && path+=${path:+:}$d
    done
    echo "$path"
}

# ---------------------------------------------------------------------------
# configuration

# sm_mc LINE... : the test's .mc.  A private instance: every path inside
# $SM_DIR, SMTP on 127.0.0.1:$SM_PORT only (no MSA on 587), no DNS (the
# service switch reads /etc/hosts only), no load-average throttling (tests
# run in parallel on small machines), DefaultUser mail (sendmail's
# mailnull does not exist on Debian), TrustStickyBit (the test's directory
# is under /tmp: without it sendmail will not start with a milter socket
# there, "unsafe: World writable directory").  LINES follow (m4), before MAILER(`smtp'); those after
# an argument --after-mailers come after it (MAILER_DEFINITIONS of mailers
# of one's own).
sm_mc() {
    : "${SM_PORT:?set SM_PORT first}"
    local line mailers=n
    mkdir -p "$SM_QUEUE" "$SM_DIR/bin"
    chmod 700 "$SM_QUEUE"
    printf 'hosts files\naliases files\n' >"$SM_DIR/service.switch"
    {
        cat <<EOF
divert(-1)
# Private Sendmail for spillway e2e tests (generated by tests/e2e/sendmail.sh).
divert(0)dnl
include(\`$SM_CF_DIR/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Port=$SM_PORT, Addr=127.0.0.1, Name=MTA')dnl
define(\`confDOMAIN_NAME', \`$SM_HOSTNAME')dnl
define(\`QUEUE_DIR', \`$SM_QUEUE')dnl
define(\`confPID_FILE', \`$SM_DIR/sendmail.pid')dnl
define(\`STATUS_FILE', \`$SM_DIR/statistics')dnl
define(\`confDEAD_LETTER_DROP', \`$SM_DIR/dead.letter')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM_DIR/service.switch')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`HELP_FILE', \`')dnl
define(\`confCW_FILE', \`')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confDONT_BLAME_SENDMAIL', \`GroupWritableDirPathSafe,TrustStickyBit')dnl
define(\`confDEF_USER_ID', \`mail:mail')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confQUEUE_LA', \`100')dnl
define(\`confREFUSE_LA', \`100')dnl
define(\`confLOG_LEVEL', \`9')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`nocanonify')dnl
EOF
        for line in "$@"; do
            if [[ $line == --after-mailers ]]; then
                echo "MAILER(\`smtp')dnl"
                mailers=y
            else
                printf '%s\n' "$line"
            fi
        done
        [[ $mailers == y ]] || echo "MAILER(\`smtp')dnl"
    } >"$SM_MC"
}

# sm_build : sendmail.cf from the .mc, with the unpacked sendmail-cf
sm_build() {
    m4 "$SM_MC" >"$SM_CF.tmp" 2>"$SM_DIR/m4.log" || {
        cat "$SM_DIR/m4.log" >&2
        fail "m4 could not build sendmail.cf"
    }
    if grep -q . "$SM_DIR/m4.log"; then
        cat "$SM_DIR/m4.log" >&2
        fail "m4 warned while building sendmail.cf"
    fi
    mv -f "$SM_CF.tmp" "$SM_CF"
}

# sm_msp USER:GROUP : the private Sendmail's submission program, for a
# program that one of its mailers runs as USER (mailer U=): a submit.cf
# (FEATURE(`msp')) that hands each message by SMTP to the daemon on
# 127.0.0.1:$SM_PORT, as Debian's /usr/sbin/sendmail does for port 25, with
# its client queue (clientmqueue) writable by USER, and $SM_MSP, which runs
# the private sendmail with it.  $SM_MSP is meant to run as a child of the
# daemon, inside its host name and /dev/log (mount) namespaces: it calls no
# unshare (which USER may not), so run from outside them it would wait 60 s
# for a qualified host name.  USER is one of submit.cf's trusted users:
# its -f adds no X-Authentication-Warning.
sm_msp() {
    local user=${1%%:*} group=${1#*:}
    mkdir -p "$SM_DIR/bin" "$SM_DIR/clientmqueue"
    chown "$user:$group" "$SM_DIR/clientmqueue"
    chmod 770 "$SM_DIR/clientmqueue"
    cat >"$SM_DIR/submit.mc" <<EOF
divert(-1)
# The private Sendmail's submit.cf (generated by tests/e2e/sendmail.sh).
divert(0)dnl
include(\`$SM_CF_DIR/m4/cf.m4')dnl
define(\`confCF_VERSION', \`Submit')dnl
define(\`__OSTYPE__', \`')dnl
define(\`confTIME_ZONE', \`USE_TZ')dnl
define(\`confDONT_INIT_GROUPS', \`True')dnl
define(\`confDOMAIN_NAME', \`$SM_HOSTNAME')dnl
define(\`MSP_QUEUE_DIR', \`$SM_DIR/clientmqueue')dnl
define(\`confPID_FILE', \`$SM_DIR/clientmqueue/sm-client.pid')dnl
define(\`STATUS_FILE', \`$SM_DIR/clientmqueue/sm-client.st')dnl
define(\`confSERVICE_SWITCH_FILE', \`$SM_DIR/service.switch')dnl
define(\`confDONT_BLAME_SENDMAIL', \`GroupWritableDirPathSafe,TrustStickyBit')dnl
define(\`confRUN_AS_USER', \`$user:$group')dnl
define(\`confTRUSTED_USERS', \`$user')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confLOG_LEVEL', \`9')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SM_PORT')dnl
FEATURE(\`msp', \`[127.0.0.1]')dnl
EOF
    if ! m4 "$SM_DIR/submit.mc" >"$SM_DIR/submit.cf.tmp" 2>"$SM_DIR/m4-submit.log" ||
        grep -q . "$SM_DIR/m4-submit.log"; then
        cat "$SM_DIR/m4-submit.log" >&2
        fail "m4 could not build submit.cf"
    fi
    mv -f "$SM_DIR/submit.cf.tmp" "$SM_DIR/submit.cf"
    cat >"$SM_MSP.tmp" <<EOF
#!/bin/bash
# The private sendmail as a submission program (generated by tests/e2e/sendmail.sh).
export LD_LIBRARY_PATH='$(_sm_libpath)'
exec '$SM_BIN' -C '$SM_DIR/submit.cf' "\$@"
EOF
    chmod 755 "$SM_MSP.tmp"
    mv -f "$SM_MSP.tmp" "$SM_MSP"
}

# ---------------------------------------------------------------------------
# syslog

# The listener: one datagram per syslog(3) call, "<PRI>Mmm dd hh:mm:ss
# TAG[PID]: text"; written as "Mmm dd hh:mm:ss HOST TAG[PID]: text", one
# line each, flushed at once (spillway-routed follows the file).  It
# removes its socket on SIGTERM only if the path is still its own.
# shellcheck disable=SC2016  # python
_SM_SYSLOGD='
import os, re, signal, socket, sys
path, out, host = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)                          # fails if the path exists: never steal one
os.chmod(path, 0o666)
ino = os.stat(path).st_ino
def stop(*_):
    try:
        if os.stat(path).st_ino == ino:
            os.unlink(path)
    except OSError:
        pass
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
head = re.compile(r"<\d{1,3}>(\w{3} [ \d]\d \d\d:\d\d:\d\d) ")
print(f"syslog listener on {path}", file=sys.stderr, flush=True)
with open(out, "a", buffering=1, encoding="utf-8", errors="replace") as fh:
    while True:
        d = s.recv(65536).decode("utf-8", "replace").rstrip("\n\0")
        m = head.match(d)
        d = f"{m.group(1)} {host} {d[m.end():]}" if m else d
        fh.write(d.replace("\n", " ") + "\n")
'

# sm_syslog_start : the listener, on /dev/log if that is free
sm_syslog_start() {
    _e2e_init
    mkdir -p "$SM_DIR"
    : >>"$SM_LOG"
    if [[ -e $SM_DEVLOG || -L $SM_DEVLOG ]]; then
        SM_SYSLOG_SOCK=$SM_DIR/log.sock      # bind-mounted over /dev/log
    else
        SM_SYSLOG_SOCK=$SM_DEVLOG
    fi
    : >"$E2E_DIR/logs/syslog.log"
    e2e_spawn syslog "$E2E_PYTHON" -c "$_SM_SYSLOGD" "$SM_SYSLOG_SOCK" "$SM_LOG" "$SM_HOSTNAME"
    wait_for "grep -q 'syslog listener on' '$E2E_DIR/logs/syslog.log'" 10 ||
        fail "syslog listener did not start: $(cat "$E2E_DIR/logs/syslog.log")"
    # Remembered so that sm_cleanup removes the socket even if the listener
    # was killed before it could.
    [[ $SM_SYSLOG_SOCK != "$SM_DEVLOG" ]] || stat -c %i "$SM_DEVLOG" >"$SM_DIR/devlog.ours"
    _sm_wrapper
}

# _sm_wrapper : $SM_WRAPPER, the one way every sendmail is started: new UTS
# namespace with a fully qualified host name, and (when /dev/log is not
# ours) a new mount namespace with the listener bound over /dev/log.
_sm_wrapper() {
    local bind=""
    [[ $SM_SYSLOG_SOCK == "$SM_DEVLOG" ]] || bind=$SM_SYSLOG_SOCK
    mkdir -p "$SM_DIR/bin"
    cat >"$SM_WRAPPER.tmp" <<EOF
#!/bin/bash
# The private sendmail of a spillway e2e test (generated by tests/e2e/sendmail.sh).
printf '%s %s\\n' "\$(date +%s.%N)" "\$*" >>'$SM_DIR/calls.log'
export LD_LIBRARY_PATH='$(_sm_libpath)'
exec unshare -u ${bind:+-m} -- /bin/bash -c '
    hostname "\$0" || exit 75
    if [[ -n \$1 ]]; then mount --bind "\$1" /dev/log || exit 75; fi
    shift
    exec "\$@"' '$SM_HOSTNAME' '$bind' '$SM_BIN' -C '$SM_CF' -L sm-mta "\$@"
EOF
    chmod 755 "$SM_WRAPPER.tmp"
    mv -f "$SM_WRAPPER.tmp" "$SM_WRAPPER"
}

# ---------------------------------------------------------------------------
# the daemon

# sm_cmd ARGS... : the private sendmail
sm_cmd() { "$SM_WRAPPER" "$@"; }

# _sm_procs : pids of every running private sendmail (daemon, its SMTP
# children, queue runners), found by their executable
_sm_procs() {
    local bin
    bin=$(readlink -f "$SM_BIN" 2>/dev/null) || return 0
    { find /proc/[0-9]*/ -maxdepth 1 -name exe -printf '%h\t%l\n' 2>/dev/null || true; } |
        awk -F'\t' -v b="$bin" '$2 == b || $2 == b " (deleted)" { split($1, p, "/"); print p[3] }'
}

# sm_start : the daemon (SMTP on 127.0.0.1:$SM_PORT, no periodic queue runs:
# the test and spillway-routed's flush start them); waits until it answers
sm_start() {
    [[ -x $SM_WRAPPER ]] || fail "sm_start: call sm_syslog_start first"
    rm -f "$SM_DIR/sendmail.pid"
    sm_cmd -bd >>"$E2E_DIR/logs/sendmail.log" 2>&1 || {
        cat "$E2E_DIR/logs/sendmail.log" >&2
        fail "sendmail -bd failed"
    }
    if ! wait_for "ss -Hltn 'sport = :$SM_PORT' | grep -q . && [[ -s $SM_DIR/sendmail.pid ]]" 20; then
        tail -n 20 "$SM_LOG" >&2
        fail "sendmail is not listening on 127.0.0.1:$SM_PORT"
    fi
}

# sm_stop : SIGTERM the daemon, then whatever private sendmail is left
sm_stop() {
    local pid i procs=()
    pid=$(head -n 1 "$SM_DIR/sendmail.pid" 2>/dev/null | tr -dc '0-9' || true)
    if _pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            _pid_alive "$pid" || break
            sleep 0.1
        done
    fi
    for ((i = 0; i < 50; i++)); do
        mapfile -t procs < <(_sm_procs)
        ((${#procs[@]})) || return 0
        if ((i == 0 || i == 20)); then
            kill -TERM "${procs[@]}" 2>/dev/null || true
        fi
        sleep 0.1
    done
    log "killing leftover sendmail processes: ${procs[*]}"
    kill -KILL "${procs[@]}" 2>/dev/null || true
}

# sm_queue_count : messages in the queue (one qf file each)
sm_queue_count() {
    [[ -d $SM_QUEUE ]] || { echo 0; return 0; }
    find "$SM_QUEUE" -type f -name 'qf*' | wc -l
}

# sm_wait_empty TIMEOUT : run the queue every 5 s until it is empty
sm_wait_empty() { wait_drained sm_queue_count "sm_cmd -q" "${1:-60}" "sendmail queue"; }

# sm_log_count REGEX : lines of the sendmail log matching the extended REGEX
sm_log_count() {
    [[ -f $SM_LOG ]] || { echo 0; return 0; }
    grep -Ec -- "$1" "$SM_LOG" || true
}

# sm_bounced_count : bounces Sendmail made itself ("qid: newqid: DSN: ...")
# plus deliveries that failed for good (dsn=5.x.x)
sm_bounced_count() { sm_log_count 'sm-mta\[[0-9]+\]: [[:alnum:]]+: ([[:alnum:]]+: DSN: |to=.* dsn=5\.)'; }

# ---------------------------------------------------------------------------
# cleanup

# sm_cleanup : `trap sm_cleanup EXIT`.  Stops spillway-routed first (its
# flush starts sendmail), then Sendmail, then the listener (removing a
# /dev/log it made), then hands over to e2e_cleanup.
sm_cleanup() {
    local rc=$? ino
    set +e
    if [[ -f $E2E_DIR/.e2e-rig ]]; then
        if ((rc != 0)) && [[ -s $SM_LOG ]]; then
            echo "---- e2e failed (rc=$rc); last sendmail log lines:" >&2
            tail -n 25 "$SM_LOG" >&2
        fi
        e2e_kill routed
        sm_stop
        e2e_kill syslog
        if [[ -f $SM_DIR/devlog.ours ]]; then
            ino=$(cat "$SM_DIR/devlog.ours")
            if [[ -S $SM_DEVLOG && $(stat -c %i "$SM_DEVLOG" 2>/dev/null) == "$ino" ]]; then
                rm -f "$SM_DEVLOG"
            fi
        fi
    fi
    (exit "$rc")
    e2e_cleanup
}
