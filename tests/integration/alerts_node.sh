# SPDX-License-Identifier: Apache-2.0
# The alerts about this node's peers, from what serve already knows (its
# serve.status.json): a four-validator cluster, all up, lists neither
# serve-down nor validator-down; one validator killed, the others list it
# validator-down once not heard from for --down-after seconds, with one id
# while it stays down; the killed node itself says plainly that serve is not
# running (serve-down). An admin acknowledges the state; it stays hidden
# while it lasts, clears when the validator is back, and a new outage is a
# new alert.
. "$(dirname "$0")/lib.sh"
need_tool curl

CL_BLOCK_MS=50 cluster_start 4
cl_wait_same 20 1 2 3 4 || fail "the cluster agrees"

# serve probes its peers with a backoff: wait until each node sees the
# other three up (a peer that has not caught up yet is rightly down)
all_up() { jq -e '(.peers | length) == 3 and all(.peers[]; .up)' "$T/n$1/serve.status.json" >/dev/null 2>&1; }
for i in 1 2 3 4; do
    for _ in $(seq 1 120); do all_up "$i" && break; sleep 0.25; done
    all_up "$i" || fail "node $i sees the other three up: $(cat "$T/n$i/serve.status.json")"
done

kinds() { jq -r '[.[] | select(.alert == "serve-down" or .alert == "validator-down")] | length' "$1"; }
for i in 1 2 3 4; do
    cn "$i" --json alerts --down-after 1 >"$T/up$i.json"
    [ "$(kinds "$T/up$i.json")" -eq 0 ] || fail "node $i, all up: no serve-down or validator-down: $(cat "$T/up$i.json")"
done
ok "all four up: no serve-down, no validator-down"

serve_kill 4
down=""
for _ in $(seq 1 80); do
    cn 1 --json alerts --down-after 1 >"$T/a.json"
    down=$(jq -r --arg k "${CL_KEY[4]}" '.[] | select(.alert == "validator-down" and .node == $k) | .id' "$T/a.json")
    [ -n "$down" ] && break
    sleep 0.25
done
[ -n "$down" ] || fail "node 1 lists node 4 validator-down: $(cat "$T/a.json")"
jq -e --arg u "$(cl_url 4)" '.[] | select(.alert == "validator-down") | .url == $u and .acked == false' "$T/a.json" >/dev/null \
    || fail "the alert names the validator's url"
sleep 1.2
cn 1 --json alerts --down-after 1 | jq -e --arg d "$down" 'map(.id) | index($d)' >/dev/null \
    || fail "while it stays down, the alert keeps its id"
cn 1 alerts --down-after 1 | grep -q "^$down  .*validator $(cl_url 4) has not been heard from since" \
    || fail "the text names it"
cn 1 --json alerts --down-after 3600 | jq -e 'map(select(.alert == "validator-down")) | length == 0' >/dev/null \
    || fail "--down-after: a validator down for less is not listed"
ok "node 4 killed: node 1 lists validator-down with its url and a stable id; --down-after sets how long"

code=0; cn 4 --json alerts >"$T/n4.json" || code=$?
[ "$code" -eq 0 ] || fail "alerts works with serve not running (exit $code)"
jq -e '.[0].alert == "serve-down" and .[0].status_file == true' "$T/n4.json" >/dev/null \
    || fail "node 4 says serve is not running, first: $(cat "$T/n4.json")"
cn 4 alerts | grep -q "serve is not running" || fail "in text too"
ok "on the killed node: serve-down, first, says plainly serve is not running"

# A state is acknowledged until it clears.
cn 1 alerts ack "$down" --reason "n4 down for planned maintenance" >/dev/null
cn 1 --json alerts --down-after 1 | jq -e --arg d "$down" 'map(.id) | index($d) | not' >/dev/null \
    || fail "acknowledged, it is hidden while node 4 stays down"
serve_start 4
for _ in $(seq 1 80); do
    cn 1 --json alerts --down-after 1 >"$T/b.json"
    [ "$(jq '[.[] | select(.alert == "validator-down")] | length' "$T/b.json")" -eq 0 ] && \
        [ "$(cn 4 --json alerts | jq '[.[] | select(.alert == "serve-down")] | length')" -eq 0 ] && break
    sleep 0.25
done
[ "$(kinds "$T/b.json")" -eq 0 ] || fail "node 4 back: cleared on node 1: $(cat "$T/b.json")"
ok "acknowledged: hidden while down; node 4 back: both alerts cleared"

cl_wait_same 30 1 2 3 4 || fail "node 4 caught up"
sleep 1
serve_kill 4
again=""
for _ in $(seq 1 80); do
    again=$(cn 1 --json alerts --down-after 1 | jq -r '.[] | select(.alert == "validator-down") | .id')
    [ -n "$again" ] && break
    sleep 0.25
done
[ -n "$again" ] && [ "$again" != "$down" ] || fail "a new outage is a new alert (got '$again', was '$down')"
ok "a new outage is a new, unacknowledged alert"
