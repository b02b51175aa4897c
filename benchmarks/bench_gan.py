"""Benchmark for lesson 05 (GANs): the notebook's pipeline and its lesson targets, over several seeds.

    python benchmarks/bench_gan.py                        # default-mode sizes, GAN seed 0 (= the notebook)
    python benchmarks/bench_gan.py --seeds 0 1 2 3 4      # the same GAN recipe trained with 5 seeds
    python benchmarks/bench_gan.py --quick --seeds 0 1 2  # quick-mode sizes
    python benchmarks/bench_gan.py --step-time            # also time a train step at width 32 vs 64

Follows notebooks/05_gan.ipynb step by step (keep the two in step): the classifier (course CNN, seed 0)
that provides the Fréchet-distance features and the class labels is trained once; then, for every GAN
seed, ``keras.utils.set_random_seed(seed)``, the lesson's GAN (same sizes, learning rate, data pipeline
``data.gan_dataset(..., seed=seed)``, callbacks) is trained and evaluated like the notebook does:
Fréchet distance per epoch, D accuracy, class coverage relative to the classifier's histogram on real
test images, nearest training neighbours (memorisation), the simulated collapse, and the
learning-rate-imbalance run of section 8 (D's rate x10, G's unchanged, same seed). Seed 0 reproduces
the notebook's numbers. Prints one JSON line per seed, a summary line (min / max over seeds of what
the notebook asserts) and a Markdown table for benchmarks/RESULTS.md.
"""
import argparse
import json
import os
import platform
import time

ap = argparse.ArgumentParser()
ap.add_argument("--quick", action="store_true", help="quick-mode sizes (COURSE_QUICK=1)")
ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="GAN seeds (default: 0, the notebook's)")
ap.add_argument("--step-time", action="store_true", help="also time a DCGAN train step at widths 32 and 64")
ap.add_argument("--out", default=None, help="save the last seed's sample grid as a PNG here")
args = ap.parse_args()
if any(s < 0 for s in args.seeds) or len(set(args.seeds)) != len(args.seeds):
    ap.error(f"--seeds must be distinct ints >= 0, got {args.seeds}")
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

# The notebook's sizes, the same quick.pick lines (keep in step with notebooks/05_gan.ipynb).
LATENT, WIDTH = 64, 32
CLF_TRAIN = quick.pick(quick=3000, full=12000)
CLF_TEST = quick.pick(quick=500, full=2000)
CLF_EPOCHS = quick.pick(quick=2, full=3)
N_EVAL = quick.pick(quick=300, full=1000)
GAN_TRAIN = quick.pick(quick=3000, full=None)
EPOCHS = quick.pick(quick=4, cpu=12, gpu=20)
STEPS = quick.pick(quick=30, cpu=250, gpu=938)
BATCH = quick.pick(quick=32, full=64)
LR = quick.pick(quick=1e-3, cpu=1e-3, gpu=2e-4)
N_NN = quick.pick(quick=100, full=300)
IMB_EPOCHS, IMB_D_FACTOR = 3, 10
run = {"mode": quick.mode_name(), "profile": quick.profile_name(), "precision": keras.config.dtype_policy().name,
       "machine": f"{platform.machine()}, {os.cpu_count()} cores, TF {tf.__version__}",
       "load_avg_start": round(os.getloadavg()[0], 2), "seeds": args.seeds}


def rounded(values, digits=2):
    return [round(float(v), digits) for v in values]


# 1) the classifier (section 5): features for the Fréchet distance, labels for class coverage
t = time.time()
keras.utils.set_random_seed(0)
train_clf = data.fashion_mnist_dataset("train", batch_size=128, subset=CLF_TRAIN)
test_clf = data.fashion_mnist_dataset("test", batch_size=256, subset=CLF_TEST)
classifier, _ = training.fit(build_cnn, train_clf, epochs=CLF_EPOCHS, strategy=strategy, patience=None, verbose=0)
y_true, y_pred = training.predict_classes(classifier, test_clf)
_, real_fractions = evaluation.class_coverage(y_pred, 10)      # the classifier's histogram on real test images
features = evaluation.feature_extractor(classifier)
run["clf_seconds"] = round(time.time() - t, 1)
run["clf_test_accuracy"] = round(float((y_true == y_pred).mean()), 4)
run["real_class_fractions"] = rounded(real_fractions, 3)

x_test, _ = data.load_fashion_mnist("test", subset=2 * N_EVAL, seed=1)
real_a, real_b = data.images_to_float(x_test[::2]), data.images_to_float(x_test[1::2])
feats_real = features.predict(real_a, batch_size=500, verbose=0)
x_train, _ = data.load_fashion_mnist("train", subset=GAN_TRAIN)
train_float = data.images_to_float(x_train)
_, d_test = evaluation.nearest_neighbours(real_b[:N_NN], train_float, k=1)   # held-out images: the reference
z_eval = np.random.default_rng(1).normal(size=(N_EVAL, LATENT)).astype("float32")
z_1000 = np.random.default_rng(2).normal(size=(1000, LATENT)).astype("float32")


def generated_fd(generator, z=z_eval):
    fake = G.to_unit(generator.predict(z, batch_size=500, verbose=0))
    return evaluation.frechet_distance(feats_real, features.predict(fake, batch_size=500, verbose=0))


def labels_of(images):
    return np.argmax(classifier.predict(images, batch_size=500, verbose=0), axis=-1)


# 2) optional: step time at two widths
if args.step_time:
    ds = data.gan_dataset(x_train, BATCH, seed=0)
    for width in (32, 64):
        g = G.build_gan(g_filters=width, d_filters=width, strategy=strategy)
        g.fit(ds, epochs=1, steps_per_epoch=3, verbose=0)  # trace
        n = quick.pick(quick=5, full=20)
        t = time.time()
        g.fit(ds, epochs=1, steps_per_epoch=n, verbose=0)
        run[f"step_ms_width{width}"] = round(1000 * (time.time() - t) / n, 1)
    run["step_ratio_64_over_32"] = round(run["step_ms_width64"] / run["step_ms_width32"], 2)
print(json.dumps(run), flush=True)


def one_seed(seed):
    """Sections 6-8 of the notebook with GAN seed ``seed``; returns a dict of the numbers it asserts on."""
    out = {"seed": seed}
    keras.utils.set_random_seed(seed)
    dataset = data.gan_dataset(x_train, BATCH, seed=seed)
    gan = G.build_gan(latent_dim=LATENT, g_filters=WIDTH, d_filters=WIDTH, d_learning_rate=LR, g_learning_rate=LR,
                      strategy=strategy)
    fds = [generated_fd(gan.generator)]
    fd_callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: fds.append(generated_fd(gan.generator)))
    grid = G.SampleGrid(np.random.default_rng(0).normal(size=(10, LATENT)))
    t = time.time()
    h = gan.fit(dataset, epochs=EPOCHS, steps_per_epoch=STEPS, callbacks=[grid, fd_callback], verbose=0).history
    out["gan_seconds"] = round(time.time() - t, 1)
    out["fd_per_epoch"] = rounded(fds, 1)
    out["fd_ratio"] = round(fds[1] / fds[-1], 2)                      # epoch 1 / last epoch
    out["d_acc_per_epoch"] = rounded(h["d_acc"], 3)

    # section 7: class coverage relative to the real histogram; memorisation
    samples = G.to_unit(gan.generator.predict(z_1000, batch_size=500, verbose=0))
    counts, fractions = evaluation.class_coverage(labels_of(samples), 10)
    out["class_fractions"] = rounded(fractions, 3)
    out["classes_present"] = int((counts > 0).sum())
    with np.errstate(divide="ignore"):
        out["min_share_of_real"] = round(float(np.min(fractions / real_fractions)), 3)   # per class, generated / real
    _, d_gen = evaluation.nearest_neighbours(samples[:N_NN], train_float, k=1)
    out["nn_median_generated"], out["nn_median_test"] = round(float(np.median(d_gen)), 3), round(float(np.median(d_test)), 3)
    out["nn_median_ratio"] = round(float(np.median(d_gen) / np.median(d_test)), 3)
    out["nn_below_test_p5"] = round(float((d_gen < np.percentile(d_test, 5)).mean()), 3)
    out["exact_copies"] = int((d_gen < 0.5).sum())

    # section 8: a simulated collapse, then the learning-rate imbalance (D x10, G unchanged)
    z_collapsed = (z_1000[:1] + 0.05 * z_1000).astype("float32")
    c_counts, c_fractions = evaluation.class_coverage(labels_of(G.to_unit(gan.generator.predict(z_collapsed, verbose=0))), 10)
    out["collapsed_classes_present"], out["collapsed_max_fraction"] = int((c_counts > 0).sum()), round(float(c_fractions.max()), 3)
    out["healthy_max_fraction"] = round(float(fractions.max()), 3)
    out["collapsed_fd_over_final"] = round(generated_fd(gan.generator, z_collapsed[:N_EVAL]) / fds[-1], 2)

    keras.utils.set_random_seed(seed)
    unbalanced = G.build_gan(latent_dim=LATENT, g_filters=WIDTH, d_filters=WIDTH, d_learning_rate=IMB_D_FACTOR * LR,
                             g_learning_rate=LR, strategy=strategy)
    h_unb = unbalanced.fit(dataset, epochs=IMB_EPOCHS, steps_per_epoch=STEPS, verbose=0).history
    fd_unb = generated_fd(unbalanced.generator)
    out["imbalance"] = {"epochs": IMB_EPOCHS, "d_factor": IMB_D_FACTOR,
                        "balanced": {"d_acc": round(h["d_acc"][IMB_EPOCHS - 1], 3), "d_fake": round(h["d_fake"][IMB_EPOCHS - 1], 3),
                                     "fd": round(fds[IMB_EPOCHS], 1)},
                        "imbalanced": {"d_acc": round(h_unb["d_acc"][-1], 3), "d_fake": round(h_unb["d_fake"][-1], 3),
                                       "fd": round(fd_unb, 1)},
                        "fd_ratio_imbalanced_over_balanced": round(fd_unb / fds[IMB_EPOCHS], 2)}
    out["load_avg"] = round(os.getloadavg()[0], 2)
    return out, grid


per_seed = []
for seed in args.seeds:
    result, grid = one_seed(seed)
    per_seed.append(result)
    print(json.dumps(result), flush=True)
if args.out:
    grid.plot(epochs=[1, EPOCHS // 2, EPOCHS]).savefig(args.out)

pick = lambda key: [r[key] for r in per_seed]
imb = lambda key: [r["imbalance"]["fd_ratio_imbalanced_over_balanced"] if key == "fd" else
                   r["imbalance"]["imbalanced"][key] - r["imbalance"]["balanced"][key] for r in per_seed]
summary = {key: [min(pick(key)), max(pick(key))] for key in
           ("fd_ratio", "min_share_of_real", "nn_median_ratio", "nn_below_test_p5", "exact_copies",
            "collapsed_classes_present", "collapsed_max_fraction", "healthy_max_fraction", "collapsed_fd_over_final")}
summary["d_acc_last"] = [min(r["d_acc_per_epoch"][-1] for r in per_seed), max(r["d_acc_per_epoch"][-1] for r in per_seed)]
summary["imbalance_fd_ratio"] = [min(imb("fd")), max(imb("fd"))]
summary["imbalance_d_fake_change"] = [round(min(imb("d_fake")), 3), round(max(imb("d_fake")), 3)]
summary["total_seconds"] = round(time.time() - T0, 1)
summary["load_avg_end"] = round(os.getloadavg()[0], 2)
print(json.dumps({"summary_min_max_over_seeds": summary}))

print("\n| seed | Fréchet epoch 1 -> last | ratio | D acc last | min class share of real | NN median gen / test | "
      "imbalance (D x10) Fréchet vs balanced, epoch 3 | D(G(z)) epoch 3 bal. / imb. |")
print("|---|---|---|---|---|---|---|---|")
for r in per_seed:
    i = r["imbalance"]
    print(f"| {r['seed']} | {r['fd_per_epoch'][1]} -> {r['fd_per_epoch'][-1]} | {r['fd_ratio']}x | {r['d_acc_per_epoch'][-1]} "
          f"| {r['min_share_of_real']} | {r['nn_median_generated']} / {r['nn_median_test']} = {r['nn_median_ratio']} "
          f"| {i['imbalanced']['fd']} vs {i['balanced']['fd']} ({i['fd_ratio_imbalanced_over_balanced']}x) "
          f"| {i['balanced']['d_fake']} / {i['imbalanced']['d_fake']} |")
