#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Four validators on loopback: a tx sent to any node is committed on all
# four with identical heads; records, their payloads and wrapped keys reach
# every node; an erasure removes them on every node; every node verifies.
. "$(dirname "$0")/lib.sh"

cluster_start 4
[ "$(cn 1 --json status | jq -r '.validators | length')" = 4 ] || fail "the set is not 4 validators"
for t in $(seq 50); do
    [ "$(cn 2 --json node list | jq '[.nodes[] | select(.state == "up" and .lag == 0)] | length')" = 4 ] && break
    sleep 0.2
done
cn 2 node list >"$T/list"
[ "$(grep -cE '[ *]up ' "$T/list")" = 4 ] || { cat "$T/list"; fail "node list does not show the four up"; }
ok "4 validators, added with quorum approvals; node list shows them live"

for i in 1 2 3 4; do
    cn "$i" identity add --name "dr-$i" --role clinician --no-passphrase >/dev/null \
        || fail "a tx sent to node $i was not committed"
done
cl_wait_same 10 1 2 3 4 || fail "heads differ after txs sent to every node"
for i in 1 2 3 4; do
    [ "$(cn "$i" --json identity list | jq '[.[] | select(.name | startswith("dr-"))] | length')" = 4 ] \
        || fail "node $i lacks an identity"
done
ok "a tx sent to each of the 4 nodes is committed on all four, heads identical ($(cl_head 1 | head -c 16))"

printf '{"resourceType":"Observation","id":"o1"}' >"$T/p1.json"
rid=$(cn 3 record put --subject P-7 --category lab --type application/fhir+json "$T/p1.json")
cl_wait_same 10 1 2 3 4 || fail "heads differ after a record put"
for i in 1 2 3 4; do
    [ "$(cn "$i" --json status | jq -r .payloads)" = 1 ] || fail "node $i lacks the payload"
    cn "$i" --as admin record get "$rid" --purpose treatment -o "$T/got$i" >/dev/null 2>&1 \
        || cn "$i" record get "$rid" --break-glass "cluster test" -o "$T/got$i" >/dev/null
    cmp -s "$T/p1.json" "$T/got$i" || fail "node $i reads other bytes"
done
ok "a record put on node 3 is readable, byte for byte, on all four"

cn 4 record erase "$rid" --reason "patient request" >/dev/null
cl_wait_same 10 1 2 3 4 || fail "heads differ after an erasure"
for i in 1 2 3 4; do
    [ "$(cn "$i" --json status | jq -r .payloads)" = 0 ] || fail "node $i still holds the erased payload"
    expect_exit 0 cn "$i" verify
done
ok "the erasure removed the payload on every node, and all four verify"

# node remove: approvals from a quorum of the four (3), then three validators
k4=${CL_KEY[4]}
tok=$(cn 1 --json node remove "$k4" | jq -r '.token // empty')
[ -n "$tok" ] || fail "one approval of four committed a removal"
tok=$(cn 2 --json node approve "$tok" | jq -r '.token // empty')
[ -n "$tok" ] || fail "two approvals of four committed a removal"
cn 3 node approve "$tok" >"$T/out" || fail "three approvals of four did not commit the removal"
cl_wait_same 10 1 2 3 || fail "heads differ after the removal"
[ "$(cn 1 --json status | jq -r '.validators | length')" = 3 ] || fail "the set is not three after the removal"
serve_kill 4
cn 2 identity add --name after-removal --role clinician --no-passphrase >/dev/null \
    || fail "no commit by the three after the removal"
ok "node remove with 3 approvals of 4: the set is three, and they commit without the removed node"
