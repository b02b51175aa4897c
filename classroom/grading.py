"""nbgrader plug-ins: autograding decided outside the student's process (see classroom/README.md).

nbgrader_config.py puts these into ``nbgrader autograde`` and ``nbgrader export``:

* :class:`SandboxGrade` replaces nbgrader's ``Execute`` step. The student's code cells run in a
  sandboxed child process (sandbox.py), statement by statement; the grader never executes them.
  Each test cell (its source restored from the gradebook, so it is the instructor's) runs in the
  grader, with every name it uses from the notebook bound to a proxy that calls the learner's
  function in the child. The checker compares the results in the grader; the test cell's
  outputs are written from that verdict, so nbgrader's SaveAutoGrades records the real score.
  Which packages the child may import is decided per exercise: numpy only, unless the checker is
  marked ``framework_allowed`` (course_lib.checks.allows_framework).
* :class:`RestoringOverwriteCells` is nbgrader's OverwriteCells with two fixes: a deleted test
  cell is put back even when the solution cell before it was deleted too (nbgrader 0.9.6 raises
  KeyError there), and the "read-only cell changed" warning fires only when the student really
  changed it (nbgrader compares with the instructor's version, hidden tests included).
* :func:`make_reset_hook` (``Autograde.pre_convert_hook``) clears a submission's old scores before
  it is graded again, so a grading run that fails leaves no stale score behind.
* :class:`RecordGradingStatus` runs after SaveAutoGrades: an exercise the grader could not decide
  (a problem of the grading machine, not of the submission) gets no score and "needs manual
  grading"; every notebook's status goes to ``autograde_status.json`` in the course folder.
* :class:`StatusCsvExportPlugin` (``nbgrader export``) adds ``grading_status`` and
  ``grading_notes`` columns to grades.csv, so a crash or an ungraded submission is never a
  silent 0.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import csv
import dataclasses
import datetime
import io
import json
import os
import symtable
import sys
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins.export import CsvExportPlugin
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, ClearOutput,
                                    DeduplicateIds, IgnorePattern, LimitOutput, NbGraderPreprocessor,
                                    OverwriteCells, OverwriteKernelspec, SaveAutoGrades)
from traitlets import Bool, Float, Integer

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import sandbox  # noqa: E402

STATUS_FILE = "autograde_status.json"
BUILTIN_NAMES = frozenset(dir(builtins))
FRAMEWORK_WORDS = ("tensorflow", "keras", "'tf'", "jax", "torch")


def is_test(cell) -> bool:
    return utils.is_grade(cell) and not utils.is_solution(cell) and cell.cell_type == "code"


# --------------------------------------------------------------------------- one check

@dataclasses.dataclass
class Outcome:
    """The verdict on one test cell."""
    grade_id: str
    status: str                       # "passed", "failed" or "ungradable"
    message: str = ""                 # why it failed (shown to the student)
    stdout: str = ""                  # what the checker printed
    notes: list = dataclasses.field(default_factory=list)   # context for the student and the instructor
    policy: str = "numpy"
    seconds: float = 0.0

    def outputs(self) -> list:
        text = self.stdout + "".join(f"{n}\n" for n in self.notes)
        outs = [nbformat.v4.new_output("stream", name="stdout", text=text)] if text else []
        if self.status == "failed":
            outs.append(nbformat.v4.new_output("error", ename="CheckFailure", evalue=self.message,
                                               traceback=[f"CheckFailure: {self.message}"]))
        elif self.status == "ungradable":
            msg = f"the grader could not decide this exercise: {self.message} (it needs manual grading)"
            outs.append(nbformat.v4.new_output("error", ename="Ungradable", evalue=msg,
                                               traceback=[f"Ungradable: {msg}"]))
        return outs


def free_names(source: str) -> set[str]:
    """Names a cell reads from its globals without binding them itself (builtins included)."""
    names = set()

    def walk(table, top):
        for sym in table.get_symbols():
            if top:
                if sym.is_referenced() and not (sym.is_assigned() or sym.is_imported()):
                    names.add(sym.get_name())
            elif sym.is_global() and not sym.is_declared_global():
                names.add(sym.get_name())
        for child in table.get_children():
            walk(child, False)

    walk(symtable.symtable(source, "<test cell>", "exec"), True)
    bound = {s.get_name() for s in symtable.symtable(source, "<test cell>", "exec").get_symbols()
             if s.is_assigned() or s.is_imported()}
    return names - bound


def checker_policy(source: str) -> str:
    """'framework' if a checker the test cell imports is marked framework_allowed, else 'numpy'.

    Runs the cell's import statements (instructor code) in the grader; an import that fails
    raises, and the exercise is then ungradable.
    """
    ns: dict = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            exec(compile(ast.Module([node], type_ignores=[]), "<test cell imports>", "exec"), ns)
    marked = any(getattr(obj, "framework_allowed", False) is True for obj in ns.values())
    return "framework" if marked else "numpy"


def python_source(source: str) -> str:
    """A cell's source with IPython syntax (%magics, !shell) turned into plain Python calls of
    get_ipython(), which the sandbox answers with no-ops."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def _short(error: dict) -> str:
    return f"{error.get('type', 'Exception')}: {str(error.get('message', ''))[:300]}"


def run_check(session: sandbox.StudentSession, grade_id: str, source: str, settings: sandbox.Settings,
              context: list | None = None) -> Outcome:
    """Run one test cell's source in the grader against the learner's code in ``session``."""
    t0 = time.monotonic()
    outcome = Outcome(grade_id, "passed", policy=session.policy, notes=list(context or []))
    try:
        tree = ast.parse(source)
        names = sorted(free_names(source) - BUILTIN_NAMES)
    except SyntaxError as e:
        outcome.status, outcome.message = "ungradable", f"the test cell does not parse: {e}"
        return outcome
    budget = sandbox.Budget(settings.timeout)
    ns = {"__name__": "__classroom_test__", "__builtins__": builtins}
    unavailable = {}
    for name in names:
        kind, value = session.resolve(name)
        if kind == "callable":
            ns[name] = session.proxy(name, budget)
        elif kind == "value":
            ns[name] = value
        elif kind == "unsendable":
            unavailable[name] = f"`{name}` is a {value}, which the grader cannot pass to the checker"
        else:
            unavailable[name] = f"`{name}` is not defined" + (f" ({value})" if value else "")
    if session.infra:
        outcome.status, outcome.message = "ungradable", f"the sandbox could not run: {session.infra}"
        return outcome
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(tree, f"<test cell {grade_id}>", "exec"), ns)
    except NameError as e:
        name = getattr(e, "name", None)
        outcome.status = "failed"
        outcome.message = (unavailable.get(name) or str(e)) + " when the test ran: did its cell run without errors?"
    except sandbox.SandboxError as e:
        outcome.status, outcome.message = "ungradable", f"the sandbox failed: {e}"
    except (AssertionError, sandbox.LearnerError, NotImplementedError) as e:
        outcome.status = "failed"
        outcome.message = str(e) if isinstance(e, AssertionError) else f"your function raised {type(e).__name__}: {e}"
        if isinstance(e, NotImplementedError):
            outcome.message = "not implemented yet: replace `raise NotImplementedError()` with your code"
    except Exception as e:
        outcome.status, outcome.message = "ungradable", f"the checker raised {type(e).__name__}: {e}"
    outcome.stdout = out.getvalue()
    if session.policy == "numpy" and outcome.status == "failed" and any(
            w in outcome.message.lower() for w in FRAMEWORK_WORDS):
        outcome.notes.append("note: this exercise is graded with numpy only: TensorFlow and Keras are not available")
    if session.policy == "numpy":
        libs = session.loaded_libraries()
        if libs:
            outcome.status = "failed"
            outcome.message = ("this exercise is graded without TensorFlow or Keras (numpy only), and your code "
                               "loaded " + ", ".join(sorted({Path(p).name for p in libs})[:5]))
    outcome.seconds = time.monotonic() - t0
    return outcome


# --------------------------------------------------------------------------- one notebook

def grade_notebook(nb, settings: sandbox.Settings, log=None) -> dict[str, Outcome]:
    """Grade every test cell of ``nb`` (in place: test cells get the grader's outputs)."""
    sessions: dict[str, sandbox.StudentSession] = {}
    fed: dict[str, int] = {}
    program: list[tuple[int, str]] = []
    solution_cells: list[int] = []
    outcomes: dict[str, Outcome] = {}
    try:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if not is_test(cell):
                program.append((index, python_source(cell.source)))
                if utils.is_solution(cell):
                    solution_cells.append(index)
                continue
            grade_id = cell.metadata.nbgrader["grade_id"]
            try:
                policy = checker_policy(cell.source)
            except Exception as e:
                outcome = Outcome(grade_id, "ungradable", f"the test cell's checker could not be imported: "
                                                          f"{type(e).__name__}: {e}")
            else:
                session = sessions.get(policy)
                if session is None:
                    session = sessions[policy] = sandbox.StudentSession(policy, settings)
                    fed[policy] = 0
                for item in program[fed[policy]:]:
                    session.add_cell(*item)
                fed[policy] = len(program)
                session.advance()
                outcome = run_check(session, grade_id, cell.source, settings,
                                    _context(session, solution_cells, policy))
            solution_cells = []
            cell.outputs = outcome.outputs()
            cell.execution_count = None
            outcomes[grade_id] = outcome
            if log is not None:
                log.info("%s: %s%s", grade_id, outcome.status, f" ({outcome.message[:200]})" if outcome.message else "")
    finally:
        for session in sessions.values():
            _warn_unconfined(session, log)
            session.close()
    return outcomes


def _context(session, cells, policy) -> list[str]:
    """Notes for the student about their exercise cells: errors when they ran, skipped statements."""
    notes = []
    for index in cells:
        info = session.errors.get(index, {})
        if info.get("syntax"):
            notes.append(f"note: your cell could not run at all: {_short(info['syntax'])}")
        for stmt, error in sorted((info.get("statements") or {}).items()):
            if error and error.get("type") != "NotImplementedError":
                notes.append(f"note: a statement of your cell raised {_short(error)}")
                if policy == "numpy" and any(w in str(error.get("message", "")).lower() for w in FRAMEWORK_WORDS):
                    notes.append("note: this exercise is graded with numpy only: TensorFlow and Keras are not available")
        notes += [f"note: {e}" for e in session.events if e.startswith(f"cell {index},")]
    return notes


_warned = set()


def _warn_unconfined(session, log):
    info = session.sandbox_info
    if log is None or not info:
        return
    missing = [name for name, on in (("Landlock", info.get("landlock")), ("seccomp", info.get("seccomp"))) if not on]
    if missing and tuple(missing) not in _warned:
        _warned.add(tuple(missing))
        log.warning("sandbox: %s not available on this machine: the student's code can read any file and "
                    "(without seccomp) start processes as the grading user. Grade in a container "
                    "(classroom/README.md, 'Trust model').", " and ".join(missing))


class SandboxGrade(NbGraderPreprocessor):
    """Grade the test cells against the student's code run in a sandbox (replaces nbgrader's Execute)."""

    timeout = Float(180.0, help="Seconds the learner's code may use in one check (all calls).").tag(config=True)
    statement_timeout = Float(180.0, help="Seconds one top-level statement of the student's code may "
                                          "run.").tag(config=True)
    memory_mb = Integer(4096, help="Address-space limit of a numpy-only sandbox (MB).").tag(config=True)
    framework_memory_mb = Integer(8192, help="Address-space limit of a sandbox that may import "
                                             "TensorFlow (MB).").tag(config=True)
    cpu_seconds = Integer(3600, help="CPU seconds of one sandbox process.").tag(config=True)
    max_starts = Integer(20, help="Sandbox processes per notebook (restarts after hangs and crashes).").tag(config=True)
    landlock = Bool(True, help="Restrict the sandbox with Landlock where the kernel has it.").tag(config=True)
    seccomp = Bool(True, help="Restrict the sandbox with seccomp (no new processes, no exec).").tag(config=True)

    def settings(self) -> sandbox.Settings:
        return sandbox.Settings(timeout=self.timeout, statement_timeout=self.statement_timeout,
                                memory_mb=self.memory_mb,
                                framework_memory_mb=self.framework_memory_mb, cpu_seconds=self.cpu_seconds,
                                max_starts=self.max_starts, landlock=self.landlock, seccomp=self.seccomp)

    def preprocess(self, nb, resources):
        outcomes = grade_notebook(nb, self.settings(), log=self.log)
        resources.setdefault("classroom", {})["outcomes"] = {k: dataclasses.asdict(v) for k, v in outcomes.items()}
        return nb, resources


# --------------------------------------------------------------------------- the gradebook around it

class RestoringOverwriteCells(OverwriteCells):
    """nbgrader's OverwriteCells, with deleted cells always put back and an honest tamper signal."""

    def preprocess(self, nb, resources):
        self._tampered, self._restored = [], []
        present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        nb, resources = super().preprocess(nb, resources)
        after = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        self._restored = sorted(g for g in after - present if g)
        # the autograde pass (RecordGradingStatus) reads this from the sanitized notebook
        nb.metadata["classroom"] = {"tampered": self._tampered, "restored": self._restored}
        for gid in self._restored:
            self.log.warning("Cell %s was deleted from the submission; it was put back from the source", gid)
        return nb, resources

    def add_missing_grade_cells(self, nb, resources):
        """Put back deleted grade cells, each after the nearest earlier source cell still present.

        (nbgrader 0.9.6 looks only at the source cell just before the missing one and raises
        KeyError when that one was deleted too, e.g. a solution cell deleted with its test cell.)
        """
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = source_nb.source_cells
        order = [c.name for c in source_cells]
        grade_cells = {c.name: c for c in source_nb.grade_cells}
        solution_ids = {c.name for c in source_nb.solution_cells}
        position = {}
        for idx, cell in enumerate(nb.cells):
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid:
                position[gid] = idx
        for k, gid in enumerate(order):
            if gid not in grade_cells or gid in position:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", gid)
            new = self.missing_cell_transform(source_cells[k], grade_cells[gid].max_score,
                                              is_solution=gid in solution_ids)
            anchor = next((position[order[j]] for j in range(k - 1, -1, -1) if order[j] in position), None)
            at = 0 if anchor is None else anchor + 1
            nb.cells.insert(at, new)
            position = {g: (i + 1 if i >= at else i) for g, i in position.items()}
            position[gid] = at
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid is not None:
            try:
                source_cell = self.gradebook.find_source_cell(gid, self.notebook_id, self.assignment_id)
            except MissingEntry:
                source_cell = None
            if source_cell is not None and source_cell.locked and cell.source != _student_version(source_cell):
                self._tampered.append(gid)
                self.log.warning("Read-only cell %s was changed in the submission; it is graded from the source", gid)
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new):
        if attr != "checksum":        # checksums: preprocess_cell above reports real changes only
            super().report_change(name, attr, old, new)


def _student_version(source_cell) -> str:
    """The source of a cell as the students received it (hidden tests removed)."""
    cell = nbformat.v4.new_code_cell(source_cell.source)
    ClearHiddenTests(enforce_metadata=False)._remove_hidden_test_region(cell)
    return cell.source


class StatusFile:
    """autograde_status.json in the course folder: assignment -> student -> notebook -> record."""

    def __init__(self, course_root):
        self.path = Path(course_root) / STATUS_FILE

    def load(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def update(self, assignment, student, notebook, record):
        data = self.load()
        record = dict(record, time=datetime.datetime.now().isoformat(timespec="seconds"))
        data.setdefault(assignment, {}).setdefault(student, {})[notebook] = record
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)


def make_reset_hook(course_root, db_url):
    """The Autograde.pre_convert_hook: before a submission is graded, forget its old scores.

    Every grade of the submission's notebooks loses its automatic score and needs manual grading,
    and the notebook is flagged, until grading finishes and writes the new scores; a notebook
    that fails to grade is reported as "not graded", never with its previous or a silent 0 score.
    """
    def reset_before_grading(assignment=None, student=None, notebooks=()):
        status = StatusFile(course_root)
        for path in notebooks:
            p = Path(path)
            nb_id, assignment_id, student_id = p.stem, p.parent.name, p.parent.parent.name
            with Gradebook(db_url) as gb:
                try:
                    sub = gb.find_submission_notebook(nb_id, assignment_id, student_id)
                except MissingEntry:
                    sub = None
                if sub is not None:
                    for grade in sub.grades:
                        grade.auto_score = None
                        grade.needs_manual_grade = True
                    sub.flagged = True
                    gb.db.commit()
            status.update(assignment_id, student_id, nb_id,
                          {"status": "not graded", "notes": ["autograde started but did not finish this notebook: "
                                                             "see the autograde log"]})
        if notebooks:            # notebooks of the assignment that were not submitted: nbgrader scores them 0
            p = Path(notebooks[0])
            submitted = {Path(n).stem for n in notebooks}
            with Gradebook(db_url) as gb:
                try:
                    names = [nb.name for nb in gb.find_assignment(p.parent.name).notebooks]
                except MissingEntry:
                    names = []
            for name in names:
                if name not in submitted:
                    status.update(p.parent.name, p.parent.parent.name, name,
                                  {"status": "not submitted", "notes": [f"{name}.ipynb was not submitted (0 points)"]})
    return reset_before_grading


class RecordGradingStatus(NbGraderPreprocessor):
    """After SaveAutoGrades: no score for ungradable exercises; the notebook's status to the status file."""

    def preprocess(self, nb, resources):
        info = dict(nb.metadata.get("classroom", {}))
        outcomes = resources.get("classroom", {}).get("outcomes", {})
        meta = resources["nbgrader"]
        ungradable = [g for g, o in outcomes.items() if o["status"] == "ungradable"]
        with Gradebook(meta["db_url"]) as gb:
            for gid in ungradable:
                grade = gb.find_grade(gid, meta["notebook"], meta["assignment"], meta["student"])
                grade.auto_score = None
                grade.needs_manual_grade = True
            sub = gb.find_submission_notebook(meta["notebook"], meta["assignment"], meta["student"])
            sub.flagged = bool(ungradable)
            gb.db.commit()
        notes = [f"{g}: ungradable ({outcomes[g]['message'][:200]})" for g in ungradable]
        notes += [f"{g}: read-only cell changed by the student (graded from the source)" for g in info.get("tampered", [])]
        notes += [f"{g}: deleted by the student (put back)" for g in info.get("restored", [])]
        for g, o in outcomes.items():
            if o["status"] == "failed" and any(w in o["message"] for w in ("time limit", "process running your code")):
                notes.append(f"{g}: 0 ({o['message'][:120]})")
        record = {"status": "needs manual grading" if ungradable else "graded", "notes": notes,
                  "exercises": {g: o["status"] for g, o in outcomes.items()}}
        root = _course_root(self)
        if root is not None:
            StatusFile(root).update(meta["assignment"], meta["student"], meta["notebook"], record)
        return nb, resources


def _course_root(configurable):
    from nbgrader.coursedir import CourseDirectory

    try:
        return Path(CourseDirectory(config=configurable.config).root)
    except Exception:
        return None


class StatusCsvExportPlugin(CsvExportPlugin):
    """nbgrader's CSV export plus ``grading_status`` and ``grading_notes`` per row.

    grading_status: "graded"; "needs manual grading" (an exercise the grader could not decide has no
    score yet); "not graded" (autograde did not finish: the score shown is not a grade);
    "not submitted" (a notebook of the assignment is missing: 0 for it); "no submission".
    """

    def export(self, gradebook):
        super().export(gradebook)
        dest = self.to or "grades.csv"
        with open(dest, newline="") as f:
            rows = list(csv.DictReader(f))
        coursedir = getattr(self.parent, "coursedir", None)
        root = Path(coursedir.root) if coursedir is not None else _course_root(self)
        status = StatusFile(root).load() if root is not None else {}
        for row in rows:
            row["grading_status"], row["grading_notes"] = self._status(gradebook, status, row)
        fields = list(rows[0].keys()) if rows else []
        with open(dest, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)

    @staticmethod
    def _status(gradebook, status, row):
        assignment, student = row["assignment"], row["student_id"]
        try:
            sub = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return "no submission", ""
        records = status.get(assignment, {}).get(student, {})
        states, notes = [], []
        for nb in sub.notebooks:
            rec = records.get(nb.notebook.name)
            if rec is None:
                states.append("not graded")
                notes.append(f"{nb.notebook.name}: no autograde record")
                continue
            states.append(rec.get("status", "not graded"))
            notes += [f"{nb.notebook.name}: {n}" if len(sub.notebooks) > 1 else n for n in rec.get("notes", [])]
        for state in ("not graded", "needs manual grading", "not submitted"):
            if state in states:
                return state, "; ".join(notes)
        return "graded", "; ".join(notes)


SANITIZE_PREPROCESSORS = [ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoringOverwriteCells,
                          CheckCellMetadata]
AUTOGRADE_PREPROCESSORS = [SandboxGrade, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
                           AssignLatePenalties, CheckCellMetadata, RecordGradingStatus]
