"""Benchmark for lesson 05 (GANs): the notebook's default-mode pipeline, timed phase by phase.

    python benchmarks/bench_gan.py              # default-mode sizes (as in notebooks/05_gan.ipynb)
    python benchmarks/bench_gan.py --quick      # quick-mode sizes

Measures, in one run on this machine: the classifier (course CNN) training time, the DCGAN step
time for two model widths side by side (the ratio is reported), the GAN training time, and the lesson
targets: classifier-feature Fréchet distance per epoch (first / last ratio), class coverage of 1000
generated samples. Prints one JSON line at the end; paste the numbers into benchmarks/RESULTS.md.
"""
import argparse
import json
import os
import platform
import time

ap = argparse.ArgumentParser()
ap.add_argument("--quick", action="store_true")
ap.add_argument("--out", default=None, help="also save the final sample grid as a PNG here")
args = ap.parse_args()
os.environ["COURSE_QUICK"] = "1" if args.quick else "0"

from course_lib import runtime  # noqa: E402

T0 = time.time()
strategy = runtime.setup(seed=0, verbose=False)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_lib import data, evaluation, quick, training  # noqa: E402
from course_lib.models import gan as G  # noqa: E402
from course_lib.models.cnn import build_cnn  # noqa: E402

# The same sizes as the notebook (keep in step with notebooks/05_gan.ipynb).
CLF_TRAIN = quick.pick(quick=3000, full=12000)
CLF_EPOCHS = quick.pick(quick=2, full=3)
GAN_TRAIN = quick.pick(quick=3000, full=None)
EPOCHS = quick.pick(quick=3, full=12)
STEPS = quick.pick(quick=30, full=250)
BATCH = 64
N_EVAL = quick.pick(quick=300, full=1000)
result = {"mode": quick.mode_name(), "machine": f"{platform.machine()}, {os.cpu_count()} cores, TF {tf.__version__}",
          "load_avg_start": os.getloadavg()[0]}

# 1) classifier for features and class coverage
t = time.time()
train = data.fashion_mnist_dataset("train", batch_size=128, subset=CLF_TRAIN)
test = data.fashion_mnist_dataset("test", batch_size=256, subset=quick.pick(quick=1000, full=2000))
clf, _ = training.fit(build_cnn, train, epochs=CLF_EPOCHS, strategy=strategy, patience=None, verbose=0)
y_true, y_pred = training.predict_classes(clf, test)
result["clf_seconds"] = round(time.time() - t, 1)
result["clf_test_accuracy"] = round(float((y_true == y_pred).mean()), 4)
features = evaluation.feature_extractor(clf)

x_test, _ = data.load_fashion_mnist("test", subset=N_EVAL, seed=1)
real_feats = features.predict(data.images_to_float(x_test), batch_size=500, verbose=0)

# 2) step time, two widths side by side
x_train, _ = data.load_fashion_mnist("train", subset=GAN_TRAIN)
real = data.images_to_float(x_train) * 2 - 1
ds = (tf.data.Dataset.from_tensor_slices(real).shuffle(len(real), seed=0).repeat()
      .batch(BATCH, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
for width in (32, 64):
    g = G.build_gan(g_filters=width, d_filters=width, strategy=strategy)
    g.fit(ds, epochs=1, steps_per_epoch=3, verbose=0)  # trace
    t = time.time()
    g.fit(ds, epochs=1, steps_per_epoch=quick.pick(quick=5, full=20), verbose=0)
    result[f"step_ms_width{width}"] = round(1000 * (time.time() - t) / quick.pick(quick=5, full=20), 1)
result["step_ratio_64_over_32"] = round(result["step_ms_width64"] / result["step_ms_width32"], 2)

# 3) the lesson's GAN
keras.utils.set_random_seed(0)
gan = G.build_gan(g_filters=32, d_filters=32, strategy=strategy)
z_eval = np.random.default_rng(1).normal(size=(N_EVAL, gan.latent_dim)).astype("float32")
fids = []


def fid_now():
    fake = G.to_unit(gan.generator.predict(z_eval, batch_size=500, verbose=0))
    return evaluation.frechet_distance(real_feats, features.predict(fake, batch_size=500, verbose=0))


fid_cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: fids.append(fid_now()))
grid = G.SampleGrid(np.random.default_rng(0).normal(size=(20, gan.latent_dim)))
t = time.time()
hist = gan.fit(ds, epochs=EPOCHS, steps_per_epoch=STEPS, callbacks=[grid, fid_cb], verbose=0)
result["gan_seconds"] = round(time.time() - t, 1)
result["fid_per_epoch"] = [round(f, 2) for f in fids]
result["fid_first_over_last"] = round(fids[0] / fids[-1], 2)
result["d_acc_per_epoch"] = [round(a, 3) for a in hist.history["d_acc"]]

# 4) class coverage of 1000 samples
z = np.random.default_rng(2).normal(size=(1000, gan.latent_dim)).astype("float32")
labels = np.argmax(clf.predict(G.to_unit(gan.generator.predict(z, verbose=0)), verbose=0), -1)
_, frac = evaluation.class_coverage(labels, 10)
result["class_fractions"] = [round(float(f), 3) for f in frac]
result["min_class_fraction"] = round(float(frac.min()), 3)
result["total_seconds"] = round(time.time() - T0, 1)
result["load_avg_end"] = os.getloadavg()[0]
if args.out:
    grid.plot(epochs=[1, EPOCHS // 2, EPOCHS]).savefig(args.out)
print(json.dumps(result))
