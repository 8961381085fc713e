# SPDX-License-Identifier: Apache-2.0
# A request line is the client's text: serve logs a refused request's path,
# and an unauthenticated client put terminal escapes (ESC [2J clears the
# screen of whoever reads the log) and other control bytes in it. Every
# control byte is logged as '?'.
. "$(dirname "$0")/lib.sh"

cluster_start 1
python3 - "${CL_PORT[1]}" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /v1/status\x1b[2J\x1b[31mFAKE\x08\x07 HTTP/1.1\r\nHost: x\r\nX-Medchain-Key: zz\r\n\r\n")
s.recv(200)
PY
for _ in $(seq 100); do grep -q "FAKE" "$T/n1.log" && break; sleep 0.05; done
grep -q "refused GET /v1/status?\[2J?\[31mFAKE?? from" "$T/n1.log" || fail "the refusal is logged, its control bytes as '?': $(cat -v "$T/n1.log")"
if LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$T/n1.log"; then
    cat -v "$T/n1.log" >&2
    fail "a control byte reached the log"
fi
ok "a request path's control bytes are logged as '?'"
