"""Exercise checkers: the framework is the answer key.

Each lesson has a module here (``checks.conv``, ``checks.pool``, ...). A checker calls the
learner's function on random and awkward cases, computes the expected answer with TensorFlow/Keras,
and either prints a one-line pass or raises :class:`CheckFailure` naming the failing case, the
shapes and the largest error. No exercise solution lives in course_lib.

Exercises are from scratch unless their checker is marked with :func:`allows_framework`: the
classroom grader (classroom/grading.py) runs the learner's code with numpy only, so an answer that
calls TensorFlow or Keras does not earn the points.
"""
from __future__ import annotations

import functools

import numpy as np


class CheckFailure(AssertionError):
    """The learner's function disagrees with the framework's answer on a named case."""


def allows_framework(checker):
    """Mark a checker whose exercise may use TensorFlow/Keras (the learner's code is then graded in a
    process where they can be imported). Returns the checker."""
    checker.framework_allowed = True
    return checker


def describe_case(**params) -> str:
    """'stride=2, padding=same, x(2, 5, 7, 3)' from keyword parameters (arrays shown by shape)."""
    parts = []
    for k, v in params.items():
        parts.append(f"{k}{tuple(np.shape(v))}" if isinstance(v, np.ndarray) else f"{k}={v!r}")
    return ", ".join(parts)


def assert_close(got, expected, case: str, what: str = "output", atol: float = 1e-5,
                 rtol: float = 1e-5, reference: str = "the reference") -> float:
    """Raise CheckFailure unless ``got`` matches ``expected`` in shape and value; return max error.

    ``reference`` names where ``expected`` came from (e.g. "tf.nn.conv2d") in the failure message.
    """
    if got is None:
        raise CheckFailure(f"[{case}] your function returned None for the {what}; did you forget `return`?")
    try:
        got = np.asarray(got, dtype="float64")
    except Exception:
        raise CheckFailure(f"[{case}] {what}: could not turn your result of type {type(got).__name__} "
                           "into a numeric array") from None
    expected = np.asarray(expected, dtype="float64")
    if got.shape != expected.shape:
        raise CheckFailure(f"[{case}] {what} has shape {got.shape}, expected {expected.shape}")
    if not np.all(np.isfinite(got)):
        raise CheckFailure(f"[{case}] {what} contains NaN or inf")
    err = np.abs(got - expected)
    max_err = float(err.max()) if err.size else 0.0
    if not np.allclose(got, expected, atol=atol, rtol=rtol):
        where = np.unravel_index(int(np.argmax(err)), err.shape) if err.size else ()
        raise CheckFailure(f"[{case}] {what} differs from {reference}: max abs error {max_err:.3g} at index "
                           f"{tuple(int(i) for i in where)} (yours {got[where]:.6g}, expected "
                           f"{expected[where]:.6g}); tolerance atol={atol:g}, rtol={rtol:g}")
    return max_err


def passed(name: str, n_cases: int, max_err: float | None = None, reference: str = "the framework") -> str:
    """Print and return the one-line success message of a checker."""
    msg = f"✓ {name}: all {n_cases} cases match {reference}"
    if max_err is not None:
        msg += f" (max abs error {max_err:.1e})"
    print(msg)
    return msg


def call_learner(fn, case: str, *args, **kwargs):
    """Call the learner's function; turn its exceptions into a CheckFailure that names the case."""
    if not callable(fn):
        raise TypeError(f"expected a function to check, got {type(fn).__name__}")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailure(f"[{case}] not implemented yet: replace `raise NotImplementedError()` "
                           "with your code") from None
    except CheckFailure:
        raise
    except Exception as e:
        raise CheckFailure(f"[{case}] your function raised {type(e).__name__}: {e}") from e


def in_float32(check):
    """Run a checker under the float32 Keras policy, whatever the global one (mixed_float16 on a GPU).

    The answer key must be exact: a reference layer built under ``mixed_float16`` computes in float16
    (errors around 1e-3), far above the checkers' tolerances. The global policy is restored after.
    """
    @functools.wraps(check)
    def wrapper(*args, **kwargs):
        import keras

        before = keras.config.dtype_policy()
        keras.config.set_dtype_policy("float32")
        try:
            return check(*args, **kwargs)
        finally:
            keras.config.set_dtype_policy(before)
    return wrapper
