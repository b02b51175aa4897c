"""Evaluating generative models beyond looking at pictures.

    feature_extractor(classifier)          keras.Model: images -> penultimate features (N, D)
    frechet_distance(feats_a, feats_b)     float: Fréchet distance of Gaussians fitted to (N, D), (M, D)
    gaussian_frechet_distance(mu1, cov1, mu2, cov2)   the same from means (D,) and covariances (D, D)
    class_coverage(labels, num_classes)    (counts int (K,), fractions float (K,))
    nearest_neighbours(queries, refs, k)   (indices int (Q, k), distances float (Q, k)), Euclidean

The Fréchet distance between N(mu1, S1) and N(mu2, S2) (Dowson & Landau 1982) is
    ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2).
Heusel et al. (2017) compute it on Inception-v3 pool features of ImageNet-like images: that is "FID".
Computed on the features of another network (here, a Fashion-MNIST classifier), it is NOT comparable
with published FID numbers, but it still compares models and epochs measured with the same network.
Square roots use ``numpy.linalg.eigh`` on symmetric matrices (no scipy).
"""
from __future__ import annotations

import numpy as np

from course_lib import _args


def _as_features(x, name):
    x = _args.numeric_array(name, x, ndim=2, shape="(N, D)")
    if x.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 rows to estimate a covariance, got {x.shape[0]}")
    return x.astype("float64")


def _check_psd(name, c):
    """ValueError unless the symmetric matrix c is positive semi-definite (up to round-off)."""
    eig = np.linalg.eigvalsh(c)
    if eig[0] < -1e-8 * max(1.0, float(np.abs(eig).max())):
        raise ValueError(f"{name} must be positive semi-definite (a covariance), but it has the "
                         f"eigenvalue {eig[0]:.3g}")


def _sqrtm_psd(a):
    """Square root of a symmetric positive semi-definite matrix via eigh (negative round-off clipped)."""
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def gaussian_frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """Fréchet (2-Wasserstein squared) distance between N(mu1, cov1) and N(mu2, cov2).

    mu1, mu2: (D,); cov1, cov2: symmetric PSD (D, D). Returns a float >= 0.
    """
    mu1, mu2 = (_args.numeric_array(n, m).astype("float64") for n, m in (("mu1", mu1), ("mu2", mu2)))
    cov1, cov2 = (_args.numeric_array(n, c).astype("float64") for n, c in (("cov1", cov1), ("cov2", cov2)))
    if mu1.ndim != 1 or mu1.shape != mu2.shape or mu1.size == 0:
        raise ValueError(f"mu1 and mu2 must both have shape (D,), D >= 1, got {mu1.shape} and {mu2.shape}")
    d = mu1.shape[0]
    for name, c in (("cov1", cov1), ("cov2", cov2)):
        if c.shape != (d, d):
            raise ValueError(f"{name} must have shape ({d}, {d}) to match the means, got {c.shape}")
        if not np.allclose(c, c.T, atol=1e-8 * max(1.0, float(np.abs(c).max()))):
            raise ValueError(f"{name} must be symmetric")
        _check_psd(name, c)
    root1 = _sqrtm_psd(cov1)
    middle = root1 @ cov2 @ root1                      # symmetric PSD, same eigenvalues as cov1 @ cov2
    eig = np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)
    value = float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * np.sum(np.sqrt(eig)))
    return max(value, 0.0)


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets.

    feats_a: (N, D), feats_b: (M, D), N, M >= 2 (use hundreds or more: the covariance is estimated).
    Identical sets give 0 (up to round-off). Returns a float >= 0.
    """
    a, b = _as_features(feats_a, "feats_a"), _as_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feats_a and feats_b must have the same feature size D, got {a.shape[1]} and {b.shape[1]}")
    # atleast_2d: for D = 1, np.cov returns a 0-d array
    return gaussian_frechet_distance(a.mean(0), np.atleast_2d(np.cov(a, rowvar=False, ddof=1)),
                                     b.mean(0), np.atleast_2d(np.cov(b, rowvar=False, ddof=1)))


def feature_extractor(classifier, layer_name: str | None = None):
    """A keras.Model mapping the classifier's input to the features of one of its layers.

    Default: the input of the classifier's last Dense layer (its penultimate features), e.g. the
    128 ReLU units of ``build_cnn``. Output shape (N, D).
    """
    import keras

    if not isinstance(classifier, keras.Model):
        raise TypeError(f"classifier must be a keras.Model, got {type(classifier).__name__}")
    if layer_name is not None:
        try:
            out = classifier.get_layer(layer_name).output
        except ValueError:
            raise ValueError(f"classifier has no layer named {layer_name!r}; layers: "
                             f"{[l.name for l in classifier.layers]}") from None
    else:
        dense = [l for l in classifier.layers if isinstance(l, keras.layers.Dense)]
        if not dense:
            raise ValueError("classifier has no Dense layer; pass layer_name")
        out = dense[-1].input
    inputs = classifier.inputs[0] if len(classifier.inputs) == 1 else classifier.inputs
    return keras.Model(inputs, keras.layers.Flatten()(out) if len(out.shape) > 2 else out,
                       name=f"{classifier.name}_features")


def class_coverage(labels, num_classes: int):
    """How often each class occurs. labels: int (N,) in [0, num_classes).

    Returns (counts int (num_classes,), fractions float (num_classes,)); fractions sum to 1.
    """
    labels = np.asarray(labels)
    num_classes = _args.int_at_least("num_classes", num_classes)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array of class indices, got shape {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must be in [0, {num_classes}), got range [{labels.min()}, {labels.max()}]")
    counts = np.bincount(labels, minlength=num_classes)
    return counts, counts / counts.sum()


def nearest_neighbours(queries, references, k: int = 1, chunk: int = 256):
    """Euclidean nearest neighbours of each query among the references (flattened).

    queries: (Q, ...) and references: (R, ...) with the same trailing shape, e.g. images (N, 28, 28, 1).
    Returns (indices int64 (Q, k), distances float64 (Q, k)), nearest first.
    """
    q, r = _args.numeric_array("queries", queries), _args.numeric_array("references", references)
    if q.ndim < 2 or r.ndim < 2 or q.shape[1:] != r.shape[1:]:
        raise ValueError(f"queries (Q, ...) and references (R, ...) must share their trailing shape, "
                         f"got {q.shape} and {r.shape}")
    for name, a in (("queries", q), ("references", r)):
        if len(a) == 0:
            raise ValueError(f"{name} is empty: need at least one row, got shape {a.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(r):
        raise ValueError(f"k must be an int in [1, {len(r)}] (the number of references), got {k!r}")
    chunk = _args.int_at_least("chunk", chunk)
    q = q.reshape(len(q), -1).astype("float64")
    r = r.reshape(len(r), -1).astype("float64")
    r_sq = (r ** 2).sum(1)
    idx, dist = [], []
    for start in range(0, len(q), chunk):
        qc = q[start:start + chunk]
        d2 = np.maximum((qc ** 2).sum(1)[:, None] - 2 * qc @ r.T + r_sq[None, :], 0)
        part = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < len(r) else np.tile(np.arange(len(r)), (len(qc), 1))
        order = np.take_along_axis(d2, part, 1).argsort(1, kind="stable")
        best = np.take_along_axis(part, order, 1)
        idx.append(best)
        dist.append(np.sqrt(np.take_along_axis(d2, best, 1)))
    return np.concatenate(idx).astype("int64"), np.concatenate(dist)
