# SPDX-License-Identifier: Apache-2.0
# A public chain without EIP-1559 (anvil --hardfork berlin: no base fee):
# medchain anchor sends a legacy EIP-155 transaction (type 0, v = 2 x chain
# id + 35 + y parity, eth_gasPrice) and it is confirmed like any other.
. "$(dirname "$0")/lib.sh"

init_node
start_anvil --slots-in-an-epoch 1 --block-time 1 --hardfork berlin
[ "$(rpc eth_getBlockByNumber '["latest",false]' | jq -r .baseFeePerGas)" = null ] || fail "berlin has no base fee"
anchor_setup
echo x | mc record put --subject P --category note >/dev/null
expect_exit 0 mc --json anchor --wait 60
[ "$(jq -r .outcome "$T/out")" = confirmed ] || fail "confirmed: $(cat "$T/out")"
tx=$(jq -r .anchor.tx_hash "$T/out")
rpc eth_getTransactionByHash "[\"$tx\"]" >"$T/tx.json"
[ "$(jq -r .type "$T/tx.json")" = 0x0 ] || fail "a legacy transaction"
v=$(printf '%d' "$(jq -r .v "$T/tx.json")")
[ "$v" -eq 62709 ] || [ "$v" -eq 62710 ] || fail "EIP-155 v = 2 x 31337 + 35 + parity (got $v)"
[ "$(jq -r .gasPrice "$T/tx.json")" != null ] || fail "a gas price"
expect_exit 0 mc verify
ok "no EIP-1559 on the public chain: a legacy EIP-155 anchor (v $v) is confirmed"
