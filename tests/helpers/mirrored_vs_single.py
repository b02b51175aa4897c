"""Train one small model twice, on one logical CPU device and under MirroredStrategy over two.

Run as a script (logical devices must be configured before TensorFlow initialises). Prints one JSON
line: replicas, the largest weight difference, and how far training moved the weights.
"""
import json

from course_lib import runtime

devices = runtime.split_cpu(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_lib import data, training  # noqa: E402


def build():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


ds = data.fashion_mnist_dataset("train", batch_size=64, subset=1024, shuffle=False)
initial = [w.copy() for w in build().get_weights()]
one = tf.distribute.OneDeviceStrategy(devices[0])
mirrored = tf.distribute.MirroredStrategy(devices)
single_model, single_hist = training.fit(build, ds, epochs=2, strategy=one, verbose=0)
mirror_model, mirror_hist = training.fit(build, ds, epochs=2, strategy=mirrored, verbose=0)
diff = max(float(np.abs(a - b).max()) for a, b in zip(single_model.get_weights(), mirror_model.get_weights()))
moved = max(float(np.abs(a - b).max()) for a, b in zip(single_model.get_weights(), initial))
test = data.fashion_mnist_dataset("test", batch_size=64, subset=200, shuffle=False)   # last batch: 8
y_single, p_single = training.predict_classes(single_model, test)
y_mirror, p_mirror = training.predict_classes(mirror_model, test)
print(json.dumps({"replicas": mirrored.num_replicas_in_sync, "max_weight_diff": diff, "moved": moved,
                  "single_loss": single_hist.history["loss"], "mirrored_loss": mirror_hist.history["loss"],
                  "predict_lengths": [len(y_single), len(p_single), len(y_mirror), len(p_mirror)],
                  "predictions_agree": float((p_single == p_mirror).mean()) if len(p_single) == len(p_mirror) else 0.0}))
