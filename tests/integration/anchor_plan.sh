# What the next anchor carries: its root equals an independent RFC 9162
# recomputation over the block hashes (shell, mdb_dump, sha256sum), and the
# anchor key's address equals cast's for the same secret.
. "$(dirname "$0")/lib.sh"

init_node
for i in 1 2 3 4 5; do echo "r$i" | mc record put --subject P --category note --type text/plain >/dev/null; done
mc --json anchor plan >"$T/plan.json"
size=$(jq -r .tree_size "$T/plan.json")
root=$(jq -r .root "$T/plan.json")
[ "$size" -eq 6 ] || fail "the tree covers every block"

# Independent recomputation: block hash = SHA-256("medchain/block/v1" || the
# 189-byte header), leaf = SHA-256(0x00 || block hash), node = SHA-256(0x01 || l || r).
sha() { xxd -r -p | sha256sum | cut -c1-64; }
domain=$(printf 'medchain/block/v1' | xxd -p | tr -d '\n')
mdb_dump -s blocks "$D/db" | awk '/^HEADER=END/ { inb = 1; next } /^DATA=END/ { inb = 0 } inb && ++k % 2 == 0 { print substr($1, 1, 378) }' >"$T/headers"
: >"$T/leaves"
while read -r h; do
    bh=$(printf '%s%s' "$domain" "$h" | sha)
    printf '00%s' "$bh" | sha >>"$T/leaves"
done <"$T/headers"
mth() { # leaves from line $1, count $2
    local start=$1 n=$2 k=1
    if [ "$n" -eq 1 ]; then sed -n "${start}p" "$T/leaves"; return; fi
    while [ $((k * 2)) -lt "$n" ]; do k=$((k * 2)); done
    printf '01%s%s' "$(mth "$start" "$k")" "$(mth $((start + k)) $((n - k)))" | sha
}
want=$(mth 1 "$(wc -l <"$T/leaves")")
[ "$root" = "$want" ] || fail "anchor plan root $root, independent recomputation $want"
payload=$(jq -r .payload "$T/plan.json")
cid=$(jq -r .chain_id "$T/plan.json")
[ "$payload" = "0x4d44433101${cid}$(printf '%016x' "$size")${root}" ] || fail "the payload is magic, version, chain id, size, root"
ok "anchor plan: root = independent RFC 9162 recomputation over $size block hashes"

nm=${MEDCHAIN_DEVNODE_DIR:-}
for d in "$MC_SRCDIR" "$MC_SRCDIR/.." "$MC_SRCDIR/../.." "$MC_SRCDIR/../../.."; do
    [ -z "$nm" ] && [ -x "$d/node_modules/@foundry-rs/cast-linux-amd64/bin/cast" ] && nm="$d/node_modules"
done
CAST="$nm/@foundry-rs/cast-linux-amd64/bin/cast"
[ -x "$CAST" ] || fail "cast is missing: run tools/install-deps"
addr=$(mc anchor keygen --no-passphrase 2>/dev/null)
secret=$(od -An -tx1 -j42 -N32 "$D/keys/anchor.key" | tr -d ' \n')
[ "$(echo "$addr" | tr A-F a-f)" = "$("$CAST" wallet address --private-key "0x$secret" | tr A-F a-f)" ] \
    || fail "our address for the anchor key equals cast's"
expect_exit 73 mc anchor keygen --no-passphrase
[ "$(stat -c %a "$D/keys/anchor.key")" = 600 ] || fail "the anchor key file is 0600"
ok "anchor keygen: cast derives the same address; a second keygen is refused"
