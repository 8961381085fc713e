# SPDX-License-Identifier: Apache-2.0
# Test hooks exist only in a test build (./configure --enable-test-hooks):
# `medchain --version` says whether this binary reads them, the key files it
# seals follow that, and the path every command seals a key through (the app
# layer's hook, src/app/hooks.c, which gives the key store its Argon2id cost:
# the core reads no environment) compiled in the release configuration (this
# build's config.h without MC_TEST_HOOKS) seals at the full cost even with
# MEDCHAIN_KDF=fast, while the same code with the hooks on takes the cheap
# cost (so the check can tell the two apart).
. "$(dirname "$0")/lib.sh"

# opslimit and memlimit of a sealed key file (docs/formats.md: magic 8,
# kind 1, flags 1, pk 32, salt 16, then opslimit u64 and memlimit u64, big-endian)
kdf_of() { echo "$(( 16#$(od -An -tx1 -j58 -N8 "$1" | tr -d ' \n') )) $(( 16#$(od -An -tx1 -j66 -N8 "$1" | tr -d ' \n') ))"; }
full="2 67108864"   # libsodium's OPSLIMIT/MEMLIMIT_INTERACTIVE
fast="1 8192"       # OPSLIMIT/MEMLIMIT_MIN
printf 'a passphrase\n' >"$T/pass"

"$MEDCHAIN_BIN" --version >"$T/version"
MEDCHAIN_KDF=fast "$MEDCHAIN_BIN" --passphrase-file "$T/pass" identity keygen -o "$T/hook.key" >/dev/null
env -u MEDCHAIN_KDF "$MEDCHAIN_BIN" --passphrase-file "$T/pass" identity keygen -o "$T/plain.key" >/dev/null
[ "$(kdf_of "$T/plain.key")" = "$full" ] || fail "without MEDCHAIN_KDF a key is sealed at the full cost: $(kdf_of "$T/plain.key")"
if grep -qx "test hooks: off" "$T/version"; then
    [ "$(kdf_of "$T/hook.key")" = "$full" ] || fail "a release binary ignores MEDCHAIN_KDF=fast: $(kdf_of "$T/hook.key")"
    ok "this release binary says test hooks are off and seals at the full cost under MEDCHAIN_KDF=fast"
else
    grep -q "^test hooks: on" "$T/version" || fail "--version says whether test hooks are on: $(cat "$T/version")"
    [ "$(kdf_of "$T/hook.key")" = "$fast" ] || fail "a test build takes MEDCHAIN_KDF=fast: $(kdf_of "$T/hook.key")"
    ok "this test build says so in --version and takes MEDCHAIN_KDF=fast"
fi

# The hook and the key store in both configurations, from this build's config.h.
cfg="$(dirname "$MEDCHAIN_BIN")/config.h"
[ -f "$cfg" ] || skip "no config.h beside $MEDCHAIN_BIN"
need_tool cc gcc
S="$MC_SRCDIR/src/core" A="$MC_SRCDIR/src/app"
cat >"$T/seal.c" <<'C'
/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include <stdio.h>
#include <sodium.h>
#include "hooks.h"
#include "keystore.h"
int main(int argc, char **argv)
{
	struct mc_key *k = NULL;
	struct mc_kdf_cost kdf;
	struct mc_err err = { 0 };

	mc_hooks_kdf(&kdf); /* as mc_cli_save_key does */
	if (argc != 2 || sodium_init() < 0 || mc_key_generate(false, &k, &err) != 0 ||
	    mc_key_save(argv[1], k, "pw", 2, &kdf, &err) != 0) {
		fprintf(stderr, "seal: %s\n", err.msg);
		return 1;
	}
	mc_key_free(k);
	return 0;
}
C
for conf in release hooks; do
    mkdir "$T/$conf"
    grep -v 'MC_TEST_HOOKS' "$cfg" >"$T/$conf/config.h"
    [ "$conf" = hooks ] && echo '#define MC_TEST_HOOKS 1' >>"$T/$conf/config.h"
    cc -std=c11 -D_GNU_SOURCE -w -I"$T/$conf" -I"$S" -I"$A" -o "$T/$conf/seal" "$T/seal.c" "$A/hooks.c" "$S/keystore.c" "$S/fileio.c" \
        "$S/crypto.c" "$S/err.c" "$S/codec.c" $(pkg-config --cflags --libs libsodium nettle) 2>"$T/cc.err" || { cat "$T/cc.err"; fail "the hook and the key store build in the $conf configuration"; }
    MEDCHAIN_KDF=fast "$T/$conf/seal" "$T/$conf.key"
done
[ "$(kdf_of "$T/release.key")" = "$full" ] || fail "the release configuration ignores MEDCHAIN_KDF=fast: $(kdf_of "$T/release.key")"
[ "$(kdf_of "$T/hooks.key")" = "$fast" ] || fail "the test configuration takes MEDCHAIN_KDF=fast: $(kdf_of "$T/hooks.key")"
ok "built without --enable-test-hooks, the hook and the key store seal at the full Argon2id cost under MEDCHAIN_KDF=fast"

# the key store itself reads no environment (its cost is the caller's)
! grep -n 'getenv' "$S/keystore.c" || fail "the key store reads the environment"
# every getenv'd test hook sits behind MC_TEST_HOOKS in the sources, wherever it is
n=0
for f in $(grep -rlE 'getenv\("MEDCHAIN_(KDF|TEST_CRASH|LOCALEDIR)"\)' "$MC_SRCDIR/src" "$MC_SRCDIR/ui" "$MC_SRCDIR/bridge"); do
    n=$((n + 1))
    awk '/^#ifdef MC_TEST_HOOKS/ { on = 1 } /^#(endif|else)/ { on = 0 }
         /getenv\("MEDCHAIN_(KDF|TEST_CRASH|LOCALEDIR)"\)/ && !on { print FILENAME ": " $0; bad = 1 } END { exit bad }' "$f" \
        || fail "a test hook is read outside #ifdef MC_TEST_HOOKS"
done
[ "$n" -ge 5 ] || fail "the test hooks are read in the sources: $n files"
grep -q 'getenv("MEDCHAIN_KDF")' "$A/hooks.c" || fail "MEDCHAIN_KDF is read in src/app/hooks.c, the file compiled above"
ok "MEDCHAIN_KDF, MEDCHAIN_TEST_CRASH and MEDCHAIN_LOCALEDIR are read only under MC_TEST_HOOKS"

# medchain(1) says which variables only a test build reads
for v in MEDCHAIN_KDF MEDCHAIN_TEST_CRASH MEDCHAIN_LOCALEDIR; do
    awk -v v="$v" '$0 == ".B " v { getline; print; exit }' "$MC_SRCDIR/docs/medchain.1.in" | grep -q "^Test builds only" \
        || fail "medchain(1) ENVIRONMENT says $v is for test builds only"
done
ok "medchain(1) names the test-build-only variables"
