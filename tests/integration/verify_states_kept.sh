#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Verify's end phase takes a record version's state from its RECORD_PUT
# when every tx type replayed is one `states_kept_by` (src/core/verify.c)
# names: a type that rewrites a stored version's state must not be named
# there. This pins the facts that list rests on, so a change that breaks
# one fails here, naming verify.c: the records table is written only by
# rectx.c's put_record_state, which only RECORD_PUT's entries
# (apply_entry, from mc_rectx_put) and RECORD_ERASE (mc_rectx_erase)
# call, and those two rules are reached only from their own tx types' rows
# in MC_TX_TYPES; no file deletes records rows through a cursor; and states_kept_by
# does not name RECORD_ERASE. Each planted in a scratch copy is found.
. "$(dirname "$0")/lib.sh"
S="$MC_SRCDIR"

# writers DIR: prints "file:function" for each write to the records table
# and each function calling put_record_state or apply_entry;
# "cursor-del FILE:FUNCTION" for a function that opens a cursor on the
# table and deletes through a cursor; "erase-kept" if states_kept_by names RECORD_ERASE
writers() {
    python3 - "$1" <<'PY'
import os, re, sys
root = sys.argv[1]
write = re.compile(r'\bmc_txn_(?:put|put_new|append|append_new|reserve|append_reserve|del|clear)\s*\(\s*\w+\s*,\s*MC_DB_RECORDS\b')
calls = re.compile(r'\b(put_record_state|apply_entry)\s*\(')
rules = re.compile(r'\b(mc_rectx_put|mc_rectx_erase)\b')
txrow = re.compile(r'^\s*X\((\w+)\s*,\s*\d+\s*,\s*(\w+)')
defn = re.compile(r'^[A-Za-z_][\w \*]*?\b(\w+)\s*\(')

def enclosing(lines, i):
    for j in range(i, -1, -1):
        m = defn.match(lines[j])
        if m and not lines[j].rstrip().endswith(';'):
            return m.group(1)
    return '?'

for dp, _, fs in os.walk(root):
    for f in sorted(fs):
        if not f.endswith(('.c', '.h')):
            continue
        p = os.path.join(dp, f)
        src = open(p, encoding='utf-8', errors='replace').read()
        lines = src.split('\n')
        rel = os.path.relpath(p, root)
        for m in write.finditer(src):
            i = src.count('\n', 0, m.start())
            print('write %s:%s' % (rel, enclosing(lines, i)))
        for i, line in enumerate(lines):
            for m in calls.finditer(line):
                if defn.match(line) and not line.rstrip().endswith(';'):
                    continue   # the definition itself
                print('call %s %s:%s' % (m.group(1), rel, enclosing(lines, i)))
        # a function that opens a cursor on the table and deletes through one
        starts = [i for i, l in enumerate(lines) if defn.match(l) and not l.rstrip().endswith(';')]
        for a, b in zip(starts, starts[1:] + [len(lines)]):
            body = '\n'.join(lines[a:b])
            if re.search(r'mc_cursor_open\s*\(\s*\w+\s*,\s*MC_DB_RECORDS\b', body) and 'mc_cursor_del' in body:
                print('cursor-del %s:%s' % (rel, defn.match(lines[a]).group(1)))
        # the two rules are named only by their own tx types' rows in
        # MC_TX_TYPES (tx.h) and defined in rectx.c
        for i, line in enumerate(lines):
            for m in rules.finditer(line):
                if rel == 'core/rectx.c' or (rel == 'core/rectx.h' and line.lstrip().startswith('int ')):
                    continue
                x = txrow.match(line)
                print('rule %s %s:%s' % (m.group(1), rel, x.group(1) if x and x.group(2) == m.group(1) else '?'))
        if f == 'verify.c':
            m = re.search(r'static bool states_kept_by\(unsigned type\)\n\{(.*?)\n\}', src, re.S)
            if not m:
                print('no-states_kept_by')
            elif 'MC_TX_RECORD_ERASE' in m.group(1):
                print('erase-kept')
PY
}

want='call apply_entry core/rectx.c:mc_rectx_put
call put_record_state core/rectx.c:apply_entry
call put_record_state core/rectx.c:mc_rectx_erase
rule mc_rectx_erase core/tx.h:RECORD_ERASE
rule mc_rectx_put core/tx.h:RECORD_PUT
write core/rectx.c:put_record_state
write core/rectx.c:put_record_state'

writers "$S/src" | sort >"$T/got" || fail "the check did not run"
[ "$(cat "$T/got")" = "$want" ] ||
    fail "the records table's writers changed: update states_kept_by in src/core/verify.c (a type that rewrites a stored version's state must not be named there), then this list: $(diff <(echo "$want") "$T/got" | tr '\n' ' ')"
ok "only RECORD_PUT's entries and RECORD_ERASE write the records table, and states_kept_by leaves RECORD_ERASE out"

# planted: another family's rule deletes a records row, and states_kept_by
# names RECORD_ERASE
mkdir -p "$T/src"
cp -r "$S/src/core" "$T/src/"
chmod -R u+w "$T/src"
printf 'static int planted(struct mc_txn *t, struct mc_err *err)\n{\n\treturn mc_txn_del(t, MC_DB_RECORDS, "k", 1, err);\n}\n' >>"$T/src/core/consent.c"
sed -i 's/^\tcase MC_TX_RECORD_PUT:$/&\n\tcase MC_TX_RECORD_ERASE:/' "$T/src/core/verify.c"
printf 'static int planted3(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx, struct mc_err *err)\n{\n\treturn mc_rectx_erase(t, ax, tx, err);\n}\n' >>"$T/src/core/valset.c"
printf 'static void planted2(struct mc_txn *t, struct mc_err *err)\n{\n\tstruct mc_cursor *c;\n\n\tmc_cursor_open(t, MC_DB_RECORDS, &c, err);\n\tmc_cursor_del(c, err);\n}\n' >>"$T/src/core/records.c"
writers "$T/src" >"$T/planted"
grep -qx 'write core/consent.c:planted' "$T/planted" || fail "a planted write in consent.c is not found: $(cat "$T/planted")"
grep -qx 'cursor-del core/records.c:planted2' "$T/planted" || fail "a planted cursor delete in records.c is not found: $(cat "$T/planted")"
grep -qx 'rule mc_rectx_erase core/valset.c:?' "$T/planted" || fail "a planted call of mc_rectx_erase in valset.c is not found: $(cat "$T/planted")"
grep -qx 'erase-kept' "$T/planted" || fail "RECORD_ERASE planted in states_kept_by is not found: $(cat "$T/planted")"
ok "a planted write, a planted cursor delete, a planted call of a records rule and a planted RECORD_ERASE in states_kept_by are each found"
