"""Quick mode: the one switch that shrinks data, epochs and steps everywhere.

Set the environment variable ``COURSE_QUICK=1`` before starting Python (the test suite does this)
and every lesson runs in about a minute on a laptop CPU. Unset, or ``0``, means default mode: the
full lesson, which still finishes in minutes on a CPU and trains fully on a GPU.

This module is the only place that reads the variable. Notebooks never invent their own switch:

    from course_lib import quick
    EPOCHS = quick.pick(quick=1, full=12)
    TRAIN_SIZE = quick.sizes.fmnist_train
"""
from __future__ import annotations

import os
from dataclasses import dataclass

ENV_VAR = "COURSE_QUICK"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def is_quick() -> bool:
    """True when ``COURSE_QUICK`` is set to 1/true/yes/on (read on every call)."""
    raw = os.environ.get(ENV_VAR, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{ENV_VAR}={raw!r} is not understood; expected 1 (quick mode) or 0 (default mode)")


def pick(quick, full):
    """Return ``quick`` in quick mode and ``full`` in default mode.

    >>> pick(quick=1, full=10)  # doctest: +SKIP
    """
    return quick if is_quick() else full


@dataclass(frozen=True)
class Sizes:
    """Sizes shared by several lessons. Lesson-specific sizes use ``pick`` in the notebook."""

    fmnist_train: int | None   # training images per run (None = all 60,000)
    fmnist_test: int | None    # test images for evaluation (None = all 10,000)
    cnn_epochs: int            # epochs for the course CNN
    batch_size: int
    spam_train: int | None     # SpamAssassin training emails (None = whole split)
    text_epochs: int           # epochs for text models
    max_steps: int | None      # cap on steps for slow loops (None = no cap)


QUICK_SIZES = Sizes(fmnist_train=3000, fmnist_test=1000, cnn_epochs=2, batch_size=128,
                    spam_train=800, text_epochs=2, max_steps=30)
FULL_SIZES = Sizes(fmnist_train=None, fmnist_test=None, cnn_epochs=12, batch_size=128,
                   spam_train=None, text_epochs=8, max_steps=None)


def get_sizes() -> Sizes:
    """The :class:`Sizes` for the current mode."""
    return QUICK_SIZES if is_quick() else FULL_SIZES


def mode_name() -> str:
    return "quick" if is_quick() else "default"


def __getattr__(name):  # ``quick.sizes`` always reflects the current environment
    if name == "sizes":
        return get_sizes()
    raise AttributeError(name)
