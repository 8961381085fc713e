# SPDX-License-Identifier: Apache-2.0
# A grant whose grantee's identity is revoked afterwards (IDENTITY_REVOKE)
# permits no read: a revoked identity reads nothing (the consent check
# refuses it, actor-inactive, before any grant is looked at; the command
# refuses it first). `consent list` says so:
# the grant's status is "grantee-revoked" in text and --json, not
# "active", and --active leaves it out; a grant revoked itself stays
# "revoked". (The console's Consent screen shares the status:
# test_console_models.)
. "$(dirname "$0")/lib.sh"

init_node
dr=$(mc identity add --name "Dr A" --role clinician --no-passphrase)
r=$(echo "note" | mc record put --subject MRN-1 --category note --type text/plain)
g=$(mc consent grant --subject MRN-1 --to "Dr A" --purpose treatment)
gr=$(mc consent grant --subject MRN-1 --to "Dr A" --purpose research)
mc consent revoke "$gr" --reason "withdrawn" >/dev/null
mc --as "Dr A" record get "$r" >/dev/null || fail "the grant permits Dr A's read while Dr A is enrolled"
mc consent list | grep "^$g " | grep -q "  active " || fail "the grant is active before: $(mc consent list)"

mc identity revoke "$dr" --reason "left the hospital" >/dev/null
expect_exit 77 mc --as "$dr" record get "$r"
grep -q "is revoked" "$T/err" || fail "the revoked identity's read is refused: $(cat "$T/err")"
ok "a read by the revoked grantee is refused"

mc consent list >"$T/cl"
grep "^$g " "$T/cl" | grep -q "  grantee-revoked " || fail "consent list shows the grant as grantee-revoked: $(cat "$T/cl")"
grep "^$gr " "$T/cl" | grep -q "  revoked " || fail "a grant revoked itself stays revoked: $(cat "$T/cl")"
[ "$(awk '{ print index($0, "Dr A (") }' "$T/cl" | sort -u | wc -l)" -eq 1 ] \
    || fail "the grantee column starts at one place in every row: $(cat "$T/cl")"
mc --json consent list | jq -e --arg g "$g" --arg gr "$gr" \
    '(.[] | select(.grant == $g) | .status) == "grantee-revoked" and (.[] | select(.grant == $gr) | .status) == "revoked"' \
    >/dev/null || fail "consent list --json gives the status: $(mc --json consent list)"
[ "$(mc --json consent list --active | jq length)" -eq 0 ] || fail "--active leaves a grant to a revoked identity out"
ok "consent list shows a grant to a revoked identity as grantee-revoked (text, --json, --active)"
