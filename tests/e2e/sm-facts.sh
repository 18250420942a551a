#!/bin/bash
# tests/e2e/sm-facts.sh - fact-finding with the real Sendmail 8.17 (issue 18).
#
# Not part of the test suite: an experiment that prints what Sendmail does,
# for doc-notes/sendmail-facts.md.  It asserts nothing; every FACT line is
# followed by the observation it rests on (log lines, command output).
#
#   tests/e2e/sm-facts.sh [SECTION...]   (run as root; default: all)
#     makemap   map types, cdb, building a mailertable, in place?, locks,
#               libraries, a non-root user
#     filemap   FEATURE(mailertable) with a makemap'd file: changes seen by
#               new connections, a long session, queue runs
#     sequence  FEATURE(mailertable, sequence SOCKET FILE): socket map OK,
#               NOTFOUND, down, hung
#     etrn      ETRN host / @domain / #queuegroup from 127.0.0.1
#     queue     sendmail -q by an unprivileged user (NoNewPrivileges, or the
#               setgid bit as Debian installs it)
#
# Ports 27800-27804 (e2e_ports 27800), relays on 127.0.0.91 (the smart host,
# "primary"), 127.0.0.92 ("alta") and 127.0.0.93 ("altb"), all on one port.
# The output also goes to $SM_FACTS_OUT (default /tmp/sm-facts.out).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
[[ $(id -u) == 0 ]] || { echo "sm-facts: must run as root" >&2; exit 1; }
E2E_DIR=$(mktemp -d /tmp/sw-facts.XXXXXX)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=sendmail.sh
. "$HERE/sendmail.sh"
OUT=${SM_FACTS_OUT:-/tmp/sm-facts.out}
: >"$OUT"
ETC_MAIL_OURS=n
facts_cleanup() {
    local rc=$?
    set +e
    if [[ $ETC_MAIL_OURS == y ]]; then
        rmdir /etc/mail 2>/dev/null || echo "sm-facts: /etc/mail not removed (not empty?)" >&2
    fi
    (exit "$rc")
    sm_cleanup
}
trap facts_cleanup EXIT
e2e_ports 27800
SM_PORT=$PORT_SMTPD
RPORT=$PORT_PRIMARY
PRIMARY=127.0.0.91
ALTA=127.0.0.92
ALTB=127.0.0.93
MM=
MTDIR=$E2E_DIR/mt
MT=$MTDIR/mailertable
SECTIONS=("$@")
((${#SECTIONS[@]})) || SECTIONS=(makemap filemap sequence etrn queue)

# ------------------------------------------------------------------ output
say() { printf '%s\n' "$*" | tee -a "$OUT" >&2; }
fact() { say ""; say "FACT: $*"; }
# obs : stdin, indented, as the observation
obs() { sed 's/^/    | /' | tee -a "$OUT" >&2; }
# logsince MARK REGEX : sendmail log lines after line MARK matching REGEX
logmark() { wc -l <"$SM_LOG"; }
logsince() { tail -n +"$(($1 + 1))" "$SM_LOG" | grep -E 'sm-mta\[' | grep -E -- "${2:-.}" | cut -c1-400 || true; }

# where TAG : the relays that received a message with Message-ID <TAG-...>
where() {
    local r out=
    for r in primary alta altb; do
        (($(relay_msgids "$r" | grep -c "^<$1-" || true) > 0)) && out+="$r "
    done
    echo "${out:-nowhere}"
}
# wait_at TAG TIMEOUT : until TAG is at some relay
wait_at() { wait_for "[[ \$(where $1) != nowhere ]]" "${2:-10}" || true; }

# map_write LINES... : the mailertable text, then makemap (hash)
map_write() {
    printf '%s\n' "$@" >"$MT.txt"
    "$MM" -C "$SM_CF" hash "$MT" <"$MT.txt"
}

# smtp STEP... : one SMTP session with the daemon.  Steps:
#   mail:RCPT:TAG   one message (Message-ID <TAG-...>), prints the RCPT reply
#   sh:COMMAND      run COMMAND (bash) between messages, prints its output
#   cmd:LINE        send an SMTP command, print the reply
#   sleep:SECONDS
# shellcheck disable=SC2016  # python
_SMTP_PY='
import smtplib, subprocess, sys, time, secrets
port = int(sys.argv[1])
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test.spillway", timeout=60)
s.ehlo()
for step in sys.argv[2:]:
    kind, _, arg = step.partition(":")
    t = "%.3f" % time.time()
    if kind == "mail":
        rcpt, tag = arg.rsplit(":", 1)
        mid = f"<{tag}-{secrets.token_hex(4)}@test.spillway>"
        code, text = s.mail("sender@org.example")
        if code // 100 != 2:
            print(f"{t} MAIL FROM:<sender@org.example>: {code} {text.decode()}", flush=True)
            s.rset()
            continue
        code, text = s.rcpt(rcpt)
        print(f"{t} RCPT {rcpt}: {code} {text.decode()}", flush=True)
        if code // 100 == 2:
            code, text = s.data(f"From: sender@org.example\r\nTo: {rcpt}\r\nMessage-ID: {mid}\r\nSubject: {tag}\r\n\r\n{tag}\r\n")
            print(f"{t} DATA: {code} {text.decode()}", flush=True)
        else:
            s.rset()
    elif kind == "sh":
        r = subprocess.run(["bash", "-c", arg], capture_output=True, text=True)
        print(f"{t} sh {arg!r}: rc={r.returncode} {r.stdout.strip()} {r.stderr.strip()}", flush=True)
    elif kind == "cmd":
        code, text = s.docmd(arg)
        print(f"{t} {arg}: {code} {text.decode()}", flush=True)
    elif kind == "sleep":
        time.sleep(float(arg))
s.quit()
'
smtp() { "$E2E_PYTHON" -c "$_SMTP_PY" "$SM_PORT" "$@"; }

# A socket map server: answers from $E2E_DIR/sockmap.answers ("KEY REPLY"
# lines, the reply e.g. "OK relay:[127.0.0.93]"; NOTFOUND for other keys),
# or, while $E2E_DIR/sockmap.hang exists, reads requests and never answers.
# Every request goes to $E2E_DIR/sockmap.requests.
# shellcheck disable=SC2016  # python
_SOCKMAP_PY='
import os, socket, sys, threading
port, d = int(sys.argv[1]), sys.argv[2]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port)); ls.listen(16)
print("sockmap listening", flush=True)
def ns(b): return str(len(b)).encode() + b":" + b + b","
def serve(c):
    buf = b""
    with c:
        while True:
            while b":" not in buf or len(buf) < buf.index(b":") + 1 + int(buf[:buf.index(b":")]) + 1:
                x = c.recv(4096)
                if not x: return
                buf += x
            n = int(buf[:buf.index(b":")]); start = buf.index(b":") + 1
            req = buf[start:start + n].decode(); buf = buf[start + n + 1:]
            hang = os.path.exists(d + "/sockmap.hang")
            with open(d + "/sockmap.requests", "a") as f:
                f.write(req + (" (hang)" if hang else "") + "\n")
            if hang:
                continue
            ans = {}
            try:
                for line in open(d + "/sockmap.answers"):
                    k, _, v = line.strip().partition(" ")
                    if k: ans[k] = v
            except OSError:
                pass
            _, _, key = req.partition(" ")
            c.sendall(ns(ans.get(key.lower(), "NOTFOUND ").encode()))
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'
sockmap_start() {
    e2e_spawn sockmap "$E2E_PYTHON" -c "$_SOCKMAP_PY" "$PORT_SOCKMAP" "$E2E_DIR"
    wait_for "grep -q listening '$E2E_DIR/logs/sockmap.log'" 10 || fail "sockmap server did not start"
}

# sm_restart MC-LINES... : a new .mc (primary as smart host), built, daemon started
sm_restart() {
    sm_stop
    # shellcheck disable=SC2016  # m4
    sm_mc "define(\`SMART_HOST', \`[$PRIMARY]')dnl" \
        "define(\`RELAY_MAILER_ARGS', \`TCP \$h $RPORT')dnl" "$@"
    sm_build
    rm -f "$SM_QUEUE"/*
    sm_start
}

queue_ids() { find "$SM_QUEUE" -name 'qf*' -printf '%f\n' | sed 's/^qf//' | tr '\n' ' '; }

# ------------------------------------------------------------------ set-up
sm_fetch
sm_unpack
MM=$SM_ROOT/usr/libexec/sendmail/makemap
mkdir -p "$MTDIR"
relay_start primary "$RPORT" "$PRIMARY"
relay_start alta "$RPORT" "$ALTA"
relay_start altb "$RPORT" "$ALTB"
sm_syslog_start
sm_mc "define(\`SMART_HOST', \`[$PRIMARY]')dnl"
sm_build
say "sm-facts: $(date -u +%FT%TZ), $(dpkg-deb -f "$(_sm_deb sendmail-bin)" Package Version | tr '\n' ' ')"

# ================================================================== makemap
s_makemap() {
    say "" && say "=== makemap"
    fact "makemap -l lists the map types this makemap was built with"
    "$MM" -l 2>&1 | obs
    fact "cdb is not compiled in (exit status and message)"
    { "$MM" -C "$SM_CF" cdb "$MTDIR/x" </dev/null; echo "exit $?"; } 2>&1 | obs || true
    fact "makemap reads /etc/mail/sendmail.cf (TrustedUser) and stops without it; -C FILE names another"
    { (cd "$MTDIR" && strace -f -e trace=openat "$MM" hash "$MTDIR/y" </dev/null 2>&1 |
        grep -E 'sendmail.cf|exited'); } 2>&1 | obs || true
    fact "libraries: makemap needs nothing from the unpacked tree (system libdb-5.3, libldap)"
    { ldd "$MM" | grep -E 'libdb|ldap|not found' || true; } | obs
    fact "building: makemap TYPE NAME < TEXT creates NAME.db (hash), mode 0640; the text file is not needed by sendmail"
    printf 'a.example\trelay:[%s]\n.a.example\trelay:[%s]\n' "$ALTA" "$ALTA" >"$MT.txt"
    "$MM" -C "$SM_CF" hash "$MT" <"$MT.txt"
    ls -li "$MTDIR" | obs
    "$MM" -C "$SM_CF" -u hash "$MT" | obs
    local ino1 ino2
    ino1=$(stat -c %i "$MT.db")
    fact "a rebuild is in place: the same inode, opened O_RDWR, flock(LOCK_EX) held while it truncates and rewrites"
    strace -f -e trace=openat,flock,ftruncate,rename,unlink "$MM" -C "$SM_CF" hash "$MT" <"$MT.txt" 2>&1 |
        grep -E 'mailertable|flock|ftruncate|rename|unlink' | obs
    ino2=$(stat -c %i "$MT.db")
    say "    | inode before $ino1, after $ino2"
    fact "makemap -u (dump) takes a shared lock"
    strace -f -e trace=openat,flock "$MM" -C "$SM_CF" -u hash "$MT" 2>&1 | grep -E 'mailertable|flock' | obs
    fact "a non-root user (nobody, NoNewPrivileges) rebuilds a map it owns in a directory it owns"
    local d=$E2E_DIR/nr
    mkdir -p "$d" && cp "$MT.txt" "$d/mailertable" && chown -R nobody:nogroup "$d" && chmod 755 "$d"
    chmod 644 "$SM_CF"
    {
        setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
            "$MM" -C "$SM_CF" hash "$d/mailertable" <"$d/mailertable"
        echo "exit $?"
        ls -ln "$d"
        setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
            "$MM" -C "$SM_CF" hash "$d/mailertable" <"$d/mailertable"
        echo "again: exit $?, inode $(stat -c %i "$d/mailertable.db")"
    } 2>&1 | obs
    fact "makemap run by root with TrustedUser set in the .cf chowns the map to it (Debian: confTRUSTED_USER smmta)"
    grep -E '^O TrustedUser' "$SM_CF" | obs || say "    | (no TrustedUser in the rig's .cf)"
    sed 's/^#O TrustedUser=.*/O TrustedUser=nobody/' "$SM_CF" >"$E2E_DIR/tu.cf"
    grep -q '^O TrustedUser=nobody' "$E2E_DIR/tu.cf" || echo 'O TrustedUser=nobody' >>"$E2E_DIR/tu.cf"
    "$MM" -C "$E2E_DIR/tu.cf" hash "$MTDIR/tu" <"$MT.txt" 2>&1 | obs
    ls -l "$MTDIR/tu.db" | obs
    rm -f "$MTDIR/tu.db" "$MTDIR/x"* "$MTDIR/y"*
}

# ================================================================== filemap
s_filemap() {
    say "" && say "=== filemap: FEATURE(\`mailertable', \`hash -o $MT')"
    map_write "f.example relay:[$ALTA]" "s.example relay:[$ALTA]" "q.example relay:[$ALTA]"
    sm_restart "FEATURE(\`mailertable', \`hash -o $MT')dnl"
    fact "the K line FEATURE(mailertable) makes"
    grep -E '^Kmailertable' "$SM_CF" | obs
    fact "new SMTP connections: a map in the file goes to its relay, others to SMART_HOST"
    { smtp "mail:u@f.example:fa1" "mail:u@g.example:fg1"; wait_at fa1; wait_at fg1
      echo "fa1 at $(where fa1); fg1 at $(where fg1)"; } 2>&1 | obs
    fact "a rebuild while the daemon runs: the next NEW connection sees it at once (each connection is a fork that opens the map)"
    local pid
    pid=$(head -1 "$SM_DIR/sendmail.pid")
    say "    | daemon $pid has the map open? $(ls -l /proc/"$pid"/fd 2>/dev/null | grep -c mailertable || true) fd(s)"
    { map_write "f.example relay:[$ALTB]" "s.example relay:[$ALTA]" "q.example relay:[$ALTA]"
      echo "rebuilt at $(date +%s.%N)"
      smtp "mail:u@f.example:fb1"; wait_at fb1; echo "fb1 at $(where fb1)"; } 2>&1 | obs
    say "    | daemon $pid has the map open now? $(ls -l /proc/"$pid"/fd 2>/dev/null | grep -c mailertable || true) fd(s)"
    fact "one long SMTP session: are rebuilds seen between its messages, also a second rebuild within the same second (same .db mtime)?"
    sleep 1.2
    # shellcheck disable=SC2016
    local mw="cd $MTDIR && printf '%s\n' 'f.example relay:[$ALTB]' 'q.example relay:[$ALTA]'"
    {
        smtp "mail:u@s.example:s1" \
            "sh:sleep 1.1; $mw 's.example relay:[$ALTB]' >mailertable.txt && '$MM' -C '$SM_CF' hash mailertable <mailertable.txt && stat -c 'mtime %Y' mailertable.db" \
            "mail:u@s.example:s2" \
            "sh:$mw 's.example relay:[$ALTA]' >mailertable.txt && '$MM' -C '$SM_CF' hash mailertable <mailertable.txt && stat -c 'mtime %Y' mailertable.db" \
            "mail:u@s.example:s3" \
            "sleep:1.1" "mail:u@s.example:s4" \
            "sh:$mw 's.example relay:[$ALTA]' >mailertable.txt && '$MM' -C '$SM_CF' hash mailertable <mailertable.txt && stat -c 'mtime %Y' mailertable.db" \
            "mail:u@s.example:s5"
        for t in s1 s2 s3 s4 s5; do wait_at $t; echo "$t at $(where $t)"; done
        echo "(map: s1 alta; then altb; s2; then alta in the same second; s3; 1.1 s later s4; rebuilt alta again (later second); s5)"
    } 2>&1 | obs
    fact "queue runs (sendmail -q, a new process) see the current map: deferred mail takes the new route"
    relay_rules alta "q.example 451 4.7.1 alta defers q.example"
    local m
    m=$(logmark)
    {
        smtp "mail:u@q.example:q1"
        wait_for "grep -q 'to=<u@q.example>.*stat=Deferred' '$SM_LOG'" 10 || true
        logsince "$m" 'u@q.example'
        echo "queued: $(queue_ids)"
        map_write "f.example relay:[$ALTB]" "s.example relay:[$ALTA]" "q.example relay:[$ALTB]"
        m=$(logmark)
        sm_cmd -q
        wait_at q1
        echo "after sendmail -q: q1 at $(where q1); queued: $(queue_ids)"
        logsince "$m" 'u@q.example'
    } 2>&1 | obs
    fact "queue runs the daemon itself starts (-bd -q2s, as Debian's -q10m): each run is a fork and sees the map as it is"
    sm_stop
    rm -f "$SM_QUEUE"/*
    sm_cmd -bd -q2s
    wait_for "ss -Hltn 'sport = :$SM_PORT' | grep -q ." 20 || fail "sendmail -bd -q2s"
    map_write "f.example relay:[$ALTB]" "s.example relay:[$ALTA]" "q.example relay:[$ALTA]"
    m=$(logmark)
    {
        smtp "mail:u@q.example:q2"
        wait_for "grep -q 'to=<u@q.example>.*stat=Deferred' '$SM_LOG'" 10 || true
        sleep 3
        echo "deferred at alta, queue runs every 2 s: $(logsince "$m" 'u@q.example' | grep -c Deferred) deferral(s) so far"
        map_write "f.example relay:[$ALTB]" "s.example relay:[$ALTA]" "q.example relay:[$ALTB]"
        echo "rebuilt at $(date +%s.%N)"
        wait_for "[[ \$(where q2) != nowhere ]]" 15 || true
        echo "q2 at $(where q2) at $(date +%s.%N)"
        logsince "$m" 'u@q.example|runqueue|grew'
        pid=$(head -1 "$SM_DIR/sendmail.pid")
        echo "daemon $pid fds on the map: $(ls -l /proc/"$pid"/fd 2>/dev/null | grep -c mailertable || true)"
    } 2>&1 | obs
    relay_rules alta ""
    sm_stop
}

# ================================================================== sequence
s_sequence() {
    say "" && say "=== sequence: FEATURE(\`mailertable', \`sequence spillway mtfile') + LOCAL_CONFIG K lines"
    map_write "in.example relay:[$ALTA]"
    : >"$E2E_DIR/sockmap.answers"
    sockmap_start
    fact "a first try: the member maps' K lines in LOCAL_CONFIG"
    sm_stop
    sm_mc "define(\`SMART_HOST', \`[$PRIMARY]')dnl" \
        "define(\`RELAY_MAILER_ARGS', \`TCP \$h $RPORT')dnl" \
        "FEATURE(\`mailertable', \`sequence spillway mtfile')dnl" \
        "LOCAL_CONFIG" \
        "Kspillway socket -d5 inet:$PORT_SOCKMAP@127.0.0.1" \
        "Kmtfile hash -o $MT"
    sm_build
    grep -nE '^K(mailertable|spillway|mtfile)' "$SM_CF" | obs
    { sm_cmd -bv u@in.example 2>&1 | head -5 || true; } | obs
    fact "what works: LOCAL_CONFIG with the member K lines BEFORE FEATURE(mailertable) (its K line goes to the same diversion, in .mc order)"
    sm_mc "define(\`SMART_HOST', \`[$PRIMARY]')dnl" \
        "define(\`RELAY_MAILER_ARGS', \`TCP \$h $RPORT')dnl" \
        "LOCAL_CONFIG" \
        "Kspillway socket -d5 inet:$PORT_SOCKMAP@127.0.0.1" \
        "Kmtfile hash -o $MT" \
        "FEATURE(\`mailertable', \`sequence spillway mtfile')dnl"
    sm_build
    grep -nE '^K(mailertable|spillway|mtfile)' "$SM_CF" | obs
    { sm_cmd -bv u@in.example u@out.example 2>&1 | head -5 || true; } | obs
    sm_start
    local m cases=(ok notfound down hung) c
    for c in "${cases[@]}"; do
        rm -f "$E2E_DIR/sockmap.hang"
        case $c in
            ok) printf '%s\n' "in.example OK relay:[$ALTB]" "out.example OK relay:[$ALTB]" >"$E2E_DIR/sockmap.answers"
                fact "(a) socket map answers OK relay:[altb] for in.example and out.example; the file has in.example -> alta" ;;
            notfound) : >"$E2E_DIR/sockmap.answers"
                fact "(b) socket map answers NOTFOUND for every key" ;;
            down) e2e_kill sockmap
                fact "(c) socket map down (connection refused)" ;;
            hung) [[ -f $E2E_DIR/pids/sockmap.pid ]] || sockmap_start; touch "$E2E_DIR/sockmap.hang"
                fact "(d) socket map hung: accepts, reads, never answers (-d5)" ;;
        esac
        m=$(logmark)
        : >"$E2E_DIR/sockmap.requests"
        {
            smtp "mail:u@in.example:${c}in" "mail:u@out.example:${c}out"
            sleep 2
            wait_at "${c}in" 8; wait_at "${c}out" 8
            echo "${c}in at $(where "${c}in"); ${c}out at $(where "${c}out"); queued: $(queue_ids)"
            logsince "$m" 'example|spillway|mtfile|mailertable|socket|timeout|SYSERR'
            echo "socket map requests: $(tr '\n' ';' <"$E2E_DIR/sockmap.requests")"
        } 2>&1 | obs
        if [[ -n $(queue_ids) ]]; then
            rm -f "$E2E_DIR/sockmap.hang"
            [[ -f $E2E_DIR/pids/sockmap.pid ]] || sockmap_start
            : >"$E2E_DIR/sockmap.answers"
            m=$(logmark)
            sm_cmd -q
            {
                echo "socket map back (NOTFOUND), sendmail -q:"
                wait_at "${c}in" 8; wait_at "${c}out" 8
                echo "${c}in at $(where "${c}in"); ${c}out at $(where "${c}out"); queued: $(queue_ids)"
                logsince "$m" 'example'
            } 2>&1 | obs
        fi
    done
    rm -f "$E2E_DIR/sockmap.hang"
    sm_stop
}

# ================================================================== etrn
s_etrn() {
    say "" && say "=== etrn (Debian's PrivacyOptions)"
    map_write "e.example relay:[$ALTA]" "e2.example relay:[$ALTA]" "e3.example relay:[$ALTA]"
    sm_restart "FEATURE(\`mailertable', \`hash -o $MT')dnl" \
        "define(\`confPRIVACY_FLAGS', \`needmailhelo,needexpnhelo,needvrfyhelo,restrictqrun,restrictexpand,nobodyreturn,authwarnings')dnl"
    grep -E '^O PrivacyOptions' "$SM_CF" | obs
    relay_rules alta "e.example 451 4.7.1 defer" "e2.example 451 4.7.1 defer" "e3.example 451 4.7.1 defer"
    local m arg d n=0
    for arg in "e.example" "@e2.example" "#mqueue"; do
        n=$((n + 1))
        d=e${n#1}.example
        [[ $n == 1 ]] && d=e.example
        fact "ETRN $arg over SMTP from 127.0.0.1, with mail for $d deferred and then routed elsewhere by a map change"
        m=$(logmark)
        {
            smtp "mail:u@$d:et$n"
            wait_for "grep -q 'to=<u@$d>.*stat=Deferred' '$SM_LOG'" 10 || true
            echo "queued: $(queue_ids)"
            map_write "e.example relay:[$ALTB]" "e2.example relay:[$ALTB]" "e3.example relay:[$ALTB]"
            smtp "cmd:ETRN $arg"
            wait_at "et$n" 10
            echo "et$n at $(where "et$n"); queued: $(queue_ids)"
            logsince "$m" "ETRN|$d|runqueue"
        } 2>&1 | obs
        map_write "e.example relay:[$ALTA]" "e2.example relay:[$ALTA]" "e3.example relay:[$ALTA]"
    done
    fact "ETRN with nothing queued for the name, and with a name that has no mail"
    smtp "cmd:ETRN none.example" "cmd:ETRN" 2>&1 | obs
    relay_rules alta ""
    sm_stop
}

# ================================================================== queue
# sm_as USER ARGS... : the private sendmail as USER (setpriv), in the rig's
# UTS/mount namespace; NNP=y adds --no-new-privs (spillway-routed's unit);
# SETGID=y runs it with the setgid bit (via an ld.so.cache that knows the
# unpacked libraries: the loader ignores LD_LIBRARY_PATH for setgid);
# ETC=y binds $SM_DIR/etc-mail over /etc/mail so that no -C is needed
sm_as() {
    local user=$1 nnp="" etc="" cf=(-C "$SM_CF")
    shift
    [[ ${NNP:-n} == y ]] && nnp=--no-new-privs
    if [[ ${ETC:-n} == y ]]; then
        etc="mount --bind $SM_DIR/etc-mail /etc/mail &&"
        cf=()
    fi
    unshare -u -m -- /bin/bash -c "
        hostname $SM_HOSTNAME && mount --bind $SM_SYSLOG_SOCK /dev/log &&
        mount --bind $SM_DIR/ld.so.cache /etc/ld.so.cache && $etc
        exec timeout 20 setpriv --reuid=$user --regid=\$(id -g $user) --init-groups $nnp \"\$@\"" \
        sm "$SM_BIN" "${cf[@]}" "$@"
}

s_queue() {
    say "" && say "=== queue: sendmail -q by an unprivileged user"
    [[ $SM_SYSLOG_SOCK != /dev/log ]] || say "(the syslog listener is /dev/log itself)"
    map_write "u.example relay:[$ALTA]"
    sm_restart "FEATURE(\`mailertable', \`hash -o $MT')dnl" \
        "define(\`confPRIVACY_FLAGS', \`restrictqrun')dnl" \
        "define(\`confQUEUE_FILE_MODE', \`0640')dnl"
    # ld.so.cache with the unpacked libraries (setgid binaries ignore LD_LIBRARY_PATH)
    { cat /etc/ld.so.conf; _sm_libpath | tr ':' '\n'; } >"$SM_DIR/ld.so.conf"
    (cd /etc && ldconfig -C "$SM_DIR/ld.so.cache" -f "$SM_DIR/ld.so.conf")
    # Debian: queue smmta:smmsp 02750, files 0640, sendmail root:smmsp 02755.
    # Here: queue root:mail 02750 (no smmta user), sendmail root:mail 02755.
    chown root:mail "$SM_QUEUE"
    chmod 02750 "$SM_QUEUE"
    relay_rules alta "u.example 451 4.7.1 defer"
    smtp "mail:u@u.example:uq" >/dev/null
    wait_for "grep -q 'to=<u@u.example>.*stat=Deferred' '$SM_LOG'" 10 || true
    ls -ln "$SM_QUEUE" | obs
    relay_rules alta ""
    local m args rc
    for args in "-q" "-qRu.example"; do
        for mode in "nnp" "setgid"; do
            if [[ $mode == nnp ]]; then
                chmod g-s "$SM_BIN"
                fact "nobody runs sendmail -C sendmail.cf $args with NoNewPrivileges (spillway-routed's unit): no setgid"
            else
                chown root:mail "$SM_BIN"
                chmod 2755 "$SM_BIN"
                fact "nobody runs sendmail -C sendmail.cf $args with the setgid bit (root:mail 2755, Debian: root:smmsp)"
            fi
            m=$(logmark)
            {
                # shellcheck disable=SC2086  # ARGS are words
                rc=0
                NNP=$([[ $mode == nnp ]] && echo y || echo n) sm_as nobody $args 2>&1 || rc=$?
                echo "exit $rc"
                sleep 1
                echo "uq at $(where uq); queued: $(queue_ids)"
                logsince "$m" '.'
            } 2>&1 | head -20 | obs
            [[ $(where uq) == nowhere ]] || break 2
        done
    done
    # Without -C: sendmail gives up its setgid when a non-root user names a
    # .cf, so the .cf goes where the binary looks (/etc/mail, bound over
    # in the private mount namespace; an empty /etc/mail is made if there
    # is none and removed at the end).
    if [[ ! -e /etc/mail ]]; then
        mkdir /etc/mail
        ETC_MAIL_OURS=y
    fi
    mkdir -p "$SM_DIR/etc-mail"
    cp "$SM_CF" "$SM_DIR/etc-mail/sendmail.cf"
    chown root:mail "$SM_BIN"
    chmod 2755 "$SM_BIN"
    for args in "-q" "-qRu.example" "-bp"; do
        for mode in restrictqrun open; do
            if [[ $mode == open ]]; then
                sed 's/^O PrivacyOptions=.*/O PrivacyOptions=authwarnings/' "$SM_CF" >"$SM_DIR/etc-mail/sendmail.cf"
            else
                cp "$SM_CF" "$SM_DIR/etc-mail/sendmail.cf"
            fi
            fact "nobody runs sendmail $args (no -C: /etc/mail/sendmail.cf) with the setgid bit, PrivacyOptions $(grep '^O PrivacyOptions' "$SM_DIR/etc-mail/sendmail.cf" | cut -d= -f2)"
            m=$(logmark)
            {
                rc=0
                # shellcheck disable=SC2086  # ARGS are words
                ETC=y sm_as nobody $args 2>&1 || rc=$?
                echo "exit $rc"
                sleep 1
                echo "uq at $(where uq); queued: $(queue_ids)"
                logsince "$m" '.'
            } 2>&1 | head -20 | obs
        done
    done
    chmod g-s "$SM_BIN"
    chown root:root "$SM_BIN"
    sm_stop
}

for s in "${SECTIONS[@]}"; do
    "s_$s"
done
say ""
say "sm-facts: done; output in $OUT"
