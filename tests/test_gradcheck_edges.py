"""course_lib.gradcheck beyond tests/test_gradcheck.py (found by mutation testing, benchmarks/MUTATION.md):
how many entries are perturbed, seeds and defaults, the training flag, losses that are not scalars,
unconnected inputs and weights, float32 paths, and error messages that name the argument."""
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import gradcheck as gc


class Counting(keras.layers.Layer):
    """y = tanh(x @ W) with a counter of forward calls (eager: every call runs this Python)."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units, self.calls = units, 0

    def build(self, shape):
        self.w = self.add_weight(shape=(shape[-1], self.units), initializer="glorot_uniform")

    def call(self, x):
        self.calls += 1
        return tf.tanh(tf.matmul(x, self.w))


def calls_for(max_entries, wrt, **kwargs):
    layer = Counting(dtype="float64")
    x = np.random.default_rng(0).normal(size=(4, 10))
    layer(x)                                           # built: only the check's own calls are counted
    layer.calls = 0
    gc.check_keras(layer, x, wrt=wrt, **({} if max_entries == "default" else {"max_entries": max_entries}), **kwargs)
    return layer.calls


@pytest.mark.parametrize("wrt", ["inputs", "weights"])
def test_check_keras_perturbs_max_entries_per_tensor(wrt):
    # each perturbed entry costs two forward passes (x + eps, x - eps); the rest is a fixed overhead
    assert calls_for(5, wrt) - calls_for(3, wrt) == 2 * 2
    entries = 40 if wrt == "inputs" else 30                             # x is (4, 10), W is (10, 3)
    assert calls_for(None, wrt) - calls_for(3, wrt) == 2 * (entries - 3)
    if wrt == "weights":
        assert calls_for("default", wrt) - calls_for(3, wrt) == 2 * (20 - 3)   # default: 20 of W's 30


def test_check_numpy_perturbs_max_entries_per_input():
    calls = []

    def f(x, w):
        calls.append(1)
        return np.tanh(x @ w)

    rng = np.random.default_rng(0)
    x, w, dout = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    grad_w = x.T @ (dout * (1 - np.tanh(x @ w) ** 2))
    errs = gc.check_numpy(f, dict(x=x, w=w), dict(w=grad_w), dout, max_entries=3)
    assert len(calls) == 2 * 3 and errs["w"] < gc.GOOD_FLOAT64


def test_seeds_default_to_zero_and_make_runs_repeatable():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5))
    wrong = np.cos(x) * (1 + (np.arange(30).reshape(6, 5) % 7 == 0))   # wrong on some entries only
    run = lambda **k: gc.check_numpy(lambda x: np.sin(x), dict(x=x), dict(x=wrong), np.ones((6, 5)),  # noqa: E731
                                     max_entries=4, **k)["x"]
    assert run() == run() == run(seed=0)
    assert run(seed=0) != run(seed=1)                  # the seed picks the entries
    g0 = gc.numerical_gradient(np.sin, x, np.ones((6, 5)), max_entries=4)
    assert np.array_equal(np.isnan(g0), np.isnan(gc.numerical_gradient(np.sin, x, np.ones((6, 5)), max_entries=4, seed=0)))
    assert not np.array_equal(np.isnan(g0), np.isnan(gc.numerical_gradient(np.sin, x, np.ones((6, 5)), max_entries=4, seed=1)))
    layer = keras.layers.Dense(3, activation="tanh", dtype="float64")
    xs = rng.normal(size=(4, 8))
    first = gc.check_keras(layer, xs, max_entries=3)
    assert gc.check_keras(layer, xs, max_entries=3) == first == gc.check_keras(layer, xs, max_entries=3, seed=0)


def test_check_numpy_default_eps_is_accurate_for_a_nonlinear_function():
    x = np.random.default_rng(0).normal(size=(3, 4))
    errs = gc.check_numpy(lambda x: np.sum(np.sin(x) ** 2), dict(x=x), dict(x=2 * np.sin(x) * np.cos(x)))
    assert errs["x"] < gc.GOOD_FLOAT64


def test_max_entries_boundaries():
    x = np.arange(6.0).reshape(2, 3)
    one = gc.numerical_gradient(lambda v: np.sum(v ** 2), x, max_entries=1)
    assert np.isfinite(one).sum() == 1
    every = gc.numerical_gradient(lambda v: np.sum(v ** 2), x, max_entries=6)
    np.testing.assert_allclose(every, 2 * x, atol=1e-8)
    for bad in (2.5, True, 0, -3):
        with pytest.raises(ValueError, match=r"\bmax_entries\b"):
            gc.numerical_gradient(np.sum, x, max_entries=bad)


@pytest.mark.parametrize("eps", [True, "1e-6", 0, -1e-6])
def test_eps_must_be_a_positive_number(eps):
    with pytest.raises(ValueError, match=r"\beps\b"):
        gc.numerical_gradient(np.sum, np.ones(3), eps=eps)


def test_messages_name_what_was_passed():
    with pytest.raises(TypeError, match=r"\bgot str\b"):
        gc.numerical_gradient("f", np.ones(3))
    with pytest.raises(TypeError, match=r"\bgot object\b"):
        gc.numerical_gradient(np.sum, object())
    with pytest.raises(TypeError, match=r"\bgot function\b"):
        gc.check_keras(lambda x: x, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\bpass dout\b.*\bwhen f is not scalar$"):
        gc.numerical_gradient(lambda v: v * 2, np.ones(3))


def test_check_numpy_errors_name_the_argument():
    x = np.ones(3)
    with pytest.raises(TypeError, match=r"\bf must be a function\b"):
        gc.check_numpy("f", dict(x=x), dict(x=x))
    with pytest.raises(TypeError, match=r"\binputs and grads must be dicts\b"):
        gc.check_numpy(np.sum, dict(x=x), [x])
    with pytest.raises(TypeError, match=r"\binputs and grads must be dicts\b"):
        gc.check_numpy(np.sum, [x], dict(x=x))
    with pytest.raises(ValueError, match=r"\bgrads is empty\b"):
        gc.check_numpy(np.sum, dict(x=x), {})
    with pytest.raises(ValueError, match=r"\binputs\['x'\] contains NaN"):
        gc.check_numpy(np.sum, dict(x=np.array([1.0, np.nan])), dict(x=x[:2]))
    with pytest.raises(ValueError, match=r"\bgrads\['x'\] contains NaN"):
        gc.check_numpy(np.sum, dict(x=x), dict(x=np.array([1.0, np.nan, 1.0])))
    with pytest.raises(ValueError, match=r"^dout contains NaN"):
        gc.check_numpy(lambda x: x, dict(x=x), dict(x=x), dout=np.array([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match=r"^dout contains NaN"):
        gc.numerical_gradient(lambda v: v, x, dout=np.array([1.0, np.inf, 1.0]))


def test_check_keras_loss_fn_errors():
    layer = keras.layers.Dense(2, dtype="float64")
    x = np.ones((3, 4))
    with pytest.raises(TypeError, match=r"^loss_fn must be a function\b"):
        gc.check_keras(layer, x, np.zeros(3), loss_fn="mse")
    with pytest.raises(ValueError, match=r"\bpass y$"):
        gc.check_keras(layer, x, loss_fn=keras.losses.MeanSquaredError())
    with pytest.raises(ValueError, match=r"\bloss_fn must return a scalar, got shape \(3, 2\)"):
        gc.check_keras(layer, x, np.zeros((3, 2)), loss_fn=lambda y, out: out)
    with pytest.raises(ValueError, match=r"\bloss_fn must return a scalar, got shape \(2,\)"):
        gc.check_keras(layer, x, np.zeros((3, 2)), loss_fn=lambda y, out: tf.reduce_sum(out, 0))
    one = gc.check_keras(layer, x, np.zeros((3, 2)), loss_fn=lambda y, out: tf.reshape(tf.reduce_sum(out ** 2), (1,)))
    assert max(one.values()) < gc.GOOD_FLOAT64                  # shape (1,) holds one number: accepted


class HalfUsed(keras.layers.Layer):
    """Uses its weight a; its weight b and (through ones_like) its input get no gradient."""

    def build(self, shape):
        self.a = self.add_weight(shape=(2,), initializer="ones", name="a")
        self.b = self.add_weight(shape=(2,), initializer="ones", name="b")

    def call(self, x):
        return tf.ones_like(x)[:, :2] * self.a


def test_unconnected_inputs_and_weights_give_zero_error():
    layer = HalfUsed(dtype="float64")
    x = np.random.default_rng(0).normal(size=(3, 4))
    errs = gc.check_keras(layer, x, max_entries=None)
    assert errs[layer.a.path] < gc.GOOD_FLOAT64 and errs[layer.b.path] == 0.0
    assert gc.check_keras(layer, x, wrt="inputs")["inputs"] == 0.0


class TrainingOnlyBug(keras.layers.Layer):
    """x**2 with a wrong gradient (x instead of 2x), but only in training mode."""

    def call(self, x, training=False):
        if not training:
            return x * x

        @tf.custom_gradient
        def square(t):
            return t * t, lambda dy: dy * t
        return square(x)


def test_training_flag_reaches_every_forward_pass():
    x = np.random.default_rng(0).normal(size=(3, 4))
    layer = TrainingOnlyBug(dtype="float64")
    assert gc.check_keras(layer, x, wrt="inputs")["inputs"] < gc.GOOD_FLOAT64             # default: inference
    assert gc.check_keras(layer, x, wrt="inputs", training=True)["inputs"] == pytest.approx(1 / 3, rel=1e-6)


def test_default_is_inference_mode_so_dropout_is_off():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,), dtype="float64"), keras.layers.Dense(5, activation="tanh", dtype="float64"),
                              keras.layers.Dropout(0.5, dtype="float64"), keras.layers.Dense(2, dtype="float64")])
    errs = gc.check_keras(model, np.random.default_rng(1).normal(size=(4, 6)))
    assert max(errs.values()) < gc.GOOD_FLOAT64


def test_softmax_outputs_that_sum_to_one_are_still_checked():
    # sum(softmax(x)) is constant: a check by the plain sum of the outputs would see a zero gradient;
    # the random projection dout does not
    x = np.random.default_rng(0).normal(size=(3, 5))
    assert gc.check_keras(keras.layers.Softmax(dtype="float64"), x, wrt="inputs")["inputs"] < gc.GOOD_FLOAT64


def test_float32_layer_without_a_loss():
    keras.utils.set_random_seed(0)
    layer = keras.layers.Dense(3, activation="tanh")
    errs = gc.check_keras(layer, np.random.default_rng(0).normal(size=(4, 5)).astype("float32"))
    assert len(errs) == 2 and max(errs.values()) < 1e-2          # float32: ~1e-3 at best
    assert gc.check_keras(layer, np.ones((2, 5), "float32"), wrt="inputs")["inputs"] < 1e-2


def test_float64_layer_with_float32_input_is_checked_in_float64():
    layer = keras.layers.Dense(3, activation="tanh", dtype="float64")
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    assert gc.check_keras(layer, x, wrt="inputs", max_entries=None)["inputs"] < 1e-9


def test_relative_error_is_computed_in_float64():
    # a float32 gradient (as TensorFlow returns) against a float64 one: the norms must be taken in
    # float64, or 10,000 float32 squares summed in float32 shift the result by ~1e-8 (relative)
    rng = np.random.default_rng(0)
    a = rng.normal(size=10_000).astype(np.float32)
    n = a.astype("float64") + rng.normal(size=10_000) * 1e-6
    a64 = a.astype("float64")
    expected = np.linalg.norm(a64 - n) / (np.linalg.norm(a64) + np.linalg.norm(n))
    assert gc.relative_error(a, n) == pytest.approx(expected, rel=1e-10, abs=0)
    assert gc.relative_error(n, a) == pytest.approx(expected, rel=1e-10, abs=0)
