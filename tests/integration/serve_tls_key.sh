# SPDX-License-Identifier: Apache-2.0
# serve reads [node] tls_key like the other key files: one that group or
# others may read (0644, 0640) is refused with exit 77 naming it, before
# anything listens; at 0600 serve starts and answers over TLS.
. "$(dirname "$0")/lib.sh"
need_tool openssl
need_tool python3

mkdir -p "$T/n1"
cn 1 init --no-passphrase -q
cl_tls_certs 1
port=$(free_ports 1)
printf '[node]\nname = n1\nlisten = 127.0.0.1:%s\ntls_cert = %s\ntls_key = %s\nca_file = %s\n' \
    "$port" "$T/tls/n1.crt" "$T/tls/n1.key" "$T/tls/ca.crt" >"$T/n1/medchain.conf"
for mode in 644 640 604; do
    chmod "$mode" "$T/tls/n1.key"
    expect_exit 77 timeout 20 "$MEDCHAIN_BIN" --datadir "$T/n1" serve
    grep -q "TLS key '$T/tls/n1.key' is accessible to other users" "$T/err" || fail "mode $mode is named: $(cat "$T/err")"
    ! grep -q "listening on" "$T/err" "$T/out" || fail "nothing listened with a $mode key"
done
ok "a TLS key readable by group or others (0644, 0640, 0604) is refused: exit 77, the file named"

chmod 600 "$T/tls/n1.key"
ln -s "$T/tls/n1.key" "$T/tls/live.key"
sed -i "s|^tls_key = .*|tls_key = $T/tls/live.key|" "$T/n1/medchain.conf"
CL_PORT[1]=$port
serve_start 1
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$T/tls/ca.crt" "https://127.0.0.1:$port/v1/status")
[ "$code" = 403 ] || fail "serve answers over TLS with the 0600 key (HTTP $code)"
serve_kill 1
ok "a 0600 TLS key (through a symbolic link, as certbot's live/ names are) is taken: serve answers over TLS"
