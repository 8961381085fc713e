#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The installed systemd units: serve is Type=notify with a watchdog, does not
# restart on exits that need the operator (64 65 77 78), starts after the
# network and the clock; every unit reads $(sysconfdir)/medchain/medchain.conf
# and keeps its data in StateDirectory=medchain without overriding [node]
# datadir; the nightly verify reports its failure through
# medchain-failure@.service; and systemd-analyze verify finds nothing to say
# about any of them. (This container has no systemd as PID 1:
# `systemd-analyze verify --man=no` still parses every directive and checks
# the commands, with the installed binary's path under DESTDIR.)
. "$(dirname "$0")/lib.sh"
BUILD=$(cd "$(dirname "$MEDCHAIN_BIN")" && pwd)
R="$T/root"
make -s -C "$BUILD" install DESTDIR="$R" >"$T/install.log" 2>&1 || { tail -20 "$T/install.log"; fail "make install"; }
mkv() { sed -n "s/^$1 = //p" "$BUILD/Makefile"; }
prefix=$(mkv prefix)
expand() { sed "s|\${prefix}|$prefix|; s|\$(prefix)|$prefix|; s|\${exec_prefix}|$prefix|; s|\$(exec_prefix)|$prefix|"; }
bindir=$(mkv bindir | expand)
sysconfdir=$(mkv sysconfdir | expand)
unitdir=$(mkv systemdsystemunitdir | expand)
U="$R$unitdir"
CONF="$sysconfdir/medchain/medchain.conf"

[ -f "$R$CONF" ] || fail "make install puts the configuration at $CONF"
cmp -s "$R$CONF" "$MC_SRCDIR/examples/medchain.conf" || fail "$CONF is the example"
echo "# the operator's" >>"$R$CONF"
make -s -C "$BUILD" install DESTDIR="$R" >"$T/install2.log" 2>&1 || fail "make install again"
grep -q "^# the operator's" "$R$CONF" || fail "make install keeps an existing $CONF"
ok "make install: $CONF from the example, an existing one kept"

for u in serve anchor verify; do
    f="$U/medchain-$u.service"
    grep -q "^ExecStart=$bindir/medchain --config $CONF " "$f" || fail "medchain-$u reads $CONF"
    grep -qx "StateDirectory=medchain" "$f" || fail "medchain-$u has StateDirectory=medchain"
    ! grep -q "MEDCHAIN_DATADIR\|--datadir\|ReadWritePaths=/var/lib" "$f" || fail "medchain-$u leaves [node] datadir to the configuration"
    for d in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
        CapabilityBoundingSet= RestrictSUIDSGID=yes MemoryDenyWriteExecute=yes UMask=0077; do
        grep -qx "$d" "$f" || fail "medchain-$u has $d"
    done
done
s="$U/medchain-serve.service"
for d in Type=notify "RestartPreventExitStatus=64 65 77 78" Restart=on-failure "Wants=network-online.target" \
    "After=network-online.target time-sync.target"; do
    grep -qx "$d" "$s" || fail "medchain-serve has $d"
done
grep -q "^WatchdogSec=[1-9]" "$s" || fail "medchain-serve has a watchdog"
grep -qx "After=network-online.target time-sync.target" "$U/medchain-anchor.service" || fail "anchor waits for the clock"
grep -qx "OnFailure=medchain-failure@%n.service" "$U/medchain-verify.service" || fail "verify reports its failure"
[ -f "$U/medchain-failure@.service" ] || fail "medchain-failure@.service installed"
grep -q "LoadCredentialEncrypted=medchain.passphrase:" "$s" || fail "serve shows the credential line for sealed keys"
ok "units: Type=notify and a watchdog, no restart on 64 65 77 78, network and clock first, StateDirectory, hardened, OnFailure"

command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (systemd)"
mkdir "$T/units"
for f in "$U"/medchain-*; do sed "s|^ExecStart=$bindir/|ExecStart=$R$bindir/|" "$f" >"$T/units/$(basename "$f")"; done
(cd "$T/units" && systemd-analyze verify --man=no ./medchain-serve.service ./medchain-anchor.service \
    ./medchain-verify.service ./medchain-anchor.timer ./medchain-verify.timer \
    ./medchain-failure@medchain-verify.service.service) >"$T/analyze" 2>&1 || true
[ ! -s "$T/analyze" ] || { cat "$T/analyze"; fail "systemd-analyze verify finds nothing to say"; }
# and it would: a misspelt directive is reported
echo "Type=notfy" >>"$T/units/medchain-anchor.service"
(cd "$T/units" && systemd-analyze verify --man=no ./medchain-anchor.service) >"$T/analyze" 2>&1 || true
grep -q "notfy" "$T/analyze" || fail "systemd-analyze verify reports a bad directive here"
ok "systemd-analyze verify: every unit clean (and a misspelt one is caught)"
