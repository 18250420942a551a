# shellcheck shell=bash
# tests/e2e/passes.sh - run one e2e script once per wiring, each pass in its
# own process (own work directory, ports and Postfix instance).
#
# e2e_passes SCRIPT "WIRING CHROOT BASE"... : runs "SCRIPT --pass WIRING BASE"
# with PF_CHROOT=CHROOT for each triple, then prints "NAME: ok (Ns)".
e2e_passes() {
    local script=$1 name pass wiring chroot base start=$SECONDS
    shift
    name=$(basename "$script" .sh)
    [[ $(id -u) == 0 ]] || { echo "$name: must run as root" >&2; exit 1; }
    for pass in "$@"; do
        read -r wiring chroot base <<<"$pass"
        PF_CHROOT=$chroot bash "$script" --pass "$wiring" "$base"
    done
    echo "$name: ok ($((SECONDS - start))s)"
}
