"""Checkers for lesson 01 (convolution). TensorFlow/Keras computes every expected answer.

    check_conv2d(conv2d)             conv2d(x, w, b, strides, padding) vs tf.nn.conv2d + b
    check_output_size(output_size)   output_size(n, k, stride, padding, dilation), padding "valid",
                                     "same" or "full", vs Keras Conv2D / tf.nn.conv2d shapes
    check_edge_filter(kernel)        a horizontal-edge kernel, judged on synthetic edges with tf.nn.conv2d

Conventions the learner's functions must follow (the lesson uses the same ones):

* Images are channels-last, as in Keras: ``x`` has shape (N, H, W, C).
* Kernels are Keras/TF kernels: ``w`` has shape (kh, kw, C, F), ``b`` has shape (F,).
* The layer computes cross-correlation (no kernel flip), like ``keras.layers.Conv2D``.
* ``strides`` is a pair (s_h, s_w): the step down the rows and the step along the columns, as in
  ``keras.layers.Conv2D(strides=(s_h, s_w))``. (The lesson's functions take one int for both.)
* ``padding`` is ``"valid"`` (no padding) or ``"same"`` (output size ceil(n / s) per axis, each axis
  with its own stride); for "same" the total padding along an axis is ``max((out - 1) * s + k - n, 0)``,
  split as TensorFlow does: ``total // 2`` before (top/left) and the rest after (bottom/right).
  ``check_output_size`` also asks for ``"full"``: k_eff - 1 zeros on both sides, every position where
  the (dilated) kernel overlaps the input (numpy's ``np.convolve(mode="full")``).
"""
from __future__ import annotations

import functools

import numpy as np

from . import CheckFailure, assert_close, call_learner, describe_case, passed
from . import in_float32

# (N, H, W, C, kh, kw, F, (s_h, s_w), padding): small, awkward shapes. Every case has C != F, odd or
# non-square sizes; most have different strides for rows and columns, and the "same" cases include
# even kernels and stride 2, where TensorFlow's uneven padding split matters.
CONV_CASES = (
    (1, 5, 5, 1, 3, 3, 1, (1, 1), "valid"),
    (2, 6, 7, 3, 3, 3, 4, (1, 1), "same"),
    (2, 9, 8, 3, 3, 2, 2, (2, 1), "valid"),
    (2, 8, 9, 2, 3, 3, 3, (1, 2), "same"),
    (3, 7, 5, 2, 2, 3, 5, (2, 3), "same"),
    (2, 7, 7, 4, 4, 4, 3, (2, 2), "same"),
    (1, 10, 11, 3, 5, 3, 2, (3, 2), "same"),
    (2, 10, 11, 3, 5, 3, 2, (3, 1), "valid"),
    (2, 4, 4, 2, 1, 1, 3, (2, 2), "same"),
    (2, 11, 6, 2, 3, 2, 3, (2, 3), "valid"),
)

PADDINGS = ("valid", "same", "full")

SIZE_RULE = ("output size per axis, each with its own stride: 'valid' -> floor((n - k) / s) + 1, "
             "'same' -> ceil(n / s).")
SAME_RULE = ("with padding='same', TensorFlow pads max((out - 1) * s + k - n, 0) per axis, half (rounded "
             "down) before (top/left) and the rest after (bottom/right).")
STRIDES_RULE = "strides is (s_h, s_w): the first steps down the rows (height), the second along the columns."


def _conv_reference(x, w, b, strides, padding):
    import tensorflow as tf

    y = tf.nn.conv2d(tf.constant(x), tf.constant(w), strides=[1, *strides, 1], padding=padding.upper())
    return y.numpy() + b


def _conv_hint(got, x, w, b, strides, padding, expected):
    """A hint for a wrong conv2d output, from what the output looks like (no answer computed here)."""
    try:
        shape = np.shape(got)
    except Exception:
        return None
    if shape != expected.shape:
        swapped = strides[::-1]
        if strides[0] != strides[1] and shape == _conv_reference(x, w, b, swapped, padding).shape:
            return STRIDES_RULE
        return SIZE_RULE
    if strides[0] != strides[1]:
        swapped = _conv_reference(x, w, b, strides[::-1], padding)
        if swapped.shape == shape and np.allclose(np.asarray(got, "float64"), swapped, atol=1e-4):
            return STRIDES_RULE
    return SAME_RULE if padding == "same" else None


@in_float32
def check_conv2d(conv2d, seed: int = 0) -> str:
    """Check ``conv2d(x, w, b, strides, padding) -> y`` against ``tf.nn.conv2d(x, w) + b``.

    x: float64 (N, H, W, C); w: float64 (kh, kw, C, F); b: float64 (F,); strides: a pair of ints
    (s_h, s_w); padding: "valid" or "same". Expected y: (N, H_out, W_out, F) (see the module
    docstring). Runs the cases in CONV_CASES with random values; raises CheckFailure naming the
    first case that differs, with its shapes and the largest error. Returns the success message.
    """
    rng = np.random.default_rng(seed)
    max_err = 0.0
    for n, h, wd, c, kh, kw, f, strides, padding in CONV_CASES:
        x = rng.normal(size=(n, h, wd, c))
        w = rng.normal(size=(kh, kw, c, f))
        b = rng.normal(size=(f,))
        case = describe_case(x=x, w=w, b=b, strides=strides, padding=padding)
        expected = _conv_reference(x, w, b, strides, padding)
        got = call_learner(conv2d, case, x.copy(), w.copy(), b.copy(), strides, padding)
        try:
            max_err = max(max_err, assert_close(got, expected, case, "conv2d output", atol=1e-4, rtol=1e-4,
                                                reference="tf.nn.conv2d + b"))
        except CheckFailure as e:
            hint = _conv_hint(got, x, w, b, strides, padding, expected)
            raise CheckFailure(f"{e}. Hint: {hint}" if hint else str(e)) from None
    return passed("conv2d", len(CONV_CASES), max_err, "tf.nn.conv2d")


def _output_size_cases():
    """(n, k, stride, padding, dilation) over a grid, skipping what Keras / TensorFlow reject."""
    cases = []
    for n in (1, 2, 5, 6, 7, 8, 13, 28):
        for k in (1, 2, 3, 4, 5):
            for stride in (1, 2, 3):
                for dilation in (1, 2):
                    if stride > 1 and dilation > 1:   # Keras refuses this combination
                        continue
                    for padding in PADDINGS:
                        if padding == "valid" and dilation * (k - 1) + 1 > n:
                            continue                  # the kernel would not fit
                        cases.append((n, k, stride, padding, dilation))
    return cases


@functools.lru_cache(maxsize=None)
def _keras_conv_layer(k, stride, padding, dilation):
    import keras

    return keras.layers.Conv2D(1, k, strides=stride, padding=padding, dilation_rate=dilation)


@functools.lru_cache(maxsize=None)
def _tf_full_output_size(n, k, stride, dilation):
    """Output length of tf.nn.conv2d with k_eff - 1 explicit zeros on both sides ("full" padding)."""
    import tensorflow as tf

    p = dilation * (k - 1)
    y = tf.nn.conv2d(tf.zeros((1, n, 1, 1)), tf.zeros((k, 1, 1, 1)), strides=[1, stride, 1, 1],
                     padding=[[0, 0], [p, p], [0, 0], [0, 0]], dilations=[1, dilation, 1, 1])
    return int(y.shape[1])


def _reference_output_size(n, k, stride, padding, dilation):
    if padding == "full":
        return _tf_full_output_size(n, k, stride, dilation)
    layer = _keras_conv_layer(k, stride, padding, dilation)
    return int(layer.compute_output_shape((1, n, n, 1))[1])


@in_float32
def check_output_size(output_size) -> str:
    """Check ``output_size(n, k, stride, padding, dilation) -> int`` against Keras and TensorFlow.

    n: input height (or width); k: kernel size; stride: int >= 1; padding: "valid", "same" or
    "full"; dilation: int >= 1. All arguments are passed positionally. The expected value is the
    output height of keras.layers.Conv2D for "valid" and "same", and of tf.nn.conv2d with
    k_eff - 1 explicit zeros on both sides for "full" (k_eff = dilation * (k - 1) + 1), over a grid
    of sizes, kernels, strides and dilations.
    """
    cases = _output_size_cases()
    for n, k, stride, padding, dilation in cases:
        case = describe_case(n=n, k=k, stride=stride, padding=padding, dilation=dilation)
        got = call_learner(output_size, case, n, k, stride, padding, dilation)
        expected = _reference_output_size(n, k, stride, padding, dilation)
        who = "tf.nn.conv2d with 'full' padding" if padding == "full" else "Keras Conv2D"
        try:
            ok = int(got) == got and int(got) == expected
        except (TypeError, ValueError, OverflowError):
            raise CheckFailure(f"[{case}] output_size returned {got!r}; expected an int") from None
        if not ok:
            raise CheckFailure(f"[{case}] output_size returned {got!r}, {who} gives {expected} "
                               f"(error {_safe_diff(got, expected)})")
    return passed("output_size", len(cases), reference="keras.layers.Conv2D and tf.nn.conv2d")


def _safe_diff(got, expected):
    try:
        return f"{float(got) - expected:+g}"
    except (TypeError, ValueError):
        return "n/a"


# --------------------------------------------------------------------------- edge filter

EDGE_SIZE = 16  # synthetic test images are 16 x 16


def _edge_images():
    """Synthetic float64 images (1, 16, 16, 1): horizontal edge, vertical edge, flat, ramp."""
    rows = np.arange(EDGE_SIZE)[:, None] * np.ones((1, EDGE_SIZE))
    cols = rows.T
    return {
        "horizontal edge (dark top, bright bottom)": (rows >= EDGE_SIZE // 2).astype(float),
        "vertical edge (dark left, bright right)": (cols >= EDGE_SIZE // 2).astype(float),
        "flat grey image": np.full((EDGE_SIZE, EDGE_SIZE), 0.5),
        "left-to-right brightness ramp": cols / EDGE_SIZE,
    }


def _as_kernel(kernel_or_fn):
    k = kernel_or_fn() if callable(kernel_or_fn) else kernel_or_fn
    if k is None:
        raise CheckFailure("your kernel is None; did you forget to assign or `return` it?")
    try:
        k = np.asarray(k, dtype="float64")
    except Exception:
        raise CheckFailure(f"could not turn your kernel of type {type(k).__name__} into a numeric array") from None
    if k.ndim == 4 and k.shape[2:] == (1, 1):
        k = k[:, :, 0, 0]
    if k.ndim != 2 or not (2 <= k.shape[0] <= 7 and 2 <= k.shape[1] <= 7):
        raise CheckFailure(f"the kernel must be a 2-D array between 2x2 and 7x7 (or (kh, kw, 1, 1)), "
                           f"got shape {k.shape}")
    if not np.all(np.isfinite(k)):
        raise CheckFailure("the kernel contains NaN or inf")
    return k


@in_float32
def check_edge_filter(kernel, ratio: float = 0.1) -> str:
    """Check a kernel that detects horizontal edges (brightness changing from top to bottom).

    kernel: array (kh, kw) or (kh, kw, 1, 1), 2 <= kh, kw <= 7, or a function returning one.
    The kernel is applied with ``tf.nn.conv2d`` ("valid", i.e. Keras cross-correlation) to
    synthetic 16x16 images. Measuring each response by its largest absolute value, it must:

    * respond to a horizontal edge (response > 1e-6 and above ``ratio`` * sum |kernel|),
    * give at most ``ratio`` times that response on a vertical edge and on a left-to-right ramp,
    * give at most ``ratio`` times that response on a flat image (the weights sum to about 0).
    """
    import tensorflow as tf

    k = _as_kernel(kernel)
    scale = np.abs(k).sum()
    resp = {}
    for name, img in _edge_images().items():
        y = tf.nn.conv2d(img[None, :, :, None], k[:, :, None, None], strides=1, padding="VALID")
        resp[name] = float(np.abs(y.numpy()).max())
    names = list(resp)
    horizontal = resp[names[0]]
    summary = ", ".join(f"{n}: {v:.3g}" for n, v in resp.items())
    if horizontal <= max(1e-6, ratio * scale):
        raise CheckFailure(f"[{names[0]}] the kernel barely responds to a horizontal edge "
                           f"(max |response| {horizontal:.3g}, sum |kernel| {scale:.3g}). Responses: {summary}")
    for name in names[1:]:
        if resp[name] > ratio * horizontal:
            raise CheckFailure(f"[{name}] max |response| {resp[name]:.3g} is more than {ratio:g} x the "
                               f"horizontal-edge response {horizontal:.3g}. Responses: {summary}")
    return passed("horizontal edge filter", len(resp),
                  reference="the expected tf.nn.conv2d responses on synthetic edges")
