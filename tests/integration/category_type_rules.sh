# SPDX-License-Identifier: Apache-2.0
# Categories and content types follow the same rules on every input path:
# record put, NDJSON and a FHIR Bundle refuse what the chain's entry reader
# refuses (unit test tx/entry_reader_refuses_categories_and_types_the_cli_refuses
# covers blocks from a peer), each with a message, and store nothing.
. "$(dirname "$0")/lib.sh"

init_node
h0=$(height)
printf 'x' >"$T/p"
for c in 'Lab' 'lab"x' 'lab x' "$(printf 'l\303\251')"; do
    expect_exit 64 mc record put --subject MRN-1 --category "$c" --type text/plain "$T/p"
    grep -q "invalid category" "$T/err" || fail "record put: category '$c' refused with a message"
    printf '{"subject":"MRN-1","category":"%s","type":"text/plain","payload":"x"}\n' "${c//\"/\\\"}" >"$T/in"
    expect_exit 65 mc record import "$T/in"
    grep -q "line 1: invalid category" "$T/err" || fail "NDJSON: category '$c' refused with a message"
done
for ty in 'text/x y' 'text' '/plain' 'a/b/c' "$(printf 'text/\001x')"; do
    expect_exit 64 mc record put --subject MRN-1 --category lab --type "$ty" "$T/p"
    grep -q "invalid content type" "$T/err" || fail "record put: type '$ty' refused with a message"
    jq -nc --arg t "$ty" '{subject:"MRN-1",category:"lab",type:$t,payload:"x"}' >"$T/in"
    expect_exit 65 mc record import "$T/in"
    grep -q "line 1: invalid content type" "$T/err" || fail "NDJSON: type '$ty' refused with a message"
done
# a Bundle's category is its resource type, lower-cased: the same rule
printf '{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Obs\\"x","id":"1","subject":{"reference":"Patient/MRN-1"}}}]}' >"$T/b.json"
expect_exit 65 mc record import --format bundle "$T/b.json"
grep -q "entry 1: invalid category" "$T/err" || fail "Bundle: a bad resource type is refused with a message"
[ "$(height)" -eq "$h0" ] || fail "nothing refused was stored"
ok "record put, NDJSON and Bundles refuse the same categories and types, with a message"
