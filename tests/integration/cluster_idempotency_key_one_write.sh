#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# An idempotency key names one write: a write that timed out with
# `--idempotency-key K` keeps its txs in the outbox, and another command, or
# the same command with other arguments or other input, run with K is
# refused (exit 64, "names another write") with nothing sent; the kept
# write is never committed and reported in the new one's place. Run again
# as it was, the kept write goes (found in an attack, session 13: a
# clinician's kept deny for record A was sent and B decrypted, break-glass,
# with no ACCESS event for B).
#  - record get A (serve unreachable), then record get B --break-glass: B is
#    not printed, no ACCESS event at all; record get A again: the kept deny;
#  - record erase C (unreachable), then record erase D: D is not erased, C
#    neither until its own command runs again;
#  - consent grant for P-A (unreachable), then a grant for P-B: no grant for
#    P-B, none for P-A until its own command runs again;
#  - record put of one payload (unreachable), then the same command line with
#    another payload: refused; the record holds the first payload once its
#    own command runs again.
. "$(dirname "$0")/lib.sh"

cluster_start 2
cn 1 identity add --name "Dr X" --role clinician --no-passphrase >/dev/null
ra=$(printf 'ordinary note of P-A' | cn 1 record put --subject P-A --category note --type text/plain)
rb=$(printf 'SECRET-B psychiatric note of P-B' | cn 1 record put --subject P-B --category note --type text/plain)
rc=$(printf 'note of P-C' | cn 1 record put --subject P-C --category note --type text/plain)
rd=$(printf 'note of P-D' | cn 1 record put --subject P-D --category note --type text/plain)
cl_wait_same 10 1 2 || fail "the nodes disagree after the puts"

dead=$(free_ports 1)
# this node's serve out of reach for one command: its write is kept, outcome unknown
down() { MEDCHAIN_LISTEN=127.0.0.1:$dead MEDCHAIN_COMMIT_TIMEOUT=2 cn 1 "$@"; }
# "cmd..." must exit 64 naming the other write, with nothing on its stdout
refused() {
    local name=$1 got=0; shift
    "$@" >"$T/$name.out" 2>"$T/$name.err" || got=$?
    [ "$got" = 64 ] || fail "$name: exit $got, not 64 (stdout: $(cat "$T/$name.out"); stderr: $(cat "$T/$name.err"))"
    grep -q "names another write" "$T/$name.err" || fail "$name: no clear refusal: $(cat "$T/$name.err")"
    [ ! -s "$T/$name.out" ] || fail "$name printed: $(cat "$T/$name.out")"
}
accesses() { cn 1 --json audit list --actor "Dr X" --limit 100 | jq '[.events[] | select(.type == "ACCESS")]'; }

# -- record get: the attacker's swap
got=0
down --as "Dr X" --idempotency-key K1 record get "$ra" --purpose treatment >"$T/a.out" 2>"$T/a.err" || got=$?
[ "$got" -ne 0 ] || fail "record get with serve unreachable exited 0"
refused read-b cn 1 --as "Dr X" --idempotency-key K1 record get "$rb" --break-glass "looking around"
cl_wait_same 10 1 2 || true
[ "$(accesses | jq length)" = 0 ] || fail "ACCESS events after the refused read: $(accesses)"
got=0
cn 1 --as "Dr X" --idempotency-key K1 record get "$ra" --purpose treatment >"$T/a2.out" 2>"$T/a2.err" || got=$?
[ "$got" = 77 ] || fail "record get A run again: exit $got, not 77 (the kept deny): $(cat "$T/a2.err")"
accesses >"$T/acc.json"
[ "$(jq length "$T/acc.json")" = 1 ] && [ "$(jq -r '.[0].outcome' "$T/acc.json")" = deny ] &&
    jq -e --arg r "$ra" '.[0].record | startswith($r)' "$T/acc.json" >/dev/null ||
    fail "after the kept read went: $(cat "$T/acc.json")"
ok "a key of a kept read used for another read (break-glass) is refused, nothing sent; the kept read goes as itself"

# -- record erase
got=0
down --idempotency-key K2 record erase "$rc" --reason "asked" --yes >/dev/null 2>"$T/c.err" || got=$?
[ "$got" -ne 0 ] || fail "record erase with serve unreachable exited 0"
refused erase-d cn 1 --idempotency-key K2 record erase "$rd" --reason "asked" --yes
cl_wait_same 10 1 2 || true
[ "$(cn 1 record get "$rd" --purpose operations)" = "note of P-D" ] || fail "record D was erased"
[ "$(cn 1 record get "$rc" --purpose operations)" = "note of P-C" ] || fail "record C was erased by the refused erase"
cn 1 --idempotency-key K2 record erase "$rc" --reason "asked" --yes >/dev/null 2>"$T/c2.err" ||
    fail "record erase C run again: $(cat "$T/c2.err")"
expect_exit 66 cn 1 record get "$rc" --purpose operations
ok "a key of a kept erase used for another record's erase is refused, nothing erased; the kept erase goes as itself"

# -- consent grant
grants() { cn 1 --json consent list --subject "$1" | jq length; }
got=0
down --idempotency-key K3 consent grant --subject P-A --to "Dr X" --purpose treatment >/dev/null 2>"$T/g.err" || got=$?
[ "$got" -ne 0 ] || fail "consent grant with serve unreachable exited 0"
refused grant-b cn 1 --idempotency-key K3 consent grant --subject P-B --to "Dr X" --purpose treatment
cl_wait_same 10 1 2 || true
[ "$(grants P-B)" = 0 ] && [ "$(grants P-A)" = 0 ] || fail "grants after the refused grant: P-A $(grants P-A), P-B $(grants P-B)"
gid=$(cn 1 --idempotency-key K3 consent grant --subject P-A --to "Dr X" --purpose treatment 2>"$T/g2.err") ||
    fail "consent grant P-A run again: $(cat "$T/g2.err")"
[ "$(cn 1 --json consent list --subject P-A | jq -r '.[0].grant')" = "$gid" ] || fail "the grant for P-A is not $gid"
ok "a key of a kept grant used for another patient's grant is refused, nothing granted; the kept grant goes as itself"

# -- record put: the same command line, another input
got=0
printf 'first payload' | down --idempotency-key K4 record put --subject P-E --category note --type text/plain \
    >/dev/null 2>"$T/p.err" || got=$?
[ "$got" -ne 0 ] || fail "record put with serve unreachable exited 0"
printf 'second payload' | refused put-2 cn 1 --idempotency-key K4 record put --subject P-E --category note --type text/plain
expect_exit 66 cn 1 record list --subject P-E   # no records for that patient
# run again with another global option (--json): the same write
id=$(printf 'first payload' | cn 1 --json --idempotency-key K4 record put --subject P-E --category note --type text/plain 2>"$T/p2.err" |
    jq -r .record) || fail "record put run again: $(cat "$T/p2.err")"
[ "$(cn 1 record get "$id" --purpose operations)" = "first payload" ] || fail "record $id does not hold the first payload"
[ "$(cn 1 --json record list --subject P-E | jq length)" = 1 ] || fail "not one record of P-E"
ok "a key of a kept put used for another payload is refused, nothing stored; the kept put goes as itself"
