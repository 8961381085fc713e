# SPDX-License-Identifier: Apache-2.0
# Any change to a stored block, tx, payload, wrapped key, KEK or derived
# table makes verify exit 65 and name the block or record; an untouched copy
# verifies. Changes are made with LMDB's own tools (mdb_dump / mdb_load), as
# someone with access to the files would.
. "$(dirname "$0")/lib.sh"

init_node
for i in 1 2 3; do echo "note $i" | mc record put --subject "P$i" --category note --type text/plain >/dev/null; done
gen_ndjson 50 P | mc record import >/dev/null
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
mc verify >/dev/null || fail "the untouched chain verifies"
base="$T/base"
cp -a "$D" "$base"

# tamper DB ENTRY POS: flips one hex digit of the value of entry ENTRY
# (0-based) in database DB, at hex position POS (negative: from the end).
tamper() {
    local db=$1 entry=$2 pos=$3
    rm -rf "$D"; cp -a "$base" "$D"
    mdb_dump -s "$db" "$D/db" >"$T/dump" || fail "mdb_dump $db"
    awk -v e="$entry" -v p="$pos" '
        BEGIN { inb = 0; n = 0 }
        /^HEADER=END/ { inb = 1; print; next }
        /^DATA=END/ { inb = 0 }
        inb { n++
              if (n == 2 * e + 2) {
                  s = substr($0, 2); L = length(s)
                  q = (p < 0) ? L + p + 1 : p + 1
                  if (q < 1) q = 1; if (q > L) q = L
                  c = substr(s, q, 1)
                  d = index("0123456789abcdef", c) - 1
                  d = (d % 2 == 0) ? d + 1 : d - 1
                  s = substr(s, 1, q - 1) substr("0123456789abcdef", d + 1, 1) substr(s, q + 1)
                  print " " s; next } }
        { print }' "$T/dump" >"$T/dump2"
    cmp -s "$T/dump" "$T/dump2" && fail "tamper of $db made no change"
    mdb_load -s "$db" -f "$T/dump2" "$D/db" || fail "mdb_load $db"
}

check() {
    local what=$1 pattern=$2
    expect_exit 65 mc verify
    grep -Eq "$pattern" "$T/err" || { cat "$T/err"; fail "$what: message does not name $pattern"; }
    ok "$what -> $(head -1 "$T/err")"
}

tamper blocks 1 20;        check "block 1 header (chain id)" "block 1"
tamper blocks 2 -10;       check "block 2 certificate" "block 2"
tamper blocks 0 100;       check "genesis header" "block 0"
tamper txs 3 200;          check "a tx's body" "block [0-9]+"
tamper txs 3 -40;          check "a tx's attachment" "block [0-9]+"
tamper payloads 0 60;      check "a payload" "record [0-9a-f]{32}"
tamper payloads 7 -3;      check "a payload's tag" "record [0-9a-f]{32}"
tamper keywrap 0 70;       check "a wrapped key" "record [0-9a-f]{32}"
tamper keks 0 10;          check "the sealed KEK" "block [0-9]+"
tamper records 0 90;       check "a record's stored state" "record [0-9a-f]{32}"
tamper identities 1 2;     check "an identity's roles" "identities"
tamper ctree 1 5;          check "a chain tree node" "chain tree"
tamper seqs 0 -1;          check "a sequence number" "sequence"
tamper meta 1 3;           check "the meta table" "block|format|chain|validator|head"
tamper meta 3 -1;          check "the leader" "leader|metadata"
tamper nodes 0 5;          check "a validator's node row" "nodes|validator"
tamper valsets 0 3;        check "a validator set by height" "validator|valsets"

# A row added to a derived table the chain has not yet filled: verify
# compares every table store.h marks derived, and names it.
add_row() {
    local db=$1
    rm -rf "$D"; cp -a "$base" "$D"
    mdb_dump -s "$db" "$D/db" | sed 's/^DATA=END$/ ffffffffffffffff\n 74616d7065726564\nDATA=END/' >"$T/dump2"
    grep -q '^ ffffffffffffffff$' "$T/dump2" || fail "no row added to $db"
    mdb_load -s "$db" -f "$T/dump2" "$D/db" || fail "mdb_load $db"
}
add_row alert_acks;        check "a row added to the alert acknowledgements" "alert acknowledgements: entry ffffffffffffffff"
add_row rotations;         check "a row added to the key rotations" "key rotations: entry ffffffffffffffff"
add_row orgsucc;           check "a row added to the organization successions" "organization successions: entry ffffffffffffffff"

# A meta key renamed (a getter would fall back to the same value: the
# metadata is compared key for key).
rm -rf "$D"; cp -a "$base" "$D"
mdb_dump -s meta "$D/db" | sed 's/^ 76696577$/ 76696578/' >"$T/dump2"   # "view" -> "viex"
grep -q '^ 76696578$' "$T/dump2" || fail "no view key to rename"
mdb_load -s meta -f "$T/dump2" "$D/db"
check "a renamed meta key" "metadata"

# A block row beyond the head (a copy of block 1 stored as block 99).
rm -rf "$D"; cp -a "$base" "$D"
mdb_dump -s blocks "$D/db" | awk '/^HEADER=END/ { inb = 1; print; next } /^DATA=END/ { inb = 0 }
    inb && ++k == 3 { print " 0000000000000063"; next } inb && k == 4 { print; next } { print }' >"$T/dump2"
mdb_load -s blocks -f "$T/dump2" "$D/db" 2>/dev/null
check "an extra block row" "block"

rm -rf "$D"; cp -a "$base" "$D"
mc verify >/dev/null || fail "a fresh copy still verifies"
ok "every tampered copy refused, the untouched one verifies"
