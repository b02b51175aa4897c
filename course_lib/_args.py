"""Argument checks shared by every course_lib module.

Each check returns the value it accepted (converted: int, float, bool, numpy array, ...) or raises
an error that names the argument, says what was expected and shows what it got. Numbers, flags and
arrays of the wrong kind raise ValueError; objects of the wrong kind (a model, a dataset, a
function) raise TypeError.
"""
from __future__ import annotations

import math
from numbers import Real

import numpy as np


def int_at_least(name: str, value, minimum: int = 1, note: str = "") -> int:
    """``value`` as an int; ValueError unless it is an int (not a bool, not a float) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        wanted = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {wanted}{note}, got {value!r}")
    return int(value)


def number_in(name: str, value, low: float | None = None, high: float | None = None,
              low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float; ValueError unless it is a finite real number (not a bool, not a str) in the
    interval from ``low`` to ``high`` (closed ends unless ``low_open`` / ``high_open``)."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if low == 0 and high is None and low_open:
            wanted = "a positive number"
        elif high is None:
            wanted = f"a number {'>' if low_open else '>='} {low}" if low is not None else "a finite number"
        else:
            wanted = f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return float(value)


def positive_number(name: str, value) -> float:
    """A finite real number > 0 (a learning rate, a step size)."""
    return number_in(name, value, 0, None, low_open=True)


def fraction(name: str, value) -> float:
    """A number in [0, 1) (a dropout rate, a momentum)."""
    return number_in(name, value, 0, 1, high_open=True)


def flag(name: str, value) -> bool:
    """True or False (also numpy's bool); ValueError for anything else, such as the string "no"."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def one_of(name: str, value, choices: tuple) -> str:
    """``value`` if it is one of the strings ``choices``; ValueError listing them otherwise."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def function(name: str, value, what: str = "a function"):
    """``value`` if it is callable; TypeError otherwise."""
    if not callable(value):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def numeric_array(name: str, x, ndim: int | tuple | None = None, shape: str = "", finite: bool = True,
                  min_rows: int = 0) -> np.ndarray:
    """``x`` as a numpy array of numbers (bool, int or float).

    ndim: the allowed number(s) of dimensions; shape: how the expected shape reads in the error, e.g.
    "(N, D)". finite: refuse NaN and inf. min_rows: the least length of the first axis.
    """
    try:
        arr = np.asarray(x)
    except Exception:       # ragged nested lists and the like
        raise ValueError(f"{name} must be a numeric array, got {type(x).__name__}") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and arr.ndim not in allowed:
        raise ValueError(f"{name} must have shape {shape or f'with {ndim} dimension(s)'}, got {arr.shape}")
    if arr.ndim and len(arr) < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s), got shape {arr.shape}")
    if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf (at flat index {int(np.flatnonzero(~np.isfinite(arr))[0])})")
    return arr


def class_indices(name: str, y, num_classes: int | None = None) -> np.ndarray:
    """Class labels as int64 (N,): integer class indices in [0, num_classes).

    Accepts ints, bools and floats that are whole numbers, shape (N,) or (N, 1). Refuses one-hot or
    probability rows (N, K), fractions (probabilities, logits), NaN, strings and out-of-range labels.
    """
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] > 1:
        raise ValueError(f"{name} must hold one class index per example, shape (N,), got shape {arr.shape}: "
                         f"one-hot or probability rows? take {name}.argmax(-1)")
    arr = numeric_array(name, arr.reshape(-1) if arr.ndim == 2 else arr, ndim=1, shape="(N,)")
    if arr.dtype.kind == "f" and (arr != np.round(arr)).any():
        bad = arr[arr != np.round(arr)][0]
        raise ValueError(f"{name} must be integer class indices, got the value {bad!r}: probabilities or "
                         "logits? take argmax(-1)")
    labels = arr.astype("int64")
    if labels.size and labels.min() < 0:
        raise ValueError(f"{name} must be class indices >= 0, got {labels.min()}")
    if num_classes is not None and labels.size and labels.max() >= num_classes:
        raise ValueError(f"{name} must be class indices in [0, {num_classes}), got {labels.max()}")
    return labels


def texts(name: str, values) -> list:
    """A non-empty list of str (a list, tuple or numpy array of strings; not one string, not a generator)."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a list of strings, got a single string")
    if not hasattr(values, "__len__") or not hasattr(values, "__getitem__"):
        raise ValueError(f"{name} must be a list of strings (one per example), got {type(values).__name__}")
    if len(values) == 0:
        raise ValueError(f"{name} is empty: need at least one text")
    values = list(values)
    bad = next((i for i, t in enumerate(values) if not isinstance(t, str)), None)
    if bad is not None:
        raise ValueError(f"{name} must contain only str; item {bad} is {type(values[bad]).__name__}: {values[bad]!r:.40}")
    return values


def image_shape(name: str, value) -> tuple:
    """(height, width, channels): three positive ints."""
    if (isinstance(value, str) or not hasattr(value, "__len__") or len(value) != 3
            or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in value)):
        raise ValueError(f"{name} must be (height, width, channels), three positive ints, got {value!r}")
    return tuple(int(d) for d in value)
