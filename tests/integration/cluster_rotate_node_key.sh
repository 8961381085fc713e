#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Four validators on loopback: node 2's key is rotated (`node rotate-key` on
# node 2, approved on nodes 1 and 3) while writes go on.
#  - the writes keep committing; every node has the new key in its set, and
#    `status`, `node list` and the peers show it at node 2's address;
#  - from the next block node 2 signs with the new key: with node 4 down,
#    nothing commits without node 2's vote, and commits go on;
#  - the retired key is refused: a request it signs (403), and a commit
#    whose certificate counts its vote towards a quorum;
#  - every node's chain verifies, with the rotation on the audit trail;
#  - node 2 restarted carries on with the new key (commits with node 4 down);
#  - node 3, down when its own rotation commits, catches up under its new key.
. "$(dirname "$0")/lib.sh"
: "${MC_ADVERSARY:?MC_ADVERSARY must name tests/adversary}"

cluster_start 4
pk_of() { od -An -tx1 -j10 -N32 "$1" | tr -d ' \n'; }
vals() { cn "$1" --json status | jq -r '.validators | join(",")'; }
# commits N NAME on node I: each write must commit within 10 s
commits() {
    local i
    for i in $(seq 1 "$2"); do
        timeout 10 env MEDCHAIN_COMMIT_TIMEOUT=8 "$MEDCHAIN_BIN" --datadir "$T/n$1" identity add --name "$3-$i" \
            --role clinician --no-passphrase >/dev/null || fail "$3: write $i on node $1 did not commit"
    done
}
[ "$(cl_leader 1)" = "${CL_KEY[1]}" ] || fail "node 1 does not lead"
old=${CL_KEY[2]}

# writes all along, on nodes 1, 3 and 4
: >"$T/writes"
( i=0; while [ ! -e "$T/stop" ]; do i=$((i + 1))
      n=$(( (i % 3 == 0) ? 1 : (i % 3 == 1 ? 3 : 4) ))
      timeout 20 "$MEDCHAIN_BIN" --datadir "$T/n$n" identity add --name "bg-$i" --role clinician --no-passphrase \
          >/dev/null 2>>"$T/writes.err" && echo "$i" >>"$T/writes"
  done ) &
writer=$!
sleep 1

tok=$(cn 2 --json node rotate-key --yes | jq -r '.token // empty')
[ -n "$tok" ] || fail "one approval of four committed a rotation"
[ -f "$T/n2/keys/node.next.key" ] || fail "rotate-key made no keys/node.next.key"
new=$(pk_of "$T/n2/keys/node.next.key")
[ "$(pk_of "$T/n2/keys/node.key")" = "$old" ] || fail "node.key changed before the rotation committed"
tok=$(cn 1 --json node approve "$tok" | jq -r '.token // empty')
[ -n "$tok" ] || fail "two approvals of four committed a rotation"
before=$(wc -l <"$T/writes")
cn 3 node approve "$tok" >"$T/out" || fail "three approvals of four did not commit the rotation"
grep -q "$new" "$T/out" || fail "approve does not name the new key: $(cat "$T/out")"
for t in $(seq 100); do grep -q "key was rotated" "$T/n2.log" && break; sleep 0.1; done
grep -q "key was rotated" "$T/n2.log" || { tail -20 "$T/n2.log"; fail "node 2's serve did not take its new key"; }
[ "$(pk_of "$T/n2/keys/node.key")" = "$new" ] && [ ! -e "$T/n2/keys/node.next.key" ] \
    || fail "node 2's key files did not switch"
retired="$T/n2/keys/node.retired-${old:0:16}.key"
[ "$(pk_of "$retired")" = "$old" ] || fail "the retired key is not kept as $retired"
ok "node rotate-key on node 2, approved on nodes 1 and 3: node 2's serve signs with the new key ${new:0:16}"

sleep 2
touch "$T/stop"
wait "$writer" 2>/dev/null || true
after=$(wc -l <"$T/writes")
[ "$after" -gt "$((before + 2))" ] || fail "writes did not go on across the rotation ($before before, $after after)"
cl_wait_same 20 1 2 3 4 || fail "heads differ after the rotation"
for i in 1 2 3 4; do
    v=$(vals "$i")
    [[ "$v" == *"$new"* && "$v" != *"$old"* ]] || fail "node $i's set does not have the new key in the old one's place: $v"
done
ok "writes went on across the rotation ($after committed, $((after - before)) after it); every node's set has the new key"

for t in $(seq 100); do
    [ "$(cn 1 --json node list | jq -r --arg k "$new" '.nodes[] | select(.node == $k) | .state')" = up ] && break
    sleep 0.1
done
cn 1 --json node list >"$T/list1"
jq -e --arg k "$new" --arg u "$(cl_url 2)" 'any(.nodes[]; .node == $k and .url == $u and .state == "up")' "$T/list1" >/dev/null \
    || { cat "$T/list1"; fail "node 1's node list does not show the new key up at node 2's address"; }
jq -e --arg k "$old" 'any(.nodes[]; .node == $k) | not' "$T/list1" >/dev/null || fail "node list still shows the retired key"
cn 2 --json node list | jq -e --arg k "$new" 'any(.nodes[]; .node == $k and .self)' >/dev/null \
    || fail "node 2 does not see itself under its new key"
jq -e --arg k "$new" 'any(.peers[]; .node == $k)' "$T/n1/serve.status.json" >/dev/null \
    || fail "node 1's peers do not show the new key"
cn 2 identity list | grep "${old}" | grep -q "(revoked)" || fail "the old key's identity is not revoked"
ok "node list and the peers show the new key at node 2's address; the old identity is revoked"

# from the next block node 2 votes with its new key: with node 4 down, a
# quorum (3 of 4) needs it
serve_kill 4
commits 1 2 without-4
commits 2 1 without-4-on-2
ok "with node 4 down, blocks commit: node 2's votes under its new key count"

# the retired key: its requests and its votes are refused
st=$(MC_ADVERSARY_KEY="$retired" "$MC_ADVERSARY" "$T/n2" "$(cl_url 1)" get /v1/status)
[ "$st" = 403 ] || fail "a request signed by the retired key was answered $st"
st=$(MC_ADVERSARY_KEY="$retired" "$MC_ADVERSARY" "$T/n2" "$(cl_url 3)" propose-height "$(( $(cl_height 3) + 1 ))")
[ "$st" = 403 ] || fail "a proposal signed by the retired key was answered $st"
h=$(cl_height 3)
"$MC_ADVERSARY" "$T/n1" "$(cl_url 3)" cert-with "$retired" "$T/n3" >"$T/forged"
read -r st why <"$T/forged"
[ "$st" != 200 ] || fail "a commit certified with the retired key's vote was taken"
[ "$(cl_height 3)" = "$h" ] || fail "node 3 moved on a commit certified with the retired key's vote"
ok "the retired key is refused: its request (403), its proposal (403), and its vote in a certificate ($st: $why)"

serve_kill 2
serve_start 2
grep -q "listening on" "$T/n2.log" || fail "node 2 did not restart"
commits 2 2 after-restart
commits 1 1 after-restart-on-1
[ "$(pk_of "$T/n2/keys/node.key")" = "$new" ] || fail "node 2 restarted with another key"
ok "node 2 restarted carries on with its new key (commits with node 4 down)"
serve_start 4
cl_wait_same 30 1 2 3 4 || fail "node 4 did not catch up"

# node 3 is down when its own rotation commits: restarted, it fetches that
# block under its new key (the old one is refused by then) and goes on
old3=${CL_KEY[3]}
tok=$(cn 3 --json node rotate-key --yes | jq -r '.token // empty')
new3=$(pk_of "$T/n3/keys/node.next.key")
serve_kill 3
tok=$(cn 1 --json node approve "$tok" | jq -r '.token // empty')
cn 2 node approve "$tok" >/dev/null || fail "node 3's rotation did not commit"
commits 1 2 while-3-down
serve_start 3
cl_wait_same 30 1 2 3 4 || { tail -20 "$T/n3.log"; fail "node 3 did not catch up after its rotation committed while it was down"; }
[ "$(pk_of "$T/n3/keys/node.key")" = "$new3" ] || fail "node 3 did not switch to its new key"
serve_kill 4
commits 3 2 node3-new-key
ok "node 3, down while its rotation committed, catches up and votes under its new key"
serve_start 4
cl_wait_same 30 1 2 3 4 || fail "heads differ at the end"

for i in 1 2 3 4; do
    expect_exit 0 cn "$i" verify
    [ "$(cn "$i" --json audit list | jq '[.events[] | select(.type == "NODE_ROTATE")] | length')" = 2 ] \
        || fail "node $i's audit trail lacks the rotations"
done
ok "every node's chain verifies, and its audit trail holds both rotations"
