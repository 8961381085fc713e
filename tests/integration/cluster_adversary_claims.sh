#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One malicious validator of four (tests/adversary holding node 4's real
# key) lies about heights and views and proposes out of turn: the other
# three keep committing, agree on one head and verify.
#  - a commit, a proposal and a status answer each claiming height 10^12:
#    only a certificate a node checked moves how far behind it thinks it
#    is; the status claim, which gives no blocks, is tried, logged and left;
#  - a vote asked for view 2^64-2: refused (a small step above the current
#    view at most), and a vote asked while the leader is heard from: refused
#    (a change needs the leader's silence or the operators' approvals);
#  - a proposal from a validator that does not lead: refused before any of
#    its txs is applied (its tx has a broken signature: the answer names
#    the leader, not the signature).
. "$(dirname "$0")/lib.sh"
: "${MC_ADVERSARY:?MC_ADVERSARY must name tests/adversary}"

cluster_start 4
adv() { local to=$1; shift; "$MC_ADVERSARY" "$T/n4" "$(cl_url "$to")" "$@"; }
add() { cn "$1" identity add --name "$2" --role clinician --no-passphrase >/dev/null; }
has() { cn "$1" --json identity list | jq -e --arg n "$2" 'any(.[]; .name == $n)' >/dev/null; }
# commits: each write on node $1 must commit within 5 s
commits() {
    local i
    for i in $(seq 1 "$2"); do
        timeout 5 env MEDCHAIN_COMMIT_TIMEOUT=4 "$MEDCHAIN_BIN" --datadir "$T/n$1" identity add --name "$3-$i" \
            --role clinician --no-passphrase >/dev/null || fail "$3: write $i on node $1 did not commit"
    done
}

# ---- height claims -------------------------------------------------------
h0=$(cl_height 1)
[ "$(adv 1 commit-height 1000000000000)" = 422 ] || fail "a commit claiming height 10^12 with a forged certificate was not refused"
adv 1 propose-height 1000000000000 >/dev/null
adv 2 propose-height 1000000000000 >/dev/null
commits 1 3 after-claims
commits 2 2 after-claims-2
ok "a commit (forged certificate) and proposals claiming height 10^12: the leader and its followers go on committing"

# node 4's address now answers as a liar: its status claims 10^12 (with a
# forged head certificate), and it gives no blocks
serve_kill 4
port4=${CL_PORT[4]}
"$MC_ADVERSARY" "$T/n4" "127.0.0.1:$port4" liar 1000000000000 >"$T/liar.out" 2>"$T/liar.err" &
liar=$!
for t in $(seq 50); do grep -q listening "$T/liar.out" && break; sleep 0.1; done
sleep 1.5   # every node has polled the liar's status by now
commits 1 3 during-status-lie
commits 3 2 during-status-lie-3
for i in 1 2 3; do
    grep -q "claims height 1000000000000 but gave no block" "$T/n$i.log" || fail "node $i did not log the claim it could not fetch"
done
ok "a status claiming height 10^12 (forged head certificate, no blocks): tried, logged on all three, and left; commits go on"

# ---- view numbers --------------------------------------------------------
out=$(adv 2 view-vote 18446744073709551614)
case "$out" in 422*"too far ahead"*) ;; *) fail "a vote for view 2^64-2: $out" ;; esac
out=$(adv 2 view-vote 18446744073709551614 timeout)
case "$out" in 422*) ;; *) fail "a timeout vote for view 2^64-2: $out" ;; esac
out=$(adv 3 view-vote 1)
case "$out" in 409*"heard from"*) ;; *) fail "a vote for view 1 while the leader is heard from: $out" ;; esac
for i in 1 2 3; do
    [ "$(cl_leader "$i")" = "${CL_KEY[1]}" ] \
        || fail "node $i has another leader"
done
commits 1 2 after-views
ok "votes asked for view 2^64-2 (too far ahead) and for view 1 (the leader is heard from): refused; node 1 still leads, commits go on"

# ---- node 4 back; then a proposal from it, though it does not lead ---------
kill "$liar" 2>/dev/null; wait "$liar" 2>/dev/null || true
serve_start 4
commits 2 1 back
cl_wait_same 20 1 2 3 4 || fail "node 4 did not catch up"
out=$(adv 2 nonleader-propose)
case "$out" in 403*"not proposed by the leader"*) ;; *) fail "a proposal from a non-leader: $out" ;; esac
ok "a proposal from a validator that does not lead: refused (403) before its tx with a broken signature was looked at"

# ---- all four agree --------------------------------------------------------
commits 3 1 end
cl_wait_same 20 1 2 3 4 || fail "the four disagree at the end"
for i in 1 2 3 4; do expect_exit 0 cn "$i" verify; done
[ "$(cl_height 1)" -gt "$h0" ] || fail "no height moved"
ok "all four agree on one head and verify"
