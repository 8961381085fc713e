# SPDX-License-Identifier: Apache-2.0
# identity rotate: an admin moves a person's identity to a new key its
# holder made (identity keygen) and signed for. In one IDENTITY_ROTATE the
# new key takes the name, roles, organization and (a patient's) subject, the
# grants to the old key name the new one, and the old key is revoked: the
# new key reads, the old one is refused. A clinician rotates nobody. Without
# the old key's signature (--lost-key) the rotation is the admin's word, and
# `alerts` lists it as lost-key-rotation: an admin cannot move Dr A's access
# to a key of their own unseen, nor a patient's identity to get around the
# one-patient-identity rule or the enroller-grant alert. verify replays it.
. "$(dirname "$0")/lib.sh"

init_node
for f in a1 a2 p1 p2; do printf 'secret of %s\n' "$f" >"$T/$f.pass"; done
chmod 0600 "$T"/*.pass
mkdir -m 0700 "$T/home"
keygen() { "$MEDCHAIN_BIN" --passphrase-file "$T/$1.pass" identity keygen -o "$T/home/$1.key"; }
handin() { install -m 0600 "$T/home/$1.key" "$D/keys/$2.key"; }
admin=$(mc --json identity list | jq -r '.[] | select(.name == "admin") | .key')

pka=$(keygen a1); handin a1 "$pka"
mc identity add --key "$pka" --name "Dr A" --role clinician >/dev/null
pkp=$(keygen p1); handin p1 "$pkp"
mc identity add --key "$pkp" --name Pat --role patient --subject P >/dev/null
mc identity add --name "Dr B" --role clinician --no-passphrase >/dev/null
printf 'SECRET-%s' "$RANDOM" >"$T/payload"
id=$(mc record put --subject P --category lab --type text/plain "$T/payload")
printf 'NOTE-%s' "$RANDOM" >"$T/note"
own=$(mc --passphrase-file "$T/a1.pass" --as "Dr A" record put --subject Q --category note --type text/plain "$T/note")
gp=$(mc --passphrase-file "$T/p1.pass" --as Pat consent grant --subject P --to "Dr A" --purpose treatment)
ga=$(mc consent grant --subject P --to "Dr A" --purpose research --form "form 2026-1")
mc --passphrase-file "$T/a1.pass" --as "Dr A" record get "$id" >"$T/got" || fail "Dr A reads before the rotation"
ok "setup: Dr A and Pat hold their own keys; Pat's grant and a staff grant to Dr A"

pka2=$(keygen a2); handin a2 "$pka2"
rot() { mc identity rotate "$@"; }

# usage and bad input: nothing committed
h0=$(height)
expect_exit 64 rot "Dr A"
expect_exit 64 rot "Dr A" --key "${pka2:0:60}"
expect_exit 64 rot "Dr A" --key "$pka2" --lost-key
grep -q -- "--reason" "$T/err" || fail "a lost-key rotation asks for its reason: $(cat "$T/err")"
expect_exit 64 rot "Dr A" --key "$pka2" --lost-key --reason "stolen" --old-passphrase-file "$T/a1.pass"
expect_exit 67 rot "Dr Nobody" --key "$pka2" --new-passphrase-file "$T/a2.pass" --old-passphrase-file "$T/a1.pass"
pkb=$(mc --json identity list | jq -r '.[] | select(.name == "Dr B") | .key')
expect_exit 65 rot "Dr A" --key "$pkb" --new-passphrase-file "$T/a2.pass" --old-passphrase-file "$T/a1.pass"
grep -q "already an enrolled identity" "$T/err" || fail "an enrolled key is refused: $(cat "$T/err")"
expect_exit 65 rot "Dr A" --key "$pka" --new-passphrase-file "$T/a1.pass" --old-passphrase-file "$T/a1.pass"
expect_exit 65 rot admin --key "$pka2" --new-passphrase-file "$T/a2.pass"
grep -q "keys/admin.key" "$T/err" || fail "the node's own admin key is not rotated away: $(cat "$T/err")"
# the holder's passphrases, and no other, unlock the two keys
expect_exit 77 rot "Dr A" --key "$pka2" --new-passphrase-file "$T/a1.pass" --old-passphrase-file "$T/a1.pass"
grep -q "wrong passphrase for the new key of Dr A" "$T/err" || fail "the wrong new-key passphrase is named: $(cat "$T/err")"
expect_exit 77 rot "Dr A" --key "$pka2" --new-passphrase-file "$T/a2.pass" --old-passphrase-file "$T/a2.pass"
grep -q "wrong passphrase for the current key of Dr A" "$T/err" || fail "the wrong old-key passphrase is named: $(cat "$T/err")"
# no terminal, no passphrase file: refused, not guessed
expect_exit 77 rot "Dr A" --key "$pka2" --old-passphrase-file "$T/a1.pass" </dev/null
[ "$(height)" = "$h0" ] || fail "nothing committed for refused rotations"
ok "identity rotate refuses bad input (64, 67, 65) and wrong holder passphrases (77), committing nothing"

# a clinician rotates nobody, not even with the holder's signatures
expect_exit 77 mc --as "Dr B" identity rotate "Dr A" --key "$pka2" --new-passphrase-file "$T/a2.pass" \
    --old-passphrase-file "$T/a1.pass"
grep -q "roles do not allow" "$T/err" || fail "the chain refuses a clinician's rotation: $(cat "$T/err")"
[ "$(height)" = "$h0" ] || fail "nothing committed for a clinician's rotation"
ok "a clinician cannot rotate anyone: 77, nothing committed"

mc --json identity rotate "Dr A" --key "$pka2" --new-passphrase-file "$T/a2.pass" \
    --old-passphrase-file "$T/a1.pass" >"$T/rot.json" || fail "the admin rotates Dr A with Dr A's signatures: $(cat "$T/err" 2>/dev/null)"
jq -e --arg n "$pka2" --arg o "$pka" '.key == $n and .old_key == $o and .rotation == "holder"' "$T/rot.json" >/dev/null \
    || fail "rotate --json names both keys: $(cat "$T/rot.json")"
mc --json identity list >"$T/ids.json"
jq -e --arg n "$pka2" --arg o "$pka" \
    '(.[] | select(.key == $o) | .revoked != null) and
     (.[] | select(.key == $n) | .name == "Dr A" and .roles == "clinician" and .revoked == null) and
     ([.[] | select(.key == $n)][0].org == [.[] | select(.key == $o)][0].org)' "$T/ids.json" >/dev/null \
    || fail "the new key holds Dr A's name, role and organization; the old one is revoked: $(cat "$T/ids.json")"
mc --json consent list --subject P >"$T/grants.json"
for g in "$gp" "$ga"; do
    jq -e --arg g "$g" --arg n "$pka2" '.[] | select(.grant == $g) | .grantee == $n and .status == "active"' \
        "$T/grants.json" >/dev/null || fail "grant $g now names the new key: $(cat "$T/grants.json")"
done
ok "one rotation: the new key is Dr A (name, role, organization), both grants moved, the old key revoked"

mc --passphrase-file "$T/a2.pass" --as "Dr A" record get "$id" >"$T/got" || fail "the new key reads under the moved grant"
cmp -s "$T/got" "$T/payload" || fail "identical bytes"
mc --passphrase-file "$T/a2.pass" --as "$pka2" record get --purpose research "$id" >/dev/null \
    || fail "the moved staff grant permits too"
mc --passphrase-file "$T/a2.pass" --as "Dr A" record get "$own" >"$T/got" || fail "Dr A reads back what Dr A stored with the old key"
cmp -s "$T/got" "$T/note" || fail "identical bytes of Dr A's own record"
mc --json audit list --subject Q | jq -e --arg n "$pka2" '[.events[] | select(.type == "ACCESS" and .actor == $n and .basis == "author")] | length == 1' \
    >/dev/null || fail "the read-back is a permit as the record's author"
h1=$(height)
expect_exit 77 mc --passphrase-file "$T/a1.pass" --as "$pka" record get "$id"
[ ! -s "$T/out" ] || fail "no plaintext for the old key"
grep -q "revoked" "$T/err" || fail "the old key is refused as revoked: $(cat "$T/err")"
[ "$(height)" = "$h1" ] || fail "a revoked key writes nothing"
ok "the new key reads (moved grants, and its own old records); the old key is refused (77)"

mc --json audit list >"$T/audit.json"
jq -e --arg n "$pka2" --arg o "$pka" --arg a "$admin" \
    '[.events[] | select(.type == "IDENTITY_ROTATE" and .old_key == $o and .new_key == $n and .actor == $a and .rotation == "holder")] | length == 1' \
    "$T/audit.json" >/dev/null || fail "the audit trail shows the rotation with both keys: $(cat "$T/audit.json")"
mc audit list | grep "IDENTITY_ROTATE" | grep -q "$pka -> $pka2 holder" || fail "text audit shows old -> new"
mc --json alerts | jq -e 'all(.[]; .alert != "lost-key-rotation")' >/dev/null || fail "a holder's rotation raises no lost-key alert"
ok "the audit trail shows who rotated which key to which"

# The patient rotates: one active identity for the subject throughout;
# the grants Pat gave stay valid.
pkp2=$(keygen p2); handin p2 "$pkp2"
rot Pat --key "$pkp2" --new-passphrase-file "$T/p2.pass" --old-passphrase-file "$T/p1.pass" >/dev/null \
    || fail "the patient's identity rotates: $(cat "$T/err" 2>/dev/null)"
mc --json consent list --subject P | jq -e --arg g "$gp" '.[] | select(.grant == $g) | .status == "active"' >/dev/null \
    || fail "the grant Pat gave with the old key stays active"
mc --passphrase-file "$T/a2.pass" --as "Dr A" record get "$id" >/dev/null || fail "Pat's grant still permits"
mc --json identity list | jq -e '[.[] | select(.roles == "patient" and .revoked == null)] | length == 1' >/dev/null \
    || fail "one active patient identity"
h2=$(height)
expect_exit 65 mc identity add --name "Fake Pat" --role patient --subject P --no-passphrase
grep -q "already has an active identity" "$T/err" || fail "a second patient identity is refused after a rotation"
[ "$(height)" = "$h2" ] || fail "nothing committed"
mc --passphrase-file "$T/p2.pass" --as Pat consent revoke "$gp" --reason "changed my mind" >/dev/null \
    || fail "the patient's new key revokes a grant the old key gave"
expect_exit 77 mc --passphrase-file "$T/a2.pass" --as "Dr A" record get "$id"
mc --json audit list --subject P | jq -e --arg n "$pkp2" '[.events[] | select(.type == "IDENTITY_ROTATE" and .new_key == $n)] | length == 1' \
    >/dev/null || fail "the patient's rotation is in the subject's audit trail"
ok "a patient's rotation keeps one active identity for the subject; the grants it gave stay, and its new key revokes them"

# The admin, with a key of the admin's own, cannot take Dr A's place by the
# holder's path (the old key must sign) ...
"$MEDCHAIN_BIN" identity keygen --no-passphrase -o "$T/home/evil.key" >"$T/evil.pk"
pke=$(cat "$T/evil.pk"); handin evil "$pke"
h3=$(height)
expect_exit 77 rot "Dr A" --key "$pke" --old-passphrase-file "$T/a1.pass"
[ "$(height)" = "$h3" ] || fail "nothing committed without Dr A's current key"
# ... only by declaring the key lost, which is flagged
mc identity rotate "Dr A" --key "$pke" --lost-key --reason "Dr A lost the laptop" >/dev/null \
    || fail "a lost-key rotation is accepted: $(cat "$T/err" 2>/dev/null)"
mc --json alerts >"$T/alerts.json"
jq -e --arg n "$pke" --arg o "$pka2" --arg a "$admin" \
    '[.[] | select(.alert == "lost-key-rotation" and .actor == $n and .old_key == $o and .rotated_by == $a and .actor_name == "Dr A")] | length == 1' \
    "$T/alerts.json" >/dev/null || fail "the lost-key rotation is an alert naming both keys and the admin: $(cat "$T/alerts.json")"
mc alerts | grep -q "Dr A (${pka2:0:8}) moved to key $pke by admin (${admin:0:8}) without the old key's signature" \
    || fail "text alerts name it, Dr A by the key replaced: $(mc alerts)"
mc --json audit list | jq -e --arg n "$pke" '[.events[] | select(.type == "IDENTITY_ROTATE" and .new_key == $n and .rotation == "lost-key" and .reason == "Dr A lost the laptop")] | length == 1' \
    >/dev/null || fail "the audit trail shows a lost-key rotation and its reason"
ok "the admin cannot move Dr A to a key of their own without the old key's signature, except as a lost-key rotation, which alerts list"

# A patient moved to a key the admin holds, granting the admin access in
# the patient's name: both the rotation and the grant are flagged.
"$MEDCHAIN_BIN" identity keygen --no-passphrase -o "$T/home/evilp.key" >"$T/evilp.pk"
pkx=$(cat "$T/evilp.pk"); handin evilp "$pkx"
rot Pat --key "$pkx" --lost-key --reason "patient forgot the passphrase" >/dev/null || fail "lost-key rotation of a patient"
mc --json identity list | jq -e '[.[] | select(.roles == "patient" and .revoked == null)] | length == 1' >/dev/null \
    || fail "still one active patient identity"
gx=$(mc --as "$pkx" consent grant --subject P --to admin --purpose treatment) || fail "the chain accepts the patient-signed grant"
mc --json alerts >"$T/alerts.json"
jq -e --arg g "$gx" --arg a "$admin" '[.[] | select(.alert == "enroller-grant" and .grant == $g and .actor == $a)] | length == 1' \
    "$T/alerts.json" >/dev/null || fail "a patient grant to the admin who rotated that patient's key is an enroller-grant: $(cat "$T/alerts.json")"
jq -e --arg n "$pkx" '[.[] | select(.alert == "lost-key-rotation" and .actor == $n)] | length == 1' "$T/alerts.json" >/dev/null \
    || fail "and the rotation itself is flagged"
ok "a patient's lost-key rotation is no way around the enroller-grant alert nor the one-identity rule"

expect_exit 0 mc verify
ok "verify replays every rotation"
