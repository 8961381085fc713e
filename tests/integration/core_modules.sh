#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The core's modules form a graph without cycles (HACKING.md, "The core's
# modules and what each may call"): module X depends on module Y when X.c
# or X.h includes Y.h. The graph of src/core has no cycle, and a cycle
# planted in a scratch copy is found and named (so the check can fail).
. "$(dirname "$0")/lib.sh"
S="$MC_SRCDIR"

# cycles DIR: prints each cycle of DIR's include graph as "a -> b -> a"
cycles() {
    python3 - "$1" <<'PY'
import os, re, sys
d = sys.argv[1]
mods = {f[:-2] for f in os.listdir(d) if f.endswith(('.c', '.h'))}
dep = {m: set() for m in mods}
for f in os.listdir(d):
    if f.endswith(('.c', '.h')):
        with open(os.path.join(d, f), encoding='utf-8', errors='replace') as fh:
            for inc in re.findall(r'^\s*#\s*include\s+"([^"/]+)\.h"', fh.read(), re.M):
                if inc in mods and inc != f[:-2]:
                    dep[f[:-2]].add(inc)
state, stack, found = {}, [], set()
def walk(m):
    state[m] = 1
    stack.append(m)
    for n in sorted(dep[m]):
        if state.get(n) == 1:
            cyc = stack[stack.index(n):] + [n]
            key = frozenset(cyc)
            if key not in found:
                found.add(key)
                print(' -> '.join(cyc))
        elif n not in state:
            walk(n)
    stack.pop()
    state[m] = 2
sys.setrecursionlimit(10000)
for m in sorted(mods):
    if m not in state:
        walk(m)
PY
}

cycles "$S/src/core" >"$T/out" || fail "the cycle check did not run"
[ ! -s "$T/out" ] || fail "the core's modules have a cycle: $(cat "$T/out")"
ok "the core's modules form a graph without cycles"

# a planted cycle: chainstate (below chain) includes chain.h
mkdir -p "$T/core"
cp "$S"/src/core/*.[ch] "$T/core/"
chmod -R u+w "$T/core"
printf '#include "chain.h"\n' >>"$T/core/chainstate.c"
cycles "$T/core" >"$T/out"
grep -q 'chainstate' "$T/out" && grep -q 'chain ->' "$T/out" ||
    fail "a cycle through chain.h planted in chainstate.c is not found: $(cat "$T/out")"
ok "a planted cycle is found and named: $(head -1 "$T/out")"
