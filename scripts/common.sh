# shellcheck shell=bash
# scripts/common.sh - shared by scripts/check and scripts/demo: install what
# is missing on Debian 12, and build spillway out of tree.

SW_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

# Debian packages: build, tests (a real Postfix, relays, fuzzing), demo.
SW_DEPS=(
    gcc make autoconf automake libtool pkg-config
    libconfig-dev libc-ares-dev libssl-dev libevent-dev libmilter-dev libcmocka-dev libpcre2-dev
    postfix postfix-lmdb postfix-cdb postfix-pcre
    swaks python3 util-linux clang libclang-rt-14-dev miltertest libsisimai-perl openssl
    libmail-deliverystatus-bounceparser-perl
    python3-dnslib m4 systemd libsystemd-dev systemd-journal-remote
    redis-server redis-sentinel libhiredis-dev
    dpkg-dev debhelper dh-autoreconf fakeroot lintian git
)

say() { printf '==> %s\n' "$*" >&2; }

# sw_install_deps : apt-get install whatever is missing (root on Debian only)
sw_install_deps() {
    local missing=() p
    for p in "${SW_DEPS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    ((${#missing[@]} == 0)) && { say "dependencies: all installed"; return 0; }
    if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
        say "missing packages: ${missing[*]} (run as root on Debian 12 to install them)"
        return 1
    fi
    say "installing: ${missing[*]}"
    # Postfix: no system configuration; spillway's tests run private instances.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# sw_build DIR [CONFIGURE-ARGS...] : autoreconf once, configure and make in DIR
sw_build() {
    local dir=$1
    shift
    if [[ -f $SW_TOP/config.status ]]; then
        # Autotools cannot build out of tree from a configured source tree,
        # and cleaning a developer's own build behind their back is rude.
        say "$SW_TOP is configured in place (config.status): run 'make distclean' there first"
        return 1
    fi
    if [[ ! -x $SW_TOP/configure || $SW_TOP/configure.ac -nt $SW_TOP/configure ||
        $SW_TOP/Makefile.am -nt $SW_TOP/Makefile.in ]]; then
        say "autoreconf"
        (cd "$SW_TOP" && autoreconf -fi >/dev/null 2>&1) || { say "autoreconf failed"; return 1; }
    fi
    mkdir -p "$dir"
    # Reconfigure when the options or configure changed.
    if [[ ! -f $dir/config.status || "$*" != "$(cat "$dir/.sw-configure-args" 2>/dev/null)" ||
        $SW_TOP/configure -nt $dir/config.status ]]; then
        say "configure $*"
        (cd "$dir" && "$SW_TOP/configure" -q "$@") || { say "configure failed"; return 1; }
        printf '%s' "$*" >"$dir/.sw-configure-args"
    fi
    say "make"
    make -C "$dir" -j"$(nproc)" >"$dir/make.log" 2>&1 || { tail -n 40 "$dir/make.log" >&2; return 1; }
    if grep -E 'warning:' "$dir/make.log" >&2; then
        say "the build has warnings (see above)"
        return 1
    fi
}
