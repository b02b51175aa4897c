"""Quick mode and hardware profiles: how big each lesson runs.

Set the environment variable ``COURSE_QUICK=1`` (in a shell before starting Jupyter, or in a notebook
with ``%env COURSE_QUICK=1``; the test suite does this) and every lesson runs in about a minute on a
laptop CPU. Unset, or ``0``, means default mode: the full lesson.

A lesson's sizes depend on (mode, hardware), three profiles in all:

    quick   COURSE_QUICK=1, any hardware: tiny sizes, still asserting that learning happened
    cpu     default mode on a CPU: the lesson in about 10 minutes on a 2-core laptop
    gpu     default mode on a GPU or TPU (``runtime.hardware()``): full size

This module is the only place that reads the variable. Notebooks never invent their own switch:

    from course_lib import quick
    EPOCHS = quick.pick(quick=1, cpu=6, gpu=30)     # sizes: by profile
    EPOCHS = quick.pick(quick=1, full=12)           # full=: the same on CPU and GPU
    DEEP = quick.by_hardware(cpu=False, gpu=True)   # a recipe: by hardware, in quick mode too
    TRAIN_SIZE = quick.sizes.fmnist_train

``by_hardware`` keeps one code path: in quick mode on a (real or simulated) GPU the GPU recipe runs
at quick sizes, so the tests execute it (``COURSE_SIMULATE_GPU=t4``, see ``runtime``).
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


_UNSET = object()


def hardware() -> str:
    """'gpu' or 'cpu', as ``runtime.hardware()`` says (imports TensorFlow on first use)."""
    from course_lib import runtime

    return runtime.hardware()


def pick(quick, full=_UNSET, *, cpu=_UNSET, gpu=_UNSET):
    """The value for the current profile: ``quick`` in quick mode; else ``cpu`` on a CPU and ``gpu``
    on a GPU, each defaulting to ``full``.

    >>> pick(quick=1, full=10)            # doctest: +SKIP
    >>> pick(quick=1, cpu=6, gpu=30)      # doctest: +SKIP
    """
    if full is _UNSET and (cpu is _UNSET or gpu is _UNSET):
        raise TypeError("pick needs full=, or both cpu= and gpu= (the default-mode values)")
    if full is not _UNSET and cpu is not _UNSET and gpu is not _UNSET:
        raise TypeError("pick: full= is unused when both cpu= and gpu= are given; drop it")
    if is_quick():
        return quick
    value = cpu if hardware() == "cpu" else gpu
    return full if value is _UNSET else value


def by_hardware(cpu, gpu):
    """``cpu`` on a CPU, ``gpu`` on a (real or simulated) GPU or TPU, in every mode: for recipes."""
    return gpu if hardware() == "gpu" else cpu


def profile_name() -> str:
    """'quick', 'cpu' or 'gpu': the profile that ``pick`` chooses for (quick mode wins)."""
    return "quick" if is_quick() else hardware()


@dataclass(frozen=True)
class Sizes:
    """Sizes shared by several lessons. Lesson-specific sizes use ``pick`` in the notebook."""

    fmnist_train: int | None   # training images per run (None = all 60,000)
    fmnist_test: int | None    # test images for evaluation (None = all 10,000)
    cnn_epochs: int | None     # quick mode: epochs for the course CNN; None in default mode, where each
                               # lesson picks its own with ``pick`` (a CPU and a GPU need different numbers)
    batch_size: int
    spam_train: int | None     # SpamAssassin training emails (None = whole split)
    text_epochs: int           # epochs for text models
    max_steps: int | None      # cap on steps for slow loops (None = no cap)


QUICK_SIZES = Sizes(fmnist_train=3000, fmnist_test=1000, cnn_epochs=2, batch_size=128,
                    spam_train=800, text_epochs=2, max_steps=30)
FULL_SIZES = Sizes(fmnist_train=None, fmnist_test=None, cnn_epochs=None, batch_size=128,
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
