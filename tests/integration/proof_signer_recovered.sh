# SPDX-License-Identifier: Apache-2.0
# proof verify does not take the RPC node's word for who anchored: it
# rebuilds the signed anchor transaction from the node's fields, checks that
# it hashes to the anchor transaction the bundle names, and recovers the
# sender from its signature. A node (here a lying proxy in front of a real
# anvil) that names another sender in `from` is refused with 65, so a bundle
# whose address was edited passes --expect-address with no lie at all.
. "$(dirname "$0")/lib.sh"
need_tool python3

init_node
start_anvil --slots-in-an-epoch 1 --block-time 1
anchor_setup
id=$(echo "note" | mc record put --subject P1 --category note --type text/plain)
expect_exit 0 mc anchor --wait 60
mc proof export "$id" -o "$T/p.json"
addr=$(echo "$ADDR" | tr 'A-F' 'a-f')

python3 "$MC_SRCDIR/tests/integration/rpc_liar.py" "$URL" "$T/liar.port" "$T/lie" &
for _ in $(seq 1 100); do [ -s "$T/liar.port" ] && break; sleep 0.1; done
[ -s "$T/liar.port" ] || fail "the lying proxy did not start"
PROXY=http://127.0.0.1:$(cat "$T/liar.port")

expect_exit 0 mc proof verify "$T/p.json" --rpc "$PROXY" --expect-address "$ADDR"
ok "through an honest proxy the anchorer's address, recovered from the signature, is accepted"

# The bundle's address edited to someone else's, and the node backing it up.
forged=$(printf '%040x' 4242)
sed "s/${addr#0x}/$forged/" "$T/p.json" >"$T/forged.json"
grep -q "$forged" "$T/forged.json" || fail "the bundle was edited"
echo "0x$forged" >"$T/lie.from"
expect_exit 65 mc proof verify "$T/forged.json" --rpc "$PROXY" --expect-address "0x$forged"
grep -q "signer" "$T/err" && grep -q "$forged" "$T/err" && grep -q "$addr" "$T/err" \
    || fail "the refusal names the claimed and the recovered sender: $(cat "$T/err")"
expect_exit 65 mc --json proof verify "$T/forged.json" --rpc "$PROXY"
[ "$(jq -r .ok "$T/out")" = false ] || fail "--json says it failed: $(cat "$T/out")"
# the genuine bundle, the node lying about its sender: refused too
expect_exit 65 mc proof verify "$T/p.json" --rpc "$PROXY"
grep -q "$forged" "$T/err" || fail "the lie is named: $(cat "$T/err")"
rm -f "$T/lie.from"
expect_exit 0 mc proof verify "$T/p.json" --rpc "$PROXY"
ok "a node naming another sender than the signature's is refused (65) naming both; an edited bundle no longer passes --expect-address"
