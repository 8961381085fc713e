# SPDX-License-Identifier: Apache-2.0
# Our signer and JSON-RPC client against a real Ethereum node: anvil on
# 127.0.0.1 (from npm, installed by tools/install-deps) mines the
# transaction we sign, and cast, independently of our code, reads back the
# same calldata. A stopped node is EX_UNAVAILABLE.
. "$(dirname "$0")/lib.sh"

start_anvil
CHECK="$(dirname "$MEDCHAIN_BIN")/tests/bridge_check"

out=$("$CHECK" "$URL") || fail "sending our signed transaction"
tx=$(echo "$out" | sed -n 's/.* tx \(0x[0-9a-f]*\)$/\1/p')
[ -n "$tx" ] || fail "no transaction hash"
echo "$out" | grep -q "^chain 31337 nonce 0 " || fail "chain id and nonce from the node"
status=$("$CAST" receipt "$tx" --json --rpc-url "$URL" | jq -r .status)
[ "$status" = "0x1" ] || fail "the transaction was mined with status 1 (got $status)"
input=$("$CAST" tx "$tx" input --rpc-url "$URL")
want="0x4d444331$(for i in $(seq 4 47); do printf '%02x' "$i"; done)"
[ "$input" = "$want" ] || fail "cast reads back our calldata ($input)"
"$CHECK" "$URL" | grep -q " nonce 1 " || fail "the next transaction takes the next nonce"
ok "anvil mined our signed EIP-1559 tx; cast reads the same calldata"

stop_anvil
code=0
"$CHECK" "$URL" 2>"$T/err" || code=$?
[ "$code" -eq 69 ] || fail "a stopped node is EX_UNAVAILABLE (got $code)"
grep -q "cannot reach the node" "$T/err" || fail "the message says the node cannot be reached"
ok "a stopped node: exit 69 with a clear message"
