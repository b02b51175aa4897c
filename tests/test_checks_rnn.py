"""course_lib.checks.rnn accepts correct RNN/LSTM code and rejects the classic mistakes."""
import numpy as np
import pytest

from course_lib.checks import CheckFailure
from course_lib.checks import rnn as checks


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------- reference solutions (tests only)

def rnn_step(x, h, kernel, recurrent_kernel, bias):
    return np.tanh(x @ kernel + h @ recurrent_kernel + bias)


def make_lstm_step(order="ifco", forget_term=True, gate_act=sigmoid):
    def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
        z = np.split(x @ kernel + h @ recurrent_kernel + bias, 4, axis=-1)
        zz = dict(zip(order, z))
        i, f, o, g = gate_act(zz["i"]), gate_act(zz["f"]), gate_act(zz["o"]), np.tanh(zz["c"])
        c_new = (f * c if forget_term else 0.0) + i * g
        return o * np.tanh(c_new), c_new
    return lstm_step


def make_unpack(order="ifco"):
    def unpack(kernel, recurrent_kernel, bias):
        parts = zip(np.split(kernel, 4, axis=1), np.split(recurrent_kernel, 4, axis=1), np.split(bias, 4))
        return dict(zip(order, parts))
    return unpack


def masked_mean(x, mask):
    m = mask[..., None].astype(x.dtype)
    return (x * m).sum(1) / m.sum(1)


# ---------------------------------------------------------------- accept

def test_accepts_correct_implementations():
    assert "all 5 cases match keras.layers.SimpleRNN" in checks.check_rnn_step(rnn_step)
    assert "all 5 cases match keras.layers.LSTM" in checks.check_lstm_step(make_lstm_step())
    assert "all 5 cases" in checks.check_unpack_lstm_weights(make_unpack())
    assert "all 5 cases" in checks.check_masked_mean(masked_mean)


def test_accepts_float32_and_other_seed():
    def step32(x, h, c, k, r, b):
        hh, cc = make_lstm_step()(*(a.astype("float32") for a in (x, h, c, k, r, b)))
        return hh, cc
    checks.check_lstm_step(step32, seed=3)


# ---------------------------------------------------------------- reject: LSTM step

def test_rejects_swapped_input_and_forget_gates():
    with pytest.raises(CheckFailure, match=r"\[first step: h_prev = c_prev = 0.*c_t \(cell state\) differs from "
                                           r"TensorFlow: max abs error .*order i, f, c, o"):
        checks.check_lstm_step(make_lstm_step(order="fico"))


def test_rejects_missing_cell_state_term():
    # With c_prev = 0 the term f * c_prev vanishes, so the first case passes and the second names it.
    with pytest.raises(CheckFailure, match=r"\[random h_prev and c_prev.*c_t \(cell state\) differs.*max abs error"):
        checks.check_lstm_step(make_lstm_step(forget_term=False))


def test_rejects_tanh_where_sigmoid_belongs():
    with pytest.raises(CheckFailure, match=r"\[first step.*differs from TensorFlow: max abs error.*sigmoid"):
        checks.check_lstm_step(make_lstm_step(gate_act=np.tanh))


def test_rejects_candidate_and_output_swapped():
    with pytest.raises(CheckFailure, match="max abs error"):
        checks.check_lstm_step(make_lstm_step(order="ifoc"))


def test_rejects_bad_return_values():
    with pytest.raises(CheckFailure, match=r"must return a pair \(h_t, c_t\), got ndarray"):
        checks.check_lstm_step(lambda x, h, c, k, r, b: make_lstm_step()(x, h, c, k, r, b)[0])
    with pytest.raises(CheckFailure, match="returned None for the c_t"):
        checks.check_lstm_step(lambda *a: (None, None))
    with pytest.raises(CheckFailure, match=r"not implemented yet"):
        checks.check_lstm_step(lambda *a: (_ for _ in ()).throw(NotImplementedError()))
    with pytest.raises(CheckFailure, match=r"c_t \(cell state\) has shape \(2, 3\), expected \(2, 4\)"):
        checks.check_lstm_step(lambda x, h, c, k, r, b: (h, np.zeros((2, 3))))


# ---------------------------------------------------------------- reject: SimpleRNN step

def test_rnn_step_rejects_missing_recurrence_and_wrong_activation():
    with pytest.raises(CheckFailure, match=r"\[random h_prev.*h_t differs.*max abs error.*tanh\(x_t @ kernel"):
        checks.check_rnn_step(lambda x, h, k, r, b: np.tanh(x @ k + b))
    with pytest.raises(CheckFailure, match=r"\[first step.*h_t differs"):
        checks.check_rnn_step(lambda x, h, k, r, b: sigmoid(x @ k + h @ r + b))


# ---------------------------------------------------------------- reject: unpacking

def test_unpack_rejects_swapped_input_and_forget():
    with pytest.raises(CheckFailure, match=r"forget gate .* max abs error .*order i, f, c, o"):
        checks.check_unpack_lstm_weights(make_unpack(order="fico"))


def test_unpack_rejects_swapped_candidate_and_output():
    with pytest.raises(CheckFailure, match=r"input gate \* candidate.*max abs error"):
        checks.check_unpack_lstm_weights(make_unpack(order="ifoc"))


def test_unpack_rejects_wrong_structure():
    with pytest.raises(CheckFailure, match="must return a dict with keys"):
        checks.check_unpack_lstm_weights(lambda k, r, b: [k, r, b])
    with pytest.raises(CheckFailure, match=r"exactly the keys 'i', 'f', 'c', 'o', got \['f', 'g', 'i', 'o'\]"):
        checks.check_unpack_lstm_weights(lambda k, r, b: dict(zip("ifgo", make_unpack()(k, r, b).values())))

    def transposed(k, r, b):
        return {g: (W.T, U, bb) for g, (W, U, bb) in make_unpack()(k, r, b).items()}
    with pytest.raises(CheckFailure, match=r"gate 'i': W has shape \(4, 3\), expected \(3, 4\)"):
        checks.check_unpack_lstm_weights(transposed)

    def bias_forgotten(k, r, b):
        return {g: (W, U, np.zeros_like(bb)) for g, (W, U, bb) in make_unpack()(k, r, b).items()}
    with pytest.raises(CheckFailure, match="forget gate"):
        checks.check_unpack_lstm_weights(bias_forgotten)


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

@pytest.mark.parametrize("check", [checks.check_rnn_step, checks.check_lstm_step,
                                   checks.check_unpack_lstm_weights, checks.check_masked_mean])
def test_checkers_reject_bad_arguments(check):
    with pytest.raises(TypeError, match="fn must be your function"):
        check("not a function")
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -1"):
        check(masked_mean, seed=-1)
