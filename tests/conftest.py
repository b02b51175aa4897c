"""Fixtures for the unit tests."""
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
