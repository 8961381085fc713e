# SPDX-License-Identifier: Apache-2.0
# record erase, consent import and node remove: --dry-run prints what would
# be done (text and --json) and writes nothing (the height and every byte of
# the chain's data file are unchanged); on a terminal (a real pty, through
# script(1)) they ask first: "n" writes nothing, "y" proceeds, --yes does
# not ask; with stdin not a terminal they proceed as before (cron, scripts).
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || { echo "script(1) from bsdutils is missing"; exit 77; }

init_node
# snap: the height and a digest of the chain's data file, to compare
snap() { echo "$(height) $(sha256sum <"$D/db/data.mdb" | cut -c1-64)"; }
# on_pty ANSWER command...: runs the command on a pseudo-terminal, typing
# ANSWER; its exit status is the command's (script's own may reflect a
# write to a pty whose reader is gone)
on_pty() {
    local answer=$1; shift
    local cmd="" a
    for a in "$@"; do cmd+=" $(printf '%q' "$a")"; done
    rm -f "$T/pty.rc"
    printf '%s\n' "$answer" | script -qec "$cmd; echo \$? >$(printf '%q' "$T/pty.rc")" /dev/null || true
    [ -s "$T/pty.rc" ] || fail "script(1) ran: $cmd"
    return "$(cat "$T/pty.rc")"
}

r1=$(echo '{"resourceType":"Observation","status":"final"}' | mc record put --subject MRN-1 --category lab)
r2=$(echo '{"resourceType":"Observation","status":"amended"}' | mc record put --subject MRN-2 --category lab)
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
g=$(mc consent grant --subject MRN-1 --to "Dr A" --purpose treatment)
mc consent export -o "$T/consents.json"
jq '{resourceType: "Bundle", type: "collection", entry: [.entry[0], .entry[0]]}' "$T/consents.json" >"$T/two.json"

# --- record erase --------------------------------------------------------
before=$(snap)
out=$(mc record erase "$r1" --reason "patient request" --dry-run)
echo "$out" | grep -q "would erase record $r1 (1 version, category lab)" || fail "erase --dry-run says what it would do: $out"
mc --json record erase "$r1" --reason "patient request" --dry-run >"$T/dry.json"
jq -e --arg r "$r1" '.dry_run == true and .erase == $r and .versions == 1 and .category == "lab"' "$T/dry.json" >/dev/null \
    || fail "erase --dry-run --json: $(cat "$T/dry.json")"
expect_exit 66 mc record erase 00000000000000000000000000000000 --reason x --dry-run
# the chain's rule, checked without unlocking any key: a clinician may not erase
expect_exit 77 mc --as "Dr A" record erase "$r1" --reason "patient request" --dry-run
grep -q "'Dr A' may not erase records" "$T/err" || fail "erase --dry-run as a clinician says it would be refused: $(cat "$T/err")"
[ "$(snap)" = "$before" ] || fail "erase --dry-run leaves the height and the data file unchanged"
mc --json record list | jq -e --arg r "$r1" 'map(select(.record == $r and .erased == null)) | length == 1' >/dev/null \
    || fail "the record is still live after --dry-run"
ok "record erase --dry-run: text and JSON, nothing written"

code=0; on_pty n "$MEDCHAIN_BIN" --datadir "$D" record erase "$r1" --reason "patient request" >"$T/pty.out" 2>&1 || code=$?
[ "$code" -eq 1 ] || fail "answering n exits 1, got $code: $(cat "$T/pty.out")"
grep -q "This cannot be undone. \[y/N\]" "$T/pty.out" || fail "a terminal is asked: $(cat "$T/pty.out")"
grep -q "not confirmed: nothing was written" "$T/pty.out" || fail "n says nothing was written"
[ "$(snap)" = "$before" ] || fail "answering n writes nothing"
on_pty y "$MEDCHAIN_BIN" --datadir "$D" record erase "$r1" --reason "patient request" >"$T/pty.out" 2>&1 \
    || fail "answering y erases: $(cat "$T/pty.out")"
grep -q "erased in block" "$T/pty.out" || fail "y proceeds: $(cat "$T/pty.out")"
[ "$(height)" -eq $(( ${before%% *} + 1 )) ] || fail "the erasure is one block"
mc --json record list | jq -e --arg r "$r1" 'map(select(.record == $r and .erased != null)) | length == 1' >/dev/null \
    || fail "the record is erased after y"
before=$(snap)
on_pty "" "$MEDCHAIN_BIN" --datadir "$D" record erase "$r2" --reason x >"$T/pty.out" 2>&1 && fail "an empty answer is no"
[ "$(snap)" = "$before" ] || fail "an empty answer writes nothing"
on_pty "" "$MEDCHAIN_BIN" --datadir "$D" record erase "$r2" --reason x --yes >"$T/pty.out" 2>&1 || fail "--yes on a terminal: $(cat "$T/pty.out")"
! grep -q "\[y/N\]" "$T/pty.out" || fail "--yes does not ask"
r3=$(echo '{"resourceType":"Observation"}' | mc record put --subject MRN-3 --category lab)
mc record erase "$r3" --reason "scripted" </dev/null >/dev/null || fail "stdin not a terminal: erase proceeds without --yes"
ok "record erase on a pty: n writes nothing, y and --yes erase; not on a terminal it proceeds"

# --- consent import --------------------------------------------------------
before=$(snap)
out=$(mc consent import --dry-run "$T/two.json")
echo "$out" | grep -q "would import 2 grants in one block; nothing was written" || fail "consent import --dry-run: $out"
mc --json consent import --dry-run "$T/two.json" >"$T/dry.json"
jq -e '.dry_run == true and .count == 2 and (.grants | length) == 2 and .grants[0].purpose == "treatment"' "$T/dry.json" >/dev/null \
    || fail "consent import --dry-run --json: $(cat "$T/dry.json")"
[ "$(snap)" = "$before" ] || fail "consent import --dry-run writes nothing"
ngrants=$(mc --json consent list | jq length)
code=0; on_pty n "$MEDCHAIN_BIN" --datadir "$D" consent import "$T/two.json" >"$T/pty.out" 2>&1 || code=$?
[ "$code" -eq 1 ] && grep -q "import 2 grants in one block? \[y/N\]" "$T/pty.out" || fail "consent import asks on a terminal: $(cat "$T/pty.out")"
[ "$(snap)" = "$before" ] || fail "consent import answered n writes nothing"
on_pty y "$MEDCHAIN_BIN" --datadir "$D" consent import "$T/two.json" >"$T/pty.out" 2>&1 || fail "consent import answered y: $(cat "$T/pty.out")"
[ "$(mc --json consent list | jq length)" -eq $((ngrants + 2)) ] || fail "y imports both grants"
mc consent import - <"$T/two.json" >/dev/null || fail "consent import from a pipe proceeds without --yes"
[ "$(mc --json consent list | jq length)" -eq $((ngrants + 4)) ] || fail "the piped import is committed"
ok "consent import: --dry-run writes nothing; a terminal is asked; a pipe proceeds"

# --- node remove (a cluster of two: a removal needs both approvals) ---------
cluster_start 2
k2=${CL_KEY[2]}
vals() { cn 1 --json status | jq -c '[.height, .validators]'; }
before=$(vals)
out=$(cn 1 node remove "$k2" --dry-run)
echo "$out" | grep -q "would approve removing validator $k2 from the set of 2; the removal commits once 2 approve" \
    || fail "node remove --dry-run: $out"
cn 1 --json node remove "$k2" --dry-run >"$T/dry.json"
jq -e --arg k "$k2" '.dry_run == true and .remove == $k and .validators == 2 and .needed == 2' "$T/dry.json" >/dev/null \
    || fail "node remove --dry-run --json: $(cat "$T/dry.json")"
expect_exit 65 cn 1 node remove "$(printf '%064d' 7)" --dry-run
grep -q "is not in the validator set" "$T/err" || fail "a key outside the set is named"
code=0; on_pty n "$MEDCHAIN_BIN" --datadir "$T/n1" node remove "$k2" >"$T/pty.out" 2>&1 || code=$?
[ "$code" -eq 1 ] && grep -q "approve removing validator $k2 from the set of 2? \[y/N\]" "$T/pty.out" \
    || fail "node remove asks on a terminal: $(cat "$T/pty.out")"
! grep -q "node approve" "$T/pty.out" || fail "n signs no approval"
[ "$(vals)" = "$before" ] || fail "node remove --dry-run and n change nothing"
on_pty y "$MEDCHAIN_BIN" --datadir "$T/n1" node remove "$k2" >"$T/pty.out" 2>&1 || fail "node remove answered y: $(cat "$T/pty.out")"
tok=$(sed -n 's/.*medchain node approve \([0-9a-f]*\).*/\1/p' "$T/pty.out")
[ -n "$tok" ] || fail "y signs this node's approval and prints the token: $(cat "$T/pty.out")"
[ "$(vals)" = "$before" ] || fail "one approval of two commits nothing"
ok "node remove: --dry-run and n write nothing; y signs this validator's approval"
cn 1 verify >/dev/null || fail "verify"
mc verify >/dev/null || fail "verify"
