# SPDX-License-Identifier: Apache-2.0
# org rotate-key on a chain of two validators: the rotation goes through
# the leader with the new organization's first KEK beside it, both nodes
# apply it; the other node, once given the new org.key, reads the records
# stored before with the old key destroyed and stores new ones the first
# node reads; both verify.
. "$(dirname "$0")/lib.sh"

keyhex() { od -An -tx1 -j10 -N32 "$1" | tr -d ' \n'; }

cluster_start 2
printf 'stored before' | cn 2 record put --subject MRN-1 --category lab --type text/plain >"$T/r1"
cl_wait_same 20 1 2 || fail "the nodes disagree before the rotation"
old=$(keyhex "$T/n1/keys/org.key")
cn 1 org rotate-key >"$T/new" 2>"$T/rot.err" || { cat "$T/rot.err"; fail "the rotation on two validators"; }
new=$(cat "$T/new")
[ "$(keyhex "$T/n1/keys/org.key")" = "$new" ] || fail "node 1's org.key is the new key"
cl_wait_same 20 1 2 || fail "the nodes disagree after the rotation"
[ "$(cn 2 --json identity list | jq -r --arg o "$old" '.[] | select(.key == $o) | .revoked != null')" = true ] \
    || fail "node 2 applied the rotation"
ok "the rotation commits through the leader and both nodes apply it"

# node 2 had a copy of the old org.key: it is given the new one
cp "$T/n1/keys/org.key" "$T/n2/keys/org.key"
rm -rf "$T/n1/keys/retired"
for i in 1 2; do
    [ "$(cn "$i" record get "$(cat "$T/r1")")" = "stored before" ] || fail "node $i reads the old record with the new key"
done
printf 'stored after' | cn 2 record put --subject MRN-1 --category lab --type text/plain >"$T/r2" \
    || fail "node 2 stores under the new key (its first KEK came with the rotation)"
cl_wait_same 20 1 2 || fail "the nodes disagree after a new record"
[ "$(cn 1 record get "$(cat "$T/r2")")" = "stored after" ] || fail "node 1 reads what node 2 stored after the rotation"
cl_wait_same 20 1 2 || fail "the nodes disagree after the reads"
for i in 1 2; do cn "$i" verify >/dev/null || fail "node $i verifies"; done
ok "both nodes read old and new records with the new key alone, and verify"
