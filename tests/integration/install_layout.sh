# SPDX-License-Identifier: Apache-2.0
# make install DESTDIR=... lays out the binary, both man pages (clean under
# groff -ww), the catalogs, the systemd units (hardened, pointing at the
# installed binary), the sysusers.d and tmpfiles.d entries, the cron file
# and an example configuration that the installed binary accepts.
. "$(dirname "$0")/lib.sh"
need_tool groff groff-base
BUILD=$(cd "$(dirname "$MEDCHAIN_BIN")" && pwd)
R="$T/root"
make -s -C "$BUILD" install DESTDIR="$R" >"$T/install.log" 2>&1 || { tail -20 "$T/install.log"; fail "make install"; }
prefix=$(sed -n 's/^prefix = //p' "$BUILD/Makefile")
bindir=$(sed -n 's/^bindir = //p' "$BUILD/Makefile" | sed "s|\${exec_prefix}|$prefix|; s|\$(exec_prefix)|$prefix|")
unitdir=$(sed -n 's/^systemdsystemunitdir = //p' "$BUILD/Makefile" | sed "s|\${prefix}|$prefix|; s|\$(prefix)|$prefix|")
bin="$R$bindir/medchain"
[ -x "$bin" ] || fail "the binary at $bindir"
"$bin" --version | grep -q "^medchain " || fail "the installed binary runs"
for m in man1/medchain.1 man5/medchain.conf.5; do
    f=$(find "$R" -path "*/man/$m" | head -1)
    [ -n "$f" ] || fail "$m installed"
    out=$(groff -ww -z -man "$f" 2>&1) ; [ -z "$out" ] || fail "$m renders with no warning: $out"
done
for l in de fr; do
    [ -n "$(find "$R" -path "*/locale/$l/LC_MESSAGES/medchain.mo" | head -1)" ] || fail "the $l catalog installed"
done
for u in medchain-anchor.service medchain-anchor.timer medchain-verify.service medchain-verify.timer \
    medchain-serve.service; do
    [ -f "$R$unitdir/$u" ] || fail "$u in $unitdir"
done
for u in medchain-anchor.service medchain-verify.service medchain-serve.service; do
    f="$R$unitdir/$u"
    grep -q "^ExecStart=$bindir/medchain " "$f" || fail "$u runs the installed binary"
    for d in User=medchain NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths=/var/lib/medchain \
        ProtectHome=yes PrivateTmp=yes PrivateDevices=yes CapabilityBoundingSet= RestrictSUIDSGID=yes \
        MemoryDenyWriteExecute=yes SystemCallFilter=@system-service UMask=0077; do
        grep -qx "$d" "$f" || fail "$u has $d"
    done
done
grep -q "^SuccessExitStatus=75" "$R$unitdir/medchain-anchor.service" || fail "exit 75 is not a failure of the anchor unit"
grep -q "^Restart=on-failure" "$R$unitdir/medchain-serve.service" || fail "the serve unit restarts a node that fails"
sysusersdir=$(sed -n 's/^sysusersdir = //p' "$BUILD/Makefile" | sed "s|\${prefix}|$prefix|; s|\$(prefix)|$prefix|")
tmpfilesdir=$(sed -n 's/^tmpfilesdir = //p' "$BUILD/Makefile" | sed "s|\${prefix}|$prefix|; s|\$(prefix)|$prefix|")
grep -qE '^u +medchain +- ' "$R$sysusersdir/medchain.conf" || fail "the medchain system user in $sysusersdir"
grep -qE '^d +/var/lib/medchain +0700 +medchain +medchain ' "$R$tmpfilesdir/medchain.conf" \
    || fail "/var/lib/medchain (0700, medchain) in $tmpfilesdir"
ex=$(find "$R" -path "*/examples/medchain.cron" | head -1)
grep -q "medchain  $bindir/medchain -q anchor" "$ex" || fail "the cron file runs the installed binary"
conf=$(find "$R" -path "*/examples/medchain.conf" | head -1)
init_node
"$bin" --config "$conf" --datadir "$D" status >/dev/null || fail "the installed binary accepts the example configuration"
if command -v systemd-analyze >/dev/null && [ -d /run/systemd/system ]; then
    systemd-analyze verify "$R$unitdir"/medchain-*.service >/dev/null 2>&1 || true
fi
ok "make install: binary, man pages (groff -ww clean), de and fr catalogs, hardened units (serve, anchor, verify), sysusers.d and tmpfiles.d entries, cron file, example configuration"
