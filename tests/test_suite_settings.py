"""The root conftest.py's scheduling list names real files (a renamed file would silently lose its
place at the front of the queue)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(conftest)


def test_every_file_in_the_slowest_first_list_exists_once():
    assert len(set(conftest.SLOWEST_FIRST)) == len(conftest.SLOWEST_FIRST)
    missing = [p for p in conftest.SLOWEST_FIRST if not (ROOT / p).is_file()]
    assert not missing, f"conftest.SLOWEST_FIRST names files that do not exist: {missing}"
