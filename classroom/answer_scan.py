"""Does a student version already hold an answer? Try every function it defines against every checker.

    python classroom/answer_scan.py classroom/release/01_convolution/01_convolution.ipynb [...]

For each notebook: every code cell that is not an exercise cell (no solution, no test) runs in the
grading sandbox, statement by statement, exactly as grading runs a student's notebook (same
per-exercise policy: numpy only unless the checker allows the framework). Then each test cell's
check runs in this process once per callable (and per numeric array of at most 100,000 numbers: no
exercise's answer is bigger) the notebook defined, with that object standing in for the exercise's
answer. An object that passes is an answer the student did not have to write; the script prints it
and exits non-zero. tests/test_classroom_lessons.py runs it on every lesson.
"""
from __future__ import annotations

import argparse
import ast
import builtins
import contextlib
import io
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import grading  # noqa: E402
import sandbox  # noqa: E402
from nbgrader import utils  # noqa: E402


def lesson_cells(nb) -> list[tuple[int, str]]:
    """(index, source) of the code cells that are not exercise cells."""
    return [(i, grading.python_source(c.source)) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and not (utils.is_solution(c) or utils.is_grade(c))]


def test_cells(nb) -> list[tuple[str, str]]:
    return [(c.metadata.nbgrader["grade_id"], c.source) for c in nb.cells if grading.is_test(c)]


def _passes(source: str, answers: list[str], candidate) -> bool:
    """True if the test cell's check succeeds with ``candidate`` bound to every answer name."""
    ns = {"__name__": "__answer_scan__", "__builtins__": builtins}
    for name in answers:
        ns[name] = candidate
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(ast.parse(source), "<test cell>", "exec"), ns)
    except Exception:
        return False
    return True


def scan(nb, settings: sandbox.Settings | None = None) -> dict[str, list[str]]:
    """grade_id -> names of objects the student version defines that pass that exercise's checker."""
    settings = settings or sandbox.Settings(timeout=20, statement_timeout=120)
    tests = test_cells(nb)
    policies = {gid: grading.checker_policy(src) for gid, src in tests}
    sessions = {}
    found: dict[str, list[str]] = {}
    try:
        for policy in sorted(set(policies.values())):
            session = sessions[policy] = sandbox.StudentSession(policy, settings)
            for index, source in lesson_cells(nb):
                session.add_cell(index, source)
            if not session.advance():
                raise sandbox.SandboxError(f"the {policy} sandbox could not run the notebook: {session.failure_reason()}")
        values = {}                     # arrays, fetched once per policy (small ones only: no answer is big)
        for gid, source in tests:
            session = sessions[policies[gid]]
            answers = sorted(grading.free_names(source) - grading.BUILTIN_NAMES)
            hits = []
            for name, kind in session.names():
                if kind == "callable":
                    candidate = session.proxy(name, sandbox.Budget(settings.timeout))
                else:
                    key = (policies[gid], name)
                    if key not in values:
                        values[key] = session.resolve(name)
                    status, candidate = values[key]
                    if status != "value":
                        continue
                if _passes(source, answers, candidate):
                    hits.append(name)
            found[gid] = hits
    finally:
        for session in sessions.values():
            session.close()
    return found


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="+", type=Path, help="student versions (release/<lesson>/<lesson>.ipynb)")
    args = ap.parse_args(argv)
    bad = 0
    for path in args.notebooks:
        found = scan(nbformat.read(path, as_version=4))
        for gid, names in found.items():
            status = "ANSWERED ALREADY by " + ", ".join(names) if names else "ok"
            print(f"{path.name} {gid}: {status}")
            bad += bool(names)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
