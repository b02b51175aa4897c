"""One worker of a two-worker MultiWorkerMirroredStrategy run on 127.0.0.1.

Usage: python multiworker_worker.py OUT.npz   (TF_CONFIG must be set by the caller)
Chooses its strategy through course_lib.runtime.setup, trains a few steps through
course_lib.training.fit, and saves its final weights.
"""
import sys

import keras
import numpy as np

from course_lib import data, runtime, training

strategy = runtime.setup(seed=0, verbose=False)
assert runtime.current_plan().strategy == "multi_worker", runtime.current_plan()
assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync


def build():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)])


ds = data.fashion_mnist_dataset("train", batch_size=32, subset=256, shuffle=False)
initial = build().get_weights()
model, hist = training.fit(build, ds, epochs=1, strategy=strategy, verbose=0, learning_rate=1e-2)
moved = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), initial))
np.savez(sys.argv[1], *model.get_weights(), loss=np.array(hist.history["loss"]), moved=np.array(moved))
