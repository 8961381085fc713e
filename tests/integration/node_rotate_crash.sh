#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `node rotate-key` on a sole validator with sealed keys, killed at each step
# of a rotation: before it is submitted, after it commits but before the key
# files switch, and between the two steps of the switch. Each time the next
# command carries on with the right key, the new key is sealed like node.key,
# the retired key is kept (sealed, never lost), and the chain verifies.
. "$(dirname "$0")/lib.sh"
need_test_hooks
printf 'node passphrase\n' >"$T/pass"
export MEDCHAIN_PASSPHRASE_FILE="$T/pass"
mc init -q >/dev/null
K="$D/keys"
# a key file's public key (docs/formats.md: magic 8, kind 1, flags 1, pk 32) and kind
pk_of() { od -An -tx1 -j10 -N32 "$1" | tr -d ' \n'; }
sealed() { [ "$(od -An -tx1 -j8 -N1 "$1" | tr -d ' ')" = 01 ]; }
validators() { mc --json status | jq -r '.validators | join(",")'; }
n=0
write() { n=$((n + 1)); mc identity add --name "staff-$n" --role clinician --no-passphrase >/dev/null || fail "write $n: $*"; }

# --dry-run: nothing written, no key made
h0=$(mc --json status | jq -r .height)
mc node rotate-key --dry-run >"$T/out" || fail "rotate-key --dry-run failed"
grep -q "nothing was written" "$T/out" || fail "--dry-run does not say nothing was written: $(cat "$T/out")"
[ ! -e "$K/node.next.key" ] && [ "$(mc --json status | jq -r .height)" = "$h0" ] || fail "--dry-run wrote something"
mc --json node rotate-key --dry-run | jq -e '.dry_run == true and .needed == 1' >/dev/null || fail "--dry-run --json"
ok "node rotate-key --dry-run makes no key and writes nothing"

# 1. killed before the rotation is submitted: nothing on the chain, the next
#    key kept; the node signs with its old key, and a second run goes on
#    with the same next key
old=$(pk_of "$K/node.key")
expect_exit 137 env MEDCHAIN_TEST_CRASH=rotate-before-submit "$MEDCHAIN_BIN" --datadir "$D" node rotate-key --yes
[ -f "$K/node.next.key" ] || fail "the next key is not kept after a kill before submitting"
sealed "$K/node.next.key" || fail "the next key is not sealed like node.key"
next=$(pk_of "$K/node.next.key")
[ "$(validators)" = "$old" ] || fail "a rotation reached the chain before it was submitted"
write "the old key no longer signs after a kill before submitting"
[ "$(pk_of "$K/node.key")" = "$old" ] || fail "node.key changed though the chain has no rotation"
mc node rotate-key --yes >"$T/out" 2>"$T/err" || { cat "$T/err"; fail "rotate-key again did not commit"; }
grep -q "going on with its new key" "$T/err" || fail "a second run does not say it goes on: $(cat "$T/err")"
[ "$(validators)" = "$next" ] || fail "the rotation committed another key than the one kept: $(validators)"
[ "$(pk_of "$K/node.key")" = "$next" ] && [ ! -e "$K/node.next.key" ] || fail "the key files did not switch"
ret="$K/node.retired-${old:0:16}.key"
[ "$(pk_of "$ret")" = "$old" ] && sealed "$ret" || fail "the retired key is not kept, sealed, as $ret"
write "no write after the rotation"
ok "killed before submitting: the old key signs on; run again, the same next key is rotated in"

# 2. killed after the commit, before the key files switch: the chain has the
#    new key, node.key is still the old one; the next command switches first
old=$(pk_of "$K/node.key")
expect_exit 137 env MEDCHAIN_TEST_CRASH=rotate-after-commit "$MEDCHAIN_BIN" --datadir "$D" node rotate-key --yes
next=$(pk_of "$K/node.next.key")
[ "$(validators)" = "$next" ] || fail "the rotation did not commit before the kill"
[ "$(pk_of "$K/node.key")" = "$old" ] || fail "node.key switched before the kill point"
write "the node cannot write after a kill between the commit and the switch"
[ "$(pk_of "$K/node.key")" = "$next" ] && [ ! -e "$K/node.next.key" ] || fail "the next command did not switch the key files"
[ "$(pk_of "$K/node.retired-${old:0:16}.key")" = "$old" ] || fail "the retired key is lost"
ok "killed between the commit and the key switch: the next command switches and signs with the new key"

# 3. killed in the middle of the switch (the old key linked to its retired
#    name, the new one not yet renamed over node.key)
old=$(pk_of "$K/node.key")
expect_exit 137 env MEDCHAIN_TEST_CRASH=rotate-after-link "$MEDCHAIN_BIN" --datadir "$D" node rotate-key --yes
next=$(pk_of "$K/node.next.key")
[ "$(pk_of "$K/node.key")" = "$old" ] && [ "$(pk_of "$K/node.retired-${old:0:16}.key")" = "$old" ] \
    || fail "the kill did not fall between the two steps of the switch"
write "the node cannot write after a kill during the switch"
[ "$(pk_of "$K/node.key")" = "$next" ] && [ ! -e "$K/node.next.key" ] || fail "the switch was not finished"
[ "$(validators)" = "$next" ] || fail "the chain does not have the new key"
[ "$(ls "$K" | grep -c '^node\.retired-')" = 3 ] || fail "not every retired key is kept: $(ls "$K")"
ok "killed during the key switch: the next command finishes it; all three retired keys are kept"

# --json: the new key and the block
mc --json node rotate-key --yes >"$T/rot.json"
jq -e --arg k "$(pk_of "$K/node.key")" '.committed and .key == $k and .height > 0' "$T/rot.json" >/dev/null \
    || fail "rotate-key --json does not give the new key: $(cat "$T/rot.json")"
ok "rotate-key --json gives the new key and its block"

expect_exit 0 mc verify
[ "$(mc --json audit list | jq '[.events[] | select(.type == "NODE_ROTATE")] | length')" = 4 ] \
    || fail "the audit trail does not hold the four rotations"
ok "the chain verifies and its audit trail holds the four rotations"
