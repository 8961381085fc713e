#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The Prometheus text format (0.0.4), checked line by line, with medchain's
# naming rules (medchain_ prefix, counters and only they end in _total);
# prints the samples as JSON ("name{labels}": value). Reads stdin.
import json, math, re, sys
NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
text = sys.stdin.read()
if not text.endswith("\n"):
    sys.exit("the exposition does not end with a newline")
types, helps, samples, seen_fam = {}, {}, {}, set()
def family(n):
    for suf in ("_bucket", "_sum", "_count"):
        if n.endswith(suf) and types.get(n[:-len(suf)]) == "histogram":
            return n[:-len(suf)]
    return n
def labels(s, ln):
    out, i = [], 0
    while i < len(s):
        m = re.match(r'([a-zA-Z_][a-zA-Z0-9_]*)="', s[i:])
        if not m: sys.exit(f"line {ln}: bad label at {s[i:]!r}")
        i += m.end(); v = ""
        while True:
            if i >= len(s): sys.exit(f"line {ln}: unterminated label value")
            c = s[i]
            if c == "\\":
                e = s[i + 1:i + 2]
                if e not in ('\\', '"', 'n'): sys.exit(f"line {ln}: bad escape \\{e}")
                v += "\n" if e == "n" else e; i += 2; continue
            if c == '"': i += 1; break
            if c == "\n": sys.exit(f"line {ln}: raw newline in a label")
            v += c; i += 1
        out.append((m.group(1), v))
        if i < len(s):
            if s[i] != ",": sys.exit(f"line {ln}: expected , between labels")
            i += 1
    return out
for ln, line in enumerate(text.split("\n")[:-1], 1):
    if line.startswith("# HELP "):
        m = re.fullmatch(r'# HELP (' + NAME + r') (.+)', line)
        if not m or m.group(1) in helps: sys.exit(f"line {ln}: bad or repeated HELP: {line}")
        helps[m.group(1)] = m.group(2)
    elif line.startswith("# TYPE "):
        m = re.fullmatch(r'# TYPE (' + NAME + r') (counter|gauge|histogram|summary|untyped)', line)
        if not m or m.group(1) in types: sys.exit(f"line {ln}: bad or repeated TYPE: {line}")
        if m.group(1) in seen_fam: sys.exit(f"line {ln}: TYPE after the samples of {m.group(1)}")
        types[m.group(1)] = m.group(2)
    elif line.startswith("#") or not line.strip():
        sys.exit(f"line {ln}: unexpected line {line!r}")
    else:
        m = re.fullmatch(r'(' + NAME + r')(?:\{(.*)\})? (\S+)', line)
        if not m: sys.exit(f"line {ln}: not a sample: {line!r}")
        name, lab, val = m.group(1), labels(m.group(2) or "", ln), m.group(3)
        try: v = float(val)
        except ValueError: sys.exit(f"line {ln}: bad value {val!r}")
        if math.isnan(v): sys.exit(f"line {ln}: NaN")
        fam = family(name)
        if fam not in types or fam not in helps: sys.exit(f"line {ln}: {fam} has no TYPE or HELP before it")
        if not fam.startswith("medchain_"): sys.exit(f"line {ln}: {fam} lacks the medchain_ prefix")
        if types[fam] == "counter" and not name.endswith("_total"): sys.exit(f"line {ln}: counter {name} lacks _total")
        if types[fam] != "counter" and name.endswith("_total"): sys.exit(f"line {ln}: {name} ends in _total but is not a counter")
        seen_fam.add(fam)
        key = name + ("{" + ",".join(f'{k}="{x}"' for k, x in lab) + "}" if lab else "")
        if key in samples: sys.exit(f"line {ln}: sample {key} repeated")
        samples[key] = v
for fam, t in types.items():
    if t != "histogram": continue
    b = [(k, v) for k, v in samples.items() if k.startswith(fam + "_bucket{")]
    if not b or not b[-1][0].endswith('le="+Inf"}'): sys.exit(f"{fam}: no +Inf bucket last")
    if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)): sys.exit(f"{fam}: buckets not cumulative")
    if samples.get(fam + "_count") != b[-1][1] or fam + "_sum" not in samples: sys.exit(f"{fam}: _count or _sum wrong")
print(json.dumps(samples))
