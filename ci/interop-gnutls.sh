#!/usr/bin/env bash
# GnuTLS and p11-kit against a PKCS#11 module: p11tool generates keys and lists them;
# certtool makes a self-signed certificate with a token key; gnutls-serv serves TLS with
# the key on the token and gnutls-cli completes a verified handshake; p11-kit's RPC
# (p11-kit server + p11-kit-client.so) carries the module to p11tool, which signs with
# both keys through it. Every step is checked and bounded in time.
#
# usage: ci/interop-gnutls.sh MODULE   (pqhsm's .so or /usr/lib/softhsm/libsofthsm2.so)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=ci/lib.sh
. "$here/lib.sh"

[ $# -eq 1 ] || die "usage: $0 MODULE"
need pkcs11-tool p11tool certtool gnutls-serv gnutls-cli p11-kit timeout
setup_module_env "$1"
echo "GnuTLS / p11-kit interop: $(p11tool --version | head -1), module $MODULE"

export GNUTLS_PIN=$USER_PIN GNUTLS_SO_PIN=$SO_PIN
init_token
token_url="pkcs11:token=$TOKEN_LABEL"

step "p11tool --list-tokens" sh -c "p11tool --provider '$MODULE' --list-tokens | grep -q 'Label: $TOKEN_LABEL'"
step "p11tool --generate-ecc (P-256)" p11tool --provider "$MODULE" --login --generate-privkey=ecdsa --curve=secp256r1 \
    --label gnutls-ec --outfile "$WORK/gnutls-ec.pub" "$token_url"
step "p11tool --generate-rsa (2048)" p11tool --provider "$MODULE" --login --generate-privkey=rsa --bits=2048 \
    --label gnutls-rsa --outfile "$WORK/gnutls-rsa.pub" "$token_url"
step "p11tool --list-privkeys" sh -c "p11tool --provider '$MODULE' --login --list-privkeys '$token_url' >'$WORK/privkeys.txt'"
check "both generated keys are listed" sh -c "grep -q 'gnutls-ec' '$WORK/privkeys.txt' && grep -q 'gnutls-rsa' '$WORK/privkeys.txt'"

cat >"$WORK/cert.tmpl" <<'EOF'
cn = "localhost"
dns_name = "localhost"
expiration_days = 2
tls_www_server
ca
cert_signing_key
signing_key
encryption_key
EOF

for key in gnutls-ec gnutls-rsa; do
    key_url="$token_url;object=$key;type=private"
    step "$key: certtool self-signed certificate with the token key" certtool --provider "$MODULE" --generate-self-signed \
        --load-privkey "$key_url" --load-pubkey "$WORK/$key.pub" --template "$WORK/cert.tmpl" --outfile "$WORK/$key.crt"
    step "$key: certificate verifies" certtool --verify --load-ca-certificate "$WORK/$key.crt" --infile "$WORK/$key.crt"

    port=$(free_port)
    srvlog="$WORK/$key.server.log"
    timeout 60 gnutls-serv --provider "$MODULE" --x509keyfile "$key_url" --x509certfile "$WORK/$key.crt" \
        --port "$port" --echo >"$srvlog" 2>&1 &
    srv=$!
    BG_PIDS+=("$srv")
    wait_for_log listening "$srvlog" "$srv" "$key: gnutls-serv on port $port"
    if ! echo "ping through the token key" | timeout 30 gnutls-cli --x509cafile "$WORK/$key.crt" --port "$port" \
        localhost >"$WORK/$key.client.out" 2>&1; then
        sed 's/^/       | client: /' "$WORK/$key.client.out" >&2
        sed 's/^/       | server: /' "$srvlog" >&2
        die "$key: gnutls-cli handshake failed"
    fi
    STEPS=$((STEPS + 1))
    grep -q "Handshake was completed" "$WORK/$key.client.out" || die "$key: no completed handshake reported"
    grep -q "ping through the token key" "$WORK/$key.client.out" || die "$key: the echo did not come back"
    echo "  ok   $key: TLS handshake with gnutls-serv holding the key on the token ($(grep -m1 -o 'Description: .*' "$srvlog" || echo verified))"
    kill "$srv" 2>/dev/null || true
    wait "$srv" 2>/dev/null || true
done

# ----- p11-kit remoting: every call marshalled through p11-kit's RPC -----
client_so=$(find /usr/lib /usr/lib64 -name p11-kit-client.so 2>/dev/null | head -1)
[ -n "$client_so" ] || die "p11-kit-client.so not found (apt-get install p11-kit-modules)"
sock="$WORK/p11-kit.sock"
timeout 120 p11-kit server -f -p "$MODULE" -n "$sock" "$token_url" >"$WORK/p11kit-server.log" 2>&1 &
BG_PIDS+=("$!")
for _ in $(seq 1 100); do
    [ -S "$sock" ] && break
    sleep 0.1
done
[ -S "$sock" ] || { sed 's/^/       | /' "$WORK/p11kit-server.log" >&2; die "p11-kit server did not start"; }
export P11_KIT_SERVER_ADDRESS="unix:path=$sock"
step "p11-kit client lists the token" sh -c "p11tool --provider '$client_so' --list-tokens | grep -q 'Label: $TOKEN_LABEL'"
for key in gnutls-ec gnutls-rsa; do
    step "$key: sign and verify through p11-kit RPC (p11tool --test-sign)" \
        p11tool --provider "$client_so" --login --test-sign "$token_url;object=$key;type=private"
done

echo "GnuTLS / p11-kit interop: all $STEPS checks passed against $MODULE"
