# SPDX-License-Identifier: Apache-2.0
# Acknowledging an alert: every alert has a stable id; an admin's
# `alerts ack ID --reason T` goes on the chain as an ALERT_ACK, in the
# audit trail; the alert leaves `alerts`, the Dashboard's list and check's
# break-glass count, and comes back with --all, marked with who and why. A
# non-admin is refused (77), a reason is required (64), an id that names no
# alert is 65; the acknowledgement survives the process and verify replays it.
. "$(dirname "$0")/lib.sh"

init_node
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
mc identity add --name "Aud" --role auditor --no-passphrase >/dev/null
printf '{"resourceType":"Observation","note":"SECRET-%s"}' "$RANDOM" >"$T/payload"
id=$(mc record put --subject MRN-7 --category lab "$T/payload")
mc --as "Dr A" record get --break-glass "unconscious patient in the ER" "$id" >/dev/null 2>&1
mc --as "Dr A" record get --break-glass "second look" "$id" >/dev/null 2>&1

mc --json alerts >"$T/a1.json"
jq -e '[.[] | select(.alert == "break-glass")] | length == 2' "$T/a1.json" >/dev/null || fail "two break-glass alerts"
jq -e 'all(.[]; (.id | test("^[0-9a-f]{16}$")) and .acked == false)' "$T/a1.json" >/dev/null \
    || fail "every alert has a 16-hex-digit id and is not acknowledged"
aid=$(jq -r '[.[] | select(.alert == "break-glass")][0].id' "$T/a1.json")
other=$(jq -r '[.[] | select(.alert == "break-glass")][1].id' "$T/a1.json")
[ "$aid" != "$other" ] || fail "two reads, two ids"
mc --json alerts | jq -e --arg a "$aid" 'map(.id) | index($a)' >/dev/null || fail "the id is stable from run to run"
mc alerts | grep -q "^$aid  .*break-glass read by Dr A" || fail "the text output starts with the id"
expect_exit 1 mc check -w break-glass=5 -c break-glass=9   # WARNING: verify never run
grep -q "2 break-glass reads" "$T/out" || fail "check counts both reads"
ok "every alert has a stable id, in text and --json"

# Refusals change nothing.
expect_exit 77 mc --as Aud alerts ack "$aid" --reason "looked at it"
grep -q "only an admin" "$T/err" || fail "the refusal says only an admin acknowledges"
expect_exit 77 mc --as "Dr A" alerts ack "$aid" --reason "it was me"
expect_exit 64 mc alerts ack "$aid"
grep -q -- "--reason" "$T/err" || fail "the usage error names --reason"
expect_exit 64 mc alerts ack "$aid" --reason ""
expect_exit 64 mc alerts ack "$aid" --reason "$(printf 'bad\033[2Jterm')"
expect_exit 64 mc alerts ack "$aid" --reason "$(head -c 513 /dev/zero | tr '\0' x)"
expect_exit 65 mc alerts ack 0123456789abcdef --reason "no such alert"
grep -q "no alert '0123456789abcdef'" "$T/err" || fail "an unknown id is named"
expect_exit 65 mc alerts ack not-an-id --reason "x"
grep -q "not an alert id" "$T/err" || fail "a malformed id is named"
h0=$(height)
[ "$(mc --json alerts | jq '[.[] | select(.acked)] | length')" -eq 0 ] || fail "nothing acknowledged by a refusal"
ok "non-admins 77, no or bad reason 64, unknown or malformed id 65; the chain did not grow (height $h0)"

expect_exit 0 mc --json alerts ack "$aid" --reason "called the ER: a real emergency"
jq -e --arg a "$aid" '.id == $a and .alert == "break-glass" and (.block | type == "number")' "$T/out" >/dev/null \
    || fail "ack --json names the id, kind and block: $(cat "$T/out")"
[ "$(height)" -eq $((h0 + 1)) ] || fail "one block"
mc --json alerts >"$T/a2.json"
jq -e --arg a "$aid" 'map(.id) | index($a) | not' "$T/a2.json" >/dev/null || fail "the acknowledged alert is hidden"
jq -e --arg o "$other" 'map(.id) | index($o)' "$T/a2.json" >/dev/null || fail "the other alert is still listed"
mc --json alerts --all >"$T/a3.json"
jq -e --arg a "$aid" '.[] | select(.id == $a) | .acked == true and .acked_by_name == "admin" and .ack_reason == "called the ER: a real emergency"' \
    "$T/a3.json" >/dev/null || fail "--all lists it acknowledged, with who and why: $(cat "$T/a3.json")"
admin=$(mc --json identity list | jq -r '.[] | select(.name == "admin") | .key')
mc alerts --all | grep -q "^$aid .*\[acknowledged by admin (${admin:0:8}): called the ER: a real emergency\]" \
    || fail "--all in text marks it acknowledged"
expect_exit 1 mc check -w break-glass=5 -c break-glass=9
grep -q "1 break-glass read in 24 h" "$T/out" || fail "check leaves the acknowledged read out"
ok "ack: one block; hidden from alerts and check, shown by --all with who and why"

# Twice: refused before a tx is written.
expect_exit 65 mc alerts ack "$aid" --reason "again"
grep -q "already acknowledged" "$T/err" || fail "a second ack says it is already acknowledged"
[ "$(height)" -eq $((h0 + 1)) ] || fail "no block for a second ack"

# The audit trail holds it; verify replays it (the ack table is derived).
mc --json audit list >"$T/audit.json"
jq -e --arg a "$aid" '.events[] | select(.type == "ALERT_ACK") | .alert_id == $a and .alert == "break-glass" and .actor_name == "admin" and .reason == "called the ER: a real emergency"' \
    "$T/audit.json" >/dev/null || fail "the audit trail lists the ALERT_ACK: $(cat "$T/audit.json")"
mc audit list | grep -q "ALERT_ACK .*admin .*$aid break-glass \"called the ER" || fail "audit list in text shows it"
mc audit export --format csv | grep -q "ALERT_ACK,.*called the ER: a real emergency" || fail "the CSV export holds it"
expect_exit 0 mc verify
ok "the ALERT_ACK is in the audit trail (text, JSON, CSV) and verify replays it"

# Other processes and a restored copy see the same: it is chain state.
mc backup "$T/bk" >/dev/null
"$MEDCHAIN_BIN" --datadir "$T/restored" restore "$T/bk" >/dev/null
"$MEDCHAIN_BIN" --datadir "$T/restored" --json alerts --all \
    | jq -e --arg a "$aid" '.[] | select(.id == $a) | .acked' >/dev/null || fail "a restored copy has the acknowledgement"
ok "the acknowledgement is chain state: a backup restored elsewhere has it"

# The admin an alert is about does not acknowledge it: the admin who
# recorded a consent form (staff-grant) is refused before any key is
# loaded, and the chain refuses it too; a second admin acknowledges it,
# and verify replays the rule.
gid=$(mc consent grant --subject MRN-7 --to "Dr A" --purpose research --form "form 2026-11")
sid=$(mc --json alerts | jq -r --arg g "$gid" '.[] | select(.alert == "staff-grant" and .grant == $g) | .id')
[ -n "$sid" ] || fail "the admin's consent form is a staff-grant alert"
h1=$(height)
expect_exit 77 mc alerts ack "$sid" --reason "my own form, all fine"
grep -q "another admin acknowledges it" "$T/err" || fail "the refusal says another admin acknowledges it: $(cat "$T/err")"
[ "$(height)" -eq "$h1" ] || fail "nothing committed for a self-acknowledgement"
mc identity add --name "Admin B" --role admin --no-passphrase >/dev/null
expect_exit 0 mc --as "Admin B" alerts ack "$sid" --reason "checked the signed form in the file"
mc --json alerts --all | jq -e --arg s "$sid" '.[] | select(.id == $s) | .acked_by_name == "Admin B"' >/dev/null \
    || fail "Admin B acknowledged it"
expect_exit 0 mc verify
ok "the admin who recorded a consent form cannot acknowledge its alert (77); a second admin does; verify replays it"

# A burst of denials is found on the chain by its last denial: another
# admin's acknowledgement of it commits, and verify replays it.
mc identity add --name "Dr C" --role clinician --no-passphrase >/dev/null
for _ in 1 2 3 4 5; do mc --as "Dr C" record get "$id" >/dev/null 2>&1 || true; done
bid=$(mc --json alerts | jq -r '.[] | select(.alert == "deny-burst") | .id')
[ -n "$bid" ] || fail "five denials are a deny-burst alert"
expect_exit 0 mc alerts ack "$bid" --reason "Dr C mistyped the record id"
mc --json alerts --all | jq -e --arg b "$bid" '.[] | select(.id == $b) | .acked' >/dev/null || fail "the burst is acknowledged"
expect_exit 0 mc verify
ok "a deny-burst is acknowledged by its id; verify replays the lookup"
