#!/bin/bash
# tests/install.sh [BUILDDIR] - "make install DESTDIR=..." and what it installs.
#
# The build is for Postfix or for Sendmail (./configure --with-mta; read
# from its Makefile): what differs is said below as "Postfix:" and
# "Sendmail:".  A Sendmail build is tested as on a Sendmail-only host: the
# install root has no postfix and no postdrop group.
#
# Runs as root, without systemd as PID 1 (systemd's offline tools only):
#   1. every expected file is installed: programs, man pages, the two units,
#      the sysusers.d file, the tmpfiles.d file (Postfix; Sendmail: none),
#      the example configuration of the build's MTA (never over an
#      administrator's file, and left by "make uninstall" when changed),
#      the MTA snippets;
#   2. the shipped files agree: the sockets of the example configuration
#      and the compiled-in defaults lie in the directories tmpfiles.d makes,
#      and conf/postfix-main.cf names them relative to the queue directory
#      (Postfix), or in the units' RuntimeDirectory= and as
#      conf/sendmail.mc names them (Sendmail: and the units name no
#      postdrop group and no path of Postfix); conf/postfix-master.cf has
#      no active line; the milter's User= is the milter.user that
#      spillway-routed trusts;
#   3. systemd-sysusers --root makes both users; systemd-tmpfiles --root
#      makes the socket directories with their owners and modes (Postfix);
#   4. systemd-analyze verify accepts both units (and refuses a broken one);
#      systemd-analyze security --offline rates each at most
#      SW_MAX_EXPOSURE_ROUTED / SW_MAX_EXPOSURE_MILTER (a unit without
#      sandboxing is refused);
#   5. the PCRE2 classifier gives the same answers without executable
#      memory (the kernel's MDWE, as MemoryDenyWriteExecute=yes);
#   6. the installed daemons run as the users sysusers.d made, with the
#      units' groups, in the directories tmpfiles.d (Postfix) or systemd's
#      RuntimeDirectory= (Sendmail) make, with the compiled-in default
#      paths, in a private mount namespace (the machine's users and
#      directories are not touched) where, as under ProtectSystem=strict,
#      everything is read-only but the units' writable directories, without
#      capabilities and with no_new_privs.  Postfix: Postfix's own
#      socketmap client, as a user in group postfix, gets answers through
#      the shipped transport_maps line; users outside group postfix cannot
#      reach either socket; the milter's socket is 0660
#      spillway-milter:postfix; the milter says why when its socket
#      directory is not set-gid.  Sendmail: root (Sendmail's daemon) gets
#      mailertable answers from the socket map, no Postfix table is
#      rendered, the milter's socket is 0660 spillway-milter's and reached
#      by root only.  Both: spillway-routed counts the evidence datagrams of
#      spillway-milter's user and refuses another user's; the milter
#      refuses to run as another user.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# Measured with systemd 252: spillway-routed 1.3, spillway-milter 0.4 (a unit
# without any sandboxing: 9.6).
MAX_ROUTED=${SW_MAX_EXPOSURE_ROUTED:-1.5}
MAX_MILTER=${SW_MAX_EXPOSURE_MILTER:-0.6}
# Stand-ins for users that only this test knows: a Postfix process (in
# group postfix) and a local user who is in no group of ours.
PF_UID=61003
OTHER_UID=61004

fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
ok() { printf 'ok: %s\n' "$*"; }

# ------------------------------------------------------------ 6 (the namespace part)
# Called as "install.sh --namespace TMP": inside unshare -m, run by the
# outer part below, which has installed into TMP/root and exported the
# directories (SW_*).
if [[ ${1:-} == --namespace ]]; then
    T=$2
    R=$T/root
    pids=()
    stop_all() {
        local p
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
    }
    trap stop_all EXIT
    # The users sysusers.d made, in place of the machine's own files; the
    # directories as systemd (RuntimeDirectory=, StateDirectory=) and
    # tmpfiles.d make them, at their real paths.
    # Sendmail: nothing under /var/spool (an empty one: a path of Postfix
    # fails); the milter's RuntimeDirectory=, 0750, its user's.
    mount --bind "$R/etc/passwd" /etc/passwd
    mount --bind "$R/etc/group" /etc/group
    mkdir -p "$R/var/spool"
    mount --bind "$R/var/spool" /var/spool
    mount -t tmpfs -o mode=755 tmpfs /run
    mount -t tmpfs -o mode=755 tmpfs /var/lib
    install -d -o spillway -g spillway -m 755 /run/spillway /var/lib/spillway "/var/lib/spillway/$SW_MTA"
    if [[ $SW_MTA == sendmail ]]; then
        install -d -o spillway-milter -g spillway-milter -m 750 /run/spillway-milter
    fi
    routed=$R$SW_SBINDIR/spillway-routed
    milter=$R$SW_SBINDIR/spillway-milter
    ctl() { "$R$SW_SBINDIR/spillwayctl" "$@"; }
    # as UID-or-NAME GROUPS CMD... : like systemd's User=, SupplementaryGroups=,
    # NoNewPrivileges=yes and CapabilityBoundingSet= (empty).  It execs:
    # call it in a subshell, $(...) or with & (then $! is the daemon).
    as() {
        local u=$1 groups=--clear-groups
        [[ -n $2 ]] && groups=--groups=$2
        shift 2
        exec setpriv --reuid="$u" --regid="$u" "$groups" --no-new-privs --bounding-set=-all \
            --inh-caps=-all -- "$@"
    }

    # The configuration: no path at all, so every socket, the state file
    # and the tables take the compiled-in defaults; milter.user and
    # milter.group as the installed example sets them.  Sendmail: no
    # Postfix configuration at all.
    routed_conf=
    if [[ $SW_MTA == postfix ]]; then
        mkdir -p "$T/etc/postfix"
        : >"$T/etc/postfix/main.cf"
        routed_conf="postfix_config = \"$T/etc/postfix\";"
    fi
    printf 'k1 %s\n' "$(openssl rand -hex 32)" >"$T/tag.keys"
    chown root:spillway-milter "$T/tag.keys"
    chmod 640 "$T/tag.keys"
    cat >"$T/spillway.conf" <<CONF
routed: { $routed_conf };
milter: { user = "$SW_MILTER_USER"; group = "$SW_MILTER_GROUP"; tag_keys = "$T/tag.keys"; };
classify: { patterns = "$R$SW_SYSCONFDIR/spillway/patterns.conf"; };
relays = ( { name = "primary"; nexthop = "[127.0.0.1]:2525"; role = "primary"; },
           { name = "alt"; nexthop = "[127.0.0.2]:2526"; role = "alternate"; } );
CONF
    chmod 644 "$T/spillway.conf"
    sed 's/ tag_keys = "[^"]*";//' "$T/spillway.conf" >"$T/nokeys.conf"
    chmod 644 "$T/nokeys.conf"

    # ProtectSystem=strict: everything read-only (in this namespace only:
    # "remount,bind" changes this mount, not the file system) but the
    # directories the units make writable, and a tmpfs for this test's logs.
    sock=${SW_SOCKMAP#unix:}
    msock=${SW_MILTER_SOCKET#unix:}
    mdir=${msock%/*}
    mkdir -p "$T/logs"
    mount -t tmpfs -o mode=755 tmpfs "$T/logs"
    for w in /run/spillway /var/lib/spillway "${sock%/*}" "$mdir"; do
        mount --bind "$w" "$w"
    done
    for m in / /run /var/lib /var/spool; do
        mount -o remount,bind,ro "$m"
    done
    L=$T/logs
    for f in /var/lib/x /run/x /var/spool/postfix/x /etc/x "$T/x"; do
        if touch "$f" 2>/dev/null; then fail "$f is writable: the read-only layout failed"; fi
    done
    ok "namespace: read-only but /run/spillway, /var/lib/spillway, ${sock%/*}, $mdir"

    # spillway-routed as the unit runs it: user spillway, the unit's
    # SupplementaryGroups= (Postfix: adm, postdrop; Sendmail: adm), which
    # must exist in the install root's group file.
    as spillway "$SW_ROUTED_GROUPS" "$routed" -e -c "$T/spillway.conf" >/dev/null 2>"$L/routed.log" &
    pids+=($!)
    rpid=$!
    table=/var/lib/spillway/postfix/transport.lmdb
    ready() { [[ -f /var/lib/spillway/state && ($SW_MTA == sendmail || -f $table) ]]; }
    for _ in $(seq 100); do
        ctl -c "$T/spillway.conf" status >/dev/null 2>&1 && ready && break
        kill -0 "$rpid" 2>/dev/null || fail "spillway-routed exited: $(cat "$L/routed.log")"
        sleep 0.1
    done
    ctl -c "$T/spillway.conf" status >/dev/null || fail "spillwayctl cannot reach spillway-routed: $(cat "$L/routed.log")"
    ready || fail "no state file or rendered table: $(cat "$L/routed.log")"
    spw=$(id -u spillway)
    [[ $(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$rpid/status") == "$spw $spw $spw $spw" ]] ||
        fail "spillway-routed does not run as spillway"
    want=
    for g in ${SW_ROUTED_GROUPS//,/ }; do want+="$(getent group "$g" | cut -d: -f3) "; done
    want=$(tr ' ' '\n' <<<"$want" | sort -nu | xargs)
    got=$(awk '/^Groups:/ {$1 = ""; print}' "/proc/$rpid/status" | tr ' ' '\n' | sort -nu | xargs)
    [[ $got == "$want" ]] || fail "spillway-routed's groups: $got, want $want ($SW_ROUTED_GROUPS)"
    ok "spillway-routed runs as spillway (uid $spw, groups $SW_ROUTED_GROUPS), no capabilities, no new privileges"
    if [[ $SW_MTA == postfix ]]; then
        [[ $(stat -c '%a %U %G' "${sock%/*}") == "750 spillway postfix" ]] ||
            fail "socketmap directory: $(stat -c '%a %U %G' "${sock%/*}")"
    else
        [[ ${sock%/*} == /run/spillway && $(stat -c '%a %U' /run/spillway) == "755 spillway" ]] ||
            fail "socketmap directory: ${sock%/*} $(stat -c '%a %U' "${sock%/*}")"
        [[ $(stat -c '%a' "$sock") == 666 ]] || fail "socketmap socket mode: $(stat -c '%a' "$sock")"
    fi
    [[ $(stat -c '%U' "$sock") == spillway ]] || fail "socketmap socket owner: $(stat -c '%U' "$sock")"
    files=(/var/lib/spillway/state /run/spillway/control.sock /run/spillway/evidence.sock)
    [[ $SW_MTA == postfix ]] && files+=(/var/lib/spillway/postfix/transport "$table")
    for f in "${files[@]}"; do
        [[ -e $f && $(stat -c '%U' "$f") == spillway ]] || fail "$f: missing or not spillway's: $(cat "$L/routed.log")"
    done
    if [[ $SW_MTA == postfix ]]; then
        [[ $(stat -c '%a' "$table") == 644 ]] ||
            fail "the rendered table is not readable by Postfix: $(stat -c '%a' "$table")"
        ok "sockets, state file and rendered table at the default paths, owned by spillway"
    else
        # Rendering follows routed.mta: no Postfix table where only Sendmail is.
        [[ ! -e /var/lib/spillway/postfix ]] || fail "a Sendmail build rendered Postfix tables: $(ls /var/lib/spillway/postfix)"
        ! grep -E 'postmap|main\.cf' "$L/routed.log" || fail "a Sendmail build ran postmap (above)"
        ok "sockets and state file at the default paths, owned by spillway; no Postfix table, no postmap"
    fi

    divert() {
        ctl -c "$T/spillway.conf" divert example.com --to alt --for 1h --reason "tests/install.sh" >/dev/null ||
            fail "divert refused"
    }
    if [[ $SW_MTA == sendmail ]]; then
        # Sendmail's daemon runs as root and asks the socket map
        # "mailertable DOMAIN" (FEATURE(mailertable, socket ...)).
        sm_lookup() {
            /usr/bin/python3 - "$sock" "mailertable $1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
q = sys.argv[2].encode()
s.sendall(b"%d:%s," % (len(q), q))
buf = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("connection closed: %r" % buf)
    buf += chunk
    n, _, rest = buf.partition(b":")
    if rest and len(rest) > int(n):
        print(rest[:int(n)].decode())
        break
PY
        }
        got=$(sm_lookup example.com 2>&1) || fail "root's mailertable lookup: $got"
        [[ $got == NOTFOUND* ]] || fail "mailertable example.com (not diverted) answered '$got'"
        divert
        got=$(sm_lookup example.com 2>&1) || fail "root's mailertable lookup: $got"
        [[ $got == "OK relay:[127.0.0.2]" ]] || fail "mailertable example.com (diverted) answered '$got'"
        ok "socketmap: root (Sendmail's daemon) gets mailertable answers at $sock (NOTFOUND, then '$got')"
    else
        # Postfix's own socketmap client (postmap -q), in the queue directory
        # as Postfix's daemons are, with the shipped transport_maps line.
        map=${SW_TRANSPORT_MAPS#transport_maps = }
        lookup() { (cd /var/spool/postfix && as "$1" "$2" postmap -c "$T/etc/postfix" -q "$3" "$map" 2>&1); }
        divert
        got=$(lookup "$PF_UID" postfix u@example.com) || fail "socketmap lookup as a member of group postfix: $got"
        [[ $got == "smtp:[127.0.0.2]:2526" ]] || fail "socketmap lookup answered '$got'"
        ok "socketmap: '$map' answers a user in group postfix ($got)"
        if got=$(lookup "$OTHER_UID" "" u@example.com); then
            fail "a user outside group postfix got a socketmap answer: $got"
        fi
        grep -q 'Permission denied' <<<"$got" || fail "the outsider's lookup failed otherwise: $got"
        ok "socketmap: refused to a user outside group postfix"
        got=$(cd / && as "$PF_UID" postfix postmap -c "$T/etc/postfix" -q example.com lmdb:/var/lib/spillway/postfix/transport) ||
            fail "the rendered table does not list the diversion"
        ok "rendered table readable by Postfix's user: example.com -> $got"
    fi

    # Evidence: the milter's user is trusted, another user is refused.
    evidence() {
        ctl -c "$T/spillway.conf" --json status |
            python3 -c "import json,sys; e=json.load(sys.stdin)['evidence']; print(e['records'], e['refused'])"
    }
    send() {
        (as "$1" "" /usr/bin/python3 - /run/spillway/evidence.sock) <<'PY'
import socket, sys, time
rec = "\t".join(["v=1", "source=dsn", f"time={int(time.time())}", "domain=example.org",
                 "rcpt=u@example.org", "class=other", "trusted=0", "tag=absent"])
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(rec.encode(), sys.argv[1])
PY
    }
    [[ $(evidence) == "0 0" ]] || fail "evidence counters do not start at 0: $(evidence)"
    send "$SW_MILTER_USER"
    send "$OTHER_UID"
    for _ in $(seq 50); do [[ $(evidence) == "1 1" ]] && break; sleep 0.1; done
    [[ $(evidence) == "1 1" ]] || fail "evidence (records refused): $(evidence), want 1 1"
    grep -q "evidence: datagram from uid $OTHER_UID refused" "$L/routed.log" || fail "the refusal is not logged"
    ok "evidence: $SW_MILTER_USER's datagram counted, uid $OTHER_UID's refused"

    # spillway-milter as its unit runs it: already its user, nothing to drop.
    # Postfix: the directory tmpfiles.d made, set-gid postfix; Sendmail: the
    # unit's RuntimeDirectory=, the socket of milter.group (its own group).
    if [[ $SW_MTA == postfix ]]; then
        want_dir="2750 spillway-milter postfix" want_sock="660 spillway-milter postfix"
    else
        want_dir="750 spillway-milter spillway-milter" want_sock="660 spillway-milter $SW_MILTER_GROUP"
        [[ $mdir == /run/spillway-milter ]] || fail "milter.socket's directory is $mdir, not RuntimeDirectory=spillway-milter"
    fi
    [[ $(stat -c '%a %U %G' "$mdir") == "$want_dir" ]] ||
        fail "milter socket directory: $(stat -c '%a %U %G' "$mdir"), want $want_dir"
    start_milter() { # USER LOG
        as "$1" "" "$milter" -e -c "$T/spillway.conf" >/dev/null 2>"$2" &
        mpid=$!
        for _ in $(seq 100); do
            [[ -S $msock ]] && grep -q 'started:' "$2" && return 0
            kill -0 "$mpid" 2>/dev/null || return 1
            sleep 0.1
        done
        return 1
    }
    start_milter "$SW_MILTER_USER" "$L/milter.log" || fail "spillway-milter did not start: $(cat "$L/milter.log")"
    pids+=("$mpid")
    [[ $(stat -c '%a %U %G' "$msock") == "$want_sock" ]] ||
        fail "milter socket: $(stat -c '%a %U %G' "$msock"), want $want_sock"
    ok "milter socket $msock: $want_sock, in $mdir $want_dir"
    connect_py='import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])'
    connect() { as "$1" "$2" /usr/bin/python3 -c "$connect_py" "$msock" 2>&1; }
    if [[ $SW_MTA == postfix ]]; then
        got=$(connect "$PF_UID" postfix) || fail "a user in group postfix cannot connect to the milter: $got"
        who="group postfix connects"
    else
        got=$(/usr/bin/python3 -c "$connect_py" "$msock" 2>&1) || fail "root cannot connect to the milter: $got"
        who="root (Sendmail's daemon) connects"
    fi
    if got=$(connect "$OTHER_UID" ""); then fail "uid $OTHER_UID (in no group of ours) reached the milter socket"; fi
    grep -q PermissionError <<<"$got" || fail "the outsider's connect failed otherwise: $got"
    ok "milter socket: $who, others are refused"
    kill "$mpid"
    wait "$mpid" 2>/dev/null || true

    # Started as another user: refused, with the reason (this user cannot
    # read the tag keys: a configuration without them).
    rc=0
    timeout 10 setpriv --reuid="$OTHER_UID" --regid="$OTHER_UID" --clear-groups --no-new-privs \
        "$milter" -e -c "$T/nokeys.conf" 2>"$L/milter-other.log" || rc=$?
    ((rc != 0 && rc != 124)) || fail "spillway-milter runs as uid $OTHER_UID, not as milter.user"
    grep -q "not as milter.user $SW_MILTER_USER" "$L/milter-other.log" ||
        fail "no reason given: $(cat "$L/milter-other.log")"
    ok "spillway-milter refuses to run as another user: $(grep -o 'running as uid.*' "$L/milter-other.log" | cut -c1-80)..."
    [[ $SW_MTA == postfix ]] || exit 0
    # Postfix: without the set-gid directory the socket's group would be wrong.
    chmod g-s "$mdir"
    if start_milter "$SW_MILTER_USER" "$L/milter-nosgid.log"; then
        pids+=("$mpid")
        fail "spillway-milter started with a socket of the wrong group: $(stat -c '%a %U %G' "$msock")"
    fi
    chmod g+s "$mdir"
    grep -q 'set-gid' "$L/milter-nosgid.log" || fail "no hint at set-gid: $(cat "$L/milter-nosgid.log")"
    ok "without the set-gid directory spillway-milter stops and says why"
    exit 0
fi

# ------------------------------------------------------------ the outer part
[[ $(id -u) == 0 ]] || { echo "SKIP: tests/install.sh needs root (users, chown, mount namespace)"; exit 77; }
BUILD=$(cd "${1:-${SW_BUILDDIR:-$SRC}}" && pwd -P)
[[ -f $BUILD/Makefile ]] || fail "$BUILD is not a configured build directory"
# mkvar NAME : a make variable of the build, expanded
mkvar() { printf 'sw-print:\n\t@echo $(%s)\n' "$1" | make -s --no-print-directory -C "$BUILD" -f Makefile -f - sw-print; }
mta=$(mkvar SW_MTA)
[[ $mta == postfix || $mta == sendmail ]] || fail "the build is for MTA '$mta' (SW_MTA)"
echo "tests/install.sh: a $mta build ($BUILD)"
tools=(systemd-analyze systemd-sysusers systemd-tmpfiles setpriv unshare /usr/bin/python3 openssl strings)
[[ $mta == postfix ]] && tools+=(postmap)
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
done
if [[ $mta == postfix ]]; then
    getent group postfix >/dev/null || fail "no postfix group (apt-get install postfix)"
fi

T=$(mktemp -d /tmp/sw-install.XXXXXX)
chmod 755 "$T"
R=$T/root
trap 'rm -rf "$T"' EXIT

sbindir=$(mkvar sbindir) sysconfdir=$(mkvar sysconfdir) mandir=$(mkvar mandir)
docdir=$(mkvar docdir) unitdir=$(mkvar systemdsystemunitdir) datadir=$(mkvar datadir)
sysusersdir=$(mkvar sysusersdir) tmpfilesdir=$(mkvar tmpfilesdir)
for v in sbindir sysconfdir mandir docdir unitdir sysusersdir tmpfilesdir; do
    [[ ${!v} == /* ]] || fail "$v is '${!v}' (configured --with-...=no?)"
done

# ------------------------------------------------------------ 1. installed files
make -C "$BUILD" install DESTDIR="$R" >"$T/install.log" 2>&1 || { tail -20 "$T/install.log"; fail "make install"; }
for f in "$sbindir"/spillway-routed "$sbindir"/spillway-milter "$sbindir"/spillwayctl \
    "$sbindir"/spillway-report; do
    [[ -x $R$f ]] || fail "not installed: $f"
done
"$R$sbindir/spillway-report" /dev/null >/dev/null || fail "the installed spillway-report does not run"
files=("$unitdir"/spillway-routed.service "$unitdir"/spillway-milter.service "$sysusersdir"/spillway.conf)
if [[ $mta == postfix ]]; then
    files+=("$tmpfilesdir"/spillway.conf)
else
    # Sendmail: its sockets are in the units' RuntimeDirectory=.
    [[ ! -e $R$tmpfilesdir/spillway.conf ]] || fail "a Sendmail build installed a tmpfiles.d file"
fi
for f in "${files[@]}" "$sysconfdir"/spillway/spillway.conf "$sysconfdir"/spillway/patterns.conf \
    "$datadir"/bash-completion/completions/spillwayctl \
    "$docdir"/examples/postfix-main.cf "$docdir"/examples/postfix-master.cf \
    "$docdir"/examples/spillway.conf "$docdir"/examples/patterns.conf "$docdir"/examples/sendmail.mc; do
    [[ -f $R$f ]] || fail "not installed: $f"
done
mans=$(find "$R$mandir" -name 'spillway*.[58]' | wc -l)
((mans >= 5)) || fail "$mans man pages installed"
for m in man8/spillway-routed.8 man8/spillway-milter.8 man8/spillwayctl.8 man5/spillway.conf.5 \
    man8/spillway-report.8; do
    [[ -f $R$mandir/$m ]] || fail "not installed: $mandir/$m"
done
cmp -s "$SRC/conf/spillway.sysusers" "$R$sysusersdir/spillway.conf" || fail "sysusers.d file differs"
# The example of the build's MTA: Postfix's is conf/spillway.conf;
# Sendmail's is made from it by conf/spillway-sendmail.sed.  Installed, it
# names the files of $sysconfdir/spillway (the pattern library, the keys).
etc_edit() { sed "s|/etc/spillway/|$sysconfdir/spillway/|g" "$@"; }
if [[ $mta == postfix ]]; then
    cmp -s "$SRC/conf/spillway.tmpfiles" "$R$tmpfilesdir/spillway.conf" || fail "tmpfiles.d file differs"
    etc_edit "$SRC/conf/spillway.conf" | cmp -s - "$R$sysconfdir/spillway/spillway.conf" || fail "example configuration differs"
else
    sed -f "$SRC/conf/spillway-sendmail.sed" "$SRC/conf/spillway.conf" | etc_edit | cmp -s - "$R$sysconfdir/spillway/spillway.conf" ||
        fail "example configuration is not conf/spillway.conf edited by conf/spillway-sendmail.sed"
fi
grep -qx "classify: { patterns = \"$sysconfdir/spillway/patterns.conf\"; };" "$R$sysconfdir/spillway/spillway.conf" ||
    fail "the installed example does not name the installed pattern library $sysconfdir/spillway/patterns.conf"
cmp -s "$R$sysconfdir/spillway/spillway.conf" "$R$docdir/examples/spillway.conf" ||
    fail "the example in $docdir/examples is not the one in $sysconfdir/spillway"
for u in routed milter; do
    f=$R$unitdir/spillway-$u.service
    grep -qx "ExecStart=$sbindir/spillway-$u" "$f" || fail "spillway-$u.service: $(grep ExecStart= "$f")"
    ! grep -n '@[A-Za-z_]*@' "$f" || fail "spillway-$u.service: unsubstituted variable or MTA marker"
    if [[ $mta == sendmail ]]; then
        # A Sendmail-only host has no postdrop group and no Postfix queue.
        ! grep -n -e postdrop -e /var/spool/postfix "$f" || fail "spillway-$u.service names Postfix's (above)"
    fi
done
ok "installed: 3 programs, $mans man pages, 2 units, sysusers.d,$([[ $mta == postfix ]] && echo ' tmpfiles.d,') $mta example configuration, MTA snippets"
# An administrator's file is never replaced; "make uninstall" keeps it
# and removes the unchanged one.
echo "# changed by the administrator" >>"$R$sysconfdir/spillway/spillway.conf"
make -C "$BUILD" install DESTDIR="$R" >"$T/install2.log" 2>&1 || fail "make install (again)"
grep -q '^# changed by the administrator' "$R$sysconfdir/spillway/spillway.conf" ||
    fail "make install replaced the administrator's spillway.conf"
make -C "$BUILD" uninstall DESTDIR="$R" >"$T/uninstall.log" 2>&1 || fail "make uninstall"
[[ -f $R$sysconfdir/spillway/spillway.conf && ! -e $R$sysconfdir/spillway/patterns.conf ]] ||
    fail "make uninstall: the changed spillway.conf must stay, the unchanged patterns.conf go"
[[ ! -e $R$unitdir/spillway-routed.service && ! -e $R$sbindir/spillway-routed ]] || fail "make uninstall left files"
rm -f "$R$sysconfdir/spillway/spillway.conf"
make -C "$BUILD" install DESTDIR="$R" >"$T/install3.log" 2>&1 || fail "make install (after uninstall)"
ok "make install keeps an administrator's configuration; make uninstall removes only the unchanged one"

# ------------------------------------------------------------ 1b. a private prefix
# "make install prefix=P" (DESTDIR keeps it off this machine) writes only
# under P, units, sysusers.d, tmpfiles.d and bash completion included,
# unless the build was configured with other directories for them; the
# example configuration names P's pattern library.
P=/opt/sw-private-prefix
if grep -qE -- '--with-(systemdsystemunitdir|sysusersdir|tmpfilesdir)=/' "$BUILD/config.log"; then
    echo "note: configured with explicit unit, sysusers or tmpfiles directories: prefix containment not checked"
else
    make -C "$BUILD" install prefix="$P" DESTDIR="$T/prefix" >"$T/install-prefix.log" 2>&1 ||
        { tail -20 "$T/install-prefix.log"; fail "make install prefix=$P"; }
    outside=$(cd "$T/prefix" && find . ! -type d ! -path ".$P/*")
    [[ -z $outside ]] || fail "make install prefix=$P wrote outside it: $outside"
    n=$(find "$T/prefix$P" ! -type d | wc -l)
    for f in lib/systemd/system/spillway-routed.service lib/sysusers.d/spillway.conf \
        share/bash-completion/completions/spillwayctl etc/spillway/spillway.conf; do
        [[ -f $T/prefix$P/$f ]] || fail "make install prefix=$P: no $P/$f"
    done
    grep -qx "classify: { patterns = \"$P/etc/spillway/patterns.conf\"; };" "$T/prefix$P/etc/spillway/spillway.conf" ||
        fail "the example installed under $P does not name $P/etc/spillway/patterns.conf: $(grep 'patterns =' "$T/prefix$P/etc/spillway/spillway.conf")"
    [[ -f $T/prefix$P/etc/spillway/patterns.conf ]] || fail "no $P/etc/spillway/patterns.conf"
    rm -rf "$T/prefix"
    ok "make install prefix=$P: all $n files under it; the example names $P/etc/spillway/patterns.conf"
fi

# ------------------------------------------------------------ 2. the shipped files agree
conf=$R$sysconfdir/spillway/spillway.conf
# confval KEY : the first string value of "KEY = ..." in the example
confval() { sed -n "s/^ *$1 = \\[*\"\\([^\"]*\\)\".*/\\1/p" "$conf" | head -n 1; }
SW_SOCKMAP=$(confval socketmap) SW_MILTER_SOCKET=$(confval socket)
SW_MILTER_USER=$(confval user) SW_MILTER_GROUP=$(confval group)
# The defaults compiled into the programs are the example's paths.
defaults=$(strings "$R$sbindir/spillway-routed")
for key in socketmap socket control evidence state render_dir; do
    val=$(confval "$key")
    [[ -n $val ]] || fail "the $mta example sets no $key"
    grep -qxF -- "$val" <<<"$defaults" || fail "spillway-routed's default $key is not $val (a $mta build)"
done
want_group=postfix
[[ $mta == sendmail ]] && want_group=spillway-milter
[[ $SW_MILTER_USER == spillway-milter && $SW_MILTER_GROUP == "$want_group" ]] ||
    fail "the $mta example: milter.user $SW_MILTER_USER, milter.group $SW_MILTER_GROUP"
routed_unit=$R$unitdir/spillway-routed.service milter_unit=$R$unitdir/spillway-milter.service
grep -qx "User=$SW_MILTER_USER" "$milter_unit" || fail "the milter unit's User= is not milter.user"
grep -qx "User=spillway" "$routed_unit" || fail "the routed unit's User= is not spillway"
SW_ROUTED_GROUPS=$(sed -n 's/^SupplementaryGroups=//p' "$routed_unit" | tr ' ' ,)
want_groups=adm,postdrop
[[ $mta == sendmail ]] && want_groups=adm
[[ $SW_ROUTED_GROUPS == "$want_groups" ]] || fail "the routed unit's SupplementaryGroups= is '$SW_ROUTED_GROUPS', want $want_groups"
for key in control evidence; do
    [[ $(confval $key) == /run/spillway/* ]] || fail "$key is not in RuntimeDirectory=spillway"
done
for key in state render_dir; do
    [[ $(confval $key) == /var/lib/spillway/* ]] || fail "$key is not in StateDirectory=spillway"
done
[[ $(confval render_dir) == /var/lib/spillway/$mta ]] || fail "render_dir is $(confval render_dir), not /var/lib/spillway/$mta"
grep -qx "StateDirectory=spillway spillway/$mta" "$routed_unit" || fail "StateDirectory= does not make render_dir"
SW_TRANSPORT_MAPS=
if [[ $mta == sendmail ]]; then
    # The sockets are in the units' RuntimeDirectory= (no tmpfiles.d), and
    # the units need no other writable path.
    [[ $SW_SOCKMAP == unix:/run/spillway/* ]] || fail "routed.socketmap $SW_SOCKMAP is not in RuntimeDirectory=spillway"
    [[ $SW_MILTER_SOCKET == unix:/run/spillway-milter/* ]] ||
        fail "milter.socket $SW_MILTER_SOCKET is not in /run/spillway-milter"
    grep -qx 'RuntimeDirectory=spillway' "$routed_unit" || fail "the routed unit has no RuntimeDirectory=spillway"
    grep -qx 'RuntimeDirectory=spillway-milter' "$milter_unit" && grep -qx 'RuntimeDirectoryMode=0750' "$milter_unit" ||
        fail "the milter unit has no RuntimeDirectory=spillway-milter, mode 0750"
    ! grep -n '^ReadWritePaths=' "$routed_unit" "$milter_unit" || fail "ReadWritePaths= in a Sendmail build's unit (above)"
    # conf/sendmail.mc's defaults name the example's sockets.
    mc=$R$docdir/examples/sendmail.mc
    mc_default() { sed -n "s/^ifdef(.$1', .', .define(.$1', ..\([^']*\)'')')dnl\$/\1/p" "$mc"; }
    [[ $(mc_default SPILLWAY_MILTER) == "$SW_MILTER_SOCKET" ]] ||
        fail "sendmail.mc: SPILLWAY_MILTER '$(mc_default SPILLWAY_MILTER)' is not milter.socket $SW_MILTER_SOCKET"
    mcmap=$(mc_default SPILLWAY_SOCKETMAP)
    [[ $mcmap =~ ^inet:([0-9]+)@(.*)$ ]] && mcmap=inet:${BASH_REMATCH[2]}:${BASH_REMATCH[1]}
    grep "^ *socketmap = " "$conf" | grep -qF "\"$mcmap\"" ||
        fail "sendmail.mc: SPILLWAY_SOCKETMAP ($mcmap) is not one of the example's routed.socketmap"
    ok "the sendmail example, the compiled-in defaults, the units and sendmail.mc name the same paths"
else
    for s in "${SW_SOCKMAP#unix:}:spillway" "${SW_MILTER_SOCKET#unix:}:$SW_MILTER_USER"; do
        path=${s%:*} owner=${s##*:}
        awk -v d="${path%/*}" -v o="$owner" '$1 == "d" && $2 == d && $4 == o && $5 == "postfix" {f = 1} END {exit !f}' \
            "$R$tmpfilesdir/spillway.conf" || fail "tmpfiles.d makes no ${path%/*} for $owner, group postfix"
        [[ ${path%/*} == /var/spool/postfix/* ]] || fail "$path is not under Postfix's queue directory"
    done
    main=$R$docdir/examples/postfix-main.cf
    SW_TRANSPORT_MAPS=$(grep -m 1 '^transport_maps = socketmap:' "$main") || fail "postfix-main.cf: no socketmap line"
    [[ $SW_TRANSPORT_MAPS == "transport_maps = socketmap:unix:${SW_SOCKMAP#unix:/var/spool/postfix/}:transport" ]] ||
        fail "postfix-main.cf: '$SW_TRANSPORT_MAPS' is not routed.socketmap relative to the queue directory"
    grep -q "^smtpd_milters = { unix:${SW_MILTER_SOCKET#unix:/var/spool/postfix/}, default_action=accept," "$main" ||
        fail "postfix-main.cf: smtpd_milters is not milter.socket relative to the queue directory"
    for line in 'transport_maps = lmdb:' 'smtp_delivery_status_filter = pcre:' 'smtp_tls_policy_maps = lmdb:'; do
        grep -E "^#?$line$(confval render_dir)/" "$main" >/dev/null || fail "postfix-main.cf: no '$line' in render_dir"
    done
    if grep -vE '^[[:space:]]*(#|$)' "$R$docdir/examples/postfix-master.cf"; then
        fail "postfix-master.cf has active lines (above), yet says spillway needs none"
    fi
    ok "spillway.conf, the compiled-in defaults, the units, tmpfiles.d and postfix-main.cf name the same paths"
fi

# ------------------------------------------------------------ 3. sysusers, tmpfiles
# Sendmail: as on a Sendmail-only host, no postfix and no postdrop.
mkdir -p "$R/etc"
drop=(-e '^spillway')
[[ $mta == sendmail ]] && drop+=(-e '^postfix:' -e '^postdrop:')
grep -v "${drop[@]}" /etc/passwd >"$R/etc/passwd"
grep -v "${drop[@]}" /etc/group >"$R/etc/group"
systemd-sysusers --root="$R" "$R$sysusersdir/spillway.conf" >"$T/sysusers.log" 2>&1 ||
    fail "systemd-sysusers: $(cat "$T/sysusers.log")"
for u in spillway spillway-milter; do
    line=$(grep "^$u:" "$R/etc/passwd") || fail "systemd-sysusers did not make $u"
    IFS=: read -r _ _ uid gid _ home shell <<<"$line"
    ((uid < 1000)) || fail "$u is not a system user (uid $uid)"
    [[ $home == /nonexistent && $shell == */nologin ]] || fail "$u: home $home, shell $shell"
    grep -q "^$u:x:$gid:" "$R/etc/group" || fail "no group $u with gid $gid"
    [[ $(getent passwd "$uid" || true) == "" ]] || echo "note: uid $uid is taken on this machine (used only inside the namespace)"
done
ok "systemd-sysusers: spillway and spillway-milter, no home, no shell"
if [[ $mta == postfix ]]; then
    systemd-tmpfiles --root="$R" --create "$R$tmpfilesdir/spillway.conf" >"$T/tmpfiles.log" 2>&1 ||
        fail "systemd-tmpfiles: $(cat "$T/tmpfiles.log")"
    pfgid=$(awk -F: '$1 == "postfix" {print $3}' "$R/etc/group")
    for want in "spillway 750 spillway" "spillway-milter 2750 spillway-milter"; do
        read -r d mode owner <<<"$want"
        uid=$(awk -F: -v u="$owner" '$1 == u {print $3}' "$R/etc/passwd")
        got=$(stat -c '%a %u %g' "$R/var/spool/postfix/$d") || fail "tmpfiles did not make /var/spool/postfix/$d"
        [[ $got == "$mode $uid $pfgid" ]] || fail "/var/spool/postfix/$d is '$got', want '$mode $uid $pfgid' ($owner:postfix)"
    done
    ok "systemd-tmpfiles: /var/spool/postfix/spillway 0750 spillway:postfix, spillway-milter 2750 spillway-milter:postfix"
fi

# ------------------------------------------------------------ 4. systemd-analyze
# Offline, against the install root: the targets the units order against
# and /bin/kill (ExecReload=) must exist there; the man pages of
# Documentation= are looked up in the installed ones.
mkdir -p "$R/usr/lib/systemd/system" "$R/bin"
cp /lib/systemd/system/*.target "$R/usr/lib/systemd/system/"
cp /bin/kill "$R/bin/kill"
verify() { MANPATH=$R$mandir systemd-analyze verify --root="$R" "$1" 2>&1; }
for u in routed milter; do
    out=$(verify "$unitdir/spillway-$u.service") || fail "systemd-analyze verify spillway-$u.service: $out"
    [[ -z $out ]] || fail "systemd-analyze verify spillway-$u.service: $out"
done
# The check itself: a misspelt setting must be reported.
sed 's/^NoNewPrivileges=/NoNewPrivilegs=/' "$R$unitdir/spillway-routed.service" >"$R$unitdir/sw-broken.service"
out=$(verify "$unitdir/sw-broken.service") || true
[[ $out == *NoNewPrivilegs* ]] || fail "systemd-analyze verify does not report a misspelt setting"
rm "$R$unitdir/sw-broken.service"
ok "systemd-analyze verify: both units clean (a misspelt setting is reported)"

# exposure UNIT : systemd-analyze's overall exposure level (0.0 - 10.0)
exposure() {
    systemd-analyze security --offline=true --root="$R" "$unitdir/$1" 2>&1 |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p'
}
printf '[Service]\nExecStart=%s/spillway-routed\n' "$sbindir" >"$R$unitdir/sw-bare.service"
bare=$(exposure sw-bare.service)
rm "$R$unitdir/sw-bare.service"
awk -v s="$bare" -v m="$MAX_ROUTED" 'BEGIN {exit !(s + 0 > m + 0)}' ||
    fail "an unsandboxed unit scores '$bare': the score is not read"
for u in routed:$MAX_ROUTED milter:$MAX_MILTER; do
    score=$(exposure "spillway-${u%:*}.service")
    [[ -n $score ]] || fail "no exposure level for spillway-${u%:*}.service"
    awk -v s="$score" -v m="${u#*:}" 'BEGIN {exit !(s + 0 <= m + 0)}' ||
        fail "spillway-${u%:*}.service: exposure $score, above ${u#*:}"
    ok "systemd-analyze security: spillway-${u%:*}.service exposure $score (at most ${u#*:}; no sandbox: $bare)"
done

# ------------------------------------------------------------ 5. PCRE2 without JIT memory
cat >"$T/bounce.eml" <<'EML'
From: MAILER-DAEMON@out1.protection.outlook.test
To: alice@org.example
Subject: Undeliverable
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; out1.protection.outlook.test

Final-Recipient: rfc822; carol@bigcorp.example
Action: failed
Status: 5.7.606
Diagnostic-Code: smtp; 550 5.7.606 Access denied, banned sending IP [40.107.3.4]

--b1--
EML
analyze=("$R$sbindir/spillway-milter" --analyze --patterns "$R$sysconfdir/spillway/patterns.conf" "$T/bounce.eml")
plain=$("${analyze[@]}") || fail "spillway-milter --analyze"
[[ $plain == *'"class":"reputation"'* ]] || fail "--analyze: $plain"
# PR_SET_MDWE (Linux >= 6.3): what MemoryDenyWriteExecute=yes does with seccomp.
# It is set here, then checked in the program exec'd next (it is inherited
# across execve), which then execs spillway-milter.
mdwe=$(python3 - "${analyze[@]}" <<'PY'
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, REFUSE_EXEC_GAIN
    print("unsupported"); sys.exit(0)
check = """
import mmap, os, sys
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    print("not-enforced"); sys.exit(0)
except OSError:
    pass
os.execv(sys.argv[1], sys.argv[1:])
"""
os.execv(sys.executable, [sys.executable, "-c", check] + sys.argv[1:])
PY
) || fail "spillway-milter --analyze under MDWE failed"
case $mdwe in
unsupported) echo "note: this kernel has no PR_SET_MDWE: the classifier without JIT memory is not checked" ;;
not-enforced) fail "PR_SET_MDWE did not refuse a writable+executable mapping" ;;
"$plain") ok "classifier without executable memory (MDWE): the same answer, class reputation" ;;
*) fail "under MDWE: '$mdwe', without: '$plain'" ;;
esac

# ------------------------------------------------------------ 6. the daemons
export SW_MTA=$mta SW_SBINDIR=$sbindir SW_SYSCONFDIR=$sysconfdir SW_SOCKMAP SW_MILTER_SOCKET SW_MILTER_USER \
    SW_MILTER_GROUP SW_TRANSPORT_MAPS SW_ROUTED_GROUPS
unshare -m --propagation private bash "${BASH_SOURCE[0]}" --namespace "$T" ||
    fail "the daemons as their own users (above)"
echo "tests/install.sh: ok ($mta build)"
