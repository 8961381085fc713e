# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the integration tests: each test sources this file and
# drives the real medchain binary on a temporary data dir.
set -euo pipefail

: "${MEDCHAIN_BIN:?MEDCHAIN_BIN must name the medchain binary}"
export MEDCHAIN_KDF=${MEDCHAIN_KDF:-fast}
unset MEDCHAIN_DATADIR MEDCHAIN_PASSPHRASE_FILE
# Tests are not interactive: run from a terminal, `make check` would
# otherwise let commands that confirm on a terminal ask it.
exec </dev/null
T=$(mktemp -d "${TMPDIR:-/tmp}/mc-it.XXXXXX")
D="$T/data"
cleanup() {
    local rc=$?
    # MC_KEEP_LOGS=DIR: a failed test's node logs are kept there
    if [ "$rc" -ne 0 ] && [ -n "${MC_KEEP_LOGS:-}" ]; then mkdir -p "$MC_KEEP_LOGS"; cp "$T"/*.log "$MC_KEEP_LOGS"/ 2>/dev/null || true; fi
    jobs -p | xargs -r kill -9 2>/dev/null || true
    wait 2>/dev/null || true
    for m in "${MC_MOUNTS[@]:-}"; do [ -n "$m" ] && umount "$m" 2>/dev/null || true; done
    # a process that outlived its kill may still write a last file: retry
    rm -rf "$T" 2>/dev/null || { sleep 0.3; rm -rf "$T"; }
    exit $rc
}
MC_MOUNTS=()
trap cleanup EXIT

mc() { "$MEDCHAIN_BIN" --datadir "$D" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
# skip REASON: the test cannot run here (exit 77, SKIP in the automake totals);
# tools/test installs everything and counts a SKIP as a failure.
skip() { echo "SKIP: $*" >&2; exit 77; }
# need_tool NAME [PACKAGE]: skip the test unless NAME is on PATH
need_tool() {
    command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed (Debian package ${2:-$1}; tools/install-deps --test installs it)"
}

# expect_exit CODE command...: runs it, checks the exit code, keeps stderr in $T/err
expect_exit() {
    local want=$1; shift
    local got=0
    "$@" >"$T/out" 2>"$T/err" || got=$?
    if [ "$got" -ne "$want" ]; then
        echo "--- stdout"; head -c 2000 "$T/out"; echo "--- stderr"; cat "$T/err"
        fail "expected exit $want, got $got: $*"
    fi
}

# need_test_hooks: skip unless the binary is a test build (./configure
# --enable-test-hooks): MEDCHAIN_TEST_CRASH is read by nothing else
need_test_hooks() {
    "$MEDCHAIN_BIN" --version | grep -q "^test hooks: on" \
        || skip "a release build (no --enable-test-hooks) has no MEDCHAIN_TEST_CRASH; tools/build configures with it"
}

init_node() { mc init --no-passphrase -q "$@"; }

height() { mc --json status | jq -r .height; }

# gen_ndjson N PREFIX: N NDJSON records of about 1 KiB, subjects PREFIX-0..9
gen_ndjson() {
    local n=$1 prefix=${2:-MRN}
    awk -v n="$n" -v p="$prefix" 'BEGIN {
        pad = sprintf("%900s", ""); gsub(/ /, "x", pad)
        for (i = 1; i <= n; i++)
            printf "{\"subject\":\"%s-%d\",\"category\":\"observation\",\"payload\":{\"resourceType\":\"Observation\",\"id\":\"obs-%d\",\"note\":\"%s\"}}\n", p, i % 10, i, pad
    }'
}

# The dev node from npm: sets ANVIL and CAST (node_modules of the checkout;
# a distcheck tree sits inside it), or $MEDCHAIN_DEVNODE_DIR.
find_devnode() {
    local nm=${MEDCHAIN_DEVNODE_DIR:-} d
    for d in "$MC_SRCDIR" "$MC_SRCDIR/.." "$MC_SRCDIR/../.." "$MC_SRCDIR/../../.."; do
        [ -z "$nm" ] && [ -x "$d/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" ] && nm="$d/node_modules"
    done
    ANVIL="$nm/@foundry-rs/anvil-linux-amd64/bin/anvil"
    CAST="$nm/@foundry-rs/cast-linux-amd64/bin/cast"
    [ -x "$ANVIL" ] && [ -x "$CAST" ] || skip "the dev node (anvil and cast, from npm) is missing: tools/install-deps --test installs it"
}

# start_anvil [ARGS]: anvil on 127.0.0.1, a free port; sets URL and ANVIL_PID.
# A restart on the same port: ANVIL_PORT=$port start_anvil ...
start_anvil() {
    local log="$T/anvil.$$.$RANDOM.log" port="" i
    [ -n "${ANVIL:-}" ] || find_devnode
    : >"$log"
    "$ANVIL" --host 127.0.0.1 --port "${ANVIL_PORT:-0}" "$@" >"$log" 2>&1 &
    ANVIL_PID=$!
    for i in $(seq 1 100); do
        port=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$log" >&2; fail "anvil did not start"; }
    ANVIL_PORT=$port
    URL="http://127.0.0.1:$port"
}
stop_anvil() { kill "$ANVIL_PID" 2>/dev/null || true; wait "$ANVIL_PID" 2>/dev/null || true; }

# rpc METHOD 'PARAMS-JSON': the result member of one JSON-RPC call to $URL
rpc() {
    curl -s -X POST -H 'Content-Type: application/json' \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":${2:-[]}}" "$URL" | jq -c .result
}

# anchor_setup: an unsealed anchor key funded with 1 ETH on $URL, and
# medchain.conf pointing at it.
anchor_setup() {
    ADDR=$(mc anchor keygen --no-passphrase 2>/dev/null)
    rpc anvil_setBalance "[\"$ADDR\",\"0xde0b6b3a7640000\"]" >/dev/null
    cat >"$D/medchain.conf" <<CONF
[anchor]
rpc_url = $URL
chain_id = 31337
confirmations = 2
${ANCHOR_CONF_EXTRA:-}
CONF
}

# independent_root [SIZE]: the chain tree root over the first SIZE blocks (all
# by default), recomputed without medchain: block hash = SHA-256(
# "medchain/block/v1" || the 189-byte header) from mdb_dump, leaf =
# SHA-256(0x00 || block hash), node = SHA-256(0x01 || l || r) (RFC 9162).
independent_root() {
    sha() { xxd -r -p | sha256sum | cut -c1-64; }
    local domain h bh
    domain=$(printf 'medchain/block/v1' | xxd -p | tr -d '\n')
    mdb_dump -s blocks "$D/db" | awk '/^HEADER=END/ { inb = 1; next } /^DATA=END/ { inb = 0 } inb && ++k % 2 == 0 { print substr($1, 1, 378) }' >"$T/headers"
    [ -n "${1:-}" ] && { head -n "$1" "$T/headers" >"$T/headers.n"; mv "$T/headers.n" "$T/headers"; }
    : >"$T/leaves"
    while read -r h; do
        bh=$(printf '%s%s' "$domain" "$h" | sha)
        printf '00%s' "$bh" | sha >>"$T/leaves"
    done <"$T/headers"
    mth() { # leaves from line $1, count $2
        local start=$1 n=$2 k=1
        if [ "$n" -eq 1 ]; then sed -n "${start}p" "$T/leaves"; return; fi
        while [ $((k * 2)) -lt "$n" ]; do k=$((k * 2)); done
        printf '01%s%s' "$(mth "$start" "$k")" "$(mth $((start + k)) $((n - k)))" | sha
    }
    mth 1 "$(wc -l <"$T/leaves")"
}

# serve_post FILE: a local HTTP server that answers every POST with FILE's
# bytes (a stand-in for a broken RPC endpoint); sets SERVE_URL.
serve_post() {
    local log="$T/serve.$RANDOM.log"
    : >"$log"
    python3 -c '
import http.server, sys
body = open(sys.argv[1], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
' "$1" >"$log" 2>&1 &
    local i p=""
    for i in $(seq 1 50); do p=$(head -1 "$log"); [ -n "$p" ] && break; sleep 0.1; done
    [ -n "$p" ] || fail "the stand-in server did not start"
    SERVE_URL="http://127.0.0.1:$p/"
}

# ---- clusters of real `medchain serve` processes on 127.0.0.1 -------------
# cluster_start N: node 1 makes the chain; nodes 2..N join it by chain id and
# are added with quorum approvals (`node add` on node 1, `node approve` on
# the others). Each node: data dir $T/nI, port CL_PORT[I], key CL_KEY[I],
# serve PID CL_PID[I], log $T/nI.log. Admin and org keys are copied to every
# node (one hospital running N nodes), so any node can take any command.
CL_N=0
declare -a CL_PORT CL_KEY CL_PID
free_ports() {
    python3 -c '
import socket, sys
ss = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); ss.append(s)
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}
cn() { local i=$1; shift; "$MEDCHAIN_BIN" --datadir "$T/n$i" "$@"; }
cl_url() { echo "${CL_SCHEME:-http}://127.0.0.1:${CL_PORT[$1]}"; }
# cl_tls_certs: a private CA and a certificate for 127.0.0.1 per node (CL_TLS=1)
cl_tls_certs() {
    local i
    mkdir -p "$T/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=medchain test CA" \
        -keyout "$T/tls/ca.key" -out "$T/tls/ca.crt" 2>/dev/null
    for i in $(seq 1 "$1"); do
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=n$i" \
            -keyout "$T/tls/n$i.key" -out "$T/tls/n$i.csr" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\n' >"$T/tls/n$i.ext"
        openssl x509 -req -in "$T/tls/n$i.csr" -CA "$T/tls/ca.crt" -CAkey "$T/tls/ca.key" -CAcreateserial \
            -days 2 -extfile "$T/tls/n$i.ext" -out "$T/tls/n$i.crt" 2>/dev/null
    done
}
cl_height() { cn "$1" --json status | jq -r .height; }
# cl_leader I: the leader's key as node I sees it
cl_leader() { cn "$1" --json node list | jq -r '.nodes[] | select(.leader) | .node'; }
# cl_wait_leader_not I KEY TIMEOUT_S: until node I sees another leader than KEY
cl_wait_leader_not() {
    local end=$(( $(date +%s) + $3 ))
    while [ "$(cl_leader "$1")" = "$2" ]; do
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.1
    done
}
cl_head() { cn "$1" --json status | jq -r .head; }
serve_start() {
    local i=$1 seen
    # a restart appends to the log: wait for a new "listening on" line
    seen=$(grep -c "listening on" "$T/n$i.log" 2>/dev/null || true)
    "$MEDCHAIN_BIN" --datadir "$T/n$i" serve >>"$T/n$i.log" 2>&1 &
    CL_PID[$i]=$!
    local t now
    for t in $(seq 100); do
        # the log may not be there yet: the redirection is the child's
        now=$(grep -c "listening on" "$T/n$i.log" 2>/dev/null || true)
        [ "${now:-0}" -gt "${seen:-0}" ] && return 0
        sleep 0.05
    done
    cat "$T/n$i.log" >&2; fail "serve $i did not start"
}
# serve_stop I: SIGTERM to node I's serve, which must exit within 15 s
serve_stop() {
    local t
    kill -TERM "${CL_PID[$1]}" 2>/dev/null || return 0
    for t in $(seq 300); do kill -0 "${CL_PID[$1]}" 2>/dev/null || break; sleep 0.05; done
    kill -0 "${CL_PID[$1]}" 2>/dev/null && { tail -n 5 "$T/n$1.log" >&2; fail "serve $1 did not stop within 15 s of SIGTERM"; }
    wait "${CL_PID[$1]}" 2>/dev/null || true
}
serve_kill() { kill -"${2:-9}" "${CL_PID[$1]}" 2>/dev/null || true; [ "${2:-9}" = 9 ] && { wait "${CL_PID[$1]}" 2>/dev/null || true; }; return 0; }
# cl_wait_same TIMEOUT_S NODES...: until every listed node has the same head
cl_wait_same() {
    local t=$1; shift
    local end=$(( $(date +%s) + t )) h first
    while :; do
        first=""; local same=1 n
        for n in "$@"; do
            h=$(cl_head "$n" 2>/dev/null || echo "?$n")
            [ -z "$first" ] && first=$h
            [ "$h" = "$first" ] || same=0
        done
        [ "$same" = 1 ] && return 0
        [ "$(date +%s)" -ge "$end" ] && return 1
        sleep 0.1
    done
}
cluster_start() {
    local n=$1 i j k tok cid
    CL_N=$n
    read -r -a ports <<<"$(free_ports $((2 * n)))"
    for i in $(seq 1 "$n"); do CL_PORT[$i]=${ports[$((i-1))]}; CL_MPORT[$i]=${ports[$((n+i-1))]}; done
    cn 1 --json init --no-passphrase --name n1 >"$T/init1.json"
    cid=$(jq -r .chain_id "$T/init1.json")
    CL_KEY[1]=$(cn 1 --json identity list | jq -r '.[] | select(.enrolled == 0 and (.roles | test("node"))) | .key' | head -1)
    for i in $(seq 2 "$n"); do
        cn "$i" --json init --no-passphrase --join "$cid" >"$T/init$i.json"
        CL_KEY[$i]=$(jq -r .node "$T/init$i.json")
    done
    if [ "${CL_TLS:-0}" = 1 ]; then CL_SCHEME=https; cl_tls_certs "$n"; fi
    for i in $(seq 1 "$n"); do
        printf '[node]\nname = n%s\nlisten = 127.0.0.1:%s\npeers = %s\nblock_interval_ms = %s\nmax_block_txs = %s\nleader_timeout_ms = %s\n' \
            "$i" "${CL_PORT[$i]}" "$(cl_url 1)" "${CL_BLOCK_MS:-20}" "${CL_MAX_TXS:-5000}" \
            "${CL_LEADER_MS:-10000}" >"$T/n$i/medchain.conf"
        # CL_METRICS=1: /healthz and /metrics on 127.0.0.1:${CL_MPORT[i]}
        if [ "${CL_METRICS:-0}" = 1 ]; then
            printf 'metrics_listen = 127.0.0.1:%s\n' "${CL_MPORT[$i]}" >>"$T/n$i/medchain.conf"
        fi
        if [ "${CL_TLS:-0}" = 1 ]; then
            printf 'tls_cert = %s\ntls_key = %s\nca_file = %s\n' "$T/tls/n$i.crt" "$T/tls/n$i.key" \
                "$T/tls/ca.crt" >>"$T/n$i/medchain.conf"
        fi
        serve_start "$i"
    done
    for i in $(seq 2 "$n"); do
        tok=$(cn 1 --json node add "$(cl_url "$i")" "${CL_KEY[$i]}" --name "n$i" | jq -r '.token // empty')
        for j in $(seq 2 $((i - 1))); do
            [ -z "$tok" ] && break
            tok=$(cn "$j" --json node approve "$tok" | jq -r '.token // empty')
        done
        [ -z "$tok" ] || fail "node $i: approvals did not reach a quorum"
        cl_wait_same 20 $(seq 1 "$i") || fail "node $i did not catch up"
        cp "$T/n1/keys/admin.key" "$T/n1/keys/org.key" "$T/n$i/keys/"
    done
}

# ---- the console under tmux -----------------------------------------------
# tmux_shell [MARK]: a clean shell (env -i, prompt "shell> ") in the tmux
# session "c", 80x24, on a tmux server of this test's own, killed on exit;
# MARK, when given, is echoed on the cleared screen (a test that the console
# gives the screen back looks for it). Then: tm runs tmux on that server,
# pane prints the pane, keys sends keys to it, wait_for TEXT waits up to
# 10 s for TEXT on the pane (else prints the pane and fails).
# tmux_console: the console on $D started in that shell, at its Dashboard.
tm() { tmux -L "mc-test-$$" "$@"; }
pane() { tm capture-pane -t c -p; }
wait_for() {
    local i
    for i in $(seq 1 100); do pane | grep -qF -- "$1" && return 0; sleep 0.1; done
    pane >&2
    fail "the console never showed '$1'"
}
keys() { tm send-keys -t c "$@"; }
tmux_shell() {
    trap 'tm kill-server 2>/dev/null || true; cleanup' EXIT
    tm new-session -d -s c -x 80 -y 24 "env -i PATH=/usr/bin:/bin HOME=$T HISTFILE=/dev/null TERM=screen LANG=C.UTF-8 MEDCHAIN_KDF=fast bash --norc --noprofile"
    if [ -n "${1:-}" ]; then
        keys "PS1='shell> '; clear; echo $1" Enter
        wait_for "$1"
    else
        keys "PS1='shell> '; clear" Enter
        wait_for "shell>"
    fi
}
tmux_console() {
    keys "$MEDCHAIN_BIN --datadir $D" Enter
    wait_for "1 Dashboard"
}
