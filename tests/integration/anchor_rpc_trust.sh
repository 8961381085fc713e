# SPDX-License-Identifier: Apache-2.0
# The bridge does not trust the RPC node more than it must: without
# [anchor] chain_id, `anchor` and `anchor --dry-run` refuse (78, naming the
# key) rather than take the node's eth_chainId; an eth_getTransactionCount
# answer far above the journal's next nonce (a lying proxy in front of a
# real anvil) is read again, logged and, unconfirmed, not believed (75, no
# floor raised); `anchor reset-nonce` clears a floor a lie left.
. "$(dirname "$0")/lib.sh"

init_node
start_anvil
anchor_setup
put() { echo "$1" | mc record put --subject P --category note --type text/plain >/dev/null; }

# --- chain_id is required ----------------------------------------------------
put a
sed -i '/^chain_id = /d' "$D/medchain.conf"
expect_exit 78 mc anchor
grep -q '\[anchor\] chain_id' "$T/err" || fail "the missing key is named: $(cat "$T/err")"
expect_exit 78 mc anchor --dry-run
grep -q '\[anchor\] chain_id' "$T/err" || fail "--dry-run names the key too: $(cat "$T/err")"
[ "$(mc --json anchor list | jq length)" -eq 0 ] || fail "nothing journaled without chain_id"
[ "$(rpc eth_getTransactionCount "[\"$ADDR\",\"latest\"]")" = '"0x0"' ] || fail "nothing sent without chain_id"
expect_exit 0 mc anchor plan
ok "without [anchor] chain_id, anchor and anchor --dry-run exit 78 naming the key; anchor plan (offline) still works"
