#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Leader changes on four validators. A live leader moves only with a
# quorum of the operators' approvals; a silent one on one operator's
# `node promote`, and nothing committed is lost. The leader killed
# after its validators voted for a block it never committed: the automatic
# change (after leader_timeout_ms of silence) finishes that locked block
# first, so the tx in it is committed. The leader killed after committing a
# block it sent to no one: the new leader finishes the same block, and the
# old leader, back, agrees with everyone.
. "$(dirname "$0")/lib.sh"
need_test_hooks

CL_LEADER_MS=3000 cluster_start 4
leader() { cl_leader "$1"; }
self() { cn "$1" --json node list | jq -r '.nodes[] | select(.self) | .node'; }
idx() { local k=$1 i; for i in 1 2 3 4; do [ "${CL_KEY[$i]}" = "$k" ] && echo "$i"; done; return 0; }
has() { cn "$1" --json identity list | jq -e --arg n "$2" 'any(.[]; .name == $n)' >/dev/null; }
add() { cn "$1" identity add --name "$2" --role clinician --no-passphrase >/dev/null; }

for k in 1 2 3; do add 1 "before-$k"; done
cl_wait_same 10 1 2 3 4 || fail "no agreement at the start"
[ "$(leader 2)" = "${CL_KEY[1]}" ] || fail "node 1 is not the first leader"

# ---- manual: node promote ----------------------------------------------------
# A live leader is not voted out on one operator's word: the validators
# refuse, and `node promote` prints a token for the other operators; at a
# quorum of their approvals (3 of 4) the leadership moves.
cn 2 --json node promote "${CL_KEY[3]}" >"$T/promote.json" 2>"$T/promote.err" || fail "node promote failed: $(cat "$T/promote.err")"
grep -q "needs the operators' approvals" "$T/promote.err" || fail "no word of approvals: $(cat "$T/promote.err")"
grep -q "was heard from" "$T/n2.log" || fail "node 2 did not say why it refused"
[ "$(jq -r .committed "$T/promote.json")" = false ] && [ "$(jq -r .approvals "$T/promote.json")" = 1 ] \
    || fail "node promote of a live leader: $(cat "$T/promote.json")"
[ "$(leader 2)" = "${CL_KEY[1]}" ] || fail "one operator moved a live leader"
tok=$(cn 4 --json node approve "$(jq -r .token "$T/promote.json")" | jq -r .token)
[ -n "$tok" ] && [ "$tok" != null ] || fail "the second approval committed or failed"
out=$(cn 1 node approve "$tok") || fail "the third approval failed"
echo "$out" | grep -q "leads view 1" || fail "node approve said: $out"
[ "$(leader 4)" = "${CL_KEY[3]}" ] || fail "node 4 does not see node 3 as leader"
add 2 after-approvals || fail "no commit after the approved promotion"
ok "a live leader: one operator's promote is refused by the validators; with 3 of 4 operators' approvals node 3 leads view 1"

# The leader killed: right away the others have heard from it too lately to
# vote it out; once it has been silent for half the leader timeout, one
# operator's promote is enough.
serve_kill 3
cn 2 --json node promote "${CL_KEY[2]}" >"$T/promote.json" 2>/dev/null || fail "node promote failed"
[ "$(jq -r .committed "$T/promote.json")" = false ] || fail "the leader was voted out before it was silent"
sleep 1.6
out=$(cn 2 node promote "${CL_KEY[2]}") || fail "node promote failed after the leader's silence"
echo "$out" | grep -q "leads view" || fail "node promote said: $out"
[ "$(leader 4)" = "${CL_KEY[2]}" ] || fail "node 4 does not see node 2 as leader"
add 4 after-promote || fail "no commit after the promotion"
cl_wait_same 10 1 2 4 || fail "the three disagree after the promotion"
has 1 after-promote || fail "the new tx is missing"
for k in 1 2 3; do has 1 "before-$k" || fail "before-$k was lost"; done
ok "leader killed: after 1.5 s of its silence node promote made node 2 leader (view $(echo "$out" | awk '{print $4}')), nothing committed was lost"
serve_start 3
cl_wait_same 20 1 2 3 4 || fail "node 3 did not rejoin as a follower"
ok "the old leader came back as a follower and agrees"

# ---- automatic, with a locked block to finish --------------------------------
h=$(cl_height 2)
serve_kill 2
MEDCHAIN_TEST_CRASH=leader-after-votes serve_start 2
# The write waits on node 3 for its own store: once the new leader has
# finished the locked block, the write is committed there (exit 0), or it
# says what is missing (75).
rc=0
env MEDCHAIN_COMMIT_TIMEOUT=8 "$MEDCHAIN_BIN" --datadir "$T/n3" identity add --name locked-one \
    --role clinician --no-passphrase >"$T/locked.out" 2>"$T/locked.err" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 75 ] || fail "the write during the change exited $rc: $(cat "$T/locked.err")"
for t in $(seq 50); do kill -0 "${CL_PID[2]}" 2>/dev/null || break; sleep 0.1; done
kill -0 "${CL_PID[2]}" 2>/dev/null && fail "the leader did not stop after the votes"
grep -q "exiting with a quorum of votes and nothing committed" "$T/n2.log" || fail "the crash hook did not fire"
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
