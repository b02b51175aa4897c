"""The lesson-01 checkers accept correct answers and reject the typical wrong ones, saying why."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from course_lib.checks import CheckFailure
from course_lib.checks.conv import check_conv2d, check_edge_filter, check_output_size


# --------------------------------------------------------------------------- reference answers
# Written here, not in course_lib: the checkers must not contain the solution.

def _same_pads(n, k, stride):
    out = -(-n // stride)
    total = max((out - 1) * stride + k - n, 0)
    return total // 2, total - total // 2


def _pad(x, kh, kw, strides, padding, split=_same_pads):
    if padding == "valid":
        return x
    (t, bo), (le, r) = split(x.shape[1], kh, strides[0]), split(x.shape[2], kw, strides[1])
    return np.pad(x, ((0, 0), (t, bo), (le, r), (0, 0)))


def conv2d_correct(x, w, b, strides, padding, split=_same_pads):
    kh, kw = w.shape[:2]
    xp = _pad(x, kh, kw, strides, padding, split)
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::strides[0], ::strides[1]]  # N,Ho,Wo,C,kh,kw
    return np.einsum("nhwcij,ijcf->nhwf", win, w) + b


def conv2d_one_int_stride(x, w, b, stride, padding):
    """The lesson's contract (one int for both axes), e.g. its conv2d_fast: the old checker passed
    an int and accepted it; the exercise now asks for a (s_h, s_w) pair."""
    kh, kw = w.shape[:2]
    xp = _pad(x, kh, kw, (stride, stride), padding)
    win = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("nhwcij,ijcf->nhwf", win, w) + b


def conv2d_strides_swapped(x, w, b, strides, padding):
    return conv2d_correct(x, w, b, strides[::-1], padding)


def conv2d_extra_pad_on_top(x, w, b, strides, padding):
    """Off-by-one: puts the odd padding pixel before (top/left) instead of after."""
    def split(n, k, s):
        t, bo = _same_pads(n, k, s)
        return bo, t
    return conv2d_correct(x, w, b, strides, padding, split)


def conv2d_k_over_2_padding(x, w, b, strides, padding):
    """Off-by-one: pads k // 2 on every side, right only for odd kernels and stride 1."""
    return conv2d_correct(x, w, b, strides, padding, lambda n, k, s: (k // 2, k // 2))


def conv2d_flipped(x, w, b, strides, padding):
    """True convolution (kernel rotated by 180 degrees) where Conv2D's cross-correlation is expected."""
    return conv2d_correct(x, w[::-1, ::-1], b, strides, padding)


def conv2d_channels_reversed(x, w, b, strides, padding):
    """Input channels paired with the kernel's channels in the wrong order."""
    return conv2d_correct(x[..., ::-1], w, b, strides, padding)


def conv2d_channels_first(x, w, b, strides, padding):
    """Treats x as (N, C, H, W): transposes it, so shapes or values come out wrong."""
    return conv2d_correct(np.transpose(x, (0, 3, 1, 2))[..., : w.shape[2]], w, b, strides, padding)


def conv2d_ignores_stride(x, w, b, strides, padding):
    return conv2d_correct(x, w, b, (1, 1), padding)


def conv2d_no_bias(x, w, b, strides, padding):
    return conv2d_correct(x, w, b, strides, padding) - b


def output_size_correct(n, k, stride, padding, dilation):
    if padding == "same":
        return -(-n // stride)
    if padding == "full":
        return (n + dilation * (k - 1) - 1) // stride + 1
    return (n - dilation * (k - 1) - 1) // stride + 1


def output_size_lesson(n, k, stride, padding, dilation):
    """Lesson 01's conv_output_size: valid and same only (the old checker asked for nothing else)."""
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return output_size_correct(n, k, stride, padding, dilation)


# --------------------------------------------------------------------------- check_conv2d

def test_conv2d_accepts_correct(capsys):
    msg = check_conv2d(conv2d_correct)
    assert msg.startswith("✓ conv2d: all")
    assert "max abs error" in capsys.readouterr().out


def test_conv2d_accepts_float32_implementation():
    check_conv2d(lambda x, w, b, s, p: conv2d_correct(x.astype("float32"), w.astype("float32"),
                                                      b.astype("float32"), s, p))


@pytest.mark.parametrize("wrong, case_hint", [
    (conv2d_extra_pad_on_top, "padding='same'"),
    (conv2d_flipped, "x(1, 5, 5, 1)"),
    (conv2d_channels_reversed, "x(2, 6, 7, 3)"),
    (conv2d_no_bias, "x(1, 5, 5, 1)"),
])
def test_conv2d_rejects_wrong_values_naming_case_and_error(wrong, case_hint):
    with pytest.raises(CheckFailure) as e:
        check_conv2d(wrong)
    msg = str(e.value)
    assert case_hint in msg and "w(" in msg and "strides=" in msg
    assert "max abs error" in msg and "differs from tf.nn.conv2d + b" in msg


def test_conv2d_same_padding_value_error_states_the_split_rule():
    with pytest.raises(CheckFailure, match="rest after"):
        check_conv2d(conv2d_extra_pad_on_top)


def test_conv2d_refuses_the_one_int_stride_version():
    with pytest.raises(CheckFailure, match=r"strides=\(1, 1\).*your function raised TypeError"):
        check_conv2d(conv2d_one_int_stride)


def test_conv2d_names_swapped_strides():
    with pytest.raises(CheckFailure, match=r"strides=\(2, 1\).*Hint: strides is \(s_h, s_w\)"):
        check_conv2d(conv2d_strides_swapped)


def test_conv2d_rejects_k_over_2_padding():
    # k // 2 on each side is right for odd kernels and stride 1; the first even kernel is wrong.
    with pytest.raises(CheckFailure, match=r"w\(2, 3, 2, 5\).*padding='same'\] conv2d output differs"
                                           r".*half \(rounded down\) before"):
        check_conv2d(conv2d_k_over_2_padding)


def test_conv2d_rejects_ignored_stride_by_shape():
    with pytest.raises(CheckFailure, match=r"strides=\(2, 1\).*has shape \(2, 7, 7, 2\), expected \(2, 4, 7, 2\)"
                                           r".*Hint: output size per axis"):
        check_conv2d(conv2d_ignores_stride)


def test_conv2d_rejects_channels_first():
    with pytest.raises(CheckFailure, match=r"\[x\(.*\), w\(.*\)"):
        check_conv2d(conv2d_channels_first)


def test_conv2d_reports_not_implemented_and_missing_return():
    def todo(x, w, b, strides, padding):
        raise NotImplementedError()
    with pytest.raises(CheckFailure, match="not implemented yet"):
        check_conv2d(todo)
    with pytest.raises(CheckFailure, match="returned None"):
        check_conv2d(lambda *a: None)


def test_conv2d_rejects_non_function():
    with pytest.raises(TypeError, match="expected a function"):
        check_conv2d(np.zeros(3))


def test_conv2d_learner_cannot_change_the_expected_answer_by_mutating_inputs():
    def mutating(x, w, b, strides, padding):
        y = conv2d_correct(x, w, b, strides, padding)
        x[...] = 0
        w[...] = 0
        return y
    check_conv2d(mutating)


# --------------------------------------------------------------------------- check_output_size

def test_output_size_accepts_correct(capsys):
    assert "output_size: all" in check_output_size(output_size_correct)


def test_output_size_refuses_the_lessons_valid_and_same_only_function():
    with pytest.raises(CheckFailure, match=r"padding='full'.*raised ValueError"):
        check_output_size(output_size_lesson)


@pytest.mark.parametrize("wrong, hint, who", [
    (lambda n, k, s, p, d: (n - k) // s + 1 if p == "valid" else output_size_correct(n, k, s, p, d), "dilation=2",
     "Keras Conv2D"),
    (lambda n, k, s, p, d: n // s if p == "same" else output_size_correct(n, k, s, p, d), "padding='same'",
     "Keras Conv2D"),
    (lambda n, k, s, p, d: (n - d * (k - 1)) // s + 1 if p == "valid" else output_size_correct(n, k, s, p, d),
     "padding='valid'", "Keras Conv2D"),
    (lambda n, k, s, p, d: n - d * (k - 1) if p == "valid" else output_size_correct(n, k, s, p, d), "stride=2",
     "Keras Conv2D"),
    # "full" as n + k - 1 whatever the stride and dilation: right only for stride 1, dilation 1
    (lambda n, k, s, p, d: n + k - 1 if p == "full" else output_size_correct(n, k, s, p, d), "padding='full'",
     "tf.nn.conv2d with 'full' padding"),
])
def test_output_size_rejects_wrong_formulas(wrong, hint, who):
    with pytest.raises(CheckFailure, match=f"{who} gives") as e:
        check_output_size(wrong)
    assert hint in str(e.value) and "error " in str(e.value)


def test_output_size_rejects_non_int():
    with pytest.raises(CheckFailure, match="expected an int"):
        check_output_size(lambda n, k, s, p, d: "three")
    with pytest.raises(CheckFailure, match=r"n=1, k=1.*returned 1.5, Keras Conv2D gives 1 \(error \+0.5\)"):
        check_output_size(lambda n, k, s, p, d: output_size_correct(n, k, s, p, d) + 0.5)


# --------------------------------------------------------------------------- check_edge_filter

SOBEL_H = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float)


@pytest.mark.parametrize("kernel", [SOBEL_H, -SOBEL_H, np.array([[1.0], [-1.0]]).repeat(2, 1),
                                    SOBEL_H[:, :, None, None]])
def test_edge_filter_accepts_horizontal_edge_detectors(kernel):
    assert "horizontal edge filter" in check_edge_filter(kernel)


def test_edge_filter_accepts_function():
    check_edge_filter(lambda: SOBEL_H.tolist())


@pytest.mark.parametrize("kernel, hint", [
    (SOBEL_H.T, "vertical edge"),                                  # vertical-edge detector
    (np.full((3, 3), 1 / 9), "flat grey"),                         # blur: weights sum to 1
    (SOBEL_H + 0.2, "flat grey"),                                  # does not sum to zero
    (np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float), "vertical edge"),  # Laplacian: all edges
    (np.zeros((3, 3)), "barely responds"),
    (np.array([[1, 0, -1], [0, 0, 0], [-1, 0, 1]], float), "barely responds"),
])
def test_edge_filter_rejects(kernel, hint):
    with pytest.raises(CheckFailure, match=hint) as e:
        check_edge_filter(kernel)
    assert "max |response|" in str(e.value)


@pytest.mark.parametrize("bad, msg", [
    (None, "None"),
    (np.ones(3), "2-D array"),
    (np.ones((9, 9)), "2-D array"),
    ([[np.nan, 0], [0, 0]], "NaN"),
    ("sobel", "numeric array"),
])
def test_edge_filter_bad_input(bad, msg):
    with pytest.raises(CheckFailure, match=msg):
        check_edge_filter(bad)
