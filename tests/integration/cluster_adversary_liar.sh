#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A lying leader: tests/adversary holds the leader's real key at the
# leader's address, answers every tx "committed" and drops it. A node
# answers a write, and releases a record's plaintext, only once the tx (for
# a read, its ACCESS event) is in its own store with a certificate it
# checked: the read exits 75 and prints nothing, nothing is audited that
# did not happen, and the message says what is missing. A leader that
# answers but commits nothing is as good as silent: the other three vote
# it out after the leader timeout, and writes commit again.
. "$(dirname "$0")/lib.sh"
: "${MC_ADVERSARY:?MC_ADVERSARY must name tests/adversary}"

CL_LEADER_MS=12000 cluster_start 4
secret="blood panel of patient P-1: secret-$RANDOM$RANDOM"
id=$(printf '%s' "$secret" | cn 2 record put --subject P-1 --category lab --type text/plain) \
    || fail "record put failed"
[ "$(cn 2 record get "$id" --purpose treatment)" = "$secret" ] || fail "the record does not read back"
cl_wait_same 10 1 2 3 4 || fail "no agreement before the attack"
ok "a record stored and read back through the cluster"

serve_kill 1
"$MC_ADVERSARY" "$T/n1" "127.0.0.1:${CL_PORT[1]}" liar 0 >"$T/liar.out" 2>"$T/liar.err" &
for t in $(seq 50); do grep -q listening "$T/liar.out" && break; sleep 0.1; done
h2=$(cl_height 2); h3=$(cl_height 3)

expect_exit 75 env MEDCHAIN_COMMIT_TIMEOUT=3 "$MEDCHAIN_BIN" --datadir "$T/n2" record get "$id" --purpose treatment
[ ! -s "$T/out" ] || fail "the read printed something: $(head -c 200 "$T/out")"
grep -q "secret-" "$T/out" "$T/err" && fail "the plaintext left the node"
grep -q "the leader says it is committed, but no certified block holding it has reached this node" "$T/err" \
    || fail "the message does not say what is missing: $(cat "$T/err")"
grep -q 'answered 1 txs "committed" and dropped them' "$T/liar.err" || fail "the liar was not asked"
ok "a read while the leader lies: exit 75, nothing printed, the message says the block never came"

[ "$(cl_height 2)" = "$h2" ] && [ "$(cl_height 3)" = "$h3" ] || fail "a height moved with no real leader"
for i in 2 3 4; do
    [ "$(cn "$i" --json audit list --limit 1000 | jq '[.events[] | select(.type == "ACCESS")] | length')" = 1 ] \
        || fail "node $i records an ACCESS event that was never committed"
done
for i in 2 3 4; do expect_exit 0 cn "$i" verify; done
ok "no height moved, each node holds only the one real ACCESS event, and verifies"

expect_exit 75 env MEDCHAIN_COMMIT_TIMEOUT=2 "$MEDCHAIN_BIN" --datadir "$T/n3" record get "$id" --purpose treatment \
    -o "$T/leaked.txt"
[ ! -e "$T/leaked.txt" ] || fail "-o wrote a file"
printf 'another' | expect_exit 75 env MEDCHAIN_COMMIT_TIMEOUT=2 "$MEDCHAIN_BIN" --datadir "$T/n2" record put \
    --subject P-2 --category lab --type text/plain
ok "a read with -o writes no file; a write exits 75 too"

# the txs handed to the liar were also sent to the other validators, which
# saw it commit none of them: after the leader timeout they vote it out
cl_wait_leader_not 2 "${CL_KEY[1]}" 25 || fail "the lying leader still leads"
grep -qh "the leader has not committed a tx it was handed" "$T"/n[234].log || fail "no node said why it asked for a change"
cn 3 identity add --name after-the-liar --role clinician --no-passphrase >/dev/null || fail "no commit after the change"
[ "$(cn 3 record get "$id" --purpose treatment)" = "$secret" ] || fail "the record does not read back under the new leader"
cl_wait_same 10 2 3 4 || fail "the honest three disagree"
for i in 2 3 4; do expect_exit 0 cn "$i" verify; done
ok "a leader that answers but commits nothing is voted out by the other three; writes and reads go on"
grep -qh "txs the old leader did not commit handed to the new one" "$T"/n[234].log || fail "no node handed them over"
# the write that timed out, run again: the same write, committed once
printf 'another' | env MEDCHAIN_COMMIT_TIMEOUT=20 "$MEDCHAIN_BIN" --datadir "$T/n2" record put --subject P-2 --category lab \
    --type text/plain >/dev/null || fail "the write run again failed"
cl_wait_same 10 2 3 4 || fail "the honest three disagree"
[ "$(cn 4 --json record list --subject P-2 | jq length)" = 1 ] || fail "the write the liar dropped is not there exactly once"
ok "the txs the liar sat on were handed to the new leader; the write that timed out, run again, is committed once"
