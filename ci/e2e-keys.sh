#!/usr/bin/env bash
# Key management end to end through the `pqhsm` CLI on a fresh token: an ML-DSA-65 key
# signs a file, rotates, the old signature verifies with v1 and a new one with v2, signing
# with v1 is refused; retire, archive, schedule deletion, cancel, delete after the grace
# period (the CLI's test clock), `audit verify` passes; then one audit row edited in the
# database makes it fail. Exits non-zero on the first step that does not behave.
#
# Usage: ci/e2e-keys.sh [path/to/pqhsm]   (default: target/debug/pqhsm, built if missing)
# Editing the row uses the sqlite3 tool, else Python's sqlite3 module.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
pqhsm=${1:-$target/debug/pqhsm}
if [ ! -x "$pqhsm" ]; then
    (cd "$root" && cargo build --bin pqhsm)
fi
pqhsm=$(realpath "$pqhsm")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pqhsm-e2e-keys.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export PQHSM_DATA_DIR="$WORK/data"
export PQHSM_CONF="$WORK/pqhsm.toml"
export PQHSM_SO_PIN=e2e-so-pin-9753
export PQHSM_PIN=e2e-user-pin-8642
unset PQHSM_INSECURE_TEST_NOW PQHSM_INSECURE_TEST_CLOCK
# Cheap PIN derivation: this token lives for one run.
printf '[kdf]\nmemory_kib = 256\niterations = 1\nparallelism = 1\n' >"$PQHSM_CONF"

die() {
    echo "FAIL: $*" >&2
    exit 1
}
step() { echo "== $*"; }
run() {
    local out
    if ! out=$("$pqhsm" "$@" 2>&1); then
        echo "$out" >&2
        die "pqhsm $* failed"
    fi
    [ -z "$out" ] || echo "$out" | sed 's/^/   /'
}
# refuse CODE ERR_KMS_NNN pqhsm-args...: the command must fail with that exit code and code.
refuse() {
    local want=$1 kms=$2 out status
    shift 2
    set +e
    out=$("$pqhsm" "$@" 2>&1)
    status=$?
    set -e
    [ "$status" = "$want" ] || die "pqhsm $* exited $status, expected $want: $out"
    case "$out" in *"$kms"*) ;; *) die "pqhsm $* did not say $kms: $out" ;; esac
    echo "   refused as expected: $out"
}
# at WHEN pqhsm-args...: run with the CLI's test clock at WHEN (e.g. +8d).
at() {
    local when=$1
    shift
    PQHSM_INSECURE_TEST_NOW="$when" \
        PQHSM_INSECURE_TEST_CLOCK=yes-expiry-and-deletion-follow-a-fake-clock run "$@"
}
state_of() { "$pqhsm" keys show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
version_states() {
    "$pqhsm" keys versions "$1" --json |
        python3 -c 'import json,sys; print(" ".join("v%d=%s" % (v["version"], v["state"]) for v in json.load(sys.stdin)))'
}
expect() { [ "$1" = "$2" ] || die "$3: got '$1', expected '$2'"; }

step "token"
run token init --label e2e

step "generate an ML-DSA-65 key and sign a file"
run keys generate docs --type signing --algorithm ml-dsa-65
printf 'contract text\n' >contract.txt
run sign --key docs --in contract.txt --out contract.v1.sig

step "rotate: v2 active, v1 retired"
run keys rotate docs
expect "$(version_states docs)" "v1=retired v2=active" "versions after rotation"
run sign --key docs --in contract.txt --out contract.v2.sig

step "the old signature verifies with v1, the new one with v2"
run verify --key docs --version 1 --in contract.txt --signature contract.v1.sig
run verify --key docs --version 2 --in contract.txt --signature contract.v2.sig
refuse 1 ERR_KMS_009 verify --key docs --version 1 --in contract.txt --signature contract.v2.sig

step "signing with v1 is refused"
refuse 2 ERR_KMS_006 sign --key docs --version 1 --in contract.txt --out never.sig

step "retire: v1 stays retired, the only active version cannot be retired"
run keys retire docs --version 1
refuse 2 ERR_KMS_005 keys retire docs --version 2

step "archive v1: it no longer verifies"
run keys archive docs --version 1
expect "$(version_states docs)" "v1=archived v2=active" "versions after archiving"
refuse 2 ERR_KMS_006 verify --key docs --version 1 --in contract.txt --signature contract.v1.sig

step "schedule deletion: nothing signs meanwhile"
run keys delete docs --grace 7d
expect "$(state_of docs)" pending-deletion "state after scheduling"
refuse 2 ERR_KMS_006 sign --key docs --in contract.txt --out never.sig

step "cancel the deletion: the key works again"
run keys cancel-delete docs
expect "$(state_of docs)" enabled "state after cancelling"
run sign --key docs --in contract.txt --out contract.v2b.sig

step "delete after the grace period (test clock)"
run keys delete docs --grace 7d
at +6d daemon --once
expect "$(state_of docs)" pending-deletion "state before the grace period ends"
PQHSM_INSECURE_TEST_NOW=+8d PQHSM_INSECURE_TEST_CLOCK=yes-expiry-and-deletion-follow-a-fake-clock \
    refuse 2 ERR_KMS_007 keys cancel-delete docs
at +8d daemon --once
expect "$(state_of docs)" deleted "state after the grace period"
expect "$(version_states docs)" "v1=destroyed v2=destroyed" "versions after deletion"
refuse 2 ERR_KMS_004 keys generate docs --type signing --algorithm ml-dsa-65

step "audit verify passes"
run audit list
run audit verify

step "edit one audit row in the database: audit verify fails"
db=$(ls "$PQHSM_DATA_DIR"/tokens/*/token.sqlite)
edit="UPDATE audit SET entry = CAST(replace(CAST(entry AS TEXT), '\"rotate\"', '\"revoke\"') AS BLOB) WHERE seq = 2"
if command -v sqlite3 >/dev/null; then
    sqlite3 "$db" "$edit"
    changed=$(sqlite3 "$db" "SELECT count(*) FROM audit WHERE CAST(entry AS TEXT) LIKE '%\"revoke\"%'")
else
    echo "   (sqlite3 not installed: editing with Python's sqlite3 module)"
    changed=$(python3 - "$db" "$edit" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute(sys.argv[2])
c.commit()
print(c.execute("SELECT count(*) FROM audit WHERE CAST(entry AS TEXT) LIKE '%\"revoke\"%'").fetchone()[0])
EOF
)
fi
expect "$changed" 1 "edited rows"
refuse 3 ERR_KMS_011 audit verify

echo "e2e-keys: OK"
