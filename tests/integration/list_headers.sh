#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The list commands (identity, record, consent, audit, node) print a header
# row on a terminal (a real pty, through script(1)), with no trailing space;
# on a pipe and with --json they print the rows alone, so scripts see the
# same output as before.
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || { echo "script(1) (bsdutils) is missing"; exit 77; }
init_node
mc identity add --name alice --role clinician,patient --subject P-1 --no-passphrase -q >/dev/null
id=$(echo '{"resourceType":"Observation"}' | mc record put --subject P-1 --category lab)
mc consent grant --subject P-1 --to alice --purpose treatment >/dev/null
mc --as alice record get "$id" --purpose treatment >/dev/null

# on_tty ARGS...: the command's stdout when it is a terminal
on_tty() {
    local cmd
    printf -v cmd '%q ' "$MEDCHAIN_BIN" --datadir "$D" "$@"
    script -qec "$cmd" /dev/null </dev/null | tr -d '\r'
}

n=0
for spec in "identity list:KEY NAME ROLES" "record list:RECORD VER CATEGORY TYPE SIZE BLOCK" \
    "consent list:GRANT STATUS GRANTEE PURPOSE SCOPE VALID SUBJECT" \
    "audit list:TIME BLOCK.TX TYPE ACTOR DETAILS" "node list:NODE STATE URL HEIGHT"; do
    read -r -a cmd <<<"${spec%%:*}"
    want=${spec#*:}
    on_tty "${cmd[@]}" >"$T/tty"
    head -1 "$T/tty" >"$T/head"
    [ "$(awk '{ $1 = $1; print }' "$T/head" | cut -d' ' -f1-$(wc -w <<<"$want"))" = "$want" ] ||
        { cat "$T/tty" >&2; fail "${cmd[*]} on a terminal starts with the header row '$want'"; }
    ! grep -q ' $' "$T/head" || fail "${cmd[*]}: the header row ends in a space"
    [ "$(wc -l <"$T/tty")" -ge 2 ] || { cat "$T/tty" >&2; fail "${cmd[*]} on a terminal shows rows under the header"; }
    mc "${cmd[@]}" >"$T/pipe"
    [ -s "$T/pipe" ] || fail "${cmd[*]} on a pipe prints its rows"
    ! grep -q "^${want%% *} " "$T/pipe" || fail "${cmd[*]} on a pipe has no header row"
    [ "$(tail -n +2 "$T/tty" | head -1 | awk '{ print $1 }')" = "$(head -1 "$T/pipe" | awk '{ print $1 }')" ] ||
        fail "${cmd[*]}: the same first row on a terminal and on a pipe"
    on_tty "${cmd[@]}" --json | jq -e . >/dev/null || fail "${cmd[*]} --json on a terminal is JSON alone"
    on_tty "${cmd[@]}" -q | grep -q "^${want%% *} " && fail "${cmd[*]} -q on a terminal prints no header"
    n=$((n + 1))
done
ok "$n list commands: a header row on a terminal, none on a pipe, with --json or -q"
