# Shared by the interop scripts: a fresh token directory for the module under test, a
# step runner that shows the output of a failing step and stops, and token set-up with
# pkcs11-tool. Sourced, not executed. Never touches a token outside its temp directory.

SO_PIN=so-pin-24681357
USER_PIN=user-pin-13572468
TOKEN_LABEL=interop
STEP_TIMEOUT=${STEP_TIMEOUT:-180}

die() {
    echo "FAIL: $*" >&2
    exit 1
}

need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (apt-get install opensc openssl softhsm2 libengine-pkcs11-openssl gnutls-bin p11-kit)"
    done
}

# A temp dir removed on exit; the module's token store lives inside it.
# SoftHSM2 gets a softhsm2.conf there; pqhsm gets PQHSM_DATA_DIR and no PQHSM_CONF.
setup_module_env() {
    local module=$1
    [ -f "$module" ] || die "module $module not found (pqhsm: cargo build -p pqhsm-pkcs11)"
    # Absolute: p11-kit resolves a relative module path against its own module directory.
    module=$(realpath "$module")
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pqhsm-interop.XXXXXX")
    trap 'cleanup' EXIT
    case "$(basename "$module")" in
        *softhsm2*)
            IS_SOFTHSM=1
            mkdir -p "$WORK/tokens"
            printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
                "$WORK/tokens" >"$WORK/softhsm2.conf"
            export SOFTHSM2_CONF="$WORK/softhsm2.conf"
            ;;
        *)
            IS_SOFTHSM=0
            mkdir -p "$WORK/pqhsm"
            export PQHSM_DATA_DIR="$WORK/pqhsm"
            unset PQHSM_CONF
            ;;
    esac
    export MODULE=$module TOKEN_LABEL USER_PIN SO_PIN
    STEPS=0
}

# Background jobs (servers) registered here are killed on exit, by PID.
BG_PIDS=()
cleanup() {
    for pid in "${BG_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    [ -n "${WORK:-}" ] && [ -z "${KEEP_WORK:-}" ] && rm -rf "$WORK"
}

# step NAME CMD...: run CMD with a timeout; on failure print its output and exit.
step() {
    local name=$1
    shift
    STEPS=$((STEPS + 1))
    local log="$WORK/step.log"
    # bash -c, so that steps may be the shell functions below (exported).
    if timeout "$STEP_TIMEOUT" bash -c '"$@"' step "$@" >"$log" 2>&1; then
        echo "  ok   $name"
    else
        local rc=$?
        echo "  FAIL $name (exit $rc): $*" >&2
        sed 's/^/       | /' "$log" >&2
        exit 1
    fi
}

# check NAME CONDITION-CMD...: like step, for assertions (output already captured).
check() {
    local name=$1
    shift
    STEPS=$((STEPS + 1))
    if "$@"; then
        echo "  ok   $name"
    else
        die "$name"
    fi
}

p11() {
    pkcs11-tool --module "$MODULE" "$@"
}

p11_user() {
    pkcs11-tool --module "$MODULE" --token-label "$TOKEN_LABEL" --login --pin "$USER_PIN" "$@"
}
export -f p11 p11_user

# Initialise the token in the first slot (a fresh directory has one free slot) and its
# user PIN, then check the token shows up by label.
init_token() {
    step "C_InitToken (--init-token)" p11 --init-token --slot-index 0 --label "$TOKEN_LABEL" --so-pin "$SO_PIN"
    step "C_InitPIN (--init-pin)" p11 --token-label "$TOKEN_LABEL" --login --login-type so --so-pin "$SO_PIN" \
        --init-pin --pin "$USER_PIN"
    step "token listed by label" sh -c "pkcs11-tool --module '$MODULE' -L | grep -q 'token label *: $TOKEN_LABEL'"
}

# Export a public key (DER or PEM, as this OpenSC writes it) to PEM for openssl.
export_pubkey() {
    local id=$1 out=$2
    step "read public key id $id" p11 --token-label "$TOKEN_LABEL" --read-object --type pubkey --id "$id" -o "$WORK/pub-$id.raw"
    step "public key id $id parses in openssl" openssl pkey -pubin -in "$WORK/pub-$id.raw" -out "$out"
}

# EC public key to PEM from CKA_EC_POINT and CKA_EC_PARAMS as pkcs11-tool lists them.
# (OpenSC 0.23's --read-object fails on P-384/P-521 keys with "cannot create EVP_PKEY".)
export_ec_pubkey() {
    local id=$1 out=$2
    local listing="$WORK/pub-$id.txt"
    step "list public key id $id" sh -c "pkcs11-tool --module '$MODULE' --token-label '$TOKEN_LABEL' --list-objects --type pubkey --id '$id' >'$listing'"
    local point params curve found
    # This OpenSC lists every public key whatever --id says: take the block with our ID.
    found=$(awk -v id="$id" '/^Public Key Object/ {pt = ""; pa = ""}
        /EC_POINT:/ {pt = $2} /EC_PARAMS:/ {pa = $2}
        $1 == "ID:" && $2 == id {print pt, pa; exit}' "$listing")
    read -r point params <<<"$found"
    [ -n "$point" ] || die "no EC public key with id $id in the listing"
    case "$params" in
        06082a8648ce3d030107) curve=prime256v1 ;;
        06052b81040022) curve=secp384r1 ;;
        06052b81040023) curve=secp521r1 ;;
        *) die "id $id: unexpected CKA_EC_PARAMS '$params'" ;;
    esac
    # Strip the DER OCTET STRING around the point (04 len | 04 81 len), if present.
    case "$point" in
        0481*) point=${point:6} ;;
        04??04*) point=${point:4} ;;
    esac
    printf 'asn1=SEQUENCE:spki\n[spki]\nalg=SEQUENCE:alg\nkey=FORMAT:HEX,BITSTRING:%s\n[alg]\noid=OID:id-ecPublicKey\ncurve=OID:%s\n' \
        "$point" "$curve" >"$WORK/spki-$id.cnf"
    step "SPKI of id $id built" openssl asn1parse -genconf "$WORK/spki-$id.cnf" -out "$WORK/pub-$id.der" -noout
    step "public key id $id parses in openssl" openssl pkey -pubin -inform DER -in "$WORK/pub-$id.der" -out "$out"
}

# A loopback TCP port nobody listens on.
free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free loopback port"
}

# wait_for_log PATTERN LOG PID WHAT: wait (15 s at most) until a background server logs
# PATTERN; connecting to probe it could use up a one-connection server.
wait_for_log() {
    local pattern=$1 log=$2 pid=$3 what=$4
    for _ in $(seq 1 150); do
        grep -qs -i "$pattern" "$log" && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    sed 's/^/       | /' "$log" >&2
    die "$what did not come up"
}
