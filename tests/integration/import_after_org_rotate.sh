#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# An import run again after `org rotate-key` stores nothing it stored
# before, and never brings an erased record back (found in review, session
# 12: the duplicate keys were looked up under the new key only, so the
# re-run stored every record again, the erased one included, and verify
# passed). The keys the organization succeeded answer for it: in the
# importer's lookups and, from block version 4, in the chain's rule (a
# RECORD_PUT of a second record under a key an earlier key of the custodian
# holds is refused: shown by --on-duplicate version against a record
# whose key only the old organization holds, and in test_chain).
. "$(dirname "$0")/lib.sh"

init_node --org "St A"
gen_ndjson 5 MRN >"$T/night.ndjson"
mc record import "$T/night.ndjson" >"$T/ids1"
[ "$(wc -l <"$T/ids1")" -eq 5 ] || fail "the first import stores 5"
victim=$(head -1 "$T/ids1" | cut -f1)
mc record erase "$victim" --reason "patient request" --yes >/dev/null
mc --json record import "$T/night.ndjson" >"$T/j2"
jq -e '.imported == 0' "$T/j2" >/dev/null || fail "the re-run before the rotation stores nothing: $(cat "$T/j2")"
ok "before the rotation: a re-run stores nothing"

mc org rotate-key >/dev/null
mc --json record import "$T/night.ndjson" >"$T/j3"
jq -e '.imported == 0' "$T/j3" >/dev/null ||
    fail "after org rotate-key the same file is stored again: $(jq -c '{imported}' "$T/j3")"
[ "$(mc --json record list | jq 'length')" -eq 5 ] || fail "still 5 records: $(mc --json record list | jq 'length')"
jq -e --arg v "$victim" '[.. | objects | select(.record? == $v or .duplicate_of? == $v)] | length >= 1' "$T/j3" >/dev/null ||
    fail "the erased record's line is reported against its record: $(cat "$T/j3")"
mc verify >/dev/null || fail "verify after the re-run"
ok "after the rotation: the re-run stores nothing, the erased record stays erased, verify passes"

# a changed resource of the old key's is a new version of its record
awk 'NR == 2 { sub(/"note":"x/, "\"note\":\"amended x") } { print }' "$T/night.ndjson" >"$T/amended.ndjson"
mc --json record import --on-duplicate version "$T/amended.ndjson" >"$T/j4"
jq -e '.imported == 1' "$T/j4" >/dev/null || fail "one amended record stored as a version: $(jq -c '{imported}' "$T/j4")"
second=$(sed -n 2p "$T/ids1" | cut -f1)
mc --json record history "$second" >"$T/hist" || fail "record history $second"
jq -e 'length == 2' "$T/hist" >/dev/null || fail "the amendment is version 2 of the old key's record $second: $(cat "$T/hist")"
[ "$(mc --json record list | jq 'length')" -eq 5 ] || fail "still 5 records after the amendment"
mc verify >/dev/null || fail "verify after the amendment"
ok "a changed resource is the next version of the record the old key stored"
