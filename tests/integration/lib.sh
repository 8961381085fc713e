# Shared helpers for the integration tests: each test sources this file and
# drives the real medchain binary on a temporary data dir.
set -euo pipefail

: "${MEDCHAIN_BIN:?MEDCHAIN_BIN must name the medchain binary}"
export MEDCHAIN_KDF=${MEDCHAIN_KDF:-fast}
unset MEDCHAIN_DATADIR MEDCHAIN_PASSPHRASE_FILE
T=$(mktemp -d "${TMPDIR:-/tmp}/mc-it.XXXXXX")
D="$T/data"
cleanup() {
    local rc=$?
    jobs -p | xargs -r kill -9 2>/dev/null || true
    wait 2>/dev/null || true
    for m in "${MC_MOUNTS[@]:-}"; do [ -n "$m" ] && umount "$m" 2>/dev/null || true; done
    rm -rf "$T"
    exit $rc
}
MC_MOUNTS=()
trap cleanup EXIT

mc() { "$MEDCHAIN_BIN" --datadir "$D" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# expect_exit CODE command...: runs it, checks the exit code, keeps stderr in $T/err
expect_exit() {
    local want=$1; shift
    local got=0
    "$@" >"$T/out" 2>"$T/err" || got=$?
    if [ "$got" -ne "$want" ]; then
        echo "--- stdout"; head -c 2000 "$T/out"; echo "--- stderr"; cat "$T/err"
        fail "expected exit $want, got $got: $*"
    fi
}

init_node() { mc init --no-passphrase -q "$@"; }

height() { mc --json status | jq -r .height; }

# gen_ndjson N PREFIX: N NDJSON records of about 1 KiB, subjects PREFIX-0..9
gen_ndjson() {
    local n=$1 prefix=${2:-MRN}
    awk -v n="$n" -v p="$prefix" 'BEGIN {
        pad = sprintf("%900s", ""); gsub(/ /, "x", pad)
        for (i = 1; i <= n; i++)
            printf "{\"subject\":\"%s-%d\",\"category\":\"observation\",\"payload\":{\"resourceType\":\"Observation\",\"id\":\"obs-%d\",\"note\":\"%s\"}}\n", p, i % 10, i, pad
    }'
}
