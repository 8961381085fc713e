# SPDX-License-Identifier: Apache-2.0
# The same NDJSON or FHIR Bundle imported twice stores nothing twice: a
# resource is recognised by its FHIR identifier or id, anything else by
# subject, category and content; --on-duplicate skip (default, counted),
# version (a changed resource becomes a new version) or error (exit 65
# naming the line, nothing of that import committed). The same resource
# with other content is never dropped unsaid: skip reports it as "changed"
# and warns. Duplicates inside one file count too. verify replays the
# duplicate key index.
. "$(dirname "$0")/lib.sh"
init_node
cat >"$T/a.ndjson" <<'J'
{"subject":"P1","category":"lab","payload":{"resourceType":"Observation","id":"o1","value":1}}
{"subject":"P1","category":"lab","payload":{"resourceType":"Observation","identifier":[{"system":"urn:lab","value":"L-7"}],"value":2}}
{"subject":"P2","category":"note","payload":"free text"}
{"subject":"P1","category":"lab","payload":{"resourceType":"Observation","id":"o1","value":3}}
J
mc record import "$T/a.ndjson" >"$T/first"
[ "$(awk -F'\t' 'NF == 2' "$T/first" | wc -l)" -eq 3 ] || fail "three records stored: $(cat "$T/first")"
grep -qP '^[0-9a-f]{32}\t4\tchanged$' "$T/first" || fail "line 4 (o1 again, another value) is reported changed, not stored: $(cat "$T/first")"
[ "$(mc --json record list | jq length)" -eq 3 ] || fail "three records on the chain"
h=$(height)
mc --json record import "$T/a.ndjson" >"$T/again.json"
jq -e '.imported == 0 and .duplicates == 3 and .changed == 1 and (.skipped | length) == 4 and (.records | length) == 0' "$T/again.json" >/dev/null \
    || fail "a second import stores nothing: 3 duplicates, 1 changed: $(cat "$T/again.json")"
[ "$(height)" -eq "$h" ] && [ "$(mc --json record list | jq length)" -eq 3 ] || fail "nothing stored again"
ok "skip: the same NDJSON imported twice is stored once, duplicates counted"

# Two results that share an identifier (one accession for a panel) are not
# the same content: the second is not dropped unsaid.
cat >"$T/panel.ndjson" <<'J'
{"subject":"P7","category":"lab","payload":{"resourceType":"Observation","identifier":[{"system":"urn:acc","value":"ACC-1"}],"code":{"text":"Potassium"},"value":4.1}}
{"subject":"P7","category":"lab","payload":{"resourceType":"Observation","identifier":[{"system":"urn:acc","value":"ACC-1"}],"code":{"text":"Sodium"},"value":139}}
J
mc record import "$T/panel.ndjson" >"$T/panel.out" 2>"$T/panel.err"
grep -qP '^[0-9a-f]{32}\t2\tchanged$' "$T/panel.out" || fail "the second result is reported changed: $(cat "$T/panel.out")"
grep -q "1 resource differs from the one stored and was not stored" "$T/panel.err" ||
    fail "a changed resource not stored is warned about, also off a terminal: $(cat "$T/panel.err")"
mc --json record import --on-duplicate version "$T/panel.ndjson" >"$T/panel.json"
jq -e '.imported == 1 and .records[0].version == 2 and .duplicates == 1' "$T/panel.json" >/dev/null ||
    fail "version stores the changed one as a new version and skips the identical one: $(cat "$T/panel.json")"
ok "the same identifier with other content: reported changed and warned (skip), a new version (version); never dropped unsaid"

sed 's/"value":1}/"value":9}/' "$T/a.ndjson" >"$T/changed.ndjson"
h=$(height)
expect_exit 65 mc record import --on-duplicate error "$T/changed.ndjson"
grep -q "line 1: a duplicate of record" "$T/err" || fail "error names the line: $(cat "$T/err")"
printf '{"subject":"P9","category":"lab","payload":"new"}\n' >"$T/mixed.ndjson"
cat "$T/a.ndjson" >>"$T/mixed.ndjson"
expect_exit 65 mc record import --on-duplicate error --batch 1 "$T/mixed.ndjson"
grep -q "line 2: a duplicate" "$T/err" || fail "error names line 2: $(cat "$T/err")"
[ "$(height)" -eq "$h" ] || fail "nothing of an import with a duplicate is committed, not even a batch before it"
ok "error: exit 65 naming the line, nothing committed"

n=$(mc --json record list | jq length)
mc --json record import --on-duplicate version "$T/changed.ndjson" >"$T/v.json"
jq -e '.imported == 2 and ([.records[].version] | sort) == [2,3] and .duplicates == 2' "$T/v.json" >/dev/null \
    || fail "version: the changed resource becomes versions 2 and 3, the unchanged two are skipped: $(cat "$T/v.json")"
[ "$(mc --json record list | jq length)" -eq "$n" ] || fail "no new record, new versions"
ok "version: a changed resource becomes a new version; the same content is not stored again"

cat >"$T/bundle.json" <<'J'
{"resourceType":"Bundle","type":"collection","entry":[
 {"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p","identifier":[{"system":"urn:mrn","value":"MRN-5"}]}},
 {"resource":{"resourceType":"Observation","id":"b1","subject":{"reference":"urn:uuid:p"},"status":"final"}}]}
J
mc record import "$T/bundle.json" >/dev/null
n=$(mc --json record list | jq length)
mc --json record import "$T/bundle.json" | jq -e '.imported == 0 and .duplicates == 2' >/dev/null || fail "a Bundle imported twice"
[ "$(mc --json record list | jq length)" -eq "$n" ] || fail "the Bundle's resources are stored once"
ok "a FHIR Bundle imported twice is stored once"

id=$(awk -F'\t' 'NF == 2 && $2 == 3 { print $1 }' "$T/first")
mc record erase "$id" --reason "patient request" >/dev/null
mc --json record import --on-duplicate version "$T/a.ndjson" | jq -e '[.skipped[] | select(.erased)] | length == 1' >/dev/null \
    || fail "an erased record's duplicate is never stored again"
mc verify >/dev/null || fail "verify replays the duplicate key index"
! grep -ao "urn:lab\|L-7\|free text" "$D/db/data.mdb" >/dev/null || fail "no identifier or payload in clear at rest"
ok "erased records stay erased; verify passes"
