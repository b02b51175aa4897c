"""Plots used across lessons. Each function draws one figure and returns it.

Keep figures small (they are stored in committed notebooks).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def image_grid(images, labels=None, class_names=None, ncols: int = 10, size: float = 1.1,
               cmap: str = "gray", title: str | None = None):
    """Grid of images. images: (N, H, W) or (N, H, W, 1|3); labels: int (N,) or list of str."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, C), got {images.shape}")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    n = len(images)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap=cmap)
        if labels is not None:
            lab = labels[i]
            text = class_names[int(lab)] if class_names is not None and not isinstance(lab, str) else str(lab)
            ax.set_title(text, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def history(hist, metrics=("loss", "accuracy"), title: str | None = None):
    """Training curves from a keras History (or its ``.history`` dict): one panel per metric."""
    h = getattr(hist, "history", hist)
    if not isinstance(h, dict):
        raise TypeError(f"hist must be a keras History or a dict, got {type(hist).__name__}")
    metrics = [m for m in metrics if m in h]
    if not metrics:
        raise ValueError(f"none of the metrics is in the history; it has {sorted(h)}")
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
    """Confusion matrix (rows: true class, columns: predicted). Returns (figure, counts int (K, K))."""
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {y_true.shape} and {y_pred.shape}")
    k = len(class_names)
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (y_true.astype(int), y_pred.astype(int)), 1)
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
    """First-layer conv filters. weights: (kh, kw, 1, F) or (kh, kw, C, F) -> shows channel 0."""
    w = np.asarray(weights)
    if w.ndim != 4:
        raise ValueError(f"weights must have shape (kh, kw, in_channels, filters), got {w.shape}")
    return image_grid(np.moveaxis(w[:, :, 0, :], -1, 0), ncols=ncols, size=size, cmap="bwr", title=title)


def feature_maps(maps, ncols: int = 8, size: float = 0.9, title: str | None = None):
    """Feature maps of one image. maps: (H, W, C) or (1, H, W, C)."""
    m = np.asarray(maps)
    if m.ndim == 4 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 3:
        raise ValueError(f"maps must have shape (H, W, C), got {m.shape}")
    return image_grid(np.moveaxis(m, -1, 0), ncols=ncols, size=size, cmap="viridis", title=title)
