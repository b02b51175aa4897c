"""Turn the lesson notebooks into nbgrader assignments and generate the student versions.

    python classroom/make_assignments.py                  # every lesson with exercises
    python classroom/make_assignments.py 01_convolution   # some lessons
    python classroom/make_assignments.py --points         # points per lesson, nothing written
    python classroom/make_assignments.py --update-readme  # also rewrite the points table in README.md

For each lesson ``notebooks/NN_topic.ipynb`` that has nbgrader exercise cells, this writes the
nbgrader source assignment ``classroom/source/NN_topic/NN_topic.ipynb`` and runs
``nbgrader generate_assignment NN_topic`` (for all lessons: one run over ``[0-9][0-9]_*``, which also
regenerates any other NN_* assignment in source/), which writes the student version to
``classroom/release/NN_topic/`` (solutions replaced by ``raise NotImplementedError()``, test cells
locked with checksums, hidden tests removed) and records the assignment in ``gradebook.db``.

The source copy differs from the lesson in two ways (the lesson notebooks are never modified):
  * the Colab badge, which opens the instructor version on GitHub, becomes a note for students;
  * outputs are cleared.
Test cells need no hidden re-check: autograding runs them in the grader, never in the student's
process (grading.py). The markup is validated first; a malformed exercise stops the script with a
message naming the notebook and cell. A course folder other than classroom/ gets a two-line
nbgrader_config.py that runs classroom/nbgrader_config.py.
"""
from __future__ import annotations

import argparse
import ast
import builtins
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NOTEBOOK_DIR = REPO / "notebooks"
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
BADGE_TAG, SETUP_TAG = "colab-badge", "course-setup"
POINTS_BEGIN, POINTS_END = "<!-- points:begin -->", "<!-- points:end -->"
SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"


class MarkupError(ValueError):
    """A lesson's exercise cells are not valid nbgrader markup."""


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def has_exercises(nb) -> bool:
    return any(is_test(c) for c in nb.cells)


def lesson_notebooks(notebook_dir: Path = NOTEBOOK_DIR, names=None) -> list[Path]:
    """Lesson notebooks with at least one autograded test cell, optionally only the named ones."""
    paths = sorted(Path(notebook_dir).glob(LESSON_GLOB))
    if names:
        by_name = {p.stem: p for p in paths}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise SystemExit(f"unknown lesson(s) {unknown}; known: {sorted(by_name)}")
        paths = [by_name[n] for n in names]
    return [p for p in paths if has_exercises(nbformat.read(p, as_version=4))]


def solution_regions(source: str) -> list[str]:
    """The code between each ### BEGIN SOLUTION / ### END SOLUTION pair of a cell."""
    return re.findall(re.escape(SOLUTION_BEGIN) + r"[^\n]*\n(.*?)^[ \t]*" + re.escape(SOLUTION_END),
                      source, flags=re.S | re.M)


def points(nb) -> dict[str, float]:
    """grade_id -> points of every autograded test cell, in notebook order."""
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c).get("points", 0))
            for c in nb.cells if is_test(c)}


def validate(nb, name: str) -> list[str]:
    """Check the exercise markup. Raises MarkupError for errors; returns warnings."""
    errors, warnings, seen = [], [], set()
    for i, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if not meta:
            if SOLUTION_BEGIN in cell.source:
                errors.append(f"cell {i}: has {SOLUTION_BEGIN} but no nbgrader metadata")
            continue
        where = f"cell {i} ({meta.get('grade_id', 'no grade_id')})"
        gid = meta.get("grade_id")
        if not gid:
            errors.append(f"{where}: nbgrader metadata without grade_id")
        elif gid in seen:
            errors.append(f"{where}: duplicate grade_id")
        seen.add(gid)
        if cell.cell_type != "code":
            continue
        if is_solution(cell):
            n_begin, n_end = cell.source.count(SOLUTION_BEGIN), cell.source.count(SOLUTION_END)
            if n_begin == 0 or n_begin != n_end:
                errors.append(f"{where}: solution cell needs matching {SOLUTION_BEGIN} / {SOLUTION_END} "
                              f"(found {n_begin} / {n_end})")
            if meta.get("grade"):
                warnings.append(f"{where}: solution cell is also graded (manually graded answer)")
            for line in cell.source.splitlines():
                if line.startswith(SOLUTION_BEGIN):
                    warnings.append(f"{where}: solution at top level; in the student version the cell "
                                    "raises NotImplementedError when run, not when called")
                    break
        if is_test(cell):
            if "points" not in meta or float(meta["points"]) <= 0:
                errors.append(f"{where}: test cell needs points > 0")
            if not meta.get("locked"):
                errors.append(f"{where}: test cell must be locked (read-only)")
            if SOLUTION_BEGIN in cell.source:
                errors.append(f"{where}: test cell contains a solution region")
            if not imported_packages(cell.source):
                warnings.append(f"{where}: test cell imports no checker")
            answers = solution_names(nb)
            for name in sorted(free_names(cell.source) - answers - set(dir(builtins))):
                errors.append(f"{where}: test cell uses {name!r}, which is neither imported in the cell nor "
                              "defined by a solution cell (the grader would take it from the student's code)")
    for dep in exercise_dependencies(nb):
        warnings.append(f"{dep}: in the student version that cell fails until the exercise is solved")
    exercise_cells = [i for i, c in enumerate(nb.cells) if nbgrader_meta(c)]
    later = [i for i, c in enumerate(nb.cells) if exercise_cells and i > exercise_cells[0]
             and c.cell_type == "code" and not nbgrader_meta(c)]
    if later:
        warnings.append(f"lesson code cells {later} come after the first exercise (cell {exercise_cells[0]}); "
                        "in the student version 'Run All' stops at that exercise's failing test cell")
    if errors:
        raise MarkupError(f"{name}: invalid nbgrader markup:\n  " + "\n  ".join(errors))
    return warnings


def defined_names(source: str) -> set[str]:
    """Names a cell binds at top level (def, class, assignment, import, for, with; not locals)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names, todo = set(), list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue                      # its body binds locals only
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        todo.extend(ast.iter_child_nodes(node))
    return names


def solution_names(nb) -> set[str]:
    """Names the solution cells define: the answers a test cell may use."""
    return set().union(*[defined_names(c.source) for c in nb.cells if c.cell_type == "code" and is_solution(c)])


def free_names(source: str) -> set[str]:
    """Names a cell reads without binding them itself (the grader binds them to the student's code)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    bound = defined_names(source)
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded - bound


def used_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def exercise_dependencies(nb) -> list[str]:
    """Lesson cells that use a name only an exercise solution defines ('cell 12 uses softmax')."""
    from_solutions, from_lesson = {}, set()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if is_solution(cell):
            for name in defined_names(cell.source):
                from_solutions.setdefault(name, i)
        elif not is_test(cell):
            from_lesson |= defined_names(cell.source)
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and not nbgrader_meta(cell):
            for name in sorted(used_names(cell.source)):
                if name in from_solutions and name not in from_lesson and from_solutions[name] < i:
                    found.append(f"cell {i} uses {name}, defined only by exercise cell {from_solutions[name]}")
    return found


def imported_packages(source: str) -> set[str]:
    """Top-level package names a cell imports (``from a.b import c`` -> {'a'})."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
    return names


def student_note(lesson: str, nb) -> str:
    pts = points(nb)
    return (f"**Assignment version of lesson {lesson}** — {len(pts)} autograded exercise(s), "
            f"{format_points(sum(pts.values()))} points.\n\n"
            "Write your code where it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()`), "
            "then run the test cell below it: it prints ✓ or names the case that failed. Test cells are "
            "read-only, and grading restores them, so editing or deleting them changes nothing. Run the "
            "notebook top to bottom before you submit.\n\n"
            "Grading runs your notebook's code in a separate process that has **numpy but not TensorFlow "
            "or Keras**, unless an exercise says you may use them; the grader calls your functions there and "
            "compares their results with the framework's. Printing and warnings are fine.\n\n"
            "In Colab: *File → Upload notebook*, then run the setup cell below; it fetches the course "
            "code and data.")


def make_source(nb, lesson: str):
    """The nbgrader source version of a lesson notebook (a new notebook; ``nb`` is not changed)."""
    src = nbformat.from_dict(nb)
    for cell in src.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type == "markdown" and BADGE_TAG in tags:
            cell.source = student_note(lesson, nb)
            cell.metadata["tags"] = [t for t in tags if t != BADGE_TAG] + ["classroom-note"]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return src


def format_points(x: float) -> str:
    return f"{x:g}"


def nbgrader_command() -> list[str]:
    exe = Path(sys.executable).with_name("nbgrader")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "nbgrader"]


def nbgrader_env(extra: dict | None = None) -> dict:
    """The environment for nbgrader: this Python's bin/ first on PATH (nbgrader runs `alembic`)."""
    env = dict(os.environ, **(extra or {}))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run_nbgrader(course_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader <args>`` in ``course_dir`` (which holds nbgrader_config.py); raise on failure."""
    proc = subprocess.run(nbgrader_command() + list(args), cwd=course_dir, capture_output=True, text=True,
                          env=nbgrader_env(env))
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed in {course_dir} (exit {proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def layout(paths, course_dir: Path) -> dict[str, dict[str, float]]:
    """Write source/<lesson>/<lesson>.ipynb for each lesson; return lesson -> grade_id -> points."""
    table = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for w in validate(nb, path.name):
            print(f"warning: {path.name}: {w}", file=sys.stderr)
        lesson = path.stem
        dest = course_dir / "source" / lesson
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        nbformat.write(make_source(nb, lesson), dest / path.name)
        table[lesson] = points(nb)
    return table


def generate(course_dir: Path, lessons, all_lessons: bool = False) -> None:
    """``nbgrader generate_assignment`` for each lesson (one nbgrader run for all when ``all_lessons``)."""
    patterns = [LESSON_GLOB.removesuffix(".ipynb")] if all_lessons else list(lessons)
    for pattern in patterns:
        run_nbgrader(course_dir, "generate_assignment", pattern, "--force")
    for lesson in lessons:
        if not (course_dir / "release" / lesson / f"{lesson}.ipynb").is_file():
            raise RuntimeError(f"nbgrader generate_assignment wrote no release/{lesson}/{lesson}.ipynb")
        print(f"release/{lesson}/{lesson}.ipynb", flush=True)


def points_table(table: dict[str, dict[str, float]]) -> str:
    lines = ["| Lesson | Exercises | Points |", "|---|---:|---:|"]
    for lesson, pts in table.items():
        lines.append(f"| `{lesson}` | {len(pts)} | {format_points(sum(pts.values()))} |")
    total = sum(sum(p.values()) for p in table.values())
    lines.append(f"| **Total** | {sum(len(p) for p in table.values())} | **{format_points(total)}** |")
    return "\n".join(lines)


def update_readme(readme: Path, table) -> None:
    text = readme.read_text()
    if POINTS_BEGIN not in text or POINTS_END not in text:
        raise SystemExit(f"{readme} has no {POINTS_BEGIN} ... {POINTS_END} block")
    head, rest = text.split(POINTS_BEGIN, 1)
    _, tail = rest.split(POINTS_END, 1)
    readme.write_text(f"{head}{POINTS_BEGIN}\n{points_table(table)}\n{POINTS_END}{tail}")


def write_course_config(course_dir: Path) -> Path:
    """An nbgrader_config.py for a course folder other than classroom/: it runs classroom/'s config
    (all settings, the grading plug-ins) with the course root set to ``course_dir``."""
    course_dir = Path(course_dir)
    if course_dir.resolve() == HERE:
        return HERE / "nbgrader_config.py"
    config = course_dir / "nbgrader_config.py"
    main_config = HERE / "nbgrader_config.py"
    config.write_text(f"# nbgrader course folder; the settings are those of {main_config}\n"
                      f"CLASSROOM_CODE = {str(HERE)!r}\n"
                      f"exec(compile(open({str(main_config)!r}).read(), {str(main_config)!r}, 'exec'))\n")
    return config


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python classroom/make_assignments.py", description=__doc__.split("\n")[0])
    ap.add_argument("lessons", nargs="*", help="lesson names, e.g. 01_convolution (default: all with exercises)")
    ap.add_argument("--notebooks", type=Path, default=NOTEBOOK_DIR, help="folder of lesson notebooks")
    ap.add_argument("--course-dir", type=Path, default=HERE,
                    help="nbgrader course folder (default: classroom/); gets an nbgrader_config.py that runs "
                         "classroom/nbgrader_config.py")
    ap.add_argument("--points", action="store_true", help="print the points per lesson and stop")
    ap.add_argument("--no-generate", action="store_true", help="write source/ only")
    ap.add_argument("--update-readme", action="store_true", help="rewrite the points table in README.md")
    args = ap.parse_args(argv)

    paths = lesson_notebooks(args.notebooks, args.lessons)
    if not paths:
        print(f"no lesson notebooks with nbgrader test cells in {args.notebooks}", file=sys.stderr)
        return 1
    if args.points:
        table = {}
        for p in paths:
            nb = nbformat.read(p, as_version=4)
            for w in validate(nb, p.name):
                print(f"warning: {p.name}: {w}", file=sys.stderr)
            table[p.stem] = points(nb)
        print(points_table(table))
        return 0

    course_dir = args.course_dir.resolve()
    course_dir.mkdir(parents=True, exist_ok=True)
    if not (course_dir / "nbgrader_config.py").exists():
        write_course_config(course_dir)
    table = layout(paths, course_dir)
    if not args.no_generate:
        generate(course_dir, table, all_lessons=not args.lessons)
    print(points_table(table))
    if args.update_readme:
        update_readme(HERE / "README.md", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
