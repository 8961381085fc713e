# SPDX-License-Identifier: Apache-2.0
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

want=$(independent_root)
[ "$root" = "$want" ] || fail "anchor plan root $root, independent recomputation $want"
payload=$(jq -r .payload "$T/plan.json")
cid=$(jq -r .chain_id "$T/plan.json")
[ "$payload" = "0x4d44433101${cid}$(printf '%016x' "$size")${root}" ] || fail "the payload is magic, version, chain id, size, root"
ok "anchor plan: root = independent RFC 9162 recomputation over $size block hashes"

find_devnode
addr=$(mc anchor keygen --no-passphrase 2>/dev/null)
secret=$(od -An -tx1 -j42 -N32 "$D/keys/anchor.key" | tr -d ' \n')
[ "$(echo "$addr" | tr A-F a-f)" = "$("$CAST" wallet address --private-key "0x$secret" | tr A-F a-f)" ] \
    || fail "our address for the anchor key equals cast's"
expect_exit 73 mc anchor keygen --no-passphrase
[ "$(stat -c %a "$D/keys/anchor.key")" = 600 ] || fail "the anchor key file is 0600"
ok "anchor keygen: cast derives the same address; a second keygen is refused"
