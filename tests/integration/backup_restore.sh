# SPDX-License-Identifier: Apache-2.0
# medchain backup / restore: a backup taken while an import runs restores to
# a data dir that verifies, with every record the backup's head holds; a
# damaged backup is never restored; nothing is overwritten; keys only when
# asked, sealed ones still sealed.
. "$(dirname "$0")/lib.sh"

init_node
id=$(echo "kept note" | mc record put --subject P1 --category note --type text/plain)
gen_ndjson 30000 MRN >"$T/recs.ndjson"
mc record import --batch 2000 "$T/recs.ndjson" >"$T/import.out" &
imp=$!
# once some batches are committed, and while more are coming
for i in $(seq 1 200); do [ "$(wc -l <"$T/import.out")" -ge 2000 ] && break; sleep 0.02; done
expect_exit 0 mc --json backup "$T/b1"
cp "$T/out" "$T/b1.json"
wait "$imp" || fail "the import went on while the backup ran"
h=$(jq -r .height "$T/b1.json")
n=$(jq -r .record_versions "$T/b1.json")
[ "$h" -ge 1 ] || fail "the backup holds the chain"
[ "$n" -gt 1 ] && [ "$n" -lt "$(mc --json record list | jq length)" ] \
    || fail "the backup was taken while the import ran (it holds $n record versions)"
[ "$(stat -c %a "$T/b1/db/data.mdb")" = 600 ] || fail "the backup's store is 0600"
[ ! -e "$T/b1/keys" ] || fail "no keys unless asked"
ok "a backup taken during an import: height $h, $n record versions, verified before it was kept"

R="$T/restored"
expect_exit 0 "$MEDCHAIN_BIN" --datadir "$R" restore "$T/b1"
grep -q "it verifies" "$T/out" || fail "restore says it verifies"
expect_exit 0 "$MEDCHAIN_BIN" --datadir "$R" verify
[ "$("$MEDCHAIN_BIN" --datadir "$R" --json status | jq -r .height)" -eq "$h" ] || fail "the restored chain is the backup's"
[ "$("$MEDCHAIN_BIN" --datadir "$R" --json record list | jq length)" -eq "$n" ] || fail "every record version is back"
ok "restored into a new data dir: it verifies, with the backup's height and records"

# keys when asked; a restored node with them reads its records
expect_exit 0 mc backup --with-keys "$T/b2"
[ "$(stat -c %a "$T/b2/keys/admin.key")" = 600 ] || fail "key files stay 0600"
R2="$T/restored2"
expect_exit 0 "$MEDCHAIN_BIN" --datadir "$R2" restore "$T/b2"
[ "$("$MEDCHAIN_BIN" --datadir "$R2" record get "$id")" = "kept note" ] || fail "the restored node reads its record"
ok "with --with-keys the key files come along (0600) and the restored node reads its records"

# nothing overwritten, bad input named
expect_exit 73 mc backup "$T/b1"
expect_exit 73 "$MEDCHAIN_BIN" --datadir "$R" restore "$T/b1"
expect_exit 66 "$MEDCHAIN_BIN" --datadir "$T/r3" restore "$T"
expect_exit 64 mc backup
ok "an existing backup dir 73, a data dir with a chain 73, not a backup 66, no dir 64"

# a damaged backup is never restored (a stored KEK changed, as someone with
# the files could with LMDB's own tools)
cp -a "$T/b1" "$T/bad"
mdb_dump -s keks "$T/bad/db" >"$T/keks.dump"
awk '/^HEADER=END/ { inb = 1; print; next } /^DATA=END/ { inb = 0 } inb && ++k == 2 { c = substr($0, 12, 1); $0 = substr($0, 1, 11) (c == "0" ? "1" : "0") substr($0, 13) } { print }' \
    "$T/keks.dump" >"$T/keks.bad"
mdb_load -s keks -f "$T/keks.bad" "$T/bad/db" 2>/dev/null
expect_exit 65 "$MEDCHAIN_BIN" --datadir "$T/r4" restore "$T/bad"
grep -q "fails verification" "$T/err" || fail "the refusal says why"
[ ! -e "$T/r4/db" ] || fail "nothing restored from a damaged backup"
ok "a damaged backup: exit 65, nothing restored"
