"""training.fit's early stopping must stop AND restore the best epoch's weights.

A case whose validation loss provably turns: one weight w (Dense(1), no bias, starting at 0), one input
x = 1, training target 10, validation target 5, squared error, plain SGD with learning rate 0.1, one
step per epoch. The gradient is 2 (w - 10), so w_t = w_{t-1} - 0.2 (w_{t-1} - 10), i.e.
    w_t = 10 (1 - 0.8^t):   2, 3.6, 4.88, 5.904, 6.7232, ...
and the validation loss (w_t - 5)^2 is 9, 1.96, 0.0144, 0.817, 2.975, ...: best after epoch 3, worse
after. With patience 2, training stops after epoch 5 and must hand back w_3 = 4.88.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import training


def w_after(t):
    return 10 * (1 - 0.8 ** t)


def one_weight_model():
    model = keras.Sequential([keras.Input((1,)),
                              keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def one_example(target):
    return tf.data.Dataset.from_tensor_slices((np.ones((1, 1), "float32"), np.full((1, 1), target, "float32"))).batch(1)


def weight(model):
    return float(model.get_weights()[0].reshape(()))


def test_the_hand_derivation_holds_without_early_stopping():
    model, hist = training.fit(one_weight_model(), one_example(10.0), validation=one_example(5.0),
                               epochs=5, patience=None, verbose=0)
    expected_val = [(w_after(t) - 5) ** 2 for t in range(1, 6)]
    np.testing.assert_allclose(hist.history["val_loss"], expected_val, rtol=1e-4)
    assert int(np.argmin(hist.history["val_loss"])) == 2                 # epoch 3 is the best
    assert weight(model) == pytest.approx(w_after(5), rel=1e-5)          # no restore when turned off


def test_fit_stops_after_patience_and_restores_the_best_epoch():
    model, hist = training.fit(one_weight_model(), one_example(10.0), validation=one_example(5.0),
                               epochs=20, patience=2, verbose=0)
    assert len(hist.history["val_loss"]) == 5, hist.history             # 3 (best) + patience 2
    assert weight(model) == pytest.approx(w_after(3), rel=1e-5)          # 4.88, not the last epoch's 6.72
    assert float(model.evaluate(one_example(5.0), verbose=0)) == pytest.approx((w_after(3) - 5) ** 2, rel=1e-3)


def test_patience_counts_epochs_without_improvement():
    _, hist = training.fit(one_weight_model(), one_example(10.0), validation=one_example(5.0),
                           epochs=20, patience=1, verbose=0)
    assert len(hist.history["val_loss"]) == 4                            # 3 (best) + patience 1


def test_no_validation_means_no_early_stopping():
    model, hist = training.fit(one_weight_model(), one_example(10.0), epochs=6, patience=2, verbose=0)
    assert len(hist.history["loss"]) == 6
    assert weight(model) == pytest.approx(w_after(6), rel=1e-5)
