#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The shipped examples/medchain.conf starts a working single node as it is:
# init a node with it as the configuration, and serve starts on its listen
# address and answers. TLS and peers are there, commented out. (--datadir
# stands in for its /var/lib/medchain; serve runs in a network namespace of
# its own, so that the shipped port 7400 is free whatever else runs here.)
. "$(dirname "$0")/lib.sh"
CONF="$MC_SRCDIR/examples/medchain.conf"
for k in tls_cert tls_key ca_file peers url rpc_url chain_id; do
    grep -q "^#$k = " "$CONF" || fail "$k is in the example, commented out"
    ! grep -q "^$k" "$CONF" || fail "$k is not set as shipped"
done
listen=$(sed -n 's/^listen = //p' "$CONF")
[ "$listen" = 127.0.0.1:7400 ] || fail "the example listens on 127.0.0.1:7400 (got '$listen')"
"$MEDCHAIN_BIN" --config "$CONF" --datadir "$D" config check >"$T/check" 2>&1 || { cat "$T/check"; fail "config check accepts the example"; }
ok "the example: TLS, peers, url and the anchor endpoint commented out; config check accepts it"

need_tool unshare util-linux
need_tool ip iproute2
cat >"$T/node.sh" <<'SH'
set -eu
ip link set lo up
"$MEDCHAIN_BIN" --config "$CONF" --datadir "$D" init -q --no-passphrase --org "St Example Hospital"
"$MEDCHAIN_BIN" --config "$CONF" --datadir "$D" serve >"$T/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$T/serve.log" && break; sleep 0.05; done
grep -q "listening on 127.0.0.1:7400" "$T/serve.log" || { cat "$T/serve.log"; exit 11; }
"$MEDCHAIN_BIN" --config "$CONF" --datadir "$D" --json node list >"$T/nodes.json" || exit 12
"$MEDCHAIN_BIN" --config "$CONF" --datadir "$D" --json status >"$T/status.json" || exit 13
kill -TERM "$pid"; wait "$pid" || exit 14
SH
code=0
CONF="$CONF" D="$D" T="$T" unshare -n bash "$T/node.sh" || code=$?
case $code in
0) ;;
11) fail "serve starts on the example's listen address" ;;
12) fail "node list answers from serve" ;;
13) fail "status answers" ;;
14) fail "serve stops cleanly" ;;
*) fail "init with the example configuration (exit $code)" ;;
esac
jq -e '.nodes | length == 1 and .[0].self and (.[0].url == "http://127.0.0.1:7400")' "$T/nodes.json" >/dev/null \
    || { cat "$T/nodes.json"; fail "serve recorded its address from the example's listen"; }
jq -e '.height >= 1' "$T/status.json" >/dev/null || fail "status shows the chain"
grep -q "this node's address on the chain is now http://127.0.0.1:7400" "$T/serve.log" || fail "serve's log"
ok "init with the shipped medchain.conf, then serve starts on 127.0.0.1:7400 and answers"
