#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A read decrypts only what its own committed ACCESS event says: a read run
# again after a timeout sends its kept ACCESS tx first, and when that tx
# (decided at the first attempt) commits, the CLI must not decrypt what the
# new attempt decided instead (found in an attack, session 13).
#  - Dr Y, granted treatment on P-V, reads record R (newest: version 1) while
#    this node's serve is unreachable: the ACCESS tx for version 1 is kept;
#  - the record is amended (version 2);
#  - the same command again: the kept tx (version 1) commits; version 2 is
#    not printed (it has no ACCESS event), exit 75 saying nothing was
#    decrypted;
#  - the same command once more is a new read: version 2, with its event.
. "$(dirname "$0")/lib.sh"

cluster_start 2
cn 1 identity add --name "Dr Y" --role clinician --no-passphrase >/dev/null
rid=$(printf 'version one of R' | cn 1 record put --subject P-V --category note --type text/plain)
cn 1 consent grant --subject P-V --to "Dr Y" --purpose treatment >/dev/null
cl_wait_same 10 1 2 || fail "the nodes disagree after the grant"
events() { cn 1 --json audit list --actor "Dr Y" --limit 100 | jq -c '[.events[] | select(.type == "ACCESS") | {version, outcome}]'; }

dead=$(free_ports 1)
got=0
MEDCHAIN_LISTEN=127.0.0.1:$dead MEDCHAIN_COMMIT_TIMEOUT=2 cn 1 --as "Dr Y" record get "$rid" --purpose treatment \
    >"$T/1.out" 2>"$T/1.err" || got=$?
[ "$got" -ne 0 ] || fail "the read with serve unreachable exited 0"
printf 'SECRET version two of R' | cn 1 record put --subject P-V --category note --type text/plain --amend "$rid" >/dev/null
cl_wait_same 10 1 2 || fail "the nodes disagree after the amendment"

got=0
cn 1 --as "Dr Y" record get "$rid" --purpose treatment >"$T/2.out" 2>"$T/2.err" || got=$?
cl_wait_same 10 1 2 || true
if grep -q "SECRET" "$T/2.out"; then
    fail "version 2 printed under the kept ACCESS event of version 1 (events: $(events))"
fi
[ "$got" = 75 ] || fail "the read run again: exit $got, not 75: $(cat "$T/2.err")"
grep -q "nothing was decrypted" "$T/2.err" || fail "no clear message: $(cat "$T/2.err")"
[ "$(events)" = '[{"version":1,"outcome":"permit"}]' ] || fail "events after the kept read: $(events)"
ok "the kept ACCESS event of version 1 committed: version 2 was not decrypted (exit 75)"

out=$(cn 1 --as "Dr Y" record get "$rid" --purpose treatment 2>"$T/3.err") || fail "a new read: $(cat "$T/3.err")"
[ "$out" = "SECRET version two of R" ] || fail "a new read printed '$out'"
cl_wait_same 10 1 2 || true
events | jq -e 'length == 2 and .[-1].version == 2 and .[-1].outcome == "permit"' >/dev/null ||
    events | jq -e 'length == 2 and .[0].version == 2 and .[0].outcome == "permit"' >/dev/null ||
    fail "events after the new read: $(events)"
ok "the next read is a new one: version 2, with its own ACCESS event"
