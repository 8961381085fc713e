#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The layer rule (HACKING.md): core <- bridge <- app <- {node, ui, cmd}; ui
# never includes cmd, node never includes app; the core never prints, never
# reads the environment and keeps no mutable globals. tools/check-layers
# passes on the sources, and fails, naming file, line and rule, on each
# kind of break planted in a scratch copy of the tree (so it can fail); the
# libraries' include paths reject an upward include at compile time too.
. "$(dirname "$0")/lib.sh"
S="$MC_SRCDIR"
B=$(dirname "$MEDCHAIN_BIN")

"$S/tools/check-layers" "$S" >"$T/out" 2>&1 || { cat "$T/out"; fail "the sources keep the layer rule"; }
ok "every include in src/, bridge/ and ui/ keeps the layer rule; the core keeps to the allow-list"

# fresh: a scratch copy of the layer folders and the check
fresh() {
    rm -rf "$T/tree"
    mkdir -p "$T/tree/tools"
    cp -r "$S/src" "$S/bridge" "$S/ui" "$T/tree/"
    cp "$S/tools/check-layers" "$T/tree/tools/"
    chmod -R u+w "$T/tree" # distcheck's source tree is read-only
}
# plant FILE LINE...: a file in the scratch tree with these lines
plant() {
    local f=$1; shift
    mkdir -p "$(dirname "$T/tree/$f")"
    { echo '/* SPDX-License-Identifier: Apache-2.0 */'; printf '%s\n' "$@"; } >"$T/tree/$f"
}
# refused WHAT PATTERN: the check fails on the scratch tree and says PATTERN
refused() {
    local rc=0
    "$T/tree/tools/check-layers" "$T/tree" >"$T/out" 2>&1 || rc=$?
    [ "$rc" = 1 ] || { cat "$T/out"; fail "the check refuses $1 (exit $rc)"; }
    grep -qF -- "$2" "$T/out" || { cat "$T/out"; fail "the check names $1: $2"; }
    ok "refused, $1: $(grep -F -- "$2" "$T/out" | head -1)"
}

fresh; "$T/tree/tools/check-layers" "$T/tree" >/dev/null || fail "the scratch copy passes before anything is planted"

fresh; plant src/core/upward.c '#include "config.h"' '#include "cli.h"'
refused "the core including the app" 'src/core/upward.c:3: #include "cli.h" reaches up from core to app: core may include only core'
fresh; plant bridge/upward.h '#include "engine.h"'
refused "the bridge including the node" 'bridge/upward.h:2: #include "engine.h" reaches up from bridge to node'
fresh; plant src/app/upward.c '#include "cli.h"' '#include "screens.h"'
refused "the app including the console" 'src/app/upward.c:3: #include "screens.h" reaches up from app to ui'
fresh; plant ui/sideways.c '#include "commands.h"'
refused "ui including the command layer" 'ui/sideways.c:2: #include "commands.h" reaches up from ui to cmd'
fresh; plant src/node/sideways.c '#include "chain.h"' '#include "ops.h"'
refused "the node including the app" 'src/node/sideways.c:3: #include "ops.h" reaches up from node to app'
fresh; plant src/node/sideways.h '#include "widgets.h"'
refused "the node including the console" 'src/node/sideways.h:2: #include "widgets.h" reaches up from node to ui'
fresh; plant src/core/nowhere.c '#include "nosuch.h"'
refused "an include that resolves to no folder" 'src/core/nowhere.c:2: #include "nosuch.h" resolves to no layer folder'
fresh; plant ui/chain.h '#include "err.h"'; plant src/cmd/twice.c '#include "chain.h"'
refused "a header name in two folders" 'src/cmd/twice.c:2: #include "chain.h" is in src/core ui'
fresh; plant src/loose.c '#include "err.h"'
refused "a source outside the layer folders" 'src/loose.c: sits in no layer folder'
fresh; plant src/core/env.c '#include <stdlib.h>' 'int env(void) { return getenv("HOME") != 0; }'
refused "the core reading the environment" 'src/core/env.c:3: the core reads the environment'
fresh; plant src/core/talk.c '#include <stdio.h>' 'void talk(void)' '{' '	fprintf(stderr, "hello\n");' '}'
refused "the core printing" 'src/core/talk.c:5: the core prints'
fresh; plant src/core/state.c 'static int counter;' 'int bump(void) { return ++counter; }'
refused "a mutable global in the core" 'src/core/state.c:2: a mutable global in the core (static int counter;)'
# an allow-listed break is allowed in its own file only
fresh; sed -i "/^allow=(/a\\    'src/core/one.c|getenv|getenv(\"MEDCHAIN_KDF\")'" "$T/tree/tools/check-layers"
plant src/core/one.c '#include <stdlib.h>' 'int kdf1(void) { return getenv("MEDCHAIN_KDF") != 0; }'
plant src/core/other.c '#include <stdlib.h>' 'int kdf(void) { return getenv("MEDCHAIN_KDF") != 0; }'
refused "an allow-listed break in another file" 'src/core/other.c:3: the core reads the environment'
! grep -qF 'src/core/one.c:' "$T/out" || { cat "$T/out"; fail "the allow-listed break in its own file passes"; }
# an allow-list entry that matches nothing any more fails: the list shrinks
fresh; sed -i "/^allow=(/a\\    'src/core/chain.c|global|gone_fn;'" "$T/tree/tools/check-layers"
refused "a stale allow-list entry" "the allow-list entry 'src/core/chain.c|global|gone_fn;' matches nothing any more"

# Each library's include path holds only its folder and those below it:
# a forbidden include does not compile either (the flags as make has them).
need_tool cc gcc
inc() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$B" -f Makefile -f - top_srcdir="$S" mc-inc-"$1" <<'MK'
mc-inc-%:
	@echo $($*)
MK
}
for l in CORE:core:src/core:cli.h BRIDGE:bridge:bridge:engine.h APP:app:src/app:screens.h \
         NODE:node:src/node:ops.h UI:ui:ui:commands.h; do
    IFS=: read -r var name dir hdr <<<"$l"
    flags=$(inc "MC_${var}_INC")
    [ -n "$flags" ] || fail "Makefile.am defines MC_${var}_INC"
    printf '#include "%s"\n' "$hdr" >"$T/probe.c"
    if cc -fsyntax-only -I"$B" $flags "$T/probe.c" 2>"$T/cc.err"; then
        fail "the $name library's include path ($flags) reaches $hdr"
    fi
    grep -q "$hdr" "$T/cc.err" || { cat "$T/cc.err"; fail "the compiler names $hdr as not found"; }
    # and its own folder's headers are found
    own=$(cd "$S/$dir" && ls *.h | head -1)
    printf '#include "config.h"\n#include "%s"\n' "$own" >"$T/probe.c"
    cc -std=gnu11 -fsyntax-only -I"$B" $flags $(pkg-config --cflags libsodium lmdb libcjson libcurl ncursesw 2>/dev/null) \
        "$T/probe.c" 2>"$T/cc.err" || { cat "$T/cc.err"; fail "the $name library's include path reaches its own $own"; }
done
ok "the core, bridge, app, node and ui include paths reject an upward include at compile time"
