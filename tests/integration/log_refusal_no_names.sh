# SPDX-License-Identifier: Apache-2.0
# serve logs why it refused a tx, but a refusal's reason never carries a
# display name (a patient identity's name is a patient identifier): an
# enrolment under a patient's name, sent straight to serve, is refused
# and logged by the key prefix of the identity holding the name.
. "$(dirname "$0")/lib.sh"
: "${MC_ADVERSARY:?MC_ADVERSARY must name tests/adversary}"

cluster_start 1
cn 1 identity add --name "Pat Quimby-7731" --role patient --subject MRN-7731 --no-passphrase >/dev/null
h=$(cl_height 1)
"$MC_ADVERSARY" "$T/n1" "$(cl_url 1)" enroll-named "Pat Quimby-7731" >"$T/adv" 2>&1 || true
for _ in $(seq 100); do grep -q "refused: " "$T/n1.log" && break; sleep 0.05; done
grep -q "tx [0-9a-f]* refused: .*already" "$T/n1.log" || fail "serve logs the refusal: $(cat "$T/n1.log")"
[ "$(cl_height 1)" = "$h" ] || fail "the enrolment under a taken name is not committed"
if grep -q "Quimby" "$T/n1.log"; then
    grep "Quimby" "$T/n1.log" >&2
    fail "serve's log names the patient"
fi
ok "a refused enrolment under a patient's name is logged without the name"

expect_exit 65 cn 1 identity add --name "Pat Quimby-7731" --role clinician --no-passphrase
grep -q "already has this display name" "$T/err" || fail "the CLI still says the name is taken: $(cat "$T/err")"
ok "the CLI's refusal says the display name is taken (its user typed it)"
