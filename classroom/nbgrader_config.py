"""nbgrader course setup for the deep-learning course (see classroom/README.md).

nbgrader reads this file from the folder it is run in: run every ``nbgrader`` command from
``classroom/``. The course root is this folder, wherever you start from, so source/, release/,
submitted/, autograded/, feedback/, gradebook.db and autograde_status.json all live next to this
file. (A course folder elsewhere gets a two-line nbgrader_config.py from make_assignments.py that
sets CLASSROOM_CODE to this folder and runs this file; its root is then that folder.)

Autograding never runs student code in the grading process: grading.SandboxGrade runs it in a
sandboxed child process and decides every grade outside it (README: "How grading works").

Environment knobs (read here, once):
    CLASSROOM_CELL_TIMEOUT   seconds one statement of a student's code may run, and seconds the
                             learner's code may use in one check (default 180)
"""
import os
import sys

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))
CODE = globals().get("CLASSROOM_CODE", HERE)       # the folder of grading.py and sandbox.py
if CODE not in sys.path:
    sys.path.insert(0, CODE)
import grading  # noqa: E402

c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

# Autograde: nbgrader's pipeline with Execute (which runs the notebook in a kernel, student code
# and tests together) replaced by SandboxGrade, OverwriteCells by its fixed version, and a last
# step that records what could not be graded. Old scores are cleared before a submission is graded.
c.Autograde.sanitize_preprocessors = grading.SANITIZE_PREPROCESSORS
c.Autograde.autograde_preprocessors = grading.AUTOGRADE_PREPROCESSORS
c.Autograde.pre_convert_hook = grading.make_reset_hook(HERE, c.CourseDirectory.db_url)

# Time limit per statement of the student's code, and per check for the learner's code. A statement
# that runs longer (an infinite loop, a loop that swallows KeyboardInterrupt) is killed with its
# process and skipped; a check whose calls take longer scores 0. Quick-mode lesson statements take
# well under a second in the sandbox; 180 s leaves room for a slow, shared machine.
c.SandboxGrade.timeout = float(os.environ.get("CLASSROOM_CELL_TIMEOUT", "180"))
c.SandboxGrade.statement_timeout = float(os.environ.get("CLASSROOM_CELL_TIMEOUT", "180"))

# A student who deletes a read-only test cell does not escape it: autograde puts the cell back
# (from the gradebook, hidden tests included) and grades it.
c.OverwriteCells.add_missing_cells = True

# grades.csv gets grading_status and grading_notes columns (a crash is never a silent 0).
c.ExportApp.plugin_class = grading.StatusCsvExportPlugin

# nbgrader copies a submission's other files into autograded/; nothing reads them, but keep Python
# files and packages out anyway. Lessons are notebook-only.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "*.py", "*.pth", "*.so", "*.pyd", "course_lib"]

# zip_collect: files downloaded from an LMS (or e-mail) are named <student_id>_<lesson>.ipynb,
# e.g. ada_01_convolution.ipynb, and put in downloaded/<lesson>/archive/ (zip files are unpacked).
c.ZipCollectApp.collector_plugin = "nbgrader.plugins.FileNameCollectorPlugin"
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[A-Za-z0-9.-]+)_(?P<file_id>[0-9][0-9]_[A-Za-z0-9_]+\.ipynb)$")

# Limit huge outputs in graded notebooks and feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 100
