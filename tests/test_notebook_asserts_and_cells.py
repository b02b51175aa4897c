"""Notebooks stay narrative and their asserts stay real.

- Code cells are short: at most ``MAX_LINES`` lines, except the few cells listed in ``LONG_CELLS``
  (each with its reason), and none longer than ``HARD_MAX_LINES``. The generated setup cell is exempt.
- No assert can pass whatever the lesson computes: none whose operands are all literals
  (``assert 3 == 3``, ``assert True``), and none comparing an expression with itself
  (``assert plan.strategy == plan.strategy``). The same rule applies to the test suite itself.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from course_lib import nbtools

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(nbtools.NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
MAX_LINES = 15
HARD_MAX_LINES = 25
# (notebook, first line of the cell) -> why it stays long. Keep this list short.
LONG_CELLS: dict[tuple[str, str], str] = {
    ("01_convolution.ipynb", 'def conv2d_naive(x, w, b, stride=1, padding="valid", dilation=1):'):
        "the seven nested loops of the definition are the lesson; splitting them would hide it",
    ("01_convolution.ipynb", 'def conv2d(x, w, b, strides=(1, 1), padding="valid"):'):
        "exercise 1's solution cell: one function the learner writes whole",
}


def _code_cells(path):
    cells = json.loads(path.read_text())["cells"]
    for i, c in enumerate(cells):
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        if c["cell_type"] == "code" and nbtools.SETUP_TAG not in c.get("metadata", {}).get("tags", []):
            yield i, src


def _python(src: str) -> str:
    """The cell without IPython magics and shell escapes (they are not Python)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in src.splitlines())


def _is_literal(node) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        return _is_literal(node.operand)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.BinOp):
        return _is_literal(node.left) and _is_literal(node.right)
    return False


def _same_value(a, b) -> bool:
    """The same expression twice, with no call in it (``f() == f()`` can test repeatability)."""
    return ast.dump(a) == ast.dump(b) and not any(isinstance(n, ast.Call) for n in ast.walk(a))


def vacuous_asserts(source: str) -> list[str]:
    """The asserts in ``source`` that cannot fail, as 'line N: reason' strings."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Assert):
            continue
        test = node.test
        if _is_literal(test):
            found.append(f"line {node.lineno}: asserts a literal")
            continue
        if isinstance(test, ast.Compare):
            operands = [test.left, *test.comparators]
            if all(_is_literal(o) for o in operands):
                found.append(f"line {node.lineno}: compares literals only")
            for a, b in zip(operands, operands[1:]):
                if _same_value(a, b):
                    found.append(f"line {node.lineno}: compares an expression with itself")
                elif any(isinstance(x, ast.IfExp) and (_same_value(y, x.body) or _same_value(y, x.orelse))
                         for x, y in ((a, b), (b, a))):
                    found.append(f"line {node.lineno}: compares an expression with itself in one branch")
    return found


def test_vacuous_assert_detector_catches_what_it_should():
    bad = ["assert True", "assert 3 == 3", "assert (1, 2) == (1, 2)", "assert -1 < 2",
           "assert plan.strategy == plan.strategy", "assert x <= x", "assert 2 * 3 == 6",
           "assert s == ('default' if cpu else s)"]
    good = ["assert x == 3", "assert plan.strategy == 'default'", "assert f(x) == f(y)",
            "assert a < b <= c", "assert len(gap) >= n", "assert run() == run()"]
    for src in bad:
        assert vacuous_asserts(src), src
    for src in good:
        assert not vacuous_asserts(src), src


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_asserts_can_fail(path):
    problems = [f"cell {i} {p}" for i, src in _code_cells(path) for p in vacuous_asserts(_python(src))]
    assert not problems, f"{path.name}: asserts that cannot fail: {problems}"


def test_test_suite_asserts_can_fail():
    problems = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if path.name == Path(__file__).name:      # its own examples of bad asserts are strings
            continue
        problems += [f"{path.name} {p}" for p in vacuous_asserts(path.read_text())]
    assert not problems, problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_are_short(path):
    long = []
    for i, src in _code_cells(path):
        n = len(src.rstrip("\n").splitlines())
        first = src.strip().splitlines()[0] if src.strip() else ""
        if n > HARD_MAX_LINES or (n > MAX_LINES and (path.name, first) not in LONG_CELLS):
            long.append(f"cell {i} ({n} lines): {first[:60]}")
    assert not long, (f"{path.name}: code cells over {MAX_LINES} lines (split them with a sentence between "
                      f"the parts, or move plumbing into course_lib): {long}")


def test_listed_long_cells_still_exist():
    present = {(p.name, src.strip().splitlines()[0]) for p in NOTEBOOKS for _, src in _code_cells(p) if src.strip()}
    stale = [k for k in LONG_CELLS if k not in present]
    assert not stale, f"LONG_CELLS lists cells that are gone: {stale}"
