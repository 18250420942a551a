#!/bin/bash
# tests/package.sh - the Debian packages (debian/): built, linted, and
# installed for real without touching this machine.  Both builds: the
# package spillway (Postfix) and, with the build profile
# pkg.spillway.sendmail, spillway-sendmail (Sendmail; no tmpfiles.d, no
# directory under /var/spool/postfix).
#
#   1. dpkg-buildpackage -us -uc -b in a copy of the source tree (the files
#      git tracks, as they are in the working tree), so the checkout gets no
#      build files; debian/changelog's version is configure.ac's AC_INIT;
#   2. lintian on the .changes (the .deb and its -dbgsym): an error or a
#      warning fails (fix it, or override it here with the reason);
#      informational tags are listed;
#   3. dpkg-deb -c: exactly the expected files (programs, man pages, units,
#      sysusers.d, tmpfiles.d, the example configuration, bash completion,
#      docs); the conffiles are /etc/spillway/spillway.conf and
#      patterns.conf; the units name /usr/sbin; dpkg -x of the .deb gives
#      programs that run (spillwayctl --help, spillway-report);
#   4. a real "dpkg -i" with its maintainer scripts, in a throwaway copy of
#      this machine: an overlay of / whose writes go to a tmpfs, in a
#      private mount namespace, entered with chroot.  Nothing reaches the
#      real /etc/passwd, /var/lib/dpkg or systemd (the overlay's /run is
#      empty: no systemd is running there, so no unit is started).  It is
#      the honest check that the postinst makes the users and directories:
#      "dpkg --root" would run the scripts against the host, and dpkg -x
#      runs none.  Checked: the package is installed, spillway and
#      spillway-milter exist as system users, the socket directories have
#      their owners and modes, "spillway-routed -n" and "spillway-milter -n"
#      accept the installed example, "dpkg -i" again (upgrade) works,
#      "dpkg --purge" removes the conffiles and the directories.  Done twice:
#      with systemd-sysusers and systemd-tmpfiles, and with both removed
#      (the postinst's adduser and install -d path; Postfix package only,
#      the Sendmail one's postinst has the same adduser lines).
#
# Needs root (mount namespace, chroot), dpkg-dev, debhelper, lintian,
# fakeroot, git.  About two minutes.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}
ok() { printf 'ok: %s\n' "$*"; }

# ------------------------------------------------------------ 4 (inside the namespace)
# "package.sh --overlay T DEB MODE PKG": in unshare -m, run by the outer part.
if [[ ${1:-} == --overlay ]]; then
    T=$2 DEB=$3 MODE=$4 PKG=$5
    O=$T/ovl-$MODE-$PKG
    mkdir -p "$O"
    mount -t tmpfs -o mode=755 tmpfs "$O"
    mkdir -p "$O/up" "$O/work" "$O/root"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$O/up,workdir=$O/work" "$O/root"
    M=$O/root
    mount -t proc proc "$M/proc"
    mount --bind /dev "$M/dev"
    # An empty /run and /tmp: no systemd, no host sockets.
    mount -t tmpfs -o mode=755 tmpfs "$M/run"
    mount -t tmpfs -o mode=1777 tmpfs "$M/tmp"
    cp "$DEB" "$M/tmp/spillway.deb"
    in_root() { chroot "$M" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
    # The copy must not have spillway already (a machine where it was
    # installed by hand), and the host's users must not leak in.
    in_root sh -c '! dpkg -s spillway >/dev/null 2>&1 && ! dpkg -s spillway-sendmail >/dev/null 2>&1 &&
        ! getent passwd spillway >/dev/null' ||
        fail "[$MODE] this machine has spillway installed or a spillway user: the test needs a clean one"
    if [[ $MODE == adduser ]]; then
        rm -f "$M/usr/bin/systemd-sysusers" "$M/bin/systemd-sysusers" "$M/usr/bin/systemd-tmpfiles" "$M/bin/systemd-tmpfiles"
        in_root sh -c '! command -v systemd-sysusers && ! command -v systemd-tmpfiles' >/dev/null ||
            fail "[$MODE] systemd-sysusers or systemd-tmpfiles still found"
    fi
    in_root dpkg -i /tmp/spillway.deb >"$T/dpkg-$MODE.log" 2>&1 || fail "[$MODE] dpkg -i: $(cat "$T/dpkg-$MODE.log")"
    [[ $(in_root dpkg-query -W -f='${Status}' "$PKG") == "install ok installed" ]] ||
        fail "[$MODE] not installed: $(in_root dpkg-query -W -f='${Status}' "$PKG")"
    for u in spillway spillway-milter; do
        line=$(in_root getent passwd "$u") || fail "[$MODE] the postinst made no user $u: $(cat "$T/dpkg-$MODE.log")"
        IFS=: read -r _ _ uid gid _ home shell <<<"$line"
        ((uid < 1000)) || fail "[$MODE] $u is not a system user (uid $uid)"
        [[ $home == /nonexistent && $shell == */nologin ]] || fail "[$MODE] $u: home $home, shell $shell"
        [[ $(in_root getent group "$u" | cut -d: -f3) == "$gid" ]] || fail "[$MODE] no group $u ($gid)"
    done
    if [[ $PKG == spillway ]]; then
        for want in "spillway 750 spillway postfix" "spillway-milter 2750 spillway-milter postfix"; do
            read -r d mode owner group <<<"$want"
            got=$(in_root stat -c '%a %U %G' "/var/spool/postfix/$d") || fail "[$MODE] no /var/spool/postfix/$d"
            [[ $got == "$mode $owner $group" ]] || fail "[$MODE] /var/spool/postfix/$d is '$got', want '$mode $owner $group'"
        done
        ok "[$MODE] dpkg -i $PKG: users spillway and spillway-milter, /var/spool/postfix/spillway 0750 spillway:postfix, spillway-milter 2750 spillway-milter:postfix"
    else
        # Sendmail: the sockets are in the units' RuntimeDirectory=.
        [[ ! -e $M/var/spool/postfix/spillway && ! -e $M/var/spool/postfix/spillway-milter ]] ||
            fail "[$MODE] $PKG made directories under /var/spool/postfix"
        grep -q '^    mta = "sendmail";' "$M/etc/spillway/spillway.conf" || fail "[$MODE] $PKG's example is not Sendmail's"
        ok "[$MODE] dpkg -i $PKG: users spillway and spillway-milter, nothing under /var/spool/postfix, the Sendmail example"
    fi
    conffiles=$(in_root dpkg-query -W -f='${Conffiles}' "$PKG" | awk 'NF {print $1}' | sort | xargs)
    [[ $conffiles == "/etc/spillway/patterns.conf /etc/spillway/spillway.conf" ]] ||
        fail "[$MODE] conffiles: $conffiles"
    in_root spillway-routed -n >"$T/n-$MODE.log" 2>&1 || fail "[$MODE] spillway-routed -n on the installed example: $(cat "$T/n-$MODE.log")"
    # The milter's tag key, made as README.md says (the administrator's step).
    in_root sh -c 'umask 027 && printf "k1 %s\n" "$(openssl rand -hex 32)" >/etc/spillway/tag.keys &&
        chgrp spillway-milter /etc/spillway/tag.keys' || fail "[$MODE] cannot make the tag key"
    in_root spillway-milter -n >"$T/mn-$MODE.log" 2>&1 || fail "[$MODE] spillway-milter -n on the installed example: $(cat "$T/mn-$MODE.log")"
    in_root bash -c '. /usr/share/bash-completion/completions/spillwayctl && complete -p spillwayctl' >/dev/null ||
        fail "[$MODE] the installed completion does not register for spillwayctl"
    ok "[$MODE] conffiles $conffiles; spillway-routed -n and spillway-milter -n accept /etc/spillway/spillway.conf"
    in_root dpkg -i /tmp/spillway.deb >"$T/dpkg2-$MODE.log" 2>&1 || fail "[$MODE] dpkg -i again: $(cat "$T/dpkg2-$MODE.log")"
    in_root dpkg --purge "$PKG" >"$T/purge-$MODE.log" 2>&1 || fail "[$MODE] dpkg --purge: $(cat "$T/purge-$MODE.log")"
    for f in /etc/spillway/spillway.conf /usr/sbin/spillway-routed /var/lib/spillway /var/spool/postfix/spillway /var/spool/postfix/spillway-milter; do
        [[ ! -e $M$f ]] || fail "[$MODE] left after dpkg --purge: $f"
    done
    ok "[$MODE] dpkg -i again (upgrade) and dpkg --purge work; purge removes the conffiles and socket directories"
    exit 0
fi

# ------------------------------------------------------------ the outer part
[[ $(id -u) == 0 ]] || { echo "SKIP: tests/package.sh needs root (mount namespace, chroot)"; exit 77; }
for tool in dpkg-buildpackage dh lintian fakeroot git unshare chroot; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/check installs it)"
done
git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 || fail "$SRC is not a git checkout (the copy is made from git ls-files)"

T=$(mktemp -d /tmp/sw-package.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT

version=$(sed -n 's/^AC_INIT(\[spillway\], \[\([^]]*\)\].*/\1/p' "$SRC/configure.ac")
[[ -n $version ]] || fail "no version in configure.ac's AC_INIT"
arch=$(dpkg --print-architecture)
B=$T/spillway-$version
mkdir -p "$B"
(cd "$SRC" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$B"
[[ -f $B/debian/control ]] || fail "no debian/control in the copy (is debian/ committed?)"
deb_version=$(cd "$B" && dpkg-parsechangelog -S Version)
[[ $deb_version == "$version" ]] || fail "debian/changelog's version $deb_version is not configure.ac's $version"

# The files of the Postfix package; the Sendmail one has no tmpfiles.d
# file and its own doc directory.
files_postfix=$(sort <<'EOF'
/etc/spillway/patterns.conf
/etc/spillway/spillway.conf
/lib/systemd/system/spillway-milter.service
/lib/systemd/system/spillway-routed.service
/usr/lib/sysusers.d/spillway.conf
/usr/lib/tmpfiles.d/spillway.conf
/usr/sbin/spillway-milter
/usr/sbin/spillway-report
/usr/sbin/spillway-routed
/usr/sbin/spillwayctl
/usr/share/bash-completion/completions/spillwayctl
/usr/share/doc/spillway/changelog.gz
/usr/share/doc/spillway/copyright
/usr/share/doc/spillway/examples/patterns.conf
/usr/share/doc/spillway/examples/postfix-main.cf
/usr/share/doc/spillway/examples/postfix-master.cf
/usr/share/doc/spillway/examples/sendmail.mc
/usr/share/doc/spillway/examples/spillway.conf
/usr/share/man/man5/spillway.conf.5.gz
/usr/share/man/man8/spillway-milter.8.gz
/usr/share/man/man8/spillway-report.8.gz
/usr/share/man/man8/spillway-routed.8.gz
/usr/share/man/man8/spillwayctl.8.gz
EOF
)

# check_package MTA : steps 1 to 4 for the package of that MTA
check_package() {
    local mta=$1 pkg=spillway profile='' want
    want=$files_postfix
    if [[ $mta == sendmail ]]; then
        pkg=spillway-sendmail profile=pkg.spillway.sendmail
        want=$(grep -v tmpfiles.d <<<"$files_postfix" | sed 's|/doc/spillway/|/doc/spillway-sendmail/|' | sort)
    fi
    # -------------------------------------------------------- 1. build
    (cd "$B" && DEB_BUILD_PROFILES=$profile DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
        >"$T/build-$mta.log" 2>&1 || { tail -40 "$T/build-$mta.log"; fail "dpkg-buildpackage -us -uc -b ($mta)"; }
    local deb=$T/${pkg}_${version}_$arch.deb changes=$T/spillway_${version}_$arch.changes
    [[ -f $deb && -f $changes ]] || fail "no $deb or $changes: $(ls "$T")"
    ok "dpkg-buildpackage -us -uc -b${profile:+ (profile $profile)}: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB), version $version as in configure.ac"

    # -------------------------------------------------------- 2. lintian
    # Overridden: bogus-mail-host, bogus-mail-host-in-debian-changelog: the
    # maintainer is the project's own address (spillway@localhost); the
    # package is built by its users, never uploaded to Debian's archive.
    local rc=0
    lintian --pedantic -I --fail-on error,warning --suppress-tags bogus-mail-host,bogus-mail-host-in-debian-changelog \
        "$changes" >"$T/lintian-$mta.log" 2>&1 || rc=$?
    grep -v 'running with root privileges' "$T/lintian-$mta.log" | sed 's/^/  lintian: /' || true
    ((rc != 1)) || fail "lintian reports errors or warnings (above): fix them, or override them here with the reason"
    ((rc == 0)) || fail "lintian failed (exit $rc)"
    ok "lintian $pkg: no error, no warning ($(grep -c '^I: ' "$T/lintian-$mta.log" || true) informational tags)"

    # -------------------------------------------------------- 3. contents
    local got conffiles X=$T/extract-$mta u m out
    got=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | sort)
    if [[ $got != "$want" ]]; then
        diff <(echo "$want") <(echo "$got") | sed 's/^/  /' >&2 || true
        fail "dpkg-deb -c $pkg: the file list differs from the expected one ('<' expected, '>' in the package)"
    fi
    conffiles=$(dpkg-deb -I "$deb" conffiles | sort | xargs)
    [[ $conffiles == "/etc/spillway/patterns.conf /etc/spillway/spillway.conf" ]] || fail "conffiles: $conffiles"
    dpkg -x "$deb" "$X"
    for u in routed milter; do
        grep -qx "ExecStart=/usr/sbin/spillway-$u" "$X/lib/systemd/system/spillway-$u.service" ||
            fail "spillway-$u.service: $(grep ExecStart= "$X/lib/systemd/system/spillway-$u.service")"
    done
    grep -qx 'classify: { patterns = "/etc/spillway/patterns.conf"; };' "$X/etc/spillway/spillway.conf" ||
        fail "the packaged example does not name /etc/spillway/patterns.conf"
    "$X/usr/sbin/spillwayctl" --help >"$T/help.txt" || fail "spillwayctl --help (from dpkg -x) failed"
    grep -q '^usage: spillwayctl' "$T/help.txt" || fail "spillwayctl --help: $(head -2 "$T/help.txt")"
    "$X/usr/sbin/spillway-report" /dev/null >/dev/null || fail "spillway-report (from dpkg -x) failed"
    for m in man5/spillway.conf.5 man8/spillway-routed.8 man8/spillway-milter.8 man8/spillwayctl.8 man8/spillway-report.8; do
        out=$(zcat "$X/usr/share/man/$m.gz" | LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l - 2>&1 >/dev/null) ||
            fail "man $m does not render"
        [[ -z $out ]] || fail "man $m: $out"
    done
    ok "dpkg-deb -c $pkg: the $(wc -l <<<"$got") expected files; conffiles $conffiles; units name /usr/sbin; programs and man pages work"

    # -------------------------------------------------------- 4. dpkg -i in an overlay
    local modes=(systemd adduser) mode
    # The Sendmail package's postinst has the same adduser path: once.
    [[ $mta == sendmail ]] && modes=(systemd)
    for mode in "${modes[@]}"; do
        unshare -m --propagation private bash "$SRC/tests/package.sh" --overlay "$T" "$deb" "$mode" "$pkg" ||
            fail "installing $pkg ($mode)"
    done
}

check_package postfix
check_package sendmail
ok "both packages build, lint clean and install"
