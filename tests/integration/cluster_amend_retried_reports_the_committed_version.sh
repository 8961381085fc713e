#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# An amendment that timed out and committed afterwards, run again, reports
# the version that committed, not the one its new attempt built and never
# sent (found checking the outbox's users, session 13: a kept write that
# commits is the result of the command run again, and the report must be
# the kept write's).
#  - validator 2 down: `record put --amend R` times out (exit 75), its tx
#    kept in the outbox and in the leader's pool;
#  - validator 2 back: the amendment commits as version 2;
#  - the same command again (with --json: a global option names no write):
#    exit 0, version 2 (not 3), and R has two versions; once decided, the
#    same command is a new amendment.
. "$(dirname "$0")/lib.sh"

cluster_start 2
rid=$(printf 'version one' | cn 1 record put --subject P-M --category note --type text/plain)
cl_wait_same 10 1 2 || fail "the nodes disagree after the put"
# amend TIMEOUT [GLOBAL OPTION...]: the global options (--json) name no write
amend() { local t=$1; shift; printf 'version two' | env MEDCHAIN_COMMIT_TIMEOUT="$t" "$MEDCHAIN_BIN" --datadir "$T/n1" "$@" \
    record put --subject P-M --category note --type text/plain --amend "$rid"; }
versions() { cn 1 --json record history "$rid" | jq length; }

serve_kill 2
sleep 1.5   # the leader has polled it and knows it is down
expect_exit 75 amend 2
serve_start 2
for t in $(seq 100); do [ "$(versions)" = 2 ] && break; sleep 0.1; done
[ "$(versions)" = 2 ] || fail "the kept amendment did not commit once validator 2 was back ($(versions) versions)"
ok "the amendment that timed out committed afterwards as version 2"

amend 60 --json >"$T/again.json" 2>"$T/again.err" || fail "the amendment run again: $(cat "$T/again.err")"
v=$(jq -r .version "$T/again.json")
[ "$v" = 2 ] || fail "the amendment run again reported version $v (record history: $(cn 1 --json record history "$rid" | jq -c '[.[] | .version]'))"
[ "$(versions)" = 2 ] || fail "$(versions) versions after the amendment run again"
ok "the amendment run again reports version 2, the one that committed"

v=$(amend 60 --json | jq -r .version) || fail "a new amendment failed"
[ "$v" = 3 ] && [ "$(versions)" = 3 ] || fail "a new amendment: version $v, $(versions) versions"
ok "once decided, the same command is a new amendment (version 3)"
