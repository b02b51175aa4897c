"""The pooling checkers accept correct functions and reject typical mistakes with a useful message.

The correct implementations live here (not in course_lib): the checkers compare with TensorFlow.
"""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from course_lib.checks import CheckFailure
from course_lib.checks import pool as checks


# --------------------------------------------------------------------------- correct implementations

def geometry(n, pool, stride, padding):
    """(output size, padding before, padding after) along one axis, as Keras computes them."""
    if padding == "valid":
        return (n - pool) // stride + 1, 0, 0
    out = -(-n // stride)
    total = max((out - 1) * stride + pool - n, 0)
    return out, total // 2, total - total // 2


def padded_windows(x, pool, stride, padding, fill, stride_used=None):
    """Windows (N, Ho, Wo, C, pool, pool) of x padded with ``fill``; also (Ho, Wo, pt, pl)."""
    n, h, w, c = x.shape
    ho, pt, pb = geometry(h, pool, stride, padding)
    wo, pl, pr = geometry(w, pool, stride, padding)
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    s = stride if stride_used is None else stride_used
    win = sliding_window_view(xp, (pool, pool), axis=(1, 2))[:, ::s, ::s][:, :ho, :wo]
    return win, (ho, wo, pt, pl, xp.shape)


def max_pool_forward(x, pool, stride, padding):
    win, _ = padded_windows(x, pool, stride, padding, -np.inf)
    return win.max(axis=(-2, -1))


def _route(dout, x, pool, stride, padding, pick):
    """Scatter dout to the window position chosen by pick(flat windows) -> index; += at overlaps."""
    n, h, w, c = x.shape
    win, (ho, wo, pt, pl, pshape) = padded_windows(x, pool, stride, padding, -np.inf)
    k = pick(win.reshape(n, ho, wo, c, pool * pool))
    di, dj = np.divmod(k, pool)
    rows = np.arange(ho)[None, :, None, None] * stride + di
    cols = np.arange(wo)[None, None, :, None] * stride + dj
    dxp = np.zeros(pshape)
    np.add.at(dxp, (np.arange(n)[:, None, None, None], rows, cols, np.arange(c)), dout)
    return dxp[:, pt:pt + h, pl:pl + w]


def max_pool_backward(dout, x, pool, stride, padding):
    return _route(dout, x, pool, stride, padding, lambda f: f.argmax(-1))


def avg_pool_backward(dout, x_shape, pool, stride, padding, count_padding=False, stride_used=None):
    n, h, w, c = x_shape
    s = stride if stride_used is None else stride_used
    ones = np.ones((1, h, w, 1))
    win, (ho, wo, pt, pl, pshape) = padded_windows(ones, pool, stride, padding, 0.0)
    count = np.full_like(win.sum(axis=(-2, -1)), pool * pool) if count_padding else win.sum(axis=(-2, -1))
    g = dout / count
    dxp = np.zeros((n,) + pshape[1:3] + (c,))
    for a in range(pool):
        for b in range(pool):
            dxp[:, a:a + s * ho:s, b:b + s * wo:s] += g[:, :len(range(a, pshape[1], s)), :len(range(b, pshape[2], s))]
    return dxp[:, pt:pt + h, pl:pl + w]


def global_max_pool_backward(dout, x):
    mask = x == x.max(axis=(1, 2), keepdims=True)
    return mask / mask.sum(axis=(1, 2), keepdims=True) * dout[:, None, None, :]


# --------------------------------------------------------------------------- accept

def test_accepts_correct_max_pool_forward(capsys):
    msg = checks.check_max_pool_forward(max_pool_forward)
    assert msg.startswith("✓ max_pool_forward") and "MaxPooling2D" in capsys.readouterr().out


def test_accepts_correct_max_pool_backward():
    assert "max_pool_backward" in checks.check_max_pool_backward(max_pool_backward)


def test_accepts_correct_avg_pool_backward():
    assert "avg_pool_backward" in checks.check_avg_pool_backward(avg_pool_backward)


def test_accepts_correct_global_max_pool_backward():
    assert "global_max_pool_backward" in checks.check_global_max_pool_backward(global_max_pool_backward)


def test_accepts_other_seeds():
    checks.check_max_pool_backward(max_pool_backward, seed=7)
    checks.check_avg_pool_backward(avg_pool_backward, seed=7)


# --------------------------------------------------------------------------- reject: forward

def fwd_ignores_stride(x, pool, stride, padding):
    """Right output size, but the windows are taken at stride 1."""
    win, _ = padded_windows(x, pool, stride, padding, -np.inf, stride_used=1)
    return win.max(axis=(-2, -1))


def fwd_valid_off_by_one(x, pool, stride, padding):
    """Output size (n - pool) // stride, forgetting the + 1."""
    out = max_pool_forward(x, pool, stride, padding)
    return out[:, :-1, :-1] if padding == "valid" else out


def fwd_same_floor(x, pool, stride, padding):
    """'same' output size n // stride instead of ceil(n / stride)."""
    out = max_pool_forward(x, pool, stride, padding)
    h, w = x.shape[1] // stride, x.shape[2] // stride
    return out[:, :h, :w] if padding == "same" else out


def fwd_zero_padding(x, pool, stride, padding):
    win, _ = padded_windows(x, pool, stride, padding, 0.0)
    return win.max(axis=(-2, -1))


def fwd_channels_first_confused(x, pool, stride, padding):
    """Pools over (W, C) instead of (H, W): treats the array as channels-first."""
    return np.moveaxis(max_pool_forward(np.moveaxis(x, 1, 3), pool, stride, padding), 3, 1)


def test_rejects_ignored_stride_and_names_case_and_error():
    with pytest.raises(CheckFailure, match=r"\[2x2 stride 2 valid, even size.*max abs error"):
        checks.check_max_pool_forward(fwd_ignores_stride)


def test_rejects_off_by_one_output_size_valid():
    with pytest.raises(CheckFailure, match=r"\[2x2 stride 2 valid, even size.*shape \(2, 2, 2, 3\), expected \(2, 3, 3, 3\)"):
        checks.check_max_pool_forward(fwd_valid_off_by_one)


def test_rejects_off_by_one_output_size_same():
    with pytest.raises(CheckFailure, match=r"\[3x3 stride 2 same.*shape \(3, 4, 3, 2\), expected \(3, 4, 4, 2\).*ceil\(n / stride\)"):
        checks.check_max_pool_forward(fwd_same_floor)


def test_rejects_zero_padding_with_hint():
    with pytest.raises(CheckFailure, match=r"same.*max abs error.*pad with -inf"):
        checks.check_max_pool_forward(fwd_zero_padding)


def test_rejects_wrong_axes():
    with pytest.raises(CheckFailure, match=r"\[2x2 stride 2 valid, even size"):
        checks.check_max_pool_forward(fwd_channels_first_confused)


# --------------------------------------------------------------------------- reject: max backward

def bwd_to_every_position(dout, x, pool, stride, padding):
    """The classic mistake: the gradient goes to every element of the window, not the arg-max."""
    n, h, w, c = x.shape
    ho, pt, pb = geometry(h, pool, stride, padding)
    wo, pl, pr = geometry(w, pool, stride, padding)
    dxp = np.zeros((n, h + pt + pb, w + pl + pr, c))
    for a in range(pool):
        for b in range(pool):
            dxp[:, a:a + stride * ho:stride, b:b + stride * wo:stride] += dout[:, :len(range(a, dxp.shape[1], stride)),
                                                                                  :len(range(b, dxp.shape[2], stride))]
    return dxp[:, pt:pt + h, pl:pl + w]


def bwd_last_tie(dout, x, pool, stride, padding):
    """Right except for ties: picks the LAST maximum of the window."""
    return _route(dout, x, pool, stride, padding, lambda f: f.shape[-1] - 1 - f[..., ::-1].argmax(-1))


def bwd_split_ties(dout, x, pool, stride, padding):
    """Splits the gradient equally between tied maxima (reduce_max's rule, not MaxPool's)."""
    n, h, w, c = x.shape
    win, (ho, wo, pt, pl, pshape) = padded_windows(x, pool, stride, padding, -np.inf)
    mask = win == win.max(axis=(-2, -1), keepdims=True)
    share = mask / mask.sum(axis=(-2, -1), keepdims=True) * dout[..., None, None]
    dxp = np.zeros(pshape)
    for a in range(pool):
        for b in range(pool):
            dxp[:, a:a + stride * ho:stride, b:b + stride * wo:stride] += share[..., a, b]
    return dxp[:, pt:pt + h, pl:pl + w]


def bwd_assign_not_add(dout, x, pool, stride, padding):
    """Writes with = instead of +=, so overlapping windows overwrite each other's gradient."""
    n, h, w, c = x.shape
    win, (ho, wo, pt, pl, pshape) = padded_windows(x, pool, stride, padding, -np.inf)
    k = win.reshape(n, ho, wo, c, pool * pool).argmax(-1)
    di, dj = np.divmod(k, pool)
    dxp = np.zeros(pshape)
    dxp[np.arange(n)[:, None, None, None], np.arange(ho)[None, :, None, None] * stride + di,
        np.arange(wo)[None, None, :, None] * stride + dj, np.arange(c)] = dout
    return dxp[:, pt:pt + h, pl:pl + w]


def test_rejects_gradient_sent_to_every_position():
    with pytest.raises(CheckFailure, match=r"\[2x2 stride 2 valid, even size.*dx differs.*max abs error"):
        checks.check_max_pool_backward(bwd_to_every_position)


def test_rejects_last_maximum_on_ties_and_states_tf_rule():
    with pytest.raises(CheckFailure, match=r"\[ties: values in \{0, 1, 2\}.*max abs error.*FIRST maximum"):
        checks.check_max_pool_backward(bwd_last_tie)


def test_rejects_split_ties():
    with pytest.raises(CheckFailure, match=r"\[ties.*does not split"):
        checks.check_max_pool_backward(bwd_split_ties)


def test_rejects_overwrite_at_overlaps():
    with pytest.raises(CheckFailure, match=r"overlapping windows.*max abs error.*ADD UP"):
        checks.check_max_pool_backward(bwd_assign_not_add)


# --------------------------------------------------------------------------- reject: avg backward

def test_rejects_avg_counting_padding():
    with pytest.raises(CheckFailure, match=r"same.*max abs error.*REAL input"):
        checks.check_avg_pool_backward(lambda *a: avg_pool_backward(*a, count_padding=True))


def test_rejects_avg_ignored_stride():
    with pytest.raises(CheckFailure, match=r"stride 2 valid, overlapping"):
        checks.check_avg_pool_backward(lambda d, s, p, st, pad: avg_pool_backward(d, s, p, st, pad, stride_used=p))


def test_rejects_avg_not_divided():
    def undivided(dout, x_shape, pool, stride, padding):
        return avg_pool_backward(dout, x_shape, pool, stride, padding) * pool * pool
    with pytest.raises(CheckFailure, match=r"\[2x2 stride 2 valid, even size.*max abs error"):
        checks.check_avg_pool_backward(undivided)


# --------------------------------------------------------------------------- reject: global max backward

def test_rejects_global_first_maximum_and_states_tf_rule():
    def first_max(dout, x):
        n, h, w, c = x.shape
        k = x.reshape(n, h * w, c).argmax(1)
        dx = np.zeros((n, h * w, c))
        np.put_along_axis(dx, k[:, None, :], dout[:, None, :], axis=1)
        return dx.reshape(x.shape)
    with pytest.raises(CheckFailure, match=r"\[ties.*EQUALLY"):
        checks.check_global_max_pool_backward(first_max)


# --------------------------------------------------------------------------- learner errors, bad input

def test_not_implemented_is_reported():
    def todo(*args):
        raise NotImplementedError()
    with pytest.raises(CheckFailure, match="not implemented yet"):
        checks.check_max_pool_forward(todo)


def test_none_result_is_reported():
    with pytest.raises(CheckFailure, match="returned None"):
        checks.check_avg_pool_backward(lambda *a: None)


def test_learner_exception_names_case():
    def broken(dout, x):
        raise IndexError("index 9 is out of bounds")
    with pytest.raises(CheckFailure, match=r"\[random values, 5x7 maps.*IndexError"):
        checks.check_global_max_pool_backward(broken)


@pytest.mark.parametrize("checker", [checks.check_max_pool_forward, checks.check_max_pool_backward,
                                     checks.check_avg_pool_backward, checks.check_global_max_pool_backward])
def test_bad_arguments(checker):
    with pytest.raises(TypeError, match="fn must be your function"):
        checker(np.zeros(3))
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        checker(max_pool_forward, seed=-1)
