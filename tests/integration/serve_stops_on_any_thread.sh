#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# serve stops on SIGTERM and SIGINT whichever of its threads the kernel hands
# the signal to. The nemesis campaign once left a serve running for 25
# minutes after its SIGTERM: the handler had run on an engine thread, so the
# main thread's pause() never returned (the flag was set, nobody looked).
# kill(2) of a thread's id makes that thread the first candidate, so each
# round here aims the signal at a different non-main thread, and at the main
# thread once, and serve must log "stopping" and exit 0 within 10 s.
. "$(dirname "$0")/lib.sh"
init_node
port=$(free_ports 1)
printf '[node]\nname = sig-1\nlisten = 127.0.0.1:%s\n' "$port" >"$D/medchain.conf"

start() {
    : >"$T/serve.log"
    "$MEDCHAIN_BIN" --datadir "$D" serve >"$T/serve.log" 2>&1 &
    SPID=$!
    for _ in $(seq 200); do grep -q "listening on" "$T/serve.log" && return 0; sleep 0.05; done
    cat "$T/serve.log"; fail "serve starts"
}
# stops SIG TID WHAT: signal TID of serve; serve must stop, exit 0, say so
stops() {
    local sig=$1 tid=$2 what=$3 rc=0
    kill -"$sig" "$tid"
    for _ in $(seq 200); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$SPID" 2>/dev/null; then
        kill -9 "$SPID"; wait "$SPID" 2>/dev/null || true
        tail -n 5 "$T/serve.log"
        fail "serve stops on SIG$sig handed to $what within 10 s (it kept running)"
    fi
    wait "$SPID" || rc=$?
    [ "$rc" = 0 ] || { tail -n 5 "$T/serve.log"; fail "serve exits 0 after SIG$sig to $what (exit $rc)"; }
    grep -q "stopping (signal" "$T/serve.log" || { tail -n 5 "$T/serve.log"; fail "serve says it is stopping"; }
}

start
stops TERM "$SPID" "the main thread"
ok "SIGTERM to the process (main thread first) stops serve"

# every other thread serve runs, in turn (the engine's, the peer API's, ...)
start
mapfile -t tids < <(ls "/proc/$SPID/task" | grep -vx "$SPID")
kill -TERM "$SPID" && wait "$SPID" || true
[ "${#tids[@]}" -ge 2 ] || fail "serve runs several threads (found ${#tids[@]} besides main)"
n=0
for k in $(seq 0 $(( ${#tids[@]} - 1 ))); do
    start
    mapfile -t now < <(ls "/proc/$SPID/task" | grep -vx "$SPID")
    [ "${#now[@]}" -gt "$k" ] || continue
    sig=TERM; [ $((k % 2)) = 1 ] && sig=INT
    name=$(cat "/proc/$SPID/task/${now[$k]}/comm" 2>/dev/null || echo '?')
    stops "$sig" "${now[$k]}" "thread $((k + 1)) of ${#now[@]} ($name)"
    n=$((n + 1))
done
ok "SIGTERM or SIGINT handed to each of $n non-main threads stops serve, exit 0"
