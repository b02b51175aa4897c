"""course_lib.checks.rnn accepts correct RNN/GRU code and rejects the classic mistakes, saying why."""
import numpy as np
import pytest

from course_lib.checks import CheckFailure
from course_lib.checks import rnn as checks


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------- reference solutions (tests only)

def rnn_step(x, h, kernel, recurrent_kernel, bias):
    return np.tanh(x @ kernel + h @ recurrent_kernel + bias)


def make_gru_step(order="zrh", reset_after=False, z_weights_old=True):
    """One GRU step, Keras packing; reset_after=False is Cho et al.'s layout (bias (3H,))."""
    def gru_step(x, h, kernel, recurrent_kernel, bias):
        blocks = dict(zip(order, np.split(kernel, 3, axis=1)))
        rblocks = dict(zip(order, np.split(recurrent_kernel, 3, axis=1)))
        bblocks = dict(zip(order, np.split(bias, 3)))
        z = sigmoid(x @ blocks["z"] + h @ rblocks["z"] + bblocks["z"])
        r = sigmoid(x @ blocks["r"] + h @ rblocks["r"] + bblocks["r"])
        if reset_after:
            cand = np.tanh(x @ blocks["h"] + bblocks["h"] + r * (h @ rblocks["h"]))
        else:
            cand = np.tanh(x @ blocks["h"] + (r * h) @ rblocks["h"] + bblocks["h"])
        return z * h + (1 - z) * cand if z_weights_old else (1 - z) * h + z * cand
    return gru_step


def lesson_gru_step(x_t, h_prev, kernel, rec_kernel, bias):
    """Lesson 04's gru_step (reset_after=True, bias (2, 3H)), given this exercise's (3H,) bias."""
    xz, xr, xh = np.split(x_t @ kernel + bias[0], 3, axis=-1)
    hz, hr, hh = np.split(h_prev @ rec_kernel + bias[1], 3, axis=-1)
    z, r = sigmoid(xz + hz), sigmoid(xr + hr)
    return z * h_prev + (1 - z) * np.tanh(xh + r * hh)


def make_unpack_gru(order="zrh", biases_swapped=False):
    def unpack(kernel, recurrent_kernel, bias):
        parts = zip(np.split(kernel, 3, axis=1), np.split(recurrent_kernel, 3, axis=1),
                    np.split(bias[1 if biases_swapped else 0], 3), np.split(bias[0 if biases_swapped else 1], 3))
        return dict(zip(order, parts))
    return unpack


def lesson_split_gates_for_gru(kernel, recurrent_kernel, bias):
    """Lesson 04's split_gates (LSTM, four blocks i, f, c, o): it passed the old unpacking exercise."""
    blocks = zip(np.split(kernel, 4, axis=1), np.split(recurrent_kernel, 4, axis=1), np.split(bias, 4))
    return dict(zip("ifco", blocks))


def masked_mean(x, mask):
    m = mask[..., None].astype(x.dtype)
    return (x * m).sum(1) / m.sum(1)


# ---------------------------------------------------------------- accept

def test_accepts_correct_implementations():
    assert "all 5 cases match keras.layers.SimpleRNN" in checks.check_rnn_step(rnn_step)
    assert "all 5 cases match keras.layers.GRU(reset_after=False)" in checks.check_gru_step(make_gru_step())
    assert "all 5 cases" in checks.check_unpack_gru_weights(make_unpack_gru())
    assert "all 5 cases" in checks.check_masked_mean(masked_mean)


def test_accepts_float32_and_other_seed():
    def step32(*args):
        return make_gru_step()(*(a.astype("float32") for a in args))
    checks.check_gru_step(step32, seed=3)


# ---------------------------------------------------------------- reject: GRU step

def test_gru_step_refuses_the_lessons_reset_after_true_step_and_says_why():
    with pytest.raises(CheckFailure, match=r"\[random h_prev.*h_t differs from keras.layers.GRU\(reset_after=False\)"
                                           r".*reset_after=True, the lesson's gru_step"):
        checks.check_gru_step(make_gru_step(reset_after=True))


def test_gru_step_refuses_the_lessons_function_as_is():
    with pytest.raises(CheckFailure):
        checks.check_gru_step(lesson_gru_step)


@pytest.mark.parametrize("wrong", [make_gru_step(order="rzh"), make_gru_step(z_weights_old=False)])
def test_gru_step_rejects_swapped_gates_with_a_hint_that_is_not_the_solution(wrong):
    with pytest.raises(CheckFailure, match=r"h_t differs.*max abs error.*Hint: Keras packs the blocks z, r, h") as e:
        checks.check_gru_step(wrong)
    assert "tanh(" not in str(e.value) and "sigmoid(" not in str(e.value)     # a pointer, not the equations


def test_rnn_step_rejects_missing_recurrence_and_wrong_activation():
    with pytest.raises(CheckFailure, match=r"\[random h_prev.*h_t differs.*max abs error.*tanh\(x_t @ kernel"):
        checks.check_rnn_step(lambda x, h, k, r, b: np.tanh(x @ k + b))
    with pytest.raises(CheckFailure, match=r"\[first step.*h_t differs"):
        checks.check_rnn_step(lambda x, h, k, r, b: sigmoid(x @ k + h @ r + b))


def test_gru_step_rejects_bad_return_values():
    with pytest.raises(CheckFailure, match="returned None"):
        checks.check_gru_step(lambda *a: None)
    with pytest.raises(CheckFailure, match=r"has shape \(2, 12\), expected \(2, 4\)"):
        checks.check_gru_step(lambda x, h, k, r, b: x @ k + b)


# ---------------------------------------------------------------- reject: unpacking

def test_unpack_refuses_the_lessons_lstm_split():
    with pytest.raises(CheckFailure, match=r"raised ValueError: array split"):
        checks.check_unpack_gru_weights(lesson_split_gates_for_gru)
    with pytest.raises(CheckFailure, match=r"exactly the keys 'z', 'r', 'h', got \['c', 'f', 'i', 'o'\]"):
        checks.check_unpack_gru_weights(lambda k, r, b: dict.fromkeys("ifco", None))


@pytest.mark.parametrize("order", ["rzh", "hrz", "zhr"])
def test_unpack_rejects_wrong_gate_order(order):
    with pytest.raises(CheckFailure, match=r"new state h_1 .* max abs error .*order z, r, h"):
        checks.check_unpack_gru_weights(make_unpack_gru(order=order))


def test_unpack_rejects_input_and_recurrent_biases_swapped():
    with pytest.raises(CheckFailure, match=r"new state h_1.*bias\[0\] is added to x @ kernel"):
        checks.check_unpack_gru_weights(make_unpack_gru(biases_swapped=True))


def test_unpack_rejects_wrong_structure():
    with pytest.raises(CheckFailure, match="must return a dict with keys"):
        checks.check_unpack_gru_weights(lambda k, r, b: [k, r, b])

    def three_parts(k, r, b):
        return {g: blocks[:3] for g, blocks in make_unpack_gru()(k, r, b).items()}
    with pytest.raises(CheckFailure, match=r"gate 'z': expected a tuple \(W, U, b_x, b_h\), got tuple of length 3"):
        checks.check_unpack_gru_weights(three_parts)

    def transposed(k, r, b):
        return {g: (W.T, U, bx, bh) for g, (W, U, bx, bh) in make_unpack_gru()(k, r, b).items()}
    with pytest.raises(CheckFailure, match=r"gate 'z': W has shape \(4, 3\), expected \(3, 4\)"):
        checks.check_unpack_gru_weights(transposed)


# ---------------------------------------------------------------- reject: masked mean

def test_masked_mean_rejects_plain_mean_and_wrong_divisor():
    with pytest.raises(CheckFailure, match=r"\[variable lengths.*masked mean differs.*max abs error.*not by T"):
        checks.check_masked_mean(lambda x, m: x.mean(1))
    with pytest.raises(CheckFailure, match=r"\[variable lengths.*max abs error"):
        checks.check_masked_mean(lambda x, m: (x * m[..., None]).sum(1) / x.shape[1])

    def prefix_only(x, m):  # assumes padding only at the end: fails on a mask with holes
        lengths = m.sum(1)
        return np.stack([x[n, :lengths[n]].mean(0) for n in range(len(x))])
    with pytest.raises(CheckFailure, match=r"\[mask with holes in the middle"):
        checks.check_masked_mean(prefix_only)


# ---------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("check", [checks.check_rnn_step, checks.check_gru_step,
                                   checks.check_unpack_gru_weights, checks.check_masked_mean])
def test_checkers_reject_bad_arguments(check):
    with pytest.raises(TypeError, match="fn must be your function"):
        check("not a function")
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -1"):
        check(masked_mean, seed=-1)
