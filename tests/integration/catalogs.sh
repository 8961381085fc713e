# SPDX-License-Identifier: Apache-2.0
# The translations: every catalog in po/LINGUAS (de and fr at least) covers
# every user-facing string of the current sources (a template made afresh
# with xgettext), has nothing fuzzy or untranslated, and passes msgfmt -c;
# with LANGUAGE=de (fr) --help, errors and the console speak it, while
# machine output (--json keys, CSV headers) stays the same.
. "$(dirname "$0")/lib.sh"
S="$MC_SRCDIR"
for l in de fr; do grep -qw "$l" "$S/po/LINGUAS" || fail "po/LINGUAS lists $l"; done

# every C file of src/ (its layers' folders), bridge/ and ui/ is in POTFILES.in
for f in "$S"/src/*/*.c "$S"/bridge/*.c "$S"/ui/*.c; do
    grep -qx "${f#"$S"/}" "$S/po/POTFILES.in" || fail "po/POTFILES.in lists ${f#"$S"/}"
done
(cd "$S" && xgettext --keyword=_ --keyword=N_ --keyword=P_:1,2 --add-comments=L10N --from-code=UTF-8 \
    -o "$T/medchain.pot" --files-from=po/POTFILES.in)
total=$(grep -c '^msgid ' "$T/medchain.pot")
for l in $(cat "$S/po/LINGUAS"); do
    po="$S/po/$l.po"
    [ -f "$po" ] || fail "po/$l.po exists"
    msgfmt -c --check-format --statistics -o "$T/$l.mo" "$po" 2>"$T/$l.stats" || { cat "$T/$l.stats"; fail "msgfmt -c accepts $l.po"; }
    ! grep -qE "fuzzy|untranslated" "$T/$l.stats" || fail "$l.po: $(cat "$T/$l.stats")"
    msgcmp "$po" "$T/medchain.pot" 2>"$T/$l.cmp" || { head -5 "$T/$l.cmp"; fail "$l.po covers every string of the sources"; }
    mkdir -p "$T/locale/$l/LC_MESSAGES"
    cp "$T/$l.mo" "$T/locale/$l/LC_MESSAGES/medchain.mo"
    ok "$l: $(cat "$T/$l.stats") of $((total - 1)) strings in the sources"
done

export MEDCHAIN_LOCALEDIR="$T/locale"
tr_of() { TEXTDOMAINDIR="$T/locale" LANGUAGE=$1 LC_ALL=C.UTF-8 gettext -d medchain "$2"; }
init_node
for l in de fr; do
    LANGUAGE=$l "$MEDCHAIN_BIN" --help >"$T/help.$l"
    want=$(tr_of "$l" "record put --subject ID --category C [--type MIME] [--amend RECORD] [FILE|-]")
    want2=$(tr_of "$l" "store a record; prints its id")
    [ "$want2" != "store a record; prints its id" ] || fail "$l translates the command summaries"
    grep -qF -- "$want2" "$T/help.$l" || fail "LANGUAGE=$l --help speaks $l"
    grep -qF -- "$want" "$T/help.$l" || fail "LANGUAGE=$l --help has the usage lines"
    code=0; LANGUAGE=$l mc record get 00000000000000000000000000000000 2>"$T/err.$l" || code=$?
    [ "$code" -ne 0 ] || fail "an unknown record fails"
    ! grep -q "no record" "$T/err.$l" || fail "LANGUAGE=$l errors speak $l: $(cat "$T/err.$l")"
    # machine output is the same in every language
    diff <(mc --json status | jq -S 'keys') <(LANGUAGE=$l mc --json status | jq -S 'keys') >/dev/null \
        || fail "--json keys are never translated"
    [ "$(LANGUAGE=$l mc audit export --format csv | head -1)" = "$(mc audit export --format csv | head -1)" ] \
        || fail "the CSV header is never translated"
    ok "LANGUAGE=$l: --help and errors in $l; --json keys and the CSV header unchanged"
done

# the console speaks it too
need_tool tmux
SOCK="mc-cat-$$"
trap 'tmux -L "$SOCK" kill-server 2>/dev/null || true; cleanup' EXIT
for l in de fr; do
    tmux -L "$SOCK" new-session -d -s "c$l" -x 80 -y 24 \
        "env LANGUAGE=$l LANG=C.UTF-8 TERM=screen MEDCHAIN_LOCALEDIR=$T/locale $MEDCHAIN_BIN --datadir $D"
    want=$(tr_of "$l" "Consent")
    for i in $(seq 1 50); do tmux -L "$SOCK" capture-pane -t "c$l" -p | grep -qF -- "4 $want" && break; sleep 0.1; done
    tmux -L "$SOCK" capture-pane -t "c$l" -p | grep -qF -- "4 $want" || fail "the console's tabs speak $l ($want)"
    tmux -L "$SOCK" send-keys -t "c$l" q
    ok "LANGUAGE=$l: the console speaks $l"
done
