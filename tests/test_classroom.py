"""Classroom (issue 8): nbgrader student versions, and autograding that students cannot fool.

Real nbgrader end to end, no mocks. Each test module run gets its own temporary nbgrader course
folder (config copied from classroom/, sqlite gradebook inside), so runs are isolated and safe
under pytest-xdist.

* The fixture lesson tests/fixtures/classroom/99_fixture.ipynb (2 exercises, 2 + 3 points, checkers
  in fixture_checks.py next to it) carries the adversarial cases: one ``nbgrader autograde`` run
  grades a set of crafted submissions and each one's per-cell scores are read from the gradebook.
* Every real lesson with exercises goes through generate_assignment and the solution token scan;
  the first one (or those named in $CLASSROOM_AUTOGRADE_LESSONS, or all with "all") is autograded
  as the instructor version (full marks) and the untouched student version (0, no crash).
"""
from __future__ import annotations

import os
import shutil
import sys
import tokenize
import io
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader", reason="nbgrader is in the `classroom` extra: pip install -e .[classroom]")
from nbgrader.api import Gradebook  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "classroom"))
import make_assignments as ma  # noqa: E402

FIXTURE_DIR = REPO / "tests" / "fixtures" / "classroom"
FIXTURE = "99_fixture"
FIXTURE_POINTS = {"99_fixture_relu_test": 2.0, "99_fixture_mse_test": 3.0}
FIXTURE_TIMEOUT = 20     # s per cell; the fixture's cells take well under a second
LESSON_TIMEOUT = 300     # s per cell for real lessons in quick mode on a shared CPU
COURSE_ID = "dl-course"


# ----------------------------------------------------------------------------- helpers

def new_course(tmp: Path) -> Path:
    """An empty nbgrader course folder using the repository's classroom/nbgrader_config.py."""
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "classroom" / "nbgrader_config.py", tmp / "nbgrader_config.py")
    return tmp


def gradebook_url(course: Path) -> str:
    return "sqlite:///" + str(course / "gradebook.db")


def cell_scores(course: Path, lesson: str, student: str) -> dict[str, float]:
    """grade_id -> score of each autograded cell of a student's submission, from the gradebook."""
    with Gradebook(gradebook_url(course), COURSE_ID) as gb:
        sub = gb.find_submission_notebook(lesson, lesson, student)
        return {g.name: g.score for g in sub.grades}


def submit(course: Path, lesson: str, student: str, nb, extra_files: dict | None = None) -> None:
    dest = course / "submitted" / student / lesson
    dest.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest / f"{lesson}.ipynb")
    for name, text in (extra_files or {}).items():
        (dest / name).write_text(text)


def autograde(course: Path, lesson: str, timeout: int, pythonpath: Path | None = None):
    env = {"COURSE_QUICK": "1"}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), os.environ.get("PYTHONPATH")]))
    return ma.run_nbgrader(course, "autograde", lesson, "--force", f"--Execute.timeout={timeout}", env=env)


def autograded_nb(course: Path, lesson: str, student: str):
    return nbformat.read(course / "autograded" / student / lesson / f"{lesson}.ipynb", as_version=4)


def cell_by_id(nb, grade_id: str):
    cells = [c for c in nb.cells if ma.nbgrader_meta(c).get("grade_id") == grade_id]
    assert len(cells) == 1, f"expected one cell {grade_id}, found {len(cells)}"
    return cells[0]


def output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "\n".join(parts)


def errors(cell) -> list[str]:
    return [f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error"]


def code_tokens(line: str) -> tuple[str, ...]:
    """Python tokens of one line, comments and whitespace dropped ('' if it does not tokenize)."""
    try:
        toks = tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline)
        return tuple(t.string for t in toks if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE,
                                                             tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return tuple(line.split())


def solution_leaks(lesson_nb, release_nb) -> list[str]:
    """Solution lines (3+ tokens) of the lesson that appear in the release, or [] if none."""
    elsewhere = set()     # token lines the lesson also has outside its solution regions
    solution = set()
    for cell in lesson_nb.cells:
        if cell.cell_type != "code":
            continue
        regions = ma.solution_regions(cell.source) if ma.is_solution(cell) else []
        sol_lines = {code_tokens(l) for r in regions for l in r.splitlines()}
        solution |= sol_lines
        elsewhere |= {code_tokens(l) for l in cell.source.splitlines()} - sol_lines
    secret = {t for t in solution - elsewhere if len(t) >= 3}
    release_lines = {code_tokens(l) for c in release_nb.cells for l in c.source.splitlines()}
    return [" ".join(t) for t in sorted(secret & release_lines)]


def real_lessons() -> list[Path]:
    return ma.lesson_notebooks(REPO / "notebooks")


def lessons_to_autograde() -> list[str]:
    names = [p.stem for p in real_lessons()]
    wanted = os.environ.get("CLASSROOM_AUTOGRADE_LESSONS", "").strip()
    if wanted == "all":
        return names
    if wanted:
        return [n for n in wanted.split(",") if n in names]
    return names[:1]


# ----------------------------------------------------------------------------- the fixture course

@pytest.fixture(scope="module")
def fixture_course(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("classroom_fixture"))
    rc = ma.main(["--notebooks", str(FIXTURE_DIR), "--course-dir", str(course),
                  "--checker-package", "fixture_checks"])
    assert rc == 0
    return course


def lesson_nb():
    return nbformat.read(FIXTURE_DIR / f"{FIXTURE}.ipynb", as_version=4)


def release_nb(course):
    return nbformat.read(course / "release" / FIXTURE / f"{FIXTURE}.ipynb", as_version=4)


def with_solutions(nb, grade_ids):
    """Copy of ``nb`` whose solution cells ``grade_ids`` hold the instructor's code."""
    nb = nbformat.from_dict(nb)
    for gid in grade_ids:
        cell_by_id(nb, gid).source = cell_by_id(lesson_nb(), gid).source
    return nb


def insert_after(nb, grade_id, source):
    nb = nbformat.from_dict(nb)
    idx = nb.cells.index(cell_by_id(nb, grade_id))
    nb.cells.insert(idx + 1, nbformat.v4.new_code_cell(source))
    return nb


FAKE_MODULE = '''
def check_relu(f):
    print("All tests passed")
def check_mse(f):
    print("All tests passed")
'''

MONKEYPATCH = '''
import fixture_checks, course_lib.checks
def check_relu(relu):
    print("All tests passed")
fixture_checks.check_relu = check_relu
fixture_checks.check_mse = lambda mse: print("All tests passed")
course_lib.checks.assert_close = lambda *args, **kwargs: 0.0
'''

REPLACE_MODULE = '''
import sys, types
fake = types.ModuleType("fixture_checks")
exec(%r, fake.__dict__)
sys.modules["fixture_checks"] = fake
''' % FAKE_MODULE

WRITE_SHADOW = '''
import importlib, os, sys
with open("fixture_checks.py", "w") as f:
    f.write(%r)
sys.path.insert(0, os.getcwd())
sys.modules.pop("fixture_checks", None)
importlib.invalidate_caches()
''' % FAKE_MODULE


def adversarial_submissions(course):
    """student id -> (notebook, extra files, expected grade_id -> score)."""
    rel, full = release_nb(course), FIXTURE_POINTS
    relu_only = {"99_fixture_relu_test": 2.0, "99_fixture_mse_test": 0.0}
    zero = {k: 0.0 for k in full}

    edited = with_solutions(rel, ["99_fixture_relu"])
    cell_by_id(edited, "99_fixture_relu_test").source = "pass"
    cell_by_id(edited, "99_fixture_mse_test").source = "pass"

    deleted = with_solutions(rel, ["99_fixture_relu"])
    deleted.cells = [c for c in deleted.cells if not ma.is_test(c)]

    loop = with_solutions(rel, ["99_fixture_mse"])
    cell_by_id(loop, "99_fixture_relu").source = "def relu(x):\n    while True:\n        pass"

    exits = insert_after(with_solutions(rel, ["99_fixture_relu"]), "99_fixture_relu_test",
                         "import sys\nsys.exit(0)")

    printed = nbformat.from_dict(rel)
    for gid in ("99_fixture_relu", "99_fixture_mse"):
        cell_by_id(printed, gid).source += '\nprint("All tests passed")'
    printed.cells.append(nbformat.v4.new_markdown_cell("All tests passed ✓"))

    return {
        "instructor": (lesson_nb(), None, full),
        "untouched": (rel, None, zero),
        "edit_test_to_pass": (edited, None, relu_only),
        "delete_test_cells": (deleted, None, relu_only),
        "infinite_loop": (loop, None, {"99_fixture_relu_test": 0.0, "99_fixture_mse_test": 3.0}),
        "sys_exit": (exits, None, relu_only),
        "monkeypatch_checker": (insert_after(rel, "99_fixture_relu", MONKEYPATCH), None, zero),
        "replace_checker_module": (insert_after(rel, "99_fixture_relu", REPLACE_MODULE), None, zero),
        "write_shadow_checker": (insert_after(rel, "99_fixture_relu", WRITE_SHADOW), None, zero),
        "submit_shadow_checker": (rel, {"fixture_checks.py": FAKE_MODULE}, zero),
        "print_all_tests_passed": (printed, None, zero),
    }


@pytest.fixture(scope="module")
def graded_fixture(fixture_course):
    subs = adversarial_submissions(fixture_course)
    for student, (nb, extra, _) in subs.items():
        submit(fixture_course, FIXTURE, student, nb, extra)
    autograde(fixture_course, FIXTURE, FIXTURE_TIMEOUT, pythonpath=FIXTURE_DIR)
    return fixture_course, {s: expected for s, (_, _, expected) in subs.items()}


# ----------------------------------------------------------------------------- fixture tests

def test_config_loads_and_sets_the_grading_limits():
    """classroom/nbgrader_config.py is valid for nbgrader and sets timeout and interruption."""
    from traitlets.config import PyFileConfigLoader
    from nbgrader.preprocessors import Execute, OverwriteCells

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "classroom")).load_config()
    ex = Execute(config=cfg)
    assert 0 < ex.timeout <= 600 and ex.interrupt_on_timeout and ex.allow_errors
    assert OverwriteCells(config=cfg).add_missing_cells
    assert cfg.CourseDirectory.root == str(REPO / "classroom")
    assert "*.py" in cfg.CourseDirectory.ignore


def test_release_replaces_solutions_and_locks_tests(fixture_course):
    rel, lesson = release_nb(fixture_course), lesson_nb()
    assert solution_leaks(lesson, rel) == []
    text = "\n".join(c.source for c in rel.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "_classroom_recheck"):
        assert marker not in text
    for gid in ("99_fixture_relu", "99_fixture_mse"):
        assert "raise NotImplementedError()" in cell_by_id(rel, gid).source
    for gid in FIXTURE_POINTS:
        cell = cell_by_id(rel, gid)
        meta = ma.nbgrader_meta(cell)
        assert meta["locked"] and meta["checksum"] and meta["points"] == FIXTURE_POINTS[gid]
        assert cell.metadata.get("editable") is False and cell.metadata.get("deletable") is False
    # the setup cell survives unchanged; the badge (which opens the instructor version) does not
    from course_lib import nbtools
    assert [c.source for c in rel.cells if c.cell_type == "code"][0] == nbtools.setup_cell_source()
    assert "colab.research.google.com" not in rel.cells[0].source and "Upload notebook" in rel.cells[0].source


def test_token_scan_finds_a_leaked_solution(fixture_course):
    """The scan used above is not blind: a release that kept a solution line is caught."""
    leaky = release_nb(fixture_course)
    cell_by_id(leaky, "99_fixture_mse").source = cell_by_id(lesson_nb(), "99_fixture_mse").source
    leaks = solution_leaks(lesson_nb(), leaky)
    assert any("squared_residuals" in leak for leak in leaks), leaks


def test_source_has_hidden_recheck_in_every_test_cell(fixture_course):
    src = nbformat.read(fixture_course / "source" / FIXTURE / f"{FIXTURE}.ipynb", as_version=4)
    for gid in FIXTURE_POINTS:
        body = cell_by_id(src, gid).source
        assert body.count(ma.HIDDEN_BEGIN) == 1 and "'fixture_checks'" in body


def test_points_are_counted():
    assert ma.points(lesson_nb()) == FIXTURE_POINTS
    table = ma.points_table({FIXTURE: ma.points(lesson_nb())})
    assert "| `99_fixture` | 2 | 5 |" in table and "**5**" in table


@pytest.mark.parametrize("student", [
    "instructor", "untouched", "edit_test_to_pass", "delete_test_cells", "infinite_loop", "sys_exit",
    "monkeypatch_checker", "replace_checker_module", "write_shadow_checker", "submit_shadow_checker",
    "print_all_tests_passed"])
def test_autograde_scores(graded_fixture, student):
    course, expected = graded_fixture
    assert cell_scores(course, FIXTURE, student) == expected[student]


def test_untouched_student_version_fails_only_in_exercise_cells(graded_fixture):
    course, _ = graded_fixture
    nb = autograded_nb(course, FIXTURE, "untouched")
    for i, cell in enumerate(nb.cells):
        if errors(cell):
            assert ma.nbgrader_meta(cell), f"cell {i} is not an exercise cell but failed: {errors(cell)}"
    for gid in FIXTURE_POINTS:
        assert "not implemented yet" in output_text(cell_by_id(nb, gid))
    assert "worked example" in output_text(nb.cells[-1])


def test_checker_redefinition_fooled_the_visible_check_but_not_the_hidden_one(graded_fixture):
    """The visible part printed the fake message; the hidden re-check with a fresh checker failed."""
    course, _ = graded_fixture
    for student in ("monkeypatch_checker", "replace_checker_module", "write_shadow_checker"):
        cell = cell_by_id(autograded_nb(course, FIXTURE, student), "99_fixture_relu_test")
        text = output_text(cell)
        assert "All tests passed" in text, (student, text)
        assert errors(cell) and "not implemented yet" in text, (student, text)


def test_timeout_interrupts_the_loop_and_grading_goes_on(graded_fixture):
    course, _ = graded_fixture
    nb = autograded_nb(course, FIXTURE, "infinite_loop")
    assert any(e.startswith(("CellTimeoutError", "KeyboardInterrupt"))
               for e in errors(cell_by_id(nb, "99_fixture_relu_test")))
    assert "mse: all 3 cases match" in output_text(cell_by_id(nb, "99_fixture_mse_test"))


def test_deleted_test_cells_are_put_back(graded_fixture):
    course, _ = graded_fixture
    nb = autograded_nb(course, FIXTURE, "delete_test_cells")
    assert "relu: all 3 cases match" in output_text(cell_by_id(nb, "99_fixture_relu_test"))
    assert errors(cell_by_id(nb, "99_fixture_mse_test"))


def test_feedback_and_csv_export(graded_fixture):
    """The rest of the instructor's path: feedback HTML and the grades CSV."""
    import csv

    course, expected = graded_fixture
    ma.run_nbgrader(course, "generate_feedback", FIXTURE, "--force", "--student=instructor")
    html = (course / "feedback" / "instructor" / FIXTURE / f"{FIXTURE}.html").read_text()
    assert "5.0" in html and "99_fixture_mse_test" in html
    out = course / "grades.csv"
    ma.run_nbgrader(course, "export", "--to", str(out))
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == set(expected)
    for student, cells in expected.items():
        assert float(rows[student]["raw_score"]) == sum(cells.values()), student
        assert float(rows[student]["max_score"]) == 5.0


def test_zip_collect_puts_lms_downloads_in_place(fixture_course, tmp_path):
    """Files named <student>_<lesson>.ipynb in downloaded/<lesson>/archive/ land in submitted/."""
    course = new_course(tmp_path / "zc")
    shutil.copytree(fixture_course / "source", course / "source")
    archive = course / "downloaded" / FIXTURE / "archive"
    archive.mkdir(parents=True)
    nbformat.write(release_nb(fixture_course), archive / f"ada-lovelace_{FIXTURE}.ipynb")
    ma.run_nbgrader(course, "zip_collect", FIXTURE)
    assert (course / "submitted" / "ada-lovelace" / FIXTURE / f"{FIXTURE}.ipynb").is_file()


def test_bad_markup_is_rejected_with_the_cell_named():
    nb = lesson_nb()
    cell_by_id(nb, "99_fixture_mse_test").metadata["nbgrader"].pop("points")
    cell_by_id(nb, "99_fixture_relu").source = "def relu(x):\n    ### BEGIN SOLUTION\n    return x"
    with pytest.raises(ma.MarkupError, match=r"99_fixture_relu\).*BEGIN SOLUTION / ### END SOLUTION"):
        ma.validate(nb, "fixture")
    with pytest.raises(ma.MarkupError, match=r"99_fixture_mse_test\): test cell needs points"):
        ma.validate(nb, "fixture")


def test_a_lesson_cell_that_needs_an_exercise_is_reported():
    nb = lesson_nb()
    assert ma.exercise_dependencies(nb) == []
    nb.cells.append(nbformat.v4.new_code_cell("print(relu(np.arange(3)) + 1)"))
    deps = ma.exercise_dependencies(nb)
    assert deps == [f"cell {len(nb.cells) - 1} uses relu, defined only by exercise cell 5"]
    assert any("uses relu" in w for w in ma.validate(nb, "fixture"))


def test_no_lesson_cell_depends_on_an_exercise_solution():
    """Static check over every lesson: the student version never needs a learner's answer later on."""
    lessons = real_lessons()
    if not lessons:
        pytest.skip("no lesson notebook in notebooks/ has nbgrader exercise cells yet")
    found = {p.name: ma.exercise_dependencies(nbformat.read(p, as_version=4)) for p in lessons}
    assert {k: v for k, v in found.items() if v} == {}


def test_unknown_lesson_is_rejected():
    with pytest.raises(SystemExit, match="unknown lesson"):
        ma.lesson_notebooks(FIXTURE_DIR, ["42_nope"])


# ----------------------------------------------------------------------------- real lessons

@pytest.fixture(scope="module")
def real_course(tmp_path_factory):
    if not real_lessons():
        pytest.skip("no lesson notebook in notebooks/ has nbgrader exercise cells yet")
    course = new_course(tmp_path_factory.mktemp("classroom_lessons"))
    # one snapshot of the lessons, so release and instructor version are the same revision
    snapshot = course / "lessons"
    snapshot.mkdir()
    for path in real_lessons():
        shutil.copy(path, snapshot / path.name)
    assert ma.main(["--notebooks", str(snapshot), "--course-dir", str(course)]) == 0
    return course


def test_every_lesson_generates_without_leaking_solutions(real_course):
    for path in sorted((real_course / "lessons").glob(ma.LESSON_GLOB)):
        rel = nbformat.read(real_course / "release" / path.stem / path.name, as_version=4)
        lesson = nbformat.read(path, as_version=4)
        assert solution_leaks(lesson, rel) == [], path.name
        text = "\n".join(c.source for c in rel.cells)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, path.name
        assert ma.points(rel) == ma.points(lesson), path.name


@pytest.mark.parametrize("lesson", lessons_to_autograde() or ["(none yet)"])
def test_real_lesson_autograde(real_course, lesson):
    """Instructor version: full marks. Untouched student version: 0, no crash, errors only in exercises."""
    if lesson == "(none yet)":
        pytest.skip("no lesson notebook in notebooks/ has nbgrader exercise cells yet")
    instructor = nbformat.read(real_course / "lessons" / f"{lesson}.ipynb", as_version=4)
    submit(real_course, lesson, "instructor", instructor)
    untouched = nbformat.read(real_course / "release" / lesson / f"{lesson}.ipynb", as_version=4)
    submit(real_course, lesson, "untouched", untouched)
    autograde(real_course, lesson, LESSON_TIMEOUT)
    pts = ma.points(untouched)
    assert cell_scores(real_course, lesson, "instructor") == pts
    assert cell_scores(real_course, lesson, "untouched") == {k: 0.0 for k in pts}
    graded = autograded_nb(real_course, lesson, "untouched")
    unfinished = ("NotImplementedError", "not implemented")
    for i, cell in enumerate(graded.cells):
        errs = errors(cell)
        if not errs:
            continue
        assert ma.nbgrader_meta(cell), f"{lesson} cell {i}: not an exercise cell, yet failed: {errs}"
        clear = any(u.lower() in e.lower() for e in errs for u in unfinished)
        # a top-level solution cell raises NotImplementedError itself; its test cell then cannot
        # find the name, with the clear message right above it
        above = graded.cells[i - 1]
        after_top_level = (ma.is_test(cell) and ma.is_solution(above) and errs[0].startswith("NameError")
                           and any("NotImplementedError" in e for e in errors(above)))
        assert clear or after_top_level, f"{lesson} cell {i}: unclear failure for an unfinished exercise: {errs}"
