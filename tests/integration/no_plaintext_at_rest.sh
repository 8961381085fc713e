# SPDX-License-Identifier: Apache-2.0
# Payloads are ciphertext and subjects pseudonyms: a unique marker in a
# payload and the raw patient identifier appear nowhere in the data dir.
. "$(dirname "$0")/lib.sh"

init_node
marker="MARKER-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
patient="PATIENT-ID-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '{"resourceType":"Observation","note":"%s"}' "$marker" |
    mc record put --subject "$patient" --category observation >"$T/id"
mc identity add --name "Dr K" --role clinician --no-passphrase >/dev/null
mc consent grant --subject "$patient" --to "Dr K" --purpose treatment >/dev/null
gen_ndjson 200 "$patient" | sed "s/xxxxxxxxxx/$marker/" | mc record import >/dev/null
[ "$(mc --as "Dr K" record get "$(cat "$T/id")" | grep -c "$marker")" = 1 ] || fail "the record holds the marker"
if grep -ra -- "$marker" "$D" >/dev/null; then fail "payload marker found in the data dir"; fi
if grep -ra -- "$patient" "$D" >/dev/null; then fail "raw patient identifier found in the data dir"; fi
# nor in hex, in case something stored it encoded
hexm=$(printf '%s' "$marker" | od -An -tx1 | tr -d ' \n')
if grep -ra -- "$hexm" "$D" >/dev/null; then fail "hex-encoded marker found in the data dir"; fi
ok "no plaintext and no raw identifier at rest"
