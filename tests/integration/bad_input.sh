# SPDX-License-Identifier: Apache-2.0
# Bad input gets one clear message and a sysexits code, and changes nothing.
. "$(dirname "$0")/lib.sh"

init_node
echo base | mc record put --subject P --category note --type text/plain >"$T/id"
h0=$(height)
unchanged() { [ "$(height)" = "$h0" ] || fail "$1 changed the chain"; }

bad() { # CODE WHAT command...
    local code=$1 what=$2; shift 2
    expect_exit "$code" "$@"
    [ "$(wc -l <"$T/err")" -ge 1 ] || fail "$what: no message"
    grep -q "^medchain: " "$T/err" || fail "$what: message not prefixed"
    unchanged "$what"
    ok "$what -> $code: $(head -1 "$T/err")"
}

bad 65 "empty payload" sh -c "mc() { '$MEDCHAIN_BIN' --datadir '$D' \"\$@\"; }; mc record put --subject P --category note </dev/null"
head -c $((16 * 1024 * 1024 + 1)) /dev/zero >"$T/big"
bad 65 "payload over the 16 MiB limit" mc record put --subject P --category note --type application/octet-stream "$T/big"
printf '\xff\xfe{"a":1}' >"$T/notutf8"
bad 65 "JSON payload not UTF-8" mc record put --subject P --category note "$T/notutf8"
bad 65 "subject not UTF-8" mc record put --subject "$(printf 'P\xff')" --category note --type text/plain "$T/notutf8"
bad 64 "bad category" mc record put --subject P --category "Bad Category" "$T/notutf8"
bad 64 "missing --subject" mc record put --category note "$T/notutf8"
bad 64 "unknown option" mc record put --frobnicate
bad 64 "unknown command" mc frobnicate
bad 66 "payload file missing" mc record put --subject P --category note "$T/nope"
bad 78 "serve without [node] listen" mc serve
bad 78 "serve on a port out of range" env MEDCHAIN_LISTEN=127.0.0.1:99999 "$MEDCHAIN_BIN" --datadir "$D" serve
bad 64 "node add with a key that is not one" mc node add http://127.0.0.1:7400 nothex
bad 64 "node add with a bad URL" mc node add "ftp://x y" "$(printf '%064d' 0)"
bad 65 "node approve with a made-up token" mc node approve abcd
bad 64 "init --join with a bad chain id" "$MEDCHAIN_BIN" --datadir "$T/joining" init --join 1234
printf '{"subject":"P","category":"note","payload":"x"}\n{"subject":"P",\n' >"$T/trunc.ndjson"
bad 65 "truncated NDJSON" mc record import --format ndjson "$T/trunc.ndjson"
h0=$(height)   # the first, valid line's batch was committed and reported
printf 'not json at all\n' >"$T/junk"
bad 65 "invalid JSON" mc record import --format ndjson "$T/junk"
printf '{"subject":"P","category":"note"}\n' >"$T/nopayload"
bad 65 "NDJSON line without payload" mc record import "$T/nopayload"
printf '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation"' >"$T/trunc.json"
bad 65 "truncated bundle" mc record import --format bundle "$T/trunc.json"
printf '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","status":"final"}}]}' >"$T/nosubj.json"
bad 65 "bundle entry without a subject" mc record import "$T/nosubj.json"
bad 65 "empty import" mc record import /dev/null
bad 64 "malformed record id" mc record get 1234
bad 66 "unknown record" mc record get 0123456789abcdef0123456789abcdef
bad 66 "history of an unknown record" mc record history 0123456789abcdef0123456789abcdef
bad 66 "an unknown subject" mc record list --subject NO-SUCH-PATIENT
bad 66 "erase of an unknown record" mc record erase 0123456789abcdef0123456789abcdef --reason test
bad 67 "unknown --as identity" mc --as nobody record put --subject P --category note --type text/plain "$T/notutf8"
bad 64 "unknown role" mc identity add --name X --role wizard
bad 66 "a directory that is not a data dir" "$MEDCHAIN_BIN" --datadir "$T" status
bad 66 "a data dir that does not exist" "$MEDCHAIN_BIN" --datadir "$T/none" record list
mkdir -p "$T/fake/keys" "$T/fake/db"
bad 66 "a directory that only looks like a data dir" "$MEDCHAIN_BIN" --datadir "$T/fake" status

# Configuration: a bad line is named by file, line and key; --config works.
printf '[node]\nname = n1\n[anchor]\nconfirmations = lots\n' >"$T/bad.conf"
bad 78 "a bad configuration value" mc --config "$T/bad.conf" status
grep -q "bad.conf:4: \[anchor\] confirmations" "$T/err" || fail "the message names file, line and key"
bad 78 "a missing --config file" mc --config "$T/none.conf" status
printf '[node]\ndatadir = %s\n' "$D" >"$T/good.conf"
"$MEDCHAIN_BIN" --config "$T/good.conf" status >/dev/null || fail "the data dir comes from the configuration"
printf '[console]\nrefresh_ms = 5\n' >"$D/medchain.conf"
expect_exit 78 mc status
grep -q "medchain.conf:2: \[console\] refresh_ms" "$T/err" || fail "the data dir's medchain.conf is read and checked"
rm "$D/medchain.conf"
MEDCHAIN_CONFIRMATIONS=0 "$MEDCHAIN_BIN" --datadir "$D" status >/dev/null 2>"$T/err" && fail "a bad MEDCHAIN_ variable is refused"
grep -q MEDCHAIN_CONFIRMATIONS "$T/err" || fail "the variable is named"
ok "configuration errors: file, line, key and exit 78"

# An auditor cannot write records.
aud=$(mc identity add --name Aud --role auditor --no-passphrase)
h0=$(height)
bad 77 "an auditor putting a record" mc --as Aud record put --subject P --category note --type text/plain "$T/notutf8"
mc identity revoke Aud --reason left >/dev/null
h0=$(height)
bad 77 "a revoked identity acting" mc --as "$aud" record put --subject P --category note --type text/plain "$T/notutf8"
bad 65 "revoking twice" mc identity revoke "$aud"

# A read-only file system and a full one (need mount rights: root in CI).
if mount -t tmpfs -o size=8m tmpfs "$T" 2>/dev/null; then
    umount "$T"
    mkdir -p "$T/ro" "$T/full"
    mount -t tmpfs -o size=64m tmpfs "$T/ro"; MC_MOUNTS+=("$T/ro")
    "$MEDCHAIN_BIN" --datadir "$T/ro/d" init --no-passphrase -q
    mount -o remount,ro "$T/ro"
    D="$T/ro/d"; h0=$(height)
    bad 73 "a read-only data dir" mc record put --subject P --category note --type text/plain "$T/notutf8"
    mc verify >/dev/null 2>"$T/err" || fail "a read-only data dir still verifies"
    grep -q "outcome was not kept" "$T/err" || fail "verify says it could not keep its outcome"
    mount -t tmpfs -o size=3m tmpfs "$T/full"; MC_MOUNTS+=("$T/full")
    D="$T/full/d"
    init_node
    head -c 200000 /dev/urandom >"$T/chunk"
    got=0
    for i in $(seq 1 40); do
        mc record put --subject P --category img --type application/octet-stream "$T/chunk" >/dev/null 2>"$T/err" || { got=$?; break; }
    done
    [ "$got" -eq 74 ] || fail "a full disk gives exit 74 (got $got)"
    grep -q "^medchain: " "$T/err" || fail "a full disk gives a message"
    ok "full disk -> 74: $(head -1 "$T/err")"
    h0=$(height)
    mc verify >/dev/null || fail "the chain verifies after the disk filled"
    ok "read-only and full file systems"
else
    echo "skip: no mount rights for the read-only and full-disk cases"
fi
