"""Checkers for lesson 03 (backpropagation). TensorFlow's GradientTape is the answer key.

Each checker calls the learner's function on random float64 cases (batch > 1, batch 1, odd and square
sizes), computes the expected values with TensorFlow, and prints one line or raises CheckFailure naming
the case, the shapes and the largest error.

    check_dense_backward(fn)       fn(dout, x, W) -> (dx, dW, db)               y = x @ W + b
    check_softmax_ce(fn)           fn(logits, y) -> (loss, dlogits)             mean cross-entropy
    check_mlp_backward(fn)         fn(x, y, W1, b1, W2, b2) -> (dW1, db1, dW2, db2)
    check_numerical_gradient(fn)   fn(f, x, dout, eps) -> gradient of sum(f(x) * dout)
    check_conv2d_backward(fn)      fn(dout, x, w) -> (dx, dw)                   stride 1, 'valid'
    check_maxpool_backward(fn)     fn(dout, x, size) -> dx                      size x size, stride size
"""
from __future__ import annotations

import numpy as np

from . import CheckFailure, assert_close, call_learner, describe_case, passed
from . import in_float32

ATOL = 1e-8   # float64 everywhere: a right answer is within ~1e-12
RTOL = 1e-6


def _tf():
    import tensorflow as tf
    return tf


def _unpack(result, n, case, names):
    """The learner's tuple of ``n`` results, or a CheckFailure saying what was expected."""
    if not isinstance(result, (tuple, list)) or len(result) != n:
        got = f"a {type(result).__name__}" + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        raise CheckFailure(f"[{case}] expected a tuple ({', '.join(names)}), got {got}")
    return result


def _rng(seed):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- Dense

DENSE_CASES = [(4, 5, 5), (3, 4, 6), (1, 7, 2), (6, 1, 3), (5, 3, 1)]   # (N, D, M); square first


@in_float32
def check_dense_backward(fn, seed: int = 0) -> str:
    """fn(dout (N, M), x (N, D), W (D, M)) -> (dx (N, D), dW (D, M), db (M,)) for y = x @ W + b."""
    tf = _tf()
    rng, worst = _rng(seed), 0.0
    for n, d, m in DENSE_CASES:
        x, w, b = rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
        dout = rng.standard_normal((n, m))
        case = describe_case(dout=dout, x=x, W=w)
        xt, wt, bt = (tf.constant(a) for a in (x, w, b))
        with tf.GradientTape() as tape:
            tape.watch([xt, wt, bt])
            y = tf.matmul(xt, wt) + bt
        expected = tape.gradient(y, [xt, wt, bt], output_gradients=tf.constant(dout))
        got = _unpack(call_learner(fn, case, dout.copy(), x.copy(), w.copy()), 3, case, ("dx", "dW", "db"))
        for g, e, what in zip(got, expected, ("dx", "dW", "db")):
            worst = max(worst, assert_close(g, e.numpy(), case, what, ATOL, RTOL))
    return passed("dense_backward", len(DENSE_CASES), worst, "tf.GradientTape")


# --------------------------------------------------------------------------- softmax cross-entropy

SOFTMAX_CASES = [("batch of 5, 10 classes", 5, 10, 3.0), ("batch of 1", 1, 3, 3.0),
                 ("two classes", 8, 2, 3.0), ("huge logits (stability)", 4, 6, 1000.0)]


@in_float32
def check_softmax_ce(fn, seed: int = 0) -> str:
    """fn(logits (N, K), y int (N,)) -> (loss float, dlogits (N, K)); loss = mean cross-entropy over the batch."""
    tf = _tf()
    rng, worst = _rng(seed), 0.0
    for name, n, k, scale in SOFTMAX_CASES:
        logits, y = scale * rng.standard_normal((n, k)), rng.integers(0, k, n)
        case = f"{name}: " + describe_case(logits=logits, y=y)
        lt = tf.constant(logits)
        with tf.GradientTape() as tape:
            tape.watch(lt)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(y), lt))
        dl = tape.gradient(loss, lt)
        got = _unpack(call_learner(fn, case, logits.copy(), y.copy()), 2, case, ("loss", "dlogits"))
        got_loss = np.asarray(got[0], dtype="float64") if got[0] is not None else None
        if got_loss is not None and got_loss.size != 1:
            raise CheckFailure(f"[{case}] loss must be one number (the batch mean), got shape {got_loss.shape}")
        worst = max(worst, assert_close(None if got_loss is None else got_loss.reshape(()), loss.numpy(),
                                        case, "loss", ATOL, RTOL))
        worst = max(worst, assert_close(got[1], dl.numpy(), case, "dlogits", ATOL, RTOL))
    return passed("softmax_ce", len(SOFTMAX_CASES), worst, "tf.GradientTape")


# --------------------------------------------------------------------------- 2-layer MLP

MLP_CASES = [(6, 5, 7, 3), (1, 4, 3, 2), (10, 8, 16, 10)]   # (N, D, H, K)


@in_float32
def check_mlp_backward(fn, seed: int = 0) -> str:
    """fn(x (N, D), y int (N,), W1 (D, H), b1 (H,), W2 (H, K), b2 (K,)) -> (dW1, db1, dW2, db2).

    The model: logits = relu(x @ W1 + b1) @ W2 + b2, loss = mean softmax cross-entropy.
    """
    tf = _tf()
    rng, worst = _rng(seed), 0.0
    names = ("dW1", "db1", "dW2", "db2")
    for n, d, h, k in MLP_CASES:
        x, y = rng.standard_normal((n, d)), rng.integers(0, k, n)
        params = [rng.standard_normal((d, h)), rng.standard_normal(h) * 0.5,
                  rng.standard_normal((h, k)), rng.standard_normal(k)]
        case = describe_case(x=x, W1=params[0], W2=params[2])
        pt = [tf.constant(p) for p in params]
        with tf.GradientTape() as tape:
            tape.watch(pt)
            hid = tf.nn.relu(tf.constant(x) @ pt[0] + pt[1])
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(y), hid @ pt[2] + pt[3]))
        expected = tape.gradient(loss, pt)
        got = _unpack(call_learner(fn, case, x.copy(), y.copy(), *[p.copy() for p in params]), 4, case, names)
        for g, e, what in zip(got, expected, names):
            worst = max(worst, assert_close(g, e.numpy(), case, what, ATOL, RTOL))
    return passed("mlp_backward", len(MLP_CASES), worst, "tf.GradientTape")


# --------------------------------------------------------------------------- numerical gradient

def _numgrad_cases(rng):
    a = rng.standard_normal((4, 3))
    return [
        ("cube, elementwise", lambda x: x ** 3, lambda t: t ** 3, rng.uniform(0.5, 2.0, (3, 4))),
        ("tanh(x @ A)", lambda x: np.tanh(x @ a), lambda t: tf_tanh_matmul(t, a), rng.standard_normal((2, 4))),
        ("scalar log-sum-exp", lambda x: np.log(np.sum(np.exp(x))),
         lambda t: _tf().reduce_logsumexp(t), rng.standard_normal(5)),
    ]


def tf_tanh_matmul(t, a):
    tf = _tf()
    return tf.tanh(t @ tf.constant(a))


def _refusing_course_lib(f):
    """f, wrapped to raise CheckFailure when it is called from inside course_lib.gradcheck."""
    import sys

    from course_lib import gradcheck

    def wrapped(x):
        called, frame = [], sys._getframe(1)
        while frame is not None:          # the callers, innermost first
            if frame.f_code.co_filename == gradcheck.__file__:
                called.append(frame.f_code.co_name)
            frame = frame.f_back
        if called:           # the outermost gradcheck function is the one the learner called
            raise CheckFailure(f"your function called course_lib.gradcheck.{called[-1]}; the exercise is "
                               "to write the centred differences yourself")
        return f(x)
    return wrapped


@in_float32
def check_numerical_gradient(fn, eps: float = 1e-5, seed: int = 0) -> str:
    """fn(f, x, dout, eps) -> array like x: centred differences of sum(f(x) * dout) w.r.t. x.

    Checked against tf.GradientTape with a tolerance (1e-7) that centred differences meet and
    one-sided differences (error ~ eps) do not. x must come back unchanged. A function that hands
    the work to ``course_lib.gradcheck`` (under any name) is refused: the exercise is to write it.
    """
    tf = _tf()
    rng, worst = _rng(seed), 0.0
    cases = _numgrad_cases(rng)
    for name, f_np, f_tf, x in cases:
        f_np = _refusing_course_lib(f_np)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            out = f_tf(xt)
        dout = rng.standard_normal(tuple(out.shape))
        expected = tape.gradient(out, xt, output_gradients=tf.constant(dout))
        case = f"{name}: " + describe_case(x=x, dout=dout)
        x_in = x.copy()
        got = call_learner(fn, case, f_np, x_in, dout.copy(), eps)
        if not np.array_equal(x_in, x):
            raise CheckFailure(f"[{case}] your function changed x (max change {np.abs(x_in - x).max():.3g}); "
                               "put every perturbed entry back to its original value")
        worst = max(worst, assert_close(got, expected.numpy(), case, "numerical gradient", 1e-7, 1e-6))
    return passed("numerical_gradient", len(cases), worst, "tf.GradientTape")


# --------------------------------------------------------------------------- convolution and pooling

CONV_CASES = [(2, 5, 6, 3, 3, 2, 4), (1, 4, 4, 1, 2, 2, 1), (3, 7, 5, 2, 3, 3, 5),
              (2, 4, 5, 3, 1, 1, 2), (1, 3, 4, 2, 3, 4, 3)]   # (N, H, W, C, kh, kw, F)


@in_float32
def check_conv2d_backward(fn, seed: int = 0) -> str:
    """fn(dout (N, Ho, Wo, F), x (N, H, W, C), w (kh, kw, C, F)) -> (dx like x, dw like w).

    The forward pass is tf.nn.conv2d(x, w, strides=1, padding="VALID") (a correlation):
    Ho = H - kh + 1, Wo = W - kw + 1.
    """
    tf = _tf()
    rng, worst = _rng(seed), 0.0
    for n, h, w_, c, kh, kw, f in CONV_CASES:
        x, w = rng.standard_normal((n, h, w_, c)), rng.standard_normal((kh, kw, c, f))
        dout = rng.standard_normal((n, h - kh + 1, w_ - kw + 1, f))
        case = describe_case(dout=dout, x=x, w=w)
        xt, wt = tf.constant(x), tf.constant(w)
        with tf.GradientTape() as tape:
            tape.watch([xt, wt])
            y = tf.nn.conv2d(xt, wt, strides=1, padding="VALID")
        expected = tape.gradient(y, [xt, wt], output_gradients=tf.constant(dout))
        got = _unpack(call_learner(fn, case, dout.copy(), x.copy(), w.copy()), 2, case, ("dx", "dw"))
        for g, e, what in zip(got, expected, ("dx", "dw")):
            worst = max(worst, assert_close(g, e.numpy(), case, what, ATOL, RTOL))
    return passed("conv2d_backward", len(CONV_CASES), worst, "tf.GradientTape")


POOL_CASES = [(2, 4, 6, 3, 2), (1, 6, 6, 1, 3), (3, 5, 7, 2, 2)]   # (N, H, W, C, size); odd sizes drop the edge


@in_float32
def check_maxpool_backward(fn, seed: int = 0) -> str:
    """fn(dout (N, H//s, W//s, C), x (N, H, W, C), size s) -> dx like x, for max-pooling s x s, stride s, 'valid'."""
    tf = _tf()
    rng, worst = _rng(seed), 0.0
    for n, h, w_, c, s in POOL_CASES:
        x = rng.standard_normal((n, h, w_, c))
        dout = rng.standard_normal((n, h // s, w_ // s, c))
        case = describe_case(dout=dout, x=x, size=s)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = tf.nn.max_pool2d(xt, s, s, "VALID")
        expected = tape.gradient(y, xt, output_gradients=tf.constant(dout))
        got = call_learner(fn, case, dout.copy(), x.copy(), s)
        worst = max(worst, assert_close(got, expected.numpy(), case, "dx", ATOL, RTOL))
    return passed("maxpool_backward", len(POOL_CASES), worst, "tf.GradientTape")
