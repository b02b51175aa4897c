"""A DCGAN for 28x28 grey images (Fashion-MNIST), trained with a custom ``train_step``.

    build_generator(latent_dim)   z float (N, latent_dim)        -> images float32 (N, 28, 28, 1) in [-1, 1]
    build_discriminator()         images float (N, 28, 28, 1)    -> logits float32 (N, 1)
    GAN(generator, discriminator) keras.Model; ``compile(d_optimizer=..., g_optimizer=...)``; ``fit(images)``
    build_gan(...)                all of the above, built and compiled inside a strategy scope
    SampleGrid(noise)             callback: generator samples from a FIXED noise batch after each epoch

The architecture follows the guidelines of Radford, Metz & Chintala (2015), "Unsupervised
Representation Learning with Deep Convolutional Generative Adversarial Networks": strided (transposed)
convolutions instead of pooling, BatchNorm in both networks (not on the generator output nor the
discriminator input), ReLU in the generator with a tanh output, LeakyReLU(0.2) in the discriminator,
Adam(2e-4, beta_1=0.5).

The losses are those of Goodfellow et al. (2014), "Generative Adversarial Nets", with the
non-saturating generator loss:  D minimises  BCE(1, D(x)) + BCE(0, D(G(z))),  G minimises  BCE(1, D(G(z))).

Works under any ``tf.distribute`` strategy (build inside ``strategy.scope()``; ``build_gan`` does)
and under the ``mixed_float16`` policy: both optimizers are then wrapped in
``keras.optimizers.LossScaleOptimizer``, and logits / images are float32.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from course_lib import _args
from course_lib.training import CheckFiniteLoss


def _positive_int(value, name):
    return _args.int_at_least(name, value)


def build_generator(latent_dim: int = 64, filters: int = 64, name: str = "generator") -> keras.Model:
    """DCGAN generator. z (N, latent_dim) -> float32 images (N, 28, 28, 1) in [-1, 1].

    Dense -> (7, 7, 2*filters) -> ConvT(filters, 4, stride 2) -> (14, 14, filters)
    -> ConvT(1, 4, stride 2) -> (28, 28, 1) -> tanh. BatchNorm + ReLU after every layer but the last.
    """
    latent_dim = _positive_int(latent_dim, "latent_dim")
    filters = _positive_int(filters, "filters")
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(7 * 7 * 2 * filters, use_bias=False, name="project")(z)
    x = layers.BatchNormalization(name="project_bn")(x)
    x = layers.ReLU(name="project_relu")(x)
    x = layers.Reshape((7, 7, 2 * filters), name="to_7x7")(x)
    x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False, name="up14")(x)
    x = layers.BatchNormalization(name="up14_bn")(x)
    x = layers.ReLU(name="up14_relu")(x)
    x = layers.Conv2DTranspose(1, 4, strides=2, padding="same", name="up28")(x)
    images = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(z, images, name=name)


def build_discriminator(filters: int = 64, input_shape=(28, 28, 1), name: str = "discriminator") -> keras.Model:
    """DCGAN discriminator. images (N, 28, 28, 1) in [-1, 1] -> float32 logits (N, 1) (no sigmoid).

    Conv(filters, 4, stride 2) -> LeakyReLU -> Conv(2*filters, 4, stride 2) -> BatchNorm -> LeakyReLU
    -> Flatten -> Dense(1).
    """
    filters = _positive_int(filters, "filters")
    images = keras.Input(_args.image_shape("input_shape", input_shape), name="image")
    x = layers.Conv2D(filters, 4, strides=2, padding="same", name="down14")(images)
    x = layers.LeakyReLU(0.2, name="down14_lrelu")(x)
    x = layers.Conv2D(2 * filters, 4, strides=2, padding="same", use_bias=False, name="down7")(x)
    x = layers.BatchNormalization(name="down7_bn")(x)
    x = layers.LeakyReLU(0.2, name="down7_lrelu")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(1, name="logit_raw")(x)
    logits = layers.Activation("linear", dtype="float32", name="logit")(x)
    return keras.Model(images, logits, name=name)


def _loss_scaled(optimizer):
    """Wrap ``optimizer`` in a LossScaleOptimizer when the global policy is mixed_float16."""
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(f"expected a keras.optimizers.Optimizer, got {type(optimizer).__name__}")
    if (keras.mixed_precision.global_policy().name == "mixed_float16"
            and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


class GAN(keras.Model):
    """Generator + discriminator trained by alternating one D step and one G step per batch.

    ``fit`` takes a dataset of image batches (N, 28, 28, 1) in [-1, 1] (or (images, labels); labels
    are ignored). Logged per epoch: d_loss, g_loss, d_acc (D's accuracy on real + fake, threshold 0.5),
    d_real = mean D(x), d_fake = mean D(G(z)).  ``gan(z)`` returns generator images.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(generator, keras.Model) or not isinstance(discriminator, keras.Model):
            raise TypeError("generator and discriminator must be keras.Model instances")
        if len(generator.inputs) != 1 or len(generator.inputs[0].shape) != 2:
            raise ValueError(f"generator must take one input z of shape (N, latent_dim), got "
                             f"{[tuple(i.shape) for i in generator.inputs]}")
        made, judged = tuple(generator.outputs[0].shape[1:]), tuple(discriminator.inputs[0].shape[1:])
        if made != judged:
            raise ValueError(f"the generator makes images of shape {made} but the discriminator takes {judged}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(generator.inputs[0].shape[-1])
        names = ("d_loss", "g_loss", "d_acc", "d_real", "d_fake")
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}
        self.built = True  # both parts are built functional models; nothing left for fit to trace

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """d_optimizer, g_optimizer: keras optimizers (e.g. Adam(2e-4, beta_1=0.5)).

        Call inside the strategy scope. Under mixed_float16 both are wrapped in LossScaleOptimizer.
        """
        self.d_optimizer = _loss_scaled(d_optimizer)
        self.g_optimizer = _loss_scaled(g_optimizer)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        # Keras' own ``optimizer`` slot gets D's optimizer (already built), so no unused optimizer is made.
        super().compile(optimizer=self.d_optimizer, **kwargs)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction="none")

    def fit(self, x=None, *args, shuffle=False, callbacks=None, **kwargs):
        """keras.Model.fit; ``shuffle`` defaults to False because the tf.data pipeline shuffles.

        A loss that turns NaN or inf stops the training with an error (``training.CheckFiniteLoss``).
        """
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"callbacks must be a list of keras.callbacks.Callback, got {type(callbacks).__name__}")
        callbacks = [CheckFiniteLoss(x if isinstance(x, tf.data.Dataset) else None)] + list(callbacks or [])
        return super().fit(x, *args, shuffle=shuffle, callbacks=callbacks, **kwargs)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _mean_loss(self, labels, logits):
        """Per-replica mean of BCE; returned twice: as logged, and divided by the number of replicas
        (gradients are summed over replicas, so this gives the gradient of the global-batch mean)."""
        loss = tf.reduce_mean(self.bce(labels, logits))
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return loss, loss / tf.cast(replicas, loss.dtype)

    def train_step(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        real = tf.cast(real, self.compute_dtype)
        batch = tf.shape(real)[0]

        # 1) discriminator: real -> 1, fake -> 0
        z = tf.random.normal((batch, self.latent_dim))
        fake = self.generator(z, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            loss_real, scaled_real = self._mean_loss(tf.ones_like(real_logits), real_logits)
            loss_fake, scaled_fake = self._mean_loss(tf.zeros_like(fake_logits), fake_logits)
            d_loss = loss_real + loss_fake
            scaled = self.d_optimizer.scale_loss(scaled_real + scaled_fake)
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))

        # 2) generator, non-saturating: make D call fakes real (fresh noise)
        z = tf.random.normal((batch, self.latent_dim))
        with tf.GradientTape() as tape:
            gen_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss, scaled = self._mean_loss(tf.ones_like(gen_logits), gen_logits)
            scaled = self.g_optimizer.scale_loss(scaled)
        grads = tape.gradient(scaled, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))

        correct = tf.concat([tf.cast(real_logits > 0, "float32"), tf.cast(fake_logits <= 0, "float32")], 0)
        self.trackers["d_loss"].update_state(d_loss)
        self.trackers["g_loss"].update_state(g_loss)
        self.trackers["d_acc"].update_state(tf.reduce_mean(correct))
        self.trackers["d_real"].update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.trackers["d_fake"].update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        return {name: t.result() for name, t in self.trackers.items()}


def build_gan(latent_dim: int = 64, g_filters: int = 64, d_filters: int = 64, d_learning_rate: float = 2e-4,
              g_learning_rate: float = 2e-4, beta_1: float = 0.5, strategy=None) -> GAN:
    """Generator + discriminator + GAN, built and compiled with two Adam optimizers in ``strategy.scope()``."""
    _args.positive_number("d_learning_rate", d_learning_rate)
    _args.positive_number("g_learning_rate", g_learning_rate)
    _args.number_in("beta_1", beta_1, 0, 1, high_open=True)
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        gan = GAN(build_generator(latent_dim, g_filters), build_discriminator(d_filters))
        gan.compile(d_optimizer=keras.optimizers.Adam(d_learning_rate, beta_1=beta_1),
                    g_optimizer=keras.optimizers.Adam(g_learning_rate, beta_1=beta_1))
    return gan


def to_unit(images) -> np.ndarray:
    """Generator images in [-1, 1] -> numpy float32 in [0, 1] (same shape). NaN or inf is refused."""
    images = _args.numeric_array("images", images)
    return ((images.astype("float32") + 1.0) / 2.0).clip(0.0, 1.0)


class SampleGrid(keras.callbacks.Callback):
    """Keep generator samples from one FIXED noise batch (n, latent_dim) after every ``every`` epochs.

    ``images``: {epoch (1-based): float32 (n, 28, 28, 1) in [0, 1]}. Epoch 0 (before training) is
    recorded in ``on_train_begin``. Fixed noise makes the grids comparable: the same z, a better G.
    """

    def __init__(self, noise, every: int = 1):
        super().__init__()
        noise = _args.numeric_array("noise", noise, ndim=2, shape="(n, latent_dim)", min_rows=1)
        self.noise = noise.astype("float32")
        self.every = _positive_int(every, "every")
        self.images: dict[int, np.ndarray] = {}

    def _record(self, epoch):
        self.images[epoch] = to_unit(self.model.generator(self.noise, training=False))

    def on_train_begin(self, logs=None):
        if self.noise.shape[1] != self.model.latent_dim:
            raise ValueError(f"noise has {self.noise.shape[1]} columns but the generator expects "
                             f"latent_dim={self.model.latent_dim}")
        if not self.images:
            self._record(0)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._record(epoch + 1)

    def plot(self, epochs=None, max_samples: int = 10, size: float = 0.8):
        """One row per recorded epoch (default: all), ``max_samples`` columns. Returns the figure."""
        import matplotlib.pyplot as plt

        max_samples = _args.int_at_least("max_samples", max_samples)
        size = _args.positive_number("size", size)
        epochs = sorted(self.images) if epochs is None else list(epochs)
        missing = [e for e in epochs if e not in self.images]
        if missing:
            raise ValueError(f"no samples recorded for epochs {missing}; recorded: {sorted(self.images)}")
        n = min(max_samples, len(self.noise))
        fig, axes = plt.subplots(len(epochs), n, figsize=(size * n, size * len(epochs)), squeeze=False)
        for r, e in enumerate(epochs):
            for c in range(n):
                ax = axes[r, c]
                ax.imshow(self.images[e][c, ..., 0], cmap="gray", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
            axes[r, 0].set_ylabel(f"epoch {e}", fontsize=7)
        fig.suptitle("samples from a fixed noise batch", fontsize=9)
        fig.tight_layout()
        return fig
