# SPDX-License-Identifier: Apache-2.0
# proof verify says who anchored: it prints the anchor address and the
# validator-set hash it accepted (text and --json); with --expect-address and
# --expect-validators (a file of validator keys, or the set's hash) a bundle
# anchored by anyone else exits 65 naming what differed; without them it says
# on stderr that it did not check who anchored.
. "$(dirname "$0")/lib.sh"

init_node
start_anvil --slots-in-an-epoch 1 --block-time 1
anchor_setup
id=$(echo "note" | mc record put --subject P1 --category note --type text/plain)
expect_exit 0 mc anchor --wait 60
mc proof export "$id" -o "$T/p.json"
mc --json node list | jq -r '.nodes[].node' >"$T/keys"
[ "$(wc -l <"$T/keys")" -eq 1 ] || fail "one validator"
# the set's hash, recomputed without medchain: SHA-256("medchain/valset/v1" || sorted keys)
vhash=$( { printf 'medchain/valset/v1' | xxd -p; sort "$T/keys"; } | tr -d '\n' | xxd -r -p | sha256sum | cut -c1-64)
addr=$(echo "$ADDR" | tr 'A-F' 'a-f')

expect_exit 0 mc proof verify "$T/p.json" --rpc "$URL"
grep -q "$addr" "$T/out" || fail "the text names the anchor address: $(cat "$T/out")"
grep -q "$vhash" "$T/out" || fail "the text names the validator-set hash: $(cat "$T/out")"
[ "$(grep -c "did not check who anchored" "$T/err")" -eq 1 ] || fail "one stderr line says who anchored was not checked: $(cat "$T/err")"
expect_exit 0 mc --json proof verify "$T/p.json" --rpc "$URL"
[ "$(jq -r .anchor.address "$T/out")" = "$addr" ] || fail "--json anchor.address: $(cat "$T/out")"
[ "$(jq -r .validator_set.hash "$T/out")" = "$vhash" ] || fail "--json validator_set.hash: $(cat "$T/out")"
[ "$(jq -r .anchor.address_checked "$T/out")" = false ] && [ "$(jq -r .validator_set.checked "$T/out")" = false ] \
    || fail "--json says nothing was checked: $(cat "$T/out")"
! grep -q "did not check" "$T/out" || fail "the warning is not in --json's data"
ok "without expectations: the address and the validator-set hash are printed, and stderr says who anchored was not checked"

expect_exit 0 mc proof verify "$T/p.json" --rpc "$URL" --expect-address "$(echo "$ADDR" | tr 'a-f' 'A-F' | sed 's/^0X/0x/')" --expect-validators "$T/keys"
! grep -q "did not check" "$T/err" || fail "no warning when both are checked: $(cat "$T/err")"
expect_exit 0 mc --json proof verify "$T/p.json" --expect-address "$ADDR" --expect-validators "$vhash"
[ "$(jq -r .anchor.address_checked "$T/out")" = true ] && [ "$(jq -r .validator_set.checked "$T/out")" = true ] \
    || fail "--json says both were checked: $(cat "$T/out")"
expect_exit 0 mc proof verify "$T/p.json" --expect-address "$ADDR"
grep -q "did not check the validator set" "$T/err" || fail "an unchecked validator set is named: $(cat "$T/err")"
ok "--expect-address (any case) and --expect-validators (a key file or the hash) accept the bundle's anchorer"

other=$(printf '0x%040x' 1234)
expect_exit 65 mc proof verify "$T/p.json" --expect-address "$other" --expect-validators "$vhash"
grep -q "anchor address" "$T/err" && grep -q "$other" "$T/err" && grep -q "$addr" "$T/err" \
    || fail "the address mismatch names both: $(cat "$T/err")"
printf '%064x\n' 7 >"$T/other.keys"
expect_exit 65 mc --json proof verify "$T/p.json" --expect-address "$ADDR" --expect-validators "$T/other.keys"
grep -q "validator set" "$T/err" || fail "the validator mismatch is named: $(cat "$T/err")"
[ "$(jq -r .ok "$T/out")" = false ] && [ "$(jq -r .exit "$T/out")" = 65 ] || fail "--json failure: $(cat "$T/out")"
expect_exit 65 mc proof verify "$T/p.json" --expect-validators "$(printf '%064x' 9)"
grep -q "validator set" "$T/err" || fail "a hash mismatch is named: $(cat "$T/err")"
expect_exit 64 mc proof verify "$T/p.json" --expect-address 0x1234
# offline the bundle's address is only what the file says: a forged one
# would pass, so --expect-address needs the public chain
sed "s/${addr#0x}/$(printf '%040x' 4242)/" "$T/p.json" >"$T/forged.json"
expect_exit 64 "$MEDCHAIN_BIN" --datadir "$T/offline" --config /dev/null proof verify "$T/forged.json" --expect-address "$(printf '0x%040x' 4242)"
grep -q "needs the public chain" "$T/err" || fail "offline --expect-address is refused: $(cat "$T/err")"
expect_exit 66 mc proof verify "$T/p.json" --expect-validators "$T/nope"
echo "not-a-key" >"$T/bad.keys"
expect_exit 65 mc proof verify "$T/p.json" --expect-validators "$T/bad.keys"
grep -q "line 1" "$T/err" || fail "a bad key line is named: $(cat "$T/err")"
ok "another address or validator set exits 65 naming what differed; a malformed address 64, a missing file 66, a bad key line 65"
