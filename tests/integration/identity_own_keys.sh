# SPDX-License-Identifier: Apache-2.0
# Each identity holds its own key: the admin cannot act as a clinician with
# the admin's passphrase. Dr A makes a key with `identity keygen` under Dr
# A's passphrase and the admin enrols only its public key; Dr B's key is made
# on the node under a passphrase Dr B gives (--new-passphrase-file). With the
# admin's passphrase, `--as "Dr A" record get --break-glass` exits 77 and
# writes no ACCESS for Dr A; with Dr A's own passphrase it reads.
. "$(dirname "$0")/lib.sh"

printf 'admin secret one\n' >"$T/admin.pass"
printf 'doctor a secret\n' >"$T/dra.pass"
printf 'doctor b secret\n' >"$T/drb.pass"
chmod 0600 "$T"/*.pass
mc --passphrase-file "$T/admin.pass" init -q
admin() { mc --passphrase-file "$T/admin.pass" "$@"; }

# Dr A, in Dr A's own account: a key sealed under Dr A's passphrase
mkdir -m 0700 "$T/home-a"
pka=$("$MEDCHAIN_BIN" --passphrase-file "$T/dra.pass" identity keygen -o "$T/home-a/dra.key")
[[ $pka =~ ^[0-9a-f]{64}$ ]] || fail "keygen prints the public key: '$pka'"
[ "$(od -An -tx1 -j8 -N1 "$T/home-a/dra.key" | tr -d ' ')" = 01 ] || fail "keygen seals the key"
[ "$(stat -c %a "$T/home-a/dra.key")" = 600 ] || fail "the key file is 0600"
expect_exit 73 "$MEDCHAIN_BIN" --passphrase-file "$T/dra.pass" identity keygen -o "$T/home-a/dra.key"
ok "identity keygen: a sealed key file under the holder's passphrase, never over an existing file"

# the admin enrols only the public key: no secret key is made on the node
before=$(ls "$D/keys" | sort)
[ "$(admin identity add --key "$pka" --name "Dr A" --role clinician)" = "$pka" ] || fail "add --key prints the key"
[ "$(ls "$D/keys" | sort)" = "$before" ] || fail "identity add --key writes no key file"
expect_exit 64 admin identity add --key "${pka:0:60}" --name "Dr X" --role clinician
expect_exit 64 admin identity add --key "$pka" --name "Dr Y" --role clinician --no-passphrase
expect_exit 65 admin identity add --key "$pka" --name "Dr Z" --role clinician
admin --json identity list | jq -e '[.[] | select(.name | startswith("Dr "))] | length == 1' >/dev/null \
    || fail "bad --key enrols nobody"
# Dr A hands the sealed file to the node (it stays sealed under Dr A's passphrase)
install -m 0600 "$T/home-a/dra.key" "$D/keys/$pka.key"
ok "identity add --key enrols the public key alone"

# Dr B's key made on the node: sealed under Dr B's passphrase, not the admin's
expect_exit 77 admin identity add --name "Dr B" --role clinician
grep -q "new key of Dr B" "$T/err" || fail "no terminal for Dr B's passphrase is named: $(cat "$T/err")"
admin --json identity list | jq -e 'all(.[]; .name != "Dr B")' >/dev/null || fail "no passphrase, no enrolment"
pkb=$(admin identity add --name "Dr B" --role clinician --new-passphrase-file "$T/drb.pass")
[ "$(od -An -tx1 -j8 -N1 "$D/keys/$pkb.key" | tr -d ' ')" = 01 ] || fail "Dr B's key is sealed"
ok "identity add without --key seals the new key under the holder's passphrase"

printf '{"resourceType":"Observation","note":"SECRET-%s"}' "$RANDOM" >"$T/payload"
admin record put --subject MRN-1 --category lab "$T/payload" >"$T/id"
id=$(cat "$T/id")
access_by() { admin --json audit list --subject MRN-1 | jq --arg n "$1" '[.events[] | select(.type == "ACCESS" and .actor_name == $n)] | length'; }

for who in "Dr A" "Dr B"; do
    # the admin's passphrase file, for the node's keys and given for the invocation
    expect_exit 77 env MEDCHAIN_PASSPHRASE_FILE="$T/admin.pass" "$MEDCHAIN_BIN" --datadir "$D" \
        --passphrase-file "$T/admin.pass" --as "$who" record get --break-glass "curious" "$id"
    [ ! -s "$T/out" ] || fail "no plaintext for the admin as $who"
    grep -q "wrong passphrase" "$T/err" || fail "the admin's passphrase is refused for $who's key: $(cat "$T/err")"
    # the node's passphrase alone is never tried on a staff key
    expect_exit 77 env MEDCHAIN_PASSPHRASE_FILE="$T/admin.pass" "$MEDCHAIN_BIN" --datadir "$D" \
        --as "$who" record get --break-glass "curious" "$id"
    [ ! -s "$T/out" ] || fail "no plaintext for the admin as $who (environment)"
    # nor a passphrase given without --as for the node's keys
    expect_exit 77 admin --as "$who" record get --break-glass "curious" "$id"
    [ ! -s "$T/out" ] || fail "no plaintext for the admin as $who (--passphrase-file)"
    [ "$(access_by "$who")" = 0 ] || fail "no ACCESS is written for $who"
done
ok "the admin's passphrase does not unlock a clinician's key: 77, no plaintext, no ACCESS in their name"

MEDCHAIN_PASSPHRASE_FILE="$T/admin.pass" mc --passphrase-file "$T/dra.pass" --as "Dr A" record get \
    --break-glass "unconscious patient" "$id" >"$T/got" 2>/dev/null
cmp -s "$T/got" "$T/payload" || fail "Dr A reads with Dr A's passphrase"
MEDCHAIN_PASSPHRASE_FILE="$T/admin.pass" mc --passphrase-file "$T/drb.pass" --as "Dr B" record get \
    --break-glass "unconscious patient" "$id" >"$T/got" 2>/dev/null
cmp -s "$T/got" "$T/payload" || fail "Dr B reads with Dr B's passphrase"
[ "$(access_by "Dr A")" = 1 ] && [ "$(access_by "Dr B")" = 1 ] || fail "each holder's own read is audited"
ok "with their own passphrase, Dr A and Dr B read (break-glass) and the trail names them"

# the admin still acts as the admin with --as, on the node's passphrase
adminpk=$(od -An -tx1 -j10 -N32 "$D/keys/admin.key" | tr -d ' \n')
admin --as "$adminpk" --json identity list >/dev/null || fail "--as the admin's own key takes --passphrase-file"
ok "--as the node's admin unlocks with the node's passphrase"
