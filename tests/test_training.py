import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import data, plots, runtime, training
from course_lib.models.cnn import build_cnn


def test_fit_learns_fashion_mnist_subset():
    runtime.setup(seed=0, verbose=False)
    train = data.fashion_mnist_dataset("train", batch_size=64, subset=2000)
    test = data.fashion_mnist_dataset("test", batch_size=256, subset=1000)
    model, hist = training.fit(lambda: build_cnn(filters=(8, 16), convs_per_block=1, dense_units=32,
                                                 batchnorm=False, dropout=0.0),
                               train, validation=test, epochs=3, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    y, pred = training.predict_classes(model, test)
    assert (y == pred).mean() > 0.6, "10 classes: chance is 0.1"
    fig = plots.history(hist)
    assert len(fig.axes) == 2


def test_two_quick_runs_give_identical_numbers():
    def run():
        runtime.setup(seed=3, verbose=False)
        ds = data.fashion_mnist_dataset("train", batch_size=64, subset=512)
        _, hist = training.fit(lambda: build_cnn(filters=(4,), convs_per_block=1, dense_units=8),
                               ds, epochs=1, verbose=0)
        return hist.history["loss"]
    assert run() == run()


def test_bad_arguments():
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 2)), np.zeros(4))).batch(2)
    build = lambda: keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])  # noqa: E731
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        training.fit(build, ds, epochs=0)
    with pytest.raises(TypeError, match="train must be a tf.data.Dataset"):
        training.fit(build, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="patience must be a positive int or None"):
        training.fit(build, ds, patience=0)
    with pytest.raises(TypeError, match="build_model must be a function"):
        training.build_in_scope("model")
    with pytest.raises(TypeError, match=r"build_model\(\) must return a keras.Model"):
        training.build_in_scope(lambda: 3)


def test_cnn_builder_validates_and_keeps_float32_logits():
    with pytest.raises(ValueError, match="downsample must be one of"):
        build_cnn(downsample="median")
    with pytest.raises(ValueError, match="input_shape must be"):
        build_cnn(input_shape=(28, 28))
    with pytest.raises(ValueError, match="num_classes must be an int >= 2"):
        build_cnn(num_classes=1)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        out = build_cnn(filters=(4,), convs_per_block=1, dense_units=8)(np.zeros((2, 28, 28, 1)))
        assert out.dtype == "float32" and out.shape == (2, 10)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_plots_reject_bad_input():
    with pytest.raises(ValueError, match=r"images must have shape \(N, H, W\)"):
        plots.image_grid(np.zeros(5))
    with pytest.raises(ValueError, match="ncols must be a positive int"):
        plots.image_grid(np.zeros((2, 4, 4)), ncols=0)
    with pytest.raises(ValueError, match="y_true and y_pred must have the same length"):
        plots.confusion_matrix([0, 1], [0], ["a", "b"])
    with pytest.raises(ValueError, match="none of the metrics is in the history"):
        plots.history({"mae": [1.0]})
    with pytest.raises(ValueError, match=r"weights must have shape \(kh, kw, in_channels, filters\)"):
        plots.filters(np.zeros((3, 3)))
    fig, counts = plots.confusion_matrix([0, 1, 1], [0, 1, 0], ["a", "b"])
    assert counts.tolist() == [[1, 0], [1, 1]]


@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])
def test_default_compile_builds_the_optimizer_so_fit_traces_once(policy, monkeypatch):
    keras.mixed_precision.set_global_policy(policy)     # mixed_float16: Keras wraps Adam in a LossScaleOptimizer
    traces = []
    step = keras.Sequential.train_step
    monkeypatch.setattr(keras.Sequential, "train_step", lambda self, data: traces.append(1) or step(self, data))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.integers(0, 2, 32)
    runs = {}
    for how in ("default_compile", "compile"):          # "compile": Keras builds the optimizer while tracing
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)])
        if how == "default_compile":
            training.default_compile(model, 0.05)
            assert model.optimizer.built
        else:
            model.compile(optimizer=keras.optimizers.Adam(0.05), metrics=["accuracy"],
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        traces.clear()
        hist = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        runs[how] = (len(traces), model.get_weights(), hist.history)
    assert runs["default_compile"][0] == 1 and runs["compile"][0] == 2
    for a, b in zip(runs["default_compile"][1], runs["compile"][1]):
        np.testing.assert_array_equal(a, b)              # the same numbers, bit for bit
    assert runs["default_compile"][2] == runs["compile"][2]          # loss and accuracy too


def test_fit_builds_the_optimizer_of_a_model_compiled_elsewhere(monkeypatch):
    traces = []
    step = keras.Sequential.train_step
    monkeypatch.setattr(keras.Sequential, "train_step", lambda self, data: traces.append(1) or step(self, data))
    rng = np.random.default_rng(0)
    ds = tf.data.Dataset.from_tensor_slices((rng.normal(size=(32, 4)).astype("float32"), rng.integers(0, 2, 32))).batch(8)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert not model.optimizer.built
    training.fit(model, ds, epochs=2, patience=None, verbose=0)
    assert model.optimizer.built and len(traces) == 1


@pytest.mark.parametrize("loss_scale", [False, True])
def test_restart_equals_a_freshly_compiled_run(loss_scale):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.integers(0, 2, 32)

    def build():
        keras.utils.set_random_seed(1)
        model = training.default_compile(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), 0.05)
        if loss_scale:              # what Keras uses under mixed_float16 (GPU); its scale must survive
            model.compile(optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.05)),
                          loss=model.loss, metrics=["accuracy"])
        return model

    fresh = build()
    start = fresh.get_weights()
    fresh.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    reused = build()
    reused.fit(x, 1 - y, batch_size=8, epochs=3, shuffle=False, verbose=0)   # moments and step count move
    training.restart(reused, start)
    assert int(reused.optimizer.iterations) == 0
    reused.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(fresh.get_weights(), reused.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert float(reused.optimizer.learning_rate) == pytest.approx(0.05)
    if loss_scale:
        assert float(reused.optimizer.dynamic_scale) == float(fresh.optimizer.dynamic_scale) > 0


def test_restart_rejects_bad_arguments():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(TypeError, match="compiled"):
        training.restart(model, model.get_weights())
    training.default_compile(model)
    with pytest.raises(ValueError, match="list of 2 arrays"):
        training.restart(model, model.get_weights()[:1])
    with pytest.raises(ValueError, match=r"weights\[0\] must have shape \(4, 2\)"):
        training.restart(model, [np.zeros((2, 4)), np.zeros(2)])


@pytest.mark.parametrize("loss_scale", [False, True])
def test_learning_rate_every_step_follows_the_schedule_and_restarts(loss_scale):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(24, 4)).astype("float32"), rng.integers(0, 2, 24)
    model = training.default_compile(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), 0.05)
    if loss_scale:                  # the optimizer Keras wraps under mixed_float16 (GPU)
        model.compile(optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.05)),
                      loss=model.loss, metrics=["accuracy"])
    start = model.get_weights()
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: seen.append(float(model.optimizer.learning_rate)))
    schedule = lambda step: 0.1 / (1 + step)           # noqa: E731
    for _ in range(2):                                  # the second run starts the schedule again
        training.restart(model, start)
        seen.clear()
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                  callbacks=[training.LearningRateEveryStep(schedule), record])
        assert seen == pytest.approx([0.1 / (1 + s) for s in range(6)])


def test_learning_rate_every_step_rejects_bad_input():
    with pytest.raises(TypeError, match="schedule must be a callable"):
        training.LearningRateEveryStep(0.1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)),
                  loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="plain float learning rate"):
        model.fit(np.zeros((4, 4)), np.zeros(4), verbose=0,
                  callbacks=[training.LearningRateEveryStep(lambda s: 0.1)])
