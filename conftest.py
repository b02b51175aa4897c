"""Test-suite settings: quick mode everywhere, quiet TensorFlow, non-interactive matplotlib, and, under
pytest-xdist, the cores split between the workers and the slowest files first."""
import os

os.environ["COURSE_QUICK"] = "1"          # notebooks (their kernels inherit this) and unit tests
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

# `-n 2` on a 2-core machine: two workers (and their notebook kernels) that each let TensorFlow run
# one op on every core compete for the cores. Split the cores between the workers (set before any
# worker imports TensorFlow; kernels inherit it). Measured, whole suite: with the split 274-331 s (five
# runs), without it 297-315 s (three runs): no clear effect either way (benchmarks/RESULTS.md).
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(max(1, (os.cpu_count() or 1) // _workers)))

# Notebooks that tests build or grade themselves are not lessons for nbval to run.
collect_ignore_glob = ["tests/fixtures/*", "classroom/*"]

# With `--dist loadfile` each file goes to one worker, in collection order (pyproject.toml turns off
# xdist's reordering by test count). Starting the longest files first keeps one worker from being left
# with a long file at the end. Worker seconds in a whole-suite run (quick mode, 2026-12-06, after the
# quick-mode cuts of that evening); files not listed keep their order after these.
SLOWEST_FIRST = [
    "tests/test_classroom.py",                      # ~80 s: nbgrader grading a class of attacks
    "notebooks/06_bert_classification.ipynb",       # ~57 s
    "notebooks/05_gan.ipynb",                       # ~50 s
    "notebooks/04_rnn_lstm.ipynb",                  # ~32 s
    "notebooks/02_pooling.ipynb",                   # ~32 s
    "tests/test_multidevice.py",                    # ~28 s: three subprocesses that import TensorFlow
    "notebooks/01_convolution.ipynb",               # ~23 s
    "notebooks/03_backprop.ipynb",                  # ~22 s
    "tests/test_classroom_lessons.py",              # ~19 s
    "tests/test_models_cnn.py",                     # ~17 s
    "tests/test_models_bert.py",                    # ~17 s
    "tests/test_sandbox.py",                        # ~16 s
    "tests/test_training.py",                       # ~15 s
    "tests/test_gan.py",                            # ~11 s
    "notebooks/00_start_here.ipynb",                # ~9 s
    "tests/test_startup.py",                        # ~8 s
]


def pytest_collection_modifyitems(session, config, items):
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))   # stable: keeps the rest
