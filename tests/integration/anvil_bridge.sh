# Our signer and JSON-RPC client against a real Ethereum node: anvil on
# 127.0.0.1 (from npm, installed by tools/install-deps) mines the
# transaction we sign, and cast, independently of our code, reads back the
# same calldata. A stopped node is EX_UNAVAILABLE.
. "$(dirname "$0")/lib.sh"

# node_modules of the checkout (a distcheck tree sits inside it), or
# $MEDCHAIN_DEVNODE_DIR
nm=${MEDCHAIN_DEVNODE_DIR:-}
for d in "$MC_SRCDIR" "$MC_SRCDIR/.." "$MC_SRCDIR/../.." "$MC_SRCDIR/../../.."; do
    [ -z "$nm" ] && [ -x "$d/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" ] && nm="$d/node_modules"
done
ANVIL="$nm/@foundry-rs/anvil-linux-amd64/bin/anvil"
CAST="$nm/@foundry-rs/cast-linux-amd64/bin/cast"
[ -x "$ANVIL" ] && [ -x "$CAST" ] || fail "anvil and cast are missing: run tools/install-deps"
CHECK="$(dirname "$MEDCHAIN_BIN")/tests/bridge_check"

"$ANVIL" --host 127.0.0.1 --port 0 >"$T/anvil.log" 2>&1 &
anvil_pid=$!
for i in $(seq 1 100); do
    port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/anvil.log")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || fail "anvil did not start"
URL="http://127.0.0.1:$port"

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

kill "$anvil_pid"
wait "$anvil_pid" 2>/dev/null || true
code=0
"$CHECK" "$URL" 2>"$T/err" || code=$?
[ "$code" -eq 69 ] || fail "a stopped node is EX_UNAVAILABLE (got $code)"
grep -q "cannot reach the node" "$T/err" || fail "the message says the node cannot be reached"
ok "a stopped node: exit 69 with a clear message"
