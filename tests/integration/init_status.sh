# SPDX-License-Identifier: Apache-2.0
# init makes a node with a genesis block; status and verify describe it.
. "$(dirname "$0")/lib.sh"

init_node --name n1 --org "St Example"
[ "$(height)" = 0 ] || fail "a new chain is at height 0"
mc --json status | jq -e '.validators | length == 1' >/dev/null || fail "one validator"
mc --json identity list | jq -e 'length == 3' >/dev/null || fail "node, admin and org identities"
mc verify | grep -q "^ok: 1 blocks" || fail "verify of the genesis chain"
[ "$(stat -c %a "$D/keys/node.key")" = 600 ] || fail "key files are 0600"
expect_exit 73 mc init --no-passphrase
grep -q "already initialised" "$T/err" || fail "second init names the problem"
ok "init, status, identity list, verify"

# The identity that stored a record reads it back (the read is audited).
printf 'stored by admin' | mc record put --subject P0 --category note --type text/plain >"$T/id0"
[ "$(mc record get "$(cat "$T/id0")")" = "stored by admin" ] || fail "the author reads its record back"
mc --json audit list --subject P0 | jq -e '.events[0].outcome == "permit" and .events[0].basis == "author"' >/dev/null \
    || fail "the author's read is audited as such"
ok "the author reads back its own record, audited"

# A sealed node: keys need the passphrase.
D2="$T/sealed"
printf 'correct horse\n' > "$T/pass"
"$MEDCHAIN_BIN" --datadir "$D2" --passphrase-file "$T/pass" init -q
! grep -qa "correct horse" "$D2"/keys/*.key || fail "passphrase not stored"
printf 'wrong\n' > "$T/wrong"
echo hello | "$MEDCHAIN_BIN" --datadir "$D2" --passphrase-file "$T/pass" record put --subject P1 --category note --type text/plain >"$T/id"
"$MEDCHAIN_BIN" --datadir "$D2" --passphrase-file "$T/pass" consent grant --subject P1 --to node1 --purpose treatment >/dev/null
expect_exit 77 "$MEDCHAIN_BIN" --datadir "$D2" --passphrase-file "$T/wrong" record get "$(cat "$T/id")"
grep -q "wrong passphrase" "$T/err" || fail "wrong passphrase is named"
[ "$("$MEDCHAIN_BIN" --datadir "$D2" --passphrase-file "$T/pass" record get "$(cat "$T/id")")" = hello ] || fail "sealed round trip"
expect_exit 77 setsid -w "$MEDCHAIN_BIN" --datadir "$D2" record get "$(cat "$T/id")" </dev/null
ok "sealed keys need the right passphrase"
