#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Anchoring a chain of four validators from a follower: `medchain anchor`
# on node 2 (not the leader) anchors the chain tree root on a real anvil,
# its ANCHOR_COMMIT goes through the leader into a block every node holds,
# node 2's journal says confirmed, and a second run has nothing new.
. "$(dirname "$0")/lib.sh"

cluster_start 4
for k in 1 2 3; do cn 3 identity add --name "a-$k" --role clinician --no-passphrase >/dev/null; done
start_anvil --slots-in-an-epoch 1 --block-time 1
D="$T/n2"
ADDR=$(mc anchor keygen --no-passphrase 2>/dev/null)
rpc anvil_setBalance "[\"$ADDR\",\"0xde0b6b3a7640000\"]" >/dev/null
printf '[anchor]\nrpc_url = %s\nchain_id = 31337\nconfirmations = 2\n' "$URL" >>"$D/medchain.conf"
expect_exit 0 mc anchor --wait 90
[ "$(mc --json anchor list | jq -r '.[0].state')" = confirmed ] || fail "node 2's journal does not say confirmed"
cl_wait_same 10 1 2 3 4 || fail "the nodes disagree after the anchor"
for i in 1 2 3 4; do
    [ "$(cn "$i" --json status | jq -r '.last_anchor.tree_size // empty')" != "" ] \
        || fail "node $i has no committed anchor"
done
ok "anchor from a follower: one public tx, its ANCHOR_COMMIT committed on all four"
expect_exit 0 mc anchor --wait 30
[ "$(mc --json anchor list | jq length)" = 1 ] || fail "a second run anchored again with nothing new"
ok "a second run: nothing new, no second anchor"
stop_anvil
