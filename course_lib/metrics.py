"""Classification metrics the text lessons report (numpy only, no scikit-learn needed).

    spam_report(y_true, y_pred, groups) -> {"accuracy", "spam_precision", "spam_recall", "spam_f1",
                                            "hard_ham_fpr", "n"}
"""
from __future__ import annotations

import numpy as np

from course_lib import _args
from course_lib.data import SPAM_GROUPS


def _as_binary(name, y):
    """0/1 labels (N,) or (N, 1); one-hot or probability rows (N, 2), fractions and NaN are refused."""
    y = _args.class_indices(name, y)
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError(f"{name} must contain only 0 (ham) and 1 (spam), got values {np.unique(y)[:5]}")
    return y


def _as_groups(groups, n):
    groups = np.asarray(groups).ravel()
    if groups.shape != (n,):
        raise ValueError(f"groups must have one entry per example ({n}), got {groups.size}")
    unknown = sorted({str(g) for g in np.unique(groups)} - set(SPAM_GROUPS))
    if unknown:
        raise ValueError(f"groups must hold only the names {SPAM_GROUPS}, got {unknown[:5]}")
    return groups


def spam_report(y_true, y_pred, groups=None) -> dict:
    """Accuracy, spam precision/recall/F1 and the false-positive rate on hard ham.

    y_true, y_pred: 0/1 arrays (N,), 1 = spam (class indices: for one-hot rows or probabilities
    (N, 2) take argmax(-1) first). groups: str array (N,) of names in ``data.SPAM_GROUPS`` (as in
    ``data.load_spam(...).groups``). hard_ham_fpr is NaN, meaning "not measured", when groups is
    None or holds no "hard_ham".
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
        hard = _as_groups(groups, y_true.size) == "hard_ham"
        if hard.any():
            hard_fpr = float((y_pred[hard] == 1).mean())
    return {"accuracy": float((y_true == y_pred).mean()), "spam_precision": precision,
            "spam_recall": recall, "spam_f1": f1, "hard_ham_fpr": hard_fpr, "n": int(y_true.size)}
