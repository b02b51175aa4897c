"""Checkers for lesson 05 (GANs). The answer key is Keras: ``keras.losses.Hinge`` for the losses,
``keras.layers.Conv2DTranspose`` for output sizes.

    check_hinge_discriminator_loss(fn)   fn(real_logits (N, 1), fake_logits (N, 1)) -> scalar
                                         mean max(0, 1 - D(x)) + mean max(0, 1 + D(G(z)))
    check_hinge_generator_loss(fn)       fn(fake_logits (N, 1)) -> scalar, -mean D(G(z))
    check_conv_transpose_output_size(fn) fn(n, kernel_size, stride, padding) -> int, as Keras computes it

The hinge losses are the GAN losses of Lim & Ye (2017, *Geometric GAN*) and Miyato et al. (2018,
*Spectral Normalization for GANs*); the lesson trains with the binary cross-entropy losses. The two loss
exercises may use TensorFlow (``allows_framework``); the output size is from scratch. When the
learner's answer equals a known mistake (labels swapped, the lesson's BCE loss, the hinge where the
generator's loss is linear), the failure message names it.
"""
from __future__ import annotations

import numpy as np

from . import CheckFailure, allows_framework, assert_close, call_learner, describe_case, passed
from . import in_float32

HINGE = "keras.losses.Hinge"


def _hinge(label, logits):
    """keras.losses.Hinge with every label = ``label`` (+1 or -1): mean max(0, 1 - label * logit)."""
    import keras

    labels = np.full(np.shape(logits), label, dtype="float32")
    return float(keras.losses.Hinge()(labels, logits))


def _bce(labels_value, logits):
    import keras

    labels = np.full(np.shape(logits), labels_value, dtype="float32")
    return float(keras.losses.BinaryCrossentropy(from_logits=True)(labels, logits))


def _mean(logits):
    import keras

    return float(keras.ops.mean(logits))


def _logit_cases(rng):
    """(name, real_logits, fake_logits) float32 (N, 1); awkward: batch 1, logits inside and outside the margin."""
    cases = []
    for n in (1, 7, 64):
        cases.append((f"random logits, batch {n}", rng.normal(0, 2, (n, 1)), rng.normal(0, 2, (n, 1))))
    cases.append(("inside the margin: |logits| < 1", rng.uniform(-0.9, 0.9, (16, 1)), rng.uniform(-0.9, 0.9, (16, 1))))
    cases.append(("confident D: real logits ~ +6, fake ~ -6", rng.normal(6, 1, (16, 1)), rng.normal(-6, 1, (16, 1))))
    cases.append(("fooled D: real logits ~ -5, fake ~ +5", rng.normal(-5, 1, (16, 1)), rng.normal(5, 1, (16, 1))))
    return [(name, r.astype("float32"), f.astype("float32")) for name, r, f in cases]


def _diagnose(got, known, atol=1e-4):
    """Name the known mistake ``got`` equals, if any."""
    try:
        g = float(np.asarray(got, dtype="float64"))
    except Exception:
        return ""
    for label, value in known.items():
        if np.isfinite(value) and abs(g - value) <= atol + 1e-4 * abs(value):
            return f" Your value equals {label}."
    return ""


def _check_scalar(got, expected, case, known, what, reference=HINGE):
    if got is None:
        raise CheckFailure(f"[{case}] your function returned None for the {what}; did you forget `return`?")
    try:
        ndim = np.ndim(got)
    except Exception:
        raise CheckFailure(f"[{case}] the {what} must be a number, got {type(got).__name__}") from None
    if ndim != 0:
        raise CheckFailure(f"[{case}] the {what} must be a scalar (mean over the batch), got shape {np.shape(got)}")
    try:
        return assert_close(got, expected, case, what, atol=1e-4, rtol=1e-4, reference=reference)
    except CheckFailure as e:
        raise CheckFailure(str(e) + _diagnose(got, known)) from None


@allows_framework
@in_float32
def check_hinge_discriminator_loss(fn, seed: int = 0) -> str:
    """fn(real_logits, fake_logits) must return mean max(0, 1 - D(x)) + mean max(0, 1 + D(G(z))).

    D's outputs are raw scores (logits), as in the lesson; the reference is keras.losses.Hinge with
    label +1 for real and -1 for fake images, summed.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    max_err = 0.0
    cases = _logit_cases(rng)
    for name, real, fake in cases:
        case = f"{name}: " + describe_case(real_logits=real, fake_logits=fake)
        got = call_learner(fn, case, tf.constant(real), tf.constant(fake))
        expected = _hinge(1, real) + _hinge(-1, fake)
        known = {"the hinge loss with the labels swapped (real -> -1, fake -> +1)": _hinge(-1, real) + _hinge(1, fake),
                 "the lesson's binary cross-entropy loss, not the hinge loss": _bce(1, real) + _bce(0, fake),
                 "the loss without the max(0, .) (a linear loss: 2 - mean D(x) + mean D(G(z)))":
                     2 - _mean(real) + _mean(fake),
                 "only the real half of the loss": _hinge(1, real),
                 "only the fake half of the loss": _hinge(-1, fake),
                 "half of the expected loss (mean over real and fake together)": (_hinge(1, real) + _hinge(-1, fake)) / 2}
        max_err = max(max_err, _check_scalar(got, expected, case, known, "discriminator loss"))
    return passed("hinge discriminator loss", len(cases), max_err, HINGE)


@allows_framework
@in_float32
def check_hinge_generator_loss(fn, seed: int = 0) -> str:
    """fn(fake_logits) must return the hinge GAN's generator loss -mean D(G(z)) (no max: it is linear)."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    max_err = 0.0
    cases = _logit_cases(rng)
    for name, _, fake in cases:
        case = f"{name}: " + describe_case(fake_logits=fake)
        got = call_learner(fn, case, tf.constant(fake))
        expected = -_mean(fake)
        known = {"mean max(0, 1 - D(G(z))), the discriminator's hinge for real images; the generator's hinge-GAN "
                 "loss is linear, -mean D(G(z))": _hinge(1, fake),
                 "+mean D(G(z)): the sign is reversed (the generator wants D(G(z)) high)": _mean(fake),
                 "the lesson's non-saturating BCE loss, not the hinge GAN's": _bce(1, fake)}
        max_err = max(max_err, _check_scalar(got, expected, case, known, "generator loss", "-keras.ops.mean"))
    return passed("hinge generator loss", len(cases), max_err, "-keras.ops.mean")


def _keras_conv_transpose_size(n, kernel_size, stride, padding):
    import keras

    layer = keras.layers.Conv2DTranspose(1, kernel_size, strides=stride, padding=padding)
    return int(layer.compute_output_shape((1, n, n, 1))[1])


CONV_T_CASES = [(n, k, s, p) for p in ("valid", "same") for (n, k, s) in
                [(7, 4, 2), (7, 3, 2), (14, 5, 2), (5, 3, 1), (4, 1, 1), (6, 2, 3), (3, 1, 2), (9, 4, 3), (1, 3, 2)]]


@in_float32
def check_conv_transpose_output_size(fn) -> str:
    """fn(n, kernel_size, stride, padding) -> output size of Conv2DTranspose along one axis (no output_padding).

    Checked against ``keras.layers.Conv2DTranspose(...).compute_output_shape`` on a grid of cases,
    including kernel smaller than stride.
    """
    for n, k, s, p in CONV_T_CASES:
        case = describe_case(n=n, kernel_size=k, stride=s, padding=p)
        got = call_learner(fn, case, n, k, s, p)
        expected = _keras_conv_transpose_size(n, k, s, p)
        if got is None:
            raise CheckFailure(f"[{case}] your function returned None; did you forget `return`?")
        try:
            ok = int(got) == got
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise CheckFailure(f"[{case}] the output size must be a whole number, got {got!r}")
        if int(got) != expected:
            hint = ""
            if p == "valid" and k < s and int(got) == (n - 1) * s + k:
                hint = (" (n - 1) * stride + kernel_size is the textbook size; with kernel_size < stride Keras "
                        "never returns less than its 'same' size: run the layer on a few sizes and compare.")
            elif int(got) == (n - 1) * s + k and p == "same":
                hint = (" That is the 'valid' size; the 'same' size does not depend on kernel_size: run "
                        "keras.layers.Conv2DTranspose with padding='same' on a few sizes and compare.")
            raise CheckFailure(f"[{case}] output size {int(got)}, Keras Conv2DTranspose gives {expected}.{hint}")
    return passed("transposed-convolution output size", len(CONV_T_CASES), None, "keras.layers.Conv2DTranspose")
