#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The peer API over TLS (GnuTLS through libmicrohttpd; libcurl checks the
# peer's certificate against [node] ca_file): three validators on https
# commit and agree; plain HTTP to a TLS port gets no answer; a client that
# does not trust the private CA refuses the node's certificate.
. "$(dirname "$0")/lib.sh"
need_tool openssl

CL_TLS=1 cluster_start 3
for i in 1 2 3; do
    cn "$i" identity add --name "tls-$i" --role clinician --no-passphrase >/dev/null || fail "no commit through node $i"
done
cl_wait_same 10 1 2 3 || fail "the three disagree over TLS"
ok "three validators over https: txs sent to each committed on all three, heads identical"

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:${CL_PORT[1]}/v1/status" || true)
[ "$code" = 000 ] || fail "plain HTTP to the TLS port got HTTP $code"
curl -s -o /dev/null --max-time 5 "https://127.0.0.1:${CL_PORT[1]}/v1/status" \
    && fail "a client without the private CA accepted the node's certificate"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$T/tls/ca.crt" \
    "https://127.0.0.1:${CL_PORT[1]}/v1/status")
[ "$code" = 403 ] || fail "an unsigned request over TLS got HTTP $code, not 403"
ok "plain HTTP gets no answer; the certificate is checked against the CA; unsigned requests are still refused"
