#!/bin/bash
# tests/e2e/testca.sh - a throwaway CA and server certificates for the e2e tests.
#
# Usage: testca.sh DIR NAME...
#
# Creates in DIR (EC P-256 keys, SHA-256 signatures):
#   ca.crt, ca.key              the test CA ("spillway e2e test CA", 10 years)
#   NAME.crt, NAME.key          for each NAME: signed by the CA, valid now for
#                               a year, CN=NAME and SAN DNS:NAME
#   wrongname.crt/.key          signed by the CA, valid, SAN DNS:wrong.invalid.test
#   expired.crt/.key            the FIRST NAME, signed by the CA, valid only
#                               from 2020-01-01 to 2020-02-01
#   selfsigned.crt/.key         the FIRST NAME, valid now, self-signed (not by the CA)
#
# Idempotent: an existing CA is reused while it is valid for more than a day
# (otherwise everything is made anew), and an existing certificate is reused
# while it still matches (signed by this CA, right name, valid for more than a
# day; for expired.crt: still the first NAME).  Keys are 0600, certificates 0644.
# Only the openssl command is used.  Prints nothing on success; exits 1 with
# a message on failure.
set -euo pipefail

die() {
    echo "testca.sh: $*" >&2
    exit 1
}

(($# >= 2)) || die "usage: testca.sh DIR NAME..."
dir=$1
shift
first=$1
for n in "$@"; do
    [[ $n =~ ^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$ ]] || die "bad name: $n"
    case $n in ca | wrongname | expired | selfsigned) die "reserved name: $n" ;; esac
done
command -v openssl >/dev/null || die "openssl not found"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
exec 9>"$dir/.lock"
flock -w 20 9 || die "$dir is locked by another testca.sh"

work=$(mktemp -d "$dir/.work.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

# One throwaway config for req, x509 and ca.  $ENV:: values are read when a
# command loads the file, so each leaf gets its own SAN and validity.
export TESTCA_SAN=DNS:invalid.test
cat >"$work/openssl.cnf" <<EOF
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ leaf_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = \$ENV::TESTCA_SAN
[ self_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = \$ENV::TESTCA_SAN
[ ca ]
default_ca = testca
[ testca ]
dir = $work
database = $work/index.txt
serial = $work/serial
new_certs_dir = $work
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[ policy_any ]
commonName = supplied
EOF
: >"$work/index.txt"
export OPENSSL_CONF=$work/openssl.cnf

ossl() {
    local out
    if ! out=$(openssl "$@" 2>&1); then
        printf '%s\n' "$out" >&2
        die "openssl $1 failed"
    fi
}

newkey() { # FILE
    (umask 077 && ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.tmp")
    mv -f "$1.tmp" "$1"
}

# valid FILE : a certificate valid now and for more than a day
valid() { openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1; }

# ca_ok FILE NAME : signed by our CA, for NAME (SAN), valid for > 1 day
ca_ok() {
    [[ -f $1 && -f ${1%.crt}.key ]] && valid "$1" &&
        openssl verify -CAfile "$dir/ca.crt" -verify_hostname "$2" "$1" >/dev/null 2>&1
}

# sign BASE NAME SAN [STARTDATE ENDDATE] : new key BASE.key, BASE.crt from the CA
sign() {
    local base=$1 cn=$2 dates=(-days 365)
    (($# >= 5)) && dates=(-startdate "$4" -enddate "$5")
    newkey "$dir/$base.key"
    ossl req -new -key "$dir/$base.key" -subj "/CN=$cn" -out "$work/$base.csr"
    printf '01%s\n' "$(openssl rand -hex 8)" >"$work/serial"
    TESTCA_SAN=$3 ossl ca -batch -notext -extensions leaf_ext \
        "${dates[@]}" -in "$work/$base.csr" -out "$work/$base.crt"
    chmod 644 "$work/$base.crt"
    mv -f "$work/$base.crt" "$dir/$base.crt"
}

# -- the CA -------------------------------------------------------------------
if ! [[ -f $dir/ca.crt && -f $dir/ca.key ]] || ! valid "$dir/ca.crt"; then
    # A new CA invalidates every certificate made with the old one.
    rm -f "$dir"/*.crt "$dir"/*.key "$dir/.first"
    newkey "$dir/ca.key"
    ossl req -new -x509 -key "$dir/ca.key" -subj "/CN=spillway e2e test CA" \
        -days 3650 -sha256 -extensions ca_ext -set_serial "0x$(openssl rand -hex 8)" \
        -out "$work/ca.crt"
    chmod 644 "$work/ca.crt"
    mv -f "$work/ca.crt" "$dir/ca.crt"
fi

# -- one certificate per NAME, and a valid one with the wrong name ---------------
for n in "$@"; do
    ca_ok "$dir/$n.crt" "$n" || sign "$n" "$n" "DNS:$n"
done
ca_ok "$dir/wrongname.crt" wrong.invalid.test ||
    sign wrongname wrong.invalid.test DNS:wrong.invalid.test

# -- expired and self-signed, for the first NAME -----------------------------------
same_first=0
[[ -f $dir/.first && $(cat "$dir/.first") == "$first" ]] && same_first=1
if ! ((same_first)) || [[ ! -f $dir/expired.crt || ! -f $dir/expired.key ]] ||
    openssl x509 -in "$dir/expired.crt" -noout -checkend 0 >/dev/null 2>&1 ||
    ! openssl verify -CAfile "$dir/ca.crt" -no_check_time -verify_hostname "$first" \
        "$dir/expired.crt" >/dev/null 2>&1; then
    sign expired "$first" "DNS:$first" 20200101000000Z 20200201000000Z
fi
if ! ((same_first)) || [[ ! -f $dir/selfsigned.crt || ! -f $dir/selfsigned.key ]] ||
    ! valid "$dir/selfsigned.crt"; then
    newkey "$dir/selfsigned.key"
    TESTCA_SAN=DNS:$first ossl req -new -x509 -key "$dir/selfsigned.key" -subj "/CN=$first" \
        -days 365 -sha256 -extensions self_ext -set_serial "0x$(openssl rand -hex 8)" \
        -out "$work/selfsigned.crt"
    chmod 644 "$work/selfsigned.crt"
    mv -f "$work/selfsigned.crt" "$dir/selfsigned.crt"
fi
printf '%s\n' "$first" >"$dir/.first"
