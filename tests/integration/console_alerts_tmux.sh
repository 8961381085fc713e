# SPDX-License-Identifier: Apache-2.0
# The console's Dashboard lists alerts with their ids and acknowledges the
# selected one with a key: under tmux at 80x24, Down selects the second
# break-glass alert, 'a' asks for a reason in a form, the acknowledgement
# is on the chain (alerts --all shows who and why, the audit trail holds
# it), and the Dashboard no longer lists it. Help lists the key; an
# auditor at the console is not offered it.
. "$(dirname "$0")/lib.sh"
need_tool tmux

init_node
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
mc identity add --name "Aud" --role auditor --no-passphrase >/dev/null
id=$(echo "note for P1" | mc record put --subject P1 --category note --type text/plain)
mc --as "Dr A" record get --break-glass "unconscious in the ER" "$id" >/dev/null 2>&1
mc --as "Dr A" record get --break-glass "still unconscious" "$id" >/dev/null 2>&1
mc --json alerts >"$T/a.json"
first=$(jq -r '[.[] | select(.alert == "break-glass")][0].id' "$T/a.json")
second=$(jq -r '[.[] | select(.alert == "break-glass")][1].id' "$T/a.json")

tmux_shell
tmux_console
wait_for "$first  "
wait_for "$second  "
ok "the Dashboard lists both break-glass alerts with their ids"

keys "?"; wait_for "WHAT IT DOES"
pane | grep -qF "a      Dashboard" || { pane >&2; fail "Help lists 'a' on the Dashboard"; }
keys 1; wait_for "$first  "

keys Down; sleep 0.2
keys a; wait_for "Acknowledge break-glass $second"
keys "the ward confirmed the emergency" Enter
wait_for "alert $second acknowledged in block"
mc --json alerts --all | jq -e --arg s "$second" '.[] | select(.id == $s) | .acked and .acked_by_name == "admin" and .ack_reason == "the ward confirmed the emergency"' >/dev/null \
    || fail "alerts --all shows the console's acknowledgement with who and why"
mc --json alerts | jq -e --arg f "$first" 'map(.id) | index($f)' >/dev/null || fail "the first alert is not acknowledged"
mc --json audit list | jq -e --arg s "$second" '.events[] | select(.type == "ALERT_ACK") | .alert_id == $s' >/dev/null \
    || fail "the audit trail holds the ALERT_ACK"
keys r; sleep 0.5
! pane | grep -qF "$second" || { pane >&2; fail "the Dashboard no longer lists the acknowledged alert"; }
pane | grep -qF "$first" || fail "the Dashboard still lists the other one"
ok "Down, a, a reason: acknowledged on the chain; the Dashboard no longer lists it"

keys q; wait_for "shell>"
keys "clear; $MEDCHAIN_BIN --datadir $D --as Aud" Enter
wait_for "Aud (auditor)"
wait_for "$first  "
h=$(height)
keys a; sleep 0.5
! pane | grep -qF "Acknowledge break-glass" || { pane >&2; fail "an auditor is not offered the acknowledgement"; }
[ "$(height)" -eq "$h" ] || fail "nothing written"
keys q; wait_for "shell>"
ok "an auditor at the console: 'a' does nothing, nothing is written"
