# SPDX-License-Identifier: Apache-2.0
# A display name taken again (a revoked "Dr A", then a new "Dr A": allowed)
# never makes one person's audited act look like the other's (attack
# finding 6 of session 12): `alerts`, `alerts --all` and `consent list`
# show each name with its key prefix, as `audit list` does; `alerts
# --json`, the audit CSV and FHIR exports and the FHIR Consent export carry
# the key; the console's Audit and Consent screens show the prefix beside
# every name at 80x24 (a long name is cut, never the prefix), its filter
# titles and revoke question too, and its audit export keeps to the
# identity filtered on even after that name is taken again.
. "$(dirname "$0")/lib.sh"
need_tool tmux

init_node
admin=$(mc --json identity list | jq -r '.[] | select(.name == "admin") | .key')
a1=$(mc identity add --name "Dr A" --role clinician --no-passphrase)
r=$(echo "note" | mc record put --subject MRN-1 --category note --type text/plain)
g1=$(mc consent grant --subject MRN-1 --to "Dr A" --purpose treatment --until 3d)
mc --as "Dr A" record get "$r" --break-glass "real emergency" >/dev/null 2>&1
mc identity revoke "$a1" --reason "left the hospital" >/dev/null
a2=$(mc identity add --name "Dr A" --role clinician --no-passphrase)
g2=$(mc consent grant --subject MRN-1 --to "$a2" --purpose treatment --until 3d)
mc --as "$a2" record get "$r" --break-glass "nothing urgent" >/dev/null 2>&1
k1=${a1:0:8} k2=${a2:0:8} ka=${admin:0:8}
[ "$k1" != "$k2" ] || fail "two keys with one prefix: rerun"

# alerts, text: every name with its key prefix
mc alerts >"$T/al"
grep -q "break-glass read by Dr A ($k1) of record $r" "$T/al" || fail "the departed Dr A's read shows $k1: $(cat "$T/al")"
grep -q "break-glass read by Dr A ($k2) of record $r" "$T/al" || fail "the new Dr A's read shows $k2: $(cat "$T/al")"
grep -q "grant $g1 to Dr A ($k1) ends" "$T/al" || fail "an ending grant names its grantee with the key prefix"
grep -q "grant $g2 to Dr A ($k2) recorded by staff member admin ($ka), not by the patient" "$T/al" \
    || fail "a staff grant names grantee and staff with key prefixes: $(cat "$T/al")"
[ "$(grep -o "Dr A" "$T/al" | wc -l)" = "$(grep -o "Dr A ([0-9a-f]\{8\})" "$T/al" | wc -l)" ] \
    || fail "no 'Dr A' in the alerts without its key prefix: $(cat "$T/al")"
[ "$(grep -o "admin" "$T/al" | wc -l)" = "$(grep -o "admin ($ka)" "$T/al" | wc -l)" ] \
    || fail "no 'admin' in the alerts without its key prefix"
bg2=$(mc --json alerts | jq -r --arg a "$a2" '.[] | select(.alert == "break-glass" and .actor == $a) | .id')
mc alerts ack "$bg2" --reason "asked the ward" >/dev/null
mc alerts --all | grep -q "^$bg2 .*break-glass read by Dr A ($k2) .*\[acknowledged by admin ($ka): asked the ward\]" \
    || fail "alerts --all names who acknowledged with the key prefix: $(mc alerts --all)"
ok "alerts tell the two Dr A apart by key prefix (break-glass, grants, staff, acknowledgements)"

# alerts --json: the keys beside the names
mc --json alerts --all >"$T/al.json"
jq -e --arg a1 "$a1" --arg a2 "$a2" '[.[] | select(.alert == "break-glass") | .actor] | sort == ([$a1, $a2] | sort)' \
    "$T/al.json" >/dev/null || fail "the break-glass alerts carry both actors' keys: $(cat "$T/al.json")"
jq -e --arg ad "$admin" --arg a2 "$a2" '[.[] | select(.alert == "staff-grant" and .actor == $a2)][0]
    | .actor_name == "Dr A" and .recorded_by == $ad and .recorded_by_name == "admin"' "$T/al.json" >/dev/null \
    || fail "a staff grant alert carries the grantee's and the recorder's keys"
jq -e --arg ad "$admin" '[.[] | select(.acked)][0].acked_by == $ad' "$T/al.json" >/dev/null \
    || fail "an acknowledged alert carries the acknowledger's key"
jq -e '[.[] | select(has("actor_name")) | select((.actor | test("^[0-9a-f]{64}$")) | not)] | length == 0' \
    "$T/al.json" >/dev/null || fail "every alert with an actor_name has the actor's key"
ok "alerts --json carries every named identity's key"

# consent list, text: the grantee's key prefix
mc consent list >"$T/cl"
grep -q "^$g1 .* Dr A ($k1) " "$T/cl" || fail "consent list shows the first grant's grantee with $k1: $(cat "$T/cl")"
grep -q "^$g2 .* Dr A ($k2) " "$T/cl" || fail "consent list shows the second grant's grantee with $k2: $(cat "$T/cl")"
ok "consent list tells the two grantees apart"

# exports: the key in a machine-readable field
mc audit export --format csv >"$T/a.csv"
head -1 "$T/a.csv" | grep -q "^time,block,tx,type,actor,actor_name," || fail "the CSV has the actor's key column"
grep -q ",ACCESS,$a1,Dr A,.*,real emergency$" "$T/a.csv" || fail "the CSV carries the departed Dr A's key: $(cat "$T/a.csv")"
grep -q ",ACCESS,$a2,Dr A,.*,nothing urgent$" "$T/a.csv" || fail "the CSV carries the new Dr A's key"
mc audit export --format fhir >"$T/a.fhir"
for pair in "$a1:real emergency" "$a2:nothing urgent"; do
    jq -e --arg k "${pair%%:*}" --arg why "${pair#*:}" '[.entry[].resource
        | select((.outcomeDesc // "") | endswith($why))][0].agent[0].who
        | .identifier.system == "urn:medchain:identity" and .identifier.value == $k and .display == "Dr A"' \
        "$T/a.fhir" >/dev/null || fail "the FHIR AuditEvent of '${pair#*:}' names its agent by key"
done
mc consent export --subject MRN-1 >"$T/c.fhir"
for pair in "$g1:$a1" "$g2:$a2"; do
    jq -e --arg g "${pair%%:*}" --arg k "${pair#*:}" '[.. | objects | select(.resourceType? == "Consent")
        | select(tostring | contains($g))][0] | [.. | objects | select(.identifier?.system? == "urn:medchain:identity")
        | .identifier.value] | index($k)' "$T/c.fhir" >/dev/null \
        || fail "the FHIR Consent of ${pair%%:*} names its grantee by key: $(cat "$T/c.fhir")"
done
ok "audit export (CSV, FHIR) and consent export carry the key of every actor and grantee"

# a long name: cut on screen, never its key prefix
al=$(mc identity add --name "Dr Alexandra Longname-Smith" --role clinician --no-passphrase)
kl=${al:0:8}
gl=$(mc consent grant --subject MRN-1 --to "$al" --purpose research)
mc --as "$al" record get "$r" --purpose research >/dev/null 2>&1

tmux_shell
tmux_console

# Audit: each row's actor with its key prefix
keys 5; wait_for "ACTOR"
wait_for "Dr A ($k2)"
pane | grep -F "Dr A ($k1)" | grep -q "break-glass" || { pane >&2; fail "the Audit screen shows the departed Dr A's read with $k1"; }
pane | grep -F "Dr A ($k2)" | grep -q "break-glass" || { pane >&2; fail "the Audit screen shows the new Dr A's read with $k2"; }
pane | grep -F "($kl)" | grep -q "research permit" || { pane >&2; fail "a long name's read shows its key prefix"; }
! pane | grep -q "Dr A ($kl)" || { pane >&2; fail "a cut long name is marked, never shown as another 'Dr A'"; }
pane | grep "^ 20" >"$T/rows"
[ "$(grep -cE "Dr A( |$)" "$T/rows")" = "$(grep -c "Dr A ([0-9a-f]\{8\})" "$T/rows")" ] || { pane >&2; fail "no 'Dr A' in the Audit list without a key prefix"; }
# the newest event (the long name's read) in full below the list
pane | grep -q "^ *Actor  *Dr Alexandra Longname-Smith$" || { pane >&2; fail "the detail pane gives the actor's full name"; }
pane | grep -q "^ *Actor key  *$al$" || { pane >&2; fail "the detail pane gives the actor's key"; }
awk 'length > 80 { exit 1 }' <(pane) || fail "the Audit screen keeps to 80 columns"
ok "the console's Audit screen tells the two Dr A apart; a long name is cut, its key prefix kept"
# an acknowledgement's row says what it acknowledged (its EVENT cell was
# empty: the screen named only reads, grants and revocations)
pane | grep -F "admin ($ka)" | grep -q "ack break-glass $bg2" \
    || { pane >&2; fail "the Audit screen's row of an acknowledgement names the alert's kind and id"; }
ok "the console's Audit screen names an acknowledged alert"

# Consent: the grantee with its key prefix; the revoke question too
keys 4; wait_for "GRANTEE"
pane | grep "^ ${g1:0:8} " | grep -qF "Dr A ($k1)" || { pane >&2; fail "the Consent screen shows grant ${g1:0:8} to Dr A ($k1)"; }
pane | grep "^ ${g2:0:8} " | grep -qF "Dr A ($k2)" || { pane >&2; fail "the Consent screen shows grant ${g2:0:8} to Dr A ($k2)"; }
pane | grep "^ ${gl:0:8} " | grep -qF "($kl)" || { pane >&2; fail "the Consent screen keeps a long name's key prefix"; }
awk 'length > 80 { exit 1 }' <(pane) || fail "the Consent screen keeps to 80 columns"
row=$(mc --json consent list | jq -r --arg g "$g1" 'map(.grant) | index($g)')
keys Home; for i in $(seq 1 "$row"); do keys Down; done; sleep 0.2
keys x; wait_for "Revoke grant ${g1:0:12}... to Dr A ($k1) for treatment?"
keys n; sleep 0.2
# a filter by grantee: the title names it with its key prefix
keys /; wait_for "Filter grants"
keys Enter "$a2" Enter
wait_for "Consent grants to Dr A ($k2)"
! pane | grep -q "^ ${g1:0:8} " || { pane >&2; fail "filtered on the new Dr A, the departed one's grant is not listed"; }
ok "the console's Consent screen, its revoke question and its filter tell the two Dr A apart"

# an audit export from the console keeps to the identity filtered on, even
# when its name is taken again after the filter was set
b1=$(mc identity add --name "Dr B" --role clinician --no-passphrase)
mc --as "Dr B" record get "$r" --break-glass "first Dr B" >/dev/null 2>&1
keys 5; wait_for "ACTOR"
keys /; wait_for "Filter the audit trail"
keys Enter "Dr B" Enter Enter Enter Enter
wait_for "actor Dr B (${b1:0:8})"
mc identity revoke "$b1" --reason "left" >/dev/null
b2=$(mc identity add --name "Dr B" --role clinician --no-passphrase)
mc --as "$b2" record get "$r" --break-glass "second Dr B" >/dev/null 2>&1
keys e; wait_for "Export the audit trail"
keys Down
for i in $(seq 1 20); do keys BSpace; done
keys "$T/export.csv" Enter
for i in $(seq 1 100); do [ -s "$T/export.csv" ] && grep -q "first Dr B" "$T/export.csv" && break; sleep 0.1; done
grep -q ",ACCESS,$b1,Dr B,.*,first Dr B$" "$T/export.csv" || fail "the export holds the filtered Dr B's read: $(cat "$T/export.csv" 2>&1)"
! grep -q "$b2" "$T/export.csv" || fail "the export holds nothing of the Dr B enrolled after the filter was set"
ok "the console's audit export keeps to the key filtered on, not the name"

keys q; wait_for "shell>"
