#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Where serve logs (src/node/log.h), each way tried on a real serve taking record
# puts, a grant, reads and a break-glass read, in a private mount namespace
# whose /dev/log and /run/systemd/journal/socket are this test's:
#   - JOURNAL_STREAM naming stderr (as systemd sets it): every message goes
#     to journald's socket once, with PRIORITY=, SYSLOG_IDENTIFIER= and
#     MEDCHAIN_PEER= / MEDCHAIN_REASON= fields, no timestamp of ours, and
#     nothing on stderr; should journald not take it, the line goes to
#     stderr with its "<N>" prefix, still with no timestamp;
#   - no journal, stderr no terminal, a syslog listening: syslog with the
#     daemon facility and the priority (info 30, warning 28), nothing on
#     stderr;
#   - none of them: stderr, timestamped;
#   - anchor under the journal: its lines once, in the journal only.
# No capture holds an MRN, a payload marker or a break-glass reason.
if [ -z "${MC_LOG_NS:-}" ]; then
    command -v unshare >/dev/null 2>&1 || { echo "SKIP: unshare (util-linux) is not installed" >&2; exit 77; }
    if unshare -m --propagation private true 2>/dev/null; then
        MC_LOG_NS=private exec unshare -m --propagation private bash "$0" "$@"
    fi
    # In a chroot / is no mount point, so its propagation cannot be set:
    # each mount below is then checked to propagate nowhere (ns_tmpfs).
    unshare -m --propagation unchanged true 2>/dev/null ||
        { echo "SKIP: no mount namespace here (unshare -m needs CAP_SYS_ADMIN)" >&2; exit 77; }
    MC_LOG_NS=unchanged exec unshare -m --propagation unchanged bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
need_tool curl

# ns_tmpfs DIR: a tmpfs of this namespace's own on DIR. In a namespace whose
# propagation could not be made private, a mount that joined a shared peer
# group (it would appear outside) is taken down at once and the test skips.
ns_tmpfs() {
    mount -t tmpfs -o mode=755 tmpfs "$1"
    [ "$MC_LOG_NS" = private ] && return 0
    if awk -v m="$1" '$5 == m { for (i = 7; $i != "-"; i++) if ($i ~ /^shared:/) s = 1 } END { exit !s }' \
        /proc/self/mountinfo; then
        umount "$1"
        skip "the mount on $1 would propagate out of this namespace (a chroot under a shared mount)"
    fi
    mount --make-private "$1"
}

# This namespace's own /dev (the few devices serve needs) and /run: the
# machine's are untouched.
ns_tmpfs /dev
for d in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
    set -- $d; mknod -m 666 "/dev/$1" c "$2" "$3"
done
ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
ns_tmpfs /run
mkdir -p /run/systemd/journal

# sink PATH OUT: datagrams received on the unix socket PATH, one JSON string
# per line in OUT (the journal's native protocol parsed into an object)
cat >"$T/sink.py" <<'PY'
import json, os, socket, struct, sys
path, out, journal = sys.argv[1], sys.argv[2], sys.argv[3] == "journal"
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
open(out + ".ready", "w").close()
def native(b):
    d, i = {}, 0
    while i < len(b):
        nl = b.index(b"\n", i)
        line = b[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1); i = nl + 1
        else:   # KEY\n<le64 length><data>\n
            k = line; n = struct.unpack("<Q", b[nl + 1:nl + 9])[0]
            v = b[nl + 9:nl + 9 + n]; i = nl + 9 + n + 1
        d.setdefault(k.decode(), []).append(v.decode("utf-8", "replace"))
    return d
with open(out, "a") as f:
    while True:
        b = s.recv(1 << 20)
        f.write(json.dumps(native(b) if journal else b.decode("utf-8", "replace")) + "\n")
        f.flush()
PY
sink() {
    rm -f "$1" "$2.ready"
    python3 "$T/sink.py" "$1" "$2" "$3" &
    SINK_PID=$!
    for t in $(seq 100); do [ -e "$2.ready" ] && return 0; sleep 0.05; done
    fail "the $3 sink did not start"
}
stop_sink() { kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null || true; rm -f "$1"; }

init_node
mc identity add --name "Dr Log" --role clinician --no-passphrase >/dev/null
read -r port <<<"$(free_ports 1)"
printf '[node]\nlisten = 127.0.0.1:%s\n' "$port" >"$D/medchain.conf"
R=$RANDOM$RANDOM
MARKERS=()
# clinical N: puts with MRNs and payload markers, a grant, a read, a
# denial, a break-glass read, and an unsigned peer request (a warning)
clinical() {
    local mrn="MRN-LOG-$R-$1" mark="PAYLOAD-LOG-$R-$1" why="BTG-LOG-$R-$1 unconscious" id id2
    MARKERS+=("$mrn" "$mark" "BTG-LOG-$R-$1")
    printf '{"resourceType":"Observation","note":"%s"}' "$mark" >"$T/p.json"
    id=$(mc record put --subject "$mrn" --category lab "$T/p.json") || fail "record put ($1)"
    id2=$(mc record put --subject "$mrn-b" --category lab "$T/p.json") || fail "record put ($1)"
    MARKERS+=("$mrn-b")
    mc consent grant --subject "$mrn" --to "Dr Log" --purpose treatment >/dev/null || fail "grant ($1)"
    mc --as "Dr Log" record get "$id" >/dev/null || fail "granted read ($1)"
    if mc --as "Dr Log" record get "$id2" >/dev/null 2>&1; then fail "a read without a grant ($1)"; fi
    mc --as "Dr Log" record get --break-glass "$why" "$id2" >/dev/null 2>&1 || fail "break-glass ($1)"
    curl -s -o /dev/null "http://127.0.0.1:$port/v1/status" || true
}
# start_serve ERRFILE [VAR=VALUE...]: serve with stderr to ERRFILE; waits
# for its port
start_serve() {
    local err=$1; shift
    : >"$err"   # truncated, the same inode: JOURNAL_STREAM still names it
    env "$@" "$MEDCHAIN_BIN" --datadir "$D" serve >/dev/null 2>>"$err" &
    SERVE_PID=$!
    for t in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/v1/status" 2>/dev/null && return 0; sleep 0.05; done
    cat "$err"; fail "serve did not start"
}
stop_serve() { kill -TERM "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; sleep 0.3; }
no_markers() {   # no_markers FILE...: none of the test's MRNs, payloads, reasons
    local m
    for m in "${MARKERS[@]}"; do
        if grep -F -- "$m" "$@"; then fail "a log holds '$m'"; fi
    done
}
STAMP='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}'

# 1. the journal: JOURNAL_STREAM is stderr's device:inode
sink /run/systemd/journal/socket "$T/journal.cap" journal
: >"$T/j.err"
start_serve "$T/j.err" JOURNAL_STREAM="$(stat -c '%d:%i' "$T/j.err")"
clinical 1
stop_serve
stop_sink /run/systemd/journal/socket
python3 - "$T/journal.cap" <<'PY' || fail "the journal entries are not as they should be"
import json, re, sys
es = [json.loads(l) for l in open(sys.argv[1])]
if not es: sys.exit("nothing reached the journal")
msgs = []
for e in es:
    for k in ("MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"):
        if len(e.get(k, [])) != 1: sys.exit(f"an entry without one {k}: {e}")
    if e["SYSLOG_IDENTIFIER"][0] != "medchain-serve": sys.exit(f"identifier {e['SYSLOG_IDENTIFIER']}")
    if re.match(r"\d{4}-\d\d-\d\dT", e["MESSAGE"][0]) or re.match(r"<\d>", e["MESSAGE"][0]):
        sys.exit(f"a timestamp or prefix of ours: {e['MESSAGE'][0]}")
    msgs.append(e["MESSAGE"][0])
def find(pat):
    return [e for e in es if re.search(pat, e["MESSAGE"][0])]
ls = find(r"^listening on 127\.0\.0\.1:")
if len(ls) != 1 or ls[0]["PRIORITY"] != ["6"]: sys.exit(f"'listening on' at info, once: {ls}")
rf = find(r"^refused GET /v1/status")
if not rf or rf[0]["PRIORITY"] != ["4"] or "MEDCHAIN_REASON" not in rf[0] or "MEDCHAIN_PEER" not in rf[0]:
    sys.exit(f"a refusal at warning with MEDCHAIN_REASON and MEDCHAIN_PEER: {rf}")
if len(find(r"^stopping \(signal 15\)")) != 1: sys.exit("'stopping' not once")
print(f"{len(es)} entries")
PY
[ ! -s "$T/j.err" ] || { cat "$T/j.err"; fail "under the journal, serve also wrote to stderr (twice)"; }
no_markers "$T/journal.cap" "$T/j.err"
ok "journal: one entry a message, PRIORITY 6 and 4, MEDCHAIN_PEER and MEDCHAIN_REASON, no timestamp, nothing on stderr"

# 2. JOURNAL_STREAM set, journald gone: "<N>" lines on stderr, no timestamp
: >"$T/j2.err"
start_serve "$T/j2.err" JOURNAL_STREAM="$(stat -c '%d:%i' "$T/j2.err")"
stop_serve
grep -qx '<6>listening on 127.0.0.1:'"$port" "$T/j2.err" || { cat "$T/j2.err"; fail "no '<6>listening on' line"; }
if grep -Eq "$STAMP" "$T/j2.err"; then cat "$T/j2.err"; fail "a timestamp of ours for the journal's stream"; fi
ok "journald not there: '<6>listening on ...' on the stream, no timestamp"

# 3. syslog: no journal, stderr a file, /dev/log listening
sink /dev/log "$T/syslog.cap" syslog
start_serve "$T/s.err"
clinical 2
stop_serve
stop_sink /dev/log
grep -q '<30>.*medchain-serve\[[0-9]*\]: listening on 127.0.0.1:' "$T/syslog.cap" || { cat "$T/syslog.cap"; fail "no daemon.info 'listening on'"; }
grep -q '<28>.*medchain-serve\[[0-9]*\]: refused GET /v1/status' "$T/syslog.cap" || fail "no daemon.warning refusal"
[ "$(grep -c ': listening on ' "$T/syslog.cap")" = 1 ] || fail "'listening on' not once in syslog"
[ ! -s "$T/s.err" ] || { cat "$T/s.err"; fail "with syslog, serve also wrote to stderr (twice)"; }
no_markers "$T/syslog.cap" "$T/s.err"
ok "syslog: daemon.info and daemon.warning, each message once, nothing on stderr"

# 4. neither: stderr, timestamped, each line once
start_serve "$T/t.err"
clinical 3
stop_serve
grep -Eq "^$STAMP:[0-9]{2}\.[0-9]{3}Z medchain serve: listening on " "$T/t.err" || { cat "$T/t.err"; fail "no timestamped 'listening on'"; }
grep -Eq "^$STAMP:[0-9]{2}\.[0-9]{3}Z medchain serve: warning: refused GET /v1/status" "$T/t.err" || fail "no warning: refusal line"
[ "$(grep -c 'listening on' "$T/t.err")" = 1 ] || fail "'listening on' not once"
no_markers "$T/t.err"
ok "stderr: timestamped lines, 'warning:' on warnings, once each; no MRN, payload or reason in any of the four"

# 5. anchor under systemd (stdout and stderr the journal's stream, and a
#    syslog that is journald's too): its summary reaches the journal once,
#    with its priority, and is neither printed nor sent to syslog as well
start_anvil --slots-in-an-epoch 1 --block-time 1
ADDR=$(mc anchor keygen --no-passphrase 2>/dev/null)
rpc anvil_setBalance "[\"$ADDR\",\"0xde0b6b3a7640000\"]" >/dev/null
printf '[anchor]\nrpc_url = %s\nchain_id = 31337\nconfirmations = 1\n' "$URL" >"$D/medchain.conf"
sink /run/systemd/journal/socket "$T/ajournal.cap" journal
J_PID=$SINK_PID
sink /dev/log "$T/asyslog.cap" syslog
: >"$T/anchor.out"
JOURNAL_STREAM="$(stat -c '%d:%i' "$T/anchor.out")" mc anchor --wait 60 >>"$T/anchor.out" 2>&1 || { sleep 0.3; cat "$T/anchor.out" "$T/ajournal.cap"; fail "anchor failed"; }
sleep 0.5   # the sinks write what they received
kill "$SINK_PID" "$J_PID" 2>/dev/null; wait "$SINK_PID" "$J_PID" 2>/dev/null || true
stop_anvil
n=$(python3 -c '
import json, sys
es = [json.loads(l) for l in open(sys.argv[1])]
ms = [e["MESSAGE"][0] for e in es]
if len(set(ms)) != len(ms): sys.exit(f"a message twice: {ms}")
print(sum(1 for e in es if e["SYSLOG_IDENTIFIER"] == ["medchain-anchor"] and e["PRIORITY"] == ["6"] and "anchor" in e["MESSAGE"][0]))' "$T/ajournal.cap") \
    || fail "the anchor logged a message twice"
[ "$n" -ge 1 ] || { cat "$T/ajournal.cap" "$T/anchor.out"; fail "the anchor's summary is not in the journal at info"; }
[ ! -s "$T/anchor.out" ] || { cat "$T/anchor.out"; fail "under the journal, anchor also printed its lines (twice)"; }
[ ! -s "$T/asyslog.cap" ] || { cat "$T/asyslog.cap"; fail "under the journal, anchor also sent its lines to syslog (twice)"; }
ok "anchor under the journal: its summary once, at info, as medchain-anchor; nothing printed or sent to syslog as well"
