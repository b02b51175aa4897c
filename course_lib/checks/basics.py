"""Checkers for the warm-up exercise of notebook 00."""
from __future__ import annotations

import numpy as np

from . import CheckFailure, assert_close, call_learner, describe_case, passed
from . import in_float32


def _cases(seed: int = 0):
    rng = np.random.default_rng(seed)
    yield "one row", rng.normal(size=(1, 5))
    yield "batch of 4, 10 classes", rng.normal(size=(4, 10))
    yield "odd shape (3, 7), large spread", rng.normal(scale=20, size=(3, 7))
    yield "huge logits (overflow trap)", rng.normal(size=(2, 6)) + 1000.0
    yield "very negative logits (underflow trap)", rng.normal(size=(2, 6)) - 1000.0
    yield "all equal", np.zeros((3, 4))


@in_float32
def check_softmax(softmax) -> str:
    """Compare ``softmax(z)`` (z float64 (N, K) -> probabilities (N, K), over the last axis)
    with ``tf.nn.softmax`` on random and numerically awkward cases."""
    import tensorflow as tf

    worst = 0.0
    cases = list(_cases())
    for name, z in cases:
        case = f"{name}: " + describe_case(z=z)
        got = call_learner(softmax, case, z.copy())
        expected = tf.nn.softmax(tf.constant(z, tf.float64), axis=-1).numpy()
        try:
            worst = max(worst, assert_close(got, expected, case, "probabilities", atol=1e-7, rtol=1e-6,
                                            reference="tf.nn.softmax"))
        except CheckFailure as e:
            if "NaN or inf" in str(e) or "huge" in name:
                raise CheckFailure(f"{e}. Hint: subtract the row maximum before exp() "
                                   "(softmax(z) = softmax(z - c) for any constant c).") from None
            raise
    return passed("softmax", len(cases), worst, "tf.nn.softmax")
