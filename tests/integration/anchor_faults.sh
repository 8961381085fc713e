# SPDX-License-Identifier: Apache-2.0
# medchain anchor when the public chain misbehaves (anvil's fault calls):
# a stopped node (69, or 75 with a tx pending; the run after it completes),
# kill -9 between the journal write and the broadcast (the next run sends
# the same bytes: one anchor for that root), mining paused (a fee bump at the
# same nonce), and a tx taken away by evm_revert, anvil_reorg or
# anvil_dropTransaction (noticed and sent again), and another tx taking the
# nonce (the anchor superseded, a new one at the next nonce).
. "$(dirname "$0")/lib.sh"
need_test_hooks

init_node
start_anvil --slots-in-an-epoch 1 --state "$T/anvil.state"
ANCHOR_CONF_EXTRA="bump_after = 300" anchor_setup
nonce() { "$CAST" nonce "$ADDR" --rpc-url "$URL"; }
put() { echo "$1" | mc record put --subject P --category note --type text/plain >/dev/null; }
mine() { rpc anvil_mine "[\"0x$1\"]" >/dev/null; }
journal() { mc --json anchor list | jq -r ".[-1].$1"; }
# confirm: mines past the finalized depth and runs anchor until confirmed
confirm() {
    mine 4
    expect_exit 0 mc --json anchor
    [ "$(jq -r .anchor.state "$T/out")" = confirmed ] || fail "confirmed after mining: $(cat "$T/out")"
}

# --- anvil stopped: 69 with nothing pending, 75 with a tx pending ---------
put a
stop_anvil
expect_exit 69 mc anchor
grep -q "cannot reach" "$T/err" || fail "unreachable is named"
[ "$(mc --json anchor list | jq length)" -eq 0 ] || fail "nothing journaled while unreachable"
ANVIL_PORT=$ANVIL_PORT start_anvil --slots-in-an-epoch 1 --state "$T/anvil.state"
rpc evm_setAutomine '[false]' >/dev/null
expect_exit 0 mc anchor
grep -q broadcast "$T/out" || fail "broadcast: $(cat "$T/out")"
tx1=$(journal tx_hash)
stop_anvil
expect_exit 75 mc anchor
grep -q "pending" "$T/err" || fail "75 says an anchor is pending: $(cat "$T/err")"
ANVIL_PORT=$ANVIL_PORT start_anvil --slots-in-an-epoch 1 --state "$T/anvil.state"
rpc evm_setAutomine '[false]' >/dev/null
expect_exit 75 mc anchor
grep -q "no longer known" "$T/err" || fail "the tx the restarted node lost is sent again: $(cat "$T/err")"
rpc evm_mine '[]' >/dev/null
confirm
# the same anchor completes: the same bytes, or (when the restart took longer
# than bump_after) its fee-bumped replacement at the same nonce
[ "$(jq -r .anchor.seq "$T/out")" -eq 1 ] || fail "the anchor journaled before the stop completes"
[ "$(jq -r '.anchor.txs | length' "$T/out")" -gt 1 ] || [ "$(jq -r .anchor.tx_hash "$T/out")" = "$tx1" ] \
    || fail "the same tx completes after the node comes back"
[ "$(nonce)" -eq 1 ] || fail "one public tx"
ok "anvil stopped: 69 with nothing pending, 75 with a tx pending; the run after it completes"

# --- kill -9 between the journal write and the broadcast ------------------
put b
code=0; MEDCHAIN_TEST_CRASH=after-journal mc anchor >/dev/null 2>&1 || code=$?
[ "$code" -eq 137 ] || fail "the run was killed after the journal write (exit $code)"
[ "$(journal state)" = planned ] || fail "the journal holds the planned anchor"
tx2=$(journal tx_hash)
[ "$(rpc eth_getTransactionByHash "[\"$tx2\"]")" = null ] || fail "nothing was broadcast"
expect_exit 75 mc anchor
[ "$(rpc eth_getTransactionByHash "[\"$tx2\"]" | jq -r .hash)" = "$tx2" ] || fail "the next run sent the same tx bytes"
rpc evm_mine '[]' >/dev/null
confirm
[ "$(jq -r .anchor.tx_hash "$T/out")" = "$tx2" ] || fail "the journaled tx is the anchor"
[ "$(nonce)" -eq 2 ] || fail "exactly one anchor tx for that root"
ok "kill -9 after the journal write: the next run sends the same bytes ($tx2), one anchor"

# --- mining paused: a fee bump at the same nonce ---------------------------
sed -i 's/^bump_after = .*/bump_after = 1/' "$D/medchain.conf"
put c
expect_exit 0 mc anchor
tx3=$(journal tx_hash); n3=$(mc --json anchor list | jq -r '.[-1].nonce')
sleep 1.2
expect_exit 75 mc anchor
grep -q "fee raised" "$T/err" || fail "the pending tx is re-priced: $(cat "$T/err")"
[ "$(journal attempts)" -eq 2 ] || fail "a second attempt is journaled"
tx3b=$(journal tx_hash)
[ "$tx3b" != "$tx3" ] || fail "the replacement is another tx"
[ "$(rpc eth_getTransactionByHash "[\"$tx3b\"]" | jq -r .nonce)" = "$(printf '0x%x' "$n3")" ] || fail "same nonce"
rpc evm_mine '[]' >/dev/null
confirm
[ "$(jq -r .anchor.tx_hash "$T/out")" = "$tx3b" ] || fail "the bumped tx is the one mined"
[ "$(nonce)" -eq 3 ] || fail "one public tx for the anchor"
ok "mining paused: after bump_after the tx is replaced at nonce $n3 with a higher fee"
sed -i 's/^bump_after = .*/bump_after = 300/' "$D/medchain.conf"

# --- anvil_dropTransaction: noticed and sent again --------------------------
put d
expect_exit 0 mc anchor
tx4=$(journal tx_hash)
[ "$(rpc anvil_dropTransaction "[\"$tx4\"]" | jq -r .)" = "$tx4" ] || fail "anvil dropped our tx"
expect_exit 75 mc anchor --dry-run
[ "$(rpc eth_getTransactionByHash "[\"$tx4\"]")" = null ] || fail "a dry run sends nothing, even with an anchor pending"
expect_exit 75 mc anchor
grep -q "no longer known" "$T/err" || fail "the drop is noticed: $(cat "$T/err")"
[ "$(rpc eth_getTransactionByHash "[\"$tx4\"]" | jq -r .hash)" = "$tx4" ] || fail "sent again"
rpc evm_mine '[]' >/dev/null
confirm
ok "anvil_dropTransaction: noticed and the same tx sent again"

# --- evm_revert after mining: noticed and sent again ------------------------
rpc evm_setAutomine '[true]' >/dev/null
put e
snap=$(rpc evm_snapshot '[]' | jq -r .)
expect_exit 0 mc anchor
tx5=$(journal tx_hash)
expect_exit 75 mc anchor
[ "$(journal state)" = mined ] || fail "mined: $(journal state)"
[ "$(rpc evm_revert "[\"$snap\"]")" = true ] || fail "evm_revert"
[ "$(rpc eth_getTransactionReceipt "[\"$tx5\"]")" = null ] || fail "the revert took the tx away"
expect_exit 75 mc anchor
grep -q "left public block" "$T/err" || fail "the revert is noticed: $(cat "$T/err")"
confirm
[ "$(jq -r .anchor.tx_hash "$T/out")" = "$tx5" ] || fail "the same tx is the anchor"
ok "evm_revert: the vanished tx is noticed and sent again"

# --- anvil_reorg: the block holding the tx is replaced -----------------------
put f
expect_exit 0 mc anchor
tx6=$(journal tx_hash)
expect_exit 75 mc anchor
[ "$(journal state)" = mined ] || fail "mined before the reorg"
b6=$(journal block_number)
rpc anvil_reorg '[1, []]' >/dev/null
[ "$(rpc eth_getTransactionReceipt "[\"$tx6\"]")" = null ] || fail "the reorg took the tx away"
expect_exit 75 mc anchor
grep -q "left public block $b6" "$T/err" || fail "the reorg is noticed: $(cat "$T/err")"
confirm
[ "$(jq -r .anchor.tx_hash "$T/out")" = "$tx6" ] || fail "the same tx is the anchor"
ok "anvil_reorg: the tx's block replaced; noticed and sent again"

# --- another tx takes the nonce: superseded, and a new anchor replaces it ---
rpc evm_setAutomine '[false]' >/dev/null
put g
expect_exit 0 mc anchor
seq7=$(journal seq); n7=$(mc --json anchor list | jq -r '.[-1].nonce')
secret=$(od -An -tx1 -j42 -N32 "$D/keys/anchor.key" | tr -d ' \n')
"$CAST" send --async --private-key "0x$secret" --nonce "$n7" --gas-limit 30000 --gas-price 50gwei \
    --priority-gas-price 5gwei --rpc-url "$URL" 0x000000000000000000000000000000000000dEaD 0x >/dev/null
rpc evm_mine '[]' >/dev/null
expect_exit 0 mc anchor
grep -q "another transaction took nonce $n7" "$T/err" || fail "the taken nonce is noticed: $(cat "$T/err")"
[ "$(mc --json anchor list | jq -r --argjson s "$seq7" '.[] | select(.seq == $s) | .state')" = superseded ] \
    || fail "the anchor whose nonce was taken is superseded"
[ "$(journal nonce)" -eq $((n7 + 1)) ] || fail "the new anchor takes the next nonce"
rpc evm_mine '[]' >/dev/null
confirm
rpc evm_setAutomine '[true]' >/dev/null
ok "another tx took the anchor's nonce: superseded, and a new anchor at nonce $((n7 + 1)) confirmed"

expect_exit 0 mc --json anchor list
[ "$(jq '[.[] | select(.state == "confirmed")] | length' "$T/out")" -eq 7 ] || fail "seven anchors confirmed"
[ "$(jq '[.[1:][] | select(.consistency != "ok")] | length' "$T/out")" -eq 0 ] \
    || fail "every anchor's consistency proof verifies from the one before"
expect_exit 0 mc verify
ok "seven anchors (and one superseded), each consistency proof verified from the one before; verify passes"
