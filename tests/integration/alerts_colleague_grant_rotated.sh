# SPDX-License-Identifier: Apache-2.0
# The enroller-colleague-grant alert is no longer dodged by rotating the
# patient identity first. An admin who enrolled a patient identity with a
# key of their own could rotate it to another key they made (a holder's
# rotation: they hold the old key, so no lost-key alert) and have the new
# key grant to a colleague at once: the enroller was looked up by an
# enrolment naming the new key, found none, and nothing was listed. The
# admin who rotated the identity is now who put it in someone's hands, and
# the window runs from the rotation.
. "$(dirname "$0")/lib.sh"

init_node --org "St A"
mc identity add --name "Dr C" --role clinician --no-passphrase >/dev/null
echo note | mc record put --subject P1 --category note --type text/plain >/dev/null
mc identity add --name "Pat One" --role patient --subject P1 --no-passphrase >/dev/null
mkdir -m 0700 "$T/home"
new=$("$MEDCHAIN_BIN" identity keygen --no-passphrase -o "$T/home/new.key")
install -m 0600 "$T/home/new.key" "$D/keys/$new.key"
mc identity rotate "Pat One" --key "$new" >/dev/null || fail "the admin rotates Pat One with both keys: $(cat "$T/err" 2>/dev/null)"
mc --json alerts | jq -e 'all(.[]; .alert != "lost-key-rotation")' >/dev/null || fail "a holder's rotation raises no alert"
g=$(mc --as "Pat One" consent grant --subject P1 --to "Dr C" --purpose treatment) || fail "the new key grants"
admin=$(mc --json identity list | jq -r '.[] | select(.name == "admin") | .key')
ok "setup: the admin enrolled Pat One, rotated it to a key on the node, and the new key granted to Dr C"

mc --json alerts >"$T/alerts.json"
jq -e --arg g "$g" --arg p "$new" --arg e "$admin" '
    [.[] | select(.alert == "enroller-colleague-grant" and .grant == $g and .patient_identity == $p
        and .enrolled_by == $e)] | length == 1' "$T/alerts.json" >/dev/null \
    || fail "the grant to the rotating admin's colleague is flagged: $(cat "$T/alerts.json")"
ok "a patient-signed grant to a colleague soon after the admin rotated the identity is an enroller-colleague-grant"
