"""course_lib.data, the parts tests/test_data.py does not pin (found by mutation testing, benchmarks/MUTATION.md):
defaults, boundaries, the seed reaching every step, shuffling rules, the keras source path, the
largest-remainder rule of stratified_indices, caching, and damaged files whose checksum was re-registered."""
import gzip
import hashlib
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf

from course_lib import data


def labels_of(ds):
    return np.concatenate([np.asarray(y) for _, y in ds])


def texts_of(ds):
    return [t.decode() for x, _ in ds for t in np.asarray(x)]


# --------------------------------------------------------------------------- stratified_indices

def test_largest_remainder_rule_by_hand():
    # counts 5, 3, 2 and n = 4: exact shares 2.0, 1.2, 0.8 -> floors 2, 1, 0 -> one left over, and
    # it goes to the largest remainder (0.8, class 2): 2, 1, 1
    labels = np.array([0] * 5 + [1] * 3 + [2] * 2)
    idx = data.stratified_indices(labels, 4)
    assert np.bincount(labels[idx], minlength=3).tolist() == [2, 1, 1]
    # counts 2, 5, 3 and n = 6: exact 1.2, 3.0, 1.8 -> floors 1, 3, 1 -> one left over, to class 2 (0.8)
    labels = np.array([0] * 2 + [1] * 5 + [2] * 3)
    assert np.bincount(labels[data.stratified_indices(labels, 6)], minlength=3).tolist() == [1, 3, 2]
    # counts 8, 1, 1 and n = 3: exact 2.4, 0.3, 0.3 -> floors 2, 0, 0 -> one left over, to class 0 (0.4)
    labels = np.array([0] * 8 + [1] + [2])
    assert np.bincount(labels[data.stratified_indices(labels, 3)], minlength=3).tolist() == [3, 0, 0]


def test_equal_remainders_go_to_the_first_classes_on_every_machine():
    # 20 classes with 1 or 3 examples (40 in all) and n = 12: shares 0.3 and 0.9, all floors 0, so the
    # 12 places go to the ten 0.9 classes (odd) and then to the FIRST two 0.3 classes, 0 and 2. The
    # order of ties must not depend on the sort algorithm numpy picks for this CPU (SIMD quicksorts
    # order ties differently), or the same quick-mode subset would differ between machines.
    labels = np.repeat(np.arange(20), [1, 3] * 10)
    counts = np.bincount(labels[data.stratified_indices(labels, 12)], minlength=20)
    assert counts.tolist() == [1, 1, 1, 1] + [0, 1] * 8


def test_stratified_indices_seed_default_and_effect():
    labels = np.arange(200) % 4
    default = data.stratified_indices(labels, 40)
    np.testing.assert_array_equal(default, data.stratified_indices(labels, 40, seed=0))
    assert not np.array_equal(default, data.stratified_indices(labels, 40, seed=1))
    assert np.all(np.diff(default) > 0)                       # sorted, distinct
    np.testing.assert_array_equal(data.stratified_indices(labels, 200), np.arange(200))   # n = N: all


def test_stratified_indices_error_names_n():
    with pytest.raises(ValueError) as err:
        data.stratified_indices(np.zeros(5), 6)
    assert re.search(r"\bn=6\b", str(err.value)), str(err.value)


# --------------------------------------------------------------------------- loaders: defaults, boundaries, seeds

def test_fashion_mnist_defaults_and_subset_boundaries():
    x, y = data.load_fashion_mnist(subset=50)
    x0, y0 = data.load_fashion_mnist("train", subset=50, seed=0)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)
    x1, y1 = data.load_fashion_mnist("test", subset=1)          # the smallest subset
    assert x1.shape == (1, 28, 28) and y1.shape == (1,)
    xa, ya = data.load_fashion_mnist("test", subset=10000)       # the whole split, in file order
    xf, yf = data.load_fashion_mnist("test")
    np.testing.assert_array_equal(xa, xf)
    np.testing.assert_array_equal(ya, yf)


def test_images_to_float_maps_255_to_exactly_one():
    out = data.images_to_float(np.array([[[0, 51, 255]]], dtype=np.uint8))
    assert out.shape == (1, 1, 3, 1) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 0, :, 0], np.array([0.0, 0.2, 1.0], dtype=np.float32))


def test_spam_defaults_seed_and_subset_boundaries():
    default = data.load_spam(subset=30)
    explicit = data.load_spam("train", subset=30, seed=0)
    assert default.texts == explicit.texts and list(default.ids) == list(explicit.ids)
    other = data.load_spam("train", subset=30, seed=1)
    assert list(other.ids) != list(explicit.ids)
    one = data.load_spam("test", subset=1)
    assert len(one) == 1 and len(one.groups) == 1
    whole = data.load_spam("test", subset=len(data.load_spam("test")))
    assert list(whole.ids) == list(data.load_spam("test").ids)


def test_spam_subset_keeps_groups_aligned_with_the_emails():
    full = data.load_spam("validation")
    group_of = dict(zip(full.ids, full.groups))
    s = data.load_spam("validation", subset=60, seed=3)
    assert isinstance(s.groups, np.ndarray) and s.groups.shape == (60,)
    assert [group_of[i] for i in s.ids] == list(s.groups)
    assert ((s.groups == "spam") == (s.labels == 1)).all()


# --------------------------------------------------------------------------- the keras source (network replaced)

@pytest.fixture
def fake_keras_fmnist(monkeypatch):
    import keras

    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), "y_train": np.arange(6, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), "y_test": np.arange(4, dtype=np.uint8)}
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data",
                        lambda: ((arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])))
    return arrays


def test_keras_source_picks_the_right_split(fake_keras_fmnist):
    x, y = data.load_fashion_mnist("train", source="keras")
    np.testing.assert_array_equal(x, fake_keras_fmnist["x_train"])
    x, y = data.load_fashion_mnist("test", source="keras")
    np.testing.assert_array_equal(x, fake_keras_fmnist["x_test"])
    np.testing.assert_array_equal(y, fake_keras_fmnist["y_test"])


@pytest.mark.parametrize("damage", ["count", "shape", "label"])
def test_keras_source_malformed_arrays_are_refused(fake_keras_fmnist, damage):
    a = fake_keras_fmnist
    if damage == "count":
        a["y_test"] = a["y_test"][:3]
    elif damage == "shape":
        a["x_test"] = a["x_test"][:, :27]
    else:
        a["y_test"] = np.array([0, 1, 2, 10], dtype=np.uint8)      # 10 classes: labels 0..9
    with pytest.raises(data.DataFileError) as err:
        data.load_fashion_mnist("test", source="keras")
    assert re.search(r"\btest\b", str(err.value)), str(err.value)


# --------------------------------------------------------------------------- tf.data pipelines

def test_fashion_mnist_dataset_defaults():
    ds = data.fashion_mnist_dataset(subset=300)                 # train, batch 128, shuffled with seed 0
    batches = [np.asarray(y) for _, y in ds]                    # the first epoch
    assert [len(y) for y in batches] == [128, 128, 44]
    _, y_load = data.load_fashion_mnist("train", subset=300)
    first = np.concatenate(batches)
    assert sorted(first) == sorted(y_load) and not np.array_equal(first, y_load)
    np.testing.assert_array_equal(first, labels_of(data.fashion_mnist_dataset("train", subset=300, seed=0)))


def test_fashion_mnist_dataset_reshuffles_every_epoch_but_not_between_runs():
    ds = data.fashion_mnist_dataset("train", batch_size=100, subset=300)
    epoch1, epoch2 = labels_of(ds), labels_of(ds)
    assert sorted(epoch1) == sorted(epoch2) and not np.array_equal(epoch1, epoch2)
    again = data.fashion_mnist_dataset("train", batch_size=100, subset=300)
    np.testing.assert_array_equal(labels_of(again), epoch1)   # a new pipeline starts the same sequence


def test_fashion_mnist_dataset_shuffle_switch_and_seed():
    _, y_load = data.load_fashion_mnist("train", subset=200, seed=1)
    plain = data.fashion_mnist_dataset("train", batch_size=64, subset=200, seed=1, shuffle=False)
    np.testing.assert_array_equal(labels_of(plain), y_load)     # seed reaches the subset; no shuffle
    _, yt = data.load_fashion_mnist("test", subset=200)
    shuffled = labels_of(data.fashion_mnist_dataset("test", batch_size=64, subset=200, shuffle=True))
    assert sorted(shuffled) == sorted(yt) and not np.array_equal(shuffled, yt)
    np.testing.assert_array_equal(labels_of(data.fashion_mnist_dataset("test", batch_size=64, subset=200)), yt)


def test_fashion_mnist_dataset_repeat_and_batch_size_one():
    ds = data.fashion_mnist_dataset("test", batch_size=40, subset=100, repeat=True)
    assert ds.cardinality() == tf.data.INFINITE_CARDINALITY
    assert [len(y) for _, y in ds.take(4)] == [40, 40, 40, 40]  # the epoch of 100 wraps around
    assert [len(y) for _, y in data.fashion_mnist_dataset("test", batch_size=1, subset=3)] == [1, 1, 1]


@pytest.mark.parametrize("make", [data.fashion_mnist_dataset, data.spam_dataset])
@pytest.mark.parametrize("batch_size", ["32", 2.5, True, 0, -1])
def test_datasets_refuse_bad_batch_sizes(make, batch_size):
    with pytest.raises(ValueError) as err:
        make("test", batch_size=batch_size, subset=10)
    assert re.search(r"\bbatch_size\b", str(err.value))


def test_spam_dataset_defaults_subset_seed_and_shuffling():
    ds = data.spam_dataset(subset=70)                          # train, batch 32, shuffled, seed 0
    batches = [np.asarray(x) for x, _ in ds]                   # the first epoch
    assert [len(x) for x in batches] == [32, 32, 6]
    s = data.load_spam("train", subset=70)
    first = [t.decode() for b in batches for t in b]
    assert sorted(first) == sorted(s.texts) and first != s.texts
    assert texts_of(data.spam_dataset("train", subset=70, seed=0)) == first
    assert texts_of(ds) != first                                # reshuffled every epoch
    s1 = data.load_spam("validation", subset=40, seed=1)
    assert texts_of(data.spam_dataset("validation", batch_size=16, subset=40, seed=1)) == s1.texts   # not shuffled
    shuffled = texts_of(data.spam_dataset("validation", batch_size=16, subset=40, seed=1, shuffle=True))
    assert sorted(shuffled) == sorted(s1.texts) and shuffled != s1.texts
    assert texts_of(data.spam_dataset("train", batch_size=16, subset=40, shuffle=False)) == \
        data.load_spam("train", subset=40).texts
    assert [len(y) for _, y in data.spam_dataset("test", batch_size=1, subset=2)] == [1, 1]


# --------------------------------------------------------------------------- files: reading, caching, damage

@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    src = data.data_dir()
    for rel in data.CHECKSUMS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / rel, tmp_path / rel)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    return tmp_path


def register(monkeypatch, data_copy, rel):
    """Pretend the (damaged) file at rel is the registered one: its checksum matches."""
    monkeypatch.setitem(data.CHECKSUMS, rel, hashlib.sha256((data_copy / rel).read_bytes()).hexdigest())


def test_a_fresh_copy_is_read_from_disk_and_gives_the_same_emails(data_copy, monkeypatch):
    opened = []
    real_open = gzip.open
    monkeypatch.setattr(data.gzip, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    s = data.load_spam("test")
    assert opened == [data_copy / "spamassassin/spamassassin.jsonl.gz"]
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert s.texts == data.load_spam("test").texts and list(s.ids) == list(data.load_spam("test").ids)
    opened.clear()
    monkeypatch.setenv("COURSE_DATA_DIR", str(data_copy))
    data.load_spam("train")
    assert opened == []                                         # parsed once per file, then cached


def test_emails_are_read_as_utf8_whatever_the_locale():
    # Python opens text files in the locale's encoding unless told otherwise: under a plain C locale
    # (ASCII), a reader without encoding="utf-8" fails on the 100+ emails with non-ASCII characters.
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("from course_lib import data; s = data.load_spam('test'); "
            "print(len(s), sum(any(ord(c) > 127 for c in t) for t in s.texts))")
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONCOERCECLOCALE="0", PYTHONUTF8="0",
               PYTHONPATH=str(Path(data.__file__).resolve().parent.parent))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    s = data.load_spam("test")
    non_ascii = sum(any(ord(c) > 127 for c in t) for t in s.texts)
    assert non_ascii > 50 and out.stdout.split() == [str(len(s)), str(non_ascii)]


def test_each_file_is_hashed_once_until_it_changes(data_copy, monkeypatch):
    hashed = []
    real = data._sha256
    monkeypatch.setattr(data, "_sha256", lambda p: hashed.append(p.name) or real(p))
    data.verify_all()
    data.verify_all()
    assert sorted(hashed) == sorted(rel.split("/")[1] for rel in data.CHECKSUMS)   # once each
    (data_copy / "fashion-mnist/t10k-labels-idx1-ubyte.gz").touch()                 # mtime changes
    data.verify_all()
    assert hashed.count("t10k-labels-idx1-ubyte.gz") == 2


def test_sha256_of_a_file_larger_than_one_chunk(tmp_path):
    blob = np.random.default_rng(0).bytes(3 * 2**20 + 17)
    (tmp_path / "blob").write_bytes(blob)
    assert data._sha256(tmp_path / "blob") == hashlib.sha256(blob).hexdigest()


def test_a_non_idx_file_with_a_matching_checksum_is_refused(data_copy, monkeypatch):
    rel = "fashion-mnist/t10k-labels-idx1-ubyte.gz"
    (data_copy / rel).write_bytes(gzip.compress(b"\x00\x00\x08\x03" + bytes(8)))   # an images magic
    register(monkeypatch, data_copy, rel)
    with pytest.raises(data.DataFileError) as err:
        data.load_fashion_mnist("test")
    assert str(data_copy / rel) in str(err.value) and "0x801" in str(err.value)


def test_unreadable_spam_file_with_a_matching_checksum_is_refused(data_copy, monkeypatch):
    rel = "spamassassin/spamassassin.jsonl.gz"
    (data_copy / rel).write_bytes(gzip.compress(b'{"split": "train", "text": "cut off'))
    register(monkeypatch, data_copy, rel)
    with pytest.raises(data.DataFileError) as err:
        data.load_spam("train")
    message = str(err.value)
    assert str(data_copy / rel) in message and data.RESTORE_HINT["spamassassin"] in message
