"""Checkers of lesson 05 accept correct answers and reject each named mistake, saying which."""
import numpy as np
import pytest
import tensorflow as tf

from course_lib.checks import CheckFailure
from course_lib.checks.gan import (check_conv_transpose_output_size, check_discriminator_loss,
                                   check_generator_loss)

softplus = tf.math.softplus


# ------------------------------------------------------------------ discriminator loss

def d_loss_ok(real, fake):
    return tf.reduce_mean(softplus(-real)) + tf.reduce_mean(softplus(fake))


def test_discriminator_loss_accepts_stable_softplus_form():
    assert "discriminator loss" in check_discriminator_loss(d_loss_ok)


def test_discriminator_loss_accepts_numpy_implementation():
    def np_loss(real, fake):
        real, fake = np.asarray(real, "float64"), np.asarray(fake, "float64")
        return np.mean(np.logaddexp(0, -real)) + np.mean(np.logaddexp(0, fake))
    check_discriminator_loss(np_loss)


@pytest.mark.parametrize("wrong, message", [
    (lambda r, f: tf.reduce_mean(softplus(r)) + tf.reduce_mean(softplus(-f)), "labels swapped"),
    (lambda r, f: d_loss_ok(tf.sigmoid(r), tf.sigmoid(f)), "sigmoid applied twice"),
    (lambda r, f: tf.reduce_mean(-tf.math.log(tf.clip_by_value(r, 1e-7, 1 - 1e-7)))
     + tf.reduce_mean(-tf.math.log(tf.clip_by_value(1 - f, 1e-7, 1 - 1e-7))), "treated as probabilities"),
    (lambda r, f: tf.reduce_mean(softplus(-r)), "only the real half"),
    (lambda r, f: d_loss_ok(r, f) / 2, "half of the expected"),
])
def test_discriminator_loss_rejects_named_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        check_discriminator_loss(wrong)


def test_discriminator_loss_rejects_unstable_log_sigmoid_and_names_the_case():
    def naive(real, fake):
        return (tf.reduce_mean(-tf.math.log(tf.sigmoid(real)))
                + tf.reduce_mean(-tf.math.log(1 - tf.sigmoid(fake))))
    with pytest.raises(CheckFailure, match=r"large logits.*NaN or inf"):
        check_discriminator_loss(naive)


def test_discriminator_loss_rejects_per_example_loss_and_none():
    with pytest.raises(CheckFailure, match="must be a scalar"):
        check_discriminator_loss(lambda r, f: softplus(-r) + softplus(f))
    with pytest.raises(CheckFailure, match="returned None"):
        check_discriminator_loss(lambda r, f: None)
    def todo(r, f):
        raise NotImplementedError()
    with pytest.raises(CheckFailure, match="not implemented yet"):
        check_discriminator_loss(todo)


def test_discriminator_loss_failure_reports_case_and_error():
    with pytest.raises(CheckFailure, match=r"\[random logits, batch 1: .*max abs error"):
        check_discriminator_loss(lambda r, f: d_loss_ok(r, f) + 0.01)


# ------------------------------------------------------------------ generator loss

def test_generator_loss_accepts_non_saturating():
    assert "non-saturating" in check_generator_loss(lambda f: tf.reduce_mean(softplus(-f)))


@pytest.mark.parametrize("wrong, message", [
    (lambda f: -tf.reduce_mean(softplus(f)), "SATURATING"),           # log(1 - D(G(z)))
    (lambda f: tf.reduce_mean(softplus(f)), "labels swapped"),
    (lambda f: tf.reduce_mean(softplus(-tf.sigmoid(f))), "sigmoid applied twice"),
    (lambda f: tf.reduce_mean(-tf.math.log(tf.clip_by_value(f, 1e-7, 1 - 1e-7))), "treated as probabilities"),
])
def test_generator_loss_rejects_named_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        check_generator_loss(wrong)


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
        check_generator_loss("not a function")
