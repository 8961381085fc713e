#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Four validators and a misbehaving peer (tests/adversary): a request signed
# by a key outside the set, a replayed request, a stale one, an oversized
# body, a validator (the leader's key) signing two blocks at one height, a
# block with forged votes and one short of a quorum, and more than 500
# requests a second from one key: each refused and logged, and nothing of
# it committed; the equivocating leader is voted out.
. "$(dirname "$0")/lib.sh"
: "${MC_ADVERSARY:?MC_ADVERSARY must name tests/adversary}"

cluster_start 4
probe() { "$MC_ADVERSARY" "$T/n1" "$(cl_url 2)" "$@"; }
log2() { grep -c "$1" "$T/n2.log" || true; }
h0=$(cl_height 2); head0=$(cl_head 2)

[ "$(probe outsider)" = 403 ] || fail "a key outside the set was not refused"
[ "$(log2 'the key is not in the validator set')" -ge 1 ] || fail "the outsider was not logged"
ok "a request signed by a key outside the set: 403, logged"

[ "$(probe replay)" = "200 403" ] || fail "a replayed request was not refused"
[ "$(log2 'already used (a replay)')" -ge 1 ] || fail "the replay was not logged"
ok "a replayed request: the first 200, the copy 403, logged"

[ "$(probe stale)" = 403 ] || fail "a request signed 60 s ago was not refused"
ok "a request signed 60 s ago: 403"

[ "$(probe oversize 70000000)" = 413 ] || fail "an oversized body was not refused"
[ "$(log2 'the body is larger than')" -ge 1 ] || fail "the oversized body was not logged"
ok "a 70 MB body: 413, logged"

[ "$(probe forged-commit)" = 422 ] || fail "a block with forged votes was not refused"
[ "$(probe missing-vote)" = 422 ] || fail "a block short of a quorum was not refused"
[ "$(log2 'commit .* refused')" -ge 2 ] || fail "the bad certificates were not logged"
ok "a block with forged votes, and one with 1 vote of 4: 422, logged"

read -r _ answered _ limited _ other < <(probe flood 4000)
[ "$limited" -gt 0 ] && [ "$answered" -ge 1000 ] && [ "$other" = 0 ] \
    || fail "4,000 requests as fast as they go: $answered answered, $limited limited, $other other"
[ "$(log2 'too many requests from this key')" -ge 1 ] || fail "the rate limit was not logged"
ok "4,000 requests from one key as fast as they go: $answered answered, $limited refused with 429 (500 a second, burst 1,000), logged"

[ "$(cl_height 2)" = "$h0" ] && [ "$(cl_head 2)" = "$head0" ] || fail "something the probes sent was committed"
ok "nothing the probes sent was committed"

[ "$(probe equivocate)" = "200 409" ] || fail "a second block at one height and view was not refused"
[ "$(log2 'equivocation')" -ge 1 ] || fail "the equivocation was not logged"
ok "a validator signing two blocks at one height: the first voted, the second 409, logged"

# a proven equivocator leads no longer: the others vote it out
cl_wait_leader_not 2 "${CL_KEY[1]}" 10 || fail "the equivocating leader still leads"
ok "the equivocating leader was voted out"
cn 2 identity add --name after-probes --role clinician --no-passphrase >/dev/null || fail "no commit after the probes"
cl_wait_same 15 1 2 3 4 || fail "the four disagree after the probes"
for i in 1 2 3 4; do expect_exit 0 cn "$i" verify; done
ok "the chain goes on and all four verify"
