"""The lesson-03 checkers accept right gradients and reject the typical wrong ones, with a useful message."""
import numpy as np
import pytest

from course_lib.checks import CheckFailure
from course_lib.checks import backprop as bp

# --------------------------------------------------------------------------- right answers (test-only)


def dense_ok(dout, x, W):
    d, m = W.shape
    return dout @ W.T, x.reshape(-1, d).T @ dout.reshape(-1, m), dout.reshape(-1, m).sum(0)


def dense_lesson(dout, x, W):
    """The lesson's dense_backward (2-D x only): what the old checker asked for, and accepted."""
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def _softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def softmax_ce_ok(logits, y, smoothing, stable=True):
    n, k = logits.shape
    z = logits - logits.max(1, keepdims=True) if stable else logits
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    t = (1 - smoothing) * np.eye(k)[y] + smoothing / k
    return -(t * logp).sum(1).mean(), (np.exp(logp) - t) / n


def softmax_ce_lesson(logits, y, smoothing):
    """The lesson's softmax_ce, which has no smoothing (the old checker's exercise)."""
    return softmax_ce_ok(logits, y, 0.0)


def mlp_ok(x, y, W1, b1, W2, b2, activation="tanh", mean=True):
    a = x @ W1 + b1
    h = np.maximum(a, 0) if activation == "relu" else np.tanh(a)     # "none": tanh forward, derivative forgotten
    logits = h @ W2 + b2
    n = len(y)
    dlogits = (_softmax(logits) - np.eye(W2.shape[1])[y]) / (n if mean else 1)
    dh = dlogits @ W2.T
    da = {"tanh": dh * (1 - h ** 2), "relu": dh * (a > 0), "none": dh}[activation]
    return x.T @ da, da.sum(0), h.T @ dlogits, dlogits.sum(0)


def complex_step_ok(f, x, dout, h):
    g = np.zeros(x.shape)
    xc = x.astype(complex)
    for i in np.ndindex(x.shape):
        xc[i] += 1j * h
        g[i] = np.imag(np.sum(f(xc) * dout)) / h
        xc[i] -= 1j * h
    return g


def centred_differences(f, x, dout, h, eps=1e-5):
    """The lesson's method (the old exercise), at its best step: accurate to ~1e-10, not enough here."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = np.sum(f(x) * dout)
        x[i] = old - eps
        minus = np.sum(f(x) * dout)
        x[i] = old
        g[i] = (plus - minus) / (2 * eps)
    return g


def _correlate_valid(x, w, d=1):
    """x (N, H, W, C), w (kh, kw, C, F), dilation d -> (N, H-d(kh-1), W-d(kw-1), F)."""
    kh, kw = w.shape[:2]
    ho, wo = x.shape[1] - d * (kh - 1), x.shape[2] - d * (kw - 1)
    out = np.zeros((x.shape[0], ho, wo, w.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += x[:, i * d:i * d + ho, j * d:j * d + wo, :] @ w[i, j]
    return out


def conv_ok(dout, x, w, d, flip=True, ignore_dilation=False):
    if ignore_dilation:
        d = 1
    kh, kw = w.shape[:2]
    ho, wo = dout.shape[1:3]
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    wk = w if flip else w[::-1, ::-1]
    for i in range(kh):
        for j in range(kw):
            rows, cols = slice(i * d, i * d + ho), slice(j * d, j * d + wo)
            dw[i, j] = np.einsum("nhwc,nhwf->cf", x[:, rows, cols, :], dout)
            dx[:, rows, cols, :] += dout @ wk[i, j].T
    return dx, dw


def maxpool_ok(dout, x, s, route="first"):
    n, h, w, c = x.shape
    ho, wo = h // s, w // s
    dx = np.zeros_like(x)
    win = x[:, :ho * s, :wo * s, :].reshape(n, ho, s, wo, s, c).transpose(0, 1, 3, 5, 2, 4).reshape(n, ho, wo, c, s * s)
    if route == "first":
        mask = np.eye(s * s)[win.argmax(-1)]
    elif route == "all_ties":
        mask = (win == win.max(-1, keepdims=True)).astype(float)
    else:
        mask = np.ones_like(win)
    g = (mask * dout[..., None]).reshape(n, ho, wo, c, s, s).transpose(0, 1, 4, 2, 5, 3).reshape(n, ho * s, wo * s, c)
    dx[:, :ho * s, :wo * s, :] = g
    return dx


# --------------------------------------------------------------------------- accept


def test_accepts_right_answers(capsys):
    bp.check_dense_backward(dense_ok)
    bp.check_softmax_ce(softmax_ce_ok)
    bp.check_mlp_backward(mlp_ok)
    bp.check_complex_step_gradient(complex_step_ok)
    bp.check_conv2d_backward(conv_ok)
    bp.check_maxpool_backward(maxpool_ok)
    out = capsys.readouterr().out
    assert out.count("✓") == 6 and "tf.GradientTape" in out


# --------------------------------------------------------------------------- reject, with the case and the error
# Each "lesson" answer below passed the old checkers: they asked for what the lesson already wrote.


def test_dense_refuses_the_lessons_2d_only_backward():
    with pytest.raises(CheckFailure, match=r"\[dout\(3, 2, 4\), x\(3, 2, 6\), W\(6, 4\)\]"):
        bp.check_dense_backward(dense_lesson)


def test_rejects_missing_transpose():
    with pytest.raises(CheckFailure, match=r"\[dout\(4, 5\), x\(4, 5\), W\(5, 5\)\] dx differs from "
                                           r"tf.GradientTape.*max abs error"):
        bp.check_dense_backward(lambda dout, x, W: (dout @ W, *dense_ok(dout, x, W)[1:]))


def test_dense_bias_gradient_forgetting_the_time_axis_gets_the_sum_hint():
    with pytest.raises(CheckFailure, match=r"\] db has shape \(2, 4\), expected \(4,\).*SUM over all"):
        bp.check_dense_backward(lambda dout, x, W: (*dense_ok(dout, x, W)[:2], dout.sum(0)))


def test_softmax_ce_refuses_the_lessons_unsmoothed_loss_and_says_why():
    with pytest.raises(CheckFailure, match=r"smoothing=0.1\] loss differs.*WITHOUT smoothing"):
        bp.check_softmax_ce(softmax_ce_lesson)


def test_rejects_summed_batch_where_mean_belongs():
    def summed(logits, y, smoothing):
        loss, grad = softmax_ce_ok(logits, y, smoothing)
        return loss, grad * len(y)
    with pytest.raises(CheckFailure, match=r"\[batch of 5, 10 classes: .*\] dlogits differs .*max abs error"):
        bp.check_softmax_ce(summed)
    with pytest.raises(CheckFailure, match=r"\[x\(6, 5\).*\] dW1 differs .*max abs error"):
        bp.check_mlp_backward(lambda *a: mlp_ok(*a, mean=False))


def test_rejects_summed_loss():
    def summed(logits, y, smoothing):
        loss, grad = softmax_ce_ok(logits, y, smoothing)
        return loss * len(y), grad
    with pytest.raises(CheckFailure, match=r"loss differs"):
        bp.check_softmax_ce(summed)


def test_unstable_softmax_gets_a_stability_hint():
    """At huge logits the old checker said only 'NaN or inf'."""
    with np.errstate(all="ignore"), pytest.raises(CheckFailure, match=r"huge logits \(stability\).*NaN or inf.*"
                                                                      r"subtract each row's maximum"):
        bp.check_softmax_ce(lambda logits, y, s: softmax_ce_ok(logits, y, s, stable=False))


def test_mlp_refuses_the_lessons_relu_network_and_says_why():
    with pytest.raises(CheckFailure, match=r"dW1 differs.*lesson's ReLU network"):
        bp.check_mlp_backward(lambda *a: mlp_ok(*a, activation="relu"))


def test_rejects_missing_tanh_derivative():
    with pytest.raises(CheckFailure, match=r"\] dW1 differs from tf.GradientTape: max abs error.*1 - tanh"):
        bp.check_mlp_backward(lambda *a: mlp_ok(*a, activation="none"))


def test_complex_step_refuses_centred_differences_at_their_best_step():
    with pytest.raises(CheckFailure, match=r"complex-step gradient differs .*max abs error.*Im\("):
        bp.check_complex_step_gradient(centred_differences)


def test_complex_step_scalar_case_passes_a_random_0d_dout_and_refuses_dout_taken_as_one():
    seen = []

    def spy(f, x, dout, h):
        seen.append(dout)
        return complex_step_ok(f, x, dout, h)
    bp.check_complex_step_gradient(spy)
    scalar = [d for d in seen if np.ndim(d) == 0]
    assert len(scalar) == 1 and isinstance(scalar[0], np.ndarray) and abs(float(scalar[0]) - 1.0) > 1e-3

    def dout_one_for_scalars(f, x, dout, h):
        return complex_step_ok(f, x, dout if np.ndim(dout) else np.float64(1.0), h)
    with pytest.raises(CheckFailure, match=r"\[scalar log-sum-exp: x\(5,\), dout\(\), h=1e-20\] complex-step "
                                           r"gradient differs.*random 0-d array \(not 1.0\)"):
        bp.check_complex_step_gradient(dout_one_for_scalars)


def test_complex_step_refuses_a_changed_x_and_a_complex_result():
    def scales_x(f, x, dout, h):
        g = complex_step_ok(f, x, dout, h)
        x *= 1.0000001
        return g
    with pytest.raises(CheckFailure, match=r"changed x"):
        bp.check_complex_step_gradient(scales_x)
    with pytest.raises(CheckFailure, match=r"must be real"):
        bp.check_complex_step_gradient(lambda f, x, dout, h: complex_step_ok(f, x, dout, h) + 0j)


def test_rejects_delegating_to_course_lib_gradcheck():
    from course_lib.gradcheck import numerical_gradient as ng      # renamed: the check must still see it
    with pytest.raises(CheckFailure, match=r"called course_lib.gradcheck.numerical_gradient"):
        bp.check_complex_step_gradient(lambda f, x, dout, h: ng(f, x, dout, 1e-6))


def test_conv_refuses_an_undilated_backward_and_an_unflipped_kernel():
    with pytest.raises(CheckFailure, match=r"dilation=2\] (dx|dw) differs.*Hint: with dilation d"):
        bp.check_conv2d_backward(lambda dout, x, w, d: conv_ok(dout, x, w, d, ignore_dilation=True))
    with pytest.raises(CheckFailure, match=r"\[dout\(2, 3, 6, 4\), x\(2, 7, 8, 3\), w\(3, 2, 3, 4\), "
                                           r"dilation=2\] dx differs"):
        bp.check_conv2d_backward(lambda dout, x, w, d: conv_ok(dout, x, w, d, flip=False))


def test_maxpool_refuses_gradient_to_every_tied_maximum():
    """The old checker drew no ties, so this wrong rule passed it."""
    with pytest.raises(CheckFailure, match=r"\[ties: .*\] dx differs.*FIRST maximum"):
        bp.check_maxpool_backward(lambda dout, x, s: maxpool_ok(dout, x, s, route="all_ties"))
    with pytest.raises(CheckFailure, match=r"size=2\] dx differs"):
        bp.check_maxpool_backward(lambda dout, x, s: maxpool_ok(dout, x, s, route="all"))


def test_learner_mistakes_are_reported_clearly():
    with pytest.raises(CheckFailure, match=r"not implemented yet"):
        bp.check_dense_backward(lambda *a: (_ for _ in ()).throw(NotImplementedError()))
    with pytest.raises(CheckFailure, match=r"expected a tuple \(dx, dW, db\), got a tuple of length 2"):
        bp.check_dense_backward(lambda dout, x, W: dense_ok(dout, x, W)[:2])
    with pytest.raises(CheckFailure, match=r"returned None for the dx"):
        bp.check_conv2d_backward(lambda dout, x, w, d: (None, None))
    with pytest.raises(CheckFailure, match=r"loss must be one number"):
        bp.check_softmax_ce(lambda logits, y, s: (np.zeros(len(y)), softmax_ce_ok(logits, y, s)[1]))
    with pytest.raises(TypeError, match=r"expected a function to check"):
        bp.check_mlp_backward("not a function")
