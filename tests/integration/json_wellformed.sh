# SPDX-License-Identifier: Apache-2.0
# Every --json command prints one well-formed JSON document (UTF-8, no
# duplicate keys) that carries the stored text unchanged, whatever it holds:
# quotes and backslashes in names, reasons, content types and grant forms
# (which the validators accept), invalid UTF-8 in the data dir's path (shown
# as U+FFFD). Control characters and invalid UTF-8 in stored text are
# refused at input, with a message.
. "$(dirname "$0")/lib.sh"
need_tool python3

# jcheck FILE [PYTHON-EXPR]: FILE is one JSON document (strict UTF-8, no
# duplicate keys, nothing after it); EXPR (over j) must be true.
jcheck() {
    python3 - "$@" <<'EOF' || fail "$(basename "$1") is not the JSON expected: ${2:-}"
import json, sys
def pairs(kv):
    keys = [k for k, _ in kv]
    if len(keys) != len(set(keys)):
        sys.exit("duplicate keys: %r" % keys)
    return dict(kv)
raw = open(sys.argv[1], "rb").read()
try:
    j = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs)
except (UnicodeDecodeError, ValueError) as e:
    sys.stderr.write(repr(raw[:400]) + "\n")
    sys.exit("not JSON: %s" % e)
def strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)
S = list(strings(j))
if len(sys.argv) > 2 and not eval(sys.argv[2]):
    sys.stderr.write(json.dumps(j)[:2000] + "\n")
    sys.exit("check failed")
EOF
    python3 -m json.tool "$1" >/dev/null || fail "json.tool refuses $(basename "$1")"
}
# J NAME args...: runs medchain --json args, output in $T/NAME.json
J() { local n=$1; shift; mc --json "$@" >"$T/$n.json" || fail "--json $* exits $?"; }

# A data dir whose path is not UTF-8: shown with U+FFFD.
D="$T/data-$(printf '\377')-dir"
Q='Dr "Quote" \ Back\slash'          # a name with quotes and backslashes
R='reason: "x" \ y, {"a":1}'         # a reason of the same kind
INJ='text/x","erased":1,"category":"forged'
export Q R INJ

J init init --no-passphrase --name 'Node "N" \' --org 'Org "O" \'
jcheck "$T/init.json" 'j["datadir"].endswith("data-\ufffd-dir") and len(j["admin"]) == 64'
J status status
jcheck "$T/status.json" 'j["datadir"].endswith("data-\ufffd-dir") and j["height"] == 0'
ok "a data dir path that is not UTF-8 is printed with U+FFFD"

# Input validation: quotes and backslashes are text; control characters and
# invalid UTF-8 are not, and are refused with a message.
J addq identity add --name "$Q" --role clinician --no-passphrase
jcheck "$T/addq.json" 'len(j["key"]) == 64'
qkey=$(jq -r .key "$T/addq.json")
for bad in "$(printf 'Dr\001X')" "$(printf 'Dr \377')" "$(printf 'line\nbreak')"; do
    expect_exit 64 mc identity add --name "$bad" --role clinician --no-passphrase
    grep -q -- '--name must be' "$T/err" || fail "a refused name is explained"
done
expect_exit 64 mc record put --subject MRN-1 --category 'lab"x' --type text/plain /dev/null
grep -q "invalid category" "$T/err" || fail "a refused category is explained"
printf 'x' >"$T/p"
expect_exit 64 mc record put --subject MRN-1 --category lab --type 'text/x y' "$T/p"
grep -q "invalid content type" "$T/err" || fail "a refused content type is explained"
expect_exit 64 mc record put --subject MRN-1 --category lab --type "$(printf 'text/\377x')" "$T/p"
ok "names, categories and types with control characters or invalid UTF-8 are refused"

# A content type with quotes is a valid MIME token string: it is stored and
# printed as one string, never as JSON keys.
echo "hello" >"$T/p"
J put record put --subject MRN-1 --category lab --type "$INJ" "$T/p"
rec=$(jq -r .record "$T/put.json")
J list record list
jcheck "$T/list.json" 'len(j) == 1 and j[0]["type"] == __import__("os").environ["INJ"] and j[0]["category"] == "lab" and j[0]["erased"] is None'
J hist record history "$rec"
jcheck "$T/hist.json" 'j[0]["type"] == __import__("os").environ["INJ"]'
ok "record list and history print a forging content type as one string"

printf '{"subject":"MRN-2","category":"note","type":"text/a\\\\\\"b","payload":"x"}\n' >"$T/in.ndjson"
J import record import "$T/in.ndjson"
jcheck "$T/import.json" 'j["imported"] == 1 and len(j["records"]) == 1 and j["skipped"] == []'
J list2 record list --subject MRN-2
jcheck "$T/list2.json" 'j[0]["type"] == "text/a\\\"b"'
ok "record import's streamed document is well-formed"

# Grants and reasons with quotes and backslashes.
J grant consent grant --subject MRN-1 --to "$Q" --purpose treatment --form "form \"F\" \\ 7"
gid=$(jq -r .grant "$T/grant.json")
J clist consent list
jcheck "$T/clist.json" 'j[0]["grantee_name"] == __import__("os").environ["Q"] and j[0]["until"] is None'
mc consent export -o "$T/cexport.json" || fail "consent export"
jcheck "$T/cexport.json" '"form \"F\" \\ 7" in S'
mc --as "$Q" record get "$rec" >/dev/null || fail "the grantee reads"
# break-glass with a quoting reason, on a record the clinician has no grant for
echo "other" | mc record put --subject MRN-3 --category lab --type text/plain - >"$T/rec3"
mc --as "$Q" record get "$(cat "$T/rec3")" --break-glass "$R" >/dev/null 2>&1 || fail "break-glass read"
J revoke consent revoke "$gid" --reason "$R"
jcheck "$T/revoke.json" 'j["revoked"] == "'"$gid"'"'
J audit audit list
jcheck "$T/audit.json" 'any(e.get("break_glass") == __import__("os").environ["R"] and e["actor_name"] == __import__("os").environ["Q"] for e in j["events"])'
J audit1 audit list --limit 1
jcheck "$T/audit1.json" 'len(j["events"]) == 1 and "next" in j'
mc audit export --format fhir -o "$T/fhir.json" || fail "audit export fhir"
jcheck "$T/fhir.json" 'any(__import__("os").environ["R"] in s for s in S) and __import__("os").environ["Q"] in S'
J alerts alerts
jcheck "$T/alerts.json" 'any(a["alert"] == "break-glass" and a["actor_name"] == __import__("os").environ["Q"] for a in j)'
ok "grants, break-glass and revoke reasons print as they were typed"

J erasedry record erase "$rec" --reason "$R" --dry-run
jcheck "$T/erasedry.json" 'j["dry_run"] is True and j["category"] == "lab"'
J erase record erase "$rec" --reason "$R" --yes
jcheck "$T/erase.json" 'j["erased"] == "'"$rec"'"'
J add3 identity add --name 'Temp "T"' --role clinician --no-passphrase
J irevoke identity revoke "$(jq -r .key "$T/add3.json")" --reason "$R"
jcheck "$T/irevoke.json" 'j["revoked"] is True'
J ilist identity list
jcheck "$T/ilist.json" '__import__("os").environ["Q"] in [i["name"] for i in j] and "Org \"O\" \\" in S'

# The rest of the --json commands.
J nodes node list
jcheck "$T/nodes.json" 'j["serve"] is False and len(j["nodes"]) == 1'
J conf config check
jcheck "$T/conf.json" 'any(s.endswith("data-\ufffd-dir") for s in S)'
J plan anchor plan
jcheck "$T/plan.json" 'j["payload"].startswith("0x")'
J alist anchor list
jcheck "$T/alist.json" 'j == []'
J keygen anchor keygen --no-passphrase
jcheck "$T/keygen.json" 'j["address"].startswith("0x") and j["sealed"] is False'
mc --json anchor >"$T/anchor.json" 2>/dev/null && fail "anchor without [anchor] configured fails"
jcheck "$T/anchor.json" 'j["outcome"] == "error"'
printf '{"format":"x"}' >"$T/bad-proof"
mc --json proof verify "$T/bad-proof" >"$T/pverify.json" 2>/dev/null && fail "a bad proof fails"
jcheck "$T/pverify.json" 'j["ok"] is False'
J verify verify
jcheck "$T/verify.json" 'j["ok"] is True'
J backup backup "$T/bk"
jcheck "$T/backup.json" 'j["format"] == "medchain-backup-1"'
jcheck "$T/bk/backup.json" 'j["keys"] is False'
ok "every --json command prints one well-formed document"
