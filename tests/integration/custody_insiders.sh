# SPDX-License-Identifier: Apache-2.0
# Custody against insiders (block version 3): another organization's staff,
# its admin included, neither amend nor erase a record this organization
# holds in custody; its own staff still do, and verify replays the chain.
. "$(dirname "$0")/lib.sh"

init_node --org "St A"
mc identity add --name "B Hospital" --role org --no-passphrase >/dev/null
mc identity add --name "Admin B" --role admin --org "B Hospital" --no-passphrase >/dev/null
mc identity add --name "Dr B" --role clinician --org "B Hospital" --no-passphrase >/dev/null
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
printf 'first' | mc record put --subject MRN-1 --category lab --type text/plain >"$T/r1"
r=$(cat "$T/r1")
h=$(height)

printf 'changed by B' >"$T/amend"
expect_exit 77 mc --as "Dr B" record put --amend "$r" --subject MRN-1 --category lab --type text/plain "$T/amend"
grep -q "custodian" "$T/err" || fail "the amendment's refusal names the custodian: $(cat "$T/err")"
expect_exit 77 mc --as "Admin B" record erase "$r" --reason "another hospital's admin" --yes
grep -q "custodian organization's staff may erase" "$T/err" || fail "the erasure's refusal says who may erase: $(cat "$T/err")"
[ "$(height)" = "$h" ] || fail "a refused amendment or erasure commits nothing"
[ "$(mc record get "$r")" = first ] || fail "the record is unchanged"
ok "another organization's clinician and admin neither amend nor erase the record"

printf 'second' | mc --as "Dr A" record put --amend "$r" --subject MRN-1 --category lab --type text/plain >/dev/null
[ "$(mc --as "Dr A" record get "$r")" = second ] || fail "the custodian's clinician amends"
mc record erase "$r" --reason "patient request" --yes >/dev/null
expect_exit 66 mc record get "$r"
mc verify >/dev/null || fail "verify replays the custody rules"
ok "the custodian's own clinician amends and its admin erases; verify agrees"
