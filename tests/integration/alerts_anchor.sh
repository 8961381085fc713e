# SPDX-License-Identifier: Apache-2.0
# The anchoring alerts, against a real anvil, with no network read by
# `alerts` itself: anchor-overdue (past [anchor] overdue_after, measured as
# `medchain check` measures it), balance-low (the anchor run records the
# balance and fee it saw; below the cost of 20 anchors: set with
# anvil_setBalance), and anchor-stuck (a journaled anchor pending for more
# than 3 x bump_after). Each fires, and is absent when all is well.
. "$(dirname "$0")/lib.sh"
need_test_hooks

init_node
start_anvil --slots-in-an-epoch 1 --state "$T/anvil.state"
anchor_setup
put() { echo "$1" | mc record put --subject P --category note --type text/plain >/dev/null; }
mine() { rpc anvil_mine "[\"0x$1\"]" >/dev/null; }
confirm() {
    mine 4
    expect_exit 0 mc --json anchor
    [ "$(jq -r .anchor.state "$T/out")" = confirmed ] || fail "confirmed after mining: $(cat "$T/out")"
}
# alerts_of KIND [ENV...]: the alerts of that kind, as JSON
alerts_of() { local k=$1; shift; env "$@" "$MEDCHAIN_BIN" --datadir "$D" --json alerts | jq -c --arg k "$k" '[.[] | select(.alert == $k)]'; }

# --- anchor-overdue ---------------------------------------------------------
[ "$(alerts_of anchor-overdue)" = "[]" ] || fail "overdue_after is off as shipped: no anchor-overdue"
[ "$(alerts_of anchor-overdue MEDCHAIN_ANCHOR_OVERDUE_AFTER=3600)" = "[]" ] || fail "a new chain is not overdue"
sleep 1.2
a=$(alerts_of anchor-overdue MEDCHAIN_ANCHOR_OVERDUE_AFTER=1)
echo "$a" | jq -e 'length == 1 and .[0].never == true and .[0].tree_size == 0' >/dev/null \
    || fail "never anchored, past overdue_after: anchor-overdue: $a"
first=$(echo "$a" | jq -r '.[0].id')
code=0; MEDCHAIN_ANCHOR_OVERDUE_AFTER=1 mc check >"$T/check" || code=$?
[ "$code" -ge 1 ] && grep -q "never anchored" "$T/check" || fail "check agrees it is overdue: $(cat "$T/check")"
ok "anchor-overdue: off as shipped, absent on a new chain, fires past overdue_after as check says"

put a
expect_exit 0 mc anchor
confirm
size=$(jq -r .anchor.tree_size "$T/out")
[ "$(alerts_of anchor-overdue MEDCHAIN_ANCHOR_OVERDUE_AFTER=3600)" = "[]" ] || fail "just anchored: not overdue"
sleep 1.2
a=$(alerts_of anchor-overdue MEDCHAIN_ANCHOR_OVERDUE_AFTER=1)
echo "$a" | jq -e --argjson s "$size" --arg f "$first" 'length == 1 and .[0].never == false and .[0].tree_size == $s and .[0].id != $f' >/dev/null \
    || fail "overdue again since the anchor of size $size, a new alert: $a"
ok "anchored: not overdue; past overdue_after again: a new alert naming the last anchor"

# --- balance-low --------------------------------------------------------------
jq -e '.low == false and (.balance_wei | test("^[0-9]+$"))' "$D/anchor.balance.json" >/dev/null \
    || fail "the anchor run recorded the balance it saw: $(cat "$D/anchor.balance.json")"
[ "$(alerts_of balance-low)" = "[]" ] || fail "1 ETH pays for 20 anchors: no balance-low"
gas=$(jq -r .gas_per_anchor "$D/anchor.balance.json"); fee=$(jq -r .fee_wei "$D/anchor.balance.json")
rpc anvil_setBalance "[\"$ADDR\",\"$(printf '0x%x' $((4 * gas * fee)))\"]" >/dev/null
put b
expect_exit 0 mc anchor
confirm
b=$(alerts_of balance-low)
echo "$b" | jq -e --arg a "$ADDR" 'length == 1 and (.[0].address | ascii_downcase) == ($a | ascii_downcase) and .[0].anchors == 20 and (.[0].balance_wei | tonumber) < (.[0].cost_wei | tonumber)' >/dev/null \
    || fail "balance below 20 anchors: balance-low with the key, balance and cost: $b"
mc alerts | grep -q "holds [0-9]* wei, less than 20 anchors" || fail "the text says what it holds"
low=$(echo "$b" | jq -r '.[0].id')
# anvil stopped: alerts reads no network
stop_anvil
[ "$(alerts_of balance-low | jq -r '.[0].id')" = "$low" ] || fail "alerts reads no network: the same alert with anvil stopped"
ANVIL_PORT=${URL##*:} start_anvil --slots-in-an-epoch 1 --state "$T/anvil.state"
ok "balance-low: absent with 1 ETH; fires below 20 anchors at the last fee seen; no network read"

# A state: acknowledged while it lasts, cleared once the key is funded.
mc alerts ack "$low" --reason "finance tops the key up on Monday" >/dev/null
[ "$(alerts_of balance-low)" = "[]" ] || fail "acknowledged: hidden"
put c
expect_exit 0 mc anchor
confirm
mc --json alerts --all | jq -e --arg l "$low" '.[] | select(.id == $l) | .acked' >/dev/null \
    || fail "still low after one more anchor: the same, acknowledged alert"
rpc anvil_setBalance "[\"$ADDR\",\"0xde0b6b3a7640000\"]" >/dev/null
put d
expect_exit 0 mc anchor
confirm
jq -e '.low == false and .low_since_ms == 0' "$D/anchor.balance.json" >/dev/null || fail "funded: recorded not low"
[ "$(mc --json alerts --all | jq '[.[] | select(.alert == "balance-low")] | length')" -eq 0 ] \
    || fail "funded: balance-low cleared"
ok "balance-low acknowledged stays hidden while low, and clears once the key is funded"

# --- anchor-stuck ---------------------------------------------------------------
put e
code=0; MEDCHAIN_TEST_CRASH=after-journal mc anchor >/dev/null 2>&1 || code=$?
[ "$code" -eq 137 ] || fail "the run was killed after the journal write (exit $code)"
seq=$(mc --json anchor list | jq -r '.[-1].seq')
[ "$(mc --json anchor list | jq -r '.[-1].state')" = planned ] || fail "a planned anchor is pending"
[ "$(alerts_of anchor-stuck)" = "[]" ] || fail "pending for less than 3 x bump_after (300 s): not stuck"
sleep 3.2
s=$(alerts_of anchor-stuck MEDCHAIN_BUMP_AFTER=1)
echo "$s" | jq -e --argjson q "$seq" 'length == 1 and .[0].anchor == $q and .[0].state == "planned"' >/dev/null \
    || fail "pending past 3 x bump_after: anchor-stuck names it: $s"
MEDCHAIN_BUMP_AFTER=1 mc alerts | grep -q "anchor $seq still planned since" || fail "in text too"
expect_exit 75 mc anchor
confirm
[ "$(alerts_of anchor-stuck MEDCHAIN_BUMP_AFTER=1)" = "[]" ] || fail "confirmed: no longer stuck"
ok "anchor-stuck: absent while young, fires past 3 x bump_after, clears once confirmed"
