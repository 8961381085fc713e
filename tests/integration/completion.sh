#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The bash completion, sourced in bash and called as bash calls it
# (COMP_WORDS, COMP_CWORD): commands and groups, a group's commands, each
# command's options (from its parser), global options, and the identities
# enrolled in the data dir given by a --datadir already typed (either form).
. "$(dirname "$0")/lib.sh"
C="$MC_SRCDIR/completion/medchain"
B=$MEDCHAIN_BIN
init_node
mc identity add --name alice --role clinician --no-passphrase -q >/dev/null
mc identity add --name albert --role auditor --no-passphrase -q >/dev/null
D2="$T/other"
"$B" --datadir "$D2" init --no-passphrase -q
"$B" --datadir "$D2" identity add --name carol --role clinician --no-passphrase -q >/dev/null

# complete WORD...: the candidates for the last word, one a line, sorted
complete() {
    bash -c 'source "$1" || exit 1; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
             _medchain; printf "%s\n" "${COMPREPLY[@]}"' _ "$C" "$@" | sed '/^$/d' | sort
}
expect() { # WHAT WANT(space-separated) WORD...
    local what=$1 want got
    want=$(tr ' ' '\n' <<<"$2" | sed '/^$/d' | sort)
    shift 2
    got=$(complete "$@")
    [ "$got" = "$want" ] || { printf 'want:\n%s\ngot:\n%s\n' "$want" "$got" >&2; fail "$what"; }
}
has() { # WHAT WORD-THAT-MUST-BE-OFFERED WORD...
    local what=$1 w=$2
    shift 2
    complete "$@" | grep -qxF -- "$w" || { complete "$@" >&2; fail "$what"; }
}

expect "commands and groups by prefix" "record restore" "$B" re
expect "a group's commands" "put import get list history erase" "$B" record ""
expect "a group's commands by prefix" "grant" "$B" consent gr
expect "anchor: the group's commands" "keygen plan reset-nonce list" "$B" anchor ""
has "anchor is also a command with options" --dry-run "$B" anchor --d
expect "a command's options, from its parser" "--subject" "$B" record put --s
for o in $("$B" record get --list-options); do has "record get offers $o" "$o" "$B" record get -; done
has "global options before the command" --datadir "$B" --d
has "global options before the command" --passphrase-file "$B" --p
expect "identity names in the data dir typed" "alice albert" "$B" --datadir "$D" consent grant --to al
expect "the identities of the other data dir" "carol" "$B" --datadir "$D2" consent grant --to c
has "every identity with nothing typed" node1 "$B" --datadir "$D2" consent grant --to ""
! complete "$B" --datadir "$D2" consent grant --to "" | grep -qx alice || fail "no identity of another data dir"
has "a name with a space stays one word" 'Demo\ Hospital' "$B" --datadir "$D2" consent list --grantee De
expect "--datadir=DIR as bash splits it" "carol" "$B" --datadir = "$D2" audit list --actor c
expect "--datadir=DIR in one word" "carol" "$B" "--datadir=$D2" --as c
expect "--as=NAME as bash splits it" "alice albert" "$B" --datadir "$D" --as = al
expect "identity revoke takes a name" "albert" "$B" --datadir "$D" identity revoke alb
expect "identity rotate takes a name" "alice albert" "$B" --datadir "$D" identity rotate al
has "a data dir for --datadir" "$T/other" "$B" --datadir "$T/oth"
expect "nothing after an unknown command" "" "$B" no-such-command --
ok "bash completion: commands, groups, per-command options, global options, identity names of the --datadir typed"
