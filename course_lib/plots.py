"""Plots used across lessons. Each function draws one figure and returns it.

Keep figures small (they are stored in committed notebooks).
"""
from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np

from course_lib import _args


def _class_names(class_names) -> list:
    if (isinstance(class_names, str) or not hasattr(class_names, "__len__") or len(class_names) == 0
            or not all(isinstance(c, str) for c in class_names)):
        raise ValueError(f"class_names must be a non-empty list of str, one per class, got {class_names!r:.60}")
    return list(class_names)


def _grid_labels(labels, n, class_names):
    """labels checked against the images: one per image; class indices when class_names is given."""
    if isinstance(labels, str) or not hasattr(labels, "__len__"):
        raise ValueError(f"labels must be a list with one label per image, got {type(labels).__name__}")
    if len(labels) != n:
        raise ValueError(f"labels must have one entry per image ({n}), got {len(labels)}")
    if class_names is not None and not all(isinstance(lab, str) for lab in labels):
        _args.class_indices("labels", labels, len(class_names))


def image_grid(images, labels=None, class_names=None, ncols: int = 10, size: float = 1.1,
               cmap: str = "gray", title: str | None = None, vmin: float | None = None,
               vmax: float | None = None):
    """Grid of images. images: (N, H, W) or (N, H, W, 1|3), N >= 1; labels: (N,) class indices into
    ``class_names``, or a list of N str.

    vmin, vmax: the values drawn as the ends of ``cmap``, one scale for every image (e.g. 0 and 1 for
    pixels in [0, 1], or -m and m so that 0 is the middle of a diverging map). Left at None, each image
    is stretched to its own minimum and maximum, so a faint image looks as contrasted as a sharp one.
    """
    images = _args.numeric_array("images", images, ndim=(3, 4), shape="(N, H, W) or (N, H, W, C)")
    if images.ndim == 4 and images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels, shape (N, H, W, 1|3), got {images.shape}")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    n = len(images)
    if n == 0:
        raise ValueError("images is empty: nothing to draw")
    ncols = _args.int_at_least("ncols", ncols)
    size = _args.positive_number("size", size)
    if class_names is not None:
        class_names = _class_names(class_names)
    if labels is not None:
        _grid_labels(labels, n, class_names)
    vmin, vmax = (None if v is None else _args.number_in(name, v) for name, v in (("vmin", vmin), ("vmax", vmax)))
    if vmin is not None and vmax is not None and not vmin < vmax:
        raise ValueError(f"vmin must be below vmax, got vmin={vmin}, vmax={vmax}")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax)
        if labels is not None:
            lab = labels[i]
            text = class_names[int(lab)] if class_names is not None and not isinstance(lab, str) else str(lab)
            ax.set_title(text, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _history_metrics(h: dict, metrics) -> list:
    if metrics is None:
        metrics = [m for m in ("loss", "accuracy") if m in h]
        if not metrics:
            raise ValueError(f"none of the metrics is in the history; it has {sorted(h)}")
        return metrics
    if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
        raise ValueError(f"metrics must be a list or tuple of metric names, e.g. ({metrics!r},), got {metrics!r}")
    if not metrics:
        raise ValueError("metrics is empty: name at least one metric of the history")
    missing = [m for m in metrics if m not in h]
    if missing:
        raise ValueError(f"metrics {missing} are not in the history; it has {sorted(h)}")
    return list(metrics)


def history(hist, metrics=None, title: str | None = None):
    """Training curves from a keras History (or its ``.history`` dict): one panel per metric.

    metrics: names of the metrics to plot; default "loss" and "accuracy", those the history has.
    A panel whose values hold NaN or inf is drawn, with a warning (the training diverged).
    """
    h = getattr(hist, "history", hist)
    if not isinstance(h, dict):
        raise TypeError(f"hist must be a keras History or a dict, got {type(hist).__name__}")
    metrics = _history_metrics(h, metrics)
    for m in metrics:
        values = _args.numeric_array(f"the history's {m!r}", h[m], ndim=1, finite=False)
        if len(values) == 0:
            raise ValueError(f"the history's {m!r} is empty: no epoch was recorded")
        if not np.isfinite(values).all():
            epochs = (np.flatnonzero(~np.isfinite(values)) + 1).tolist()
            warnings.warn(f"plots.history: {m} is NaN or inf at epoch(s) {epochs}; the training diverged there",
                          stacklevel=2)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        epochs = np.arange(1, len(h[m]) + 1)
        ax.plot(epochs, h[m], "o-", label="train")
        if f"val_{m}" in h:
            ax.plot(epochs, h[f"val_{m}"], "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        ax.legend()
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, class_names, normalize: bool = True, title: str | None = None):
    """Confusion matrix (rows: true class, columns: predicted). Returns (figure, counts int (K, K)).

    y_true, y_pred: class indices (N,) in [0, K), K = len(class_names) (not one-hot rows, not
    probabilities: take argmax(-1) first).
    """
    class_names = _class_names(class_names)
    k = len(class_names)
    y_true = _args.class_indices("y_true", y_true, k)
    y_pred = _args.class_indices("y_pred", y_pred, k)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {y_true.shape} and {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("y_true is empty")
    normalize = _args.flag("normalize", normalize)
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    shown = counts / np.maximum(counts.sum(1, keepdims=True), 1) if normalize else counts
    fig, ax = plt.subplots(figsize=(0.5 * k + 2, 0.5 * k + 1.5))
    im = ax.imshow(shown, cmap="Blues")
    ax.set_xticks(range(k), class_names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(k), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            val = f"{shown[i, j]:.2f}" if normalize else str(counts[i, j])
            ax.text(j, i, val, ha="center", va="center", fontsize=6,
                    color="white" if shown[i, j] > shown.max() / 2 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig, counts


def filters(weights, ncols: int = 8, size: float = 0.9, title: str | None = None):
    """First-layer conv filters on one diverging scale. weights: (kh, kw, C, F) -> channel 0 of each filter.

    White is exactly 0, red positive, blue negative: the colour limits are -max|w| and +max|w| over
    all the filters shown, so colours compare across filters; a colourbar gives the scale.
    """
    w = _args.numeric_array("weights", weights, ndim=4, shape="(kh, kw, in_channels, filters)")
    shown = np.moveaxis(w[:, :, 0, :], -1, 0)                  # (F, kh, kw)
    ncols = min(_args.int_at_least("ncols", ncols), len(shown))
    size = _args.positive_number("size", size)
    limit = float(np.abs(shown).max()) or 1.0                  # all-zero filters: any symmetric scale
    nrows = int(np.ceil(len(shown) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + 0.8, size * nrows + (0.35 if title else 0.1)),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(shown):
            im = ax.imshow(shown[i], cmap="bwr", vmin=-limit, vmax=limit)
    fig.colorbar(im, ax=axes, shrink=0.9, label="weight")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def feature_maps(maps, ncols: int = 8, size: float = 0.9, title: str | None = None):
    """Feature maps of one image. maps: (H, W, C) or (1, H, W, C)."""
    m = _args.numeric_array("maps", maps)
    if m.ndim == 4 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 3:
        raise ValueError(f"maps must have shape (H, W, C), got {m.shape}")
    return image_grid(np.moveaxis(m, -1, 0), ncols=ncols, size=size, cmap="viridis", title=title)


# --------------------------------------------------------------------------- computational graphs (lesson 03)

_NODE_ATTRS = ("data", "grad", "_parents", "_op", "label")


def _graph_nodes(root) -> list:
    """Every node that ``root`` depends on, parents before children (a depth-first topological order).

    Checks each node for the attributes draw_graph reads; iterative, so deep graphs do not hit
    Python's recursion limit."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        v, parents_done = stack.pop()
        if parents_done:
            order.append(v)
            continue
        if id(v) in seen:
            continue
        missing = [a for a in _NODE_ATTRS if not hasattr(v, a)]
        if missing:
            where = "root" if v is root else "a node of root's graph"
            raise TypeError(f"{where} must be a scalar-autograd node with attributes {', '.join(_NODE_ATTRS)} "
                            f"(like lesson 03's Value); {type(v).__name__} has no {', '.join(missing)}")
        seen.add(id(v))
        stack.append((v, True))
        stack.extend((p, False) for p in reversed(tuple(v._parents)))
    return order


def _graph_layout(order) -> dict:
    """{id(node): (column, height)}. Column = the longest path from an input; within a column, a node
    whose parents sit higher is drawn higher (ties keep the topological order), so arrows between
    neighbouring columns of a tree do not cross."""
    depth, cols = {}, {}
    for v in order:                                   # parents first, so their depth is known
        depth[id(v)] = 1 + max((depth[id(p)] for p in v._parents), default=-1)
        cols.setdefault(depth[id(v)], []).append(v)
    pos = {}
    for d in sorted(cols):
        col = sorted(cols[d], key=lambda v: -np.mean([pos[id(p)][1] for p in v._parents]) if v._parents else 0.0)
        for i, v in enumerate(col):                   # the first node of the sorted column goes on top
            pos[id(v)] = (d, (len(col) - 1) / 2 - i)
    return pos


def draw_graph(root, ax=None, title: str | None = None):
    """Computational graph of a scalar-autograd node, inputs on the left, ``root`` on the right.

    root: a node with attributes data (float), grad (float), _parents (tuple of nodes), _op (str, ""
    for an input) and label (str), like lesson 03's Value or micrograd's. Each box shows the operation,
    the label, the value and the gradient; one arrow per use, so a parent used twice by the same node
    gets two arrows, bent apart. ax: a matplotlib Axes to draw in (default: a new figure).
    Returns the figure.
    """
    from matplotlib.axes import Axes
    from matplotlib.patches import FancyArrowPatch

    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    order = _graph_nodes(root)
    pos = _graph_layout(order)
    n_cols = 1 + max(p[0] for p in pos.values())
    n_rows = max(sum(1 for p in pos.values() if p[0] == c) for c in range(n_cols))
    if ax is None:
        ax = plt.subplots(figsize=(min(10, 1.6 * n_cols + 1), min(8, 0.9 * n_rows + 1)))[1]
    for v in order:
        parents = list(v._parents)
        for k, p in enumerate(parents):
            uses = [i for i, q in enumerate(parents) if q is p]          # this parent's uses by v
            rad = 0.0 if len(uses) == 1 else 0.3 * (uses.index(k) - (len(uses) - 1) / 2)
            ax.add_patch(FancyArrowPatch(pos[id(p)], pos[id(v)], arrowstyle="->", mutation_scale=10, color="0.5",
                                         connectionstyle=f"arc3,rad={rad}", shrinkA=18, shrinkB=18))
    for v in order:
        (x, y), head = pos[id(v)], (v._op or "input") + (f" {v.label}" if v.label else "")
        ax.text(x, y, f"{head}\n{v.data:.3g}\ngrad {v.grad:.3g}", ha="center", va="center", fontsize=7,
                bbox=dict(boxstyle="round", fc="#dbe9f6" if v._parents else "#fde9c9", ec="0.4"))
    heights = [p[1] for p in pos.values()]
    ax.set_xlim(-0.6, n_cols - 0.4)
    ax.set_ylim(min(heights) - 0.7, max(heights) + 0.7)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return ax.figure
