"""The pooling checkers accept correct functions and reject typical mistakes with a useful message.

The correct implementations live here (not in course_lib): the checkers compare with TensorFlow.
"""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from course_lib.checks import CheckFailure
from course_lib.checks import pool as checks


# --------------------------------------------------------------------------- correct implementations

def geometry(n, pool, stride, padding, odd_before=False):
    """(output size, padding before, padding after) along one axis, as Keras computes them."""
    if padding == "valid":
        return (n - pool) // stride + 1, 0, 0
    out = -(-n // stride)
    total = max((out - 1) * stride + pool - n, 0)
    before, after = total // 2, total - total // 2
    return (out, after, before) if odd_before else (out, before, after)


def padded_windows(x, pool, strides, padding, fill, strides_used=None, odd_before=False):
    """Windows (N, Ho, Wo, C, p_h, p_w) of x padded with ``fill``; also (Ho, Wo, pt, pl, padded shape)."""
    n, h, w, c = x.shape
    ho, pt, pb = geometry(h, pool[0], strides[0], padding, odd_before)
    wo, pl, pr = geometry(w, pool[1], strides[1], padding, odd_before)
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    sh, sw = strides if strides_used is None else strides_used
    win = sliding_window_view(xp, tuple(pool), axis=(1, 2))[:, ::sh, ::sw][:, :ho, :wo]
    return win, (ho, wo, pt, pl, xp.shape)


def max_pool_forward(x, pool, strides, padding):
    win, _ = padded_windows(x, pool, strides, padding, -np.inf)
    return win.max(axis=(-2, -1))


def _route(dout, x, pool, strides, padding, pick):
    """Scatter dout to the window position chosen by pick(flat windows) -> index; += at overlaps."""
    n, h, w, c = x.shape
    win, (ho, wo, pt, pl, pshape) = padded_windows(x, pool, strides, padding, -np.inf)
    k = pick(win.reshape(n, ho, wo, c, pool[0] * pool[1]))
    di, dj = np.divmod(k, pool[1])
    rows = np.arange(ho)[None, :, None, None] * strides[0] + di
    cols = np.arange(wo)[None, None, :, None] * strides[1] + dj
    dxp = np.zeros(pshape)
    np.add.at(dxp, (np.arange(n)[:, None, None, None], rows, cols, np.arange(c)), dout)
    return dxp[:, pt:pt + h, pl:pl + w]


def max_pool_backward(dout, x, pool, strides, padding):
    return _route(dout, x, pool, strides, padding, lambda f: f.argmax(-1))


def _spread(g, pool, strides, pshape, ho, wo):
    """Add g (N, Ho, Wo, C) into every position of each window of a padded (N, Hp, Wp, C) zero array."""
    dxp = np.zeros((g.shape[0],) + tuple(pshape[1:3]) + (g.shape[3],))
    sh, sw = strides
    for a in range(pool[0]):
        for b in range(pool[1]):
            dxp[:, a:a + sh * (ho - 1) + 1:sh, b:b + sw * (wo - 1) + 1:sw] += g
    return dxp


def avg_pool_backward(dout, x_shape, pool, strides, padding, count_padding=False, assign=False):
    n, h, w, c = x_shape
    ones = np.ones((1, h, w, 1))
    win, (ho, wo, pt, pl, pshape) = padded_windows(ones, pool, strides, padding, 0.0)
    count = np.full_like(win.sum(axis=(-2, -1)), pool[0] * pool[1]) if count_padding else win.sum(axis=(-2, -1))
    g = dout / count
    if assign:                      # '=' where '+=' belongs: overlapping windows overwrite each other
        dxp = np.zeros((n,) + tuple(pshape[1:3]) + (c,))
        for a in range(pool[0]):
            for b in range(pool[1]):
                dxp[:, a:a + strides[0] * (ho - 1) + 1:strides[0], b:b + strides[1] * (wo - 1) + 1:strides[1]] = g
    else:
        dxp = _spread(g, pool, strides, pshape, ho, wo)
    return dxp[:, pt:pt + h, pl:pl + w]


def global_max_pool_backward(dout, x):
    mask = x == x.max(axis=(1, 2), keepdims=True)
    return mask / mask.sum(axis=(1, 2), keepdims=True) * dout[:, None, None, :]


def square_only_max_pool_forward(x, pool, stride, padding):
    """Lesson 02's pool2d contract (one int for square windows and both strides): the old checker
    passed ints and accepted it; the exercises now ask for (rows, columns) pairs."""
    return max_pool_forward(x, (pool, pool), (stride, stride), padding)


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


@pytest.mark.parametrize("checker, square_only", [
    (checks.check_max_pool_forward, square_only_max_pool_forward),
    (checks.check_max_pool_backward, lambda d, x, p, s, pad: max_pool_backward(d, x, (p, p), (s, s), pad)),
    (checks.check_avg_pool_backward, lambda d, xs, p, s, pad: avg_pool_backward(d, xs, (p, p), (s, s), pad)),
])
def test_refuses_the_lessons_square_window_contract(checker, square_only):
    with pytest.raises(CheckFailure, match="your function raised TypeError"):
        checker(square_only)


# --------------------------------------------------------------------------- reject: forward

def fwd_ignores_stride(x, pool, strides, padding):
    """Right output size, but the windows are taken at stride 1."""
    win, _ = padded_windows(x, pool, strides, padding, -np.inf, strides_used=(1, 1))
    return win.max(axis=(-2, -1))


def fwd_valid_off_by_one(x, pool, strides, padding):
    """Output size (n - pool) // stride, forgetting the + 1."""
    out = max_pool_forward(x, pool, strides, padding)
    return out[:, :-1, :-1] if padding == "valid" else out


def fwd_same_floor(x, pool, strides, padding):
    """'same' output size n // stride instead of ceil(n / stride)."""
    out = max_pool_forward(x, pool, strides, padding)
    h, w = x.shape[1] // strides[0], x.shape[2] // strides[1]
    return out[:, :h, :w] if padding == "same" else out


def fwd_zero_padding(x, pool, strides, padding):
    win, _ = padded_windows(x, pool, strides, padding, 0.0)
    return win.max(axis=(-2, -1))


def fwd_odd_pixel_before(x, pool, strides, padding):
    win, _ = padded_windows(x, pool, strides, padding, -np.inf, odd_before=True)
    return win.max(axis=(-2, -1))


def fwd_pairs_swapped(x, pool, strides, padding):
    return max_pool_forward(x, pool[::-1], strides[::-1], padding)


def fwd_channels_first_confused(x, pool, strides, padding):
    """Pools over (W, C) instead of (H, W): treats the array as channels-first."""
    return np.moveaxis(max_pool_forward(np.moveaxis(x, 1, 3), pool, strides, padding), 3, 1)


def test_rejects_ignored_stride_and_names_case_and_error():
    with pytest.raises(CheckFailure, match=r"\[2x2 window, strides 2x2, valid, even size.*max abs error"):
        checks.check_max_pool_forward(fwd_ignores_stride)


def test_rejects_off_by_one_output_size_valid():
    with pytest.raises(CheckFailure, match=r"\[2x2 window, strides 2x2, valid.*shape \(2, 2, 2, 3\), expected "
                                           r"\(2, 3, 3, 3\)"):
        checks.check_max_pool_forward(fwd_valid_off_by_one)


def test_rejects_off_by_one_output_size_same():
    with pytest.raises(CheckFailure, match=r"\[3x3 window, strides 2x2, same.*shape \(3, 4, 3, 2\), expected "
                                           r"\(3, 4, 4, 2\).*ceil\(n / stride\)"):
        checks.check_max_pool_forward(fwd_same_floor)


def test_rejects_zero_padding_with_hint():
    with pytest.raises(CheckFailure, match=r"same.*max abs error.*pad with -inf"):
        checks.check_max_pool_forward(fwd_zero_padding)


def test_same_padding_value_error_states_the_padding_side_rule():
    """The side the odd padding pixel goes to used to be stated only on shape errors."""
    with pytest.raises(CheckFailure, match=r"same.*max abs error.*half \(rounded down\) before"):
        checks.check_max_pool_forward(fwd_odd_pixel_before)


def test_rejects_swapped_pairs_and_says_which_is_which():
    with pytest.raises(CheckFailure, match=r"3x2 window.*has shape.*Hint: pool and strides are \(rows, columns\)"):
        checks.check_max_pool_forward(fwd_pairs_swapped)


def test_rejects_wrong_axes():
    with pytest.raises(CheckFailure, match=r"\[2x2 window, strides 2x2, valid, even size"):
        checks.check_max_pool_forward(fwd_channels_first_confused)


# --------------------------------------------------------------------------- reject: max backward

def bwd_to_every_position(dout, x, pool, strides, padding):
    """The classic mistake: the gradient goes to every element of the window, not the arg-max."""
    n, h, w, c = x.shape
    win, (ho, wo, pt, pl, pshape) = padded_windows(x, pool, strides, padding, -np.inf)
    return _spread(dout, pool, strides, pshape, ho, wo)[:, pt:pt + h, pl:pl + w]


def bwd_last_tie(dout, x, pool, strides, padding):
    """Right except for ties: picks the LAST maximum of the window."""
    return _route(dout, x, pool, strides, padding, lambda f: f.shape[-1] - 1 - f[..., ::-1].argmax(-1))


def bwd_split_ties(dout, x, pool, strides, padding):
    """Splits the gradient equally between tied maxima (reduce_max's rule, not MaxPool's)."""
    n, h, w, c = x.shape
    win, (ho, wo, pt, pl, pshape) = padded_windows(x, pool, strides, padding, -np.inf)
    mask = win == win.max(axis=(-2, -1), keepdims=True)
    share = mask / mask.sum(axis=(-2, -1), keepdims=True) * dout[..., None, None]
    dxp = np.zeros(pshape)
    for a in range(pool[0]):
        for b in range(pool[1]):
            dxp[:, a:a + strides[0] * (ho - 1) + 1:strides[0], b:b + strides[1] * (wo - 1) + 1:strides[1]] += share[..., a, b]
    return dxp[:, pt:pt + h, pl:pl + w]


def bwd_assign_not_add(dout, x, pool, strides, padding):
    """Writes with = instead of +=, so overlapping windows overwrite each other's gradient."""
    n, h, w, c = x.shape
    win, (ho, wo, pt, pl, pshape) = padded_windows(x, pool, strides, padding, -np.inf)
    k = win.reshape(n, ho, wo, c, pool[0] * pool[1]).argmax(-1)
    di, dj = np.divmod(k, pool[1])
    dxp = np.zeros(pshape)
    dxp[np.arange(n)[:, None, None, None], np.arange(ho)[None, :, None, None] * strides[0] + di,
        np.arange(wo)[None, None, :, None] * strides[1] + dj, np.arange(c)] = dout
    return dxp[:, pt:pt + h, pl:pl + w]


def test_rejects_gradient_sent_to_every_position():
    with pytest.raises(CheckFailure, match=r"\[2x2 window, strides 2x2, valid, even size.*dx differs.*max abs error"):
        checks.check_max_pool_backward(bwd_to_every_position)


def test_rejects_last_maximum_on_ties_and_states_tf_rule():
    with pytest.raises(CheckFailure, match=r"\[ties: values in \{0, 1, 2\}.*max abs error.*FIRST maximum"):
        checks.check_max_pool_backward(bwd_last_tie)


def test_rejects_split_ties():
    with pytest.raises(CheckFailure, match=r"\[ties.*does not split"):
        checks.check_max_pool_backward(bwd_split_ties)


def test_rejects_overwrite_at_overlaps():
    with pytest.raises(CheckFailure, match=r"3x2 window, strides 2x1.*max abs error.*ADD UP"):
        checks.check_max_pool_backward(bwd_assign_not_add)


# --------------------------------------------------------------------------- reject: avg backward

def test_rejects_avg_counting_padding():
    with pytest.raises(CheckFailure, match=r"same.*max abs error.*REAL input"):
        checks.check_avg_pool_backward(lambda *a: avg_pool_backward(*a, count_padding=True))


def test_avg_overlap_hint_speaks_of_averages_not_maxima():
    """The overlap hint for average pooling used to talk about 'the maximum'."""
    with pytest.raises(CheckFailure, match=r"3x2 window, strides 2x1.*dout / count.*ADD UP") as e:
        checks.check_avg_pool_backward(lambda *a: avg_pool_backward(*a, assign=True))
    assert "maximum" not in str(e.value)


def test_rejects_avg_not_divided():
    def undivided(dout, x_shape, pool, strides, padding):
        return avg_pool_backward(dout, x_shape, pool, strides, padding) * pool[0] * pool[1]
    with pytest.raises(CheckFailure, match=r"\[2x2 window, strides 2x2, valid, even size.*max abs error"):
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


def test_messages_name_their_keras_reference_not_tensorflow():
    with pytest.raises(CheckFailure, match=r"output differs from keras.layers.MaxPooling2D: max abs error") as e:
        checks.check_max_pool_forward(fwd_ignores_stride)
    assert "differs from TensorFlow" not in str(e.value)
