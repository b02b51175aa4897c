"""course_lib.gradcheck: right gradients give tiny relative errors, wrong ones are flagged, bad input is refused."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import gradcheck as gc


def test_numerical_gradient_of_known_function():
    x = np.array([[0.5, -1.0, 2.0]])
    g = gc.numerical_gradient(lambda v: np.sum(np.sin(v) * v), x)
    assert np.allclose(g, np.sin(x) + x * np.cos(x), atol=1e-9)
    assert np.array_equal(x, [[0.5, -1.0, 2.0]])          # the caller's array is untouched


def test_numerical_gradient_with_dout_and_sampling():
    rng = np.random.default_rng(1)
    x, a, dout = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    full = gc.numerical_gradient(lambda v: v @ a, x, dout)
    assert np.allclose(full, dout @ a.T, atol=1e-9)
    part = gc.numerical_gradient(lambda v: v @ a, x, dout, max_entries=5)
    picked = ~np.isnan(part)
    assert picked.sum() == 5 and np.allclose(part[picked], (dout @ a.T)[picked], atol=1e-9)


def test_relative_error():
    assert gc.relative_error([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert gc.relative_error([1.0, 0.0], [-1.0, 0.0]) == pytest.approx(1.0)
    assert gc.relative_error([3.0, 4.0], [3.0, 4.0 + 1e-9]) < 1e-9


def _dense(x, W, b):
    return x @ W + b


def test_check_numpy_accepts_right_and_flags_wrong_gradient():
    rng = np.random.default_rng(0)
    x, W, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((4, 5))
    inputs = dict(x=x, W=W, b=b)
    right = gc.check_numpy(_dense, inputs, dict(x=dout @ W.T, W=x.T @ dout, b=dout.sum(0)), dout)
    assert max(right.values()) < gc.GOOD_FLOAT64
    wrong = gc.check_numpy(_dense, inputs, dict(x=dout @ W, W=x.T @ dout, b=dout.mean(0)), dout)  # missing .T, mean
    assert wrong["x"] > gc.BAD and wrong["b"] > gc.BAD and wrong["W"] < gc.GOOD_FLOAT64


def test_check_keras_float64_dense_layer_weights_and_inputs():
    layer = keras.layers.Dense(3, activation="tanh", dtype="float64")
    x = np.random.default_rng(0).standard_normal((4, 5))
    errs = gc.check_keras(layer, x, max_entries=None)
    assert set(errs) == {layer.kernel.path, layer.bias.path}
    assert max(errs.values()) < gc.GOOD_FLOAT64
    assert gc.check_keras(layer, x, wrt="inputs")["inputs"] < gc.GOOD_FLOAT64


def test_check_keras_float64_model_with_float64_loss():
    model = keras.Sequential([keras.Input((5,), dtype="float64"), keras.layers.Dense(4, activation="tanh", dtype="float64"),
                              keras.layers.Dense(3, dtype="float64")])
    x, y = np.random.default_rng(1).normal(size=(6, 5)), np.arange(6) % 3
    errs = gc.check_keras(model, x, y, keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64"))
    assert max(errs.values()) < gc.GOOD_FLOAT64


def test_check_keras_model_with_loss_float32():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    x = np.random.default_rng(0).standard_normal((5, 6)).astype("float32")
    y = np.array([0, 1, 2, 1, 0])
    before = [w.copy() for w in model.get_weights()]
    errs = gc.check_keras(model, x, y, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert len(errs) == 4 and max(errs.values()) < 1e-2     # float32: centred differences reach ~1e-3
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))   # weights restored


class WrongGradientSquare(keras.layers.Layer):
    """y = x**2 with a deliberately wrong backward pass (x instead of 2x)."""

    def call(self, x):
        @tf.custom_gradient
        def square(t):
            return t * t, lambda dy: dy * t
        return square(x)


def test_check_keras_flags_a_wrong_gradient():
    x = np.random.default_rng(0).standard_normal((3, 4))
    layer = WrongGradientSquare(dtype="float64")
    err = gc.check_keras(layer, x, wrt="inputs")["inputs"]
    assert err > gc.BAD and err == pytest.approx(1 / 3, rel=1e-6)   # |x - 2x| / (|x| + |2x|)


def test_bad_inputs():
    with pytest.raises(TypeError, match=r"f must be a function"):
        gc.numerical_gradient("f", np.ones(3))
    with pytest.raises(ValueError, match=r"eps must be a positive number"):
        gc.numerical_gradient(np.sum, np.ones(3), eps=0)
    with pytest.raises(TypeError, match=r"x must be a numeric array"):
        gc.numerical_gradient(np.sum, object())
    with pytest.raises(ValueError, match=r"x contains NaN or inf"):
        gc.numerical_gradient(np.sum, np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"pass dout"):
        gc.numerical_gradient(lambda v: v * 2, np.ones(3))
    with pytest.raises(ValueError, match=r"dout has shape \(2,\) but f returned shape \(3,\)"):
        gc.numerical_gradient(lambda v: v * 2, np.ones(3), dout=np.ones(2))
    with pytest.raises(ValueError, match=r"max_entries must be a positive int"):
        gc.numerical_gradient(np.sum, np.ones(3), max_entries=0)
    with pytest.raises(ValueError, match=r"analytic gradient has shape \(2,\) but numeric gradient has shape \(3,\)"):
        gc.relative_error(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"grads names \['z'\]"):
        gc.check_numpy(_dense, dict(x=1.0), dict(z=1.0))
    with pytest.raises(ValueError, match=r"grads\['x'\] has shape \(2,\), but inputs\['x'\] has shape \(3,\)"):
        gc.check_numpy(lambda x: np.sum(x), dict(x=np.ones(3)), dict(x=np.ones(2)))
    with pytest.raises(TypeError, match=r"target must be a keras Layer or Model"):
        gc.check_keras(lambda x: x, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"wrt must be 'weights' or 'inputs'"):
        gc.check_keras(keras.layers.Dense(2), np.ones((2, 3)), wrt="bias")
    with pytest.raises(ValueError, match=r"has no trainable weights; use wrt='inputs'"):
        gc.check_keras(keras.layers.ReLU(), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"loss_fn needs targets: pass y"):
        gc.check_keras(keras.layers.Dense(2), np.ones((2, 3)), loss_fn=keras.losses.MeanSquaredError())
    with pytest.raises(TypeError, match=r"x must be a numeric array, got dtype"):
        gc.check_keras(keras.layers.Dense(2), np.array([["a", "b"]]))
