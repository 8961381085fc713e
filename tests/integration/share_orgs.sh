# SPDX-License-Identifier: Apache-2.0
# Sharing across organizations: a grant to another organization's identity
# re-wraps the data keys in scope under a KEK sealed to that organization;
# its clinician reads identical bytes, nothing outside the scope; the shared
# keys are committed (tampering is found) and erased with the record.
. "$(dirname "$0")/lib.sh"

init_node --org "St A"
mc identity add --name "B Hospital" --role org --no-passphrase >/dev/null
mc identity add --name "Dr B" --role clinician --org "B Hospital" --no-passphrase >/dev/null
printf 'lab result one' >"$T/lab"
mc record put --subject MRN-1 --category lab --type text/plain "$T/lab" >"$T/r1"
printf 'imaging report' | mc record put --subject MRN-1 --category imaging --type text/plain >"$T/r2"
printf 'another patient' | mc record put --subject MRN-2 --category lab --type text/plain >"$T/r3"
wraps() { mdb_stat -s keywrap "$D/db" | awk '/Entries/ { print $2 }'; }
[ "$(wraps)" -eq 3 ] || fail "one wrapped key per record before sharing"

expect_exit 77 mc --as "Dr B" record get "$(cat "$T/r1")"
g=$(mc consent grant --subject MRN-1 --to "Dr B" --purpose treatment --scope lab 2>"$T/share.err")
grep -q "1 record version shared" "$T/share.err" || fail "the grant says what it shared"
[ "$(wraps)" -eq 4 ] || fail "one more wrapped key: the other organization's copy of the lab record"
mc --as "Dr B" record get "$(cat "$T/r1")" >"$T/got"
cmp -s "$T/got" "$T/lab" || fail "the other organization's clinician reads identical bytes"
expect_exit 77 mc --as "Dr B" record get "$(cat "$T/r2")"
expect_exit 77 mc --as "Dr B" record get "$(cat "$T/r3")"
mc verify >/dev/null || fail "verify accounts for shared keys"
ok "shared in scope only; identical bytes for the other organization"

# Every wrapped key, the shared one included, is committed on chain.
cp -a "$D" "$T/base"
n=$(wraps)
for i in $(seq 0 $((n - 1))); do
    rm -rf "$D"; cp -a "$T/base" "$D"
    mdb_dump -s keywrap "$D/db" >"$T/dump"
    awk -v e="$i" 'BEGIN { inb = 0; k = 0 }
        /^HEADER=END/ { inb = 1; print; next } /^DATA=END/ { inb = 0 }
        inb { k++; if (k == 2 * e + 2) { c = substr($0, 40, 1); d = (c == "0") ? "1" : "0"; print substr($0, 1, 39) d substr($0, 41); next } }
        { print }' "$T/dump" >"$T/dump2"
    mdb_load -s keywrap -f "$T/dump2" "$D/db" 2>/dev/null
    expect_exit 65 mc verify
    grep -Eq "record [0-9a-f]{32}" "$T/err" || fail "wrapped key $i: verify names the record"
done
rm -rf "$D"; cp -a "$T/base" "$D"
ok "a change to any wrapped key, shared or not, fails verify naming the record"

# A second grant shares only what is not shared yet; so does a Consent import.
printf 'lab result two' | mc record put --subject MRN-1 --category lab --type text/plain >"$T/r4"
mc consent grant --subject MRN-1 --to "Dr B" --purpose research --scope lab 2>"$T/share2.err" >/dev/null
grep -q "1 record version shared" "$T/share2.err" || fail "only the new lab record is shared by the second grant"
[ "$(wraps)" -eq 6 ] || fail "two records, two copies each"
mc consent export --subject MRN-1 | jq '{resourceType: "Bundle", type: "collection", entry: [.entry[0]]}' >"$T/c.json"
mc consent import "$T/c.json" >/dev/null
[ "$(wraps)" -eq 6 ] || fail "an import shares nothing already shared"
[ "$(mc --as "Dr B" record get "$(cat "$T/r4")")" = "lab result two" ] || fail "the newly shared record reads"
mc verify >/dev/null || fail "verify after several shares"
ok "later grants and imports share only what is new"

mc consent revoke "$g" --reason "referral ended" >/dev/null
for gg in $(mc --json consent list --grantee "Dr B" --active | jq -r '.[].grant'); do mc consent revoke "$gg" --reason "referral ended" >/dev/null; done
expect_exit 77 mc --as "Dr B" record get "$(cat "$T/r1")"
mc record erase "$(cat "$T/r1")" --reason "patient request" >/dev/null
[ "$(wraps)" -eq 4 ] || fail "erasure removes every organization's copy of the key"
mc verify >/dev/null || fail "verify after erasing a shared record"
ok "revoke denies again; erase shreds the shared key too"
