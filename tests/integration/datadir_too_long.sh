# SPDX-License-Identifier: Apache-2.0
# A data dir too long for its files' paths to fit PATH_MAX is refused at
# the start with a clear message and exit 64, however it is given (the flag
# or MEDCHAIN_DATADIR), and nothing is created: no path inside it is ever
# silently shortened into another file's name.
. "$(dirname "$0")/lib.sh"

long="$T/$(printf 'd%.0s' $(seq 200))"
while [ ${#long} -lt 3900 ]; do long="$long/$(printf 'd%.0s' $(seq 200))"; done

expect_exit 64 "$MEDCHAIN_BIN" --datadir "$long" init --no-passphrase -q
grep -q -- "--datadir is too long" "$T/err" || fail "the flag: $(cat "$T/err")"
expect_exit 64 env MEDCHAIN_DATADIR="$long" "$MEDCHAIN_BIN" init --no-passphrase -q
grep -q "the data dir path is too long" "$T/err" || fail "the environment: $(cat "$T/err")"
[ -z "$(find "$T" -mindepth 1 -type d)" ] || fail "a directory was created: $(find "$T" -mindepth 1 -type d | head -3)"
ok "a data dir past the limit is refused (flag and environment), nothing created"
