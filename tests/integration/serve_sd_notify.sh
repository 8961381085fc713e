#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# serve speaks systemd's notify protocol (Type=notify): READY=1 only once it
# accepts connections on [node] listen with its store open, STATUS= with the
# height, WATCHDOG=1 every half $WATCHDOG_USEC from the engine's loop, and
# STOPPING=1 on SIGTERM. A python3 listener stands in for systemd on the
# unix datagram socket $NOTIFY_SOCKET names.
. "$(dirname "$0")/lib.sh"
init_node
port=$(free_ports 1)
printf '[node]\nname = notify-1\nlisten = 127.0.0.1:%s\n' "$port" >"$D/medchain.conf"
SOCK="$T/notify.sock"
python3 -u -c '
import socket, sys, time
path, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("bound", flush=True)
with open(out, "w") as f:
    while True:
        msg = s.recv(4096).decode()
        t = time.monotonic()
        for line in msg.split("\n"):
            if line == "READY=1":
                c = socket.socket()
                try:
                    c.connect(("127.0.0.1", port)); line = "READY=1 connect-ok"
                except OSError as e:
                    line = "READY=1 connect-failed " + str(e)
                c.close()
            f.write("%.3f %s\n" % (t, line)); f.flush()
            if line == "STOPPING=1":
                sys.exit(0)
' "$SOCK" "$port" "$T/notes" >"$T/listener.log" 2>&1 &
LPID=$!
for _ in $(seq 50); do grep -q bound "$T/listener.log" && break; sleep 0.1; done
grep -q bound "$T/listener.log" || fail "the stand-in for systemd listens"

: >"$T/serve.log"
NOTIFY_SOCKET="$SOCK" WATCHDOG_USEC=400000 "$MEDCHAIN_BIN" --datadir "$D" serve >"$T/serve.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do grep -q "READY=1" "$T/notes" 2>/dev/null && break; sleep 0.05; done
grep -qx '[0-9.]* READY=1 connect-ok' "$T/notes" || { cat "$T/notes" "$T/serve.log"; fail "READY=1 once serve accepts connections"; }
grep -q "STATUS=listening on 127.0.0.1:$port, height 1" "$T/notes" || { cat "$T/notes"; fail "STATUS= with the listen address and height"; }
ok "READY=1 when serve accepts connections, with STATUS= naming the address and the height"

sleep 2
pings=$(grep -c ' WATCHDOG=1$' "$T/notes" || true)
[ "$pings" -ge 6 ] || { cat "$T/notes"; fail "WATCHDOG=1 every 200 ms (half of WATCHDOG_USEC): $pings in 2 s"; }
# steady: no gap between pings longer than the whole watchdog interval
awk '/ WATCHDOG=1$/ { if (p && $1 - p > 0.4) { print "gap " $1 - p; bad = 1 } p = $1 } END { exit bad }' "$T/notes" \
    || fail "a watchdog gap longer than WATCHDOG_USEC"
ok "WATCHDOG=1 every half watchdog interval ($pings pings in about 2 s)"

echo hello | mc record put --subject P1 --category note --type text/plain >/dev/null
for _ in $(seq 40); do grep -q "STATUS=serving, height 2" "$T/notes" && break; sleep 0.05; done
grep -q "STATUS=serving, height 2" "$T/notes" || { cat "$T/notes"; fail "STATUS= follows the height"; }
ok "STATUS= follows the height as blocks commit"

kill -TERM "$SPID"
code=0; wait "$SPID" || code=$?
[ "$code" -eq 0 ] || { cat "$T/serve.log"; fail "serve stops cleanly (exit $code)"; }
wait "$LPID" || true
grep -qx '[0-9.]* STOPPING=1' "$T/notes" || { cat "$T/notes"; fail "STOPPING=1 on SIGTERM"; }
ok "STOPPING=1 on SIGTERM"

# without WATCHDOG_USEC there is no watchdog ping, and without
# NOTIFY_SOCKET serve runs as before
rm -f "$SOCK"
: >"$T/serve2.log"
"$MEDCHAIN_BIN" --datadir "$D" serve >"$T/serve2.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/serve2.log" && break; sleep 0.05; done
grep -q "listening on" "$T/serve2.log" || fail "serve without NOTIFY_SOCKET"
kill -TERM "$SPID"; wait "$SPID" || fail "serve without NOTIFY_SOCKET stops cleanly"
ok "without NOTIFY_SOCKET serve runs and stops as before"
