#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The command line behaves like its neighbours: for every command, --help
# (and -h) answers 0 and names every option the command's parser accepts
# (read from the parser's own table with --list-options, so an option added
# without its help fails here); every group's --help lists its commands, a
# group alone lists them on stderr with exit 64; no help line ends in a space;
# getopt_long forms (--datadir=DIR, --name=VALUE, options after positional
# arguments, "--", POSIXLY_CORRECT) work.
. "$(dirname "$0")/lib.sh"
B=$MEDCHAIN_BIN

no_trailing_space() { # FILE WHAT
    if grep -n ' $' "$1" >&2; then fail "$2: a line ends in a space"; fi
}

"$B" --help >"$T/help"
no_trailing_space "$T/help" "medchain --help"
"$B" -h | cmp -s - "$T/help" || fail "-h is --help"
grep -q '^  --datadir DIR$' "$T/help" || fail "medchain --help shows the global options"

"$B" --list-commands >"$T/cmds"
[ "$(wc -l <"$T/cmds")" -ge 30 ] || fail "--list-commands lists the commands"
n=0
while read -r -a cmd; do
    what="medchain ${cmd[*]} --help"
    expect_exit 0 "$B" "${cmd[@]}" --help
    cp "$T/out" "$T/chelp"
    [ -s "$T/chelp" ] && [ ! -s "$T/err" ] || fail "$what prints its help on stdout only"
    grep -qF "usage: medchain ${cmd[*]}" "$T/chelp" || fail "$what shows the command's usage"
    no_trailing_space "$T/chelp" "$what"
    expect_exit 0 "$B" "${cmd[@]}" -h
    cmp -s "$T/out" "$T/chelp" || fail "medchain ${cmd[*]} -h is --help"
    expect_exit 0 "$B" "${cmd[@]}" --list-options
    cp "$T/out" "$T/opts"
    grep -qx -- --json "$T/opts" || fail "medchain ${cmd[*]} --list-options lists the common options"
    while read -r opt; do
        # the option as a word of the help: "--subject" is not "--subject-x"
        grep -qE -- "(^|[^-[:alnum:]])$opt([^-[:alnum:]]|\$)" "$T/chelp" ||
            { cat "$T/chelp" >&2; fail "$what does not show $opt, which the command accepts"; }
        n=$((n + 1))
    done <"$T/opts"
done <"$T/cmds"
[ "$n" -ge 150 ] || fail "only $n options checked"
# the two the help used to miss
"$B" init --help | grep -q -- '--join CHAIN_ID' || fail "init --help shows --join"
"$B" identity add --help | grep -q -- '--subject ID' || fail "identity add --help shows --subject"

for g in $(awk 'NF == 2 { print $1 }' "$T/cmds" | sort -u); do
    expect_exit 0 "$B" "$g" --help
    cp "$T/out" "$T/ghelp"
    no_trailing_space "$T/ghelp" "medchain $g --help"
    awk -v g="$g" '$1 == g && NF == 2 { print $2 }' "$T/cmds" | while read -r sub; do
        grep -qE "^  $g $sub( |\$)" "$T/ghelp" || fail "medchain $g --help lists $g $sub"
    done
    expect_exit 0 "$B" "$g" -h
    case $g in anchor|alerts) continue ;; esac  # "anchor" and "alerts" alone are also commands
    expect_exit 64 "$B" "$g"
    [ ! -s "$T/out" ] || fail "medchain $g alone writes its list on stderr, not stdout"
    grep -qF "$(sed -n '/^commands:/,$p' "$T/ghelp")" "$T/err" ||
        { cat "$T/err" >&2; fail "medchain $g alone lists the same commands on stderr"; }
    expect_exit 64 "$B" "$g" no-such-command
    grep -q "unknown command '$g no-such-command'" "$T/err" || fail "an unknown $g command is named"
done
ok "every command's --help and -h answer 0 and show all $n options its parser accepts; every group lists its commands (alone: on stderr, exit 64); no trailing spaces"

# getopt_long forms
"$B" --datadir="$D" init --no-passphrase -q >/dev/null || fail "--datadir=DIR"
[ -d "$D/db" ] || fail "--datadir=DIR made the data dir"
mc identity add --name=alice --role=clinician,patient --subject=P-1 --no-passphrase -q >/dev/null ||
    fail "--name=VALUE for command options"
mc --json identity list | jq -e '.[] | select(.name == "alice")' >/dev/null || fail "identity added with --name=VALUE"
printf 'one' >"$T/-dash.txt"
id=$(cd "$T" && mc record put --subject P-1 --category note -- -dash.txt) || fail "'--' ends the options"
[ "$(mc record get "$id" --purpose treatment)" = one ] || fail "options after a positional argument"
[ "$(POSIXLY_CORRECT=1 mc record get "$id" --purpose=treatment)" = one ] ||
    fail "options after a positional argument with POSIXLY_CORRECT set"
mc record history "$id" --json | jq -e 'length == 1' >/dev/null || fail "--json after the command"
expect_exit 64 mc record put --subject
grep -q "option '--subject' needs a value" "$T/err" || fail "a missing value is named"
expect_exit 64 mc record list --bogus
grep -q "unknown option '--bogus'" "$T/err" || fail "an unknown option is named"
expect_exit 64 mc record list --subject P-1 extra
grep -q "unexpected argument 'extra'" "$T/err" || fail "an extra argument is named"
expect_exit 64 "$B" --datadir
grep -q "option '--datadir' needs a value" "$T/err" || fail "a global option's missing value is named"
# the global options go through the commands' parser: the same refusals
expect_exit 64 "$B" --datad="$D" status
grep -q "unknown option '--datad=$D' (options are not abbreviated: --datadir)" "$T/err" || fail "an abbreviated global option is refused"
expect_exit 64 "$B" --json=yes status
grep -q "option '--json' takes no value" "$T/err" || fail "a global flag given a value is refused"
expect_exit 64 "$B" -x status
grep -q "unknown option '-x' (see 'medchain --help')" "$T/err" || fail "an unknown global short option points at --help"
# no abbreviations: "--sub" must not quietly mean "--subject" (a script
# relying on one would change meaning when an option is added)
expect_exit 64 mc record list --sub P-1
grep -q "unknown option '--sub'" "$T/err" || fail "an abbreviated command option is refused"
expect_exit 64 mc record get "$id" --purp=treatment
grep -q "unknown option '--purp=treatment'" "$T/err" || fail "an abbreviated option=value is refused"
expect_exit 64 "$B" --data="$D" status
grep -q "unknown option '--data=" "$T/err" || fail "an abbreviated global option is refused"
expect_exit 64 "$B" --datadir "$D" --vers
mc record get "$id" --reason-x 2>/dev/null && fail "a longer option name than any is refused"
ok "--datadir=DIR, --name=VALUE, '--', options after positional arguments (also with POSIXLY_CORRECT), errors named; no abbreviations"
