# SPDX-License-Identifier: Apache-2.0
# A burst of denials is counted per person, not per key: Dr A probing
# records without consent used to stay under the deny-burst threshold (5
# in an hour) by having the key rotated half way (a holder's rotation
# raises no alert of its own): 3 denials under each key, no alert. The
# denials of every key an identity held now count together.
. "$(dirname "$0")/lib.sh"

init_node --org "St A"
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
r=$(printf 'lab' | mc record put --subject P --category lab --type text/plain)
probe() { for _ in 1 2 3; do expect_exit 77 mc --as "Dr A" record get "$r"; done; }
probe
mkdir -m 0700 "$T/home"
new=$("$MEDCHAIN_BIN" identity keygen --no-passphrase -o "$T/home/new.key")
install -m 0600 "$T/home/new.key" "$D/keys/$new.key"
mc identity rotate "Dr A" --key "$new" >/dev/null || fail "a holder's rotation of Dr A: $(cat "$T/err" 2>/dev/null)"
mc --json alerts | jq -e 'all(.[]; .alert != "lost-key-rotation")' >/dev/null || fail "a holder's rotation raises no alert"
probe
ok "setup: 3 denials under Dr A's first key, a holder's rotation, 3 under the new key"

mc --json alerts >"$T/alerts.json"
jq -e --arg n "$new" '[.[] | select(.alert == "deny-burst" and .actor == $n and .denials == 6)] | length == 1' "$T/alerts.json" >/dev/null \
    || fail "one deny-burst alert for Dr A's 6 denials, named by the newest key: $(cat "$T/alerts.json")"
ok "the denials under both keys are one deny-burst of 6"
