#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Busy hospitals on four validators: concurrent writers of one identity,
# concurrent reads by one clinician, and a write retried after a timeout.
#  - the first validator's address is on the chain like every other's, so a
#    node whose [node] peers names only validator 3 writes while validator 1
#    leads;
#  - 20 concurrent `record put` by one identity, five on each node: all
#    commit (a tx whose sequence number another writer took is signed
#    again, never reported as bad data);
#  - four concurrent reads by one clinician, one on each node: all return the
#    record, and each is audited;
#  - a write that timed out (2 of 4 validators down: "no quorum: 2 of 4
#    validators answer") and is run again once they are back is committed
#    once, under the same record id.
. "$(dirname "$0")/lib.sh"

cluster_start 4
url1=$(cn 2 --json node list | jq -r --arg k "${CL_KEY[1]}" '.nodes[] | select(.node == $k) | .url')
[ "$url1" = "$(cl_url 1)" ] || fail "the first validator's address on the chain is '$url1'"
serve_kill 4
sed -i "s|^peers = .*|peers = $(cl_url 3)|" "$T/n4/medchain.conf"
serve_start 4
cn 4 identity add --name via-3 --role clinician --no-passphrase >/dev/null \
    || fail "a node whose peers name validator 3 alone cannot write while validator 1 leads"
ok "the first validator's address is on the chain ($url1); a node pointing at validator 3 writes"

n0=$(cn 1 --json record list | jq length)
pids=()
for k in $(seq 1 20); do
    i=$(( (k - 1) % 4 + 1 ))
    ( printf 'note %s' "$k" | env MEDCHAIN_COMMIT_TIMEOUT=60 "$MEDCHAIN_BIN" --datadir "$T/n$i" record put \
        --subject "W-$k" --category note --type text/plain >"$T/put.$k" 2>"$T/put.$k.err" ) &
    pids+=($!)
done
bad=0
for k in $(seq 1 20); do wait "${pids[$((k - 1))]}" || { bad=$((bad + 1)); cat "$T/put.$k.err" >&2; }; done
[ "$bad" = 0 ] || fail "$bad of 20 concurrent writes of one identity failed"
[ "$(cat "$T"/put.[0-9]* | sort -u | wc -l)" = 20 ] || fail "the 20 writes did not give 20 record ids"
cl_wait_same 10 1 2 3 4 || fail "the four disagree after the writes"
[ "$(cn 3 --json record list | jq length)" = $((n0 + 20)) ] || fail "not 20 more records"
ok "20 concurrent record puts by one identity over four nodes: all 20 committed"

cn 1 identity add --name "Dr R" --role clinician --no-passphrase >/dev/null
key=$(cn 1 --json identity list | jq -r '.[] | select(.name == "Dr R") | .key')
for i in 2 3 4; do cp "$T/n1/keys/$key.key" "$T/n$i/keys/"; done
rid=$(printf 'the scan of R-9' | cn 1 record put --subject R-9 --category imaging --type text/plain)
cn 1 consent grant --subject R-9 --to "Dr R" --purpose treatment --scope imaging >/dev/null
cl_wait_same 10 1 2 3 4 || fail "the four disagree before the reads"
pids=()
for i in 1 2 3 4; do
    ( env MEDCHAIN_COMMIT_TIMEOUT=60 "$MEDCHAIN_BIN" --datadir "$T/n$i" --as "Dr R" record get "$rid" --purpose treatment \
        >"$T/read.$i" 2>"$T/read.$i.err" ) &
    pids+=($!)
done
for i in 1 2 3 4; do wait "${pids[$((i - 1))]}" || fail "read $i failed: $(cat "$T/read.$i.err")"; done
for i in 1 2 3 4; do [ "$(cat "$T/read.$i")" = "the scan of R-9" ] || fail "read $i returned something else"; done
cl_wait_same 10 1 2 3 4 || fail "the four disagree after the reads"
n=$(cn 2 --json audit list --actor "Dr R" --limit 100 | jq '[.events[] | select(.type == "ACCESS" and .outcome == "permit")] | length')
[ "$n" = 4 ] || { cn 2 --json audit list --actor "Dr R" --limit 100 >&2; for i in 1 2 3 4; do cat "$T/read.$i.err" >&2; done; fail "$n reads audited, not 4"; }
ok "four concurrent reads by one clinician, one on each node: all four returned the record and are audited"

serve_kill 3
serve_kill 4
sleep 1.5   # the leader has polled them and knows they are down
put_r() { printf 'once only' | env MEDCHAIN_COMMIT_TIMEOUT="$1" "$MEDCHAIN_BIN" --datadir "$T/n1" record put \
    --subject R-1 --category note --type text/plain; }
expect_exit 75 put_r 2
grep -q "no quorum: 2 of 4 validators answer" "$T/err" || fail "the timeout does not say what is missing: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "a write that did not commit printed an id"
ok "a write with 2 of 4 validators down: exit 75, \"$(sed 's/^medchain: //' "$T/err")\""
serve_start 3
serve_start 4
rid=$(put_r 60) || fail "the write run again failed"
cl_wait_same 15 1 2 3 4 || fail "the four disagree after the retry"
ids=$(cn 2 --json record list --subject R-1 | jq -r '.[].id // .[].record' | sort -u)
[ "$ids" = "$rid" ] || fail "after the retry the records of R-1 are '$ids', the retry said $rid"
ok "the same write run again once the validators are back: committed once ($rid)"
rid2=$(put_r 60) || fail "a new write of the same content failed"
[ "$rid2" != "$rid" ] || fail "a new write after a committed one gave the same id"
[ "$(cn 1 --json record list --subject R-1 | jq length)" = 2 ] || fail "a new write of the same content was not stored"
for i in 1 2 3 4; do expect_exit 0 cn "$i" verify; done
ok "once the write is decided, the same command is a new write; all four verify"
