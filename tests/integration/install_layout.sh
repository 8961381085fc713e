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
# the man pages: .TH from configure, every exit code the sources use, every
# variable they read, every global option
S="$MC_SRCDIR"
man1=$(find "$R" -path "*/man/man1/medchain.1" | head -1)
man5=$(find "$R" -path "*/man/man5/medchain.conf.5" | head -1)
version=$("$bin" --version | awk '{ print $2 }')
for f in "$man1" "$man5"; do
    grep -qE "^\.TH [A-Z.]+ [15] \"[0-9]{4}-[0-9]{2}-[0-9]{2}\" \"medchain $version\"" "$f" ||
        fail "$(basename "$f"): .TH has the version $version and a date from configure: $(grep '^\.TH' "$f")"
done
grep -q '^\.SH OPTIONS' "$man1" || fail "medchain.1 has an OPTIONS section"
sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$man1" >"$T/exit"
codes=0
for ex in $(cd "$S" && grep -rhoE '\bEX_[A-Z]+\b' src bridge ui | sort -u); do
    num=$(printf '#include <sysexits.h>\n%s\n' "$ex" | cpp -P - | tr -d '[:space:]')
    [[ $num =~ ^[0-9]+$ ]] || fail "$ex is not a sysexits.h code"
    grep -qx "\.B $num" "$T/exit" || fail "medchain.1 EXIT STATUS lists $num ($ex), which the sources use"
    codes=$((codes + 1))
done
vars=0
for f in "$man1" "$man5"; do groff -man -Tascii -P-cbou -rHY=0 -rLL=250n "$f"; done >"$T/man.txt" 2>/dev/null
for v in $( (cd "$S" && grep -rhoE 'getenv\("[A-Z_]+"\)' src bridge ui | sed 's/getenv("//; s/")//'
    grep -oE '"MEDCHAIN_[A-Z_]+"' "$S/src/core/conf.c" | tr -d '"') | sort -u); do
    grep -qE "(^|[^A-Z_])$v([^A-Z_]|\$)" "$T/man.txt" || fail "the man pages document \$$v, which the program reads"
    vars=$((vars + 1))
done
groff -man -Tascii -P-cbou "$man1" 2>/dev/null | sed -n '/^OPTIONS/,/^[A-Z]/p' >"$T/options"
for o in $("$bin" --help | sed -n '/^options:/,/^$/p' | grep -oE -- '--[a-z-]+'); do
    grep -qE -- "^ +(-[a-z], )?$o([= ]|\$)" "$T/options" || fail "medchain.1 OPTIONS describes $o"
done
[ "$codes" -ge 13 ] && [ "$vars" -ge 15 ] || fail "only $codes exit codes and $vars variables found in the sources"
# bash completion where bash-completion looks
compdir=$(sed -n 's/^bashcompletiondir = //p' "$BUILD/Makefile" | sed "s|\${datadir}|$prefix/share|; s|\${datarootdir}|$prefix/share|; s|\${prefix}|$prefix|")
want=$(pkg-config --variable=completionsdir bash-completion 2>/dev/null || true)
# (unless configure was told where: distcheck keeps it under its own prefix)
if "$BUILD/config.status" --config | grep -q -- '--with-bash-completion-dir'; then
    comp=$(find "$R" -path '*/bash-completion/completions/medchain' | head -1)
else
    [ -z "$want" ] || [ "$compdir" = "$want" ] || fail "the completion goes to bash-completion's $want, not $compdir"
    comp="$R$compdir/medchain"
fi
[ -n "$comp" ] && [ -f "$comp" ] || fail "the bash completion installed in $compdir"
bash -n "$comp" || fail "the installed completion parses"
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
    for d in User=medchain NoNewPrivileges=yes ProtectSystem=strict StateDirectory=medchain \
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
ok "make install: binary, man pages (groff -ww clean; .TH from configure; EXIT STATUS with all $codes codes used, all $vars variables read, every global option), bash completion, de and fr catalogs, hardened units (serve, anchor, verify), sysusers.d and tmpfiles.d entries, cron file, example configuration"
