#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `medchain config check` reads every layer (the --config file, the data
# dir's file, MEDCHAIN_* variables, --datadir) and names where each setting
# came from, as text and --json; a bad line, a TLS certificate without its
# key or a file a setting names that cannot be read is exit 78 naming the
# file and line; a TLS key group or others may access is exit 77, as serve
# refuses it. A configuration file that exists but cannot be read (a
# directory in its place, or no permission for the user running medchain)
# is exit 78 naming it, never skipped; a missing optional one is fine.
. "$(dirname "$0")/lib.sh"
init_node
SYS="$T/system.conf"
printf '# system layer\n[node]\nname = from-system\nlisten = 127.0.0.1:7401\n\n[anchor]\nconfirmations = 5\nmax_fee_gwei = 40\n' >"$SYS"
printf '[anchor]\nconfirmations = 7\n' >"$D/medchain.conf"

MEDCHAIN_MAX_FEE_GWEI=33 "$MEDCHAIN_BIN" --config "$SYS" --datadir "$D" config check >"$T/check" 2>"$T/check.err" \
    || { cat "$T/check.err"; fail "config check of a good configuration exits 0"; }
grep -qxF "node.name = from-system  ($SYS:3)" "$T/check" || { cat "$T/check"; fail "a file's setting names file:line"; }
grep -qxF "node.listen = 127.0.0.1:7401  ($SYS:4)" "$T/check" || fail "listen from the system file, line 4"
grep -qxF "anchor.confirmations = 7  ($D/medchain.conf:2)" "$T/check" || fail "the data dir's file overrides the system file"
grep -qxF "anchor.max_fee_gwei = 33  (\$MEDCHAIN_MAX_FEE_GWEI)" "$T/check" || fail "the environment overrides both files"
grep -qxF "node.datadir = $D  (--datadir)" "$T/check" || fail "the data dir from the flag"
grep -qxF "anchor.bump_after = 300  (default)" "$T/check" || fail "an unset key shows its default"
grep -qxF "anchor.overdue_after = 0  (default)" "$T/check" || fail "overdue_after defaults to 0 (not checked)"
grep -qF "the configuration is valid" "$T/check.err" || fail "config check says the configuration is valid"
ok "config check: file:line, the data dir's file over the system file, the environment over both, the flag, defaults"

MEDCHAIN_MAX_FEE_GWEI=33 "$MEDCHAIN_BIN" --config "$SYS" --datadir "$D" --json config check >"$T/check.json"
jq -e '.valid == true and (.files | map(.read) == [true, true])' "$T/check.json" >/dev/null || fail "--json lists both files, read"
jq -e --arg f "$SYS" '.settings[] | select(.section == "node" and .key == "name") | .source == "file" and .file == $f and .line == 3' \
    "$T/check.json" >/dev/null || fail "--json: a file's setting has file and line"
jq -e '.settings[] | select(.key == "max_fee_gwei") | .source == "environment" and .variable == "MEDCHAIN_MAX_FEE_GWEI" and .value == "33"' \
    "$T/check.json" >/dev/null || fail "--json: an environment setting names its variable"
jq -e '.settings[] | select(.key == "datadir") | .source == "flag" and .flag == "--datadir"' "$T/check.json" >/dev/null \
    || fail "--json: the data dir from the flag"
jq -e '.settings[] | select(.key == "refresh_ms") | .source == "default" and .value == "1000"' "$T/check.json" >/dev/null \
    || fail "--json: a default"
[ "$(jq '.settings | length' "$T/check.json")" -eq 25 ] || fail "--json lists every key"
MEDCHAIN_DATADIR="$D" "$MEDCHAIN_BIN" --config "$SYS" --json config check | \
    jq -e '.settings[] | select(.key == "datadir") | .source == "environment" and .variable == "MEDCHAIN_DATADIR"' >/dev/null \
    || fail "--json: the data dir from MEDCHAIN_DATADIR"
ok "config check --json: files, and each setting's source (file and line, variable, flag, default)"

# errors: exit 78 naming the file and line
printf '[node]\nname = x\nlisten = nocolon\n' >"$T/bad.conf"
expect_exit 78 "$MEDCHAIN_BIN" --config "$T/bad.conf" --datadir "$D" config check
grep -qF "$T/bad.conf:3:" "$T/err" || fail "a bad line names file and line: $(cat "$T/err")"
printf '[node]\n\ntls_cert = %s\n' "$SYS" >"$T/tls.conf"
expect_exit 78 "$MEDCHAIN_BIN" --config "$T/tls.conf" --datadir "$D" config check
grep -qF "$T/tls.conf:3: [node] tls_cert and tls_key go together" "$T/err" || fail "a certificate without its key: $(cat "$T/err")"
printf '[node]\ntls_cert = %s\ntls_key = %s/missing.key\n' "$SYS" "$T" >"$T/tls2.conf"
expect_exit 78 "$MEDCHAIN_BIN" --config "$T/tls2.conf" --datadir "$D" config check
grep -qF "$T/tls2.conf:3: [node] tls_key: cannot read '$T/missing.key'" "$T/err" || fail "an unreadable key file: $(cat "$T/err")"
ok "config check: a bad line, a certificate without its key, a missing key file: exit 78 naming file and line"

# a TLS key group or others may read: serve refuses it (77), and so does the check
printf 'not a real key\n' >"$T/tls.key"
printf '[node]\ntls_cert = %s\ntls_key = %s/tls.key\n' "$SYS" "$T" >"$T/tls3.conf"
for mode in 0644 0640 0604 0660; do
    chmod "$mode" "$T/tls.key"
    expect_exit 77 "$MEDCHAIN_BIN" --config "$T/tls3.conf" --datadir "$D" config check
    grep -qF "$T/tls3.conf:3: [node] tls_key: '$T/tls.key' is accessible to other users" "$T/err" \
        || fail "a key file of mode $mode is named with file and line: $(cat "$T/err")"
    grep -qF "chmod 600" "$T/err" || fail "the fix is given: $(cat "$T/err")"
done
ln -s "$T/tls.key" "$T/tls-link.key"
printf '[node]\ntls_cert = %s\ntls_key = %s/tls-link.key\n' "$SYS" "$T" >"$T/tls4.conf"
expect_exit 77 "$MEDCHAIN_BIN" --config "$T/tls4.conf" --datadir "$D" --json config check
grep -qF "tls-link.key" "$T/err" || fail "a link to a readable key is judged by its target: $(cat "$T/err")"
chmod 0600 "$T/tls.key"
expect_exit 0 "$MEDCHAIN_BIN" --config "$T/tls3.conf" --datadir "$D" config check
expect_exit 0 "$MEDCHAIN_BIN" --config "$T/tls4.conf" --datadir "$D" config check
ok "config check: a TLS key group or others may access exits 77 naming file and line, as serve refuses it; 0600 passes"

# the anchor's key file is a secret too: `anchor` refuses one that group or
# others may access (the key store's rule), and so does the check
printf 'not a real key\n' >"$T/anchor.key"
chmod 0640 "$T/anchor.key"
printf '[anchor]\nkey_file = %s/anchor.key\n' "$T" >"$T/anchor.conf"
expect_exit 77 "$MEDCHAIN_BIN" --config "$T/anchor.conf" --datadir "$D" config check
grep -qF "$T/anchor.conf:2: [anchor] key_file: '$T/anchor.key' is accessible to other users" "$T/err" \
    || fail "an anchor key file of mode 0640 is named with file and line: $(cat "$T/err")"
chmod 0600 "$T/anchor.key"
expect_exit 0 "$MEDCHAIN_BIN" --config "$T/anchor.conf" --datadir "$D" config check
ok "config check: an anchor key file group or others may access exits 77, as anchor refuses it; 0600 passes"

# a directory where a configuration file should be: 78 naming it, for the
# --config file and for the data dir's (optional) file alike
mkdir "$T/adir.conf"
expect_exit 78 "$MEDCHAIN_BIN" --config "$T/adir.conf" --datadir "$D" status
grep -qF "cannot read the configuration file '$T/adir.conf'" "$T/err" || fail "a directory as --config: $(cat "$T/err")"
mv "$D/medchain.conf" "$T/saved.conf" && mkdir "$D/medchain.conf"
expect_exit 78 "$MEDCHAIN_BIN" --datadir "$D" status
grep -qF "cannot read the configuration file '$D/medchain.conf'" "$T/err" || fail "a directory as the data dir's file: $(cat "$T/err")"
rmdir "$D/medchain.conf"
mc status >/dev/null || fail "a missing data dir file is fine"
ok "a directory in place of a configuration file: exit 78 naming it; a missing optional file is fine"

# no permission (root reads anything: run as an unprivileged user)
command -v runuser >/dev/null || fail "runuser is missing (util-linux)"
chmod 0711 "$T"
install -d -m 0755 "$T/pub"
# a copy nobody may run: the build tree may sit under a directory only root
# can enter (a clone in /root)
install -m 0755 "$MEDCHAIN_BIN" "$T/pub/medchain"
printf '[node]\nname = secret\n' >"$T/pub/locked.conf"
chmod 0000 "$T/pub/locked.conf"
code=0
runuser -u nobody -- env MEDCHAIN_KDF=fast "$T/pub/medchain" --config "$T/pub/locked.conf" --datadir "$T/pub/none" \
    config check >"$T/out" 2>"$T/err" || code=$?
[ "$code" -eq 78 ] || { cat "$T/err"; fail "an unreadable --config file exits 78, got $code"; }
grep -qF "cannot read the configuration file '$T/pub/locked.conf': Permission denied" "$T/err" \
    || fail "the message names the file and why: $(cat "$T/err")"
install -d -m 0755 "$T/pub/dd"
cp "$T/pub/locked.conf" "$T/pub/dd/medchain.conf"   # stays 0000
code=0
runuser -u nobody -- env MEDCHAIN_KDF=fast "$T/pub/medchain" --config /dev/null --datadir "$T/pub/dd" config check \
    >"$T/out" 2>"$T/err" || code=$?
[ "$code" -eq 78 ] || { cat "$T/err"; fail "an unreadable data dir file exits 78, got $code"; }
grep -qF "'$T/pub/dd/medchain.conf': Permission denied" "$T/err" || fail "it names the data dir's file: $(cat "$T/err")"
ok "a configuration file the user may not read (EACCES): exit 78 naming it, never skipped"

# What config check prints can go into a ticket: no user:password@ and no
# path or query (an RPC provider's API key) of any URL setting.
cat >"$T/secret.conf" <<'CONF'
[node]
url = https://node1.example:7400
peers = https://peer:p4ss@n2.example:7400/x?token=T0KEN, http://n3.example:7400
[anchor]
rpc_url = https://user:s3cr3t@rpc.example/v3/APIKEY123
CONF
"$MEDCHAIN_BIN" --config "$T/secret.conf" --datadir "$T/none" config check >"$T/out" 2>&1 || fail "config check on URLs with secrets"
"$MEDCHAIN_BIN" --config "$T/secret.conf" --datadir "$T/none" --json config check >>"$T/out" 2>&1 || fail "config check --json on URLs with secrets"
! grep -qE 's3cr3t|APIKEY123|p4ss|T0KEN|user:' "$T/out" || { cat "$T/out"; fail "config check prints no secret of a URL"; }
grep -qF 'anchor.rpc_url = https://***@rpc.example/***' "$T/out" || { cat "$T/out"; fail "the RPC URL is shown redacted"; }
grep -qF 'node.url = https://node1.example:7400' "$T/out" || fail "a URL with no secret is shown whole"
# a FIFO where a file is named must not hang the check
mkfifo "$T/fifo.crt"
printf '[node]\ntls_cert = %s\ntls_key = %s\n' "$T/fifo.crt" "$T/fifo.crt" >"$T/fifo.conf"
code=0
timeout 10 "$MEDCHAIN_BIN" --config "$T/fifo.conf" --datadir "$T/none" config check >"$T/out" 2>"$T/err" || code=$?
[ "$code" -eq 78 ] || { cat "$T/err"; fail "a FIFO named as tls_cert: exit 78 at once, got $code"; }
grep -qF "is not a regular file" "$T/err" || fail "the FIFO is named: $(cat "$T/err")"
ok "config check hides user:password@ and paths of URLs (API keys), and a FIFO named as a file is refused at once"
