#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What the people on call see of a full four-validator run: records put
# with distinctive MRNs and payloads, a grant, reads (one denied), two
# break-glass reads, a verify and an anchor on a real anvil. Then:
#   - /metrics gains the last verify (-1 before any, then 1, its time and
#     duration), the anchor (state, gas spent, age) and alerts by kind,
#     counted once and cached (a second break-glass read right after is
#     not counted yet); every scrape passes the parser and promtool;
#   - no log line of any node, nor of the anchor run, holds an MRN, a
#     payload marker or a break-glass reason; no message is logged twice
#     in a row; every serve log line carries its timestamp (stderr is no
#     terminal and there is no syslog here);
#   - examples/grafana-medchain.json is a dashboard whose every PromQL
#     expression names only metrics that this run's scrapes hold.
. "$(dirname "$0")/lib.sh"
need_tool curl
need_tool jq
need_tool promtool prometheus

scrape() {   # scrape I: node I's /metrics, checked, as JSON in $T/m$I.json (and kept for the dashboard check)
    curl -sS -o "$T/m$1.txt" "http://127.0.0.1:${CL_MPORT[$1]}/metrics" || fail "node $1: no /metrics"
    python3 "$(dirname "$0")/promtext.py" <"$T/m$1.txt" >"$T/m$1.json" || { cat "$T/m$1.txt"; fail "node $1: /metrics is not the text format"; }
    promtool check metrics <"$T/m$1.txt" || fail "node $1: promtool check metrics refused the exposition"
    cat "$T/m$1.txt" >>"$T/all-scrapes.txt"
}
metric() { jq -r --arg k "$2" '.[$k] // "missing"' "$T/m$1.json"; }

CL_METRICS=1 cluster_start 4
R=$RANDOM$RANDOM
MRNS=("MRN-OBS-$R-1" "MRN-OBS-$R-2" "MRN-OBS-$R-3")
MARKS=("PAYLOAD-MARK-$R-A" "PAYLOAD-MARK-$R-B" "PAYLOAD-MARK-$R-C")
WHY="BTG-REASON-$R unconscious in the ER"

# verify never ran on node 2: -1, and no time
scrape 2
[ "$(metric 2 medchain_verify_last_ok)" = -1 ] || fail "never run: medchain_verify_last_ok is $(metric 2 medchain_verify_last_ok), not -1"
[ "$(metric 2 medchain_verify_last_timestamp_seconds)" = 0 ] || fail "never run: a verify time"
for s in planned broadcast mined confirmed superseded; do
    [ "$(metric 2 "medchain_anchor_state{state=\"$s\"}")" = 0 ] || fail "no anchor yet: state $s is not 0"
done
[ "$(metric 2 medchain_anchor_gas_used_total)" = 0 ] || fail "no anchor yet: gas spent is not 0"
age0=$(metric 2 medchain_anchor_age_seconds)
[ "$age0" != missing ] || fail "no medchain_anchor_age_seconds"
ok "before: verify -1 (never run), every anchor state 0, no gas, anchor age since genesis ($age0 s)"

# the clinical part: puts, a grant, reads, a denial, break-glass
cn 2 identity add --name "Dr Obs" --role clinician --no-passphrase >/dev/null
for k in 0 1 2; do
    printf '{"resourceType":"Observation","status":"final","note":"%s glucose 7.9 mmol/L"}' "${MARKS[$k]}" >"$T/p$k.json"
    ids[k]=$(cn 2 record put --subject "${MRNS[$k]}" --category lab --type application/fhir+json "$T/p$k.json")
done
cn 2 consent grant --subject "${MRNS[0]}" --to "Dr Obs" --purpose treatment --scope lab >/dev/null
cn 2 --as "Dr Obs" record get "${ids[0]}" -o "$T/got0" >/dev/null
cmp -s "$T/got0" "$T/p0.json" || fail "the granted read did not return the record"
if cn 2 --as "Dr Obs" record get "${ids[1]}" -o "$T/got1" >/dev/null 2>&1; then fail "a read without a grant was allowed"; fi
cn 2 --as "Dr Obs" record get --break-glass "$WHY" "${ids[2]}" -o "$T/got2" >/dev/null 2>&1 || fail "break-glass read failed"
cl_wait_same 15 1 2 3 4 || fail "the nodes disagree after the reads"

# node 3 was never scraped: its first scrape counts the alerts
scrape 3
[ "$(metric 3 'medchain_alerts{kind="break-glass"}')" = 1 ] || { grep alerts "$T/m3.txt"; fail "one break-glass read is not one alert"; }
[ "$(metric 3 'medchain_alerts{kind="staff-grant"}')" -ge 1 ] 2>/dev/null || fail "the staff-recorded grant is no alert"
want=$(cn 3 --json alerts | jq '[.[] | select(.alert == "break-glass")] | length')
[ "$want" = 1 ] || fail "medchain alerts lists $want break-glass reads"
cn 2 --as "Dr Obs" record get --break-glass "$WHY" "${ids[1]}" -o "$T/got1" >/dev/null 2>&1 || fail "second break-glass read failed"
cl_wait_same 15 1 2 3 4 || fail "the nodes disagree"
scrape 3
[ "$(metric 3 'medchain_alerts{kind="break-glass"}')" = 1 ] || fail "alerts were counted again within 60 s"
[ "$(cn 3 --json alerts | jq '[.[] | select(.alert == "break-glass")] | length')" = 2 ] || fail "alerts lists no second read"
ok "alerts by kind: one break-glass read, a staff grant; a second read right after is not counted yet (cached)"

# verify on node 2, while it serves
cn 2 verify >/dev/null 2>"$T/verify.err" || { cat "$T/verify.err"; fail "verify failed"; }
scrape 2
[ "$(metric 2 medchain_verify_last_ok)" = 1 ] || fail "after verify: medchain_verify_last_ok is $(metric 2 medchain_verify_last_ok)"
vt=$(metric 2 medchain_verify_last_timestamp_seconds)
python3 -c 'import sys, time; t = float(sys.argv[1]); sys.exit(0 if time.time() - 60 < t <= time.time() + 1 else 1)' "$vt" \
    || fail "after verify: its time $vt is not now"
[ "$(metric 2 medchain_verify_last_duration_seconds)" != missing ] || fail "no verify duration"
[ "$(metric 2 medchain_verify_last_blocks)" -ge "$(cl_height 2)" ] 2>/dev/null || fail "verify blocks below the height"
ok "verify: medchain_verify_last_ok 1, its time now ($vt), its duration and blocks"

# an anchor from node 2 on a real anvil
start_anvil --slots-in-an-epoch 1 --block-time 1
ADDR=$(cn 2 anchor keygen --no-passphrase 2>/dev/null)
rpc anvil_setBalance "[\"$ADDR\",\"0xde0b6b3a7640000\"]" >/dev/null
printf '[anchor]\nrpc_url = %s\nchain_id = 31337\nconfirmations = 2\n' "$URL" >>"$T/n2/medchain.conf"
cn 2 anchor --wait 90 >"$T/anchor.out" 2>"$T/anchor.err" || { cat "$T/anchor.err"; fail "anchor failed"; }
cl_wait_same 15 1 2 3 4 || fail "the nodes disagree after the anchor"
# the gas the public chain says the anchor's transaction used
txh=$(cn 2 --json anchor list | jq -r '.[0].tx_hash')
gas=$(( $(rpc eth_getTransactionReceipt "[\"$txh\"]" | jq -r .gasUsed) ))
[ "$gas" -gt 21000 ] || fail "the receipt of $txh says gas $gas"
[ "$(cn 2 --json anchor list | jq -r '.[0].state')" = confirmed ] || fail "the anchor is not confirmed"
scrape 2
[ "$(metric 2 'medchain_anchor_state{state="confirmed"}')" = 1 ] || { grep anchor "$T/m2.txt"; fail "the confirmed anchor is not state confirmed"; }
[ "$(metric 2 'medchain_anchor_state{state="planned"}')" = 0 ] || fail "two anchor states at once"
[ "$(metric 2 medchain_anchor_gas_used_total)" = "$gas" ] || fail "gas spent $(metric 2 medchain_anchor_gas_used_total), the receipt's gasUsed $gas"
for i in 1 4; do
    scrape "$i"
    a=$(metric "$i" medchain_anchor_age_seconds)
    python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 120 else 1)' "$a" || fail "node $i: anchor age $a s after an anchor"
    [ "$(metric "$i" 'medchain_anchor_state{state="confirmed"}')" = 0 ] || fail "node $i anchored nothing but shows a state"
done
cn 2 anchor --wait 30 >>"$T/anchor.out" 2>>"$T/anchor.err" || fail "a second anchor run failed"
scrape 2
[ "$(metric 2 medchain_anchor_gas_used_total)" = "$gas" ] || fail "a run with nothing new changed the gas spent"
stop_anvil
ok "anchor: state confirmed, gas spent $gas (the receipt's gasUsed), its age on every node under 2 minutes; a run with nothing new spends none"

# nothing of the records reaches a log
for i in 1 2 3 4; do [ -s "$T/n$i.log" ] || fail "node $i logged nothing"; done
logs=("$T"/n1.log "$T"/n2.log "$T"/n3.log "$T"/n4.log "$T/anchor.out" "$T/anchor.err")
for m in "${MRNS[@]}" "${MARKS[@]}" "BTG-REASON-$R" "glucose"; do
    if grep -F -- "$m" "${logs[@]}"; then fail "a log holds '$m'"; fi
done
for i in 1 2 3 4; do
    # every line a timestamped one of ours; no message twice in a row
    bad=$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z medchain serve: ' "$T/n$i.log" || true)
    [ "$bad" = 0 ] || { grep -vE '^[0-9]{4}-' "$T/n$i.log" | head; fail "node $i: $bad lines without the stderr format"; }
    twice=$(sed -E 's/^[^ ]+Z //' "$T/n$i.log" | uniq -d)
    [ -z "$twice" ] || fail "node $i logged twice: $twice"
done
grep -q "medchain serve: listening on" "$T/n1.log" || fail "no 'listening on' line"
ok "no MRN, payload marker or break-glass reason in any node's log or the anchor's; no line twice; all timestamped"

# the Grafana dashboard against this run's scrapes
python3 - "$MC_SRCDIR/examples/grafana-medchain.json" "$T/all-scrapes.txt" <<'PY' || fail "the Grafana dashboard does not fit the metrics"
import json, re, sys
d = json.load(open(sys.argv[1]))
names = set()
for line in open(sys.argv[2]):
    if line.startswith("#") or not line.strip():
        continue
    names.add(re.match(r'[a-zA-Z_:][a-zA-Z0-9_:]*', line).group(0))
for k in ("uid", "title", "schemaVersion", "panels", "templating"):
    if k not in d: sys.exit(f"the dashboard has no {k}")
if not isinstance(d["schemaVersion"], int) or d["schemaVersion"] < 30: sys.exit("schemaVersion is not a number >= 30")
if not any(i.get("name") == "DS_PROMETHEUS" for i in d.get("__inputs", [])): sys.exit("no DS_PROMETHEUS input")
ids, exprs = set(), 0
for p in d["panels"]:
    for k in ("id", "type", "title", "gridPos"):
        if k not in p: sys.exit(f"panel {p.get('title')} has no {k}")
    if p["id"] in ids: sys.exit(f"panel id {p['id']} twice")
    ids.add(p["id"])
    g = p["gridPos"]
    if not all(isinstance(g.get(k), int) for k in "xywh") or g["x"] + g["w"] > 24: sys.exit(f"panel {p['title']}: bad gridPos")
    if p["type"] == "row": continue
    if not p.get("targets"): sys.exit(f"panel {p['title']} has no query")
    for t in p["targets"]:
        e = t.get("expr", "")
        if not e or "refId" not in t: sys.exit(f"panel {p['title']}: a target without expr or refId")
        if e.count("(") != e.count(")") or e.count("{") != e.count("}"): sys.exit(f"unbalanced: {e}")
        used = set(re.findall(r'\bmedchain_[a-zA-Z0-9_]+', e))
        if not used: sys.exit(f"panel {p['title']}: no medchain metric in {e}")
        for m in used:
            if m not in names: sys.exit(f"panel {p['title']}: {m} is in no scrape of this run")
        exprs += 1
want = {"medchain_height", "medchain_lag_blocks", "medchain_validators_up", "medchain_commits_total",
        "medchain_commit_latency_seconds_bucket", "medchain_pool_txs", "medchain_peer_refusals_total",
        "medchain_anchor_age_seconds", "medchain_anchor_state", "medchain_verify_last_ok",
        "medchain_verify_last_timestamp_seconds", "medchain_alerts"}
seen = set()
for p in d["panels"]:
    for t in p.get("targets", []):
        seen |= set(re.findall(r'\bmedchain_[a-zA-Z0-9_]+', t["expr"]))
if want - seen: sys.exit(f"the dashboard does not show {sorted(want - seen)}")
print(f"{len(ids)} panels, {exprs} queries")
PY
ok "examples/grafana-medchain.json: a dashboard whose every query names metrics this run exposed"
