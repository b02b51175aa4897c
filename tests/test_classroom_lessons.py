"""Real lessons as assignments: no student version holds an answer, and grading holds up to a class.

* Every lesson generates (one snapshot of notebooks/) without a solution line in its student version.
* The answer scan (classroom/answer_scan.py) runs every non-exercise code cell of each generated
  student version in the grading sandbox and tries every function (and numeric array) it defines
  against each checker of that lesson: none may pass. A planted answer shows that the scan is not blind.
* ``classroom_full`` (``--classroom-full``; the separate CI step): every lesson autograded (the
  instructor version gets full marks, the untouched student version 0), and an adversarial class on
  two real lessons in quick mode, one from scratch (01) and one with exercises that may use
  TensorFlow next to one that may not (05), in two autograde runs (one also grades every lesson's
  instructor and untouched versions): every attack class earns exactly the points of the
  honest work it contains, nothing more; honest work, noisy or not, gets full marks; no notebook
  ends ungraded.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbgrader", reason="nbgrader is in the `classroom` extra: pip install -e .[classroom]")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "classroom"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import answer_scan  # noqa: E402
import make_assignments as ma  # noqa: E402
from test_classroom import (CONFINED, FIXTURE, FIXTURE_DIR, GARBAGE_ON_THE_WIRE, KILL_GRADER, SWALLOW_INTERRUPT,  # noqa: E402
                            autograde, cell_by_id, cell_scores, export_rows, new_course, output_text, solution_leaks,
                            submit)

LESSONS = [p.stem for p in ma.lesson_notebooks(REPO / "notebooks")]
CHECK_TIMEOUT = 10           # s the learner's code may use per check (honest answers need well under 1 s)
STATEMENT_TIMEOUT = 150      # s per statement: `import tensorflow` in a sandbox on a shared CPU


def make_course(path, lessons):
    """A course folder with the given lessons generated (from one snapshot of notebooks/)."""
    course = new_course(path)
    snapshot = course / "lessons"
    snapshot.mkdir()
    for name in lessons:
        shutil.copy(REPO / "notebooks" / f"{name}.ipynb", snapshot / f"{name}.ipynb")
    assert ma.main(["--notebooks", str(snapshot), "--course-dir", str(course)]) == 0
    return course


@pytest.fixture(scope="module")
def lesson_course(tmp_path_factory):
    return make_course(tmp_path_factory.mktemp("classroom_real"), LESSONS)


def release(course, lesson):
    return nbformat.read(course / "release" / lesson / f"{lesson}.ipynb", as_version=4)


def instructor(course, lesson):
    return nbformat.read(course / "lessons" / f"{lesson}.ipynb", as_version=4)


# ----------------------------------------------------------------------------- generation

def test_every_lesson_generates_without_leaking_solutions(lesson_course):
    for lesson in LESSONS:
        rel, inst = release(lesson_course, lesson), instructor(lesson_course, lesson)
        assert solution_leaks(inst, rel) == [], lesson
        text = "\n".join(c.source for c in rel.cells)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, lesson
        assert ma.points(rel) == ma.points(inst), lesson


# ----------------------------------------------------------------------------- the answer scan

def student_version(nb, lesson):
    """The student version nbgrader's generate_assignment makes, built in this process (no CLI)."""
    from nbgrader.preprocessors import ClearSolutions

    nb = ma.make_source(nb, lesson)
    nb, _ = ClearSolutions().preprocess(nb, {})
    return nb


def test_the_answer_scan_finds_a_planted_answer():
    """Not blind: a lesson cell that defines a working relu is reported for the relu exercise only."""
    nb = student_version(nbformat.read(FIXTURE_DIR / f"{FIXTURE}.ipynb", as_version=4), FIXTURE)
    assert "raise NotImplementedError()" in "".join(c.source for c in nb.cells)
    nb.cells.insert(3, nbformat.v4.new_code_cell("def worked_relu(x):\n    return np.maximum(x, 0.0)\n"
                                                 "not_an_answer = lambda a, b: 0.0"))
    sys.path.insert(0, str(FIXTURE_DIR))
    try:
        found = answer_scan.scan(nb)
    finally:
        sys.path.remove(str(FIXTURE_DIR))
    assert found == {"99_fixture_relu_test": ["worked_relu"], "99_fixture_mse_test": []}


@pytest.mark.parametrize("lesson", LESSONS)
def test_no_student_version_holds_an_answer(lesson_course, lesson):
    found = answer_scan.scan(release(lesson_course, lesson))
    assert found and {gid: names for gid, names in found.items() if names} == {}


# ----------------------------------------------------------------------------- classroom_full

def grade(course, lesson_glob):
    autograde(course, lesson_glob, CHECK_TIMEOUT, statement_timeout=STATEMENT_TIMEOUT)


def assert_class_graded(course, lesson, subs):
    """Every submission got exactly its expected points, and every notebook ended 'graded'."""
    got = {s: cell_scores(course, lesson, s) for s in subs}
    wrong = {s: (got[s], expected) for s, (_, expected) in subs.items() if got[s] != expected}
    assert wrong == {}
    rows = export_rows(course)
    assert {s: rows[(lesson, s)]["grading_status"] for s in subs} == dict.fromkeys(subs, "graded")


# ----------------------------------------------------------------------------- classroom_full: adversarial class

def solved(course, lesson, **sources):
    """The student version with the instructor's solutions, except the cells given by grade id
    (None: the student's stub stays; a string: that code)."""
    nb = release(course, lesson)
    inst = instructor(course, lesson)
    for cell in nb.cells:
        gid = ma.nbgrader_meta(cell).get("grade_id")
        if gid and ma.is_solution(cell):
            new = sources.get(gid, ...)
            if new is ...:
                cell.source = cell_by_id(inst, gid).source
            elif new is not None:
                cell.source = new
    return nb


def without(nb, *grade_ids):
    nb = nbformat.from_dict(nb)
    nb.cells = [c for c in nb.cells if ma.nbgrader_meta(c).get("grade_id") not in grade_ids]
    return nb


def with_tests_edited(nb):
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if ma.is_test(cell):
            cell.source = "print('✓ all cases match')"
    return nb


def append(nb, *sources):
    nb = nbformat.from_dict(nb)
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def insert_after(nb, grade_id, source):
    nb = nbformat.from_dict(nb)
    nb.cells.insert(nb.cells.index(cell_by_id(nb, grade_id)) + 1, nbformat.v4.new_code_cell(source))
    return nb


SITE = [p for p in sys.path if p.endswith("site-packages")]
PATCH = '''
import builtins, numpy as np
np.allclose = lambda *a, **k: True
np.abs = lambda x: x * 0
builtins.isinstance = lambda *a: True
'''
FRAMES = '''
import gc, sys
def _steal(*args):
    frame = sys._getframe()
    while frame is not None:
        for key in ("expected", "want", "reference"):
            if key in frame.f_locals:
                return frame.f_locals[key]
        frame = frame.f_back
    return None
'''
NOISY = "import sys, warnings\nwarnings.warn('a warning')\nprint('noise ' * 1000, file=sys.stderr)\n"
STEAL_KEY = '''
import json
def {name}(*args):
    cells = json.load(open({path!r}))["cells"]
    ns = {{"np": __import__("numpy")}}
    for cell in cells:
        src = "".join(cell["source"])
        if "def {name}" in src:
            exec(src, ns)
    return ns["{name}"](*args)
'''


def adversarial_01(course):
    lesson = "01_convolution"
    full = {"01_conv2d_test": 3.0, "01_output_size_test": 2.0, "01_edge_filter_test": 2.0}
    score = lambda a, b, e: {"01_conv2d_test": a, "01_output_size_test": b, "01_edge_filter_test": e}
    own = dict(
        _01_conv2d='''
from numpy.lib.stride_tricks import sliding_window_view
def conv2d(x, w, b, strides=(1, 1), padding="valid"):
    kh, kw = w.shape[:2]
    if padding == "same":
        pads = []
        for n, k, s in ((x.shape[1], kh, strides[0]), (x.shape[2], kw, strides[1])):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, ((0, 0), *pads, (0, 0)))
    win = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::strides[0], ::strides[1]]
    return np.einsum("nhwcij,ijcf->nhwf", win, w) + b''',
        _01_output_size='''
def output_size(n, k, stride=1, padding="valid", dilation=1):
    span = dilation * (k - 1) + 1
    return {"valid": (n - span) // stride + 1, "same": -(-n // stride), "full": (n + span - 2) // stride + 1}[padding]''',
        _01_edge_filter="def horizontal_edge_kernel():\n    return np.array([[1.0, 1.0], [-1.0, -1.0]])")
    own = {k.lstrip("_"): v for k, v in own.items()}
    c = lambda **kw: solved(course, lesson, **kw)
    src = str(course / "source" / lesson / f"{lesson}.ipynb")
    subs = {
        "instructor": (instructor(course, lesson), full),
        "untouched": (release(course, lesson), score(0.0, 0.0, 0.0)),
        "honest_own_words": (c(**own), full),
        "noisy_honest": (append(c(), NOISY), full),
        "lesson_functions": (c(**{"01_conv2d": "conv2d = conv2d_fast", "01_output_size": "output_size = conv_output_size",
                                  "01_edge_filter": "horizontal_edge_kernel = lambda: FILTERS['vertical edges\\n(Sobel x)']"}),
                             score(0.0, 0.0, 0.0)),
        "framework_from_scratch": (c(**{"01_conv2d": "import tensorflow as tf\ndef conv2d(x, w, b, strides, padding):\n"
                                                     "    return tf.nn.conv2d(x, w, [1, *strides, 1], padding.upper()).numpy() + b",
                                        "01_output_size": f"import sys\nsys.path += {SITE!r}\nimport keras\n"
                                                          "def output_size(n, k, s, p, d):\n"
                                                          "    return keras.layers.Conv2D(1, k, strides=s, padding=p, "
                                                          "dilation_rate=d).compute_output_shape((1, n, n, 1))[1]"}),
                                   score(0.0, 0.0, 2.0)),
        "patched_numpy_and_builtins": (c(**{"01_conv2d": PATCH + "def conv2d(x, w, b, strides, padding):\n    return x",
                                            "01_output_size": "def output_size(*a):\n    return 0"}),
                                       score(0.0, 0.0, 2.0)),
        "frame_inspection": (c(**{"01_conv2d": FRAMES + "def conv2d(x, w, b, strides, padding):\n    return _steal()"}),
                             score(0.0, 2.0, 2.0)),
        "hang_and_exit_at_call": (c(**{"01_conv2d": "def conv2d(*a):\n    while True:\n        pass",
                                       "01_output_size": "import os\ndef output_size(*a):\n    os._exit(1)"}),
                                  score(0.0, 0.0, 2.0)),
        "swallowing_interrupt": (c(**{"01_conv2d": SWALLOW_INTERRUPT.replace("relu(x)", "conv2d(*a)")}),
                                 score(0.0, 2.0, 2.0)),
        "segfault": (c(**{"01_output_size": "import ctypes\ndef output_size(*a):\n    return ctypes.string_at(0)"}),
                     score(3.0, 0.0, 2.0)),
        "deleted_solution_and_test": (without(c(), "01_conv2d", "01_conv2d_test"),
                                      score(0.0, 2.0, 2.0)),
        "edited_tests": (with_tests_edited(c(**{"01_output_size": None, "01_edge_filter": None})),
                         score(3.0, 0.0, 0.0)),
        "garbage_on_the_wire": (c(**{"01_edge_filter": GARBAGE_ON_THE_WIRE.replace("relu(x)", "horizontal_edge_kernel()")
                                     .replace("return np.maximum(x, 0.0)", "return np.array([[1.0, 1.0], [-1.0, -1.0]])")}),
                                score(3.0, 2.0, 0.0)),
        "ipython_and_exits_between": (insert_after(insert_after(c(), "01_conv2d_test", "import os\nos._exit(0)"),
                                                   "01_output_size_test",
                                                   "get_ipython().input_transformers_post.append(lambda l: ['pass'])\n"
                                                   "import sys\nsys.exit(0)"), full),
    }
    if CONFINED["landlock"]:            # without Landlock the child can read the instructor's source (README)
        subs["read_the_answer_key"] = (c(**{"01_conv2d": STEAL_KEY.format(name="conv2d", path=src)}),
                                       score(0.0, 2.0, 2.0))
    if CONFINED["seccomp"] or CONFINED["landlock"] >= 6:
        subs["kill_the_grader"] = (c(**{"01_output_size": KILL_GRADER.replace("relu(x)", "output_size(*x)")}),
                                   score(3.0, 0.0, 2.0))
    return lesson, subs


def adversarial_05(course):
    lesson = "05_gan"
    full = {"gan_hinge_discriminator_loss_test": 2.0, "gan_hinge_generator_loss_test": 2.0,
            "gan_conv_transpose_size_test": 2.0}
    d, g, s = "gan_hinge_discriminator_loss", "gan_hinge_generator_loss", "gan_conv_transpose_size"
    score = lambda dd, gg, ss: {f"{d}_test": dd, f"{g}_test": gg, f"{s}_test": ss}
    c = lambda **kw: solved(course, lesson, **kw)
    subs = {
        "instructor": (instructor(course, lesson), full),
        "untouched": (release(course, lesson), score(0.0, 0.0, 0.0)),
        "honest_keras_hinge": (c(**{d: "hinge = keras.losses.Hinge()\ndef discriminator_loss(r, f):\n"
                                       "    return hinge(tf.ones_like(r), r) + hinge(-tf.ones_like(f), f)",
                                    g: "def generator_loss(f):\n    return -keras.ops.mean(f)"}), full),
        "honest_numpy_noisy": (append(c(**{d: "def discriminator_loss(r, f):\n    r, f = np.asarray(r), np.asarray(f)\n"
                                 "    return np.maximum(0, 1 - r).mean() + np.maximum(0, 1 + f).mean()",
                              g: "def generator_loss(f):\n    return -float(np.mean(f))",
                              s: "def conv_transpose_output_size(n, k, s, p):\n"
                                 "    return n * s if p == 'same' else (n - 1) * s + max(k, s)"}), NOISY), full),
        "lesson_bce_losses": (c(**{d: "def discriminator_loss(r, f):\n"
                                      "    return bce_from_logits(1.0, r) + bce_from_logits(0.0, f)",
                                   g: "def generator_loss(f):\n    return bce_from_logits(1.0, f)"}), score(0.0, 0.0, 2.0)),
        "keras_for_the_size": (c(**{s: "def conv_transpose_output_size(n, k, s, p):\n"
                                       "    return keras.layers.Conv2DTranspose(1, k, strides=s, padding=p)"
                                       ".compute_output_shape((1, n, n, 1))[1]"}), score(2.0, 2.0, 0.0)),
        "patched_framework_and_frames": (c(**{d: "keras.losses.Hinge = lambda *a, **k: (lambda *b: 0.0)\n"
                                                 "tf.reduce_mean = lambda *a, **k: 0.0\n"
                                                 "def discriminator_loss(r, f):\n    return 0.0",
                                              g: FRAMES + "def generator_loss(f):\n    return _steal()"}),
                                         score(0.0, 0.0, 2.0)),
        "hang_and_exit_at_call": (c(**{d: "def discriminator_loss(r, f):\n    while True:\n        pass",
                                       g: "import os\ndef generator_loss(f):\n    os._exit(2)"}), score(0.0, 0.0, 2.0)),
        "deleted_solution_and_test": (without(c(), g, f"{g}_test"), score(2.0, 0.0, 2.0)),
    }
    return lesson, subs


@pytest.mark.classroom_full
def test_every_lesson_and_a_class_on_lesson_01(lesson_course):
    """One autograde run over all lessons: each instructor version full marks, each untouched student
    version 0; and the adversarial class on lesson 01 (from scratch)."""
    for lesson in LESSONS:
        submit(lesson_course, lesson, "instructor", instructor(lesson_course, lesson))
        submit(lesson_course, lesson, "untouched", release(lesson_course, lesson))
    lesson, subs = adversarial_01(lesson_course)
    for student, (nb, _) in subs.items():
        submit(lesson_course, lesson, student, nb)
    grade(lesson_course, "[0-9][0-9]_*")
    for name in LESSONS:
        pts = ma.points(release(lesson_course, name))
        assert cell_scores(lesson_course, name, "instructor") == pts, name
        assert cell_scores(lesson_course, name, "untouched") == {k: 0.0 for k in pts}, name
    assert_class_graded(lesson_course, lesson, subs)
    nb = nbformat.read(lesson_course / "autograded" / "framework_from_scratch" / lesson / f"{lesson}.ipynb",
                       as_version=4)        # a TensorFlow answer to a from-scratch exercise is told why it fails
    assert "numpy only" in output_text(cell_by_id(nb, "01_conv2d_test"))


@pytest.mark.classroom_full
def test_a_class_on_lesson_05(tmp_path):
    """The adversarial class on lesson 05: two exercises may use TensorFlow, the third may not."""
    course = make_course(tmp_path / "gan", ["05_gan"])
    lesson, subs = adversarial_05(course)
    for student, (nb, _) in subs.items():
        submit(course, lesson, student, nb)
    grade(course, lesson)
    assert_class_graded(course, lesson, subs)
