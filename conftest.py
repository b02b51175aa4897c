"""Test-suite settings: quick mode everywhere, quiet TensorFlow, non-interactive matplotlib."""
import os

os.environ["COURSE_QUICK"] = "1"          # notebooks (their kernels inherit this) and unit tests
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

# Notebooks that tests build or grade themselves are not lessons for nbval to run.
collect_ignore_glob = ["tests/fixtures/*", "classroom/*"]
