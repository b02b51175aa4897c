"""training.StopAtMetric: stop after the first epoch whose logged metric reaches a target.

The one-weight case of test_training_early_stopping: w starts at 0, target 10, x = 1, squared error,
SGD with learning rate 0.1, one step per epoch. Epoch t's logged loss is measured before its step,
at w_{t-1} = 10 (1 - 0.8^(t-1)), so it is (w_{t-1} - 10)^2 = 100 * 0.64^(t-1):
100, 64, 40.96, 26.2, 16.8, ...  With mode="min" and target 30, training must stop after epoch 4.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import training


def loss_at_epoch(t):
    return 100 * 0.64 ** (t - 1)


def one_weight_model():
    model = keras.Sequential([keras.Input((1,)),
                              keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def one_example(target=10.0):
    return tf.data.Dataset.from_tensor_slices((np.ones((1, 1), "float32"), np.full((1, 1), target, "float32"))).batch(1)


def first_epoch_at_or_below(target):
    return next(t for t in range(1, 100) if loss_at_epoch(t) <= target)


@pytest.mark.parametrize("target", [30.0, 50.0, 17.0])
def test_stops_after_the_first_epoch_that_reaches_the_target(target):
    stop = training.StopAtMetric("loss", target, mode="min")
    hist = one_weight_model().fit(one_example(), epochs=20, callbacks=[stop], verbose=0, shuffle=False)
    expected = first_epoch_at_or_below(target)                     # 4, 3, 5
    np.testing.assert_allclose(hist.history["loss"], [loss_at_epoch(t) for t in range(1, expected + 1)], rtol=1e-4)
    assert stop.stopped_epoch == expected


def test_max_mode_and_an_unreached_target_run_every_epoch():
    stop = training.StopAtMetric("loss", 1000.0, mode="max")        # the loss never rises to 1000
    hist = one_weight_model().fit(one_example(), epochs=6, callbacks=[stop], verbose=0, shuffle=False)
    assert len(hist.history["loss"]) == 6 and stop.stopped_epoch is None
    stop = training.StopAtMetric("loss", 90.0, mode="max")          # epoch 1's loss, 100, is >= 90
    hist = one_weight_model().fit(one_example(), epochs=6, callbacks=[stop], verbose=0, shuffle=False)
    assert len(hist.history["loss"]) == 1 and stop.stopped_epoch == 1


def test_reused_callback_forgets_the_last_run():
    stop = training.StopAtMetric("loss", 50.0, mode="min")
    one_weight_model().fit(one_example(), epochs=6, callbacks=[stop], verbose=0, shuffle=False)
    assert stop.stopped_epoch == first_epoch_at_or_below(50.0)
    one_weight_model().fit(one_example(target=0.0), epochs=3, callbacks=[stop], verbose=0, shuffle=False)   # loss stays 0 <= 50
    assert stop.stopped_epoch == 1
    one_weight_model().fit(one_example(target=1000.0), epochs=2, callbacks=[stop], verbose=0, shuffle=False)
    assert stop.stopped_epoch is None


class StopAfter(keras.callbacks.Callback):
    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True


def test_never_cancels_another_callbacks_stop():
    # a callback that set stop_training = (metric reached) would turn the other callback's stop off again
    stop = training.StopAtMetric("loss", 0.001, mode="min")
    hist = one_weight_model().fit(one_example(), epochs=10, callbacks=[StopAfter(2), stop], verbose=0, shuffle=False)
    assert len(hist.history["loss"]) == 2 and stop.stopped_epoch is None


def test_works_through_training_fit_and_on_validation_metrics():
    stop = training.StopAtMetric("val_loss", 30.0, mode="min")    # validation after epoch t's step: (w_t - 10)^2
    _, hist = training.fit(one_weight_model(), one_example(), validation=one_example(), epochs=20,
                           patience=None, callbacks=[stop], verbose=0, shuffle=False)
    expected = next(t for t in range(1, 100) if loss_at_epoch(t + 1) <= 30.0)
    assert len(hist.history["val_loss"]) == expected == stop.stopped_epoch


def test_a_metric_that_is_not_logged_is_named():
    stop = training.StopAtMetric("accuracy", 0.9)
    with pytest.raises(ValueError, match=r"monitor 'accuracy' is not in the epoch logs, which hold \['loss'\]"):
        one_weight_model().fit(one_example(), epochs=2, callbacks=[stop], verbose=0, shuffle=False)


@pytest.mark.parametrize("kwargs,match", [
    (dict(monitor=""), "monitor must be the name of a logged metric"),
    (dict(monitor=None), "monitor must be the name of a logged metric"),
    (dict(target=float("nan")), "target must be a finite number"),
    (dict(target="0.9"), "target must be a finite number"),
    (dict(mode="up"), r"mode must be one of \('max', 'min'\), got 'up'"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training.StopAtMetric(**kwargs)
