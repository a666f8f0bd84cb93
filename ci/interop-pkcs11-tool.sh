#!/usr/bin/env bash
# OpenSC pkcs11-tool against a PKCS#11 module, as an administrator would drive it: token
# and PIN set-up, key pairs (RSA-2048, P-256, P-384, Ed25519), signatures verified by plain
# OpenSSL, pkcs11-tool's own self-test, the mechanism list, and two pkcs11-tool processes
# generating keys on one token at once. Every step is checked; the first failure stops it.
#
# usage: ci/interop-pkcs11-tool.sh MODULE   (pqhsm's .so or /usr/lib/softhsm/libsofthsm2.so)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=ci/lib.sh
. "$here/lib.sh"

[ $# -eq 1 ] || die "usage: $0 MODULE"
need pkcs11-tool openssl timeout
setup_module_env "$1"
echo "pkcs11-tool interop: $MODULE"

step "C_GetInfo / slot list (--show-info, -L)" sh -c "pkcs11-tool --module '$MODULE' --show-info && pkcs11-tool --module '$MODULE' -L"
init_token

has_mech() {
    grep -q "^  $1[, ]" "$WORK/mechanisms.txt"
}

# ----- mechanism list -----
step "C_GetMechanismList (--list-mechanisms)" sh -c "pkcs11-tool --module '$MODULE' --token-label '$TOKEN_LABEL' -M >'$WORK/mechanisms.txt'"
required="RSA-PKCS-KEY-PAIR-GEN RSA-PKCS SHA256-RSA-PKCS RSA-PKCS-PSS SHA256-RSA-PKCS-PSS ECDSA-KEY-PAIR-GEN ECDSA
ECDH1-DERIVE EC-EDWARDS-KEY-PAIR-GEN EDDSA AES-KEY-GEN AES-CBC-PAD AES-GCM AES-KEY-WRAP SHA256-HMAC SHA256
GENERIC-SECRET-KEY-GEN"
if [ "$IS_SOFTHSM" = 0 ]; then
    required="$required ECDSA-SHA256 ECDSA-SHA384 ECDSA-SHA512 RSA-PKCS-OAEP AES-CTR AES-CMAC AES-ECB SHA384 SHA512"
fi
for m in $required; do
    check "mechanism $m listed" has_mech "$m"
done

# ----- key pairs -----
data="$WORK/data.txt"
printf 'pkcs11-tool interop test message %s\n' "$(date +%s)" >"$data"
openssl dgst -sha256 -binary "$data" >"$WORK/data.sha256"
openssl dgst -sha384 -binary "$data" >"$WORK/data.sha384"

step "keypairgen RSA:2048" p11_user --keypairgen --key-type rsa:2048 --label rsa-2048 --id 01
step "keypairgen EC:prime256v1" p11_user --keypairgen --key-type EC:prime256v1 --label ec-p256 --id 02
step "keypairgen EC:secp384r1" p11_user --keypairgen --key-type EC:secp384r1 --label ec-p384 --id 03
# OpenSC 0.23 names Ed25519 "EC:edwards25519" and sends CKA_EC_PARAMS as the printable
# string "edwards25519" (RFC 8410 OIDs came later): a module must accept both forms.
step "keypairgen EC:edwards25519" p11_user --keypairgen --key-type EC:edwards25519 --label ed25519 --id 04

export_pubkey 01 "$WORK/pub-01.pem"
export_ec_pubkey 02 "$WORK/pub-02.pem"
export_ec_pubkey 03 "$WORK/pub-03.pem"
export_pubkey 04 "$WORK/pub-04.pem"

# ----- RSA: PKCS#1 v1.5 and PSS, verified by openssl -----
step "sign SHA256-RSA-PKCS" p11_user --sign --id 01 -m SHA256-RSA-PKCS -i "$data" -o "$WORK/sig-rsa"
step "openssl verifies SHA256-RSA-PKCS" openssl dgst -sha256 -verify "$WORK/pub-01.pem" -signature "$WORK/sig-rsa" "$data"
step "token verifies SHA256-RSA-PKCS" p11_user --verify --id 01 -m SHA256-RSA-PKCS -i "$data" --signature-file "$WORK/sig-rsa"
step "sign SHA256-RSA-PKCS-PSS" p11_user --sign --id 01 -m SHA256-RSA-PKCS-PSS -i "$data" -o "$WORK/sig-pss"
step "openssl verifies SHA256-RSA-PKCS-PSS" openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 \
    -verify "$WORK/pub-01.pem" -signature "$WORK/sig-pss" "$data"
step "token verifies SHA256-RSA-PKCS-PSS" p11_user --verify --id 01 -m SHA256-RSA-PKCS-PSS -i "$data" --signature-file "$WORK/sig-pss"
echo corrupted >>"$WORK/sig-pss.bad" && cat "$WORK/sig-pss" >>"$WORK/sig-pss.bad"
check "openssl refuses a corrupted signature" sh -c "! openssl dgst -sha256 -verify '$WORK/pub-01.pem' -signature '$WORK/sig-pss.bad' '$data' >/dev/null 2>&1"

# ----- ECDSA: over the hash (CKM_ECDSA) everywhere, hash-and-sign where offered -----
for pair in "02 sha256" "03 sha384"; do
    set -- $pair
    id=$1 h=$2
    step "sign ECDSA (id $id, $h prehash)" p11_user --sign --id "$id" -m ECDSA -i "$WORK/data.$h" -o "$WORK/sig-ec-$id" --signature-format openssl
    step "openssl verifies ECDSA id $id" openssl dgst -"$h" -verify "$WORK/pub-$id.pem" -signature "$WORK/sig-ec-$id" "$data"
    step "token verifies ECDSA id $id" p11_user --verify --id "$id" -m ECDSA -i "$WORK/data.$h" --signature-file "$WORK/sig-ec-$id" --signature-format openssl
    mech="ECDSA-$(echo "$h" | tr a-z A-Z)"
    if has_mech "$mech"; then
        step "sign $mech (id $id)" p11_user --sign --id "$id" -m "$mech" -i "$data" -o "$WORK/sig-ech-$id" --signature-format openssl
        step "openssl verifies $mech id $id" openssl dgst -"$h" -verify "$WORK/pub-$id.pem" -signature "$WORK/sig-ech-$id" "$data"
    else
        echo "  note $mech not offered by this module (SoftHSM2 lacks it); CKM_ECDSA covered it"
    fi
done

# ----- Ed25519 -----
step "sign EDDSA" p11_user --sign --id 04 -m EDDSA -i "$data" -o "$WORK/sig-ed"
check "Ed25519 signature is 64 bytes" test "$(stat -c %s "$WORK/sig-ed")" -eq 64
step "openssl verifies Ed25519" openssl pkeyutl -verify -pubin -inkey "$WORK/pub-04.pem" -rawin -in "$data" -sigfile "$WORK/sig-ed"
step "token verifies Ed25519" p11_user --verify --id 04 -m EDDSA -i "$data" --signature-file "$WORK/sig-ed"

# ----- pkcs11-tool's self-test -----
selftest_log="$WORK/selftest.txt"
if timeout "$STEP_TIMEOUT" pkcs11-tool --module "$MODULE" --token-label "$TOKEN_LABEL" --test --login --pin "$USER_PIN" >"$selftest_log" 2>&1; then
    echo "  ok   pkcs11-tool --test --login"
elif [ "$IS_SOFTHSM" = 1 ] && grep -q "RSA-PKCS-OAEP" "$selftest_log" && grep -q "CKR_ARGUMENTS_BAD" "$selftest_log"; then
    echo "  note pkcs11-tool --test stops at SoftHSM2's refusal of OAEP with SHA-256 (a SoftHSM2 limit)"
else
    sed 's/^/       | /' "$selftest_log" >&2
    die "pkcs11-tool --test --login"
fi
STEPS=$((STEPS + 1))

# ----- two processes on one token at once -----
gen_many() {
    local who=$1
    for i in 1 2 3 4 5; do
        pkcs11-tool --module "$MODULE" --token-label "$TOKEN_LABEL" --login --pin "$USER_PIN" \
            --keypairgen --key-type EC:prime256v1 --label "par-$who-$i" --id "$(printf '%s%02d' "$who" "$i")" \
            >"$WORK/par-$who-$i.log" 2>&1 || { cat "$WORK/par-$who-$i.log" >&2; return 1; }
    done
}
gen_many a1 &
pid_a=$!
gen_many b2 &
pid_b=$!
rc_a=0 rc_b=0
wait "$pid_a" || rc_a=$?
wait "$pid_b" || rc_b=$?
check "parallel pkcs11-tool process A generated its keys" test "$rc_a" -eq 0
check "parallel pkcs11-tool process B generated its keys" test "$rc_b" -eq 0
step "list private keys" sh -c "pkcs11-tool --module '$MODULE' --token-label '$TOKEN_LABEL' --login --pin '$USER_PIN' --list-objects --type privkey >'$WORK/privkeys.txt'"
n=$(grep -c 'label: *par-' "$WORK/privkeys.txt" || true)
check "all 10 keys of the two processes are on the token (found $n)" test "$n" -eq 10
for who in a1 b2; do
    id=$(printf '%s%02d' "$who" 3)
    export_ec_pubkey "$id" "$WORK/pub-$id.pem"
    step "sign with key made by process $who" p11_user --sign --id "$id" -m ECDSA -i "$WORK/data.sha256" -o "$WORK/sig-$id" --signature-format openssl
    step "openssl verifies it" openssl dgst -sha256 -verify "$WORK/pub-$id.pem" -signature "$WORK/sig-$id" "$data"
done

echo "pkcs11-tool interop: all $STEPS checks passed against $MODULE"
