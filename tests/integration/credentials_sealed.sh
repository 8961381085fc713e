#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A node with sealed keys runs unattended on the passphrase systemd hands
# it as a credential ($CREDENTIALS_DIRECTORY/medchain.passphrase, from
# LoadCredential= or LoadCredentialEncrypted=): serve starts and verify
# passes with no terminal and no other passphrase source (verify opens no
# secret key: it needs none). The wrong
# passphrase, a credential others may read, and no source at all are exit
# 77 with a message that says which.
. "$(dirname "$0")/lib.sh"
umask 077
printf 'correct horse battery staple\n' >"$T/pass"
mc --passphrase-file "$T/pass" init -q --name sealed-1
port=$(free_ports 1)
printf '[node]\nname = sealed-1\nlisten = 127.0.0.1:%s\n' "$port" >"$D/medchain.conf"

creds="$T/creds"
install -d -m 0700 "$creds"
install -m 0400 "$T/pass" "$creds/medchain.passphrase"

# no terminal: setsid leaves the process without a controlling tty
nocreds() { env -u CREDENTIALS_DIRECTORY -u MEDCHAIN_PASSPHRASE_FILE setsid "$MEDCHAIN_BIN" --datadir "$D" "$@" </dev/null; }
withcreds() { env -u MEDCHAIN_PASSPHRASE_FILE CREDENTIALS_DIRECTORY="$1" setsid "$MEDCHAIN_BIN" --datadir "$D" "${@:2}" </dev/null; }

# the keys really are sealed: without a source, serve cannot start
expect_exit 77 nocreds serve
grep -qF "no terminal to ask for the passphrase" "$T/err" || fail "sealed keys without a source: $(cat "$T/err")"
grep -qF "medchain.passphrase" "$T/err" || fail "the message names the credential: $(cat "$T/err")"
ok "sealed keys, no terminal, no passphrase source: exit 77 naming the credential to set"

: >"$T/serve.log"
env -u MEDCHAIN_PASSPHRASE_FILE CREDENTIALS_DIRECTORY="$creds" setsid "$MEDCHAIN_BIN" --datadir "$D" serve \
    </dev/null >"$T/serve.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/serve.log" && break; kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
grep -q "listening on 127.0.0.1:$port" "$T/serve.log" || { cat "$T/serve.log"; fail "serve starts on the credential"; }
for _ in $(seq 50); do [ -s "$D/serve.status.json" ] && break; sleep 0.1; done
[ -s "$D/serve.status.json" ] || fail "serve runs (its status file)"
mc --passphrase-file "$T/pass" --json node list >"$T/nodes.json"
jq -e '.nodes[0].self and .nodes[0].state != ""' "$T/nodes.json" >/dev/null || { cat "$T/nodes.json"; fail "node list shows this node from serve"; }
kill -TERM "$SPID"; code=0; wait "$SPID" || code=$?
[ "$code" -eq 0 ] || { cat "$T/serve.log"; fail "serve stops cleanly on SIGTERM (exit $code)"; }
ok "serve with sealed keys starts on the systemd credential, with no terminal"

withcreds "$creds" verify >"$T/verify.out" 2>"$T/verify.err" || { cat "$T/verify.err"; fail "verify with sealed keys on the credential"; }
nocreds verify >/dev/null 2>"$T/verify.err" || { cat "$T/verify.err"; fail "verify opens no secret key"; }
ok "verify with sealed keys passes with the credential, and without (it opens no secret key)"

install -d -m 0700 "$T/wrong"
printf 'not the passphrase\n' >"$T/wrong/medchain.passphrase"
chmod 0400 "$T/wrong/medchain.passphrase"
expect_exit 77 withcreds "$T/wrong" serve
grep -qF "wrong passphrase for key '$D/keys/node.key' (the passphrase was read from '$T/wrong/medchain.passphrase')" "$T/err" \
    || fail "the wrong credential says so: $(cat "$T/err")"
expect_exit 77 withcreds "$T/wrong" identity add --name "Dr W" --role clinician --no-passphrase
grep -qF "wrong passphrase" "$T/err" || fail "a command on the wrong credential: $(cat "$T/err")"
ok "the wrong passphrase in the credential: exit 77, naming the key and the credential"

install -d -m 0755 "$T/loose"
install -m 0644 "$T/pass" "$T/loose/medchain.passphrase"
expect_exit 77 withcreds "$T/loose" serve
grep -qF "is not a regular file that only its owner and group can read (mode 0644)" "$T/err" || fail "a readable credential is refused: $(cat "$T/err")"
rm "$T/loose/medchain.passphrase"; ln -s "$T/pass" "$T/loose/medchain.passphrase"
expect_exit 66 withcreds "$T/loose" identity add --name "Dr L" --role clinician --no-passphrase
grep -qF "cannot open passphrase file" "$T/err" || fail "a credential that is a symbolic link is refused: $(cat "$T/err")"
# what systemd makes for User=medchain: 0400 root-owned plus an ACL entry
# for the user, which stat shows as 0440 (the ACL mask in the group bits)
install -d -m 0500 "$T/acl"
install -m 0440 "$T/pass" "$T/acl/medchain.passphrase"
withcreds "$T/acl" identity add --name "Dr A" --role clinician --no-passphrase >/dev/null 2>"$T/err" ||
    fail "a credential systemd made with an ACL (mode 0440) is taken: $(cat "$T/err")"
ok "a credential file others can read is refused (exit 77), a symbolic link too (66); systemd's 0440 with an ACL is taken"

# --passphrase-file still wins over the credential
withcreds "$T/wrong" --passphrase-file "$T/pass" identity add --name "Dr P" --role clinician --no-passphrase >/dev/null 2>"$T/err" || fail "--passphrase-file before the credential: $(cat "$T/err")"
ok "--passphrase-file comes before the credential"
