"""Maintainer tools for the notebooks: the shared setup cell, and running notebooks.

    python -m course_lib.nbtools sync                  # rewrite badge + setup cell in every notebook
    python -m course_lib.nbtools run notebooks/01_convolution.ipynb [--quick]
                                                       # execute in place, store outputs

The repository URL lives here, and only here (REPO_URL); ``sync`` writes it into each notebook's
Colab badge and setup cell, and tests/test_notebook_conventions.py checks that they agree. In Colab a
learner can point the setup cell at a fork or branch with ``%env COURSE_REPO=...`` and
``%env COURSE_BRANCH=...``; course_lib.bootstrap does the installing.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO_URL = "https://github.com/dl-course/deep-learning-course"
BRANCH = "main"
NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
BADGE_TAG = "colab-badge"
SETUP_TAG = "course-setup"


def badge_markdown(notebook_name: str) -> str:
    path = REPO_URL.replace("https://github.com/", "") + f"/blob/{BRANCH}/notebooks/{notebook_name}"
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{path})")


def setup_cell_source() -> str:
    return f'''# Setup. On Colab or Kaggle: fetch the course (code + data) and install only what is missing,
# keeping the platform's TensorFlow and Jupyter. Elsewhere: nothing to install. A fork or branch:
# %env COURSE_REPO=https://github.com/you/your-fork and %env COURSE_BRANCH=... before this cell.
import os, shutil, subprocess, sys
if "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
    HOME = os.environ.get("COURSE_HOME") or ("/content" if "google.colab" in sys.modules else "/kaggle/working") + "/course"
    REPO = os.environ.get("COURSE_REPO", "{REPO_URL}")
    BRANCH = os.environ.get("COURSE_BRANCH", "{BRANCH}")
    if not os.path.isfile(f"{{HOME}}/course_lib/bootstrap.py"):   # not cloned yet, or cut short: clone again
        if not shutil.which("git"):
            raise RuntimeError("git is not installed; install it (apt-get install git) and run this cell again")
        shutil.rmtree(HOME + ".part", ignore_errors=True)
        git = subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", BRANCH, REPO, HOME + ".part"],
                             capture_output=True, text=True)
        if git.returncode:
            raise RuntimeError(f"could not clone {{REPO}} (branch {{BRANCH}}): {{git.stderr.strip()}}\\n"
                               "Fix COURSE_REPO / COURSE_BRANCH (%env ...) and run this cell again.")
        shutil.rmtree(HOME, ignore_errors=True)
        os.rename(HOME + ".part", HOME)
    if HOME not in sys.path:
        sys.path.insert(0, HOME)
    from course_lib import bootstrap
    bootstrap.ensure(HOME, REPO, BRANCH)
from course_lib import data
data.verify_all();  # every data file present, sha256 checked'''


def _keep_run_state(old, new):
    """Give ``new`` the id, execution count and outputs of ``old`` (same kind of cell): sync owns only
    the source, so re-syncing an executed notebook does not make it look un-run."""
    if old is not None and old.cell_type == new.cell_type:
        if "id" in old:
            new["id"] = old["id"]
        if new.cell_type == "code":
            new.execution_count = old.execution_count
            new.outputs = old.outputs
    return new


def sync_notebook(path: Path) -> bool:
    """Make cell 0 the Colab badge and cell 1 the setup cell. Returns True if the file changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    tagged = {tag: next((c for c in nb.cells if tag in c.metadata.get("tags", [])), None)
              for tag in (BADGE_TAG, SETUP_TAG)}
    cells = [c for c in nb.cells if not set(c.metadata.get("tags", [])) & {BADGE_TAG, SETUP_TAG}]
    badge = _keep_run_state(tagged[BADGE_TAG], nbformat.v4.new_markdown_cell(
        badge_markdown(path.name), metadata={"tags": [BADGE_TAG]}))
    setup = _keep_run_state(tagged[SETUP_TAG], nbformat.v4.new_code_cell(
        setup_cell_source(), metadata={"tags": [SETUP_TAG]}))
    old = [(c.cell_type, c.source) for c in nb.cells[:2]]
    if old == [("markdown", badge.source), ("code", setup.source)] and len(cells) == len(nb.cells) - 2:
        return False
    nb.cells = [badge, setup] + cells
    nbformat.write(nb, path)
    return True


# glog/absl lines: "I1123 15:33:29.621443  3249 file.cc:31] ..." or, before absl is initialised,
# "I0000 00:00:1795448009.621443  3249 file.cc:31] ..." (seconds since the epoch).
_TF_LOG_LINE = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\]|WARNING: All log messages before absl"
                          r"|To enable the following instructions: )")


def strip_tf_log_noise(nb) -> None:
    """Drop TensorFlow's C++ start-up log lines (CUDA probing, CPU features) from stderr outputs."""
    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                kept = [l for l in out["text"].splitlines(keepends=True) if not _TF_LOG_LINE.match(l)]
                if not "".join(kept).strip():
                    continue
                out["text"] = "".join(kept)
            outputs.append(out)
        if cell.cell_type == "code":
            cell.outputs = outputs


def run_notebook(path: Path, quick: bool = False, timeout: int = 900) -> float:
    """Execute a notebook top to bottom in its folder and store the outputs. Returns seconds."""
    import nbformat
    from nbclient import NotebookClient

    os.environ["COURSE_QUICK"] = "1" if quick else "0"
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    start = time.time()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except Exception:   # keep what ran, for inspection, outside the repository; the original stays as it was
        failed = Path(tempfile.gettempdir()) / f"{path.stem}.failed.ipynb"
        strip_tf_log_noise(nb)
        nbformat.write(nb, failed)
        print(f"{path}: failed after {time.time() - start:.0f} s; outputs so far in {failed}", file=sys.stderr)
        raise
    seconds = time.time() - start
    strip_tf_log_noise(nb)
    nbformat.write(nb, path)
    return seconds


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m course_lib.nbtools")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sync", help="rewrite the badge and setup cell of notebooks")
    s.add_argument("paths", nargs="*", type=Path)
    r = sub.add_parser("run", help="execute notebooks in place, storing outputs")
    r.add_argument("paths", nargs="+", type=Path)
    r.add_argument("--quick", action="store_true", help="COURSE_QUICK=1 (default: full lesson)")
    r.add_argument("--timeout", type=int, default=900, help="per-cell timeout in seconds")
    args = ap.parse_args(argv)
    if args.cmd == "sync":
        for p in args.paths or sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")):
            print(("updated " if sync_notebook(p) else "ok      ") + str(p))
    else:
        for p in args.paths:
            print(f"{p}: {run_notebook(p, args.quick, args.timeout):.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
