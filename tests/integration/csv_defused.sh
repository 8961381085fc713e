# SPDX-License-Identifier: Apache-2.0
# audit export --format csv: a cell a spreadsheet would run as a formula
# (starting with =, +, -, @, a tab or a carriage return; OWASP CSV
# injection) gets a leading single quote, and every cell is still quoted
# per RFC 4180, so the text reads back unchanged after the quote.
. "$(dirname "$0")/lib.sh"
need_tool python3

init_node
echo "x" | mc record put --subject MRN-1 --category lab --type text/plain - >"$T/rec"
rec=$(cat "$T/rec")
n=0
for name in '=HYPERLINK("http://evil","x")' '-2+3' '@SUM(1)' '+1,"a"'; do
    n=$((n + 1))
    mc identity add --name "$name" --role clinician --no-passphrase >/dev/null
    mc --as "$name" record get "$rec" --break-glass "$name" >/dev/null 2>&1 || fail "break-glass read $n"
done
mc audit export --format csv -o "$T/audit.csv" || fail "audit export csv"
python3 - "$T/audit.csv" <<'PY' || fail "the CSV export is not defused"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
head = rows[0]
assert head[0] == "time" and head[-1] == "break_glass", head
want = ['=HYPERLINK("http://evil","x")', '-2+3', '@SUM(1)', '+1,"a"']
names = [r[head.index("actor_name")] for r in rows[1:]]
glass = [r[-1] for r in rows[1:] if r[-1]]
for w in want:
    assert "'" + w in names, (w, names)
    assert "'" + w in glass, (w, glass)
for r in rows:
    assert len(r) == len(head), r
    for c in r:
        assert not c or c[0] not in "=+-@\t\r", c
PY
# the raw bytes: the quote is inside the RFC 4180 quotes
grep -qF "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"" "$T/audit.csv" || fail "RFC 4180 quoting kept"
grep -qF ",'-2+3," "$T/audit.csv" || fail "an unquoted cell gets its quote too"
ok "formula cells are defused and quoted per RFC 4180"
