# SPDX-License-Identifier: Apache-2.0
# No two active identities share a display name (block version 3): an
# enrolment under an active identity's name exits 65 naming the holder's
# key prefix (not the name: serve logs refusals), and leaves no key file and no block; a revoked identity's name
# may be taken again. audit list and identity list show a key prefix next to
# each name, so a revoked "Dr A" and the new one are told apart.
. "$(dirname "$0")/lib.sh"

init_node --org "St A"
a1=$(mc identity add --name "Dr A" --role clinician --no-passphrase)
keys=$(ls "$D/keys" | wc -l)
h=$(height)
expect_exit 65 mc identity add --name "Dr A" --role clinician --no-passphrase
grep -q "already has this display name" "$T/err" || fail "the refusal says the name is taken: $(cat "$T/err")"
! grep -q "Dr A" "$T/err" || fail "the refusal does not repeat the name (serve logs refusals): $(cat "$T/err")"
grep -q "${a1:0:8}" "$T/err" || fail "the refusal names the holder's key prefix: $(cat "$T/err")"
[ "$(ls "$D/keys" | wc -l)" -eq "$keys" ] || fail "no key file is left behind"
[ "$(height)" = "$h" ] || fail "nothing is committed"
expect_exit 65 mc identity add --name "Dr A" --role patient --subject MRN-1 --no-passphrase
expect_exit 65 mc identity add --name "St A" --role org --no-passphrase
ok "an enrolment under an active identity's name (any role) exits 65 naming the holder; nothing written"

# A name that only looks like another one: spaces at either end or doubled,
# a no-break space, an invisible character. Each printed as "Dr A" in
# lists, audits and alerts and was accepted as a name of its own.
h=$(height)
for n in "Dr A " " Dr A" "Dr  A" "$(printf 'Dr\u00a0A')" "$(printf 'Dr A\u200b')" "$(printf 'Dr\u2009A')" \
    "$(printf '\ufeffDr A')" "$(printf 'Dr A\u00ad')"; do
    expect_exit 65 mc identity add --name "$n" --role clinician --no-passphrase
    grep -q "space" "$T/err" || fail "the refusal of '$n' says why: $(cat "$T/err")"
done
[ "$(ls "$D/keys" | wc -l)" -eq "$keys" ] || fail "no key file is left behind"
[ "$(height)" = "$h" ] || fail "nothing is committed"
mc identity add --name "$(printf 'Dr Zo\u00eb M\u00fcller-\u674e')" --role clinician --no-passphrase >/dev/null \
    || fail "letters of any script and single spaces are fine"
ok "a name with spaces at an end, doubled or not ASCII, or invisible characters, exits 65; nothing written"

mc identity add --name "Dr a" --role clinician --no-passphrase >/dev/null || fail "another name is fine"
r=$(echo note | mc record put --subject MRN-1 --category note --type text/plain)
expect_exit 77 mc --as "Dr A" record get "$r"
mc identity revoke "$a1" --reason "left" >/dev/null
a2=$(mc identity add --name "Dr A" --role clinician --no-passphrase) || fail "a revoked identity's name may be taken again"
ok "a revoked identity's name is free again"

# both Dr A's tried to read: audit list tells them apart by key prefix
expect_exit 77 mc --as "$a2" record get "$r"
mc audit list >"$T/audit.txt"
grep -q "Dr A (${a1:0:8})" "$T/audit.txt" || { cat "$T/audit.txt"; fail "audit list shows the old Dr A's key prefix"; }
grep -q "Dr A (${a2:0:8})" "$T/audit.txt" || { cat "$T/audit.txt"; fail "audit list shows the new Dr A's key prefix"; }
mc identity list >"$T/ids.txt"
grep "Dr A" "$T/ids.txt" | grep -q "^${a2}" || fail "identity list shows the new Dr A's key"
mc verify >/dev/null || fail "verify replays the name rule"
ok "audit list shows a key prefix next to each name; verify agrees"
