# SPDX-License-Identifier: Apache-2.0
# 1,000 single record puts; every get returns the identical bytes; amendments
# make versions; erase removes the data and verify still passes.
. "$(dirname "$0")/lib.sh"

init_node
N=${MC_ROUNDTRIP_N:-1000}
mkdir -p "$T/p"
for i in $(seq 1 "$N"); do
    f="$T/p/$i"
    if [ $((i % 3)) -eq 0 ]; then
        printf '{"resourceType":"Observation","id":"o%d","valueQuantity":{"value":%d}}' "$i" "$i" >"$f"
        mc record put --subject "MRN-$((i % 37))" --category observation "$f" >>"$T/ids"
    else
        head -c $((1 + (i * 7919) % 5000)) /dev/urandom >"$f"
        mc record put --subject "MRN-$((i % 37))" --category imaging --type application/octet-stream "$f" >>"$T/ids"
    fi
done
[ "$(wc -l <"$T/ids")" -eq "$N" ] || fail "one id per put"
# a clinician reads, under one grant per patient
mc identity add --name "Dr Reader" --role clinician --no-passphrase >/dev/null
for s in $(seq 0 36); do mc consent grant --subject "MRN-$s" --to "Dr Reader" --purpose treatment >/dev/null; done
mc() { "$MEDCHAIN_BIN" --datadir "$D" --as "Dr Reader" "$@"; }
[ "$(sort -u "$T/ids" | wc -l)" -eq "$N" ] || fail "ids are unique"
i=0
while read -r id; do
    i=$((i + 1))
    mc record get "$id" >"$T/got"
    cmp -s "$T/got" "$T/p/$i" || fail "record $i ($id) does not round-trip"
done <"$T/ids"
ok "$N puts, every get identical"

[ "$(height)" -eq $((2 * N + 38)) ] || fail "one block per put, per grant and per audited read"
mc --json record list --subject MRN-5 | jq -e "length == $(seq 1 "$N" | awk '$1 % 37 == 5' | wc -l)" >/dev/null \
    || fail "list by subject finds that subject's records"
mc --json record list --category observation | jq -e "length == $((N / 3))" >/dev/null || fail "list by category"

# Amend, history, get by version.
first=$(head -1 "$T/ids")
echo "amended" | mc record put --subject "MRN-1" --category imaging --type text/plain --amend "$first" >/dev/null
mc --json record history "$first" | jq -e 'length == 2 and .[1].version == 2' >/dev/null || fail "history shows two versions"
[ "$(mc record get "$first")" = amended ] || fail "get returns the newest version"
mc record get --version 1 "$first" >"$T/got"
cmp -s "$T/got" "$T/p/1" || fail "get --version 1 returns the first version"
expect_exit 65 sh -c "echo x | '$MEDCHAIN_BIN' --datadir '$D' record put --subject MRN-2 --category imaging --type text/plain --amend $first"
grep -q "subject" "$T/err" || fail "an amendment must keep the subject"
ok "amendments are versions"

# Erase: data gone, chain still verifies (an admin erases).
"$MEDCHAIN_BIN" --datadir "$D" record erase "$first" --reason "patient request under GDPR art. 17" >/dev/null
expect_exit 66 mc record get "$first"
grep -q "erased" "$T/err" || fail "get names the erasure"
mc --json record history "$first" | jq -e 'all(.erased != null)' >/dev/null || fail "every version erased"
mc verify >/dev/null || fail "verify passes after an erasure"
ok "erase"
