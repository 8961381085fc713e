#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A validator stopped while 1,000 blocks are committed catches up when it
# returns: it pulls them from its peers, checks each block's certificate
# against the validator set of its height, and ends on the same head; its
# own full verify then passes. A record put and erased while it was away
# reaches it without its payload (never asked for again), and one put and
# kept reaches it with its payload.
. "$(dirname "$0")/lib.sh"
: "${MC_ADVERSARY:?MC_ADVERSARY must name tests/adversary}"

CL_MAX_TXS=1 cluster_start 4
serve_kill 4
h0=$(cl_height 1)
[ "$("$MC_ADVERSARY" "$T/n1" "$(cl_url 1)" enroll 1000)" = 200 ] || fail "the 1,000 txs were not committed"
h1=$(cl_height 1)
[ $((h1 - h0)) -ge 1000 ] || fail "expected 1,000 new blocks, got $((h1 - h0))"
cl_wait_same 20 1 2 3 || fail "the three live nodes disagree"
ok "1,000 blocks committed ($h0 -> $h1) with node 4 down"

printf 'erased while away' >"$T/gone"
gone=$(cn 2 record put --subject P-9 --category note --type text/plain "$T/gone")
cn 3 record erase "$gone" --reason "patient request" >/dev/null
printf 'kept while away' >"$T/kept"
kept=$(cn 1 record put --subject P-9 --category note --type text/plain "$T/kept")
h1=$(cl_height 1)
[ "$(cl_height 4)" = "$h0" ] || fail "node 4 moved while stopped"
start=$(date +%s%N)
serve_start 4
cl_wait_same 60 1 2 3 4 || fail "node 4 did not catch up"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q "caught up" "$T/n4.log" || fail "node 4 did not log its catch-up"
expect_exit 0 cn 4 verify
[ "$(cn 4 --json status | jq -r .payloads)" = 1 ] || fail "node 4 should hold exactly the kept payload"
cn 4 record get "$kept" -o "$T/kept4" >/dev/null
cmp -s "$T/kept" "$T/kept4" || fail "node 4 reads other bytes for the kept record"
expect_exit 66 cn 4 record get "$gone"
ok "the record erased while node 4 was away came without its payload; the kept one reads byte for byte"
ok "node 4 caught up $((h1 - h0)) blocks in $ms ms, certificates checked, same head, verify passes"
