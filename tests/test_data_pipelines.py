"""Every course pipeline ends in data.prefetch: autotuner off (its wait at the end of each pass is
measured in benchmarks/bench_tfdata_wait.py), same elements in the same order."""
import numpy as np
import pytest
import tensorflow as tf

from course_lib import data
from course_lib.models import bert


def _features(n=6, length=8):
    ids = np.arange(n * length, dtype="int32").reshape(n, length) % 50 + 5
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids, dtype=bool)}


def _mask_generator():
    import keras_hub
    return keras_hub.layers.MaskedLMMaskGenerator(vocabulary_size=60, mask_selection_rate=0.25,
                                                  mask_token_id=3, mask_selection_length=2)


PIPELINES = {
    "fashion_mnist_dataset": lambda: data.fashion_mnist_dataset("test", 64, subset=200),
    "fashion_mnist_train_validation[train]": lambda: data.fashion_mnist_train_validation(64, subset=300)[0],
    "fashion_mnist_train_validation[validation]": lambda: data.fashion_mnist_train_validation(64, subset=300)[1],
    "spam_dataset": lambda: data.spam_dataset("validation", 16, subset=40),
    "gan_dataset": lambda: data.gan_dataset(np.zeros((20, 8, 8), np.uint8), batch_size=4),
    "batches": lambda: data.batches(np.zeros((5, 2)), np.arange(5), batch_size=2),
    "bert.classifier_dataset": lambda: bert.classifier_dataset(_features(), np.arange(6) % 2, batch_size=4),
    "bert.mlm_dataset": lambda: bert.mlm_dataset(_features(), _mask_generator(), batch_size=2, steps=3),
}


@pytest.mark.parametrize("name", PIPELINES)
def test_every_course_pipeline_has_the_autotuner_off(name):
    ds = PIPELINES[name]()
    assert isinstance(ds, tf.data.Dataset)
    assert ds.options().autotune.enabled is False, f"{name} still autotunes (and waits at the end of each pass)"
    next(iter(ds))                                   # and it still yields


def test_a_plain_autotune_pipeline_is_what_the_check_above_catches():
    ds = tf.data.Dataset.range(4).batch(2).prefetch(tf.data.AUTOTUNE)
    assert ds.options().autotune.enabled is not False


def test_prefetch_keeps_every_element_in_order_and_other_options():
    options = tf.data.Options()
    options.deterministic = True
    ds = tf.data.Dataset.range(10).shuffle(10, seed=3, reshuffle_each_iteration=False).batch(3).with_options(options)
    out = data.prefetch(ds, buffer_size=1)
    assert [b.numpy().tolist() for b in out] == [b.numpy().tolist() for b in ds]
    assert out.options().deterministic is True and out.options().autotune.enabled is False


def test_batches_cut_what_keras_would_cut_from_the_arrays():
    rng = np.random.default_rng(0)
    x = {"a": rng.random((7, 3)).astype("float32"), "b": rng.integers(0, 5, (7, 2))}
    y = rng.integers(0, 2, 7)
    got = list(data.batches(x, y, batch_size=3))
    assert [len(yb) for _, yb in got] == [3, 3, 1]
    np.testing.assert_array_equal(np.concatenate([xb["a"] for xb, _ in got]), x["a"])
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in got]), y)
    only_x = list(data.batches(x["a"], batch_size=4))
    np.testing.assert_array_equal(np.concatenate(only_x), x["a"])


def test_predict_on_batches_equals_predict_on_arrays():
    import keras
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = np.random.default_rng(1).random((10, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(data.batches(x, batch_size=4), verbose=0),
                               model.predict(x, batch_size=4, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda: data.prefetch([1, 2, 3]), r"ds must be a tf.data.Dataset, got list"),
    (lambda: data.prefetch(tf.data.Dataset.range(3), buffer_size=0), r"buffer_size"),
    (lambda: data.batches(np.zeros((3, 2)), np.zeros(4)), r"x \(and y\) must be arrays with one first dimension"),
    (lambda: data.batches(np.zeros((0, 2))), r"at least one example"),
    (lambda: data.batches(3.0), r"x \(and y\) must be arrays"),
    (lambda: data.batches(np.zeros((3, 2)), batch_size=0), r"batch_size"),
    (lambda: data.batches(np.zeros((3, 2)), shuffle="yes"), r"shuffle"),
])
def test_bad_arguments_name_the_argument(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


def test_batches_shuffle_reorders_every_pass_from_the_seed_and_keeps_the_pairs():
    x = np.arange(20)
    ds = data.batches(x, 10 * x, batch_size=6, shuffle=True, seed=4)
    passes = [[(int(a), int(b)) for xb, yb in ds for a, b in zip(xb.numpy(), yb.numpy())] for _ in range(2)]
    for p in passes:
        assert sorted(a for a, _ in p) == list(range(20)) and all(b == 10 * a for a, b in p)
    assert passes[0] != passes[1] and [a for a, _ in passes[0]] != list(range(20))
    again = [int(a) for xb, _ in data.batches(x, 10 * x, batch_size=6, shuffle=True, seed=4) for a in xb.numpy()]
    assert again == [a for a, _ in passes[0]]
