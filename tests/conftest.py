"""Fixtures and options for the unit tests.

Tests marked ``classroom_full`` (the adversarial class on real lessons, every lesson autograded)
take minutes: they are deselected unless pytest runs with ``--classroom-full``, as the separate CI
step does (see classroom/README.md, "What the tests check").
"""
import sys

import pytest


@pytest.fixture(autouse=True)
def restore_global_precision_policy():
    """runtime.setup() sets Keras' global dtype policy (mixed_float16 on a GPU, or when a test simulates
    one); put it back after every test so no test leaks it into the next."""
    keras = sys.modules.get("keras")
    before = keras.config.dtype_policy().name if keras is not None else "float32"
    yield
    keras = sys.modules.get("keras")
    if keras is not None and keras.config.dtype_policy().name != before:
        keras.config.set_dtype_policy(before)


@pytest.fixture(autouse=True, scope="session")
def deterministic_ops_on_gpu_hosts():
    """Some tests assert that two seeded runs give bit-identical numbers. TensorFlow's CPU kernels are
    deterministic; its GPU kernels are not unless op determinism is on, so turn it on for the whole
    session where a GPU is visible (a per-test switch would leak: TF cannot turn it off again)."""
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        tf.config.experimental.enable_op_determinism()
    yield

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
