# SPDX-License-Identifier: Apache-2.0
# Two writer processes at once: the second waits for the first (LMDB's
# writer lock); nothing is lost or corrupted.
. "$(dirname "$0")/lib.sh"

init_node
gen_ndjson 3000 A >"$T/a.ndjson"
gen_ndjson 3000 B >"$T/b.ndjson"
mc record import --batch 100 "$T/a.ndjson" >"$T/a.out" &
pa=$!
mc record import --batch 100 "$T/b.ndjson" >"$T/b.out" &
pb=$!
for i in $(seq 1 20); do echo "single $i" | mc record put --subject S --category note --type text/plain >>"$T/c.out"; done
wait "$pa" || fail "first importer failed"
wait "$pb" || fail "second importer failed"
[ "$(wc -l <"$T/a.out")" -eq 3000 ] || fail "importer A reported all"
[ "$(wc -l <"$T/b.out")" -eq 3000 ] || fail "importer B reported all"
[ "$(mc --json record list | jq length)" -eq 6020 ] || fail "every record of both writers is present"
[ "$(height)" -eq $((30 + 30 + 20)) ] || fail "one block per batch and per put, none lost"
mc verify >/dev/null || fail "verify after concurrent writers"
ok "two importers and a putter at once: all 6020 records, verify passes"
