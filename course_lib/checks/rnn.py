"""Checkers for lesson 04 (RNN, LSTM and GRU gates). Keras computes every expected answer.

Learner functions take float64 numpy arrays in Keras' layout (row vectors: x @ kernel):

    rnn_step(x_t, h_prev, kernel, recurrent_kernel, bias) -> h_t
        x_t (N, D), h_prev (N, H), kernel (D, H), recurrent_kernel (H, H), bias (H,) -> (N, H)
    gru_step(x_t, h_prev, kernel, recurrent_kernel, bias) -> h_t        (GRU with reset_after=False)
        kernel (D, 3H), recurrent_kernel (H, 3H), bias (3H,), blocks z, r, h as Keras packs them -> (N, H)
    unpack_gru_weights(kernel, recurrent_kernel, bias) -> {"z": (W, U, b_x, b_h), "r": ..., "h": ...}
        for Keras' default GRU (reset_after=True): kernel (D, 3H), recurrent_kernel (H, 3H), bias (2, 3H);
        W (D, H), U (H, H), b_x (H,) the input bias, b_h (H,) the recurrent bias of each block
    masked_mean(x, mask) -> x (N, T, D), mask bool (N, T) with >= 1 True per row -> (N, D)

References: ``keras.layers.SimpleRNN`` and ``keras.layers.GRU`` run for one step with the weights
copied in and ``initial_state`` set; ``keras.layers.GlobalAveragePooling1D`` called with a mask.
For ``unpack_gru_weights`` the checker runs a Keras GRU and asks whether your blocks, put through
the GRU's equations (Cho et al. 2014, with Keras' reset_after=True), give the layer's new state.
The lesson implements the reset_after=True step and measures the LSTM's gate order; the exercises
ask for the other GRU layout and for the GRU's blocks.
"""
from __future__ import annotations

import functools

import numpy as np

from . import CheckFailure, assert_close, call_learner, describe_case, passed
from . import in_float32

GRU_GATES = ("z", "r", "h")
RNN_HINT = "A SimpleRNN step is h_t = tanh(x_t @ kernel + h_prev @ recurrent_kernel + bias)."
GRU_HINT = ("Keras packs the blocks z, r, h (each H columns wide) in kernel, recurrent_kernel and bias. Check "
            "which of z and 1 - z weights h_prev (in Keras z weights the old state), and where reset_after=False "
            "applies the reset gate.")
RESET_AFTER_HINT = ("your h_t equals Keras' default GRU (reset_after=True, the lesson's gru_step), where the reset "
                    "gate multiplies the recurrent product; this exercise is reset_after=False, where it multiplies "
                    "h_prev before the product.")
UNPACK_HINT = ("Keras packs the GRU blocks in the order z, r, h (each H columns wide); with reset_after=True the "
               "bias has two rows: bias[0] is added to x @ kernel, bias[1] to h_prev @ recurrent_kernel.")
MEAN_HINT = ("Average only the time steps where mask is True: sum(x * mask) over time divided by the number "
             "of True entries of that row (not by T).")

# (name, N, D, H, zero_state, weight scale)
STEP_CASES = [
    ("first step: h_prev = 0", 2, 3, 4, True, 0.5),
    ("random h_prev", 3, 5, 4, False, 0.5),
    ("batch of 1, one input feature, one unit", 1, 1, 1, False, 0.8),
    ("more units than inputs, odd sizes", 4, 2, 7, False, 0.5),
    ("large weights: saturated gates", 3, 4, 5, False, 2.0),
]
# (name, N, T, D, kind); kind: "prefix" (padding at the end), "gaps" (holes anywhere), "full", "one"
MEAN_CASES = [
    ("variable lengths, padding at the end", 4, 6, 3, "prefix"),
    ("no padding (all steps real)", 2, 5, 4, "full"),
    ("a sequence of length 1", 3, 4, 2, "one"),
    ("mask with holes in the middle", 3, 7, 3, "gaps"),
    ("batch of 1, one feature", 1, 5, 1, "prefix"),
]


def _check_args(fn, seed):
    if not callable(fn):
        raise TypeError(f"fn must be your function (a callable), got {type(fn).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")


def _compare(got, expected, case, what, hint, reference="the reference"):
    try:
        return assert_close(got, expected, case, what, reference=reference)
    except CheckFailure as e:
        raise CheckFailure(f"{e}. Hint: {hint}") from None


def _keras_layer(kind, units, input_dim, weights):
    """A float64 keras SimpleRNN / GRU (return_state=True) holding ``weights``.

    kind: "rnn", "gru" (reset_after=False, bias (3H,)) or "gru_after" (reset_after=True, bias (2, 3H)).
    """
    import keras

    if kind == "rnn":
        layer = keras.layers.SimpleRNN(units, return_state=True, dtype="float64")
    else:
        layer = keras.layers.GRU(units, return_state=True, reset_after=kind == "gru_after", dtype="float64")
    layer.build((None, 1, input_dim))
    layer.set_weights(weights)
    return layer


def _random_weights(rng, D, H, gates, scale, bias_rows=None):
    bias_shape = (gates * H,) if bias_rows is None else (bias_rows, gates * H)
    return [scale * rng.standard_normal((D, gates * H)), scale * rng.standard_normal((H, gates * H)),
            scale * rng.standard_normal(bias_shape)]


@functools.lru_cache(maxsize=8)
def _step_cases(kind, seed):
    """[(case text, x_t, h_prev, weights, expected h)] from Keras; kind "rnn" or "gru"."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    gates = 3 if kind == "gru" else 1
    out = []
    for name, N, D, H, zero_state, scale in STEP_CASES:
        x = rng.standard_normal((N, D))
        h0 = np.zeros((N, H)) if zero_state else rng.standard_normal((N, H))
        weights = _random_weights(rng, D, H, gates, scale)
        layer = _keras_layer(kind, H, D, weights)
        h1 = layer(tf.constant(x[:, None, :]), initial_state=[tf.constant(h0)])[1].numpy()
        shown = dict(x_t=x, h_prev=h0, kernel=weights[0], recurrent_kernel=weights[1], bias=weights[2])
        out.append((f"{name}: {describe_case(**shown)}", x, h0, weights, h1))
    return out


@in_float32
def check_rnn_step(fn, seed: int = 0) -> str:
    """fn(x_t, h_prev, kernel, recurrent_kernel, bias) -> h_t must match one step of keras.layers.SimpleRNN."""
    _check_args(fn, seed)
    cases, worst = _step_cases("rnn", int(seed)), 0.0
    for case, x, h0, (k, r, b), h1 in cases:
        got = call_learner(fn, case, x.copy(), h0.copy(), k.copy(), r.copy(), b.copy())
        worst = max(worst, _compare(got, h1, case, "h_t", RNN_HINT, "keras.layers.SimpleRNN"))
    return passed("rnn_step", len(cases), worst, "keras.layers.SimpleRNN")


def _reset_after_variant(x, h0, weights):
    """What Keras' default GRU (reset_after=True) gives with the same weights (bias as the input bias)."""
    import tensorflow as tf

    k, r, b = weights
    layer = _keras_layer("gru_after", r.shape[0], k.shape[0], [k, r, np.stack([b, np.zeros_like(b)])])
    return layer(tf.constant(x[:, None, :]), initial_state=[tf.constant(h0)])[1].numpy()


@in_float32
def check_gru_step(fn, seed: int = 0) -> str:
    """fn(x_t, h_prev, kernel, recurrent_kernel, bias) -> h_t must match one step of
    keras.layers.GRU(reset_after=False): Cho et al.'s (2014) layout, one bias vector (3H,)."""
    _check_args(fn, seed)
    cases, worst = _step_cases("gru", int(seed)), 0.0
    for case, x, h0, (k, r, b), h1 in cases:
        got = call_learner(fn, case, x.copy(), h0.copy(), k.copy(), r.copy(), b.copy())
        hint = GRU_HINT
        try:
            if np.shape(got) == h1.shape and np.allclose(np.asarray(got, "float64"), _reset_after_variant(x, h0, (k, r, b)),
                                                         atol=1e-6):
                hint = RESET_AFTER_HINT
        except Exception:
            pass
        worst = max(worst, _compare(got, h1, case, "h_t", hint, "keras.layers.GRU(reset_after=False)"))
    return passed("gru_step", len(cases), worst, "keras.layers.GRU(reset_after=False)")


@functools.lru_cache(maxsize=4)
def _gru_measurements(seed):
    """Per case: weights (bias (2, 3H)), inputs x, h_0 and the new state h_1 of a Keras GRU (reset_after=True)."""
    import tensorflow as tf

    rng = np.random.default_rng(seed + 1000)
    out = []
    for name, N, D, H, _, scale in STEP_CASES:
        x, h0 = rng.standard_normal((N, D)), rng.standard_normal((N, H))
        weights = _random_weights(rng, D, H, 3, scale, bias_rows=2)
        layer = _keras_layer("gru_after", H, D, weights)
        h1 = layer(tf.constant(x[:, None, :]), initial_state=[tf.constant(h0)])[1].numpy()
        shown = describe_case(kernel=weights[0], recurrent_kernel=weights[1], bias=weights[2])
        out.append((f"{name.split(':')[0].replace('first step', 'small sizes')}: {shown}", x, h0, weights, h1))
    return out


def _validate_unpacked(got, case, D, H):
    if not isinstance(got, dict):
        raise CheckFailure(f"[{case}] unpack_gru_weights must return a dict with keys 'z', 'r', 'h', "
                           f"got {type(got).__name__}")
    if set(got) != set(GRU_GATES):
        raise CheckFailure(f"[{case}] the dict must have exactly the keys 'z', 'r', 'h', got {sorted(map(str, got))}")
    expected_shapes = ((D, H), (H, H), (H,), (H,))
    for g in GRU_GATES:
        if not isinstance(got[g], (tuple, list)) or len(got[g]) != 4:
            raise CheckFailure(f"[{case}] gate {g!r}: expected a tuple (W, U, b_x, b_h), got "
                               f"{type(got[g]).__name__}" + (f" of length {len(got[g])}"
                                                             if isinstance(got[g], (tuple, list)) else ""))
        for part, arr, shape in zip(("W", "U", "b_x", "b_h"), got[g], expected_shapes):
            if np.shape(arr) != shape:
                raise CheckFailure(f"[{case}] gate {g!r}: {part} has shape {np.shape(arr)}, expected {shape} "
                                   f"(D={D} inputs, H={H} units)")
            try:
                np.asarray(arr, dtype="float64")
            except (TypeError, ValueError):
                raise CheckFailure(f"[{case}] gate {g!r}: {part} is not a numeric array") from None


@in_float32
def check_unpack_gru_weights(fn, seed: int = 0) -> str:
    """fn(kernel, recurrent_kernel, bias) -> {gate: (W, U, b_x, b_h)} for Keras' default GRU (reset_after=True).

    With your blocks, z = sigmoid(x W_z + b_x,z + h U_z + b_h,z), r likewise, the candidate
    tanh(x W_h + b_x,h + r * (h U_h + b_h,h)) and h_1 = z * h_0 + (1 - z) * candidate must equal the
    new state of a keras.layers.GRU holding the packed weights, for random x and h_0.
    """
    _check_args(fn, seed)
    cases, worst = _gru_measurements(int(seed)), 0.0
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))
    for case, x, h0, (k, r, b), h1 in cases:
        D, H = k.shape[0], r.shape[0]
        got = call_learner(fn, case, k.copy(), r.copy(), b.copy())
        _validate_unpacked(got, case, D, H)
        blk = {g: [np.asarray(a, "float64") for a in got[g]] for g in GRU_GATES}
        pre = {g: (x @ W + bx, h0 @ U + bh) for g, (W, U, bx, bh) in blk.items()}
        z, rr = sig(sum(pre["z"])), sig(sum(pre["r"]))
        mine = z * h0 + (1 - z) * np.tanh(pre["h"][0] + rr * pre["h"][1])
        worst = max(worst, _compare(mine, h1, case, "new state h_1 through the GRU equations with your blocks",
                                    UNPACK_HINT, "keras.layers.GRU"))
    return passed("unpack_gru_weights", len(cases), worst, "the new state of keras.layers.GRU")


def _mask(rng, N, T, kind):
    if kind == "full":
        return np.ones((N, T), bool)
    if kind == "one":
        lengths = np.r_[1, rng.integers(1, T + 1, N - 1)]
    elif kind == "prefix":
        lengths = rng.integers(1, T + 1, N)
        lengths[0] = max(1, T - 2)
    else:  # gaps
        mask = rng.random((N, T)) < 0.5
        mask[:, 0] = mask[:, 0] | ~mask.any(1)
        mask[0] = [t % 2 == 1 for t in range(T)]
        return mask
    return np.arange(T)[None, :] < lengths[:, None]


@functools.lru_cache(maxsize=4)
def _mean_cases(seed):
    import keras

    rng = np.random.default_rng(seed)
    out = []
    for name, N, T, D, kind in MEAN_CASES:
        mask = _mask(rng, N, T, kind)
        x = rng.standard_normal((N, T, D))
        x[~mask] = 1000.0  # padding holds junk: it must not leak into the mean
        expected = keras.layers.GlobalAveragePooling1D(dtype="float64")(x, mask=mask).numpy()
        out.append((f"{name}: {describe_case(x=x, mask=mask)}", x, mask, expected))
    return out


@in_float32
def check_masked_mean(fn, seed: int = 0) -> str:
    """fn(x (N, T, D), mask bool (N, T)) -> (N, D) must match keras.layers.GlobalAveragePooling1D(x, mask=mask)."""
    _check_args(fn, seed)
    cases, worst = _mean_cases(int(seed)), 0.0
    for case, x, mask, expected in cases:
        got = call_learner(fn, case, x.copy(), mask.copy())
        worst = max(worst, _compare(got, expected, case, "masked mean", MEAN_HINT,
                                    "keras.layers.GlobalAveragePooling1D with a mask"))
    return passed("masked_mean", len(cases), worst, "keras.layers.GlobalAveragePooling1D with a mask")
