"""nbgrader course setup for the deep-learning course (see classroom/README.md).

nbgrader reads this file from the folder it is run in: run every ``nbgrader`` command from
``classroom/``. The course root is this folder, wherever you start from, so source/, release/,
submitted/, autograded/, feedback/ and gradebook.db all live next to this file.

Environment knobs (read here, once):
    CLASSROOM_CELL_TIMEOUT   seconds one cell may run while grading (default 180)
    COURSE_QUICK             grading kernels inherit it; set to 1 here unless you set it yourself
"""
import os

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "dl-course"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

# Grade in quick mode: exercises are graded by their checkers, which do not depend on the mode, and
# the worked cells of a lesson then take about a minute instead of up to ten.
os.environ.setdefault("COURSE_QUICK", "1")

# Per-cell timeout. On timeout nbgrader interrupts the kernel (KeyboardInterrupt in the student's
# code), records a CellTimeoutError in that cell and goes on with the next cell, so an infinite loop
# costs the student that cell's points only. Quick-mode lesson cells take seconds; 180 s leaves room
# for a slow, shared machine.
c.Execute.timeout = int(os.environ.get("CLASSROOM_CELL_TIMEOUT", "180"))
c.Execute.interrupt_on_timeout = True
# nbgrader's Execute always runs with allow_errors=True (not configurable): a failing cell is
# recorded as an error in that cell (0 points for a test cell) and execution goes on.
c.Execute.execute_retries = 0

# A student who deletes a read-only test cell does not escape it: autograde puts the cell back
# (from the gradebook, hidden tests included) and runs it.
c.OverwriteCells.add_missing_cells = True

# The submitted folder becomes the grading kernel's working directory, which is first on sys.path.
# Never copy Python files from a submission into it: a student's course_lib.py (or course_lib/,
# sitecustomize.py, *.pth) would shadow the real checkers. Lessons are notebook-only.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "*.py", "*.pth", "course_lib"]

# zip_collect: files downloaded from an LMS (or e-mail) are named <student_id>_<lesson>.ipynb,
# e.g. ada_01_convolution.ipynb, and put in downloaded/<lesson>/archive/ (zip files are unpacked).
c.ZipCollectApp.collector_plugin = "nbgrader.plugins.FileNameCollectorPlugin"
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[A-Za-z0-9.-]+)_(?P<file_id>[0-9][0-9]_[A-Za-z0-9_]+\.ipynb)$")

# Limit huge outputs in graded notebooks and feedback (a print in an infinite loop, say).
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 100
