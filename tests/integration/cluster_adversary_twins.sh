#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Equivocation ("twins"): two `medchain serve` processes hold the leader's
# key (node 1 and a copy of it, node 1b, on another port), both serving and
# both proposing. Writes go through both twins and through the honest
# nodes at once. No two different blocks are certified at one height (every
# process that has a height has the same block there), the honest nodes keep
# committing and agree, each equivocation is logged with both signed
# proposals kept as evidence, and the equivocator is voted out.
. "$(dirname "$0")/lib.sh"

cluster_start 4
serve_kill 1
cp -a "$T/n1" "$T/n1b"
serve_start 1
read -r portb < <(free_ports 1)
sed -i "s/^listen = .*/listen = 127.0.0.1:$portb/; s|^peers = .*|peers = $(cl_url 2)|; s/^name = .*/name = n1b/" \
    "$T/n1b/medchain.conf"
"$MEDCHAIN_BIN" --datadir "$T/n1b" serve >>"$T/n1b.log" 2>&1 &
twin=$!
for t in $(seq 100); do grep -q "listening on" "$T/n1b.log" && break; sleep 0.05; done
ok "node 1 and its twin (the same key, another port) both serve"

# writes through the twin and through the honest nodes at the same time
writer() { # DATADIR PREFIX N
    local i
    for i in $(seq 1 "$3"); do
        env MEDCHAIN_COMMIT_TIMEOUT=60 "$MEDCHAIN_BIN" --datadir "$1" identity add --name "$2-$i" --role clinician \
            --no-passphrase >/dev/null 2>>"$T/$2.err" || echo "$2-$i" >>"$T/lost"
    done
}
: >"$T/lost"
# rounds of writes until the twins have proposed at one height (each round
# commits all its writes; the twins race for every height meanwhile)
for round in 1 2 3 4 5 6; do
    pids=()
    for w in twin-a twin-b; do writer "$T/n1b" "$w$round" 6 & pids+=($!); done
    for w in 1 2 3; do writer "$T/n$w" "n$w-$round" 4 & pids+=($!); done
    wait "${pids[@]}"
    [ ! -s "$T/lost" ] || fail "writes did not commit: $(tr '\n' ' ' <"$T/lost") $(cat "$T"/*.err | head -3)"
    grep -q "(equivocation)" "$T"/n[234].log && break
done
ok "$round round(s) of 24 writes, through the twin and three other nodes at once: all committed"

cl_wait_same 20 2 3 4 || fail "the honest three disagree"
for i in 2 3 4; do expect_exit 0 cn "$i" verify; done
ok "the honest three agree on one head and verify"

# one block a height, in every process
blocks() { mdb_dump -s blocks "$1/db" | awk '/^HEADER=END/ { b = 1; next } /^DATA=END/ { b = 0 } b { if (++k % 2) key = $1; else print key, substr($1, 1, 378) }' | sort; }
for d in n1 n1b n2 n3 n4; do blocks "$T/$d" >"$T/$d.blocks"; done
for d in n1 n1b n3 n4; do
    join "$T/n2.blocks" "$T/$d.blocks" | awk '$2 != $3 { bad = 1; print "height " $1 } END { exit bad }' \
        || fail "$d holds another block than node 2 at some height"
done
ok "every height any of the five holds carries the same block in all of them ($(wc -l <"$T/n2.blocks") blocks)"

grep -hE "signed (two blocks at height|another block at committed height) .* \(equivocation\).* kept as evidence" \
    "$T"/n[234].log >"$T/equiv" || fail "no honest node logged an equivocation"
ev=0
for i in 2 3 4; do
    ev=$((ev + $(mdb_dump -s consensus "$T/n$i/db" | grep -c '^ 65766964656e6365' || true)))
done
[ "$ev" -ge 1 ] || fail "no evidence kept"
ok "equivocation logged $(wc -l <"$T/equiv") times, $ev pairs of signed proposals kept as evidence"

# a proven equivocator leads no longer: the honest three voted it out
cl_wait_leader_not 2 "${CL_KEY[1]}" 10 || fail "the equivocating leader still leads"
grep -qh "the leader signed two blocks at one height: asking to lead view" "$T"/n[234].log \
    || fail "no honest node asked to replace the equivocator"
cn 3 identity add --name after-twins --role clinician --no-passphrase >/dev/null || fail "no commit under the new leader"
ok "the equivocating leader was voted out; the new leader commits"
kill "$twin" 2>/dev/null || true
