# SPDX-License-Identifier: Apache-2.0
# kill -9 of a running `record import` at a random instant, 20 times: every
# record it reported committed is present afterwards, and verify passes.
. "$(dirname "$0")/lib.sh"

init_node
gen_ndjson 40000 CRASH >"$T/in.ndjson"
: >"$T/reported"
for round in $(seq 1 20); do
    "$MEDCHAIN_BIN" --datadir "$D" record import --batch 500 "$T/in.ndjson" >"$T/out.$round" 2>/dev/null &
    pid=$!
    # a random instant within the first ~0.6 s
    sleep "0.$(( (RANDOM % 60) + 2 ))"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    # only complete lines were reported
    awk -F'\t' 'NF == 2 && length($1) == 32' "$T/out.$round" >>"$T/reported"
done
n=$(wc -l <"$T/reported")
[ "$n" -gt 0 ] || fail "some batches committed before the kills"
mc --json record list | jq -r '.[].record' | sort >"$T/present"
# a run after a kill skips what earlier runs stored and names it again
# ("id TAB line TAB duplicate", maybe cut short by the kill): each id once
cut -f1 "$T/reported" | sort -u >"$T/want"
missing=$(comm -23 "$T/want" "$T/present" | wc -l)
[ "$missing" -eq 0 ] || fail "$missing reported records are missing after kill -9"
# spot-check that reported records decrypt (under a grant per patient)
mc identity add --name "Dr K" --role clinician --no-passphrase >/dev/null
for s in $(seq 0 9); do mc consent grant --subject "CRASH-$s" --to "Dr K" --purpose treatment >/dev/null; done
for id in $(shuf -n 20 "$T/want"); do
    mc --as "Dr K" record get "$id" | grep -q '"resourceType":"Observation"' || fail "record $id does not decrypt"
done
mc verify >/dev/null || fail "verify after 20 kills"
ok "$n reported records all present after 20 kill -9; verify passes"
