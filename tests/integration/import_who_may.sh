#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# record import answers about stored records (a line is a duplicate of
# record R, its content changed, R is erased) before anything is signed:
# only whoever may store records in the custodian's custody gets those
# answers. An auditor, a patient's own identity and another organization's
# clinician are refused (exit 77) before any lookup: nothing printed on
# stdout, nothing committed; so is a revoked clinician (found in an attack, session 12: each got
# "duplicate" / "changed" for a record it may not read). The custodian's
# clinician imports as before.
. "$(dirname "$0")/lib.sh"

init_node --org "St A"
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
mc identity add --name "Aud" --role auditor --no-passphrase >/dev/null
mc identity add --name "Pat" --role patient --subject MRN-8 --no-passphrase >/dev/null
mc identity add --name "B Hospital" --role org --no-passphrase >/dev/null
mc identity add --name "Dr B" --role clinician --org "B Hospital" --no-passphrase >/dev/null
mc identity add --name "Dr R" --role clinician --no-passphrase >/dev/null
obs() { printf '{"subject":"MRN-7","category":"lab","payload":{"resourceType":"Observation","identifier":[{"system":"urn:lab","value":"ACC-1"}],"valueString":"%s"}}\n' "$1"; }
obs positive | mc record import - >"$T/id"
[ "$(wc -l <"$T/id")" -eq 1 ] || fail "the admin imports"
mc identity revoke "Dr R" --reason left >/dev/null
h0=$(height)
for who in Aud Pat "Dr B" "Dr R"; do
    code=0
    obs positive | mc --as "$who" --json record import - >"$T/out" 2>"$T/err" || code=$?
    [ "$code" -eq 77 ] || fail "$who: exit $code, want 77: $(cat "$T/out" "$T/err")"
    [ ! -s "$T/out" ] || fail "$who: nothing on stdout: $(cat "$T/out")"
    grep -Eq "store records|store its records|is revoked" "$T/err" || fail "$who: the refusal says why: $(cat "$T/err")"
done
[ "$(height)" = "$h0" ] || fail "nothing committed"
ok "an auditor, a patient, another organization's clinician and a revoked clinician are refused before any lookup (exit 77, nothing printed)"

obs positive | mc --as "Dr A" --json record import - >"$T/a"
jq -e '.imported == 0 and (.skipped | length) == 1' "$T/a" >/dev/null || fail "the custodian's clinician: $(cat "$T/a")"
ok "the custodian's clinician imports (the duplicate skipped)"
