#!/usr/bin/env bash
# OpenSSL through libengine-pkcs11-openssl (engine "pkcs11", libp11) against a PKCS#11
# module: sign with token keys named by pkcs11: URIs and verify with plain OpenSSL from
# the exported public key; a self-signed certificate made with a token key; a TLS server
# (s_server) whose private key stays on the token, and a client handshake with it, for an
# RSA key (TLS 1.3 RSA-PSS) and a P-256 key. Every step is checked and bounded in time.
#
# usage: ci/interop-openssl.sh MODULE   (pqhsm's .so or /usr/lib/softhsm/libsofthsm2.so)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=ci/lib.sh
. "$here/lib.sh"

[ $# -eq 1 ] || die "usage: $0 MODULE"
need pkcs11-tool openssl timeout
setup_module_env "$1"
echo "OpenSSL interop: $(openssl version), engine pkcs11, module $MODULE"

engine_dir=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
[ -f "$engine_dir/pkcs11.so" ] || die "libengine-pkcs11-openssl is not installed ($engine_dir/pkcs11.so missing)"

cat >"$WORK/openssl.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $engine_dir/pkcs11.so
MODULE_PATH = $MODULE
init = 0
[req]
distinguished_name = dn
[dn]
EOF
export OPENSSL_CONF="$WORK/openssl.cnf"

init_token
step "keypairgen RSA:2048 (tls-rsa)" p11_user --keypairgen --key-type rsa:2048 --label tls-rsa --id 11
step "keypairgen EC:prime256v1 (tls-ec)" p11_user --keypairgen --key-type EC:prime256v1 --label tls-ec --id 12
step "engine loads" sh -c "openssl engine -t pkcs11 | grep -q available"

uri() {
    echo "pkcs11:token=$TOKEN_LABEL;object=$1;type=$2;pin-value=$USER_PIN"
}

data="$WORK/data.txt"
printf 'OpenSSL engine interop %s\n' "$(date +%s)" >"$data"

for key in tls-rsa tls-ec; do
    pub="$WORK/$key.pub.pem"
    step "$key: public key through the engine" openssl pkey -engine pkcs11 -inform engine -in "$(uri "$key" public)" -pubout -out "$pub"
    step "$key: openssl dgst -sign with the token key" openssl dgst -engine pkcs11 -keyform engine -sign "$(uri "$key" private)" \
        -sha256 -out "$WORK/$key.sig" "$data"
    step "$key: plain openssl verifies" openssl dgst -sha256 -verify "$pub" -signature "$WORK/$key.sig" "$data"
    openssl dgst -sha256 -binary "$data" >"$WORK/$key.digest"
    step "$key: openssl pkeyutl -sign with the token key" openssl pkeyutl -engine pkcs11 -keyform engine -inkey "$(uri "$key" private)" \
        -sign -in "$WORK/$key.digest" -out "$WORK/$key.pkeyutl.sig" -pkeyopt digest:sha256
    step "$key: plain openssl pkeyutl verifies" openssl pkeyutl -verify -pubin -inkey "$pub" -in "$WORK/$key.digest" \
        -sigfile "$WORK/$key.pkeyutl.sig" -pkeyopt digest:sha256
done
step "tls-rsa: RSA-PSS signature through the engine" openssl dgst -engine pkcs11 -keyform engine -sign "$(uri tls-rsa private)" \
    -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -out "$WORK/pss.sig" "$data"
step "tls-rsa: plain openssl verifies RSA-PSS" openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
    -verify "$WORK/tls-rsa.pub.pem" -signature "$WORK/pss.sig" "$data"

# One TLS handshake: s_server with the token key, s_client trusting the self-signed cert.
tls_handshake() {
    local key=$1 tls=$2
    local cert="$WORK/$key.crt" port srvlog="$WORK/$key-$tls.server.log" clilog="$WORK/$key-$tls.client.log"
    port=$(free_port)
    timeout 60 openssl s_server -engine pkcs11 -keyform engine -key "$(uri "$key" private)" -cert "$cert" \
        -accept "127.0.0.1:$port" -naccept 1 -"$tls" -www >"$srvlog" 2>&1 &
    local srv=$!
    BG_PIDS+=("$srv")
    wait_for_log '^ACCEPT' "$srvlog" "$srv" "$key: s_server on port $port"
    if ! printf 'GET / HTTP/1.0\r\n\r\n' | timeout 30 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
        -CAfile "$cert" -verify_return_error -"$tls" -ign_eof >"$clilog" 2>&1; then
        sed 's/^/       | client: /' "$clilog" >&2
        sed 's/^/       | server: /' "$srvlog" >&2
        die "$key: TLS ($tls) handshake failed"
    fi
    STEPS=$((STEPS + 1))
    grep -q "Verify return code: 0 (ok)" "$clilog" || die "$key: the client did not verify the server certificate"
    grep -q "HTTP/1.0 200 ok" "$clilog" || die "$key: no HTTP answer through the TLS channel"
    local cipher
    cipher=$(sed -n 's/.*Cipher is \(.*\)$/\1/p' "$clilog" | head -1)
    [ -n "$cipher" ] && [ "$cipher" != "(NONE)" ] || die "$key: no cipher negotiated"
    echo "  ok   $key: TLS ($tls) handshake with the key on the token, cipher $cipher"
    kill "$srv" 2>/dev/null || true
    wait "$srv" 2>/dev/null || true
}

for key in tls-rsa tls-ec; do
    step "$key: self-signed certificate with the token key (openssl req)" openssl req -new -x509 -engine pkcs11 -keyform engine \
        -key "$(uri "$key" private)" -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" -days 2 -sha256 \
        -out "$WORK/$key.crt"
    step "$key: certificate verifies with plain openssl" openssl verify -CAfile "$WORK/$key.crt" "$WORK/$key.crt"
    step "$key: certificate carries the token's public key" sh -c \
        "test \"\$(openssl x509 -in '$WORK/$key.crt' -pubkey -noout)\" = \"\$(cat '$WORK/$key.pub.pem')\""
    tls_handshake "$key" tls1_3
    tls_handshake "$key" tls1_2
done

echo "OpenSSL interop: all $STEPS checks passed against $MODULE"
