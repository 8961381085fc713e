# SPDX-License-Identifier: Apache-2.0
# Consent is given by the patient, or recorded for them by staff whose role
# records consent forms (admin, registrar): nobody grants themself, a
# clinician grants to nobody, a patient grants only for their own subject,
# every grant staff recorded is in `alerts`, and verify replays the rule.
. "$(dirname "$0")/lib.sh"

init_node
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
mc identity add --name "Dr B" --role clinician --no-passphrase >/dev/null
printf 'SECRET-%s' "$RANDOM" >"$T/payload"
id=$(mc record put --subject P --category note --type text/plain "$T/payload")
h0=$(height)

expect_exit 77 mc --as "Dr A" consent grant --subject P --to "Dr A" --purpose treatment
grep -q "cannot grant consent to itself" "$T/err" || fail "the refusal says why: $(cat "$T/err")"
[ "$(height)" = "$h0" ] || fail "nothing committed for a self-grant"
expect_exit 77 mc --as "Dr A" record get "$id"
[ ! -s "$T/out" ] || fail "no plaintext after a refused self-grant"
ok "a clinician granting themself consent: 77, nothing committed, still denied"

h0=$(height)
expect_exit 77 mc --as "Dr A" consent grant --subject P --to "Dr B" --purpose treatment
[ "$(height)" = "$h0" ] || fail "nothing committed for a clinician's grant"
expect_exit 77 mc --as "Dr B" record get "$id"
ok "a clinician granting another clinician: 77, nothing committed"

h0=$(height)
expect_exit 77 mc consent grant --subject P --to admin --purpose treatment
[ "$(height)" = "$h0" ] || fail "nothing committed for the admin's self-grant"
ok "the admin granting themself: 77"

mc identity add --name Pat --role patient --subject P --no-passphrase >/dev/null
# a second patient identity for the same subject (staff posing as the
# patient to grant in their name) is refused; one for another subject is not
h0=$(height)
expect_exit 65 mc identity add --name "Fake Pat" --role patient --subject P --no-passphrase
grep -q "already has an active identity" "$T/err" || fail "a second patient identity is refused: $(cat "$T/err")"
[ "$(height)" = "$h0" ] || fail "nothing committed for a second patient identity"
mc identity add --name Reg --role registrar --no-passphrase >/dev/null || fail "identity add --role registrar"
mc --json identity list | jq -e '.[] | select(.name == "Reg") | .roles | index("registrar")' >/dev/null \
    || fail "the registrar role is listed"
h1=$(height)
expect_exit 77 mc --as Pat consent grant --subject Q --to "Dr A" --purpose treatment
[ "$(height)" = "$h1" ] || fail "nothing committed for a patient's grant on another subject"
gp=$(mc --as Pat consent grant --subject P --to "Dr A" --purpose treatment) || fail "the patient grants for themself"
mc --as "Dr A" record get "$id" >"$T/got" || fail "the patient's grant permits"
cmp -s "$T/got" "$T/payload" || fail "identical bytes"
ok "the patient grants for their own subject, not for another"

gr=$(mc --as Reg consent grant --subject P --to "Dr B" --purpose treatment --form "form 2026-9") \
    || fail "the registrar records a consent form"
mc --as "Dr B" record get "$id" >/dev/null || fail "the registrar's grant permits"
ga=$(mc consent grant --subject P --to "Dr B" --purpose research --form "form 2026-10")
ok "registrar and admin record consent forms"

# Revocation: the grantee may give up their own grant; a clinician may not
# revoke another's grant; the patient and the registrar may.
expect_exit 77 mc --as "Dr A" consent revoke "$gr" --reason "not mine"
mc --as "Dr B" consent revoke "$gr" --reason "no longer treating" >/dev/null || fail "the grantee gives up their grant"
mc --as Pat consent revoke "$ga" --reason "withdrawn" >/dev/null || fail "the patient revokes a staff grant"
ok "revocation: the grantee and the patient yes, another clinician no"

mc --json alerts >"$T/alerts.json" || fail "alerts --json"
jq -e --arg g "$gr" '[.[] | select(.alert == "staff-grant")] | map(.grant) | index($g)' "$T/alerts.json" >/dev/null \
    || fail "the registrar's grant is a staff-grant alert: $(cat "$T/alerts.json")"
jq -e --arg g "$ga" '[.[] | select(.alert == "staff-grant")] | map(.grant) | index($g)' "$T/alerts.json" >/dev/null \
    || fail "the admin's grant is a staff-grant alert"
jq -e --arg g "$gp" '[.[] | select(.alert == "staff-grant")] | map(.grant) | index($g) | not' "$T/alerts.json" >/dev/null \
    || fail "the patient's own grant is no alert"
mc alerts >"$T/alerts.txt"
grep -q "$gr" "$T/alerts.txt" || fail "text alerts name the staff grant"
jq -e --arg g "$gp" '[.[] | select(.alert == "enroller-grant")] | map(.grant) | index($g) | not' "$T/alerts.json" >/dev/null \
    || fail "a patient's grant to someone who did not enrol them raises no enroller-grant: $(cat "$T/alerts.json")"
# staff who enrol a patient identity with a key they hold, then grant
# themselves access in the patient's name: flagged
mc identity add --name "Pat Two" --role patient --subject P2 --no-passphrase >/dev/null
admin=$(mc --json identity list | jq -r '.[] | select(.name == "admin") | .key')
ge=$(mc --as "Pat Two" consent grant --subject P2 --to admin --purpose treatment) || fail "a patient grant to the admin is accepted by the chain"
mc --json alerts >"$T/alerts.json" || fail "alerts --json"
jq -e --arg g "$ge" --arg a "$admin" '[.[] | select(.alert == "enroller-grant" and .grant == $g and .actor == $a and .patient_identity_name == "Pat Two")] | length == 1' \
    "$T/alerts.json" >/dev/null || fail "a patient grant to the staff member who enrolled that patient is an enroller-grant alert: $(cat "$T/alerts.json")"
mc alerts | grep -q "signed by the patient identity Pat Two ([0-9a-f]\{8\}), which admin (${admin:0:8}) enrolled" \
    || fail "text alerts name the enroller grant: $(mc alerts)"
ok "alerts list every staff-recorded grant, not the patient's, and a patient grant to whoever enrolled that patient"

# A record's custodian is its author's own organization.
mc identity add --name "Other Org" --role org --no-passphrase >/dev/null
mc identity add --name "Dr C" --role clinician --org "Other Org" --no-passphrase >/dev/null
h2=$(height)
expect_exit 77 mc --as "Dr C" record put --subject P --category note --type text/plain "$T/payload"
grep -q "not the author's own organization" "$T/err" || fail "the refusal names the custodian rule: $(cat "$T/err")"
[ "$(height)" = "$h2" ] || fail "nothing committed for a record in another organization's custody"
mc --as "Dr A" record put --subject P --category note --type text/plain "$T/payload" >/dev/null \
    || fail "a clinician enrolled without --org stores records in this node's custody"
nodeorg=$(mc --json identity list | jq -r '.[] | select(.name == "admin") | .org')
[ -n "$nodeorg" ] && [ "$(mc --json identity list | jq -r '.[] | select(.name == "Dr A") | .org')" = "$nodeorg" ] ||
    fail "staff enrolled without --org belong to this node's organization ($nodeorg), so the custodian rule binds them"
ok "a clinician of another organization cannot store records in this one's custody; staff enrolled without --org belong to the node's"

expect_exit 0 mc verify
ok "verify replays the consent authorship rule"
