"""Offline, checksummed data: Fashion-MNIST images and SpamAssassin emails.

Everything loads from the repository's ``data/`` folder (or ``$COURSE_DATA_DIR``). Each file's
sha256 is checked on first use; a missing or damaged file raises :class:`DataFileError`, naming the
file, the expected checksum and how to restore it. Provenance and licences: ``data/README.md``.

Shapes:
    load_fashion_mnist(split)       -> x: uint8 (N, 28, 28), y: uint8 (N,)
    fashion_mnist_dataset(split, b) -> tf.data of (float32 (b, 28, 28, 1) in [0, 1], int32 (b,))
    fashion_mnist_train_validation(b, validation) -> (train, validation): two such tf.data pipelines
    train_validation_split(labels, validation)    -> (train_idx int64 (N - n_val,), val_idx int64 (n_val,))
    load_spam(split)                -> SpamSplit(texts: list[str] (N,), labels: int32 (N,), groups (N,), ids)
    spam_dataset(split, b)          -> tf.data of (string (b,), int32 (b,))
    batches(x, y, b)                -> tf.data of x batches or (x, y) batches, in order
    prefetch(ds)                    -> ds, prefetched, without the autotuner's wait at the end of a pass
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_lib import _args, _startup

_startup.quiet_in_notebook()   # the setup cell's first import: TensorFlow without its harmless start-up lines

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SPAM_GROUPS = ("easy_ham", "hard_ham", "spam")
SPLITS_FMNIST = ("train", "test")
SPLITS_SPAM = ("train", "validation", "test")

# relative path under data/  ->  sha256 of the file as committed
CHECKSUMS = {
    "fashion-mnist/train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "fashion-mnist/train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "fashion-mnist/t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    "spamassassin/spamassassin.jsonl.gz": "f19f3d8051de94f8cd64e07d2830f005b22c9b8af5e75b37fa5afab15a12bad9",
}
RESTORE_HINT = {
    "fashion-mnist": ("restore it with `git checkout -- data/fashion-mnist`, or rebuild it: "
                      "see data/README.md (Debian package dataset-fashion-mnist)"),
    "spamassassin": ("restore it with `git checkout -- data/spamassassin`, or rebuild it with "
                     "`python data/build_spamassassin.py` (see data/README.md)"),
}


class DataFileError(RuntimeError):
    """A data file is missing, damaged or malformed. The message says how to restore it."""


DATA_DIR_VAR = "COURSE_DATA_DIR"


def data_dir() -> Path:
    """The data folder: ``$COURSE_DATA_DIR`` if set, else ``data/`` next to ``course_lib/``."""
    env = os.environ.get(DATA_DIR_VAR)
    return Path(env) if env else Path(__file__).resolve().parent.parent / "data"


def _data_dir_note() -> str:
    """Where the data was looked for, when $COURSE_DATA_DIR chose it ("" otherwise)."""
    env = os.environ.get(DATA_DIR_VAR)
    if not env:
        return ""
    exists = "" if Path(env).is_dir() else ", a folder that does not exist"
    return (f" The data folder comes from the environment variable {DATA_DIR_VAR}={env!r}{exists}: "
            f"point it at a copy of the course's data/ folder, or unset it to use the repository's.")


_VERIFIED: dict[str, tuple] = {}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_file(rel: str) -> Path:
    """Path of a registered data file after checking it exists and has the expected sha256."""
    if rel not in CHECKSUMS:
        raise ValueError(f"unknown data file {rel!r}; known: {sorted(CHECKSUMS)}")
    path = data_dir() / rel
    hint = RESTORE_HINT[rel.split("/")[0]]
    expected = CHECKSUMS[rel]
    if not path.is_file():
        raise DataFileError(f"data file {path} is missing (expected sha256 {expected}); {hint}.{_data_dir_note()}")
    stat = path.stat()
    key = (stat.st_size, stat.st_mtime_ns)
    if _VERIFIED.get(str(path)) != key:
        actual = _sha256(path)
        if actual != expected:
            raise DataFileError(f"data file {path} is corrupt: sha256 {actual}, expected {expected}; "
                                f"{hint}.{_data_dir_note()}")
        _VERIFIED[str(path)] = key
    return path


def verify_all() -> dict[str, str]:
    """Check every registered file; returns {relative path: 'ok'} or raises DataFileError."""
    return {rel: "ok" for rel in CHECKSUMS if data_file(rel)}


# --------------------------------------------------------------------------- the end of every pipeline

def prefetch(ds, buffer_size: int = 2):
    """``ds.prefetch(buffer_size)`` with tf.data's autotuner switched off. Every course pipeline ends here.

    ds: a ``tf.data.Dataset``; the result yields the same elements in the same order.
    Why not the usual ``prefetch(tf.data.AUTOTUNE)``: with the autotuner on, a pass over a dataset
    (one epoch of ``fit``, one ``evaluate`` or ``predict``) does not end at its last batch but when the
    autotuner's thread next wakes up. That thread sleeps 10 ms, then 20, 40, ... doubling, so a pass
    whose last batch comes at 42 s ends at 81.9 s (up to half of the pass's wall time lost). Measured
    on TF 2.21: fits of 1-4 s took 26-37 % longer (``benchmarks/bench_tfdata_wait.py``, RESULTS.md). The course's
    pipelines are in-memory tensors, whose only tunable knob was the prefetch depth: a fixed
    ``buffer_size`` batches ahead loses nothing. Keras' own pipeline for numpy arrays
    (``model.fit(x, y)``, ``model.predict(x)``) keeps the autotuner; pass ``batches(x)`` instead when a
    call is long.
    """
    import tensorflow as tf

    if not isinstance(ds, tf.data.Dataset):
        raise TypeError(f"ds must be a tf.data.Dataset, got {type(ds).__name__}")
    buffer_size = _args.int_at_least("buffer_size", buffer_size)
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(buffer_size).with_options(options)


def batches(x, y=None, batch_size: int = 32, shuffle: bool = False, seed: int = 0):
    """Arrays -> a tf.data pipeline of their batches, for a long ``fit``, ``predict`` or ``evaluate``.

    x: an array (N, ...) or a dict of arrays (N, ...); y: None or an array (N, ...). Yields x batches,
    or (x, y) batches, of ``batch_size`` (the last one smaller), through :func:`prefetch`: the batches
    Keras would cut from the arrays, without the autotuner's wait at the end of each pass.
    shuffle: a new order on every pass, from ``seed`` (as ``fit(x, y, shuffle=True)``, though not the
    same orders); False keeps the arrays' order (for ``predict``).
    """
    import tensorflow as tf

    batch_size = _args.int_at_least("batch_size", batch_size)
    shuffle = _args.flag("shuffle", shuffle)
    seed = _args.int_at_least("seed", seed, 0)
    arrays = list(x.values()) if isinstance(x, dict) else [x]
    if y is not None:
        arrays.append(y)
    lengths = {len(a) if hasattr(a, "__len__") else None for a in arrays}
    if None in lengths or len(lengths) != 1:
        raise ValueError(f"x (and y) must be arrays with one first dimension N, got lengths {sorted(map(str, lengths))}")
    (n,) = lengths
    if n == 0:
        raise ValueError("x must hold at least one example, got N = 0")
    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return prefetch(ds.batch(batch_size))


# --------------------------------------------------------------------------- Fashion-MNIST

def _check_split(split, allowed):
    _args.one_of("split", split, allowed)


def _read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    got_magic, = struct.unpack(">I", raw[:4])
    if got_magic != magic:
        raise DataFileError(f"data file {path} is not an idx file (magic {got_magic:#x}, expected {magic:#x})")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataFileError(f"data file {path} is truncated: {body.size} bytes of data for shape {dims}")
    return body.reshape(dims)


def _validate_subset(subset, n_total, name="subset"):
    if subset is None:
        return None
    if isinstance(subset, bool) or not isinstance(subset, (int, np.integer)):
        raise ValueError(f"{name} must be a positive int or None, got {subset!r}")
    if subset < 1 or subset > n_total:
        raise ValueError(f"{name}={subset} is out of range: this split has {n_total} examples")
    return int(subset)


def stratified_indices(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Deterministic indices of ``n`` examples, with class proportions kept (sorted order).

    labels: int array (N,). Returns int64 (n,). The same (labels, n, seed) always gives the same set.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    n = _validate_subset(n, len(labels), "n")
    rng = np.random.default_rng(_args.int_at_least("seed", seed, 0))
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.floor(counts / counts.sum() * n).astype(int)
    remainder = counts / counts.sum() * n - quota
    for i in np.argsort(-remainder, kind="stable")[: n - quota.sum()]:
        quota[i] += 1
    picked = [rng.permutation(np.flatnonzero(labels == c))[:q] for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(picked))


def load_fashion_mnist(split: str = "train", subset: int | None = None, seed: int = 0,
                       source: str = "local"):
    """Fashion-MNIST as numpy arrays: x uint8 (N, 28, 28), y uint8 (N,).

    subset: keep a deterministic, class-stratified subset of that many examples.
    source: "local" (default, the checksummed files in data/) or "keras" (keras.datasets; needs network).
    """
    _check_split(split, SPLITS_FMNIST)
    _args.int_at_least("seed", seed, 0)
    if source == "local":
        prefix = "train" if split == "train" else "t10k"
        x = _read_idx(data_file(f"fashion-mnist/{prefix}-images-idx3-ubyte.gz"), 0x803, 3)
        y = _read_idx(data_file(f"fashion-mnist/{prefix}-labels-idx1-ubyte.gz"), 0x801, 1)
    elif source == "keras":
        import keras
        (xtr, ytr), (xte, yte) = keras.datasets.fashion_mnist.load_data()
        x, y = (xtr, ytr) if split == "train" else (xte, yte)
    else:
        raise ValueError(f"source must be 'local' or 'keras', got {source!r}")
    if x.shape[0] != y.shape[0] or x.shape[1:] != (28, 28) or y.max() > 9:
        raise DataFileError(f"Fashion-MNIST {split} split is malformed: x {x.shape}, y {y.shape}")
    subset = _validate_subset(subset, len(y))
    if subset is not None:
        idx = stratified_indices(y, subset, seed)
        x, y = x[idx], y[idx]
    return x, y


def images_to_float(x: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1].

    x: pixel values 0..255 (uint8, or another integer type in that range); images that are already
    float are refused rather than divided by 255 a second time.
    """
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (N, H, W), got {x.shape}")
    if x.dtype != np.uint8:
        if x.dtype.kind not in "iu":
            raise ValueError(f"x must hold uint8 pixel values 0..255, got dtype {x.dtype}"
                             + (" (already converted to float?)" if x.dtype.kind == "f" else ""))
        if x.size and (x.min() < 0 or x.max() > 255):
            raise ValueError(f"x must hold pixel values 0..255, got the range [{x.min()}, {x.max()}]")
    return (x.astype("float32") / 255.0)[..., None]


def fashion_mnist_dataset(split: str = "train", batch_size: int = 128, subset: int | None = None,
                          shuffle: bool | None = None, seed: int = 0, repeat: bool = False):
    """A tf.data pipeline of (float32 (b, 28, 28, 1) in [0, 1], int32 (b,)).

    Normalised, cached, shuffled (default: only for "train") with a fixed seed, batched, prefetched.
    """
    import tensorflow as tf

    batch_size = _args.int_at_least("batch_size", batch_size)
    shuffle = None if shuffle is None else _args.flag("shuffle", shuffle)
    repeat = _args.flag("repeat", repeat)
    x, y = load_fashion_mnist(split, subset, seed)
    ds = tf.data.Dataset.from_tensor_slices((images_to_float(x), y.astype("int32"))).cache()
    if shuffle if shuffle is not None else split == "train":
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return prefetch(ds.batch(batch_size))


# --------------------------------------------------------------------------- SpamAssassin

@dataclass(frozen=True)
class SpamSplit:
    """One split of the SpamAssassin emails.

    texts: list of N str (Subject + body); labels: int32 (N,), 1 = spam;
    groups: str array (N,) in SPAM_GROUPS; ids: str array (N,) 'folder/number.md5'.
    """

    texts: list
    labels: np.ndarray
    groups: np.ndarray
    ids: np.ndarray

    def __len__(self):
        return len(self.texts)


_SPAM_CACHE: dict = {}


def _spam_rows() -> list[dict]:
    path = data_file("spamassassin/spamassassin.jsonl.gz")
    if str(path) not in _SPAM_CACHE:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                rows = [json.loads(line) for line in f]
        except (OSError, ValueError) as e:
            raise DataFileError(f"data file {path} cannot be read ({e}); {RESTORE_HINT['spamassassin']}") from None
        _SPAM_CACHE[str(path)] = rows
    return _SPAM_CACHE[str(path)]


def load_spam(split: str = "train", subset: int | None = None, seed: int = 0) -> SpamSplit:
    """The fixed SpamAssassin split ("train", "validation" or "test").

    subset: keep a deterministic subset of that many emails, stratified by source group.
    """
    _check_split(split, SPLITS_SPAM)
    _args.int_at_least("seed", seed, 0)
    rows = [r for r in _spam_rows() if r["split"] == split]
    groups = np.array([r["group"] for r in rows])
    subset = _validate_subset(subset, len(rows))
    if subset is not None:
        rows = [rows[i] for i in stratified_indices(groups, subset, seed)]
        groups = np.array([r["group"] for r in rows])
    return SpamSplit(texts=[r["text"] for r in rows],
                     labels=np.array([r["label"] for r in rows], dtype="int32"),
                     groups=groups, ids=np.array([r["id"] for r in rows]))


def spam_dataset(split: str = "train", batch_size: int = 32, subset: int | None = None,
                 shuffle: bool | None = None, seed: int = 0):
    """A tf.data pipeline of (string (b,), int32 (b,)) over one SpamAssassin split."""
    import tensorflow as tf

    batch_size = _args.int_at_least("batch_size", batch_size)
    shuffle = None if shuffle is None else _args.flag("shuffle", shuffle)
    s = load_spam(split, subset, seed)
    ds = tf.data.Dataset.from_tensor_slices((s.texts, s.labels))
    if shuffle if shuffle is not None else split == "train":
        ds = ds.shuffle(len(s), seed=seed, reshuffle_each_iteration=True)
    return prefetch(ds.batch(batch_size))


# --------------------------------------------------------------------------- GAN input pipeline

def gan_dataset(x: np.ndarray, batch_size: int = 64, seed: int = 0):
    """An endless tf.data pipeline of real images for GAN training: float32 (b, H, W, 1) in [-1, 1].

    x: uint8 images (N, H, W), pixel values 0..255 (e.g. from ``load_fashion_mnist``); they are
    scaled to [-1, 1], the range of a tanh generator. The pipeline shuffles all N images with a
    fixed ``seed`` (a new order on every pass), repeats forever, cuts full batches of ``batch_size``
    (drop_remainder: every batch has the same shape) and prefetches. It never ends, so pass
    ``steps_per_epoch`` to ``fit``. batch_size must not exceed N (a batch would hold an image twice).
    """
    import tensorflow as tf

    images = images_to_float(x) * 2 - 1                  # (N, H, W, 1) float32 in [-1, 1]
    batch_size = _args.int_at_least("batch_size", batch_size)
    if batch_size > len(images):
        raise ValueError(f"batch_size must be at most the number of images ({len(images)}), got {batch_size}")
    seed = _args.int_at_least("seed", seed, 0)
    return prefetch(tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=seed).repeat()
                    .batch(batch_size, drop_remainder=True))


# --------------------------------------------------------------------------- synthetic: marked-symbol recall

def marked_recall(n: int, length: int, num_symbols: int = 4, seed: int = 0, lag: int | None = None):
    """The long-range memory task of lesson 04: recall the symbol at the one marked step.

    Each of the ``length`` steps holds one of ``num_symbols`` symbols (one-hot) plus a marker bit;
    the marker is set at exactly one step, ``lag`` steps before the end (the last step has lag 1),
    and the target is the symbol there. lag: an int in [1, length], or None for a lag drawn
    uniformly from 1..length for each sequence. Generated from ``seed`` (numpy), no files.
    Returns x float32 (n, length, num_symbols + 1) (the marker is the last feature), y int32 (n,).
    """
    n = _args.int_at_least("n", n)
    length = _args.int_at_least("length", length)
    num_symbols = _args.int_at_least("num_symbols", num_symbols, 2)
    seed = _args.int_at_least("seed", seed, 0)
    if lag is not None:
        lag = _args.int_at_least("lag", lag, note=f" and <= length ({length}), or None")
        if lag > length:
            raise ValueError(f"lag must be an int in [1, length] = [1, {length}], or None, got {lag}")
    r = np.random.default_rng(seed)
    symbols = r.integers(0, num_symbols, (n, length))
    x = np.zeros((n, length, num_symbols + 1), "float32")
    x[..., :num_symbols] = np.eye(num_symbols, dtype="float32")[symbols]
    lags = r.integers(1, length + 1, n) if lag is None else np.full(n, lag)
    x[np.arange(n), length - lags, num_symbols] = 1.0
    return x, symbols[np.arange(n), length - lags].astype("int32")


# --------------------------------------------------------------------------- validation split

def train_validation_split(labels, validation: float = 0.1, seed: int = 0):
    """Split N examples into disjoint train and validation index sets, class proportions kept.

    labels: class labels (N,), N >= 2 (ints or strings). validation: the held-out fraction, in (0, 1):
    the validation set gets round(validation * N) examples (at least 1, at most N - 1), chosen by
    ``stratified_indices`` so each class keeps its share. The same (labels, validation, seed) always
    gives the same split. Returns (train_idx int64 (N - n_val,), val_idx int64 (n_val,)), both
    sorted; together they hold every index 0..N-1 once.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) < 2:
        raise ValueError(f"labels must be a 1-D array of at least 2 examples (one to train on, one to "
                         f"validate), got shape {labels.shape}")
    validation = _args.number_in("validation", validation, 0, 1, low_open=True, high_open=True)
    seed = _args.int_at_least("seed", seed, 0)
    n_val = min(max(int(np.floor(validation * len(labels) + 0.5)), 1), len(labels) - 1)
    val_idx = stratified_indices(labels, n_val, seed)
    train_idx = np.setdiff1d(np.arange(len(labels)), val_idx)
    return train_idx.astype("int64"), val_idx.astype("int64")


def random_flips(ds, seed: int = 0):
    """Mirror each image of a batched dataset left-right with probability 1/2; labels unchanged.

    ds: a tf.data.Dataset of (images (b, H, W, C), labels (b,)), already batched; the result has the
    same structure. The coin flips come from ``tf.data.Dataset.random(seed)``, drawn anew every epoch
    and the same on every run with the same seed. For data augmentation in training only.
    """
    import tensorflow as tf

    if not isinstance(ds, tf.data.Dataset):
        raise TypeError(f"ds must be a tf.data.Dataset, got {type(ds).__name__}")
    spec = ds.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2 and spec[0].shape.rank == 4):
        raise ValueError(f"ds must yield (images (b, H, W, C), labels) batches, got element_spec {spec}")
    seed = _args.int_at_least("seed", seed, minimum=0)
    keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)   # one int64 per batch

    def flip(batch, key):
        x, y = batch
        coins = tf.random.stateless_uniform(tf.shape(x)[:1], seed=tf.stack([key, tf.constant(seed, tf.int64)]))
        mirror = tf.reshape(coins < 0.5, (-1, 1, 1, 1))
        return tf.where(mirror, tf.reverse(x, axis=[2]), x), y

    return tf.data.Dataset.zip((ds, keys)).map(flip)


def _images_dataset(x, y, batch_size: int, shuffle: bool, seed: int, flip: bool = False):
    """uint8 (N, 28, 28), labels (N,) -> cached, batched, prefetched tf.data of (float32 (b, 28, 28, 1), int32 (b,))."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((images_to_float(x), y.astype("int32"))).cache()
    if shuffle:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    return prefetch(random_flips(ds, seed) if flip else ds)


def fashion_mnist_train_validation(batch_size: int = 128, validation: float = 0.1,
                                   subset: int | None = None, seed: int = 0, flip: bool = False):
    """Fashion-MNIST's training split cut in two tf.data pipelines: ``(train, validation)``.

    Both yield (float32 (b, 28, 28, 1) in [0, 1], int32 (b,)), cached, batched and prefetched.
    validation: the held-out fraction in (0, 1), chosen by ``train_validation_split`` (stratified,
    seeded); those images come in file order, never shuffled. The train pipeline holds the rest,
    reshuffled every epoch from ``seed``. flip: mirror each training image left-right with probability
    1/2 (``random_flips``); the validation images are never flipped. subset: first keep a
    class-stratified subset of that many training images, as ``load_fashion_mnist`` does. The official
    test split stays untouched: ``fashion_mnist_dataset("test")``.
    """
    batch_size = _args.int_at_least("batch_size", batch_size)
    validation = _args.number_in("validation", validation, 0, 1, low_open=True, high_open=True)
    _args.flag("flip", flip)
    x, y = load_fashion_mnist("train", subset, seed)
    train_idx, val_idx = train_validation_split(y, validation, seed)
    return (_images_dataset(x[train_idx], y[train_idx], batch_size, True, seed, flip),
            _images_dataset(x[val_idx], y[val_idx], batch_size, False, seed))
