# SPDX-License-Identifier: Apache-2.0
# proof export / proof verify: a bundle for every record verifies offline and
# against the public chain (anvil); it fails with exit 65, naming the step,
# when any byte of it changes, when the anchor tx is not on the chain, and
# when the RPC URL serves another chain id. No payload is in a bundle.
. "$(dirname "$0")/lib.sh"

init_node
start_anvil --slots-in-an-epoch 1 --block-time 1
anchor_setup
id1=$(echo "secret-note-1" | mc record put --subject P1 --category note --type text/plain)
for i in 2 3; do echo "secret-note-$i" | mc record put --subject "P$i" --category note --type text/plain >/dev/null; done
gen_ndjson 40 MRN >"$T/recs.ndjson"
mc record import -q "$T/recs.ndjson" >/dev/null
echo "amended" | mc record put --amend "$id1" --subject P1 --category note --type text/plain >/dev/null
expect_exit 75 mc proof export "$id1"
grep -q "not covered by a confirmed anchor" "$T/err" || fail "an unanchored record is named: $(cat "$T/err")"
expect_exit 0 mc anchor --wait 60

# A bundle for every record verifies offline and against the public chain.
n=0
for id in $(mc --json record list | jq -r '.[].record'); do
    mc proof export "$id" -o "$T/p.json"
    ! grep -q "secret-note" "$T/p.json" || fail "a bundle carries no payload"
    ! grep -q "MRN-" "$T/p.json" || fail "a bundle carries no raw subject"
    expect_exit 0 mc proof verify "$T/p.json" --rpc "$URL"
    grep -q "the proof holds" "$T/out" || fail "verify says the proof holds"
    n=$((n + 1))
done
[ "$n" -eq 43 ] || fail "43 records, $n bundles"
# Older versions too, and outside any data dir (no config, only file and URL).
hist=$(mc --json record history "$id1" | jq length)
mc proof export "$id1" --version 1 -o "$T/v1.json"
(cd "$T" && env -u MEDCHAIN_DATADIR HOME="$T/nohome" "$MEDCHAIN_BIN" proof verify "$T/v1.json" --rpc "$URL" >/dev/null) \
    || fail "verification needs only the file and an RPC URL"
expect_exit 0 env HOME="$T/nohome" "$MEDCHAIN_BIN" proof verify "$T/v1.json"
grep -q "not consulted" "$T/out" || fail "offline verification says the public chain was not consulted"
ok "proof verify passes for each of $n records (and version 1 of $hist), with only the file and an RPC URL"

# Any changed byte fails (exit 65, the step named).
mc proof export "$id1" -o "$T/good.json"
size=$(stat -c %s "$T/good.json")
steps="$T/steps"; : >"$steps"
for k in $(seq 1 60); do
    pos=$(( (k * 7919) % size ))
    cp "$T/good.json" "$T/bad.json"
    orig=$(dd if="$T/good.json" bs=1 skip="$pos" count=1 2>/dev/null | xxd -p)
    new=$(printf '%02x' $(( (0x$orig + 1 + (k % 5)) % 256 )))
    printf "\\x$new" | dd of="$T/bad.json" bs=1 seek="$pos" conv=notrunc 2>/dev/null
    expect_exit 65 mc proof verify "$T/bad.json" --rpc "$URL"
    sed -n "s/.*fails at step '\([^']*\)'.*/\1/p" "$T/err" >>"$steps"
done
[ "$(wc -l <"$steps")" -eq 60 ] || fail "every failure names its step"
ok "60 changed bytes: each fails with exit 65 naming the step ($(sort "$steps" | uniq -c | awk '{printf "%s%s x%s", s, substr($0, index($0,$2)), $1; s=", "}'))"

# The step names of semantic changes, made on a canonical bundle of a
# record in the imported batch (its entry path is not empty).
mc proof export "$(mc --json record list | jq -r '[.[] | select(.category == "observation")][5].record')" -o "$T/good.json"
edit() { jq -c "$1" "$T/good.json" >"$T/bad.json"; }
check_step() {
    expect_exit 65 mc proof verify "$T/bad.json" --rpc "$URL"
    grep -q "step '$1'" "$T/err" || fail "expected step '$1': $(cat "$T/err")"
}
edit '.chain_tree.root |= (.[0:63] + (if .[63:] == "0" then "1" else "0" end))'; check_step "chain tree path"
edit '.transaction.index |= . + 1'; check_step "transaction path"
edit '.entry_proof.path[0] |= (.[0:63] + (if .[63:] == "0" then "1" else "0" end))'; check_step "entry path"
ok "semantic edits name their steps: chain tree path, transaction path, entry path"

# The anchor tx not on the chain: a fresh anvil with the same chain id.
keep=$URL; keep_pid=$ANVIL_PID
ANVIL_PORT=0 start_anvil
expect_exit 65 mc proof verify "$T/good.json" --rpc "$URL"
grep -q "step 'public transaction'" "$T/err" || fail "the missing tx is named: $(cat "$T/err")"
stop_anvil
ANVIL_PORT=0 start_anvil --chain-id 999
expect_exit 65 mc proof verify "$T/good.json" --rpc "$URL"
grep -q "step 'public chain id'" "$T/err" || fail "another chain id is named: $(cat "$T/err")"
stop_anvil
URL=$keep; ANVIL_PID=$keep_pid
expect_exit 69 mc proof verify "$T/good.json" --rpc http://127.0.0.1:1
expect_exit 66 mc proof verify "$T/missing.json"
ok "tx not on the chain: 65 (public transaction); another chain id: 65 (public chain id); unreachable 69"
