#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Four validators, faults on real processes: one killed, commits go on; two
# killed, nothing commits and nothing forks; one back, commits resume and
# all four agree; a validator stopped (SIGSTOP) for 30 s rejoins by itself.
. "$(dirname "$0")/lib.sh"

cluster_start 4
add() { cn "$1" identity add --name "$2" --role clinician --no-passphrase >/dev/null; }

serve_kill 4
h0=$(cl_height 1)
add 1 one-down || fail "no commit with one validator of four down"
add 2 one-down-2 || fail "no commit through node 2 with one validator down"
cl_wait_same 10 1 2 3 || fail "the three live nodes disagree"
[ "$(cl_height 1)" -ge $((h0 + 2)) ] || fail "the height did not move"
ok "one validator of four killed: commits go on (height $h0 -> $(cl_height 1))"

serve_kill 3
h1=$(cl_height 1)
expect_exit 75 env MEDCHAIN_COMMIT_TIMEOUT=4 "$MEDCHAIN_BIN" --datadir "$T/n1" identity add --name two-down \
    --role clinician --no-passphrase
[ "$(cl_height 1)" = "$h1" ] && [ "$(cl_height 2)" = "$h1" ] || fail "a block was committed with two of four down"
[ "$(cl_head 1)" = "$(cl_head 2)" ] || fail "the two live nodes forked"
grep -q "of 4 votes" "$T/n1.log" || fail "the leader did not log the missing quorum"
ok "two killed: no commit (75, 'not committed yet'), the two live nodes agree at $h1"

serve_start 3
for t in $(seq 100); do [ "$(cl_height 1)" -gt "$h1" ] && break; sleep 0.1; done
[ "$(cl_height 1)" -gt "$h1" ] || fail "commits did not resume when a third validator returned"
cn 1 --json identity list | jq -e '.[] | select(.name == "two-down")' >/dev/null \
    || fail "the pending tx was lost"
serve_start 4
cl_wait_same 20 1 2 3 4 || fail "the four do not agree after both returned"
add 4 all-back || fail "no commit through node 4 after it returned"
cl_wait_same 10 1 2 3 4 || fail "the four do not agree"
for i in 1 2 3 4; do expect_exit 0 cn "$i" verify; done
ok "one returned: the pending tx committed; both back: all four agree at $(cl_height 1) and verify"

serve_kill 2 STOP
for k in $(seq 1 5); do add 1 "while-stopped-$k" || fail "no commit while node 2 is stopped"; done
sleep 30
hs=$(cl_height 1)
serve_kill 2 CONT
cl_wait_same 20 1 2 3 4 || fail "node 2 did not rejoin after SIGCONT"
add 2 after-stop || fail "no commit through node 2 after it rejoined"
cl_wait_same 10 1 2 3 4 || fail "the four disagree after node 2 rejoined"
ok "SIGSTOP of a validator for 30 s: commits went on ($hs), and after SIGCONT it rejoined without an operator"
