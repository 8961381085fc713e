# SPDX-License-Identifier: Apache-2.0
# Consent is enforced on every read and every attempt is audited: no grant
# denies (77, no plaintext, a deny event); a grant permits identical bytes;
# revoked and expired grants deny again; break-glass is for clinicians only
# and flagged; bad consent input changes nothing.
. "$(dirname "$0")/lib.sh"

init_node
dr=$(mc identity add --name "Dr A" --role clinician --no-passphrase)
mc identity add --name "Aud" --role auditor --no-passphrase >/dev/null
printf '{"resourceType":"Observation","note":"SECRET-%s"}' "$RANDOM" >"$T/payload"
mc record put --subject MRN-7 --category lab "$T/payload" >"$T/id"
id=$(cat "$T/id")

expect_exit 77 mc --as "Dr A" record get "$id"
[ ! -s "$T/out" ] || fail "no plaintext on stdout without a grant"
grep -q "no consent grant" "$T/err" || fail "the denial says why"
mc --json audit list --subject MRN-7 | jq -e '.events | length == 1 and .[0].outcome == "deny" and .[0].actor_name == "Dr A"' >/dev/null \
    || fail "a deny event is in the audit trail"
ok "no grant: 77, no plaintext, deny audited"

g=$(mc consent grant --subject MRN-7 --to "Dr A" --purpose treatment --scope lab --form "form 2026-117")
mc --as "Dr A" record get "$id" >"$T/got"
cmp -s "$T/got" "$T/payload" || fail "a grant gives identical bytes"
expect_exit 77 mc --as "Dr A" record get --purpose research "$id"
grep -q "another purpose" "$T/err" || fail "wrong purpose is named"
mc consent list --subject MRN-7 --active | grep -q "$g" || fail "consent list shows the active grant"
mc consent revoke "$g" --reason "patient withdrew consent" >/dev/null
expect_exit 77 mc --as "Dr A" record get "$id"
grep -q "revoked" "$T/err" || fail "a revoked grant denies"
mc --json consent list --subject MRN-7 | jq -e '.[0].status == "revoked"' >/dev/null || fail "consent list shows it revoked"
ok "grant permits identical bytes; wrong purpose and revoke deny"

until=$(date -u -d '+6 seconds' +%Y-%m-%dT%H:%M:%SZ)
mc consent grant --subject MRN-7 --to "Dr A" --purpose treatment --until "$until" >/dev/null
mc --as "Dr A" record get "$id" >/dev/null || fail "the short grant permits before it ends"
sleep 7
expect_exit 77 mc --as "Dr A" record get "$id"
grep -q "expired" "$T/err" || fail "past expiry denies"
ok "past expiry: denied again"

mc --as "Dr A" record get --break-glass "unconscious patient in the ER" "$id" >"$T/got" 2>"$T/bg"
cmp -s "$T/got" "$T/payload" || fail "break-glass by a clinician reads"
grep -q "break-glass" "$T/bg" || fail "break-glass is flagged to the reader"
expect_exit 77 mc --as Aud record get --break-glass "curious" "$id"
expect_exit 77 mc record get --break-glass "admin override" "$id"
expect_exit 77 mc --as Aud record get "$id"
ok "break-glass: clinician yes, auditor and admin no"

# Every attempt, in order, with actor, purpose and outcome.
mc --json audit list --subject MRN-7 | jq -r '.events[] | select(.type == "ACCESS") | "\(.actor_name) \(.purpose) \(.outcome)"' >"$T/trail"
cat >"$T/want" <<'TRAIL'
Dr A treatment deny
Dr A treatment permit
Dr A research deny
Dr A treatment deny
Dr A treatment permit
Dr A treatment deny
Dr A emergency break-glass
Aud emergency deny
admin emergency deny
Aud treatment deny
TRAIL
diff -u "$T/want" "$T/trail" || fail "the audit trail lists every attempt in order"
mc --json audit list --outcome break-glass | jq -e '.events | length == 1 and (.[0].break_glass | length > 0)' >/dev/null \
    || fail "break-glass reads are found by outcome, with their reason"
mc --json audit list --actor Aud | jq -e '.events | length == 2' >/dev/null || fail "audit list by actor"
mc --json audit list --subject MRN-7 --limit 3 >"$T/p1"
next=$(jq -r .next "$T/p1")
mc --json audit list --subject MRN-7 --limit 3 --after "$next" | jq -e '.events | length == 3' >/dev/null || fail "paging"
[ "$(jq -r '.events[0].block' "$T/p1")" -lt "$(mc --json audit list --subject MRN-7 --limit 3 --after "$next" | jq -r '.events[0].block')" ] \
    || fail "the next page starts after the cursor"
# Newest first, paged backwards, for each index and for the unfiltered scan:
# the pages, joined, are the oldest-first list reversed.
for filt in "--subject MRN-7" "--actor Aud" "--outcome deny" ""; do
    # shellcheck disable=SC2086
    mc --json audit list $filt --limit 100000 | jq -r '.events[] | "\(.block).\(.tx)"' >"$T/fwd"
    : >"$T/bwd"; cur=""
    while :; do
        # shellcheck disable=SC2086
        mc --json audit list $filt --newest --limit 2 ${cur:+--after "$cur"} >"$T/pg"
        jq -r '.events[] | "\(.block).\(.tx)"' "$T/pg" >>"$T/bwd"
        cur=$(jq -r '.next // empty' "$T/pg")
        [ -n "$cur" ] || break
    done
    [ -s "$T/fwd" ] || fail "events for '$filt'"
    diff <(tac "$T/fwd") "$T/bwd" >/dev/null || fail "newest first, paged, is the reverse for '$filt'"
done
ok "audit list: in order; by subject, actor and outcome; paged; newest first paged backwards"

# Bad input writes nothing.
h0=$(height)
bad() { local code=$1 what=$2; shift 2; expect_exit "$code" "$@"; [ "$(height)" = "$h0" ] || fail "$what changed the chain"; ok "$what -> $code: $(head -1 "$T/err")"; }
bad 67 "unknown grantee" mc consent grant --subject MRN-7 --to "Dr Nobody" --purpose treatment
bad 64 "until before from" mc consent grant --subject MRN-7 --to "Dr A" --purpose treatment --from 2026-12-01 --until 2026-11-01
bad 64 "a purpose not in the list" mc consent grant --subject MRN-7 --to "Dr A" --purpose marketing
bad 66 "revoking an unknown grant" mc consent revoke 0123456789abcdef0123456789abcdef --reason x
bad 65 "revoking an already revoked grant" mc consent revoke "$g" --reason again
bad 64 "a bad scope" mc consent grant --subject MRN-7 --to "Dr A" --purpose treatment --scope "Not A Category"
bad 64 "a purpose not in the list on read" mc --as "Dr A" record get --purpose marketing "$id"
bad 77 "an auditor cannot grant" mc --as Aud consent grant --subject MRN-7 --to "Dr A" --purpose treatment
mc verify >/dev/null || fail "verify replays every consent decision"
ok "bad consent input writes nothing; verify passes"

# FHIR R4: exported AuditEvents and Consents carry every required element.
rules="$MC_SRCDIR/tests/data/fhir-r4-required.jq"
mc audit export --format fhir -o "$T/audit.json"
[ "$(jq '.entry | length' "$T/audit.json")" -ge 12 ] || fail "every event is exported"
v=$(jq -r -f "$rules" "$T/audit.json")
[ -z "$v" ] || fail "AuditEvent export misses required elements: $v"
jq -e '[.entry[].resource | select([.purposeOfEvent[]?.coding[]?.code] | index("BTG"))] | length == 1' "$T/audit.json" >/dev/null \
    || fail "the break-glass read carries BTG"
mc audit export --format csv --subject MRN-7 >"$T/audit.csv"
head -1 "$T/audit.csv" | grep -qx 'time,block,tx,type,actor,actor_name,subject,record,version,purpose,outcome,grant,reason,break_glass' \
    || fail "the CSV header is fixed"
[ "$(grep -c ',ACCESS,' "$T/audit.csv")" -eq 10 ] || fail "the CSV has every access of the subject"
g3=$(mc consent grant --subject MRN-7 --to "Dr A" --purpose research --scope lab,imaging --from 2026-11-01 --until 2030-01-01 --form "form A-17")
mc consent export --subject MRN-7 -o "$T/consents.json"
v=$(jq -r -f "$rules" "$T/consents.json")
[ -z "$v" ] || fail "Consent export misses required elements: $v"
jq --arg g "$g3" '{resourceType: "Bundle", type: "collection", entry: [.entry[] | select(.resource.id == $g)]}' "$T/consents.json" >"$T/one.json"
g4=$(mc consent import "$T/one.json")
mc consent export --subject MRN-7 | jq --arg g "$g4" '.entry[] | select(.resource.id == $g) | .resource | del(.id, .identifier, .dateTime)' >"$T/b.json"
jq '.entry[0].resource | del(.id, .identifier, .dateTime)' "$T/one.json" >"$T/a.json"
diff -u "$T/a.json" "$T/b.json" || fail "a Consent exported and imported again gives the same grant"
ok "FHIR R4 AuditEvent and Consent exports carry the required elements; Consent round-trips"

h0=$(height)
echo '{"resourceType":"Consent","status":"active"}' >"$T/bad1.json"
bad 65 "a Consent without its required elements" mc consent import "$T/bad1.json"
printf '{"resourceType":"Bundle","entry":[{"resource":' >"$T/bad2.json"
bad 65 "truncated FHIR" mc consent import "$T/bad2.json"
jq '.entry[0].resource.provision.purpose[0].code = "FUN"' "$T/one.json" >"$T/bad3.json"
bad 65 "a Consent with an unknown purpose" mc consent import "$T/bad3.json"
jq '.entry += [.entry[0]] | .entry[1].resource.provision.actor[0].reference = {"display": "Nobody"}' "$T/one.json" >"$T/bad4.json"
bad 67 "a bundle whose second Consent names an unknown grantee (the first is not kept either)" mc consent import "$T/bad4.json"

# The alerts model: break-glass reads, bursts of denials, grants ending soon.
mc consent grant --subject MRN-8 --to "Dr A" --purpose treatment --until 2d >/dev/null
mc --json alerts --burst 4 >"$T/alerts.json"
jq -e '[.[] | select(.alert == "break-glass")] | length == 1' "$T/alerts.json" >/dev/null || fail "one break-glass alert"
jq -e '[.[] | select(.alert == "deny-burst" and .actor_name == "Dr A")] | .[0].denials >= 4' "$T/alerts.json" >/dev/null \
    || fail "Dr A's denials make a burst"
jq -e '[.[] | select(.alert == "deny-burst" and .actor_name == "Aud")] | length == 0' "$T/alerts.json" >/dev/null \
    || fail "two denials are not a burst of four"
jq -e '[.[] | select(.alert == "grant-expiring")] | length == 1' "$T/alerts.json" >/dev/null || fail "the 2-day grant is ending soon"
ok "alerts: break-glass, deny bursts, grants ending soon"

# A patient identity grants and revokes for its own subject only.
expect_exit 64 mc identity add --name "Pat" --role patient --no-passphrase
mc identity add --name "Pat" --role patient --subject MRN-9 --no-passphrase >/dev/null
printf 'for MRN-9' | mc record put --subject MRN-9 --category lab --type text/plain >"$T/id9"
expect_exit 77 mc --as "Dr A" record get "$(cat "$T/id9")"
pg=$(mc --as Pat consent grant --subject MRN-9 --to "Dr A" --purpose treatment)
[ "$(mc --as "Dr A" record get "$(cat "$T/id9")")" = "for MRN-9" ] || fail "the patient's grant permits"
mc consent export --subject MRN-9 | jq -e '.entry[0].resource.sourceAttachment.title == "signed by the patient"' >/dev/null \
    || fail "the patient's own signature attests the grant"
h0=$(height)
bad 77 "a patient granting for another patient" mc --as Pat consent grant --subject MRN-7 --to "Dr A" --purpose treatment
bad 77 "a patient revoking another patient's grant" mc --as Pat consent revoke "$g3" --reason mine
mc --as Pat consent revoke "$pg" --reason "I changed my mind" >/dev/null
expect_exit 77 mc --as "Dr A" record get "$(cat "$T/id9")"
mc verify >/dev/null || fail "verify after patient grants"
ok "a patient grants and revokes for its own records only"
