#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# [node] metrics_listen: /healthz and /metrics on every node of a live
# four-validator cluster, unauthenticated, on a listener of their own. The
# exposition is checked by a parser here (and by promtool when installed);
# commits raise medchain_commits_total; one validator killed: the survivors
# stay healthy and see medchain_validators_up drop to 3; a second killed:
# /healthz answers 503 and says there is no quorum. The listener drops a
# fifth connection from one address and closes silent ones after 5 s.
. "$(dirname "$0")/lib.sh"
need_tool curl


scrape() {   # scrape I: node I's /metrics, checked, as JSON in $T/m$I.json
    local hdr
    curl -sS -D "$T/h$1" -o "$T/m$1.txt" "http://127.0.0.1:${CL_MPORT[$1]}/metrics" || fail "node $1: no /metrics"
    grep -qi '^content-type: text/plain; version=0.0.4' "$T/h$1" || fail "node $1: /metrics content type: $(cat "$T/h$1")"
    python3 "$(dirname "$0")/promtext.py" <"$T/m$1.txt" >"$T/m$1.json" || { cat "$T/m$1.txt"; fail "node $1: /metrics is not the text format"; }
    if command -v promtool >/dev/null 2>&1; then
        promtool check metrics <"$T/m$1.txt" || fail "node $1: promtool check metrics refused the exposition"
    fi
}
metric() { jq -r --arg k "$2" '.[$k] // "missing"' "$T/m$1.json"; }
health() {   # health I: sets $code and $body
    code=$(curl -sS -o "$T/hz" -w '%{http_code}' "http://127.0.0.1:${CL_MPORT[$1]}/healthz") || fail "node $1: no /healthz"
    body=$(cat "$T/hz")
}
# wait_metric I NAME VALUE TIMEOUT_S
wait_metric() {
    local end=$(( $(date +%s) + $4 ))
    while scrape "$1"; [ "$(metric "$1" "$2")" != "$3" ]; do
        [ "$(date +%s)" -ge "$end" ] && fail "node $1: $2 is $(metric "$1" "$2"), not $3 after $4 s"
        sleep 0.3
    done
}

# One node first: a metrics_listen that is no IP address is refused at
# start (78, naming the key); a name with a quote and a backslash comes
# back escaped in a label.
init_node --name ward7
read -r p1 p2 <<<"$(free_ports 2)"
printf '[node]\nlisten = 127.0.0.1:%s\nmetrics_listen = localhost:%s\n' "$p1" "$p2" >"$D/medchain.conf"
expect_exit 78 mc serve
grep -q "metrics_listen" "$T/err" || fail "a bad metrics_listen is not named: $(cat "$T/err")"
printf '[node]\nname = ward "7\\b\nlisten = 127.0.0.1:%s\nmetrics_listen = 127.0.0.1:%s\n' "$p1" "$p2" >"$D/medchain.conf"
"$MEDCHAIN_BIN" --datadir "$D" serve >"$T/solo.log" 2>&1 &   # not through mc(): $! must be serve itself
solo=$!
for t in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$p2/healthz" && break; sleep 0.05; done
CL_MPORT[0]=$p2
scrape 0
grep -qF 'medchain_node_info{name="ward \"7\\b",' "$T/m0.txt" || fail "the name label is not escaped: $(grep node_info "$T/m0.txt")"
[ "$(metric 0 medchain_validators)" = 1 ] && [ "$(metric 0 medchain_validators_up)" = 1 ] || fail "a sole validator is not 1 of 1 up"
health 0
[ "$code" = 200 ] || fail "a sole validator's /healthz is $code: $body"
# not a way to load the node: four silent connections from one address
# take its share, a fifth is dropped; 5 s of silence closes them
python3 -c '
import socket, sys, time
ss = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(4)]
time.sleep(12)' "$p2" &
hog=$!
sleep 0.5
if curl -s -m 3 -o /dev/null "http://127.0.0.1:$p2/healthz"; then fail "a fifth connection from one address was served"; fi
sleep 6
curl -s -m 3 -o /dev/null "http://127.0.0.1:$p2/healthz" || fail "silent connections were not closed after 5 s"
kill "$hog" 2>/dev/null; wait "$hog" 2>/dev/null || true
kill "$solo"; wait "$solo" 2>/dev/null || true
ok "four silent connections from one address: a fifth dropped, and after 5 s of silence served again"
ok "a bad metrics_listen exits 78 naming it; a sole validator is healthy, its name label escaped"

CL_METRICS=1 cluster_start 4
for i in 1 2 3 4; do
    cn "$i" config check | grep -q "metrics_listen *= *127.0.0.1:${CL_MPORT[$i]}" || fail "config check does not show metrics_listen"
    wait_metric "$i" medchain_validators_up 4 15
    health "$i"
    [ "$code" = 200 ] || fail "node $i: /healthz $code: $body"
    [ "$(metric "$i" medchain_validators)" = 4 ] || fail "node $i: medchain_validators is not 4"
    [ "$(metric "$i" medchain_height)" = "$(cl_height "$i")" ] || fail "node $i: medchain_height is not the status height"
    for k in medchain_view medchain_lag_blocks medchain_pool_txs medchain_pool_bytes medchain_process_resident_memory_bytes \
             medchain_peer_connections 'medchain_peer_refusals_total{reason="signature"}' medchain_commit_latency_seconds_count; do
        [ "$(metric "$i" "$k")" != missing ] || fail "node $i: $k is missing"
    done
    [ "$(metric "$i" medchain_process_resident_memory_bytes)" != 0 ] || fail "node $i: RSS reads 0"
done
leaders=$(for i in 1 2 3 4; do metric "$i" medchain_leader; done | grep -c '^1$' || true)
[ "$leaders" = 1 ] || fail "$leaders nodes say they lead"
grep -q 'medchain_peer_requests_total{path="/v1/status",status="200"}' "$T/m1.txt" || fail "no count of status requests"
ok "four nodes: /healthz 200, /metrics well-formed$(command -v promtool >/dev/null && echo ' (and promtool agrees)'), 4 validators up, one leader"

# only GET on two paths; nothing else answers, and no signature is asked
u="http://127.0.0.1:${CL_MPORT[1]}"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$u/v1/status")" = 404 ] || fail "the peer API answers on the metrics listener"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$u/")" = 404 ] || fail "/ is not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data x "$u/metrics")" = 405 ] || fail "POST /metrics is not 405"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$u/healthz")" = 405 ] || fail "DELETE /healthz is not 405"
# an unsigned request to the peer API is refused, and counted by reason
curl -s -o /dev/null "$(cl_url 1)/v1/status" || true
scrape 1
[ "$(metric 1 'medchain_peer_refusals_total{reason="signature"}')" -ge 1 ] 2>/dev/null || fail "the unsigned request was not counted as a refusal"
ok "other paths 404, other methods 405; an unsigned peer request counted as refused (signature)"

c0=$(metric 2 medchain_commits_total)
for k in 1 2 3; do cn 1 identity add --name "m$k" --role clinician --no-passphrase >/dev/null || fail "no commit"; done
cl_wait_same 10 1 2 3 4 || fail "the nodes disagree"
scrape 2
c1=$(metric 2 medchain_commits_total)
[ "$c1" -ge $((c0 + 3)) ] || fail "medchain_commits_total on node 2 went from $c0 to $c1 after 3 commits"
[ "$(metric 2 medchain_commit_latency_seconds_count)" -ge 3 ] 2>/dev/null || fail "commit latency not observed"
ok "three commits: medchain_commits_total $c0 -> $c1, latency histogram observed"

serve_kill 4
for i in 1 2 3; do
    wait_metric "$i" medchain_validators_up 3 15
    health "$i"
    [ "$code" = 200 ] || fail "node $i: /healthz $code with one validator of four down: $body"
done
ok "one validator killed: the survivors see 3 of 4 up and stay healthy ($body)"

serve_kill 3
for i in 1 2; do
    wait_metric "$i" medchain_validators_up 2 15
    health "$i"
    [ "$code" = 503 ] || fail "node $i: /healthz $code with two of four down: $body"
    case "$body" in *"no quorum: 2 of 4 validators reachable, 3 needed"*) ;; *) fail "node $i: 503 without the reason: $body" ;; esac
    [ "$(metric "$i" medchain_healthy)" = 0 ] || fail "node $i: medchain_healthy is not 0"
done
ok "two killed: /healthz 503 ($body)"
