"""The lesson-03 checkers accept right gradients and reject the typical wrong ones, with a useful message."""
import numpy as np
import pytest

from course_lib.checks import CheckFailure
from course_lib.checks import backprop as bp

# --------------------------------------------------------------------------- right answers (test-only)


def dense_ok(dout, x, W):
    return dout @ W.T, x.T @ dout, dout.sum(0)


def _softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def softmax_ce_ok(logits, y):
    n = len(y)
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    p = np.exp(logp)
    onehot = np.eye(logits.shape[1])[y]
    return -logp[np.arange(n), y].mean(), (p - onehot) / n


def mlp_ok(x, y, W1, b1, W2, b2, mask=True, mean=True):
    a = x @ W1 + b1
    h = np.maximum(a, 0)
    logits = h @ W2 + b2
    n = len(y)
    dlogits = (_softmax(logits) - np.eye(W2.shape[1])[y]) / (n if mean else 1)
    dh = dlogits @ W2.T
    da = dh * (a > 0) if mask else dh
    return x.T @ da, da.sum(0), h.T @ dlogits, dlogits.sum(0)


def numgrad_ok(f, x, dout, eps, centred=True, restore=True):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = np.sum(f(x) * dout)
        x[i] = old - eps if centred else old
        minus = np.sum(f(x) * dout)
        if restore:
            x[i] = old
        g[i] = (plus - minus) / (2 * eps if centred else eps)
    return g


def _correlate_valid(x, w):
    """x (N, H, W, C), w (kh, kw, C, F) -> (N, H-kh+1, W-kw+1, F)."""
    kh, kw = w.shape[:2]
    ho, wo = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.zeros((x.shape[0], ho, wo, w.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += x[:, i:i + ho, j:j + wo, :] @ w[i, j]
    return out


def conv_ok(dout, x, w, flip=True):
    kh, kw = w.shape[:2]
    padded = np.pad(dout, ((0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1), (0, 0)))
    wk = w[::-1, ::-1] if flip else w
    dx = _correlate_valid(padded, wk.transpose(0, 1, 3, 2))
    dw = np.zeros_like(w)
    ho, wo = dout.shape[1:3]
    for i in range(kh):
        for j in range(kw):
            dw[i, j] = np.einsum("nhwc,nhwf->cf", x[:, i:i + ho, j:j + wo, :], dout)
    return dx, dw


def maxpool_ok(dout, x, s, route_all=False):
    n, h, w, c = x.shape
    ho, wo = h // s, w // s
    dx = np.zeros_like(x)
    win = x[:, :ho * s, :wo * s, :].reshape(n, ho, s, wo, s, c)
    mask = win == win.max(axis=(2, 4), keepdims=True)
    if route_all:
        mask = np.ones_like(mask)
    dx[:, :ho * s, :wo * s, :] = (mask * dout[:, :, None, :, None, :]).reshape(n, ho * s, wo * s, c)
    return dx


# --------------------------------------------------------------------------- accept


def test_accepts_right_answers(capsys):
    bp.check_dense_backward(dense_ok)
    bp.check_softmax_ce(softmax_ce_ok)
    bp.check_mlp_backward(mlp_ok)
    bp.check_numerical_gradient(numgrad_ok)
    bp.check_conv2d_backward(conv_ok)
    bp.check_maxpool_backward(maxpool_ok)
    out = capsys.readouterr().out
    assert out.count("✓") == 6 and "tf.GradientTape" in out


# --------------------------------------------------------------------------- reject, with the case and the error


def test_rejects_missing_transpose():
    with pytest.raises(CheckFailure, match=r"\[dout\(4, 5\), x\(4, 5\), W\(5, 5\)\] dx differs .*max abs error"):
        bp.check_dense_backward(lambda dout, x, W: (dout @ W, x.T @ dout, dout.sum(0)))


def test_rejects_missing_transpose_on_dW_by_shape():
    with pytest.raises(CheckFailure, match=r"\[dout\(3, 6\), x\(3, 4\), W\(4, 6\)\] dW has shape \(6, 4\), expected \(4, 6\)"):
        bp.check_dense_backward(lambda dout, x, W: (dout @ W.T, dout.T @ x, dout.sum(0)) if W.shape[0] != W.shape[1]
                                else dense_ok(dout, x, W))


def test_rejects_summed_batch_where_mean_belongs():
    def summed(logits, y):
        loss, grad = softmax_ce_ok(logits, y)
        return loss, grad * len(y)
    with pytest.raises(CheckFailure, match=r"\[batch of 5, 10 classes: .*\] dlogits differs .*max abs error"):
        bp.check_softmax_ce(summed)
    with pytest.raises(CheckFailure, match=r"\[x\(6, 5\).*\] dW1 differs .*max abs error"):
        bp.check_mlp_backward(lambda *a: mlp_ok(*a, mean=False))


def test_rejects_summed_loss():
    with pytest.raises(CheckFailure, match=r"loss differs"):
        bp.check_softmax_ce(lambda logits, y: (softmax_ce_ok(logits, y)[0] * len(y), softmax_ce_ok(logits, y)[1]))


def test_rejects_unstable_softmax():
    def naive(logits, y):
        e = np.exp(logits)
        p = e / e.sum(1, keepdims=True)
        n = len(y)
        return -np.log(p[np.arange(n), y]).mean(), (p - np.eye(logits.shape[1])[y]) / n
    with np.errstate(all="ignore"), pytest.raises(CheckFailure, match=r"huge logits \(stability\).*NaN or inf"):
        bp.check_softmax_ce(naive)


def test_rejects_missing_relu_mask():
    with pytest.raises(CheckFailure, match=r"\] dW1 differs from TensorFlow: max abs error"):
        bp.check_mlp_backward(lambda *a: mlp_ok(*a, mask=False))


def test_rejects_one_sided_differences_and_unrestored_x():
    with pytest.raises(CheckFailure, match=r"\[cube, elementwise: .*\] numerical gradient differs .*max abs error"):
        bp.check_numerical_gradient(lambda f, x, dout, eps: numgrad_ok(f, x, dout, eps, centred=False))
    with pytest.raises(CheckFailure, match=r"changed x"):
        bp.check_numerical_gradient(lambda f, x, dout, eps: numgrad_ok(f, x, dout, eps, restore=False))


def test_rejects_delegating_to_course_lib_gradcheck():
    from course_lib.gradcheck import numerical_gradient as ng      # renamed: the check must still see it
    with pytest.raises(CheckFailure, match=r"called course_lib.gradcheck.numerical_gradient"):
        bp.check_numerical_gradient(lambda f, x, dout, eps: ng(f, x, dout, eps))


def test_rejects_unflipped_kernel_and_wrong_pooling_route():
    with pytest.raises(CheckFailure, match=r"\[dout\(2, 3, 5, 4\), x\(2, 5, 6, 3\), w\(3, 2, 3, 4\)\] dx differs"):
        bp.check_conv2d_backward(lambda dout, x, w: conv_ok(dout, x, w, flip=False))
    with pytest.raises(CheckFailure, match=r"size=2\] dx differs"):
        bp.check_maxpool_backward(lambda dout, x, s: maxpool_ok(dout, x, s, route_all=True))


def test_learner_mistakes_are_reported_clearly():
    with pytest.raises(CheckFailure, match=r"not implemented yet"):
        bp.check_dense_backward(lambda *a: (_ for _ in ()).throw(NotImplementedError()))
    with pytest.raises(CheckFailure, match=r"expected a tuple \(dx, dW, db\), got a tuple of length 2"):
        bp.check_dense_backward(lambda dout, x, W: (dout @ W.T, x.T @ dout))
    with pytest.raises(CheckFailure, match=r"returned None for the dx"):
        bp.check_conv2d_backward(lambda dout, x, w: (None, None))
    with pytest.raises(CheckFailure, match=r"loss must be one number"):
        bp.check_softmax_ce(lambda logits, y: (np.zeros(len(y)), softmax_ce_ok(logits, y)[1]))
    with pytest.raises(TypeError, match=r"expected a function to check"):
        bp.check_mlp_backward("not a function")
