"""Benchmark for lesson 01: the course CNN, default-mode configuration, on full Fashion-MNIST.

    python benchmarks/bench_cnn.py                    # 6 epochs, 5-minute wall budget
    python benchmarks/bench_cnn.py --budget 0         # no budget: all epochs
    python benchmarks/bench_cnn.py --schedule cosine  # warm-up + cosine learning-rate decay

Target (issue 3): >= 92.5 % test accuracy on the full Fashion-MNIST test set within 5 minutes of wall
time on a 2-core CPU. Same model, data split and sizes as notebooks/01_convolution.ipynb section 6
(keep them in step): build_cnn(filters=(32, 64), convs_per_block=1), 54,000 training images, 6,000 held
out for early stopping, batch 128, Adam 1e-3, up to 6 epochs.

After every epoch it records the wall time since training started, the process CPU time, the
validation accuracy and the full test-set accuracy (the test evaluation is not counted in the
training time). Training stops at the first epoch end past the budget. Prints a JSON line at the end.
"""
import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone

ap = argparse.ArgumentParser()
ap.add_argument("--budget", type=float, default=300.0, help="wall-time budget in seconds (0 = none)")
ap.add_argument("--epochs", type=int, default=6)
ap.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                help="constant: Adam 1e-3 (the notebook); cosine: warm-up to 2e-3 over half an epoch, "
                     "cosine decay to 0 at the last epoch")
args = ap.parse_args()
os.environ["COURSE_QUICK"] = "0"

from course_lib import runtime  # noqa: E402

strategy = runtime.setup(seed=0, verbose=False)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_lib import data, training  # noqa: E402
from course_lib.models.cnn import build_cnn  # noqa: E402

CNN_CONFIG = dict(filters=(32, 64), convs_per_block=1)
BATCH = 128

x_train_u8, y_train = data.load_fashion_mnist("train")
order = np.random.default_rng(0).permutation(len(y_train))
n_val = len(order) // 10
val_idx, train_idx = order[:n_val], order[n_val:]


def make_ds(idx, shuffle):
    ds = tf.data.Dataset.from_tensor_slices((data.images_to_float(x_train_u8[idx]), y_train[idx].astype("int32")))
    ds = ds.shuffle(len(idx), seed=0) if shuffle else ds
    return ds.batch(BATCH).prefetch(tf.data.AUTOTUNE)


train_ds, val_ds = make_ds(train_idx, True), make_ds(val_idx, False)
steps_per_epoch = -(-len(train_idx) // BATCH)
if args.schedule == "cosine":
    learning_rate = keras.optimizers.schedules.CosineDecay(
        0.0, steps_per_epoch * args.epochs, warmup_target=2e-3, warmup_steps=steps_per_epoch // 2)
else:
    learning_rate = 1e-3
test_ds = data.fashion_mnist_dataset("test", batch_size=512)


class Clock(keras.callbacks.Callback):
    """Per epoch: training wall/CPU seconds (test evaluation excluded), val and test accuracy."""

    def __init__(self, budget):
        super().__init__()
        self.budget, self.rows, self.paused = budget, [], 0.0

    def on_train_begin(self, logs=None):
        self.t0, self.c0 = time.time(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        wall, cpu = time.time() - self.t0 - self.paused, time.process_time() - self.c0
        t = time.time()
        _, test_acc = self.model.evaluate(test_ds, verbose=0)
        self.paused += time.time() - t
        row = {"epoch": epoch + 1, "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1),
               "val_acc": round(float(logs["val_accuracy"]), 4), "test_acc": round(float(test_acc), 4),
               "load_avg": round(os.getloadavg()[0], 1)}
        self.rows.append(row)
        print(json.dumps(row), flush=True)
        if self.budget and wall > self.budget:
            self.model.stop_training = True


clock = Clock(args.budget)
start = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
         "machine": f"{platform.machine()}, {os.cpu_count()} cores, TF {tf.__version__}",
         "load_avg_start": round(os.getloadavg()[0], 1), "config": CNN_CONFIG, "budget_s": args.budget,
         "schedule": args.schedule}
model, hist = training.fit(lambda: build_cnn(**CNN_CONFIG), train_ds, val_ds, epochs=args.epochs,
                           strategy=strategy, callbacks=[clock], verbose=0, learning_rate=learning_rate)
within = [r for r in clock.rows if not args.budget or r["train_wall_s"] <= args.budget]
final_loss, final_acc = model.evaluate(test_ds, verbose=0)   # after early stopping's best-weights restore
start.update({"epochs_run": len(clock.rows), "per_epoch": clock.rows,
              "best_test_acc_within_budget": max((r["test_acc"] for r in within), default=None),
              "final_test_acc_restored_weights": round(float(final_acc), 4),
              "load_avg_end": round(os.getloadavg()[0], 1)})
print(json.dumps(start))
