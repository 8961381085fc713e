#!/bin/bash
# Leader changes on four validators. The leader killed: `node promote`
# moves the leadership and nothing committed is lost. The leader killed
# after its validators voted for a block it never committed: the automatic
# change (after leader_timeout_ms of silence) finishes that locked block
# first, so the tx in it is committed. The leader killed after committing a
# block it sent to no one: the new leader finishes the same block, and the
# old leader, back, agrees with everyone.
. "$(dirname "$0")/lib.sh"

CL_LEADER_MS=3000 cluster_start 4
leader() { cn "$1" --json node list | jq -r '.nodes[] | select(.leader) | .node'; }
self() { cn "$1" --json node list | jq -r '.nodes[] | select(.self) | .node'; }
idx() { local k=$1 i; for i in 1 2 3 4; do [ "${CL_KEY[$i]}" = "$k" ] && echo "$i"; done; return 0; }
has() { cn "$1" --json identity list | jq -e --arg n "$2" 'any(.[]; .name == $n)' >/dev/null; }
add() { cn "$1" identity add --name "$2" --role clinician --no-passphrase >/dev/null; }

for k in 1 2 3; do add 1 "before-$k"; done
cl_wait_same 10 1 2 3 4 || fail "no agreement at the start"
[ "$(leader 2)" = "${CL_KEY[1]}" ] || fail "node 1 is not the first leader"

# ---- manual: node promote -----------------------------------------------------
serve_kill 1
out=$(cn 2 node promote "${CL_KEY[2]}") || fail "node promote failed"
echo "$out" | grep -q "leads view" || fail "node promote said: $out"
[ "$(leader 3)" = "${CL_KEY[2]}" ] || fail "node 3 does not see node 2 as leader"
add 3 after-promote || fail "no commit after the promotion"
cl_wait_same 10 2 3 4 || fail "the three disagree after the promotion"
has 4 after-promote || fail "the new tx is missing"
for k in 1 2 3; do has 4 "before-$k" || fail "before-$k was lost"; done
ok "leader killed: node promote made node 2 leader (view $(echo "$out" | awk '{print $4}')), nothing committed was lost"
serve_start 1
cl_wait_same 20 1 2 3 4 || fail "node 1 did not rejoin as a follower"
ok "the old leader came back as a follower and agrees"

# ---- automatic, with a locked block to finish --------------------------------
h=$(cl_height 2)
serve_kill 2
MEDCHAIN_TEST_CRASH=leader-after-votes serve_start 2
expect_exit 69 env MEDCHAIN_COMMIT_TIMEOUT=5 "$MEDCHAIN_BIN" --datadir "$T/n3" identity add --name locked-one \
    --role clinician --no-passphrase || true
for t in $(seq 50); do kill -0 "${CL_PID[2]}" 2>/dev/null || break; sleep 0.1; done
kill -0 "${CL_PID[2]}" 2>/dev/null && fail "the leader did not stop after the votes"
grep -q "exiting with a quorum of votes" "$T/n2.log" || fail "the crash hook did not fire"
[ "$(cl_height 3)" = "$h" ] || fail "the locked block was committed before the change"
for t in $(seq 150); do has 3 locked-one && break; sleep 0.1; done
has 3 locked-one || fail "the locked block was not finished by the new leader"
grep -h "finishing locked block" "$T"/n[134].log >/dev/null || fail "no node finished the locked block"
newl=$(leader 3)
[ "$newl" != "${CL_KEY[2]}" ] || fail "the leadership did not move"
ok "automatic change after 3 s of silence: node $(idx "$newl") leads; the locked block (with its tx) was proposed again and committed"

serve_start 2
cl_wait_same 20 1 2 3 4 || fail "node 2 did not rejoin"
for i in 1 2 3 4; do expect_exit 0 cn "$i" verify; done
ok "all four agree and verify"

# ---- the leader commits a block and dies before sending it -----------------
L=$(idx "$(leader 1)")
h=$(cl_height 1)
serve_kill "$L"
MEDCHAIN_TEST_CRASH=leader-after-commit serve_start "$L"
if [ "$L" = 1 ]; then o=2; else o=1; fi
env MEDCHAIN_COMMIT_TIMEOUT=5 "$MEDCHAIN_BIN" --datadir "$T/n$o" identity add --name committed-alone \
    --role clinician --no-passphrase >/dev/null 2>&1 || true
for t in $(seq 50); do kill -0 "${CL_PID[$L]}" 2>/dev/null || break; sleep 0.1; done
grep -q "committed here and sent nowhere" "$T/n$L.log" || fail "the second crash hook did not fire"
[ "$(cl_height "$L")" = $((h + 1)) ] || fail "the old leader did not commit alone"
serve_start "$L"
cl_wait_same 30 1 2 3 4 || fail "the nodes disagree after the old leader came back"
for i in 1 2 3 4; do has "$i" committed-alone || fail "node $i lacks the block"; done
for i in 1 2 3 4; do expect_exit 0 cn "$i" verify; done
ok "a block committed by a leader that died before sending it: finished by the next leader, no fork, all four verify"
