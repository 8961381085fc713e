# SPDX-License-Identifier: Apache-2.0
# The enroller-grant alert follows the enroller across a key rotation. An
# admin who enrolled a patient identity under a key of their own, then had
# their own key rotated (a holder's rotation raises no alert), could give
# themselves access in the patient's name unseen: the grant named the new
# key, the enrolment the old one, and no alert was listed. Likewise a grant
# given before the rotation lost its alert when the rotation moved it to
# the new key. Both are enroller-grant alerts now.
. "$(dirname "$0")/lib.sh"

init_node --org "St A"
mc identity add --name "Admin X" --role admin --no-passphrase >/dev/null
mc --as "Admin X" identity add --name Pat --role patient --subject P --no-passphrase >/dev/null
mc --as "Admin X" identity add --name Quinn --role patient --subject Q --no-passphrase >/dev/null
printf 'lab P' | mc record put --subject P --category lab --type text/plain >/dev/null
g1=$(mc --as Quinn consent grant --subject Q --to "Admin X" --purpose treatment) || fail "Quinn's grant"
mc --json alerts | jq -e --arg g "$g1" '[.[] | select(.alert == "enroller-grant" and .grant == $g)] | length == 1' >/dev/null \
    || fail "before any rotation the grant is an enroller-grant"
mkdir -m 0700 "$T/home"
new=$("$MEDCHAIN_BIN" identity keygen --no-passphrase -o "$T/home/new.key")
install -m 0600 "$T/home/new.key" "$D/keys/$new.key"
mc --as "Admin X" identity rotate "Admin X" --key "$new" >/dev/null || fail "Admin X's own holder rotation: $(cat "$T/err" 2>/dev/null)"
mc --json alerts | jq -e 'all(.[]; .alert != "lost-key-rotation")' >/dev/null || fail "a holder's rotation raises no alert"
ok "setup: Admin X enrolled Pat and Quinn, Quinn granted to Admin X, Admin X's key rotated by its holder"

mc --json alerts >"$T/a1.json"
jq -e --arg g "$g1" --arg n "$new" '[.[] | select(.alert == "enroller-grant" and .grant == $g and .actor == $n)] | length == 1' \
    "$T/a1.json" >/dev/null || fail "the grant moved to Admin X's new key is still an enroller-grant: $(cat "$T/a1.json")"
ok "a grant to the enroller stays flagged after the enroller's key rotated"

g2=$(mc --as Pat consent grant --subject P --to "Admin X" --purpose treatment) || fail "Pat's grant"
mc --json alerts >"$T/a2.json"
jq -e --arg g "$g2" --arg n "$new" '[.[] | select(.alert == "enroller-grant" and .grant == $g and .actor == $n)] | length == 1' \
    "$T/a2.json" >/dev/null || fail "a grant to the enroller's new key is an enroller-grant: $(cat "$T/a2.json")"
ok "a patient-signed grant to the enroller under a rotated key is an enroller-grant"
