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
