#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# An outsider, and a validator gone bad, try to exhaust a node:
#  - 16 unauthenticated connections each announcing a 64 MiB body (less
#    one byte), the body held back 2 s: each refused at once from its
#    headers, before a byte of its body is sent (a node that waited for the
#    body answers after 2 s); the node stays under 64 MiB of memory;
#  - 256 half-sent requests from 127.0.0.2-5 hold connections: a validator's
#    signed status still answers within a second;
#  - 300 requests, each signed by a new random key: refused, and logged at
#    a bounded rate;
#  - a request replayed after the node restarted: refused (signed before it
#    started); 70,000 requests of one key cannot flush a nonce from the
#    replay cache;
#  - a validator forwarding 60 MiB txs, and 16 MB ones, from keys nobody
#    enrolled: refused, and the leader stays under 64 MiB;
#  - per-path body limits; a pending pool bounded in bytes evicts its oldest
#    txs, logged;
#  - a validator removed from the set asks for blocks: refused.
. "$(dirname "$0")/lib.sh"
: "${MC_ADVERSARY:?MC_ADVERSARY must name tests/adversary}"

cluster_start 4
adv() { local from=$1 to=$2; shift 2; "$MC_ADVERSARY" "$T/n$from" "$(cl_url "$to")" "$@"; }
hwm_mib() { awk '/VmHWM/ { print int($2 / 1024) }' "/proc/${CL_PID[$1]}/status"; }

out=$(adv 4 2 bigbody 16 67108863)
read -r -a st <<<"$out"
ms=${st[${#st[@]}-1]}; ms=${out##*in }; ms=${ms% ms}
[ "$(echo "$out" | grep -o '\b4[0-9][0-9]\b' | wc -l)" = 16 ] || fail "16 bodies of 64 MiB: $out"
[ "$ms" -lt 1000 ] || fail "the refusals took $ms ms"
[ "$(hwm_mib 2)" -lt 64 ] || fail "node 2 grew to $(hwm_mib 2) MiB"
ok "16 unauthenticated 64 MiB bodies: all 4xx within $ms ms; node 2 peaked at $(hwm_mib 2) MiB"

out=$(adv 4 2 halfopen 256)
case "$out" in "opened 256 status 200 in "*) ;; *) fail "256 half-sent requests, then a validator: $out" ;; esac
ms=${out##*in }; ms=${ms% ms}
[ "$ms" -lt 1000 ] || fail "the validator waited $ms ms"
ok "256 half-sent requests from 127.0.0.2-5: a validator's signed status answered in $ms ms"

before=$(grep -c "not in the validator set" "$T/n2.log" || true)
[ "$(adv 4 2 outsiders 300)" = "refused 300 of 300" ] || fail "requests of random keys were not all refused"
after=$(grep -c "not in the validator set" "$T/n2.log" || true)
[ $((after - before)) -le 25 ] || fail "$((after - before)) log lines for 300 refusals"
[ $((after - before)) -ge 1 ] || fail "the refusals were not logged at all"
ok "300 requests from random keys: all 403, $((after - before)) log lines"

[ "$(adv 4 2 replay-save "$T/saved")" = 200 ] || fail "the request to replay was not answered"
serve_kill 2
serve_start 2
[ "$(adv 4 2 replay-load "$T/saved")" = 403 ] || fail "a request from before the restart was accepted again"
grep -q "signed before this node started" "$T/n2.log" || fail "the replay after the restart was not logged"
ok "a request replayed after the node restarted: 403 (signed before it started)"

out=$(adv 4 3 replay-flood 70000)
case "$out" in "first 200 "*"replay 403") ;; *) fail "one key's 70,000 requests flushed a nonce: $out" ;; esac
ok "one key's 70,000 requests cannot flush its earlier nonce: $out"

out60=$(adv 4 1 junk 8 62914560)
out=$out60
# each refused from its headers: 413, or the connection closed under the
# body still being sent (the answer then lost to a reset)
[ "$(echo "$out" | tr ' ' '\n' | grep -cvE '^(413|closed)$')" = 0 ] && echo "$out" | grep -q 413 \
    || fail "60 MiB txs: $out"
out=$(adv 4 1 junk 8 16000000)
echo "$out" | grep -qE '\b20[02]\b' && fail "a 16 MB tx of an unenrolled key was taken: $out"
[ "$(hwm_mib 1)" -lt 64 ] || fail "the leader grew to $(hwm_mib 1) MiB"
grep -q "not an enrolled, active identity" "$T/n1.log" "$T/n4.log" || true
ok "8 txs of 60 MiB: refused from their headers ($out60); 8 of 16 MB from unenrolled keys: refused ($out); the leader peaked at $(hwm_mib 1) MiB"

[ "$(adv 4 2 oversize 100000 '/v1/view-vote?view=1&leader=00')" = 413 ] || fail "a 100 kB body to /v1/view-vote was taken"
[ "$(adv 4 2 oversize 30000000)" = 413 ] || fail "a 30 MB tx bundle was taken"
ok "per-path body limits: 100 kB to /v1/view-vote and 30 MB to /v1/tx refused from their headers (413)"

# the leader's pending pool at 1 MiB, and no quorum (two validators down):
# txs of enrolled authors pile up, and the oldest are evicted, logged
serve_kill 1
printf 'pool_mib = 1\n' >>"$T/n1/medchain.conf"
serve_start 1
serve_kill 2
serve_kill 3
sleep 1
head -c 300000 /dev/urandom | base64 -w0 >"$T/big"
for k in 1 2 3 4 5; do
    MEDCHAIN_COMMIT_TIMEOUT=1 cn 1 record put --subject "POOL-$k" --category note --type text/plain "$T/big" \
        >/dev/null 2>&1 && fail "a write committed without a quorum"
done
grep -q "the pending pool is full (200000 txs, 1048576 bytes at most): [0-9]* oldest txs evicted" "$T/n1.log" \
    || fail "the full pool was not logged"
serve_start 2
serve_start 3
ok "a pending pool bounded at 1 MiB: five 400 kB writes without a quorum evicted the oldest, logged"

tok=$(cn 1 --json node remove "${CL_KEY[4]}" | jq -r .token)
tok=$(cn 2 --json node approve "$tok" | jq -r '.token // empty')
cn 3 node approve "$tok" >/dev/null || fail "the removal did not commit"
cl_wait_same 10 1 2 3 || fail "the three disagree after the removal"
[ "$(adv 4 2 get '/v1/blocks?from=1&max=4')" = 403 ] || fail "a removed validator still gets blocks"
ok "a validator removed by NODE_REMOVE asks node 2 for blocks: 403"

cn 1 identity add --name after-floods --role clinician --no-passphrase >/dev/null || fail "no commit after the floods"
cl_wait_same 15 1 2 3 || fail "the three disagree at the end"
for i in 1 2 3; do expect_exit 0 cn "$i" verify; done
ok "the three commit on, agree and verify"
