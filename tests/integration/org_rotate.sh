# SPDX-License-Identifier: Apache-2.0
# org rotate-key: a new organization key takes the old one's place. Every
# record stored before reads back with the old key file destroyed; new
# records go under the new key; staff stay bound to their organization;
# keys shared with another organization keep working and old records can
# still be shared; verify checks the resealed KEKs; a kill at any point
# leaves a node that reads all its records.
. "$(dirname "$0")/lib.sh"

keyhex() { od -An -tx1 -j10 -N32 "$1" | tr -d ' \n'; }   # a key file's public key
kind() { od -An -tx1 -j8 -N1 "$1" | tr -d ' \n'; }      # 00 unsealed, 01 sealed
orgpk() { mc --json identity list | jq -r --arg n "$1" '.[] | select(.name == $n and .revoked == null) | .key'; }

init_node --org "St A"
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
mc identity add --name "B Hospital" --role org --no-passphrase >/dev/null
mc identity add --name "Dr B" --role clinician --org "B Hospital" --no-passphrase >/dev/null
printf 'lab result one' >"$T/lab"
mc record put --subject MRN-1 --category lab --type text/plain "$T/lab" >"$T/r1"
printf 'lab result one, corrected' | mc record put --subject MRN-1 --category lab --type text/plain \
    --amend "$(cat "$T/r1")" >/dev/null
printf 'imaging report' | mc --as "Dr A" record put --subject MRN-1 --category imaging --type text/plain >"$T/r2"
printf 'another patient' | mc record put --subject MRN-2 --category lab --type text/plain >"$T/r3"
gen_ndjson 20 IMP | mc record import >/dev/null
mc consent grant --subject MRN-1 --to "Dr B" --purpose treatment --scope lab >/dev/null 2>&1
[ "$(mc --as "Dr B" record get "$(cat "$T/r1")" --version 1)" = "lab result one" ] || fail "shared before the rotation"
mc --json record list >"$T/list.before"
for id in $(jq -r --arg x "$(cat "$T/r2")" '.[].record | select(. != $x)' "$T/list.before"); do mc record get "$id" >"$T/before.$id"; done
old=$(keyhex "$D/keys/org.key")
[ "$old" = "$(orgpk "St A")" ] || fail "keys/org.key is St A's key"
nkeys=$(ls "$D/keys" | wc -l)

# Refusals leave nothing behind: no spare key, org.key as it was.
expect_exit 64 mc org rotate-key extra
expect_exit 77 mc --as "Dr A" org rotate-key
[ "$(ls "$D/keys" | wc -l)" -eq "$nkeys" ] || fail "a refused rotation leaves no key file"
[ "$(keyhex "$D/keys/org.key")" = "$old" ] || fail "a refused rotation keeps org.key"
ok "a misuse or a non-admin is refused and leaves the keys as they were"

# A kill after the new key is written, before anything is committed: the
# old state, whole.
need_test_hooks
h0=$(height)
code=0; MEDCHAIN_TEST_CRASH=org-after-keyfile mc org rotate-key >/dev/null 2>&1 || code=$?
[ "$code" -eq 137 ] || fail "the test hook kills the rotation (exit $code)"
[ "$(height)" -eq "$h0" ] && [ "$(keyhex "$D/keys/org.key")" = "$old" ] || fail "nothing committed, org.key unchanged"
for id in $(jq -r --arg x "$(cat "$T/r2")" '.[].record | select(. != $x)' "$T/list.before"); do
    mc record get "$id" | cmp -s - "$T/before.$id" || fail "record $id reads after a kill before the commit"
done
mc verify >/dev/null || fail "verify after a kill before the commit"
ok "a kill before the commit leaves the old state"

# A kill after the commit, before org.key is replaced: the next command
# that loads the organization key finishes the swap.
code=0; MEDCHAIN_TEST_CRASH=org-after-commit mc org rotate-key >/dev/null 2>&1 || code=$?
[ "$code" -eq 137 ] || fail "the test hook kills the rotation after the commit (exit $code)"
new=$(orgpk "St A")
[ -n "$new" ] && [ "$new" != "$old" ] || fail "the chain names the new key"
[ "$(keyhex "$D/keys/org.key")" = "$old" ] || fail "org.key is still the old key after the kill"
[ -f "$D/keys/$new.key" ] || fail "the new key waits as keys/<key>.key"
# the swap itself stopped half-way: the old key already kept as retired
mkdir -p "$D/keys/retired"; chmod 700 "$D/keys/retired"
ln "$D/keys/org.key" "$D/keys/retired/$old.key"
mc record get "$(cat "$T/r3")" | cmp -s - "$T/before.$(cat "$T/r3")" || fail "the first read after the kill"
[ "$(keyhex "$D/keys/org.key")" = "$new" ] || fail "the read finished the swap: org.key is the new key"
[ ! -e "$D/keys/$new.key" ] || fail "no copy of the new key is left beside org.key"
[ "$(keyhex "$D/keys/retired/$old.key")" = "$old" ] || fail "the old key is kept in keys/retired"
ok "a kill after the commit is finished by the next command"

# The old key file destroyed: every record stored under it reads back.
rm -f "$D/keys/retired/$old.key"
for f in $(find "$D" -name '*.key'); do [ "$(keyhex "$f")" != "$old" ] || fail "old key left: $f"; done
for id in $(jq -r --arg x "$(cat "$T/r2")" '.[].record | select(. != $x)' "$T/list.before"); do
    mc record get "$id" | cmp -s - "$T/before.$id" || fail "record $id reads with the old key destroyed"
done
[ "$(mc record get "$(cat "$T/r1")" --version 1)" = "lab result one" ] || fail "an older version reads"
[ "$(mc --as "Dr A" record get "$(cat "$T/r2")")" = "imaging report" ] || fail "its author reads it back"
[ "$(mc --as "Dr B" record get "$(cat "$T/r1")" --version 1)" = "lab result one" ] || fail "the other organization's shared copy reads"
ok "every old record reads back with the old key file destroyed"

# New records go under the new key; staff are bound to the organization
# that carries the name; the pseudonyms stay.
printf 'after the rotation' | mc --as "Dr A" record put --subject MRN-1 --category note --type text/plain >"$T/r4"
[ "$(mc --as "Dr A" record get "$(cat "$T/r4")")" = "after the rotation" ] || fail "a new record reads"
mdb_dump -s keywrap "$D/db" >"$T/kw"; grep -q "$new" "$T/kw" || fail "the new record's key is wrapped for the new organization"
[ "$(mc --json record list --subject MRN-1 | jq length)" -eq 3 ] || fail "MRN-1 names the same pseudonym before and after"
[ "$(mc --json identity list | jq --arg o "$old" '[.[] | select(.key == $o and .revoked != null)] | length')" -eq 1 ] \
    || fail "the old organization identity is revoked"
ok "new records under the new key, staff of St A store them, pseudonyms unchanged"

# Sharing old records after the rotation: a new grant re-wraps them.
mc consent grant --subject MRN-1 --to "Dr B" --purpose research --scope imaging 2>"$T/share.err" >/dev/null
grep -q "1 record version shared" "$T/share.err" || fail "an old record in the old key's custody is shared: $(cat "$T/share.err")"
[ "$(mc --as "Dr B" record get "$(cat "$T/r2")" --purpose research)" = "imaging report" ] || fail "the other organization reads it"
ok "old records are shared with another organization after the rotation"

# The audit trail shows it.
mc audit list >"$T/audit"
grep -q "ORG_ROTATE.*organization key ${old:0:16} replaced by ${new:0:16}" "$T/audit" || fail "audit list shows the rotation"
mc --json audit list --actor admin | jq -e --arg o "$old" --arg n "$new" \
    '.events | map(select(.type == "ORG_ROTATE" and .old_org == $o and .new_org == $n)) | length == 1' >/dev/null \
    || fail "audit list --json names the old and new keys"
mc verify >/dev/null || fail "verify after the rotation"
ok "the rotation is on the audit trail; verify passes"

# verify checks every resealed KEK against the hash the rotation committed.
# flip DB: one hex digit of the first row's value changed, with LMDB's tools
flip() {
    mdb_dump -s "$1" "$D/db" >"$T/dump"
    awk 'BEGIN { inb = 0 } /^HEADER=END/ { inb = 1; print; next } /^DATA=END/ { inb = 0 }
        inb && ++k == 2 { c = substr($0, 30, 1); d = (c == "0") ? "1" : "0"; print substr($0, 1, 29) d substr($0, 31); next }
        { print }' "$T/dump" >"$T/dump2"
    cmp -s "$T/dump" "$T/dump2" && fail "the tamper of $1 changed nothing"
    mdb_load -s "$1" -f "$T/dump2" "$D/db" 2>/dev/null
}
cp -a "$D" "$T/base"
flip orgkeks
expect_exit 65 mc verify
grep -q "resealed key-encryption key" "$T/err" && grep -Eq "block [0-9]+" "$T/err" || fail "verify names the resealed KEK: $(cat "$T/err")"
rm -rf "$D"; cp -a "$T/base" "$D"
flip orgsucc
expect_exit 65 mc verify
grep -q "organization successions: entry" "$T/err" || fail "verify names the table that differs: $(cat "$T/err")"
rm -rf "$D"; cp -a "$T/base" "$D"
ok "a changed resealed KEK or succession row fails verify"

# A second rotation carries the keys held from the first.
mc org rotate-key >/dev/null 2>&1 || fail "a second rotation"
for id in $(jq -r --arg x "$(cat "$T/r2")" '.[].record | select(. != $x)' "$T/list.before"); do
    mc record get "$id" | cmp -s - "$T/before.$id" || fail "record $id reads after two rotations"
done
[ "$(mc --as "Dr A" record get "$(cat "$T/r4")")" = "after the rotation" ] || fail "the first rotation's records read"
mc verify >/dev/null || fail "verify after two rotations"
ok "a second rotation keeps every record readable"

# Keys shared WITH an organization survive its rotation: for the test the
# node takes B Hospital's key as its organization key, B's admin rotates it,
# and Dr B reads what St A shared with B before.
mc identity add --name "Admin B" --role admin --org "B Hospital" --no-passphrase >/dev/null
bpk=$(orgpk "B Hospital"); apk=$(keyhex "$D/keys/org.key")
mv "$D/keys/org.key" "$D/keys/$apk.key"; mv "$D/keys/$bpk.key" "$D/keys/org.key"
expect_exit 77 mc org rotate-key      # St A's admin rotates only St A's key
mc --as "Admin B" org rotate-key >/dev/null 2>&1 || fail "B's admin rotates B's key"
rm -f "$D/keys/retired/$bpk.key"
[ "$(mc --as "Dr B" record get "$(cat "$T/r1")" --version 1)" = "lab result one" ] || fail "a key shared with B before B's rotation"
[ "$(mc --as "Dr B" record get "$(cat "$T/r2")" --purpose research)" = "imaging report" ] || fail "the other key shared with B"
mc verify >/dev/null || fail "verify after the other organization's rotation"
ok "keys shared with an organization read after its rotation"

# A sealed organization key is replaced by one sealed the same way.
rm -rf "$D"
printf 'correct horse battery staple\n' >"$T/pass"
mc --passphrase-file "$T/pass" init -q --org "St S"
printf 'sealed org' | mc --passphrase-file "$T/pass" record put --subject MRN-9 --category lab --type text/plain >"$T/s1"
mc --passphrase-file "$T/pass" org rotate-key >/dev/null 2>&1 || fail "rotation with sealed keys"
[ "$(kind "$D/keys/org.key")" = "01" ] || fail "the new organization key is sealed"
rm -rf "$D/keys/retired"
[ "$(mc --passphrase-file "$T/pass" record get "$(cat "$T/s1")")" = "sealed org" ] || fail "reads with the new sealed key"
ok "a sealed organization key is replaced by a sealed one"
