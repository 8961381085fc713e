# SPDX-License-Identifier: Apache-2.0
# record import refuses input past its bounds once the bound is passed, not
# after holding the whole input: an NDJSON line over MC_INGEST_LINE_MAX
# (24 MiB; a feed with no newline included) and a one-line Bundle over
# MC_INGEST_BUNDLE_MAX (256 MiB) or of more than MC_INGEST_BUNDLE_VALUES
# JSON values exit 65 with the bound's message, nothing of their batch
# stored, the import's peak RSS well under what holding it would take.
# A first line over the limit that opens an object, no format given: the
# refusal says --format bundle reads a one-line Bundle (last, below).
# A string holding U+0000, a JSON payload that is not UTF-8 and a bad
# category or type are refused naming the line and field, never the value.
. "$(dirname "$0")/lib.sh"
need_tool /usr/bin/time time
init_node

# run_rss NAME ARGS...: medchain ARGS; its exit code in $T/NAME.rc,
# stderr in $T/NAME.err, peak RSS (KiB) in $T/NAME.rss
run_rss() {
    local name=$1; shift
    local code=0
    /usr/bin/time -f %M -o "$T/$name.rss" "$MEDCHAIN_BIN" --datadir "$D" "$@" >/dev/null 2>"$T/$name.err" || code=$?
    echo "$code" >"$T/$name.rc"
}
records() { mc --json record list | jq length; }

# An NDJSON line with no end: 200 MB of 'x' after two good lines of the
# same batch. Refused at the limit; the good lines' batch is dropped.
{ printf '%s\n' '{"subject":"P1","category":"lab","payload":"a"}' '{"subject":"P1","category":"lab","payload":"b"}'
  head -c 200000000 /dev/zero | tr '\0' x; } | run_rss long record import - || true
[ "$(cat "$T/long.rc")" -eq 65 ] || fail "a 200 MB line exits 65, not $(cat "$T/long.rc"): $(head -c 300 "$T/long.err")"
grep -q "line 3: longer than 25165824 bytes" "$T/long.err" || fail "the refusal names the line and the limit: $(head -c 300 "$T/long.err")"
[ "$(records)" -eq 0 ] || fail "nothing of the refused line's batch is stored"
[ "$(tail -1 "$T/long.rss")" -lt 98304 ] || fail "a 200 MB line is refused within 96 MiB, not $(tail -1 "$T/long.rss") KiB"
ok "an NDJSON line over 24 MiB is refused at the limit ($(tail -1 "$T/long.rss") KiB peak), its batch not stored"

# A first line with no end and no "Bundle" in its first 24 MiB is NDJSON
head -c 100000000 /dev/zero | tr '\0' x | run_rss first record import - || true
[ "$(cat "$T/first.rc")" -eq 65 ] && grep -q "line 1: longer than 25165824 bytes" "$T/first.err" ||
    fail "a first line of 100 MB is refused as an NDJSON line: $(cat "$T/first.rc") $(head -c 300 "$T/first.err")"
[ "$(tail -1 "$T/first.rss")" -lt 98304 ] || fail "a first line of 100 MB is refused within 96 MiB, not $(tail -1 "$T/first.rss") KiB"
ok "a first line over 24 MiB that names no Bundle is refused as NDJSON at the limit ($(tail -1 "$T/first.rss") KiB peak)"

# A first line of 26 MB of spaces, then an object on the same line: one
# line over the limit, not blank lines before a good one (found in review:
# it was imported, as line 2)
{ head -c 26000000 /dev/zero | tr '\0' ' '; printf '%s\n' '{"subject":"P1","category":"lab","payload":"a"}'; } |
    run_rss blank record import - || true
[ "$(cat "$T/blank.rc")" -eq 65 ] && grep -q "line 1: longer than 25165824 bytes" "$T/blank.err" ||
    fail "26 MB of spaces then an object is one line over the limit: $(cat "$T/blank.rc") $(head -c 300 "$T/blank.err")"
[ "$(records)" -eq 0 ] || fail "nothing stored of the over-long line"
ok "a first line of spaces past the limit is refused as one line over it"

# The same with --on-duplicate error, which holds the input to read it twice
{ printf '%s\n' '{"subject":"P1","category":"lab","payload":"a"}'; head -c 200000000 /dev/zero | tr '\0' x; } |
    run_rss long2 record import --on-duplicate error - || true
[ "$(cat "$T/long2.rc")" -eq 65 ] && grep -q "line 2: longer than 25165824 bytes" "$T/long2.err" ||
    fail "--on-duplicate error: a 200 MB line is refused at the limit: $(cat "$T/long2.rc") $(head -c 300 "$T/long2.err")"
[ "$(tail -1 "$T/long2.rss")" -lt 98304 ] || fail "--on-duplicate error: refused within 96 MiB, not $(tail -1 "$T/long2.rss") KiB"
[ "$(records)" -eq 0 ] || fail "--on-duplicate error: nothing stored"
ok "--on-duplicate error: an NDJSON line over 24 MiB is refused at the limit ($(tail -1 "$T/long2.rss") KiB peak)"

# one_line_bundle N BYTES [last]: a compact (one-line) Bundle of N
# Observations of P1, each with a note of BYTES; "last": its resourceType
# after its entries (as a writer that sorts keys puts it), else first
one_line_bundle() {
    if [ "${3:-}" = last ]; then printf '{"entry":['; else printf '{"resourceType":"Bundle","entry":['; fi
    for i in $(seq 1 "$1"); do
        [ "$i" -eq 1 ] || printf ','
        printf '{"resource":{"resourceType":"Observation","id":"o%d","subject":{"reference":"Patient/P1"},"note":"' "$i"
        head -c "$2" /dev/zero | tr '\0' x
        printf '"}}'
    done
    if [ "${3:-}" = last ]; then printf '],"resourceType":"Bundle"}'; else printf ']}'; fi
}
bundle() { one_line_bundle 27 10485760; }

# A compact (one-line) Bundle of 27 Observations of 10 MiB each: 283 MB,
# over the 256 MiB cap, from a pipe (read up to the cap) and from a file
# (its size known before reading).
bundle | run_rss pipe record import - || true
[ "$(cat "$T/pipe.rc")" -eq 65 ] && grep -q "a bundle is at most 268435456 bytes" "$T/pipe.err" ||
    fail "a one-line Bundle over the cap from a pipe exits 65 with the cap's message: $(cat "$T/pipe.rc") $(head -c 300 "$T/pipe.err")"
[ "$(records)" -eq 0 ] || fail "nothing of a Bundle over the cap is stored"
[ "$(tail -1 "$T/pipe.rss")" -lt 393216 ] || fail "a 283 MB Bundle is refused holding at most the cap, not $(tail -1 "$T/pipe.rss") KiB"
ok "a one-line Bundle over 256 MiB from a pipe is refused at the cap ($(tail -1 "$T/pipe.rss") KiB peak)"
bundle >"$T/b.json"
run_rss file record import "$T/b.json"
rm -f "$T/b.json"
[ "$(cat "$T/file.rc")" -eq 65 ] && grep -q "a bundle is at most 268435456 bytes" "$T/file.err" ||
    fail "a one-line Bundle file over the cap exits 65 with the cap's message: $(cat "$T/file.rc") $(head -c 300 "$T/file.err")"
[ "$(records)" -eq 0 ] || fail "nothing of a Bundle file over the cap is stored"
[ "$(tail -1 "$T/file.rss")" -lt 98304 ] || fail "a Bundle file over the cap is refused before it is read, not at $(tail -1 "$T/file.rss") KiB"
ok "a one-line Bundle file over 256 MiB is refused before it is read ($(tail -1 "$T/file.rss") KiB peak)"

# A Bundle's parsed tree is ~85 bytes a JSON value: one of 2097153 values
# (4 MB of "0,") is refused before it is parsed
awk 'BEGIN { printf "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Patient/P1\"},\"v\":["
    for (i = 0; i < 2097152; i++) printf "0,"; printf "0]}}]}" }' >"$T/values.json"
run_rss values record import "$T/values.json"
[ "$(cat "$T/values.rc")" -eq 65 ] && grep -q "a bundle holds at most 2097152 JSON values" "$T/values.err" ||
    fail "a Bundle of more than 2097152 values is refused: $(cat "$T/values.rc") $(head -c 300 "$T/values.err")"
[ "$(records)" -eq 0 ] || fail "nothing of a Bundle of too many values is stored"
[ "$(tail -1 "$T/values.rss")" -lt 98304 ] || fail "a Bundle of too many values is refused before it is parsed, not at $(tail -1 "$T/values.rss") KiB"
ok "a Bundle of more than 2097152 JSON values is refused before it is parsed ($(tail -1 "$T/values.rss") KiB peak)"

# import_refused N LINE WHAT: LINE imported as line N after a good line
# exits 65 naming line N, its message holding none of LINE's SECRET values
import_refused() {
    local code=0
    printf '%s\n%s\n' '{"subject":"P2","category":"lab","payload":"ok"}' "$2" | mc record import - >/dev/null 2>"$T/err" || code=$?
    [ "$code" -eq 65 ] || fail "$3: exit 65, not $code: $(cat "$T/err")"
    grep -q "line $1" "$T/err" || fail "$3: the message names line $1: $(cat "$T/err")"
    ! grep -q "SECRET" "$T/err" || fail "$3: the message repeats a value: $(cat "$T/err")"
    [ "$(records)" -eq 0 ] || fail "$3: nothing of the batch stored"
    ok "$3: refused, line $1 named, no value repeated"
}
import_refused 2 '{"subject":"SECRET-9\u0000MRN-1","category":"lab","payload":"a"}' "a subject holding U+0000"
import_refused 2 '{"subject":"P2","category":"lab","payload":{"resourceType":"Observation","identifier":[{"system":"s","value":"SECRET\u0000A"}]}}' \
    "a FHIR identifier holding U+0000"
import_refused 2 '{"subject":"P2","category":"lab","payload":"SECRET\u0000 the rest"}' "a text payload holding U+0000"
import_refused 2 '{"subject":"P2","category":"lab","type":"application/fhir+json","payload_base64":"/wD+"}' \
    "a JSON type with a payload that is not UTF-8"
import_refused 2 '{"subject":"P2","category":"SECRET positive","payload":"x"}' "a bad category"
import_refused 2 '{"subject":"P2","category":"lab","type":"SECRET type","payload":"x"}' "a bad content type"
printf '%s' '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"p","identifier":[{"value":"SECRET\u0000B"}]}}]}' >"$T/nul.json"
code=0; mc record import "$T/nul.json" >/dev/null 2>"$T/err" || code=$?
[ "$code" -eq 65 ] && ! grep -q SECRET "$T/err" && [ "$(records)" -eq 0 ] ||
    fail "a Bundle holding U+0000 is refused without its value: $code $(cat "$T/err")"
printf '%s' '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"SECRET Type","subject":{"reference":"Patient/p"}}}]}' >"$T/rt.json"
code=0; mc record import "$T/rt.json" >/dev/null 2>"$T/err" || code=$?
[ "$code" -eq 65 ] && grep -q "entry 1" "$T/err" && ! grep -qi SECRET "$T/err" ||
    fail "a Bundle's bad resourceType is refused naming the entry, not the value: $code $(cat "$T/err")"
ok "Bundle: U+0000 and a bad resourceType refused without the value"

# An escaped backslash before "u0000" is not U+0000: stored as written
printf '%s\n' '{"subject":"P3","category":"lab","payload":"a\\u0000b"}' | mc record import - >/dev/null
id=$(mc --json record list --subject P3 | jq -r '.[0].record')
[ "$(mc record get "$id")" = 'a\u0000b' ] || fail "an escaped backslash before u0000 is kept as text"
ok "an escaped backslash before u0000 is text, stored as written"

# A one-line Bundle over 24 MiB whose "resourceType" comes after its first
# 24 MiB (after its entries, as sorted keys put it) is taken for NDJSON and
# refused as one line over the limit; as its first line opens an object and
# no format was given, the refusal says that --format bundle reads it, and
# it does.
# A first line that opens no object, or a format given, gets no hint.
one_line_bundle 2 13000000 last >"$T/sorted.json"
before=$(records)
code=0; mc record import "$T/sorted.json" >/dev/null 2>"$T/err" || code=$?
[ "$code" -eq 65 ] && grep -q "line 1: longer than 25165824 bytes" "$T/err" ||
    fail "a one-line Bundle naming itself past 24 MiB is refused as a line over the limit: $code $(head -c 300 "$T/err")"
grep -q -- "--format bundle" "$T/err" || fail "the refusal says --format bundle reads a one-line Bundle: $(head -c 300 "$T/err")"
! grep -q -- "--format bundle" "$T/first.err" || fail "a first line that opens no object gets no hint: $(head -c 300 "$T/first.err")"
code=0; mc record import --format ndjson "$T/sorted.json" >/dev/null 2>"$T/err" || code=$?
[ "$code" -eq 65 ] && grep -q "line 1: longer than 25165824 bytes" "$T/err" && ! grep -q -- "--format bundle" "$T/err" ||
    fail "--format ndjson given: the refusal without the hint: $code $(head -c 300 "$T/err")"
mc record import --format bundle "$T/sorted.json" >/dev/null || fail "--format bundle imports the one-line Bundle"
rm -f "$T/sorted.json"
[ "$(records)" -eq $((before + 2)) ] || fail "--format bundle stores its two records"
ok "a one-line Bundle naming itself past 24 MiB: the refusal says --format bundle, which imports it"
