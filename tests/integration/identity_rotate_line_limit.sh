# SPDX-License-Identifier: Apache-2.0
# A person's key line holds at most 64 rotations (MC_ROTATIONS_MAX), the
# bound the chain walks back to find a record's author (and the admin who
# enrolled a patient, for the alerts). A 65th rotation used to be accepted,
# and its key was refused its own records as their author (77): the chain
# now refuses that rotation (65), commits nothing, and the author reads
# back under the last key the line allows. verify replays the rule.
. "$(dirname "$0")/lib.sh"

init_node --org "St A"
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
r=$(printf 'note of Dr A' | mc --as "Dr A" record put --subject Q --category note --type text/plain)
mkdir -m 0700 "$T/home"
newkey() {
    local pk
    pk=$("$MEDCHAIN_BIN" identity keygen --no-passphrase -o "$T/home/$1.key")
    install -m 0600 "$T/home/$1.key" "$D/keys/$pk.key"
    echo "$pk"
}
for i in $(seq 1 64); do
    k=$(newkey "k$i")
    mc identity rotate "Dr A" --key "$k" --lost-key --reason "rotation $i" >/dev/null \
        || fail "rotation $i of 64 is accepted: $(cat "$T/err" 2>/dev/null)"
done
[ "$(mc --as "Dr A" record get "$r")" = "note of Dr A" ] || fail "after 64 rotations Dr A reads back as the author"
ok "64 rotations of one identity: its key still reads what its first key stored"

k=$(newkey k65)
h=$(height)
expect_exit 65 mc identity rotate "Dr A" --key "$k" --lost-key --reason "one too many"
grep -q "rotated 64 times" "$T/err" || fail "the refusal says why: $(cat "$T/err")"
[ "$(height)" = "$h" ] || fail "a refused rotation commits nothing"
[ "$(mc --as "Dr A" record get "$r")" = "note of Dr A" ] || fail "Dr A still reads back as the author"
ok "a 65th rotation is refused (65), nothing committed, the author keeps its records"

mc verify >/dev/null || fail "verify replays the rotations"
ok "verify agrees"
