"""Summarise `mutmut results --all true`: score per module and every survivor with its diff.

Usage (in the mutmut work folder): python summarize.py results.txt [MUTANT_NAME_GLOB ...]
Only mutants matching the globs count (the run's scope). Score = killed / (killed + survived +
timeout + suspicious); "no tests" counts as survived (no test reaches that code).
"""
import fnmatch
import subprocess
import sys
from pathlib import Path
from collections import Counter, defaultdict

path, globs = sys.argv[1], sys.argv[2:]
status = {}
for line in open(path):
    if ": " in line:
        name, st = line.strip().rsplit(": ", 1)
        if not globs or any(fnmatch.fnmatch(name, g) for g in globs):
            status[name] = st
by_module = defaultdict(Counter)
for name, st in status.items():
    by_module[name.rsplit(".", 1)[0]][st] += 1
print("| module | mutants | killed | timeout | survived | no tests | score |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
total = Counter()
for module in sorted(by_module):
    c = by_module[module]
    total.update(c)
    n = sum(c.values())
    caught = c["killed"] + c["timeout"]
    print(f"| {module} | {n} | {c['killed']} | {c['timeout']} | {c['survived']} | {c['no tests']} | {100 * caught / n:.1f} % |")
n = sum(total.values())
print(f"| **all** | {n} | {total['killed']} | {total['timeout']} | {total['survived']} | {total['no tests']} | "
      f"{100 * (total['killed'] + total['timeout']) / n:.1f} % |")
other = {k: v for k, v in total.items() if k not in ("killed", "timeout", "survived", "no tests")}
if other:
    print(f"\nother statuses: {dict(other)}")
print("\n## Survivors\n")
for name, st in sorted(status.items()):
    if st in ("killed", "timeout"):
        continue
    diff = subprocess.run([str(Path(sys.executable).with_name("mutmut")), "show", name], capture_output=True, text=True).stdout
    lines = [l for l in diff.splitlines() if l[:1] in "-+" and not l.startswith(("---", "+++"))]
    print(f"- `{name}` ({st})")
    for l in lines:
        print(f"      {l.strip()[:160]}")
