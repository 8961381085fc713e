# SPDX-License-Identifier: Apache-2.0
# The console under tmux at 80x24, driven by keys and read back from the
# pane: every screen shows real data from the chain, ? lists every key of
# the action table, a grant made there is in `consent list` and revoked
# there is revoked, a read without consent is denied on screen and in the
# audit trail, "anchor now" runs in the background, a resize to 40x10 and
# back leaves no garbage, q gives the shell back as it was; Nodes shows
# this node up while `medchain serve` runs; without a terminal `medchain`
# prints usage and exits 64.
. "$(dirname "$0")/lib.sh"
need_tool tmux

init_node --name "ward-node" --org "Test Hospital"
mc identity add --name "Dr A" --role clinician --org "Test Hospital" --no-passphrase >/dev/null
for i in 1 2 3 4 5; do echo "note $i for P$i" | mc record put --subject "P$i" --category note --type text/plain >/dev/null; done
gen_ndjson 30 MRN | mc record import -q >/dev/null
g1=$(mc consent grant --subject P1 --to "Dr A" --purpose treatment --until 30d)
r1=$(mc --json record list --subject P1 | jq -r '.[0].record')
mc --as "Dr A" record get "$r1" >/dev/null
start_anvil --slots-in-an-epoch 1 --block-time 1
anchor_setup
mc anchor --wait 60 -q

tmux_shell BEFORE-CONSOLE
tmux_console

# 1..6: six screens, each with real data from the chain
h=$(height)
wait_for "height        $h"
keys 2; wait_for "ward-node"
keys 3; wait_for "$(mc --json record list | jq -r '.[0].record' | cut -c1-12)"
keys 4; wait_for "$(echo "$g1" | cut -c1-8)"
keys 5; wait_for "$(echo "$r1" | cut -c1-8) v1 treatment permit"
keys 6; wait_for "$(mc --json anchor list | jq -r '.[0].tx_hash' | cut -c1-14)"
# its confirmations come from the public chain in the background
wait_for "confirmations from the public chain"
conf=$(mc --json anchor list --public | jq -r '.[0].confirmations')
[ "$conf" -ge 1 ] || fail "anchor list --public gives confirmations"
ok "keys 1 to 6 reach six screens, each showing data from the chain"

# ? lists every key of the action table
keys "?"; wait_for "WHAT IT DOES"
for k in "1 Dashboard" "2 Nodes" "3 Records" "4 Consent" "5 Audit" "6 Anchors" "? help" "q quit" \
    "Up/k" "Down/j" "PgUp" "PgDn" "Home" "End" "r reload" "Esc"; do
    pane | grep -qF -- "$k" || fail "Help lists '$k'"
done
for k in "V      Dashboard" "Enter  Records" "b      Records" "h      Records" "/      Records" \
    "g      Consent" "x      Consent" "/      Consent" "a      Consent" "e      Consent" \
    "/      Audit" "f      Audit" "e      Audit" "a      Anchors" "v      Anchors"; do
    pane | grep -qF -- "$k" || fail "Help lists '$k'"
done
ok "? lists every key of the action table"

# a grant made in the console is in consent list; revoked there, it is revoked
keys 4 g; wait_for "New consent grant"
keys "P5" Enter "Dr A" Enter Enter "note" Enter "30d" Enter
wait_for "made in block"
g5=$(mc --json consent list --subject P5 | jq -r '.[0].grant')
[ "$(mc --json consent list --subject P5 | jq -r '.[0].status + " " + .[0].grantee_name + " " + .[0].purpose + " " + .[0].scope')" = "active Dr A treatment note" ] \
    || fail "the console's grant is in consent list"
keys End; sleep 0.3
# the new grant's row: move the cursor onto it
for i in $(seq 1 5); do pane | grep -F "$(echo "$g5" | cut -c1-8)" | grep -q active && break; keys Up; sleep 0.1; done
row=$(mc --json consent list | jq -r --arg g "$g5" 'map(.grant) | index($g)')
keys Home; for i in $(seq 1 "$row"); do keys Down; done; sleep 0.2
keys x; wait_for "Revoke grant $(echo "$g5" | cut -c1-12)"
keys y; wait_for "Revoke a grant"
keys "patient asked" Enter
wait_for "revoked in block"
[ "$(mc --json consent list --subject P5 | jq -r '.[0].status')" = revoked ] || fail "revoked in the console: revoked in consent list"
ok "a grant made in the console shows in consent list; revoked there, it shows revoked"

# resize to 40x10 and back: no crash, no garbage
keys 2; wait_for "Validators in force"
before=$(pane | head -n 20)
tm resize-window -t c -x 40 -y 10; sleep 0.5
wait_for "terminal too small: 40x10"
tm resize-window -t c -x 80 -y 24; sleep 0.5
wait_for "Validators in force"
[ "$(pane | head -n 20)" = "$before" ] || { pane >&2; fail "the screen after resizing back is the screen before"; }
ok "a resize to 40x10 says the terminal is too small; back at 80x24 the screen is as before"

# q quits and gives the shell back as it found it
keys q
wait_for "shell>"
sleep 0.3
pane | grep -q "BEFORE-CONSOLE" || fail "the shell's screen is back"
! pane | grep -q "1 Dashboard" || fail "no console text is left behind"
ok "q quits and leaves the terminal as it found it"

# as Dr A, without consent: denied on screen and in the audit trail
keys "clear; $MEDCHAIN_BIN --datadir $D --as 'Dr A'" Enter
wait_for "Dr A (clinician)"
keys 3 /; wait_for "Filter records"
keys "P2" Enter Enter
wait_for "Records of patient P2"
keys Enter; wait_for "Read a record"
keys Enter; wait_for "access denied"
r2=$(mc --json record list --subject P2 | jq -r '.[0].record')
[ "$(mc --json audit list --subject P2 | jq -r --arg r "$r2" '[.events[] | select(.record == $r and .outcome == "deny")] | length')" -eq 1 ] \
    || fail "audit list has the deny event"
# and with consent, permitted and shown
keys /; wait_for "Filter records"
keys C-u; for i in 1 2; do keys BSpace; done
keys "P1" Enter Enter; wait_for "Records of patient P1"
keys Enter; wait_for "Read a record"
keys Enter; wait_for "note 1 for P1"
keys Escape; wait_for "read audited in block"
ok "a read without consent shows a denial and audit list has the deny event; with consent the record is shown"

# anchor now runs in the background while keys are answered
keys 6; wait_for "Last committed anchor"
keys q; wait_for "shell>"
keys "clear; $MEDCHAIN_BIN --datadir $D" Enter; wait_for "1 Dashboard"
keys 6 a; keys 1; wait_for "Chain"
wait_for "anchor (exit 0)"
[ "$(mc --json anchor list | jq length)" -ge 2 ] || fail "anchor now made an anchor"
ok "anchor now runs as a background job while other screens answer"
keys q; wait_for "shell>"

# a job that hangs on the network: keys are still answered, Esc stops it
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(600)' >"$T/hole.port" &
for i in $(seq 1 50); do hole=$(head -1 "$T/hole.port"); [ -n "$hole" ] && break; sleep 0.1; done
mc proof export "$r1" -o "$T/r1.proof"
cp "$D/medchain.conf" "$T/conf.keep"
sed -i "s|^rpc_url = .*|rpc_url = http://127.0.0.1:$hole|" "$D/medchain.conf"
keys "clear; $MEDCHAIN_BIN --datadir $D" Enter; wait_for "1 Dashboard"
keys 6 v; wait_for "Verify a proof bundle"
keys "$T/r1.proof" Enter
wait_for "verifying the proof"
keys 1; wait_for "Blocks per hour"
pane | grep -q "Esc cancels" || fail "the job's progress shows while another screen is up"
keys Escape; wait_for "cancelled"
keys q; wait_for "shell>"
cp "$T/conf.keep" "$D/medchain.conf"
ok "a job waiting on an unanswering node: other screens still answer keys, Esc cancels it"

# a sealed key: the passphrase is asked before the console opens, never echoed
printf 'correct horse battery\n' >"$T/pass"
pks=$(mc identity add --name "Dr S" --role clinician --org "Test Hospital" --new-passphrase-file "$T/pass")
[ "$(od -An -tx1 -j8 -N1 "$D/keys/$pks.key" | tr -d ' ')" = 01 ] \
    || fail "identity add seals the key (no --no-passphrase) even on a node whose own keys are unsealed"
keys "clear; $MEDCHAIN_BIN --datadir $D --as 'Dr S'" Enter
wait_for "Passphrase for the key of Dr S:"
keys "correct horse battery" Enter
wait_for "Dr S (clinician)"
keys q; wait_for "shell>"
! pane | grep -q "correct horse" || fail "the passphrase is never echoed"
ok "a sealed operator key: the passphrase prompt never echoes, and the console opens as that identity"

# monochrome, NO_COLOR and an ASCII locale
keys "clear; NO_COLOR=1 LANG=C TERM=vt100 $MEDCHAIN_BIN --datadir $D" Enter
wait_for "1 Dashboard"
wait_for "Blocks per hour"
keys 4 g; wait_for "New consent grant"
pane | grep -q "+-" || fail "boxes in ASCII on a non-UTF-8 locale"
keys Escape q; wait_for "shell>"
ok "NO_COLOR, a vt100 and the C locale: the console works in monochrome ASCII"

# Nodes: this node's own row, state unknown without serve; with a real
# `medchain serve` it turns up at the chain's height within a refresh tick
self_key=$(mc --json node list | jq -r '.nodes[] | select(.self) | .node' | cut -c1-12)
[ ${#self_key} -eq 12 ] || fail "node list --json names this node"
keys "clear; $MEDCHAIN_BIN --datadir $D" Enter; wait_for "1 Dashboard"
keys 2; wait_for "serve not running"
pane | grep -F "$self_key" | grep -qw unknown || { pane >&2; fail "Nodes lists this node ($self_key), state unknown without serve"; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MEDCHAIN_LISTEN=127.0.0.1:$port "$MEDCHAIN_BIN" --datadir "$D" serve >"$T/serve.log" 2>&1 &
serve_pid=$!
for i in $(seq 1 100); do [ -f "$D/serve.status.json" ] && break; sleep 0.1; done
[ -f "$D/serve.status.json" ] || { cat "$T/serve.log" >&2; fail "serve writes serve.status.json"; }
h=$(height)
wait_for ": 1, 1 up"
pane | grep -F "$self_key" | grep -qE " up +$h +0 " || { pane >&2; fail "Nodes shows this node up at height $h, lag 0"; }
keys 1; wait_for "validators    1, 1 up"
kill -TERM "$serve_pid"; wait "$serve_pid" || true
[ ! -e "$D/serve.status.json" ] || fail "serve removes its status file when it stops"
keys 2; wait_for "serve not running"
keys q; wait_for "shell>"
ok "Nodes lists this node: unknown without serve, up at height $h while medchain serve runs"

# no terminal: usage and 64
expect_exit 64 mc
grep -q "usage" "$T/err" || fail "usage without a terminal"
ok "without a terminal, medchain prints usage and exits 64"
