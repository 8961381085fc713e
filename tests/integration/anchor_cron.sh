# SPDX-License-Identifier: Apache-2.0
# medchain anchor as cron runs it, against a real anvil (1 s blocks, its
# "finalized" block 2 behind the head): one public tx per anchor carrying
# chain id, tree size and a root equal to an independent RFC 9162
# recomputation; nothing new means no tx; a block of ANCHOR_COMMITs alone
# calls for no anchor; a second run at once exits 75 and changes nothing;
# a corrupt chain is never anchored; bad configuration gets a clear message.
. "$(dirname "$0")/lib.sh"

init_node
start_anvil --slots-in-an-epoch 1 --block-time 1
anchor_setup
nonce() { "$CAST" nonce "$ADDR" --rpc-url "$URL"; }

gen_ndjson 1000 MRN >"$T/recs.ndjson"
mc record import -q "$T/recs.ndjson" >/dev/null
[ "$(mc --json record list | jq length)" -eq 1000 ] || fail "1000 records imported"

# --dry-run: the plan, nothing journaled, nothing sent.
expect_exit 0 mc --json anchor --dry-run
[ "$(jq -r .outcome "$T/out")" = dry_run ] || fail "the dry run reports a plan"
[ "$(nonce)" -eq 0 ] || fail "the dry run sent nothing"
[ "$(mc --json anchor list | jq length)" -eq 0 ] || fail "the dry run journaled nothing"
ok "anchor --dry-run plans and changes nothing"

size=$(($(height) + 1))
want=$(independent_root)
expect_exit 0 mc --json anchor --wait 60
out="$T/run1.json"; cp "$T/out" "$out"
[ "$(jq -r .outcome "$out")" = confirmed ] || fail "the anchor is confirmed within the wait: $(cat "$out")"
tx=$(jq -r .anchor.tx_hash "$out")
[ "$(nonce)" -eq 1 ] || fail "exactly one public transaction"
cid=$(mc --json status | jq -r .chain_id)
input=$("$CAST" tx "$tx" input --rpc-url "$URL")
[ "$input" = "0x4d44433101${cid}$(printf '%016x' "$size")${want}" ] \
    || fail "cast tx shows calldata magic|version|chain id|tree size $size|independent root: $input"
gas=$("$CAST" receipt "$tx" gasUsed --rpc-url "$URL")
[ "$gas" -le 25000 ] || fail "gas per anchor $gas > 25000"
ok "1000 records: one public tx (gas $gas), calldata = chain id, size $size, independent root"

# The ANCHOR_COMMIT is on the private chain, and verify replays it.
[ "$(jq -r .anchor.commit_height "$out")" -eq "$size" ] || fail "ANCHOR_COMMIT in the next private block"
expect_exit 0 mc verify
mc --json status >"$T/status.json"
[ "$(jq -r .last_anchor.tree_size "$T/status.json")" -eq "$size" ] || fail "status shows the last anchor"
[ "$(jq -r .last_anchor.tx_hash "$T/status.json")" = "$tx" ] || fail "status shows its public tx"
ok "the ANCHOR_COMMIT that records the confirmed anchor is on the chain, verifies, and status shows it"

# Nothing new (the chain grew by the ANCHOR_COMMIT block only): exit 0, no tx.
expect_exit 0 mc anchor
grep -q "nothing new" "$T/out" || fail "nothing new is said: $(cat "$T/out")"
expect_exit 0 mc anchor --wait 5
[ "$(nonce)" -eq 1 ] || fail "nothing new sends no transaction"
ok "nothing new (a block of ANCHOR_COMMIT only): exit 0 and no tx"

# Two runs at once: one anchors, the other exits 75 at once, changing nothing.
echo new | mc record put --subject P --category note --type text/plain >/dev/null
mc anchor --wait 60 >"$T/first.out" 2>&1 &
first=$!
# wait until the first run holds the lock (read from /proc/locks: probing
# with flock would race the first run for it)
for i in $(seq 1 200); do
    [ -e "$D/anchor.lock" ] && grep -q "FLOCK .* [0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:$(stat -c %i "$D/anchor.lock") " /proc/locks && break
    sleep 0.05
done

start=$(date +%s%N)
expect_exit 75 mc anchor
took=$((($(date +%s%N) - start) / 1000000))
grep -q "holds the lock" "$T/err" || fail "the busy run says why"
wait "$first" || fail "the first run anchors: $(cat "$T/first.out")"
[ "$(nonce)" -eq 2 ] || fail "exactly one more public transaction"
[ "$(mc --json anchor list | jq length)" -eq 2 ] || fail "two anchors journaled in all"
ok "two runs at once: one anchors, the other exits 75 in ${took} ms"


# Every stored consistency proof verifies from the anchor before it.
expect_exit 0 mc --json anchor list
[ "$(jq -r '.[1].consistency' "$T/out")" = ok ] || fail "anchor 2's consistency proof from anchor 1 verifies"
ok "anchor list: the consistency proof of anchor 2 verifies from anchor 1"

# A corrupt chain is never anchored (65), and nothing is sent.
echo more | mc record put --subject P --category note --type text/plain >/dev/null
cp -a "$D/db" "$T/db.good"
mdb_dump -s keks "$D/db" >"$T/keks.dump"
awk '/^HEADER=END/ { inb = 1; print; next } /^DATA=END/ { inb = 0 } inb && ++k == 2 { c = substr($0, 12, 1); $0 = substr($0, 1, 11) (c == "0" ? "1" : "0") substr($0, 13) } { print }' \
    "$T/keks.dump" >"$T/keks.bad"
mdb_load -s keks -f "$T/keks.bad" "$D/db" 2>/dev/null
expect_exit 65 mc anchor
grep -q "fails verification" "$T/err" || fail "the refusal names verification: $(cat "$T/err")"
[ "$(nonce)" -eq 2 ] || fail "a corrupt chain sent nothing"
rm -rf "$D/db"; cp -a "$T/db.good" "$D/db"
ok "a corrupt chain: exit 65, nothing anchored"

# verify = recent: the blocks since the last anchor, checked in O(new blocks).
echo "verify = recent" >>"$D/medchain.conf"
last=$(height)
mdb_dump -s blocks "$D/db" >"$T/blocks.dump"
awk -v want="$(printf '%016x' "$last")" '/^HEADER=END/ { inb = 1; print; next } /^DATA=END/ { inb = 0 }
    inb && prev_key == 1 { c = substr($0, 200, 1); $0 = substr($0, 1, 199) (c == "0" ? "1" : "0") substr($0, 201); prev_key = 0; print; next }
    inb { prev_key = ($1 == want) }
    { print }' "$T/blocks.dump" >"$T/blocks.bad"
cmp -s "$T/blocks.dump" "$T/blocks.bad" && fail "the block tamper changed nothing"
mdb_load -s blocks -f "$T/blocks.bad" "$D/db" 2>/dev/null
expect_exit 65 mc anchor
grep -q "block $last" "$T/err" || fail "verify = recent names the damaged block: $(cat "$T/err")"
[ "$(nonce)" -eq 2 ] || fail "a damaged new block sent nothing"
rm -rf "$D/db"; mv "$T/db.good" "$D/db"
expect_exit 0 mc anchor --wait 60
[ "$(nonce)" -eq 3 ] || fail "verify = recent anchors an intact chain"
sed -i '/^verify = recent/d' "$D/medchain.conf"
ok "verify = recent: a damaged block after the last anchor is 65 naming it; an intact chain anchors"

# Bad configuration and bad answers: a clear message and a sysexits code.
cp "$D/medchain.conf" "$T/conf.good"
sed -i 's/^chain_id = .*/chain_id = 1/' "$D/medchain.conf"
expect_exit 78 mc anchor
grep -q "serves chain id 31337" "$T/err" || fail "the wrong chain id is named"
cp "$T/conf.good" "$D/medchain.conf"
echo unfunded | mc record put --subject P --category note --type text/plain >/dev/null
rpc anvil_setBalance "[\"$ADDR\",\"0x0\"]" >/dev/null
expect_exit 78 mc anchor
grep -q "fund it" "$T/err" || fail "an unfunded key is named: $(cat "$T/err")"
[ "$(mc --json anchor list | jq length)" -eq 3 ] || fail "an unfunded key journals nothing"
rpc anvil_setBalance "[\"$ADDR\",\"0xde0b6b3a7640000\"]" >/dev/null
sed -i "s|^rpc_url = .*|rpc_url = http://127.0.0.1:1|" "$D/medchain.conf"
expect_exit 69 mc anchor
grep -q "cannot reach" "$T/err" || fail "an unreachable URL is named"
# An HTML error page, as a misconfigured proxy serves it.
mkdir -p "$T/www"; echo '<html><body>502 Bad Gateway</body></html>' >"$T/www/index.html"
python3 -m http.server --bind 127.0.0.1 0 --directory "$T/www" >"$T/http.log" 2>&1 &
for i in $(seq 1 50); do hp=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$T/http.log" | head -1); [ -n "$hp" ] && break; sleep 0.1; done
sed -i "s|^rpc_url = .*|rpc_url = http://127.0.0.1:$hp/|" "$D/medchain.conf"
expect_exit 76 mc anchor
grep -q "not JSON-RPC" "$T/err" || fail "an HTML page is named: $(cat "$T/err")"
# Truncated and huge JSON from an endpoint that answers POSTs.
printf '{"jsonrpc":"2.0","id":1,"result":"0x7a' >"$T/trunc.json"
serve_post "$T/trunc.json"
sed -i "s|^rpc_url = .*|rpc_url = $SERVE_URL|" "$D/medchain.conf"
expect_exit 76 mc anchor
grep -q "not a JSON-RPC response" "$T/err" || fail "truncated JSON is named: $(cat "$T/err")"
{ printf '{"jsonrpc":"2.0","id":1,"result":"'; head -c 5000000 /dev/zero | tr '\0' 'a'; printf '"}'; } >"$T/huge.json"
serve_post "$T/huge.json"
sed -i "s|^rpc_url = .*|rpc_url = $SERVE_URL|" "$D/medchain.conf"
expect_exit 76 mc anchor
grep -q "larger than" "$T/err" || fail "a huge answer is named: $(cat "$T/err")"
sed -i "s|^rpc_url = .*|rpc_url = ftp://x|" "$D/medchain.conf"
expect_exit 78 mc anchor
sed -i '/^rpc_url/d' "$D/medchain.conf"
expect_exit 78 mc anchor
grep -q "rpc_url" "$T/err" || fail "a missing rpc_url is named"
cp "$T/conf.good" "$D/medchain.conf"
expect_exit 64 mc anchor --wait soon
[ "$(nonce)" -eq 3 ] || fail "no bad input sent anything"
ok "wrong chain id 78, unfunded 78, unreachable 69, HTML page 76, truncated JSON 76, 5 MB answer 76, bad URL 78, no rpc_url 78, bad --wait 64"
