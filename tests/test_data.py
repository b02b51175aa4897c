import gzip
import hashlib
import json
import shutil

import numpy as np
import pytest

from course_lib import data


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of data/ that a test may damage; COURSE_DATA_DIR points to it."""
    src = data.data_dir()
    for rel in data.CHECKSUMS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / rel, tmp_path / rel)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    return tmp_path


def test_every_file_matches_its_checksum():
    for rel, expected in data.CHECKSUMS.items():
        assert hashlib.sha256((data.data_dir() / rel).read_bytes()).hexdigest() == expected, rel
    assert set(data.verify_all()) == set(data.CHECKSUMS)


def test_data_readme_lists_every_file_with_its_checksum():
    readme = (data.data_dir() / "README.md").read_text()
    for rel, digest in data.CHECKSUMS.items():
        assert rel in readme and digest in readme, rel


def test_fashion_mnist_full_shapes_and_labels():
    x, y = data.load_fashion_mnist("test")
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and set(np.unique(y)) == set(range(10))
    assert np.bincount(y).tolist() == [1000] * 10
    assert 60 < x.mean() < 90  # real images, not zeros or noise (Fashion-MNIST mean pixel ~73)


def test_subset_is_deterministic_and_stratified():
    x1, y1 = data.load_fashion_mnist("train", subset=1000)
    x2, y2 = data.load_fashion_mnist("train", subset=1000)
    np.testing.assert_array_equal(x1, x2)
    assert np.bincount(y1, minlength=10).tolist() == [100] * 10
    _, y3 = data.load_fashion_mnist("train", subset=1000, seed=1)
    x3, _ = data.load_fashion_mnist("train", subset=1000, seed=1)
    assert not np.array_equal(x1, x3)


def test_stratified_indices_handles_uneven_classes():
    labels = np.array([0] * 7 + [1] * 3)
    idx = data.stratified_indices(labels, 5)
    assert len(idx) == 5 and len(set(idx)) == 5
    assert np.bincount(labels[idx]).tolist() in ([4, 1], [3, 2])


def test_tf_data_pipeline_shapes_and_dtypes():
    import tensorflow as tf

    ds = data.fashion_mnist_dataset("train", batch_size=32, subset=100)
    batches = list(ds)
    assert [len(b[1]) for b in batches] == [32, 32, 32, 4]
    x, y = batches[0]
    assert x.shape == (32, 28, 28, 1) and x.dtype == tf.float32 and y.dtype == tf.int32
    assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
    # test split is not shuffled: two passes give the same order
    t = data.fashion_mnist_dataset("test", batch_size=50, subset=100)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in t]), np.concatenate([b[1] for b in t]))


def test_spam_splits_are_fixed_disjoint_and_deduplicated():
    splits = {s: data.load_spam(s) for s in data.SPLITS_SPAM}
    sizes = {s: len(v) for s, v in splits.items()}
    assert sum(sizes.values()) > 5800 and sizes["train"] > 4 * sizes["test"]
    texts = [t for v in splits.values() for t in v.texts]
    assert len(texts) == len(set(texts)), "exact duplicate texts must not appear twice"
    ids = [i for v in splits.values() for i in v.ids]
    assert len(ids) == len(set(ids))
    for s, v in splits.items():
        assert set(v.groups) == set(data.SPAM_GROUPS), s
        assert ((v.groups == "spam") == (v.labels == 1)).all()
        assert 0.25 < v.labels.mean() < 0.38, s  # stratified: same spam share in every split


def test_spam_text_has_no_mail_headers():
    s = data.load_spam("train")
    header_lines = sum(t.startswith(("Received:", "Return-Path:", "Delivered-To:", "X-Spam")) for t in s.texts)
    assert header_lines == 0
    assert sum("\nReceived: from" in t for t in s.texts) < 0.01 * len(s)  # only quoted/forwarded mails


def test_spam_dataset_pipeline():
    import tensorflow as tf

    x, y = next(iter(data.spam_dataset("validation", batch_size=8, subset=40)))
    assert x.dtype == tf.string and x.shape == (8,) and y.dtype == tf.int32


def test_missing_file_error_names_file_checksum_and_fix(data_copy):
    (data_copy / "fashion-mnist/t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataFileError, match=r"t10k-labels-idx1-ubyte.gz is missing.*expected sha256 8d3605d1.*git checkout"):
        data.load_fashion_mnist("test")


def test_corrupt_file_error_never_returns_garbage(data_copy):
    path = data_copy / "spamassassin/spamassassin.jsonl.gz"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(data.DataFileError, match=r"spamassassin.jsonl.gz is corrupt: sha256 .* expected f19f3d80.*build_spamassassin.py"):
        data.load_spam("train")


def test_truncated_idx_is_caught_even_with_a_matching_registry(data_copy, monkeypatch):
    path = data_copy / "fashion-mnist/t10k-images-idx3-ubyte.gz"
    with gzip.open(path) as f:
        raw = f.read()
    path.write_bytes(gzip.compress(raw[:-100]))
    monkeypatch.setitem(data.CHECKSUMS, "fashion-mnist/t10k-images-idx3-ubyte.gz",
                        hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(data.DataFileError, match="truncated"):
        data.load_fashion_mnist("test")


@pytest.mark.parametrize("call, message", [
    (lambda: data.load_fashion_mnist("valid"), r"split must be one of \('train', 'test'\), got 'valid'"),
    (lambda: data.load_fashion_mnist("train", subset=70000), "subset=70000 is out of range: this split has 60000"),
    (lambda: data.load_fashion_mnist("train", subset=0), "subset=0 is out of range"),
    (lambda: data.load_fashion_mnist("train", subset=True), "subset must be a positive int or None"),
    (lambda: data.load_fashion_mnist("train", subset=2.5), "subset must be a positive int or None"),
    (lambda: data.load_fashion_mnist("train", source="internet"), "source must be 'local' or 'keras'"),
    (lambda: data.load_spam("dev"), r"split must be one of \('train', 'validation', 'test'\)"),
    (lambda: data.load_spam("test", subset=100000), "subset=100000 is out of range"),
    (lambda: data.fashion_mnist_dataset("train", batch_size=0), "batch_size must be a positive int"),
    (lambda: data.spam_dataset("train", batch_size="32"), "batch_size must be a positive int"),
    (lambda: data.images_to_float(np.zeros((28, 28))), r"x must have shape \(N, H, W\)"),
    (lambda: data.data_file("nope.bin"), "unknown data file 'nope.bin'"),
])
def test_bad_arguments_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
