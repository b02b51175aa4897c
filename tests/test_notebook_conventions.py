"""The checkable parts of notebooks/README.md, for every lesson notebook."""
import json
import re
from pathlib import Path

import pytest

from course_lib import nbtools

NOTEBOOKS = sorted(nbtools.NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def _load(path):
    return json.loads(path.read_text())


def _src(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_notebook_00_exists():
    assert any(p.name == "00_start_here.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_badge_and_setup_cell_come_from_nbtools(path):
    cells = _load(path)["cells"]
    assert cells[0]["cell_type"] == "markdown" and _src(cells[0]) == nbtools.badge_markdown(path.name), \
        "cell 0 must be the Colab badge: run `python -m course_lib.nbtools sync`"
    assert cells[1]["cell_type"] == "code" and _src(cells[1]) == nbtools.setup_cell_source(), \
        "cell 1 must be the setup cell: run `python -m course_lib.nbtools sync`"
    assert nbtools.REPO_URL in _src(cells[1])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_opening_goals_setup_and_budget(path):
    cells = _load(path)["cells"]
    intro = _src(cells[2]).lower()
    assert cells[2]["cell_type"] == "markdown" and "learning goals" in intro and "time budget" in intro
    code = "\n".join(_src(c) for c in cells if c["cell_type"] == "code")
    assert "from course_lib import" in code and "runtime.setup(" in code
    assert "COURSE_QUICK" not in "\n".join(_src(c) for c in cells[2:] if c["cell_type"] == "code"), \
        "read quick mode through course_lib.quick, never the variable"
    assert "summary" in "\n".join(_src(c).lower() for c in cells if c["cell_type"] == "markdown")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_with_clean_outputs(path):
    nb = _load(path)
    assert path.stat().st_size < 3_000_000, "keep committed notebooks small"
    code_cells = [c for c in nb["cells"] if c["cell_type"] == "code" and _src(c).strip()]
    counts = [c["execution_count"] for c in code_cells]
    assert all(counts) and all(a < b for a, b in zip(counts, counts[1:])), "run top to bottom before committing"
    missing = [i for i, c in enumerate(nb["cells"]) if not c.get("id")]
    assert not missing, f"cells without an id (nbformat 4.5 requires one): {missing}"
    for c in code_cells:
        for out in c.get("outputs", []):
            assert out["output_type"] != "error", f"stored error output in: {_src(c)[:80]}"
            text = json.dumps(out.get("text", "")) + json.dumps(out.get("data", {}).get("text/plain", ""))
            assert not re.search(r"/(root|home/\w+|tmp)/", text), f"local path in output of: {_src(c)[:80]}"
            assert not re.search(r"cuda_platform\.cc|cudart_stub\.cc|cpu_feature_guard", text), \
                f"TensorFlow start-up log in output of: {_src(c)[:80]} (store outputs with nbtools run)"


def test_strip_tf_log_noise_keeps_only_real_messages():
    lines = ["I0000 00:00:1795448009.621443    3249 cudart_stub.cc:31] Could not find cuda drivers\n",
             "E0000 00:00:1795448012.978920    3249 cuda_platform.cc:52] failed call to cuInit\n",
             "W1123 15:33:29.621443  3249 cpu_feature_guard.cc:210] This TensorFlow binary is optimized\n",
             "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
             "UserWarning: a real warning the learner should see\n"]
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stderr", "text": "".join(lines)},
        {"output_type": "stream", "name": "stderr", "text": "".join(lines[:2])},
        {"output_type": "stream", "name": "stdout", "text": lines[0]}]}]}

    class Cell(dict):
        cell_type = property(lambda self: self["cell_type"])
        outputs = property(lambda self: self["outputs"], lambda self, v: self.__setitem__("outputs", v))

    nb = type("NB", (), {"cells": [Cell(nb["cells"][0])]})()
    nbtools.strip_tf_log_noise(nb)
    outs = nb.cells[0]["outputs"]
    assert [o["text"] for o in outs] == [lines[4], lines[0]]   # stderr noise gone, stdout untouched


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_use_nbgrader_markup_and_checkers(path):
    cells = _load(path)["cells"]
    for i, c in enumerate(cells):
        meta = c.get("metadata", {}).get("nbgrader")
        src = _src(c)
        if "### BEGIN SOLUTION" in src:
            assert meta and meta["solution"] and not meta["grade"], f"cell {i}: solution cell needs nbgrader metadata"
            assert "### END SOLUTION" in src
        if meta and meta.get("grade"):
            assert meta["locked"] and meta["points"] > 0, f"cell {i}: graded cell must be locked with points"
            assert "course_lib.checks" in src, f"cell {i}: test cells call a course_lib checker"
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in cells if "nbgrader" in c.get("metadata", {})]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"


def test_run_notebook_keeps_a_failed_run_outside_the_repository(tmp_path, monkeypatch):
    import nbformat
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setenv("COURSE_QUICK", "1")                   # run_notebook sets it; restored afterwards
    (tmp_path / "tmp").mkdir()
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)          # re-read TMPDIR
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('ran')"),
                                         nbformat.v4.new_code_cell("raise ValueError('boom')")])
    path = tmp_path / "lesson.ipynb"
    nbformat.write(nb, path)
    before = path.read_text()
    with pytest.raises(Exception, match="boom"):
        nbtools.run_notebook(path, quick=True, timeout=60)
    assert path.read_text() == before                            # the original is untouched
    failed = nbformat.read(tmp_path / "tmp" / "lesson.failed.ipynb", as_version=4)
    assert failed.cells[0].outputs[0]["text"] == "ran\n"         # what ran is kept for inspection


def test_sync_updates_the_setup_source_and_keeps_its_run_state(tmp_path):
    import nbformat
    setup = nbformat.v4.new_code_cell("# an old setup cell", metadata={"tags": [nbtools.SETUP_TAG]},
                                      execution_count=1, outputs=[nbformat.v4.new_output("stream", text="ok\n")])
    setup["id"] = "setup-id"
    lesson = nbformat.v4.new_code_cell("x = 1", execution_count=2)
    path = tmp_path / "07_demo.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[setup, lesson]), path)
    assert nbtools.sync_notebook(path) is True
    nb = nbformat.read(path, as_version=4)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"]
    assert nb.cells[1].source == nbtools.setup_cell_source()                 # the source is refreshed
    assert (nb.cells[1]["id"], nb.cells[1].execution_count) == ("setup-id", 1)  # the run state is kept
    assert nb.cells[1].outputs[0]["text"] == "ok\n"
    assert nbtools.sync_notebook(path) is False                              # idempotent
