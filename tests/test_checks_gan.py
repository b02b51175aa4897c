"""Checkers of lesson 05 accept correct answers and reject each named mistake, saying which."""
import numpy as np
import pytest
import tensorflow as tf

from course_lib.checks import CheckFailure
from course_lib.checks.gan import (check_conv_transpose_output_size, check_hinge_discriminator_loss,
                                   check_hinge_generator_loss)

softplus = tf.math.softplus
relu = tf.nn.relu


# ------------------------------------------------------------------ discriminator loss

def d_loss_ok(real, fake):
    return tf.reduce_mean(relu(1.0 - real)) + tf.reduce_mean(relu(1.0 + fake))


def bce_d_loss(real, fake):
    """The lesson's (and the old exercise's) discriminator loss: the old checker asked for it."""
    return tf.reduce_mean(softplus(-real)) + tf.reduce_mean(softplus(fake))


def test_discriminator_loss_accepts_the_hinge_loss():
    assert "hinge discriminator loss" in check_hinge_discriminator_loss(d_loss_ok)


def test_discriminator_loss_accepts_numpy_and_keras_implementations():
    def np_loss(real, fake):
        real, fake = np.asarray(real, "float64"), np.asarray(fake, "float64")
        return np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake))
    check_hinge_discriminator_loss(np_loss)
    import keras
    hinge = keras.losses.Hinge()
    check_hinge_discriminator_loss(lambda r, f: hinge(tf.ones_like(r), r) + hinge(-tf.ones_like(f), f))


@pytest.mark.parametrize("wrong, message", [
    (bce_d_loss, "lesson's binary cross-entropy"),
    (lambda r, f: tf.reduce_mean(relu(1.0 + r)) + tf.reduce_mean(relu(1.0 - f)), "labels swapped"),
    (lambda r, f: tf.reduce_mean(1.0 - r) + tf.reduce_mean(1.0 + f), "without the max"),
    (lambda r, f: tf.reduce_mean(relu(1.0 - r)), "only the real half"),
    (lambda r, f: d_loss_ok(r, f) / 2, "half of the expected"),
])
def test_discriminator_loss_rejects_named_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        check_hinge_discriminator_loss(wrong)


def test_discriminator_loss_rejects_per_example_loss_and_none():
    with pytest.raises(CheckFailure, match="must be a scalar"):
        check_hinge_discriminator_loss(lambda r, f: relu(1.0 - r) + relu(1.0 + f))
    with pytest.raises(CheckFailure, match="returned None"):
        check_hinge_discriminator_loss(lambda r, f: None)
    with pytest.raises(CheckFailure, match="could not turn your result of type object into a numeric"):
        check_hinge_discriminator_loss(lambda r, f: object())

    def todo(r, f):
        raise NotImplementedError()
    with pytest.raises(CheckFailure, match="not implemented yet"):
        check_hinge_discriminator_loss(todo)


def test_discriminator_loss_failure_reports_case_and_error():
    with pytest.raises(CheckFailure, match=r"\[random logits, batch 1: .*differs from keras.losses.Hinge.*max abs error"):
        check_hinge_discriminator_loss(lambda r, f: d_loss_ok(r, f) + 0.01)


# ------------------------------------------------------------------ generator loss

def test_generator_loss_accepts_the_linear_hinge_gan_loss():
    assert "hinge generator loss" in check_hinge_generator_loss(lambda f: -tf.reduce_mean(f))


@pytest.mark.parametrize("wrong, message", [
    (lambda f: tf.reduce_mean(softplus(-f)), "non-saturating BCE"),            # the lesson's (and old exercise's)
    (lambda f: tf.reduce_mean(relu(1.0 - f)), "generator's hinge-GAN loss is linear"),
    (lambda f: tf.reduce_mean(f), "sign is reversed"),
])
def test_generator_loss_rejects_named_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        check_hinge_generator_loss(wrong)


def test_the_loss_checkers_let_the_learner_use_tensorflow_and_the_size_checker_does_not():
    assert check_hinge_discriminator_loss.framework_allowed and check_hinge_generator_loss.framework_allowed
    assert not getattr(check_conv_transpose_output_size, "framework_allowed", False)


# ------------------------------------------------------------------ transposed-conv output size

def size_ok(n, kernel_size, stride, padding):
    if padding == "same":
        return n * stride
    return (n - 1) * stride + max(kernel_size, stride)


def test_conv_transpose_size_accepts_keras_rule():
    assert "transposed" in check_conv_transpose_output_size(size_ok)


def test_conv_transpose_size_rejects_textbook_formula_when_kernel_below_stride():
    with pytest.raises(CheckFailure, match=r"kernel_size=2, stride=3.*never returns less"):
        check_conv_transpose_output_size(
            lambda n, k, s, p: n * s if p == "same" else (n - 1) * s + k)


def test_conv_transpose_size_rejects_valid_formula_for_same_and_conv_formula():
    with pytest.raises(CheckFailure, match="padding='same'.*That is the 'valid' size"):
        check_conv_transpose_output_size(lambda n, k, s, p: size_ok(n, k, s, "valid"))
    with pytest.raises(CheckFailure, match="Keras Conv2DTranspose gives"):
        check_conv_transpose_output_size(lambda n, k, s, p: (n - k) // s + 1)


def test_conv_transpose_size_rejects_non_integer():
    with pytest.raises(CheckFailure, match="whole number"):
        check_conv_transpose_output_size(lambda n, k, s, p: size_ok(n, k, s, p) + 0.5)


def test_checkers_reject_non_callable():
    with pytest.raises(TypeError, match="expected a function"):
        check_hinge_generator_loss("not a function")
