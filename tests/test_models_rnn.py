"""course_lib.models.rnn: the marked-recall model of lesson 04 and the gradient-through-time measurement."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import data, training
from course_lib.models import rnn


# --------------------------------------------------------------------------- build_memory_model

@pytest.mark.parametrize("kind,layer", [("LSTM", keras.layers.LSTM), ("SimpleRNN", keras.layers.SimpleRNN)])
def test_memory_model_shapes_and_layers(kind, layer):
    model = rnn.build_memory_model(kind, 7, num_symbols=3, units=5)
    x, _ = data.marked_recall(4, 7, num_symbols=3)
    logits = model(x)
    assert logits.shape == (4, 3) and logits.dtype == "float32"
    assert isinstance(model.layers[0], layer) and model.layers[0].units == 5 and model.layers[0].unroll
    assert model.compiled and model.optimizer.clipnorm == 1.0


def test_memory_model_has_its_optimizer_built_so_fit_traces_once(monkeypatch):
    traces = []
    step = keras.Sequential.train_step
    monkeypatch.setattr(keras.Sequential, "train_step", lambda self, data: traces.append(1) or step(self, data))
    model = rnn.build_memory_model("SimpleRNN", 5, units=4)
    assert model.optimizer.built
    x, y = data.marked_recall(32, 5)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert len(traces) == 1          # Keras building Adam inside the first traced step would trace it twice


def test_memory_model_forget_bias_and_clipping_options():
    on = rnn.build_memory_model("LSTM", 4, units=3).layers[0].get_weights()[2]
    off_model = rnn.build_memory_model("LSTM", 4, units=3, unit_forget_bias=False, clipnorm=None)
    off = off_model.layers[0].get_weights()[2]
    np.testing.assert_array_equal(np.split(on, 4)[1], np.ones(3))         # Keras order i, f, c, o
    assert not off.any() and not np.split(on, 4)[0].any()
    assert off_model.optimizer.clipnorm is None


def test_memory_model_seed_fixes_the_initial_weights():
    a, b, c = (rnn.build_memory_model("LSTM", 6, units=4, seed=s).get_weights() for s in (3, 3, 4))
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a[0], c[0])


def test_memory_model_logits_stay_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")      # conftest restores the policy
    model = rnn.build_memory_model("LSTM", 5, units=4)
    assert model.layers[0].compute_dtype == "float16"
    assert model(data.marked_recall(2, 5)[0]).dtype == "float32"


# --------------------------------------------------------------------------- train_memory_model

class FirstWeights(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = self.model.get_weights()


def test_training_learns_a_short_lag_and_starts_from_the_seeded_build():
    first = FirstWeights()
    model, hist = rnn.train_memory_model("LSTM", 5, train_size=1500, epochs=8, seed=2, callbacks=[first])
    for got, built in zip(first.weights, rnn.build_memory_model("LSTM", 5, seed=2).get_weights()):
        np.testing.assert_array_equal(got, built)
    x, y = data.marked_recall(500, 5, seed=7, lag=5)              # held out: another seed, the longest lag
    assert model.evaluate(x, y, verbose=0)[1] >= 0.9                # chance is 0.25
    acc = hist.history["accuracy"]
    assert acc[-1] >= 0.99 and all(a < 0.99 for a in acc[:-1])      # stopped at the first epoch >= 99 %


def test_training_without_a_stop_runs_every_epoch_and_a_high_bar_stops_nothing():
    _, hist = rnn.train_memory_model("SimpleRNN", 3, train_size=128, epochs=3, stop_at_accuracy=None)
    assert len(hist.history["loss"]) == 3
    _, hist = rnn.train_memory_model("SimpleRNN", 3, train_size=128, epochs=1, stop_at_accuracy=0.01)
    assert len(hist.history["loss"]) == 1


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(kind="GRU"), ValueError, r"kind must be one of \('LSTM', 'SimpleRNN'\)"),
    (dict(length=0), ValueError, "length must be a positive int"),
    (dict(num_symbols=1), ValueError, "num_symbols must be an int >= 2"),
    (dict(kind="SimpleRNN", unit_forget_bias=False), ValueError, "a SimpleRNN has no forget gate"),
    (dict(clipnorm=0), ValueError, "clipnorm must be a positive number"),
    (dict(learning_rate=-1e-3), ValueError, "learning_rate must be a positive number"),
])
def test_build_refuses_bad_arguments(kwargs, error, match):
    args = dict(kind="LSTM", length=5) | kwargs
    with pytest.raises(error, match=match):
        rnn.build_memory_model(**args)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(train_size=0), ValueError, "train_size must be a positive int"),
    (dict(epochs=1.5), ValueError, "epochs must be a positive int"),
    (dict(stop_at_accuracy=1.5), ValueError, r"stop_at_accuracy must be a number in \(0, 1\] or None"),
    (dict(callbacks=[print]), TypeError, "callbacks must be a list of keras.callbacks.Callback"),
])
def test_train_refuses_bad_arguments(kwargs, error, match):
    args = dict(kind="LSTM", length=5, train_size=64, epochs=1) | kwargs
    with pytest.raises(error, match=match):
        rnn.train_memory_model(**args)


# --------------------------------------------------------------------------- state_gradient_norms

def simple_rnn_backward_norms(W, U, b, x, v):
    """||dL/dh_t|| for L = sum_n h_T[n] . v, from the row-convention recursion dL/dh_{s-1} = (dL/dh_s * (1 - h_s^2)) U^T."""
    h, hs = np.zeros((len(x), U.shape[0])), []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W + h @ U + b)
        hs.append(h)
    g, norms = np.tile(v, (len(x), 1)), []
    for s in range(x.shape[1] - 1, -1, -1):
        norms.append(np.linalg.norm(g, axis=1).mean())
        g = (g * (1 - hs[s] ** 2)) @ U.T
    return np.array(norms[::-1])


def test_simple_rnn_gradients_match_the_backward_recursion():
    keras.utils.set_random_seed(1)
    cell = keras.layers.SimpleRNNCell(5, dtype="float64")
    rng = np.random.default_rng(0)
    x, v = rng.standard_normal((3, 9, 2)), rng.standard_normal(5)
    got = rnn.state_gradient_norms(cell, x, readout=lambda h: tf.reduce_sum(h * v))
    assert got.shape == (9,) and got.dtype == np.float64
    np.testing.assert_allclose(got, simple_rnn_backward_norms(*cell.get_weights(), x, v), rtol=1e-10)


def test_lstm_gradient_at_the_last_step_is_the_readout_gradient_and_the_cell_is_untouched():
    keras.utils.set_random_seed(2)
    cell = keras.layers.LSTMCell(4)                                    # float32, unbuilt: built for x
    x = np.random.default_rng(1).standard_normal((6, 5, 3))
    v = np.array([1.0, -2.0, 0.5, 3.0])
    got = rnn.state_gradient_norms(cell, x, readout=lambda h: tf.reduce_sum(h * v))
    assert got[-1] == pytest.approx(np.linalg.norm(v), rel=1e-12)     # dL/dh_T = v for every sequence
    assert cell.built and cell.compute_dtype == "float32" and cell.kernel.shape == (3, 16)
    # the measurement ran in float64: a float16 copy of the same weights gives another answer
    low = rnn.state_gradient_norms(cell, x, readout=lambda h: tf.reduce_sum(h * v), dtype="float16")
    assert np.abs(low[:-1] / got[:-1] - 1).max() > 1e-6


def test_default_readout_is_seeded_and_the_gradient_vanishes_without_a_forget_bias():
    rng = np.random.default_rng(3)
    x = np.eye(5)[rng.integers(0, 5, (16, 40))]
    keras.utils.set_random_seed(0)
    cell = keras.layers.LSTMCell(8, unit_forget_bias=False, dtype="float64")
    a, b = rnn.state_gradient_norms(cell, x, seed=1), rnn.state_gradient_norms(cell, x, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, rnn.state_gradient_norms(cell, x, seed=2))
    assert a[0] < 1e-3 * a[-1]                         # forget gates near 0.5: 40 steps shrink it a lot


@pytest.mark.parametrize("cell,x,error,match", [
    (keras.layers.Dense(3), np.zeros((2, 3, 4)), TypeError, "cell must be a Keras recurrent cell"),
    (keras.layers.LSTM(3), np.zeros((2, 3, 4)), TypeError, "got the layer LSTM: pass its .cell"),
    (None, np.zeros((2, 3)), ValueError, r"x must have shape \(N, T, D\), got \(2, 3\)"),
    (None, np.full((2, 3, 4), np.nan), ValueError, "x contains NaN or inf"),
    (None, np.zeros((2, 0, 4)), ValueError, "T >= 1"),
])
def test_gradient_norms_refuse_bad_input(cell, x, error, match):
    with pytest.raises(error, match=match):
        rnn.state_gradient_norms(cell or keras.layers.SimpleRNNCell(3), x)


def test_gradient_norms_refuse_a_feature_mismatch_and_a_readout_that_ignores_h():
    cell = keras.layers.SimpleRNNCell(3)
    cell.build((None, 4))
    with pytest.raises(ValueError, match="x has 2 features per step but the cell was built for 4"):
        rnn.state_gradient_norms(cell, np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match="does not depend on h_T"):
        rnn.state_gradient_norms(cell, np.zeros((2, 3, 4)), readout=lambda h: tf.constant(1.0, "float64"))
    with pytest.raises(TypeError, match="readout must be a function"):
        rnn.state_gradient_norms(cell, np.zeros((2, 3, 4)), readout=3)
