"""course_lib.data.train_validation_split and fashion_mnist_train_validation: a deterministic,
stratified hold-out carved from the training split (lesson 01, section 6)."""
import re

import numpy as np
import pytest
import tensorflow as tf

from course_lib import data


def labels_of(ds):
    return np.concatenate([np.asarray(y) for _, y in ds])


def image_keys(ds):
    """One bytes key per image, to compare sets of images between pipelines."""
    return [img.tobytes() for x, _ in ds for img in np.asarray(x)]


# --------------------------------------------------------------------------- train_validation_split

def test_split_is_a_partition_with_the_requested_size():
    labels = np.random.default_rng(3).integers(0, 4, size=537)
    train_idx, val_idx = data.train_validation_split(labels, validation=0.2)
    assert len(val_idx) == round(0.2 * 537) and len(train_idx) == 537 - len(val_idx)
    assert np.intersect1d(train_idx, val_idx).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train_idx, val_idx])), np.arange(537))
    assert np.all(np.diff(train_idx) > 0) and np.all(np.diff(val_idx) > 0)       # sorted, no repeats
    assert train_idx.dtype == val_idx.dtype == np.int64


def test_split_keeps_class_proportions():
    labels = np.array([0] * 600 + [1] * 300 + [2] * 100)
    rng = np.random.default_rng(1)
    labels = labels[rng.permutation(len(labels))]
    train_idx, val_idx = data.train_validation_split(labels, validation=0.1)
    assert np.bincount(labels[val_idx]).tolist() == [60, 30, 10]
    assert np.bincount(labels[train_idx]).tolist() == [540, 270, 90]


def test_split_accepts_string_labels():
    groups = np.array(["ham"] * 8 + ["spam"] * 4)
    train_idx, val_idx = data.train_validation_split(groups, validation=0.25)
    assert sorted(groups[val_idx]) == ["ham", "ham", "spam"]
    assert len(train_idx) == 9


def test_split_is_deterministic_and_the_seed_matters():
    labels = np.arange(200) % 5
    a = data.train_validation_split(labels, 0.3, seed=7)
    b = data.train_validation_split(labels, 0.3, seed=7)
    c = data.train_validation_split(labels, 0.3, seed=8)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    np.testing.assert_array_equal(data.train_validation_split(labels, 0.3)[1],
                                  data.train_validation_split(labels, 0.3, seed=0)[1])   # default seed 0


@pytest.mark.parametrize("n, fraction, expected", [
    (100, 0.29, 29),       # 0.29 * 100 = 28.999999999999996 in floating point: rounds, not truncates
    (10, 0.25, 3),         # 2.5 rounds half up
    (50, 0.001, 1),        # at least one validation example
    (50, 0.999, 49),       # at least one training example
    (2, 0.5, 1),
])
def test_validation_size_rounds_to_nearest_within_bounds(n, fraction, expected):
    train_idx, val_idx = data.train_validation_split(np.zeros(n, int), fraction)
    assert (len(train_idx), len(val_idx)) == (n - expected, expected)


@pytest.mark.parametrize("kwargs, name", [
    (dict(labels=np.zeros((4, 2))), "labels"),
    (dict(labels=[0]), "labels"),
    (dict(labels=[0, 1], validation=0), "validation"),
    (dict(labels=[0, 1], validation=1), "validation"),
    (dict(labels=[0, 1], validation=-0.1), "validation"),
    (dict(labels=[0, 1], validation="0.1"), "validation"),
    (dict(labels=[0, 1], validation=True), "validation"),
    (dict(labels=[0, 1], validation=float("nan")), "validation"),
    (dict(labels=[0, 1], seed=-1), "seed"),
    (dict(labels=[0, 1], seed=1.0), "seed"),
])
def test_split_refuses_bad_arguments_and_names_them(kwargs, name):
    with pytest.raises(ValueError) as err:
        data.train_validation_split(**kwargs)
    assert re.search(rf"\b{name}\b", str(err.value)), str(err.value)


# --------------------------------------------------------------------------- fashion_mnist_train_validation

def test_pipelines_hold_the_two_parts_of_the_subset():
    train, val = data.fashion_mnist_train_validation(batch_size=64, validation=0.1, subset=500)
    x_all, y_all = data.load_fashion_mnist("train", subset=500)
    train_idx, val_idx = data.train_validation_split(y_all, 0.1)
    y_val = labels_of(val)
    np.testing.assert_array_equal(y_val, y_all[val_idx])                   # file order, not shuffled
    np.testing.assert_array_equal(labels_of(val), y_val)                   # the same on every pass
    assert sorted(labels_of(train)) == sorted(y_all[train_idx])
    keys_train, keys_val = image_keys(train), image_keys(val)
    assert (len(keys_train), len(keys_val)) == (450, 50)
    expected_val = [(img.astype("float32") / 255.0)[..., None].tobytes() for img in x_all[val_idx]]
    assert keys_val == expected_val
    assert not set(keys_train) & set(keys_val)                             # no image in both


def test_pipeline_shapes_dtypes_and_batches():
    train, val = data.fashion_mnist_train_validation(batch_size=32, validation=0.25, subset=200)
    assert [len(y) for _, y in val] == [32, 18]
    assert [len(y) for _, y in train] == [32, 32, 32, 32, 22]
    x, y = next(iter(train))
    assert x.shape == (32, 28, 28, 1) and x.dtype == tf.float32 and y.dtype == tf.int32
    assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0


def test_train_pipeline_reshuffles_each_epoch_and_restarts_the_same():
    train, _ = data.fashion_mnist_train_validation(batch_size=50, subset=300, seed=2)
    epoch1, epoch2 = labels_of(train), labels_of(train)
    assert sorted(epoch1) == sorted(epoch2) and not np.array_equal(epoch1, epoch2)
    again, _ = data.fashion_mnist_train_validation(batch_size=50, subset=300, seed=2)
    np.testing.assert_array_equal(labels_of(again), epoch1)
    other, _ = data.fashion_mnist_train_validation(batch_size=50, subset=300, seed=3)
    assert not np.array_equal(labels_of(other), epoch1)


def test_seed_reaches_the_subset_and_the_split():
    _, val0 = data.fashion_mnist_train_validation(subset=300, seed=0)
    _, val1 = data.fashion_mnist_train_validation(subset=300, seed=1)
    _, y1 = data.load_fashion_mnist("train", subset=300, seed=1)
    np.testing.assert_array_equal(labels_of(val1), y1[data.train_validation_split(y1, 0.1, seed=1)[1]])
    assert image_keys(val0) != image_keys(val1)


@pytest.mark.parametrize("kwargs, name", [
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=2.0), "batch_size"),
    (dict(validation=0.0), "validation"),
    (dict(validation=1.5), "validation"),
    (dict(subset=0), "subset"),
    (dict(seed=-2), "seed"),
])
def test_pipelines_refuse_bad_arguments_and_name_them(kwargs, name):
    with pytest.raises(ValueError) as err:
        data.fashion_mnist_train_validation(**kwargs)
    assert re.search(rf"\b{name}\b", str(err.value)), str(err.value)
