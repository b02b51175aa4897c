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
    "fashion_mnist_train_validation[train, flip]": lambda: data.fashion_mnist_train_validation(
        64, subset=300, flip=True)[0],
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


def _epoch(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def test_random_flips_mirror_about_half_the_images_and_nothing_else():
    rng = np.random.default_rng(0)
    x = rng.random((1000, 5, 7, 2)).astype("float32")      # odd width: a mirror moves every column but one
    y = np.arange(1000) % 10
    flipped, labels = _epoch(data.random_flips(tf.data.Dataset.from_tensor_slices((x, y)).batch(64), seed=1))
    same = np.all(flipped == x, axis=(1, 2, 3))
    mirrored = np.all(flipped == x[:, :, ::-1], axis=(1, 2, 3))
    assert np.array_equal(labels, y)
    assert np.all(same ^ mirrored), "every image is either kept or mirrored left-right, never changed otherwise"
    assert 0.45 < mirrored.mean() < 0.55, mirrored.mean()       # binomial(1000, 1/2): sd 0.016


def test_random_flips_are_seeded_and_drawn_anew_every_epoch():
    x = np.random.default_rng(0).random((300, 4, 6, 1)).astype("float32")
    ds = lambda seed: data.random_flips(tf.data.Dataset.from_tensor_slices((x, np.zeros(300))).batch(50), seed)
    first = ds(3)
    a, b = _epoch(first)[0], _epoch(first)[0]
    assert not np.array_equal(a, b), "a second epoch must draw new coins"
    assert np.array_equal(a, _epoch(ds(3))[0]), "the same seed must give the same flips on a new pipeline"
    assert not np.array_equal(a, _epoch(ds(4))[0])


def test_train_validation_flip_flips_training_images_only():
    plain_train, plain_val = data.fashion_mnist_train_validation(100, subset=600)
    flip_train, flip_val = data.fashion_mnist_train_validation(100, subset=600, flip=True)
    (xp, yp), (xf, yf) = _epoch(plain_train), _epoch(flip_train)
    assert np.array_equal(yp, yf), "flips must not change the shuffle order or the labels"
    mirrored = np.all(xf == xp[:, :, ::-1], axis=(1, 2, 3)) & ~np.all(xf == xp, axis=(1, 2, 3))
    assert 0.35 < mirrored.mean() < 0.65 and np.all(np.all(xf == xp, axis=(1, 2, 3)) | mirrored)
    assert np.array_equal(_epoch(plain_val)[0], _epoch(flip_val)[0])


@pytest.mark.parametrize("call, message", [
    (lambda: data.random_flips(np.zeros((2, 4, 4, 1))), "ds must be a tf.data.Dataset"),
    (lambda: data.random_flips(tf.data.Dataset.from_tensor_slices((np.zeros((4, 3, 3)), np.zeros(4))).batch(2)),
     r"ds must yield \(images \(b, H, W, C\), labels\) batches"),
    (lambda: data.random_flips(tf.data.Dataset.from_tensor_slices((np.zeros((4, 3, 3, 1)), np.zeros(4))).batch(2),
                               seed=-1), "seed must be"),
    (lambda: data.fashion_mnist_train_validation(64, subset=300, flip="yes"), "flip must be True or False"),
])
def test_random_flips_bad_arguments_name_the_argument(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()
