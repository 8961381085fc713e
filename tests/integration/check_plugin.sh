# SPDX-License-Identifier: Apache-2.0
# verify keeps its outcome (ok, or the first damage) in the data dir, and
# status, alerts and `medchain check` read it; check is a Nagios/Icinga
# plugin: one line "MEDCHAIN STATE - text | perfdata", exit 0 OK,
# 1 WARNING, 2 CRITICAL, 3 UNKNOWN, for serve up, lag, anchor age, the
# last verify and break-glass reads.
. "$(dirname "$0")/lib.sh"

D="$T/n1"
# plugin WANT [ARGS...]: runs check, wants exit WANT and one line whose
# perfdata all parse as 'label'=value[unit];warn;crit;min
plugin() {
    local want=$1; shift
    local got=0 words=(OK WARNING CRITICAL UNKNOWN)
    mc check "$@" >"$T/out" 2>"$T/err" || got=$?
    [ "$got" = "$want" ] || { cat "$T/out" "$T/err"; fail "check $*: exit $got, wanted $want"; }
    [ "$(wc -l <"$T/out")" = 1 ] || { cat "$T/out"; fail "check $*: not one line"; }
    grep -q "^MEDCHAIN ${words[$want]} - " "$T/out" || { cat "$T/out"; fail "check $*: no MEDCHAIN ${words[$want]}"; }
    PERF=$(sed -n 's/^[^|]* | //p' "$T/out")
    if [ "$want" != 3 ]; then
        [ -n "$PERF" ] || { cat "$T/out"; fail "check $*: no perfdata"; }
        local item
        for item in $PERF; do
            [[ $item =~ ^\'[a-z_]+\'=(U|[0-9.]+(s)?)\;[0-9]*\;[0-9]*\;0$ ]] || fail "check $*: bad perfdata item '$item'"
        done
    fi
}
# perf LABEL: the value of one perfdata item of the last check (no unit)
perf() { echo "$PERF" | tr ' ' '\n' | sed -n "s/^'$1'=\([0-9.U]*\).*/\1/p"; }

init_node
mc identity add --name "Dr A" --role clinician --no-passphrase >/dev/null
printf '{"resourceType":"Observation","note":"SECRET-%s"}' "$RANDOM" >"$T/payload"
id=$(mc record put --subject MRN-7 --category lab "$T/payload")

# --- never verified ---
plugin 1
grep -q "verify never run" "$T/out" || fail "check names the missing verify"
[ "$(perf verify_age)" = U ] || fail "verify_age is U before any verify"
[ -z "$(perf lag)" ] && [ -z "$(perf serve_up)" ] || fail "no [node] listen: serve and lag are not checked"
mc status | grep -q "^last verify .*never run" || fail "status says verify never ran"
mc --json status | jq -e '.last_verify == null' >/dev/null || fail "status --json: last_verify null"
mc --json alerts | jq -e 'map(select(.alert | startswith("verify"))) | length == 0' >/dev/null \
    || fail "a chain started minutes ago is not overdue for a verify"
ok "never verified: WARNING, status says so, no alert on a new chain"

# --- verify ok ---
mc verify >/dev/null
[ "$(stat -c %a "$D/verify.last.json")" = 644 ] || fail "verify.last.json is readable by the service user"
mc --json status | jq -e '.last_verify.result == "ok" and .last_verify.blocks >= 1 and .last_verify.duration_s >= 0
    and (.last_verify.time_ms / 1000 | floor) <= now' >/dev/null || fail "status --json shows the ok verify"
mc status | grep -q "^last verify     ok, " || fail "status shows the ok verify"
plugin 0
[ "$(perf verify_ok)" = 1 ] || fail "verify_ok=1"
[ "$(perf break_glass)" = 0 ] || fail "break_glass=0"
sleep 1
plugin 1 -w verify=0
ok "verify ok: stored, status shows it, check OK; -w verify=0 warns"

# --- serve configured ---
port=$(free_ports 1)
printf '[node]\nlisten = 127.0.0.1:%s\n' "$port" >"$D/medchain.conf"
plugin 2
grep -q "serve is not running" "$T/out" || fail "serve configured but not running is CRITICAL"
serve_start 1
for _ in $(seq 50); do [ -s "$D/serve.status.json" ] && break; sleep 0.1; done
plugin 0
[ "$(perf serve_up)" = 1 ] && [ "$(perf lag)" = 0 ] || fail "serve up, lag 0: $PERF"
plugin 0 -w lag=0 -c lag=1
kill -STOP "${CL_PID[1]}"
sleep 12
plugin 2
grep -q "status [0-9]* s old" "$T/out" || fail "a hung serve: its status file goes stale"
kill -CONT "${CL_PID[1]}"
for _ in $(seq 50); do mc check >/dev/null 2>&1 && break; sleep 0.1; done
plugin 0
serve_kill 1 9
plugin 2
grep -q "is gone" "$T/out" || fail "a killed serve is CRITICAL at once"
# a status file dated ahead of the clock (written before the clock was set
# back, or forged), naming a live process: no proof serve runs
jq --argjson p $$ '.pid = $p | .time_ms = (now + 86400) * 1000' "$D/serve.status.json" >"$T/st" && mv "$T/st" "$D/serve.status.json"
touch -d '+1 day' "$D/serve.status.json"
plugin 2
grep -q "ahead of the clock" "$T/out" || fail "a status dated ahead of the clock is CRITICAL: $(cat "$T/out")"
mc --json alerts | jq -e 'map(.alert) | index("serve-down")' >/dev/null || fail "alerts: serve-down too"
rm -f "$D/medchain.conf"
ok "serve: not running, up, hung (stale status), killed"

# --- anchor age against [anchor] overdue_after ---
printf '[anchor]\noverdue_after = 3600\n' >"$D/medchain.conf"
plugin 0
grep -q "never anchored" "$T/out" || fail "the anchor age is checked"
[ "$(perf anchor_age)" != "" ] || fail "anchor_age perfdata"
echo "$PERF" | grep -q "'anchor_age'=[0-9]*s;3600;7200;0" || fail "anchor thresholds from overdue_after: $PERF"
sleep 2
plugin 1 -w anchor=1
plugin 2 -w anchor=1 -c anchor=1
printf '[anchor]\noverdue_after = 1\n' >"$D/medchain.conf"
plugin 2
rm -f "$D/medchain.conf"
plugin 0
[ -z "$(perf anchor_age)" ] || fail "no overdue_after: the anchor age is not checked"
ok "anchor age: OK, WARNING, CRITICAL per overdue_after and -w/-c"

# --- a break-glass read ---
mc --as "Dr A" record get --break-glass "unconscious patient in the ER" "$id" >/dev/null 2>&1
plugin 1
[ "$(perf break_glass)" = 1 ] || fail "break_glass=1"
grep -q "1 break-glass read in 24 h" "$T/out" || fail "check names the break-glass read"
plugin 0 -w break-glass=1
plugin 2 -c break-glass=0
ok "break-glass read: WARNING (no acknowledgement yet)"

# --- verify finds damage (the tamper of tests/integration/tamper_detected.sh) ---
mdb_dump -s payloads "$D/db" >"$T/dump"
awk 'BEGIN{inb=0;n=0} /^HEADER=END/{inb=1;print;next} /^DATA=END/{inb=0}
     inb{n++; if(n==2){s=substr($0,2); c=substr(s,61,1); d=index("0123456789abcdef",c)-1; d=(d%2==0)?d+1:d-1;
          print " " substr(s,1,60) substr("0123456789abcdef",d+1,1) substr(s,62); next}} {print}' "$T/dump" >"$T/dump2"
cmp -s "$T/dump" "$T/dump2" && fail "the tamper made no change"
mdb_load -s payloads -f "$T/dump2" "$D/db"
expect_exit 65 mc verify
msg=$(sed 's/^medchain: //' "$T/err" | head -1)
[ -n "$msg" ] || fail "verify names the damage"
mc --json status | jq -e --arg m "$msg" '.last_verify.result == "damaged" and .last_verify.message == $m' >/dev/null \
    || { mc --json status | jq .last_verify; fail "the failed verify is stored with its message"; }
mc status | grep -q "^last verify     DAMAGED, " || fail "status shows the damage"
plugin 2 -w break-glass=1
grep -q "verify FAILED" "$T/out" || fail "check: verify failed is CRITICAL"
[ "$(perf verify_ok)" = 0 ] || fail "verify_ok=0"
mc alerts | grep -q "verify failed: " || fail "alerts: verify failed"
mc --json alerts | jq -e --arg m "$msg" '.[0].alert == "verify-failed" and .[0].message == $m' >/dev/null \
    || fail "alerts --json: verify-failed first, with the message"
ok "damage: verify 65 stored as damaged; status, check (CRITICAL) and alerts show it"

# --- a verify 40 h ago (the stored outcome aged by hand) ---
old=$(( $(date +%s) * 1000 - 40 * 3600 * 1000 ))
jq -c --argjson t "$old" '.time_ms = $t | .result = "ok" | .message = ""' "$D/verify.last.json" >"$T/v" \
    && cp "$T/v" "$D/verify.last.json"
plugin 1 -w break-glass=1
grep -q "verify ok 40.0 h ago" "$T/out" || fail "check: verify 40 h old"
plugin 2 -w break-glass=1 -c verify=39
mc --json alerts | jq -e '.[0].alert == "verify-overdue" and .[0].never == false' >/dev/null \
    || fail "alerts: verify not run for 36 h"
ok "verify 40 h old: WARNING, alert verify-overdue"

# --- UNKNOWN ---
echo garbage >"$D/verify.last.json"
plugin 3
rm -f "$D/verify.last.json"
plugin 3 -w lag=x
plugin 3 -c nosuch=1
plugin 3 --nosuch
"$MEDCHAIN_BIN" --datadir "$T/none" check >"$T/out" 2>&1 && fail "a missing data dir" || [ $? = 3 ] || fail "missing data dir: 3"
grep -q "^MEDCHAIN UNKNOWN - " "$T/out" || fail "missing data dir: UNKNOWN"
ok "UNKNOWN: unreadable verify outcome, bad thresholds, bad option, no data dir"
