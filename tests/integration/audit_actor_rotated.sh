# SPDX-License-Identifier: Apache-2.0
# `audit list --actor NAME` lists what the person did under every key
# their identity held: an IDENTITY_ROTATE moves Dr A to a new key, and the
# query by name used to list only the new key's events, so Dr A's
# break-glass read under the old key vanished from an auditor's view of
# Dr A. Paging (--limit, --after) walks the same events.
. "$(dirname "$0")/lib.sh"

init_node --org "St A"
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
mc identity add --name "Dr B" --role clinician --no-passphrase >/dev/null
r=$(printf 'lab' | mc record put --subject P --category lab --type text/plain)
mc --as "Dr A" record get "$r" --break-glass "unconscious patient" >/dev/null || fail "Dr A breaks the glass"
mc --as "Dr B" record get "$r" --break-glass "Dr B's own emergency" >/dev/null || fail "Dr B breaks the glass"
old=$(mc --json identity list | jq -r '.[] | select(.name == "Dr A") | .key')
mkdir -m 0700 "$T/home"
new=$("$MEDCHAIN_BIN" identity keygen --no-passphrase -o "$T/home/new.key")
install -m 0600 "$T/home/new.key" "$D/keys/$new.key"
mc identity rotate "Dr A" --key "$new" --lost-key --reason "laptop stolen" >/dev/null || fail "the rotation"
mc --as "Dr A" record get "$r" --break-glass "second emergency" >/dev/null || fail "Dr A under the new key"
ok "setup: Dr A breaks the glass under the old key and the new one; Dr B once"

mc --json audit list --actor "Dr A" >"$T/a.json"
jq -e --arg o "$old" '[.events[] | select(.actor == $o and .type == "ACCESS")] | length == 1' "$T/a.json" >/dev/null \
    || fail "the old key's break-glass read is listed under Dr A: $(cat "$T/a.json")"
jq -e --arg n "$new" '[.events[] | select(.actor == $n and .type == "ACCESS")] | length == 1' "$T/a.json" >/dev/null \
    || fail "the new key's read is listed: $(cat "$T/a.json")"
jq -e --arg o "$old" --arg n "$new" 'all(.events[]; .actor == $o or .actor == $n) and (.events | length == 2)' "$T/a.json" >/dev/null \
    || fail "only Dr A's events: $(cat "$T/a.json")"
mc audit list --actor "Dr A" | grep -q "unconscious patient" || fail "the text listing shows the old key's reason"
ok "audit list --actor lists Dr A's events under both keys, and nobody else's"

mc --json audit list --actor "Dr A" --outcome break-glass >"$T/bg.json" || fail "actor and outcome together"
jq -e '.events | length == 2' "$T/bg.json" >/dev/null || fail "both break-glass reads: $(cat "$T/bg.json")"
mc --json audit list --actor "$old" >"$T/o.json"
jq -e --arg n "$new" '[.events[] | select(.actor == $n)] | length == 0' "$T/o.json" >/dev/null \
    || fail "the old key asked for by key lists its own events only: $(cat "$T/o.json")"
ok "with --outcome too; the old key by itself lists its own"

mc --json audit list --actor "Dr A" --limit 1 >"$T/p1.json"
next=$(jq -r .next "$T/p1.json")
[ -n "$next" ] && [ "$next" != null ] || fail "a first page of one names the next: $(cat "$T/p1.json")"
mc --json audit list --actor "Dr A" --limit 1 --after "$next" >"$T/p2.json"
jq -e --arg o "$old" '.events[0].actor == $o' "$T/p1.json" >/dev/null || fail "page 1 is the old key's read"
jq -e --arg n "$new" '.events[0].actor == $n' "$T/p2.json" >/dev/null || fail "page 2 the new key's: $(cat "$T/p2.json")"
ok "paged one by one, the same two events in chain order"
