"""training.custom_loop_fit on one logical CPU device and under MirroredStrategy over two.

Run as a script (logical devices must be configured before TensorFlow initialises). Prints one JSON
line. Plain SGD on purpose: a loss averaged per replica instead of over the global batch doubles the
summed gradient, which SGD turns into a visibly different step (Adam would mostly normalise it away).
"""
import json

from course_lib import runtime

devices = runtime.split_cpu(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_lib import training  # noqa: E402


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

one = tf.distribute.OneDeviceStrategy(devices[0])
mirrored = tf.distribute.MirroredStrategy(devices)
initial = [w.copy() for w in build(one).get_weights()]
single = build(one)
single_hist = training.custom_loop_fit(single, ds, 3, one)
mirror = build(mirrored)
mirror_hist = training.custom_loop_fit(mirror, ds, 3, mirrored)

# the gradient of the first global batch, by hand on one device: the reference for the first step
ref = build(one)
with tf.GradientTape() as tape:
    first_loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y[:32], ref(x[:32]), from_logits=True))
grads = tape.gradient(first_loss, ref.trainable_variables)
after_one_step = [w - 0.2 * g.numpy() for w, g in zip(initial, grads)]
one_step = build(mirrored)
one_step_hist = training.custom_loop_fit(one_step, ds.take(1), 1, mirrored)

diff = lambda a, b: max(float(np.abs(u - v).max()) for u, v in zip(a, b))   # noqa: E731
print(json.dumps({
    "replicas": mirrored.num_replicas_in_sync,
    "max_weight_diff": diff(single.get_weights(), mirror.get_weights()),
    "moved": diff(single.get_weights(), initial),
    "first_step_diff": diff(one_step.get_weights(), after_one_step),
    "first_step_moved": diff(after_one_step, initial),
    "first_batch_loss": float(first_loss), "one_step_loss": one_step_hist.history["loss"][0],
    "single_loss": single_hist.history["loss"], "mirrored_loss": mirror_hist.history["loss"],
}))
