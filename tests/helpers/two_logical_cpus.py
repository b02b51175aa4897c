"""Every MirroredStrategy check over two logical CPUs, in one process (TensorFlow is imported once).

Run as a script (logical devices must be configured before TensorFlow initialises). Prints one JSON
line: {"fit": ..., "custom_loop": ..., "gan": ...}, one entry per check; a check that raised gives
{"error": traceback} instead, so the other checks still report.

- fit: one small model trained through training.fit on one logical device and under MirroredStrategy
  over two: the weights, losses and predictions must agree.
- custom_loop: training.custom_loop_fit, the same comparison, plus the first step against a
  GradientTape reference. Plain SGD on purpose: a loss averaged per replica instead of over the
  global batch doubles the summed gradient, which SGD turns into a visibly different step (Adam
  would mostly normalise it away).
- gan: the GAN train_step under MirroredStrategy (course_lib.models.gan).
"""
import json
import traceback

from course_lib import runtime

devices = runtime.split_cpu(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_lib import data, training  # noqa: E402
from course_lib.models import gan as G  # noqa: E402

ONE = tf.distribute.OneDeviceStrategy(devices[0])
MIRRORED = tf.distribute.MirroredStrategy(devices)


def diff(a, b):
    return max(float(np.abs(u - v).max()) for u, v in zip(a, b))


def fit_check():
    def build():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                  keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        return model

    ds = data.fashion_mnist_dataset("train", batch_size=64, subset=1024, shuffle=False)
    initial = [w.copy() for w in build().get_weights()]
    single_model, single_hist = training.fit(build, ds, epochs=2, strategy=ONE, verbose=0)
    mirror_model, mirror_hist = training.fit(build, ds, epochs=2, strategy=MIRRORED, verbose=0)
    test = data.fashion_mnist_dataset("test", batch_size=64, subset=200, shuffle=False)   # last batch: 8
    y_single, p_single = training.predict_classes(single_model, test)
    y_mirror, p_mirror = training.predict_classes(mirror_model, test)
    return {"replicas": MIRRORED.num_replicas_in_sync,
            "max_weight_diff": diff(single_model.get_weights(), mirror_model.get_weights()),
            "moved": diff(single_model.get_weights(), initial),
            "single_loss": single_hist.history["loss"], "mirrored_loss": mirror_hist.history["loss"],
            "predict_lengths": [len(y_single), len(p_single), len(y_mirror), len(p_mirror)],
            "predictions_agree": float((p_single == p_mirror).mean()) if len(p_single) == len(p_mirror) else 0.0}


def custom_loop_check():
    def build(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
                                      keras.layers.Dense(3)])
            model.compile(optimizer=keras.optimizers.SGD(0.2),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0.5).astype("int32")       # 3 learnable classes
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)                  # 3 full global batches
    initial = [w.copy() for w in build(ONE).get_weights()]
    single = build(ONE)
    single_hist = training.custom_loop_fit(single, ds, 3, ONE)
    mirror = build(MIRRORED)
    mirror_hist = training.custom_loop_fit(mirror, ds, 3, MIRRORED)

    # the gradient of the first global batch, by hand on one device: the reference for the first step
    ref = build(ONE)
    with tf.GradientTape() as tape:
        first_loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y[:32], ref(x[:32]),
                                                                                 from_logits=True))
    grads = tape.gradient(first_loss, ref.trainable_variables)
    after_one_step = [w - 0.2 * g.numpy() for w, g in zip(initial, grads)]
    one_step = build(MIRRORED)
    one_step_hist = training.custom_loop_fit(one_step, ds.take(1), 1, MIRRORED)
    return {"replicas": MIRRORED.num_replicas_in_sync,
            "max_weight_diff": diff(single.get_weights(), mirror.get_weights()),
            "moved": diff(single.get_weights(), initial),
            "first_step_diff": diff(one_step.get_weights(), after_one_step),
            "first_step_moved": diff(after_one_step, initial),
            "first_batch_loss": float(first_loss), "one_step_loss": one_step_hist.history["loss"][0],
            "single_loss": single_hist.history["loss"], "mirrored_loss": mirror_hist.history["loss"]}


def gan_check():
    keras.utils.set_random_seed(0)
    gan = G.build_gan(latent_dim=8, g_filters=8, d_filters=8, d_learning_rate=1e-3,
                      g_learning_rate=1e-3, strategy=MIRRORED)
    x, _ = data.load_fashion_mnist("train", subset=128)
    real = data.images_to_float(x) * 2 - 1
    before = [w.copy() for w in gan.discriminator.get_weights()]
    hist = gan.fit(tf.data.Dataset.from_tensor_slices(real).repeat().batch(32), epochs=2,
                   steps_per_epoch=15, verbose=0)
    return {"replicas": MIRRORED.num_replicas_in_sync,
            "moved": diff(gan.discriminator.get_weights(), before), **hist.history}


results = {}
for name, check in [("fit", fit_check), ("custom_loop", custom_loop_check), ("gan", gan_check)]:
    try:
        results[name] = check()
    except Exception:  # noqa: BLE001 - reported to the test that reads this check
        results[name] = {"error": traceback.format_exc()[-3000:]}
print(json.dumps(results))
