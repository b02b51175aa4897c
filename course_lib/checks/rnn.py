"""Checkers for lesson 04 (RNN and LSTM gates). Keras computes every expected answer.

Learner functions take float64 numpy arrays in Keras' layout (row vectors: x @ kernel):

    rnn_step(x_t, h_prev, kernel, recurrent_kernel, bias) -> h_t
        x_t (N, D), h_prev (N, H), kernel (D, H), recurrent_kernel (H, H), bias (H,) -> (N, H)
    lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias) -> (h_t, c_t)
        kernel (D, 4H), recurrent_kernel (H, 4H), bias (4H,) packed as Keras packs them -> 2 x (N, H)
    unpack_lstm_weights(kernel, recurrent_kernel, bias) -> {"i": (W, U, b), "f": ..., "c": ..., "o": ...}
        W (D, H), U (H, H), b (H,) for the input gate, forget gate, candidate and output gate
    masked_mean(x, mask) -> x (N, T, D), mask bool (N, T) with >= 1 True per row -> (N, D)

References: ``keras.layers.SimpleRNN`` and ``keras.layers.LSTM`` run for one step with the weights
copied in and ``initial_state`` set; ``keras.layers.GlobalAveragePooling1D`` called with a mask.
For ``unpack_lstm_weights`` the gates are *measured* on a Keras LSTM: the forget gate is the
derivative of the new cell state with respect to the old one (tf.GradientTape), the rest follows
from the layer's outputs h_1 and c_1; your W, U, b must reproduce those measurements.
"""
from __future__ import annotations

import functools

import numpy as np

from . import CheckFailure, assert_close, call_learner, describe_case, passed
from . import in_float32

GATES = ("i", "f", "c", "o")
LSTM_HINT = ("Keras packs the four blocks of kernel, recurrent_kernel and bias in the order i, f, c, o "
             "(each H columns wide). Gates use the sigmoid: i, f, o = sigmoid(x W + h U + b); the candidate "
             "uses tanh: g = tanh(x W_c + h U_c + b_c). Then c_t = f * c_prev + i * g and h_t = o * tanh(c_t).")
RNN_HINT = "A SimpleRNN step is h_t = tanh(x_t @ kernel + h_prev @ recurrent_kernel + bias)."
MEAN_HINT = ("Average only the time steps where mask is True: sum(x * mask) over time divided by the number "
             "of True entries of that row (not by T).")

# (name, N, D, H, zero_state, weight scale)
STEP_CASES = [
    ("first step: h_prev = c_prev = 0", 2, 3, 4, True, 0.5),
    ("random h_prev and c_prev", 3, 5, 4, False, 0.5),
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


def _compare(got, expected, case, what, hint):
    try:
        return assert_close(got, expected, case, what)
    except CheckFailure as e:
        raise CheckFailure(f"{e}. Hint: {hint}") from None


def _keras_layer(kind, units, input_dim, weights):
    """A float64 keras SimpleRNN / LSTM (return_state=True) holding ``weights``."""
    import keras

    cls = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM}[kind]
    layer = cls(units, return_state=True, dtype="float64")
    layer.build((None, 1, input_dim))
    layer.set_weights(weights)
    return layer


def _random_weights(rng, D, H, gates, scale):
    return [scale * rng.standard_normal((D, gates * H)), scale * rng.standard_normal((H, gates * H)),
            scale * rng.standard_normal(gates * H)]


@functools.lru_cache(maxsize=8)
def _step_cases(kind, seed):
    """[(case text, x_t, h_prev, c_prev, weights, expected h, expected c)] from Keras."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    gates = 4 if kind == "lstm" else 1
    out = []
    for name, N, D, H, zero_state, scale in STEP_CASES:
        x = rng.standard_normal((N, D))
        h0 = np.zeros((N, H)) if zero_state else rng.standard_normal((N, H))
        c0 = np.zeros((N, H)) if zero_state else 2.0 * rng.standard_normal((N, H))
        weights = _random_weights(rng, D, H, gates, scale)
        layer = _keras_layer(kind, H, D, weights)
        state = [tf.constant(h0)] + ([tf.constant(c0)] if kind == "lstm" else [])
        res = layer(tf.constant(x[:, None, :]), initial_state=state)
        h1 = res[1].numpy()
        c1 = res[2].numpy() if kind == "lstm" else None
        shown = dict(x_t=x, h_prev=h0) | (dict(c_prev=c0) if kind == "lstm" else {})
        shown |= dict(kernel=weights[0], recurrent_kernel=weights[1], bias=weights[2])
        out.append((f"{name}: {describe_case(**shown)}", x, h0, c0, weights, h1, c1))
    return out


@in_float32
def check_rnn_step(fn, seed: int = 0) -> str:
    """fn(x_t, h_prev, kernel, recurrent_kernel, bias) -> h_t must match one step of keras.layers.SimpleRNN."""
    _check_args(fn, seed)
    cases, worst = _step_cases("rnn", int(seed)), 0.0
    for case, x, h0, _, (k, r, b), h1, _ in cases:
        got = call_learner(fn, case, x.copy(), h0.copy(), k.copy(), r.copy(), b.copy())
        worst = max(worst, _compare(got, h1, case, "h_t", RNN_HINT))
    return passed("rnn_step", len(cases), worst, "keras.layers.SimpleRNN")


@in_float32
def check_lstm_step(fn, seed: int = 0) -> str:
    """fn(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias) -> (h_t, c_t) must match keras.layers.LSTM."""
    _check_args(fn, seed)
    cases, worst = _step_cases("lstm", int(seed)), 0.0
    for case, x, h0, c0, (k, r, b), h1, c1 in cases:
        got = call_learner(fn, case, x.copy(), h0.copy(), c0.copy(), k.copy(), r.copy(), b.copy())
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise CheckFailure(f"[{case}] lstm_step must return a pair (h_t, c_t), got {type(got).__name__}"
                               + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""))
        worst = max(worst, _compare(got[1], c1, case, "c_t (cell state)", LSTM_HINT))
        worst = max(worst, _compare(got[0], h1, case, "h_t (hidden state)", LSTM_HINT))
    return passed("lstm_step", len(cases), worst, "keras.layers.LSTM")


@functools.lru_cache(maxsize=4)
def _gate_measurements(seed):
    """Per case: weights, inputs and the gate quantities measured on a Keras LSTM.

    f = d c_1 / d c_0 (exact: c_1 = f * c_0 + i * g, and no gate depends on c_0);
    i * g = c_1 - f * c_0;  h_1 and c_1 as Keras returns them.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed + 1000)
    out = []
    for name, N, D, H, _, scale in STEP_CASES:
        x, h0, c0 = rng.standard_normal((N, D)), rng.standard_normal((N, H)), 2.0 * rng.standard_normal((N, H))
        weights = _random_weights(rng, D, H, 4, scale)
        layer = _keras_layer("lstm", H, D, weights)
        c0_t = tf.constant(c0)
        with tf.GradientTape() as tape:
            tape.watch(c0_t)
            _, h1, c1 = layer(tf.constant(x[:, None, :]), initial_state=[tf.constant(h0), c0_t])
        f = tape.gradient(c1, c0_t).numpy()
        m = dict(f=f, ig=c1.numpy() - f * c0, h1=h1.numpy(), c1=c1.numpy())
        shown = describe_case(kernel=weights[0], recurrent_kernel=weights[1], bias=weights[2])
        out.append((f"{name.replace('first step: h_prev = c_prev = 0', 'small sizes')}: {shown}",
                    x, h0, weights, m))
    return out


def _validate_unpacked(got, case, D, H):
    if not isinstance(got, dict):
        raise CheckFailure(f"[{case}] unpack_lstm_weights must return a dict with keys 'i', 'f', 'c', 'o', "
                           f"got {type(got).__name__}")
    if set(got) != set(GATES):
        raise CheckFailure(f"[{case}] the dict must have exactly the keys 'i', 'f', 'c', 'o', got {sorted(got)}")
    expected_shapes = ((D, H), (H, H), (H,))
    for g in GATES:
        if not isinstance(got[g], (tuple, list)) or len(got[g]) != 3:
            raise CheckFailure(f"[{case}] gate {g!r}: expected a tuple (W, U, b), got {type(got[g]).__name__}")
        for part, arr, shape in zip(("W", "U", "b"), got[g], expected_shapes):
            if np.shape(arr) != shape:
                raise CheckFailure(f"[{case}] gate {g!r}: {part} has shape {np.shape(arr)}, expected {shape} "
                                   f"(D={D} inputs, H={H} units)")


@in_float32
def check_unpack_lstm_weights(fn, seed: int = 0) -> str:
    """fn(kernel, recurrent_kernel, bias) -> {gate: (W, U, b)} must reproduce the gates of a Keras LSTM.

    With your blocks, z_g = x W_g + h U_g + b_g. Checked against the Keras layer:
    sigmoid(z_f) == d c_1 / d c_0 (the forget gate, by autodiff), sigmoid(z_i) * tanh(z_c) == c_1 - f * c_0,
    and sigmoid(z_o) * tanh(c_1) == h_1.
    """
    import tensorflow as tf

    _check_args(fn, seed)
    cases, worst = _gate_measurements(int(seed)), 0.0
    for case, x, h0, (k, r, b), m in cases:
        D, H = k.shape[0], r.shape[0]
        got = call_learner(fn, case, k.copy(), r.copy(), b.copy())
        _validate_unpacked(got, case, D, H)
        z = {g: x @ np.asarray(W, "float64") + h0 @ np.asarray(U, "float64") + np.asarray(bb, "float64")
             for g, (W, U, bb) in got.items()}
        sig = {g: tf.sigmoid(z[g]).numpy() for g in ("i", "f", "o")}
        checks = [("forget gate sigmoid(x W_f + h U_f + b_f) vs d c_1/d c_0 measured on keras.layers.LSTM",
                   sig["f"], m["f"]),
                  ("input gate * candidate, sigmoid(z_i) * tanh(z_c), vs c_1 - f * c_0 from keras.layers.LSTM",
                   sig["i"] * tf.tanh(z["c"]).numpy(), m["ig"]),
                  ("output gate * tanh(c_1), sigmoid(z_o) * tanh(c_1), vs h_1 from keras.layers.LSTM",
                   sig["o"] * np.tanh(m["c1"]), m["h1"])]
        for what, mine, ref in checks:
            worst = max(worst, _compare(mine, ref, case, what, LSTM_HINT))
    return passed("unpack_lstm_weights", len(cases), worst, "the gates measured on keras.layers.LSTM")


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
        worst = max(worst, _compare(got, expected, case, "masked mean", MEAN_HINT))
    return passed("masked_mean", len(cases), worst, "keras.layers.GlobalAveragePooling1D with a mask")
