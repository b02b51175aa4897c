"""Classroom (issues 8 and 15): nbgrader student versions, and grades decided outside the student's process.

Real nbgrader end to end, no mocks. Each test module run gets its own temporary nbgrader course
folder (an nbgrader_config.py that runs classroom/'s, sqlite gradebook inside), so runs are
isolated and safe under pytest-xdist.

* The fixture lesson tests/fixtures/classroom/99_fixture.ipynb (2 exercises, 2 + 3 points, checkers
  in fixture_checks.py next to it; relu from scratch, mse may use TensorFlow) carries the
  adversarial cases: one ``nbgrader autograde`` run grades a class of crafted submissions, one per
  attack, and each one's per-cell scores are read from the gradebook.
* Regrading, feedback, the CSV with its status columns, zip_collect and the exchange path
  (release_assignment / fetch_assignment / submit / collect) run on the same fixture.
* tests/test_classroom_lessons.py has the real lessons: generation without leaking a solution, the
  answer scan, and (--classroom-full) autograding every lesson and an adversarial class on two.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import tokenize
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader", reason="nbgrader is in the `classroom` extra: pip install -e .[classroom]")
from nbgrader.api import Gradebook  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "classroom"))
import make_assignments as ma  # noqa: E402
import sandbox  # noqa: E402

FIXTURE_DIR = REPO / "tests" / "fixtures" / "classroom"
FIXTURE = "99_fixture"
FIXTURE_POINTS = {"99_fixture_relu_test": 2.0, "99_fixture_mse_test": 3.0}
FIXTURE_TIMEOUT = 3      # s the learner's code may use per check; the fixture's checks take milliseconds
STATEMENT_TIMEOUT = 40   # s per top-level statement: room for `import tensorflow` in a shared CPU's sandbox
HANG_TIMEOUT = 3         # s per statement for the submissions that hang at top level (graded in a second run)
LESSON_TIMEOUT = 120     # s for real lessons on a shared CPU
COURSE_ID = "dl-course"


def sandbox_confines() -> dict:
    """Which kernel restrictions the sandbox gets on this machine (Landlock ABI, seccomp)."""
    proc = sandbox.SandboxProcess("numpy", sandbox.Settings())
    try:
        return {"landlock": proc.info.get("landlock", 0), "seccomp": bool(proc.info.get("seccomp"))}
    finally:
        proc.kill()


CONFINED = sandbox_confines()


# ----------------------------------------------------------------------------- helpers

def new_course(tmp: Path) -> Path:
    """An empty nbgrader course folder whose nbgrader_config.py runs classroom/nbgrader_config.py."""
    tmp.mkdir(parents=True, exist_ok=True)
    ma.write_course_config(tmp)
    return tmp


def gradebook_url(course: Path) -> str:
    return "sqlite:///" + str(course / "gradebook.db")


def cell_scores(course: Path, lesson: str, student: str) -> dict[str, float | None]:
    """grade_id -> score of each autograded cell of a student's submission, from the gradebook."""
    with Gradebook(gradebook_url(course), COURSE_ID) as gb:
        sub = gb.find_submission_notebook(lesson, lesson, student)
        return {g.name: g.score for g in sub.grades}


def submit(course: Path, lesson: str, student: str, nb, extra_files: dict | None = None) -> None:
    dest = course / "submitted" / student / lesson
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if isinstance(nb, str):
        (dest / f"{lesson}.ipynb").write_text(nb)
    else:
        nbformat.write(nb, dest / f"{lesson}.ipynb")
    for name, content in (extra_files or {}).items():
        (dest / name).write_bytes(content) if isinstance(content, bytes) else (dest / name).write_text(content)


def autograde(course: Path, lesson: str, timeout: float, pythonpath: Path | None = None, student: str | None = None,
              check: bool = True, statement_timeout: float | None = None):
    env = {"COURSE_QUICK": "1"}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), os.environ.get("PYTHONPATH")]))
    args = ["autograde", lesson, "--force", f"--SandboxGrade.timeout={timeout}",
            f"--SandboxGrade.statement_timeout={statement_timeout or max(timeout, STATEMENT_TIMEOUT)}"]
    if student:
        args.append(f"--student={student}")
    if check:
        return ma.run_nbgrader(course, *args, env=env)
    return subprocess.run(ma.nbgrader_command() + args, cwd=course, capture_output=True, text=True,
                          env=ma.nbgrader_env(env))


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


def export_rows(course: Path) -> dict[str, dict]:
    out = course / "grades.csv"
    ma.run_nbgrader(course, "export", "--to", str(out))
    with out.open(newline="") as f:
        return {(r["assignment"], r["student_id"]): r for r in csv.DictReader(f)}


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


# ----------------------------------------------------------------------------- the fixture course

@pytest.fixture(scope="module")
def fixture_course(tmp_path_factory):
    course = new_course(tmp_path_factory.mktemp("classroom_fixture"))
    assert ma.main(["--notebooks", str(FIXTURE_DIR), "--course-dir", str(course)]) == 0
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


def with_code(nb, grade_id, source):
    nb = nbformat.from_dict(nb)
    cell_by_id(nb, grade_id).source = source
    return nb


def insert_after(nb, grade_id, source):
    nb = nbformat.from_dict(nb)
    idx = nb.cells.index(cell_by_id(nb, grade_id))
    nb.cells.insert(idx + 1, nbformat.v4.new_code_cell(source))
    return nb


def without(nb, grade_ids):
    nb = nbformat.from_dict(nb)
    nb.cells = [c for c in nb.cells if ma.nbgrader_meta(c).get("grade_id") not in grade_ids]
    return nb


RELU = "def relu(x):\n    return np.maximum(x, 0.0)\n"
MSE = "def mse(y_true, y_pred):\n    return float(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2))\n"

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

SHADOW_BUILTINS = '''
import builtins
builtins.isinstance = lambda *args: True
builtins.len = lambda x: 0
builtins.exec = lambda *args, **kwargs: None
builtins.compile = lambda *args, **kwargs: None
_real_import = builtins.__import__
def _import(name, *args, **kwargs):
    if name.startswith(("fixture_checks", "course_lib")):
        raise ImportError("no checkers today")
    return _real_import(name, *args, **kwargs)
builtins.__import__ = _import
def relu(x):
    return x
def mse(y_true, y_pred):
    return 0.0
'''

PATCH_NUMPY = '''
import numpy as np
import numpy.testing
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.abs = lambda x: x * 0
np.isfinite = lambda x: np.ones(np.shape(x), bool)
np.maximum = lambda a, b: a
def relu(x):
    return x
def mse(y_true, y_pred):
    return 0.0
'''

FRAME_INSPECTION = '''
import inspect, sys, gc
def relu(x):
    frame = sys._getframe()
    while frame is not None:          # look for the checker's expected answer up the stack
        for key in ("expected", "want", "reference"):
            if key in frame.f_locals:
                return frame.f_locals[key]
        frame = frame.f_back
    for obj in gc.get_objects():       # or anywhere in this process
        if type(obj).__name__ == "function" and obj.__name__ == "check_relu":
            return obj.__globals__["np"].maximum(x, 0.0)
    return x
'''

IPYTHON_TRANSFORMER = '''
ip = get_ipython()
ip.input_transformers_post.append(lambda lines: ["print('All tests passed')\\n"])
ip.showtraceback = lambda *args, **kwargs: None
ip.events.register("pre_run_cell", lambda *args: None)
def relu(x):
    return x
'''

NOISY_RELU = '''
import sys, warnings
def relu(x):
    warnings.warn("relu: about to compute")
    print("relu called on", x.shape, file=sys.stderr)
    for _ in range(3000):
        print("lots of output")
    return np.maximum(x, 0.0)
'''

NOISY_MSE = '''
import sys, warnings
def mse(y_true, y_pred):
    warnings.warn("deprecated-looking warning", DeprecationWarning)
    sys.stderr.write("stderr line\\n")
    return float(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2))
'''

SWALLOW_INTERRUPT = '''
import time
def relu(x):
    while True:
        try:
            time.sleep(0.05)
        except BaseException:
            pass
'''

CALL_EXIT = "import os\ndef relu(x):\n    os._exit(0)\n"

KILL_GRADER = '''
import os, signal
def relu(x):
    for target in (os.getppid(), 1):
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
    except OSError:
        pass
    return x
'''

FORK_BOMB = '''
import os
def relu(x):
    children = [os.fork() for _ in range(1000)]
    return np.maximum(x, 0.0)
'''

READ_ANSWER_KEY = '''
import glob, json, os
def _steal():
    for path in glob.glob("/**/source/99_fixture/99_fixture.ipynb", recursive=True) + [%r]:
        try:
            cells = json.load(open(path))["cells"]
        except OSError:
            continue
        for cell in cells:
            src = "".join(cell["source"])
            if src.startswith("def relu"):
                ns = {"np": np}
                exec(src, ns)
                return ns["relu"]
    return None
def relu(x):
    stolen = _steal()
    return stolen(x) if stolen else x
'''

IMPORT_FRAMEWORK = '''
import sys
for p in %r:
    sys.path.append(p)
def relu(x):
    import tensorflow as tf
    return tf.nn.relu(x).numpy()
'''

TF_MSE = '''
import tensorflow as tf
def mse(y_true, y_pred):
    return tf.reduce_mean(tf.square(tf.constant(y_true) - tf.constant(y_pred)))
'''

LYING_RESULTS = '''
class Liar(np.ndarray):
    def __eq__(self, other):
        return True
    def __array__(self, *args, **kwargs):
        return np.zeros(1)
def relu(x):
    return np.zeros(x.shape).view(Liar)
class Always:
    def __eq__(self, other): return True
    def __float__(self): return 0.0
def mse(y_true, y_pred):
    return Always()
'''

HUGE_RESULT = "def relu(x):\n    return np.zeros((9000, 9000))\n"

MEMORY_BOMB = "def relu(x):\n    blocks = [np.ones(10**9) for _ in range(20)]\n    return np.maximum(x, 0.0)\n"

SEGFAULT = "import ctypes\ndef relu(x):\n    return ctypes.string_at(0)\n"

GARBAGE_ON_THE_WIRE = '''
import os
def relu(x):
    for fd in range(3, 64):
        try:
            os.write(fd, b"CLS1\\xff\\xff\\xff\\xffgarbage" * 10)
        except OSError:
            pass
    return np.maximum(x, 0.0)
'''


def compiled_shadow_module() -> bytes | None:
    """A real CPython extension module ``fixture_checks`` whose checkers print 'All tests passed'."""
    cc = shutil.which("cc") or shutil.which("gcc")
    include = sysconfig.get_paths()["include"]
    if not cc or not (Path(include) / "Python.h").exists():
        return None
    src = r'''
#include <Python.h>
static PyObject* ok(PyObject* self, PyObject* args) { PySys_WriteStdout("All tests passed\n"); Py_RETURN_NONE; }
static PyMethodDef methods[] = {{"check_relu", ok, METH_VARARGS, ""}, {"check_mse", ok, METH_VARARGS, ""},
                                {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "fixture_checks", NULL, -1, methods};
PyMODINIT_FUNC PyInit_fixture_checks(void) { return PyModule_Create(&module); }
'''
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "m.c").write_text(src)
        out = Path(tmp) / "m.so"
        r = subprocess.run([cc, "-shared", "-fPIC", f"-I{include}", "-o", str(out), str(Path(tmp) / "m.c")],
                           capture_output=True)
        return out.read_bytes() if r.returncode == 0 else None


EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def adversarial_submissions(course):
    """student id -> (notebook, extra files, expected grade_id -> score). One per attack class."""
    rel, full = release_nb(course), FIXTURE_POINTS
    relu_only = {"99_fixture_relu_test": 2.0, "99_fixture_mse_test": 0.0}
    mse_only = {"99_fixture_relu_test": 0.0, "99_fixture_mse_test": 3.0}
    zero = {k: 0.0 for k in full}
    both = with_solutions(rel, ["99_fixture_relu", "99_fixture_mse"])
    mse_solved = with_solutions(rel, ["99_fixture_mse"])

    edited = with_solutions(rel, ["99_fixture_relu"])
    cell_by_id(edited, "99_fixture_relu_test").source = "pass"
    cell_by_id(edited, "99_fixture_mse_test").source = "print('All tests passed')"

    printed = nbformat.from_dict(rel)
    for gid in ("99_fixture_relu", "99_fixture_mse"):
        cell_by_id(printed, gid).source += '\nprint("All tests passed")'
    printed.cells.append(nbformat.v4.new_markdown_cell("All tests passed ✓"))

    moved = nbformat.from_dict(both)       # test cell moved above its solution: the function is not there yet
    test = cell_by_id(moved, "99_fixture_relu_test")
    moved.cells.remove(test)
    moved.cells.insert(moved.cells.index(cell_by_id(moved, "99_fixture_relu")), test)

    shadow = {"fixture_checks.py": FAKE_MODULE, "sitecustomize.py": "raise SystemExit", "usercustomize.py": FAKE_MODULE,
              "numpy.py": "raise ImportError('shadowed')", "course_lib.py": FAKE_MODULE}
    compiled = compiled_shadow_module()
    if compiled:
        shadow[f"fixture_checks{EXT_SUFFIX}"] = compiled

    subs = {
        "instructor": (lesson_nb(), None, full),
        "untouched": (rel, None, zero),
        "honest_own_words": (with_code(with_code(rel, "99_fixture_relu", RELU), "99_fixture_mse", MSE), None, full),
        "regrade": (both, None, full),           # graded again later, after a broken resubmission
        # tests edited or deleted: graded from the source anyway
        "edit_test_cells": (edited, None, relu_only),
        "delete_test_cells": (without(with_solutions(rel, ["99_fixture_relu"]), set(full)), None, relu_only),
        "delete_solution_and_test": (without(mse_solved, {"99_fixture_relu", "99_fixture_relu_test"}), None, mse_only),
        "test_cell_moved_up": (moved, None, mse_only),
        # hangs and exits cost only their own exercise
        "infinite_loop_in_function": (with_code(mse_solved, "99_fixture_relu", "def relu(x):\n    while True:\n"
                                                                             "        pass"), None, mse_only),
        "swallow_keyboard_interrupt": (with_code(mse_solved, "99_fixture_relu", SWALLOW_INTERRUPT), None, mse_only),
        "hang_top_level_loop": (insert_after(both, "99_fixture_relu", "while True:\n    pass"), None, full),
        "hang_top_level_swallowing": (insert_after(both, "99_fixture_relu_test", SWALLOW_INTERRUPT + "relu(0)\n" + RELU),
                                      None, full),
        "os_exit_in_function": (with_code(mse_solved, "99_fixture_relu", CALL_EXIT), None, mse_only),
        "os_exit_top_level": (insert_after(both, "99_fixture_relu_test", "import os\nos._exit(3)"), None, full),
        "sys_exit_top_level": (insert_after(with_solutions(rel, ["99_fixture_relu"]), "99_fixture_relu_test",
                                            "import sys\nsys.exit(0)"), None, relu_only),
        "segfault_in_function": (with_code(mse_solved, "99_fixture_relu", SEGFAULT), None, mse_only),
        "memory_bomb_in_function": (with_code(mse_solved, "99_fixture_relu", MEMORY_BOMB), None, mse_only),
        "syntax_error_cell": (insert_after(both, "99_fixture_relu", "def broken(:\n    pass"), None, full),
        # the old in-kernel attacks: checkers are not in the student's process any more
        "monkeypatch_checker": (insert_after(rel, "99_fixture_relu", MONKEYPATCH), None, zero),
        "replace_checker_module": (insert_after(rel, "99_fixture_relu", REPLACE_MODULE), None, zero),
        "write_shadow_checker": (insert_after(rel, "99_fixture_relu", WRITE_SHADOW), None, zero),
        "submit_shadow_modules": (rel, shadow, zero),
        "print_all_tests_passed": (printed, None, zero),
        "shadow_builtins": (insert_after(rel, "99_fixture_relu", SHADOW_BUILTINS), None, zero),
        "patch_numpy": (insert_after(rel, "99_fixture_relu", PATCH_NUMPY), None, zero),
        "frame_inspection": (with_code(rel, "99_fixture_relu", FRAME_INSPECTION), None, zero),
        "ipython_input_transformers": (insert_after(rel, "99_fixture_relu", IPYTHON_TRANSFORMER), None, zero),
        "lying_result_objects": (with_code(with_code(rel, "99_fixture_relu", LYING_RESULTS), "99_fixture_mse",
                                           "pass"), None, zero),
        "huge_result": (with_code(mse_solved, "99_fixture_relu", HUGE_RESULT), None, mse_only),
        "garbage_on_the_wire": (with_code(mse_solved, "99_fixture_relu", GARBAGE_ON_THE_WIRE), None, mse_only),
        # honest work that prints and warns keeps its points; TensorFlow only where allowed
        "prints_and_warns": (with_code(with_code(rel, "99_fixture_relu", NOISY_RELU), "99_fixture_mse", NOISY_MSE),
                             None, full),
        "tensorflow_where_allowed": (with_code(with_solutions(rel, ["99_fixture_relu"]), "99_fixture_mse", TF_MSE),
                                     None, full),
        "tensorflow_in_from_scratch": (insert_after(mse_solved, "99_fixture_relu",
                                                    IMPORT_FRAMEWORK % [p for p in sys.path if "site-packages" in p]),
                                       None, mse_only),
    }
    if CONFINED["seccomp"] or CONFINED["landlock"] >= 6:      # otherwise these would really hit the machine
        subs["kill_the_grader"] = (with_code(mse_solved, "99_fixture_relu", KILL_GRADER), None, mse_only)
    if CONFINED["seccomp"]:
        subs["fork_bomb"] = (with_code(mse_solved, "99_fixture_relu", FORK_BOMB), None, mse_only)
    if CONFINED["landlock"]:
        src = str(course / "source" / FIXTURE / f"{FIXTURE}.ipynb")
        subs["read_the_answer_key"] = (with_code(mse_solved, "99_fixture_relu", READ_ANSWER_KEY % src), None, mse_only)
    return subs


@pytest.fixture(scope="module")
def graded_fixture(fixture_course):
    """All submissions graded by real nbgrader: two runs, the second (students hang_*, whose code
    hangs at top level) with a short statement time limit."""
    subs = adversarial_submissions(fixture_course)
    for student, (nb, extra, _) in subs.items():
        if not student.startswith("hang_"):
            submit(fixture_course, FIXTURE, student, nb, extra)
    proc = autograde(fixture_course, FIXTURE, FIXTURE_TIMEOUT, pythonpath=FIXTURE_DIR)
    for student, (nb, extra, _) in subs.items():
        if student.startswith("hang_"):
            submit(fixture_course, FIXTURE, student, nb, extra)
    hangs = autograde(fixture_course, FIXTURE, FIXTURE_TIMEOUT, pythonpath=FIXTURE_DIR, student="hang_*",
                      statement_timeout=HANG_TIMEOUT)
    log = proc.stdout + proc.stderr + hangs.stdout + hangs.stderr
    return fixture_course, {s: expected for s, (_, _, expected) in subs.items()}, log


@pytest.fixture(scope="module")
def graded_rows(graded_fixture):
    """grades.csv rows of the graded class, exported once."""
    return export_rows(graded_fixture[0])


# ----------------------------------------------------------------------------- fixture tests

def test_config_loads_and_wires_the_sandbox_grader():
    """classroom/nbgrader_config.py is valid for nbgrader and replaces Execute by SandboxGrade."""
    from traitlets.config import PyFileConfigLoader
    from nbgrader.preprocessors import Execute, OverwriteCells
    import grading

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "classroom")).load_config()
    assert 0 < grading.SandboxGrade(config=cfg).timeout <= 600
    assert Execute not in cfg.Autograde.autograde_preprocessors
    assert grading.SandboxGrade in cfg.Autograde.autograde_preprocessors
    steps = cfg.Autograde.autograde_preprocessors
    assert steps.index(grading.SandboxGrade) < steps.index(grading.SaveAutoGrades) < steps.index(
        grading.RecordGradingStatus)
    assert grading.RestoringOverwriteCells in cfg.Autograde.sanitize_preprocessors
    assert OverwriteCells(config=cfg).add_missing_cells
    assert cfg.CourseDirectory.root == str(REPO / "classroom")
    assert {"*.py", "*.so"} <= set(cfg.CourseDirectory.ignore)


def test_course_folder_config_runs_the_classroom_config(fixture_course):
    from traitlets.config import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(fixture_course)).load_config()
    assert cfg.CourseDirectory.root == str(fixture_course)
    assert cfg.CourseDirectory.db_url == gradebook_url(fixture_course)
    assert cfg.ExportApp.plugin_class.__name__ == "StatusCsvExportPlugin"


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
    assert "numpy but not TensorFlow" in rel.cells[0].source


def test_token_scan_finds_a_leaked_solution(fixture_course):
    """The scan used above is not blind: a release that kept a solution line is caught."""
    leaky = release_nb(fixture_course)
    cell_by_id(leaky, "99_fixture_mse").source = cell_by_id(lesson_nb(), "99_fixture_mse").source
    leaks = solution_leaks(lesson_nb(), leaky)
    assert any("squared_residuals" in leak for leak in leaks), leaks


def test_release_test_cells_equal_the_source(fixture_course):
    """No hidden re-check is added: the gradebook's test cells are what students see (so an honest
    submission does not look tampered with)."""
    src = nbformat.read(fixture_course / "source" / FIXTURE / f"{FIXTURE}.ipynb", as_version=4)
    for gid in FIXTURE_POINTS:
        assert cell_by_id(src, gid).source == cell_by_id(release_nb(fixture_course), gid).source


def test_points_are_counted():
    assert ma.points(lesson_nb()) == FIXTURE_POINTS
    table = ma.points_table({FIXTURE: ma.points(lesson_nb())})
    assert "| `99_fixture` | 2 | 5 |" in table and "**5**" in table


def test_every_attack_class_has_a_submission(fixture_course):
    names = set(adversarial_submissions(fixture_course))
    for attack in ("edit_test_cells", "delete_solution_and_test", "infinite_loop_in_function",
                   "swallow_keyboard_interrupt", "os_exit_in_function", "os_exit_top_level", "shadow_builtins",
                   "patch_numpy", "frame_inspection", "ipython_input_transformers", "submit_shadow_modules",
                   "prints_and_warns", "tensorflow_in_from_scratch"):
        assert attack in names


def test_autograde_scores(graded_fixture):
    """Every submission gets exactly the points its work deserves: none for an attack, all for honest
    work (noisy or not), and a crash, hang or exit costs only its own exercise."""
    course, expected, _ = graded_fixture
    got = {s: cell_scores(course, FIXTURE, s) for s in expected}
    wrong = {s: (got[s], expected[s]) for s in expected if got[s] != expected[s]}
    assert wrong == {}


def test_no_grading_crash_and_every_notebook_graded(graded_fixture, graded_rows):
    course, expected, log = graded_fixture
    rows = graded_rows
    assert {s for (_, s) in rows} == set(expected)
    for student, cells in expected.items():
        row = rows[(FIXTURE, student)]
        assert row["grading_status"] == "graded", (student, row)
        assert float(row["raw_score"]) == sum(cells.values()), student
        assert float(row["max_score"]) == 5.0
    assert "error processing assignment" not in log.lower(), log[-3000:]


def test_untouched_student_version_fails_with_a_clear_message(graded_fixture):
    course, _, _ = graded_fixture
    nb = autograded_nb(course, FIXTURE, "untouched")
    for gid in FIXTURE_POINTS:
        assert "not implemented yet" in output_text(cell_by_id(nb, gid))
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code" and not ma.is_test(c))


def test_failure_messages_name_what_happened(graded_fixture):
    course, _, _ = graded_fixture
    relu = lambda student: output_text(cell_by_id(autograded_nb(course, FIXTURE, student), "99_fixture_relu_test"))
    assert "time limit" in relu("infinite_loop_in_function")
    assert "time limit" in relu("swallow_keyboard_interrupt")
    assert "process running your code ended" in relu("os_exit_in_function")
    assert "SIGSEGV" in relu("segfault_in_function")
    assert "MemoryError" in relu("memory_bomb_in_function")
    assert "cannot be sent to the grader" in relu("huge_result")
    assert "not defined" in relu("test_cell_moved_up")
    assert "numpy only" in relu("tensorflow_in_from_scratch") or "tensorflow" in relu("tensorflow_in_from_scratch")
    # the checker's own output, never the student's
    assert "All tests passed" not in relu("print_all_tests_passed")
    assert "✓ relu" in relu("prints_and_warns")


def test_top_level_hang_and_exit_are_skipped_and_reported(graded_fixture):
    course, _, _ = graded_fixture
    with open(course / "autograde_status.json") as f:
        import json
        status = json.load(f)[FIXTURE]
    for student in ("hang_top_level_loop", "hang_top_level_swallowing"):
        assert status[student][FIXTURE]["status"] == "graded"
    nb = autograded_nb(course, FIXTURE, "infinite_loop_in_function")
    assert "time limit" in output_text(cell_by_id(nb, "99_fixture_relu_test"))


def log_by_student(log: str) -> dict[str, str]:
    """The autograde log split into the part of each student (nbgrader logs 'Sanitizing .../submitted/<id>/...')."""
    parts, student = {}, None
    for line in log.splitlines():
        if "Sanitizing " in line and "/submitted/" in line:
            student = line.split("/submitted/")[1].split("/")[0]
        if student:
            parts[student] = parts.get(student, "") + line + "\n"
    return parts


def test_tamper_warning_only_for_changed_cells(graded_fixture, graded_rows):
    """The 'read-only cell changed' warning names the submissions that changed one, and no other."""
    course, expected, log = graded_fixture
    per_student = log_by_student(log)
    tampered = {s for s, text in per_student.items() if "was changed in the submission" in text}
    assert tampered == {"edit_test_cells"}, tampered
    assert "checksum" not in log
    rows = graded_rows
    assert "read-only cell changed" in rows[(FIXTURE, "edit_test_cells")]["grading_notes"]
    assert "deleted by the student" in rows[(FIXTURE, "delete_solution_and_test")]["grading_notes"]
    for honest in ("instructor", "honest_own_words", "untouched", "prints_and_warns", "tensorflow_where_allowed"):
        assert "changed" not in per_student[honest] and "Missing grade cell" not in per_student[honest], honest
        assert rows[(FIXTURE, honest)]["grading_notes"] == "", honest


def test_regrade_after_a_failed_run_keeps_no_stale_score(graded_fixture, graded_rows):
    """A submission graded once (full marks, in the class run), then replaced by one nbgrader cannot
    read: its old 5 points are gone, and grades.csv says 'not graded' rather than showing a score."""
    course, _, _ = graded_fixture
    assert float(graded_rows[(FIXTURE, "regrade")]["raw_score"]) == 5.0
    submit(course, FIXTURE, "regrade", '{"cells": [ this is not a notebook')
    proc = autograde(course, FIXTURE, FIXTURE_TIMEOUT, pythonpath=FIXTURE_DIR, student="regrade", check=False)
    assert proc.returncode != 0
    with Gradebook(gradebook_url(course), COURSE_ID) as gb:
        grades = gb.find_submission_notebook(FIXTURE, FIXTURE, "regrade").grades
        assert grades and all(g.auto_score is None and g.needs_manual_grade for g in grades)
    row = export_rows(course)[(FIXTURE, "regrade")]
    assert row["grading_status"] == "not graded" and "did not finish" in row["grading_notes"]
    assert float(row["raw_score"]) == 0.0


def test_feedback_shows_the_graders_verdict(graded_fixture):
    course, _, _ = graded_fixture
    ma.run_nbgrader(course, "generate_feedback", FIXTURE, "--force", "--student=instructor")
    html = (course / "feedback" / "instructor" / FIXTURE / f"{FIXTURE}.html").read_text()
    assert "5.0" in html and "99_fixture_mse_test" in html and "✓ mse" in html


def test_zip_collect_puts_lms_downloads_in_place(fixture_course, tmp_path):
    """Files named <student>_<lesson>.ipynb in downloaded/<lesson>/archive/ land in submitted/."""
    course = new_course(tmp_path / "zc")
    shutil.copytree(fixture_course / "source", course / "source")
    archive = course / "downloaded" / FIXTURE / "archive"
    archive.mkdir(parents=True)
    nbformat.write(release_nb(fixture_course), archive / f"ada-lovelace_{FIXTURE}.ipynb")
    ma.run_nbgrader(course, "zip_collect", FIXTURE)
    assert (course / "submitted" / "ada-lovelace" / FIXTURE / f"{FIXTURE}.ipynb").is_file()


def test_exchange_release_fetch_submit_collect_autograde(graded_fixture, tmp_path):
    """The JupyterHub path with a local exchange folder, end to end: the instructor releases, a
    student fetches, solves one exercise, submits; the instructor collects and autogrades."""
    course = graded_fixture[0]
    exchange = tmp_path / "exchange"
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)
    ex = f"--Exchange.root={exchange}"
    ma.run_nbgrader(course, "release_assignment", FIXTURE, ex, "--force")
    home = tmp_path / "student_home"
    home.mkdir()
    student_env = {"HOME": str(home)}
    from nbgrader.utils import get_username
    ada = get_username()                 # nbgrader names the student after the OS user who submits
    student = ["--course", COURSE_ID, ex]
    ma.run_nbgrader(home, "fetch_assignment", FIXTURE, *student, env=student_env)
    fetched = home / FIXTURE / f"{FIXTURE}.ipynb"
    nb = nbformat.read(fetched, as_version=4)
    nbformat.write(with_solutions(nb, ["99_fixture_relu"]), fetched)
    ma.run_nbgrader(home, "submit", FIXTURE, *student, env=student_env)
    ma.run_nbgrader(course, "collect", FIXTURE, ex, "--update")
    assert (course / "submitted" / ada / FIXTURE / f"{FIXTURE}.ipynb").is_file()
    autograde(course, FIXTURE, FIXTURE_TIMEOUT, pythonpath=FIXTURE_DIR, student=ada)
    assert cell_scores(course, FIXTURE, ada) == {"99_fixture_relu_test": 2.0, "99_fixture_mse_test": 0.0}


def test_bad_markup_is_rejected_with_the_cell_named():
    nb = lesson_nb()
    cell_by_id(nb, "99_fixture_mse_test").metadata["nbgrader"].pop("points")
    cell_by_id(nb, "99_fixture_relu").source = "def relu(x):\n    ### BEGIN SOLUTION\n    return x"
    with pytest.raises(ma.MarkupError, match=r"99_fixture_relu\).*BEGIN SOLUTION / ### END SOLUTION"):
        ma.validate(nb, "fixture")
    with pytest.raises(ma.MarkupError, match=r"99_fixture_mse_test\): test cell needs points"):
        ma.validate(nb, "fixture")


def test_a_test_cell_may_only_use_its_imports_and_the_answers():
    """A test cell that passed a lesson variable to its checker would let the student choose the
    checker's input (the grader takes that value from the student's code): refused."""
    nb = lesson_nb()
    ma.validate(nb, "fixture")
    cell_by_id(nb, "99_fixture_relu_test").source = "from fixture_checks import check_relu\ncheck_relu(relu, cases)"
    with pytest.raises(ma.MarkupError, match=r"99_fixture_relu_test\): test cell uses 'cases'"):
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
