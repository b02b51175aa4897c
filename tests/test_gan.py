"""course_lib.models.gan: the DCGAN builders, the GAN train_step (plain, mixed_float16) and the
SampleGrid callback. Tiny models and data: seconds, not minutes. The train_step under MirroredStrategy
over two logical CPUs is checked in test_multidevice.py (it shares that file's subprocess)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import data
from course_lib.models import gan as G


def tiny_real(n=128):
    x, _ = data.load_fashion_mnist("train", subset=n)
    return data.images_to_float(x) * 2 - 1


def tiny_gan(lr=1e-3):
    keras.utils.set_random_seed(0)
    return G.build_gan(latent_dim=8, g_filters=8, d_filters=8, d_learning_rate=lr, g_learning_rate=lr)


def test_shapes_ranges_and_dtypes():
    gen, disc = G.build_generator(latent_dim=8, filters=8), G.build_discriminator(filters=8)
    images = gen(np.zeros((3, 8), "float32"))
    assert images.shape == (3, 28, 28, 1) and images.dtype == "float32"
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0
    assert disc(images).shape == (3, 1)


def d_loss_on(gan, real, z):
    """Discriminator loss on a fixed batch and fixed noise (batch statistics in D, as in training)."""
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    fake = gan.generator(z, training=False)
    r, f = gan.discriminator(real, training=True), gan.discriminator(fake, training=True)
    return float(bce(tf.ones_like(r), r) + bce(tf.zeros_like(f), f))


def test_train_step_teaches_the_discriminator_and_moves_both_networks():
    gan = tiny_gan()
    real = tiny_real(128)
    z = np.random.default_rng(0).normal(size=(128, 8)).astype("float32")
    g_before = [w.copy() for w in gan.generator.get_weights()]
    before = d_loss_on(gan, real, z)
    assert before == pytest.approx(2 * np.log(2), abs=0.3)     # an untrained D is near chance
    hist = gan.fit(tf.data.Dataset.from_tensor_slices(real).repeat().batch(32), epochs=2,
                   steps_per_epoch=15, verbose=0)
    after = d_loss_on(gan, real, z)
    assert after < before - 0.2, (before, after)
    assert hist.history["d_acc"][-1] > 0.75, hist.history      # chance is 0.5
    assert hist.history["d_real"][-1] > hist.history["d_fake"][-1]
    moved = max(np.abs(a - b).max() for a, b in zip(gan.generator.get_weights(), g_before))
    assert moved > 1e-3
    for key in ("d_loss", "g_loss", "d_acc", "d_real", "d_fake"):
        assert np.isfinite(hist.history[key]).all()


def test_train_step_accepts_image_label_pairs():
    gan = tiny_gan()
    real = tiny_real(64)
    ds = tf.data.Dataset.from_tensor_slices((real, np.zeros(64, "int32"))).batch(32)
    hist = gan.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(hist.history["g_loss"]).all()


def test_mixed_float16_wraps_both_optimizers_and_trains():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        gan = tiny_gan()
        assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
        assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
        assert gan.generator.get_layer("up14").compute_dtype == "float16"
        assert gan.generator.get_layer("up14").kernel.dtype == "float32"    # master weights stay float32
        d_before = [w.copy() for w in gan.discriminator.get_weights()]
        hist = gan.fit(tf.data.Dataset.from_tensor_slices(tiny_real(64)).batch(32), epochs=2, verbose=0)
        assert gan(np.zeros((2, 8), "float32")).dtype == "float32"
        assert np.isfinite(hist.history["d_loss"]).all() and np.isfinite(hist.history["g_loss"]).all()
        moved = max(np.abs(a - b).max() for a, b in zip(gan.discriminator.get_weights(), d_before))
        assert moved > 1e-4      # loss scaling did not skip every step
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert not isinstance(tiny_gan().d_optimizer, keras.optimizers.LossScaleOptimizer)


def test_sample_grid_records_fixed_noise_samples():
    gan = tiny_gan()
    noise = np.random.default_rng(0).normal(size=(5, 8))
    grid = G.SampleGrid(noise)
    gan.fit(tf.data.Dataset.from_tensor_slices(tiny_real(64)).batch(32), epochs=2, callbacks=[grid], verbose=0)
    assert sorted(grid.images) == [0, 1, 2]
    assert grid.images[2].shape == (5, 28, 28, 1)
    assert grid.images[2].min() >= 0 and grid.images[2].max() <= 1
    np.testing.assert_allclose(grid.images[2], G.to_unit(gan.generator(noise.astype("float32"))), atol=1e-6)
    assert not np.allclose(grid.images[0], grid.images[2])        # training changed the samples
    fig = grid.plot(epochs=[0, 2], max_samples=3)
    assert len(fig.axes) == 6
    with pytest.raises(ValueError, match=r"no samples recorded for epochs \[7\]"):
        grid.plot(epochs=[7])


def test_bad_inputs():
    with pytest.raises(ValueError, match="latent_dim must be a positive int"):
        G.build_generator(latent_dim=0)
    with pytest.raises(ValueError, match="filters must be a positive int"):
        G.build_discriminator(filters=2.5)
    with pytest.raises(ValueError, match="d_learning_rate must be a positive number"):
        G.build_gan(d_learning_rate=-1.0)
    with pytest.raises(ValueError, match=r"noise must have shape \(n, latent_dim\)"):
        G.SampleGrid(np.zeros(8))
    gan = G.GAN(G.build_generator(8, 8), G.build_discriminator(8))
    with pytest.raises(TypeError, match="expected a keras.optimizers.Optimizer"):
        gan.compile(d_optimizer="adam", g_optimizer=keras.optimizers.Adam())
    with pytest.raises(TypeError, match="must be keras.Model instances"):
        G.GAN(lambda z: z, G.build_discriminator(8))
    gan = tiny_gan()
    with pytest.raises(ValueError, match="generator expects latent_dim=8"):
        gan.fit(tf.data.Dataset.from_tensor_slices(tiny_real(32)).batch(32), epochs=1, verbose=0,
                callbacks=[G.SampleGrid(np.zeros((2, 5)))])
