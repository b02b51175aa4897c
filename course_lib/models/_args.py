"""Argument checks shared by the model builders."""
from __future__ import annotations

import numpy as np


def int_at_least(name: str, value, minimum: int = 1, note: str = "") -> int:
    """``value`` as an int; ValueError naming ``name`` unless it is an int (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}{note}, got {value!r}")
    return int(value)
