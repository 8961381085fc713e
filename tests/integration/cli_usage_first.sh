#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Usage errors come before any file is read (the command's setup flags are
# performed after it has parsed its options, src/cmd/commands.h): every
# command, given an option it does not take and a data dir that does not
# exist, exits 64 naming the option, and the data dir is not created. check,
# a monitoring plugin, answers UNKNOWN (3) on stdout instead.
. "$(dirname "$0")/lib.sh"
B=$MEDCHAIN_BIN
NODIR="$T/nowhere"

"$B" --list-commands >"$T/cmds"
[ "$(wc -l <"$T/cmds")" -ge 30 ] || fail "--list-commands lists the commands"
n=0
while read -r -a cmd; do
    what="medchain ${cmd[*]} --no-such-option"
    if [ "${cmd[*]}" = check ]; then
        expect_exit 3 "$B" --datadir "$NODIR" "${cmd[@]}" --no-such-option
        grep -q '^MEDCHAIN UNKNOWN - ' "$T/out" || fail "$what: the plugin's UNKNOWN line"
    else
        expect_exit 64 "$B" --datadir "$NODIR" "${cmd[@]}" --no-such-option
        grep -q -- "--no-such-option" "$T/err" || fail "$what names the option"
    fi
    grep -q "no data dir" "$T/err" "$T/out" && fail "$what looked for the data dir"
    [ ! -e "$NODIR" ] || fail "$what created the data dir"
    n=$((n + 1))
done <"$T/cmds"
ok "all $n commands refuse an unknown option with exit 64 before the data dir is read"

# the same with a data dir that holds a chain: the usage error still wins
init_node
while read -r -a cmd; do
    [ "${cmd[*]}" = check ] && continue
    expect_exit 64 mc "${cmd[@]}" --no-such-option
done <"$T/cmds"
ok "and with a data dir"
