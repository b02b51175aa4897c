"""Checkers for lesson 02 (pooling). TensorFlow/Keras computes every expected answer.

Learner functions take channels-last numpy arrays; ``pool`` and ``strides`` are pairs (rows, columns),
as in ``keras.layers.MaxPooling2D(pool_size=(p_h, p_w), strides=(s_h, s_w))``. (The lesson's functions
take one int for square windows.)

    max_pool_forward(x, pool, strides, padding)              x (N, H, W, C) -> (N, Ho, Wo, C)
    max_pool_backward(dout, x, pool, strides, padding)       dout (N, Ho, Wo, C) -> dx (N, H, W, C)
    avg_pool_backward(dout, x_shape, pool, strides, padding) dout (N, Ho, Wo, C) -> dx of shape x_shape
    global_max_pool_backward(dout, x)                        dout (N, C) -> dx (N, H, W, C)

padding is "valid" or "same" (Keras' meaning). The references are ``keras.layers.MaxPooling2D``,
``AveragePooling2D`` and ``GlobalMaxPooling2D``, differentiated with ``tf.GradientTape`` and pinned
to the CPU, so the tie rule is the CPU kernel's (TIE_RULE, observed on TF 2.21; GPU kernels may differ).
"""
from __future__ import annotations

import functools

import numpy as np

from . import CheckFailure, assert_close, call_learner, describe_case, passed
from . import in_float32

TIE_RULE = ("TensorFlow's MaxPooling2D gradient (CPU kernel) sends each window's whole gradient to the "
            "FIRST maximum of the window in row-major order (top row first, then left to right); it does "
            "not split it between tied elements. np.argmax on the flattened window picks the same element.")
OVERLAP_RULES = {
    "max": ("where windows overlap, an input element can be the maximum of several windows: the gradients "
            "of all those windows ADD UP (use += or np.add.at, not =)."),
    "avg": ("where windows overlap, an input element belongs to several windows: it receives dout / count "
            "from EACH of them, and these ADD UP (use +=, not =)."),
}
SAME_AVG_RULE = ("with padding='same', TensorFlow's average pooling divides by the number of REAL input "
                 "elements in the window; padded positions are not counted.")
SAME_MAX_RULE = ("with padding='same', padded positions must never win the max: pad with -inf, not 0 "
                 "(inputs can be negative).")
PAD_SIDE_RULE = ("with padding='same', each axis gets (out - 1) * stride + pool - n padding (if positive), half "
                 "(rounded down) before (top/left) and the rest after (bottom/right).")
SIZE_RULE = ("output size per axis, with that axis' pool and stride: 'valid' -> floor((n - pool) / stride) + 1; "
             "'same' -> ceil(n / stride).")
PAIR_RULE = "pool and strides are (rows, columns) pairs: pool[0] and strides[0] go down the rows (height)."
GLOBAL_TIE_RULE = ("GlobalMaxPooling2D is tf.reduce_max over (H, W); its gradient splits each gradient "
                   "EQUALLY among all tied maxima (k ties -> each gets dout / k). This differs from "
                   "MaxPooling2D, which picks the first maximum.")

# (name, x shape, pool (p_h, p_w), strides (s_h, s_w), padding, values);
# values: "normal", "negative", "ties", "constant"
FORWARD_CASES = [
    ("2x2 window, strides 2x2, valid, even size", (2, 6, 6, 3), (2, 2), (2, 2), "valid", "normal"),
    ("3x2 window, strides 2x1, valid, odd sizes", (2, 9, 7, 3), (3, 2), (2, 1), "valid", "normal"),
    ("3x3 window, strides 2x2, same, overlapping windows", (3, 8, 7, 2), (3, 3), (2, 2), "same", "normal"),
    ("2x3 window, strides 1x2, same, odd sizes", (2, 5, 7, 4), (2, 3), (1, 2), "same", "normal"),
    ("1x3 window, strides 1x1, same, overlapping windows", (1, 5, 6, 2), (1, 3), (1, 1), "same", "normal"),
    ("2x2 window, strides 3x2, valid, gaps between rows", (2, 8, 7, 1), (2, 2), (3, 2), "valid", "normal"),
    ("3x2 window, strides 2x3, same, all-negative input", (2, 6, 5, 2), (3, 2), (2, 3), "same", "negative"),
    ("window covers the whole 5x4 map", (2, 5, 4, 3), (5, 4), (1, 1), "valid", "normal"),
]
TIE_CASES = [
    ("ties: values in {0, 1, 2}, 2x2 window, strides 2x2, valid", (2, 6, 6, 3), (2, 2), (2, 2), "valid", "ties"),
    ("ties: values in {0, 1, 2}, 3x2 window, strides 2x1, same", (2, 7, 6, 2), (3, 2), (2, 1), "same", "ties"),
    ("ties: constant input, 3x3 window, strides 1x1, valid (overlap)", (1, 5, 5, 2), (3, 3), (1, 1), "valid",
     "constant"),
]
OVERLAP_CASES = [
    ("overlapping windows: 3x2 window, strides 1x1, valid", (2, 6, 7, 2), (3, 2), (1, 1), "valid", "normal"),
]
GLOBAL_CASES = [
    ("random values, 5x7 maps", (3, 5, 7, 4), "normal"),
    ("all-negative values, 4x4 maps", (2, 4, 4, 3), "negative"),
    ("ties: values in {0, 1, 2}, 3x3 maps", (4, 3, 3, 3), "ties"),
    ("ties: constant maps", (2, 3, 4, 2), "constant"),
]


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def _check_fn(fn):
    if not callable(fn):
        raise TypeError(f"fn must be your function (a callable), got {type(fn).__name__}")


def _values(rng, shape, kind):
    """float32 test input of a given kind."""
    if kind == "normal":
        return rng.standard_normal(shape).astype("float32")
    if kind == "negative":
        return (-1.0 - rng.random(shape)).astype("float32")
    if kind == "ties":
        return rng.integers(0, 3, size=shape).astype("float32")
    if kind == "constant":
        return np.full(shape, 1.5, dtype="float32")
    raise ValueError(f"unknown values kind {kind!r}")


def _pool_layer(kind, pool, strides, padding):
    import keras

    cls = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D}[kind]
    return cls(pool_size=pool, strides=strides, padding=padding)


def _tf_forward_and_grad(layer, x, dout=None):
    """Layer output for x, and d(sum(y * dout))/dx, computed by TF on the CPU."""
    import tensorflow as tf

    with tf.device("/CPU:0"):
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = layer(xt)
            target = tf.reduce_sum(y * tf.constant(dout)) if dout is not None else None
        dx = tape.gradient(target, xt).numpy() if dout is not None else None
    return y.numpy(), dx


def _compare(got, expected, case, what, hint=None, reference="the reference", swapped_shape=None):
    """assert_close, with an output-size (or pair-order) hint on a shape mismatch, ``hint`` otherwise."""
    try:
        shape = np.shape(got) if got is not None else None
    except Exception:
        shape = None
    if shape is not None and shape != expected.shape:
        hint = PAIR_RULE if swapped_shape is not None and shape == swapped_shape else SIZE_RULE
    try:
        return assert_close(got, expected, case, what, reference=reference)
    except CheckFailure as e:
        raise CheckFailure(f"{e}. Hint: {hint}" if hint else str(e)) from None


def _hint_for(pool, strides, padding, values, kind, backward):
    hints = []
    if kind == "max" and padding == "same":
        hints.append(SAME_MAX_RULE)
    if kind == "avg" and padding == "same":
        hints.append(SAME_AVG_RULE)
    if padding == "same":
        hints.append(PAD_SIDE_RULE)
    if kind == "max" and backward and values in ("ties", "constant"):
        hints.append(TIE_RULE)
    if backward and (pool[0] > strides[0] or pool[1] > strides[1]):       # windows overlap
        hints.append(OVERLAP_RULES[kind])
    return " ".join(hints) or None


@functools.lru_cache(maxsize=16)
def _pool_cases(kind, backward, seed):
    """[(case text, x, dout or None, pool, strides, padding, expected, hint, shape with pairs swapped)]."""
    rng = np.random.default_rng(seed)
    table = FORWARD_CASES
    if backward:
        table = FORWARD_CASES + OVERLAP_CASES + (TIE_CASES if kind == "max" else [])
    out = []
    for name, shape, pool, strides, padding, values in table:
        x = _values(rng, shape, values)
        layer = _pool_layer(kind, pool, strides, padding)
        y, _ = _tf_forward_and_grad(layer, x)
        dout = rng.standard_normal(y.shape).astype("float32") if backward else None
        expected = _tf_forward_and_grad(layer, x, dout)[1] if backward else y
        swapped = None                  # the output shape if the learner swapped rows and columns
        if not backward and (pool[0] != pool[1] or strides[0] != strides[1]):
            try:                        # Keras' shape inference only: never run a kernel on a window that does not fit
                swapped = tuple(_pool_layer(kind, pool[::-1], strides[::-1], padding).compute_output_shape(shape))
            except Exception:
                swapped = None
            if swapped is not None and min(swapped) <= 0:
                swapped = None
        shown = dict(pool=pool, strides=strides, padding=padding)
        shown.update({"x": x} if kind == "max" or not backward else {"x_shape": shape})
        if backward:
            shown["dout"] = dout
        out.append((f"{name}: " + describe_case(**shown), x, dout, pool, strides, padding, expected,
                    _hint_for(pool, strides, padding, values, kind, backward), swapped))
    return out


@in_float32
def check_max_pool_forward(fn, seed: int = 0) -> str:
    """fn(x, pool, strides, padding) -> (N, Ho, Wo, C) must match keras.layers.MaxPooling2D."""
    _check_fn(fn)
    _check_seed(seed)
    cases, worst = _pool_cases("max", False, int(seed)), 0.0
    for case, x, _, pool, strides, padding, expected, hint, swapped in cases:
        got = call_learner(fn, case, x.copy(), pool, strides, padding)
        worst = max(worst, _compare(got, expected, case, "output", hint, "keras.layers.MaxPooling2D", swapped))
    return passed("max_pool_forward", len(cases), worst, "keras.layers.MaxPooling2D")


@in_float32
def check_max_pool_backward(fn, seed: int = 0) -> str:
    """fn(dout, x, pool, strides, padding) -> dx must match tf.GradientTape through MaxPooling2D."""
    _check_fn(fn)
    _check_seed(seed)
    cases, worst = _pool_cases("max", True, int(seed)), 0.0
    for case, x, dout, pool, strides, padding, expected, hint, _ in cases:
        got = call_learner(fn, case, dout.copy(), x.copy(), pool, strides, padding)
        worst = max(worst, _compare(got, expected, case, "dx", hint, "tf.GradientTape through MaxPooling2D"))
    return passed("max_pool_backward", len(cases), worst, "tf.GradientTape through MaxPooling2D")


@in_float32
def check_avg_pool_backward(fn, seed: int = 0) -> str:
    """fn(dout, x_shape, pool, strides, padding) -> dx must match tf.GradientTape through AveragePooling2D."""
    _check_fn(fn)
    _check_seed(seed)
    cases, worst = _pool_cases("avg", True, int(seed)), 0.0
    for case, x, dout, pool, strides, padding, expected, hint, _ in cases:
        got = call_learner(fn, case, dout.copy(), tuple(x.shape), pool, strides, padding)
        worst = max(worst, _compare(got, expected, case, "dx", hint, "tf.GradientTape through AveragePooling2D"))
    return passed("avg_pool_backward", len(cases), worst, "tf.GradientTape through AveragePooling2D")


@functools.lru_cache(maxsize=4)
def _global_cases(seed):
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    out = []
    for name, shape, values in GLOBAL_CASES:
        x = _values(rng, shape, values)
        dout = rng.standard_normal((shape[0], shape[3])).astype("float32")
        with tf.device("/CPU:0"):
            xt = tf.constant(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                target = tf.reduce_sum(keras.layers.GlobalMaxPooling2D()(xt) * dout)
            expected = tape.gradient(target, xt).numpy()
        hint = GLOBAL_TIE_RULE if values in ("ties", "constant") else None
        out.append((f"{name}: " + describe_case(x=x, dout=dout), x, dout, expected, hint))
    return out


@in_float32
def check_global_max_pool_backward(fn, seed: int = 0) -> str:
    """fn(dout, x) -> dx must match tf.GradientTape through keras.layers.GlobalMaxPooling2D."""
    _check_fn(fn)
    _check_seed(seed)
    cases, worst = _global_cases(int(seed)), 0.0
    for case, x, dout, expected, hint in cases:
        got = call_learner(fn, case, dout.copy(), x.copy())
        worst = max(worst, _compare(got, expected, case, "dx", hint, "tf.GradientTape through GlobalMaxPooling2D"))
    return passed("global_max_pool_backward", len(cases), worst, "tf.GradientTape through GlobalMaxPooling2D")
