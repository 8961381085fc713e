# SPDX-License-Identifier: Apache-2.0
# An operator who enrols a patient identity for a subject that has none,
# with a key of their own, and has it grant to a colleague is flagged: a
# patient-signed grant, within 24 hours of that patient identity's
# enrolment, to staff of the enrolling admin's own organization (other than
# the enroller: that is enroller-grant) is an enroller-colleague-grant
# alert, in text, --json and the Dashboard's count. A referral to another
# organization, the patient's grant to the enroller itself, and grants
# recorded by staff are not.
. "$(dirname "$0")/lib.sh"

init_node --org "St A"
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
mc identity add --name "B Hospital" --role org --no-passphrase >/dev/null
mc identity add --name "Dr B" --role clinician --org "B Hospital" --no-passphrase >/dev/null
key() { mc --json identity list | jq -r --arg n "$1" '.[] | select(.name == $n and .revoked == null) | .key'; }
kinds() { mc --json alerts | jq -r --arg g "$1" '[.[] | select(.grant == $g) | .alert] | join(",")'; }

# the operator's move: a patient identity with a key the admin holds, for a
# subject that has none, granting to a colleague
echo note | mc record put --subject P1 --category note --type text/plain >/dev/null
mc identity add --name "Pat One" --role patient --subject P1 --no-passphrase >/dev/null
g1=$(mc --as "Pat One" consent grant --subject P1 --to "Dr A" --purpose treatment)
mc --json alerts >"$T/alerts.json"
jq -e --arg g "$g1" --arg a "$(key "Dr A")" --arg p "$(key "Pat One")" --arg e "$(key admin)" '
    [.[] | select(.alert == "enroller-colleague-grant" and .grant == $g and .actor == $a and .actor_name == "Dr A"
        and .patient_identity == $p and .patient_identity_name == "Pat One"
        and .enrolled_by == $e and .enrolled_by_name == "admin" and .minutes_after_enrolment >= 0
        and .revoked == false)] | length == 1' "$T/alerts.json" >/dev/null \
    || fail "a patient grant to the enroller's colleague soon after enrolment is flagged: $(cat "$T/alerts.json")"
[ "$(kinds "$g1")" = enroller-colleague-grant ] || fail "one alert for the grant: $(kinds "$g1")"
mc alerts >"$T/alerts.txt"
ka=$(key admin); kd=$(key "Dr A"); kp=$(key "Pat One")
grep -q "grant $g1 to Dr A (${kd:0:8}), signed by the patient identity Pat One (${kp:0:8}) .* after admin (${ka:0:8}) of the same organization enrolled it" "$T/alerts.txt" \
    || fail "text alerts name the grantee, the patient identity and the enroller: $(cat "$T/alerts.txt")"
ok "a patient identity's grant to a colleague of whoever enrolled it, within 24 hours: enroller-colleague-grant"

# normal flows: a referral to another organization's clinician, a patient's
# grant to the enroller itself (enroller-grant alone), a consent form
mc identity add --name "Pat Two" --role patient --subject P2 --no-passphrase >/dev/null
g2=$(mc --as "Pat Two" consent grant --subject P2 --to "Dr B" --purpose treatment)
[ -z "$(kinds "$g2")" ] || fail "a referral to another organization raises nothing: $(kinds "$g2")"
g3=$(mc --as "Pat Two" consent grant --subject P2 --to admin --purpose treatment)
[ "$(kinds "$g3")" = enroller-grant ] || fail "a grant to the enroller is enroller-grant alone: $(kinds "$g3")"
g4=$(mc consent grant --subject P2 --to "Dr A" --purpose research --form "form 7")
[ "$(kinds "$g4")" = staff-grant ] || fail "a consent form is staff-grant alone: $(kinds "$g4")"
ok "a referral to another organization, a grant to the enroller, a consent form: no enroller-colleague-grant"

mc --as "Pat One" consent revoke "$g1" --reason "not mine" >/dev/null
mc --json alerts | jq -e --arg g "$g1" '.[] | select(.grant == $g and .alert == "enroller-colleague-grant") | .revoked == true' >/dev/null \
    || fail "a revoked one stays listed, marked revoked"
ok "revoked since: still listed, marked revoked"
