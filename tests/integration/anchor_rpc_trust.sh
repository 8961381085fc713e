# SPDX-License-Identifier: Apache-2.0
# The bridge does not trust the RPC node more than it must: without
# [anchor] chain_id, `anchor` and `anchor --dry-run` refuse (78, naming the
# key) rather than take the node's eth_chainId; an eth_getTransactionCount
# answer far above the journal's next nonce (a lying proxy in front of a
# real anvil) is read again, logged and, unconfirmed, not believed (75, no
# floor raised); `anchor reset-nonce` clears a floor a lie left.
. "$(dirname "$0")/lib.sh"

init_node
start_anvil --slots-in-an-epoch 1
anchor_setup
put() { echo "$1" | mc record put --subject P --category note --type text/plain >/dev/null; }

# --- chain_id is required ----------------------------------------------------
put a
sed -i '/^chain_id = /d' "$D/medchain.conf"
expect_exit 78 mc anchor
grep -q '\[anchor\] chain_id' "$T/err" || fail "the missing key is named: $(cat "$T/err")"
expect_exit 78 mc anchor --dry-run
grep -q '\[anchor\] chain_id' "$T/err" || fail "--dry-run names the key too: $(cat "$T/err")"
[ "$(mc --json anchor list | jq length)" -eq 0 ] || fail "nothing journaled without chain_id"
[ "$(rpc eth_getTransactionCount "[\"$ADDR\",\"latest\"]")" = '"0x0"' ] || fail "nothing sent without chain_id"
expect_exit 0 mc anchor plan
ok "without [anchor] chain_id, anchor and anchor --dry-run exit 78 naming the key; anchor plan (offline) still works"

# --- a lying eth_getTransactionCount -----------------------------------------
need_tool python3
sed -i 's/^chain_id = .*//' "$D/medchain.conf"
ANVIL_URL=$URL
python3 "$MC_SRCDIR/tests/integration/rpc_liar.py" "$ANVIL_URL" "$T/liar.port" "$T/lie" &
for _ in $(seq 1 100); do [ -s "$T/liar.port" ] && break; sleep 0.1; done
[ -s "$T/liar.port" ] || fail "the lying proxy did not start"
sed -i "s|^rpc_url = .*|rpc_url = http://127.0.0.1:$(cat "$T/liar.port")\nchain_id = 31337|" "$D/medchain.conf"
mine() { rpc anvil_mine "[\"0x$1\"]" >/dev/null; }
nonce() { rpc eth_getTransactionCount "[\"$ADDR\",\"latest\"]" | jq -r . | xargs printf '%d'; }
last() { mc --json anchor list | jq -r ".[-1].$1"; }
confirm() { mine 4; expect_exit 0 mc --json anchor; [ "$(jq -r .anchor.state "$T/out")" = confirmed ] || fail "confirmed: $(cat "$T/out")"; }
expect_exit 0 mc anchor
confirm
[ "$(last nonce)" -eq 0 ] || fail "the first anchor at nonce 0"

# one lie: read again, logged, not believed
put b
echo "1000 1" >"$T/lie"
expect_exit 76 mc anchor
grep -q "reading it again" "$T/err" || fail "the jump is logged: $(cat "$T/err")"
grep -q "nothing was signed and the nonce floor is unchanged" "$T/err" || fail "76 says the floor is unchanged: $(cat "$T/err")"
grep -q "pending 1000" "$T/err" || fail "the lie is named: $(cat "$T/err")"
[ -s "$T/lie.log" ] && [ ! -e "$T/lie" ] || fail "the proxy lied once"
[ "$(mc --json anchor list | jq length)" -eq 1 ] || fail "nothing journaled after the lie"
expect_exit 0 mc --json anchor
[ "$(jq -r .anchor.nonce "$T/out")" -eq 1 ] || fail "the next run takes nonce 1, not 1001: $(cat "$T/out")"
confirm
ok "one eth_getTransactionCount lie (1000): read again, logged, 76 without a floor; the next run anchors at nonce 1"

# a liar that says it three times sets a floor: reset-nonce clears it
put c
echo "1000 3" >"$T/lie"
code=0; mc anchor >"$T/out" 2>"$T/err" || code=$?
grep -q "reading it again" "$T/err" || fail "the jump is logged: $(cat "$T/err")"
[ "$(last nonce)" -eq 1000 ] || fail "a consistent liar was believed (the case reset-nonce is for)"
[ "$(last state)" = broadcast ] || [ "$(last state)" = planned ] || fail "the anchor at 1000 is pending: $(last state)"
mine 4
expect_exit 75 mc anchor
[ "$(nonce)" -eq 2 ] || fail "the anchor at nonce 1000 is never mined"
expect_exit 64 mc anchor reset-nonce --to -3
expect_exit 0 mc --json anchor reset-nonce
[ "$(jq -r .next_nonce "$T/out")" -eq 2 ] || fail "the floor is the last confirmed nonce + 1: $(cat "$T/out")"
[ "$(jq -r .superseded "$T/out")" = "$(last seq)" ] || fail "the pending anchor is given up: $(cat "$T/out")"
[ "$(last state)" = superseded ] || fail "the journal says superseded"
expect_exit 0 mc --json anchor
[ "$(jq -r .anchor.nonce "$T/out")" -eq 2 ] || fail "the anchor after the reset takes nonce 2: $(cat "$T/out")"
confirm
[ "$(jq -r .anchor.nonce "$T/out")" -eq 2 ] || fail "the anchor after the reset takes nonce 2: $(cat "$T/out")"
[ "$(nonce)" -eq 3 ] || fail "three anchors on the public chain"
put d
expect_exit 0 mc anchor reset-nonce --to 3
grep -q "takes nonce 3" "$T/out" || fail "reset-nonce --to says the floor: $(cat "$T/out")"
expect_exit 0 mc anchor
confirm
[ "$(jq -r .anchor.nonce "$T/out")" -eq 3 ] || fail "--to 3: nonce 3"
ok "a liar that repeats itself sets a floor of 1000; anchor reset-nonce gives the stuck anchor up and the next anchors at nonce 2; --to 3 works"
