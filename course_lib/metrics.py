"""Classification metrics the text lessons report (numpy only, no scikit-learn needed).

    spam_report(y_true, y_pred, groups) -> {"accuracy", "spam_precision", "spam_recall", "spam_f1",
                                            "hard_ham_fpr", "n"}
"""
from __future__ import annotations

import numpy as np


def _as_binary(name, y):
    y = np.asarray(y).ravel()
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError(f"{name} must contain only 0 (ham) and 1 (spam), got values {np.unique(y)[:5]}")
    return y.astype(int)


def spam_report(y_true, y_pred, groups=None) -> dict:
    """Accuracy, spam precision/recall/F1 and the false-positive rate on hard ham.

    y_true, y_pred: 0/1 arrays (N,), 1 = spam. groups: str array (N,) with "hard_ham" entries
    (as in ``data.load_spam(...).groups``); without it hard_ham_fpr is NaN.
    """
    y_true, y_pred = _as_binary("y_true", y_true), _as_binary("y_pred", y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {y_true.size} and {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("y_true is empty")
    tp = int(((y_pred == 1) & (y_true == 1)).sum())
    fp = int(((y_pred == 1) & (y_true == 0)).sum())
    fn = int(((y_pred == 0) & (y_true == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    hard_fpr = float("nan")
    if groups is not None:
        groups = np.asarray(groups).ravel()
        if groups.shape != y_true.shape:
            raise ValueError(f"groups must have one entry per example ({y_true.size}), got {groups.size}")
        hard = groups == "hard_ham"
        if hard.any():
            hard_fpr = float((y_pred[hard] == 1).mean())
    return {"accuracy": float((y_true == y_pred).mean()), "spam_precision": precision,
            "spam_recall": recall, "spam_f1": f1, "hard_ham_fpr": hard_fpr, "n": int(y_true.size)}
