"""The GAN's generator step must make a FROZEN discriminator call the fakes more real: D(G(z)) rises.

The discriminator's optimizer has learning rate 0, so D is one fixed function (in training mode, as the
step uses it: batch statistics, which its moving averages do not change); only G learns. The
non-saturating generator loss BCE(1, D(G(z))) (Goodfellow et al. 2014) must raise mean sigmoid(D(G(z)))
on a fixed noise batch; a generator trained with swapped labels (BCE(0, D(G(z)))) lowers it.
"""
import keras
import numpy as np
import tensorflow as tf

from course_lib import data
from course_lib.models import gan as G


def frozen_d_gan():
    keras.utils.set_random_seed(0)
    gan = G.GAN(G.build_generator(latent_dim=8, filters=8), G.build_discriminator(filters=8))
    gan.compile(d_optimizer=keras.optimizers.SGD(0.0), g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5))
    return gan


def d_of_g(gan, z):
    """mean D(G(z)) as a probability, both networks in training mode (as in the generator step)."""
    return float(tf.reduce_mean(tf.sigmoid(gan.discriminator(gan.generator(z, training=True), training=True))))


def test_generator_step_raises_d_of_g_against_a_frozen_discriminator():
    gan = frozen_d_gan()
    x, _ = data.load_fashion_mnist("train", subset=64)
    real = data.images_to_float(x) * 2 - 1
    z = tf.constant(np.random.default_rng(1).normal(size=(64, 8)), "float32")
    d_weights = [w.numpy().copy() for w in gan.discriminator.trainable_weights]
    g_before = [w.copy() for w in gan.generator.get_weights()]
    before = d_of_g(gan, z)
    hist = gan.fit(tf.data.Dataset.from_tensor_slices(real).repeat().batch(32), epochs=1, steps_per_epoch=12,
                   verbose=0)
    after = d_of_g(gan, z)
    for a, b in zip(d_weights, gan.discriminator.trainable_weights):    # D really was frozen
        np.testing.assert_array_equal(a, b.numpy())
    assert max(np.abs(a - b).max() for a, b in zip(gan.generator.get_weights(), g_before)) > 1e-3
    assert after > before + 0.1, (before, after)      # 0.72 -> 0.97 seen
    assert np.isfinite(hist.history["g_loss"]).all()
