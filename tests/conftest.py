"""Test options for the heavy classroom runs.

Tests marked ``classroom_full`` (the adversarial class on real lessons, every lesson autograded)
take minutes: they are deselected unless pytest runs with ``--classroom-full``, as the separate CI
step does (see classroom/README.md, "What the tests check").
"""


def pytest_addoption(parser):
    parser.addoption("--classroom-full", action="store_true", default=False,
                     help="also run the tests marked classroom_full (adversarial grading of real lessons)")


def pytest_configure(config):
    config.addinivalue_line("markers", "classroom_full: heavy classroom grading runs; need --classroom-full")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--classroom-full"):
        return
    heavy = [item for item in items if "classroom_full" in item.keywords]
    if heavy:
        config.hook.pytest_deselected(items=heavy)
        items[:] = [item for item in items if "classroom_full" not in item.keywords]
