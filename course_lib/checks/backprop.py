"""Checkers for lesson 03 (backpropagation). TensorFlow's GradientTape is the answer key.

Each checker calls the learner's function on random float64 cases (batch > 1, batch 1, odd and square
sizes), computes the expected values with TensorFlow/Keras, and prints one line or raises CheckFailure
naming the case, the shapes and the largest error. The exercises ask for variants the lesson does not
show; each docstring says which.

    check_dense_backward(fn)         fn(dout, x, W) -> (dx, dW, db)       y = x @ W + b, x of shape (..., D)
    check_softmax_ce(fn)             fn(logits, y, smoothing) -> (loss, dlogits)   label-smoothed cross-entropy
    check_mlp_backward(fn)           fn(x, y, W1, b1, W2, b2) -> (dW1, db1, dW2, db2)   tanh hidden layer
    check_complex_step_gradient(fn)  fn(f, x, dout, h) -> gradient of sum(f(x) * dout) by the complex step
    check_conv2d_backward(fn)        fn(dout, x, w, dilation) -> (dx, dw)  stride 1, 'valid', dilated
    check_maxpool_backward(fn)       fn(dout, x, size) -> dx               size x size, stride size
"""
from __future__ import annotations

import numpy as np

from . import CheckFailure, assert_close, call_learner, describe_case, passed
from . import in_float32

ATOL = 1e-8   # float64 everywhere: a right answer is within ~1e-12
RTOL = 1e-6
TAPE = "tf.GradientTape"


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


def _close(got, expected, case, what, hint=None, atol=ATOL, rtol=RTOL, reference=TAPE):
    try:
        return assert_close(got, expected, case, what, atol, rtol, reference=reference)
    except CheckFailure as e:
        raise CheckFailure(f"{e}. Hint: {hint}" if hint else str(e)) from None


def _matches(got, value, atol=1e-6):
    try:
        g = np.asarray(got, dtype="float64")
        v = np.asarray(value, dtype="float64")
        return g.shape == v.shape and np.allclose(g, v, atol=atol, rtol=1e-5)
    except Exception:
        return False


# --------------------------------------------------------------------------- Dense, any number of leading axes

DENSE_CASES = [(4, 5), (3, 2, 6), (1, 7, 2), (2, 3, 4, 5), (6, 1, 3), (5, 3)]   # x shape (..., D); then M
DENSE_M = [5, 4, 3, 2, 1, 1]
DENSE_HINT = ("the same W and b are used at every position of the leading axes (every example and every time "
              "step): their gradients SUM over all those positions, like the batch sum of the 2-D case.")


@in_float32
def check_dense_backward(fn, seed: int = 0) -> str:
    """fn(dout (..., M), x (..., D), W (D, M)) -> (dx (..., D), dW (D, M), db (M,)) for y = x @ W + b.

    x has any number of leading axes, as keras.layers.Dense accepts: (N, D), (N, T, D), (N, T, S, D).
    (The lesson's dense_backward handles (N, D) only.)
    """
    tf = _tf()
    rng, worst = _rng(seed), 0.0
    for shape, m in zip(DENSE_CASES, DENSE_M):
        d = shape[-1]
        x, w, b = rng.standard_normal(shape), rng.standard_normal((d, m)), rng.standard_normal(m)
        dout = rng.standard_normal(shape[:-1] + (m,))
        case = describe_case(dout=dout, x=x, W=w)
        xt, wt, bt = (tf.constant(a) for a in (x, w, b))
        with tf.GradientTape() as tape:
            tape.watch([xt, wt, bt])
            y = tf.tensordot(xt, wt, axes=1) + bt
        expected = tape.gradient(y, [xt, wt, bt], output_gradients=tf.constant(dout))
        got = _unpack(call_learner(fn, case, dout.copy(), x.copy(), w.copy()), 3, case, ("dx", "dW", "db"))
        for g, e, what in zip(got, expected, ("dx", "dW", "db")):
            worst = max(worst, _close(g, e.numpy(), case, what, DENSE_HINT if what != "dx" and len(shape) > 2 else None))
    return passed("dense_backward", len(DENSE_CASES), worst, TAPE)


# --------------------------------------------------------------------------- label-smoothed softmax cross-entropy

SOFTMAX_CASES = [("batch of 5, 10 classes", 5, 10, 3.0, 0.1), ("batch of 1", 1, 3, 3.0, 0.2),
                 ("two classes, no smoothing", 8, 2, 3.0, 0.0), ("strong smoothing", 6, 5, 2.0, 0.4),
                 ("huge logits (stability)", 4, 6, 1000.0, 0.1)]
STABILITY_HINT = ("compute log-probabilities stably: subtract each row's maximum before exp(), and take "
                  "log p = z - max z - log(sum(exp(z - max z))) instead of log(softmax(z)).")
SMOOTHING_HINT = ("with label smoothing the target of every example is t = (1 - smoothing) * onehot(y) + "
                  "smoothing / K (K classes), as keras.losses.CategoricalCrossentropy(label_smoothing=...) does.")


@in_float32
def check_softmax_ce(fn, seed: int = 0) -> str:
    """fn(logits (N, K), y int (N,), smoothing float) -> (loss float, dlogits (N, K)).

    loss = mean over the batch of the cross-entropy between softmax(logits) and the label-smoothed
    targets (1 - smoothing) * onehot(y) + smoothing / K (Szegedy et al. 2016), as
    keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing) computes it.
    (The lesson's softmax_ce has no smoothing.)
    """
    import keras

    tf = _tf()
    rng, worst = _rng(seed), 0.0
    ref = "keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing) and " + TAPE
    for name, n, k, scale, smoothing in SOFTMAX_CASES:
        logits, y = scale * rng.standard_normal((n, k)), rng.integers(0, k, n)
        case = f"{name}: " + describe_case(logits=logits, y=y, smoothing=smoothing)
        onehot = tf.one_hot(y, k, dtype=tf.float64)
        lt = tf.constant(logits)

        def loss_and_grad(eps):
            cce = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=eps, dtype="float64")
            with tf.GradientTape() as tape:
                tape.watch(lt)
                loss = cce(onehot, lt)
            return loss.numpy(), tape.gradient(loss, lt).numpy()

        loss, dl = loss_and_grad(smoothing)
        got = _unpack(call_learner(fn, case, logits.copy(), y.copy(), smoothing), 2, case, ("loss", "dlogits"))
        got_loss = np.asarray(got[0], dtype="float64") if got[0] is not None else None
        if got_loss is not None and got_loss.size != 1:
            raise CheckFailure(f"[{case}] loss must be one number (the batch mean), got shape {got_loss.shape}")
        hint = STABILITY_HINT if "huge" in name else None
        if hint is None and smoothing > 0:
            plain_loss, plain_dl = loss_and_grad(0.0)
            if _matches(got_loss, plain_loss) or _matches(got[1], plain_dl):
                hint = "your values are those WITHOUT smoothing; " + SMOOTHING_HINT
        worst = max(worst, _close(None if got_loss is None else got_loss.reshape(()), loss, case, "loss", hint,
                                  reference=ref))
        worst = max(worst, _close(got[1], dl, case, "dlogits", hint, reference=ref))
    return passed("softmax_ce with label smoothing", len(SOFTMAX_CASES), worst, ref)


# --------------------------------------------------------------------------- 2-layer MLP with tanh

MLP_CASES = [(6, 5, 7, 3), (1, 4, 3, 2), (10, 8, 16, 10)]   # (N, D, H, K)
TANH_HINT = "tanh'(a) = 1 - tanh(a)^2: the gradient reaching the hidden pre-activation a is dh * (1 - h^2)."


@in_float32
def check_mlp_backward(fn, seed: int = 0) -> str:
    """fn(x (N, D), y int (N,), W1 (D, H), b1 (H,), W2 (H, K), b2 (K,)) -> (dW1, db1, dW2, db2).

    The model: logits = tanh(x @ W1 + b1) @ W2 + b2, loss = mean softmax cross-entropy.
    (The lesson's MLP uses ReLU.)
    """
    tf = _tf()
    rng, worst = _rng(seed), 0.0
    names = ("dW1", "db1", "dW2", "db2")
    for n, d, h, k in MLP_CASES:
        x, y = rng.standard_normal((n, d)), rng.integers(0, k, n)
        params = [rng.standard_normal((d, h)) * 0.7, rng.standard_normal(h) * 0.5,
                  rng.standard_normal((h, k)), rng.standard_normal(k)]
        case = describe_case(x=x, W1=params[0], W2=params[2])

        def grads(activation):
            pt = [tf.constant(p) for p in params]
            with tf.GradientTape() as tape:
                tape.watch(pt)
                hid = activation(tf.constant(x) @ pt[0] + pt[1])
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(y), hid @ pt[2] + pt[3]))
            return [g.numpy() for g in tape.gradient(loss, pt)]

        expected = grads(tf.tanh)
        got = _unpack(call_learner(fn, case, x.copy(), y.copy(), *[p.copy() for p in params]), 4, case, names)
        hint = None
        relu = grads(tf.nn.relu)
        if all(_matches(g, r) for g, r in zip(got, relu)):
            hint = "these are the gradients of the lesson's ReLU network; this one uses tanh. " + TANH_HINT
        elif not _matches(got[0], expected[0]) and _matches(got[2], expected[2]):
            hint = TANH_HINT
        for g, e, what in zip(got, expected, names):
            worst = max(worst, _close(g, e, case, what, hint))
    return passed("mlp_backward (tanh)", len(MLP_CASES), worst, TAPE)


# --------------------------------------------------------------------------- complex-step derivative

def _gradient_cases(rng):
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
                               "to write the complex step yourself")
        return f(x)
    return wrapped


COMPLEX_HINT = ("perturb one entry at a time by i*h (x_c = x.astype(complex); x_c[idx] += 1j * h); then "
                "Im(sum(f(x_c) * dout)) / h is that entry of the gradient, with no subtraction of nearly "
                "equal numbers, so it stays exact for tiny h.")
SCALAR_DOUT_HINT = ("f returns a scalar here, and dout is a random 0-d array (not 1.0): the gradient is that of "
                    "f(x) * dout, so it is dout times the gradient of f. Your values are those of dout = 1.")


@in_float32
def check_complex_step_gradient(fn, h: float = 1e-20, seed: int = 0) -> str:
    """fn(f, x, dout, h) -> array like x: the gradient of sum(f(x) * dout) by the complex step.

    d/dx_i sum(f(x) * dout) = Im(sum(f(x + i h e_i) * dout)) / h + O(h^2) for an f that is analytic
    (Squire & Trapp 1998, SIAM Review 40(1)). With h = 1e-20 there is no cancellation: the result
    matches tf.GradientTape to ~1e-15, far tighter (tolerance 1e-11) than centred differences reach
    (~1e-10 at best), so a finite-difference answer fails. x must come back unchanged. dout is random
    and has f's output shape; when f returns a scalar, dout is a random 0-d array (not 1.0). (The
    lesson writes centred differences.)
    """
    tf = _tf()
    rng, worst = _rng(seed), 0.0
    cases = _gradient_cases(rng)
    for name, f_np, f_tf, x in cases:
        f_np = _refusing_course_lib(f_np)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            out = f_tf(xt)
        dout = rng.standard_normal(tuple(out.shape))
        expected = tape.gradient(out, xt, output_gradients=tf.constant(dout))
        case = f"{name}: " + describe_case(x=x, dout=dout, h=h)
        x_in = x.copy()
        got = call_learner(fn, case, f_np, x_in, dout.copy(), h)
        if not np.array_equal(x_in, x):
            raise CheckFailure(f"[{case}] your function changed x; work on a complex copy of it")
        try:
            if got is not None and np.iscomplexobj(np.asarray(got)):
                raise CheckFailure(f"[{case}] the gradient must be real: take the imaginary part (and divide by h)")
        except (TypeError, ValueError):
            pass
        hint = COMPLEX_HINT
        if dout.ndim == 0 and _matches(got, expected.numpy() / dout, atol=1e-9):
            hint = SCALAR_DOUT_HINT                     # right gradient of f, but dout taken as 1.0
        worst = max(worst, _close(got, expected.numpy(), case, "complex-step gradient", hint,
                                  atol=1e-11, rtol=1e-11))
    return passed("complex_step_gradient", len(cases), worst, TAPE)


# --------------------------------------------------------------------------- dilated convolution and pooling

CONV_CASES = [(2, 7, 8, 3, 3, 2, 4, 2), (1, 4, 4, 1, 2, 2, 1, 1), (3, 9, 7, 2, 3, 3, 5, 3),
              (2, 4, 5, 3, 1, 1, 2, 2), (1, 7, 9, 2, 3, 4, 3, 2)]   # (N, H, W, C, kh, kw, F, dilation)
DILATION_HINT = ("with dilation d, kernel tap (i, j) reads x at rows i*d ... and columns j*d ...: its gradient "
                 "is the same slice of x (for dw) and receives dout @ w[i, j].T at the same slice (for dx).")


@in_float32
def check_conv2d_backward(fn, seed: int = 0) -> str:
    """fn(dout (N, Ho, Wo, F), x (N, H, W, C), w (kh, kw, C, F), dilation) -> (dx like x, dw like w).

    The forward pass is tf.nn.convolution(x, w, strides=1, padding="VALID", dilations=dilation) (a
    correlation): Ho = H - dilation * (kh - 1), Wo = W - dilation * (kw - 1). (The lesson's
    convolution has no dilation.)
    """
    tf = _tf()
    rng, worst = _rng(seed), 0.0
    for n, h, w_, c, kh, kw, f, d in CONV_CASES:
        x, w = rng.standard_normal((n, h, w_, c)), rng.standard_normal((kh, kw, c, f))
        dout = rng.standard_normal((n, h - d * (kh - 1), w_ - d * (kw - 1), f))
        case = describe_case(dout=dout, x=x, w=w, dilation=d)
        xt, wt = tf.constant(x), tf.constant(w)
        with tf.GradientTape() as tape:
            tape.watch([xt, wt])
            y = tf.nn.convolution(xt, wt, strides=1, padding="VALID", dilations=d)   # (tf.nn.conv2d's CPU gradient
                                                                                     # has no dilation)
        expected = tape.gradient(y, [xt, wt], output_gradients=tf.constant(dout))
        got = _unpack(call_learner(fn, case, dout.copy(), x.copy(), w.copy(), d), 2, case, ("dx", "dw"))
        for g, e, what in zip(got, expected, ("dx", "dw")):
            worst = max(worst, _close(g, e.numpy(), case, what, DILATION_HINT if d > 1 else None,
                                      reference="tf.GradientTape through tf.nn.convolution(dilations=d)"))
    return passed("conv2d_backward (dilated)", len(CONV_CASES), worst, TAPE)


# (N, H, W, C, size, values); odd sizes drop the edge; "ties": small integers, so windows have tied maxima
POOL_CASES = [(2, 4, 6, 3, 2, "normal"), (1, 6, 6, 1, 3, "normal"), (3, 5, 7, 2, 2, "normal"),
              (2, 6, 6, 3, 2, "ties"), (1, 6, 9, 2, 3, "ties")]
POOL_TIE_RULE = ("at a tie TensorFlow's max-pooling gradient (CPU) goes to the FIRST maximum of the window in "
                 "row-major order, not to every tied element (np.argmax on the flattened window picks it).")


@in_float32
def check_maxpool_backward(fn, seed: int = 0) -> str:
    """fn(dout (N, H//s, W//s, C), x (N, H, W, C), size s) -> dx like x, for max-pooling s x s, stride s, 'valid'.

    Includes inputs with tied maxima (small integers): TensorFlow gives the whole gradient to the
    first maximum of each window (CPU kernel), so "gradient to every tied maximum" fails.
    """
    tf = _tf()
    rng, worst = _rng(seed), 0.0
    for n, h, w_, c, s, values in POOL_CASES:
        x = rng.integers(0, 3, (n, h, w_, c)).astype("float64") if values == "ties" else rng.standard_normal((n, h, w_, c))
        dout = rng.standard_normal((n, h // s, w_ // s, c))
        case = ("ties: " if values == "ties" else "") + describe_case(dout=dout, x=x, size=s)
        with tf.device("/CPU:0"):
            xt = tf.constant(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = tf.nn.max_pool2d(xt, s, s, "VALID")
            expected = tape.gradient(y, xt, output_gradients=tf.constant(dout))
        got = call_learner(fn, case, dout.copy(), x.copy(), s)
        worst = max(worst, _close(got, expected.numpy(), case, "dx", POOL_TIE_RULE if values == "ties" else None))
    return passed("maxpool_backward", len(POOL_CASES), worst, TAPE)
