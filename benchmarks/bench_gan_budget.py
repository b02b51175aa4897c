"""Lesson 05 under a wall-time budget (issue 18): the lesson's DCGAN recipe against candidates, Fréchet
distance on the lesson's classifier features as a function of *training* seconds.

    python benchmarks/bench_gan_budget.py --recipes today lr1e-3 --seeds 0 1 2 --budget 300
    python benchmarks/bench_gan_budget.py --list          # the recipes this script knows

Each run: ``keras.utils.set_random_seed(seed)``, ``data.gan_dataset(all 60k images, batch, seed=seed)``,
the lesson's ``G.build_gan`` with the recipe's learning rates / batch / width, trained in chunks of
``--chunk`` steps until ``--budget`` seconds of training (evaluation time is not counted). At every
checkpoint (``--checkpoints``, training seconds) it records the Fréchet distance (the notebook's
yardstick: course CNN trained on 12k images for 3 epochs, seed 0; 1,000 generated vs 1,000 real test
images) of the generator *and* of exponential moving averages of its weights (Yazıcı et al. 2019,
"The Unusual Effectiveness of Averaging in GAN Training"; decays ``--ema``). The averages never feed
back into training, so one run measures the raw generator and every average side by side.
At the end: class coverage of 1,000 samples relative to the classifier's histogram on real test images.
Recipes run in the order given, seed by seed (recipe A seed 0, recipe B seed 0, A seed 1, ...), so the
machine's swings hit every recipe. One JSON line per run; a summary table at the end.
"""
import argparse
import json
import os
import platform
import time

RECIPES = {   # name: (d_lr, g_lr, batch, width)
    "today": (2e-4, 2e-4, 64, 32),        # the lesson until now (Radford et al. 2015's rate)
    "lr5e-4": (5e-4, 5e-4, 64, 32),
    "lr1e-3": (1e-3, 1e-3, 64, 32),
    "lr2e-3": (2e-3, 2e-3, 64, 32),
    "ttur": (4e-4, 1e-4, 64, 32),         # Heusel et al. 2017's two time-scale rule, D faster
    "lr1e-3-b32": (1e-3, 1e-3, 32, 32),
    "lr1e-3-b128": (1e-3, 1e-3, 128, 32),
    "lr1e-3-w48": (1e-3, 1e-3, 64, 48),
}

ap = argparse.ArgumentParser()
ap.add_argument("--recipes", nargs="+", default=["today", "lr1e-3"])
ap.add_argument("--seeds", type=int, nargs="+", default=[0])
ap.add_argument("--budget", type=float, default=300.0, help="training seconds per run")
ap.add_argument("--checkpoints", type=float, nargs="+", default=[30, 60, 90, 120, 180, 240, 300])
ap.add_argument("--chunk", type=int, default=25, help="steps between wall-clock checks")
ap.add_argument("--ema", type=float, nargs="+", default=[0.99, 0.999])
ap.add_argument("--out", default=None, help="folder for the final sample grids (PNG)")
ap.add_argument("--list", action="store_true")
args = ap.parse_args()
if args.list:
    print(json.dumps(RECIPES, indent=1))
    raise SystemExit
unknown = [r for r in args.recipes if r not in RECIPES]
if unknown:
    ap.error(f"unknown recipes {unknown}; known: {sorted(RECIPES)}")
os.environ["COURSE_QUICK"] = "0"

from course_lib import runtime  # noqa: E402

strategy = runtime.setup(seed=0, verbose=False)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_lib import data, evaluation, training  # noqa: E402
from course_lib.models import gan as G  # noqa: E402
from course_lib.models.cnn import build_cnn  # noqa: E402

LATENT, N_EVAL = 64, 1000
print(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores, TF {tf.__version__}",
                  "threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "default"), "args": vars(args),
                  "load_avg_start": round(os.getloadavg()[0], 2)}), flush=True)

# the notebook's yardstick (section 5, default mode)
keras.utils.set_random_seed(0)
t = time.time()
classifier, _ = training.fit(build_cnn, data.fashion_mnist_dataset("train", batch_size=128, subset=12000), epochs=3,
                             strategy=strategy, patience=None, verbose=0)
y_true, y_pred = training.predict_classes(classifier, data.fashion_mnist_dataset("test", batch_size=256, subset=2000))
_, real_fractions = evaluation.class_coverage(y_pred, 10)
features = evaluation.feature_extractor(classifier)
x_test, _ = data.load_fashion_mnist("test", subset=2 * N_EVAL, seed=1)
feats_real = features.predict(data.images_to_float(x_test[::2]), batch_size=500, verbose=0)
z_eval = np.random.default_rng(1).normal(size=(N_EVAL, LATENT)).astype("float32")
x_train, _ = data.load_fashion_mnist("train")
print(json.dumps({"classifier_accuracy": round(float((y_true == y_pred).mean()), 4),
                  "classifier_seconds": round(time.time() - t, 1)}), flush=True)


def fd_of(generator):
    fake = G.to_unit(generator.predict(z_eval, batch_size=500, verbose=0))
    return float(evaluation.frechet_distance(feats_real, features.predict(fake, batch_size=500, verbose=0)))


class Averages(keras.callbacks.Callback):
    """Exponential moving averages of the generator's weights (all of them, BatchNorm statistics included),
    updated after every step in one traced function."""

    def __init__(self, generator, decays):
        super().__init__()
        self.decays = decays
        self.copies = {}
        with strategy.scope():
            for d in decays:
                copy = keras.models.clone_model(generator)
                copy.set_weights(generator.get_weights())
                self.copies[d] = copy
        self.source = generator.weights

        @tf.function
        def update():
            for d, copy in self.copies.items():
                for a, w in zip(copy.weights, self.source):
                    a.assign(d * a + (1.0 - d) * w)
        self.update = update

    def on_train_batch_end(self, batch, logs=None):
        self.update()


def one_run(name, seed):
    d_lr, g_lr, batch, width = RECIPES[name]
    keras.utils.set_random_seed(seed)
    dataset = data.gan_dataset(x_train, batch, seed=seed)
    gan = G.build_gan(latent_dim=LATENT, g_filters=width, d_filters=width, d_learning_rate=d_lr,
                      g_learning_rate=g_lr, strategy=strategy)
    avg = Averages(gan.generator, args.ema)
    gan.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0, callbacks=[avg])   # trace (not counted)
    out = {"recipe": name, "seed": seed, "d_lr": d_lr, "g_lr": g_lr, "batch": batch, "width": width,
           "checkpoints": []}
    trained, steps, eval_s = 0.0, 1, 0.0
    pending = sorted(c for c in args.checkpoints if c <= args.budget)
    while trained < args.budget:
        t = time.time()
        h = gan.fit(dataset, epochs=1, steps_per_epoch=args.chunk, verbose=0, callbacks=[avg]).history
        trained += time.time() - t
        steps += args.chunk
        if pending and trained >= pending[0] or trained >= args.budget:
            while pending and trained >= pending[0]:
                pending.pop(0)
            t = time.time()
            row = {"train_s": round(trained, 1), "steps": steps, "fd": round(fd_of(gan.generator), 2),
                   "d_acc": round(float(h["d_acc"][-1]), 3)}
            for d, copy in avg.copies.items():
                row[f"fd_ema{d}"] = round(fd_of(copy), 2)
            eval_s += time.time() - t
            out["checkpoints"].append(row)
            print(json.dumps({"recipe": name, "seed": seed, **row}), flush=True)
    z = np.random.default_rng(2).normal(size=(1000, LATENT)).astype("float32")
    for label, gen in [("raw", gan.generator)] + [(f"ema{d}", c) for d, c in avg.copies.items()]:
        samples = G.to_unit(gen.predict(z, batch_size=500, verbose=0))
        counts, fractions = evaluation.class_coverage(np.argmax(classifier.predict(samples, batch_size=500, verbose=0), -1), 10)
        out[f"min_share_of_real_{label}"] = round(float(np.min(fractions / real_fractions)), 3)
        out[f"classes_{label}"] = int((counts > 0).sum())
        if args.out:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            os.makedirs(args.out, exist_ok=True)
            fig, axes = plt.subplots(4, 10, figsize=(8, 3.4))
            for ax, img in zip(axes.flat, samples[:40]):
                ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=1); ax.axis("off")
            fig.suptitle(f"{name} seed {seed} {label}: {trained:.0f} s, {steps} steps", fontsize=8)
            fig.savefig(f"{args.out}/{name}_s{seed}_{label}.png", dpi=60); plt.close(fig)
    out.update(train_s=round(trained, 1), steps=steps, eval_s=round(eval_s, 1), load_avg=round(os.getloadavg()[0], 2))
    print(json.dumps(out), flush=True)
    return out


results = [one_run(name, seed) for seed in args.seeds for name in args.recipes]
print("\n| recipe | seed | steps in budget | Fréchet raw / EMA " + " / ".join(map(str, args.ema)) +
      " at the end | min class share of real (raw, best EMA) |")
print("|---|---:|---:|---|---|")
for r in results:
    last = r["checkpoints"][-1]
    emas = " / ".join(str(last[f"fd_ema{d}"]) for d in args.ema)
    best = min(args.ema, key=lambda d: last[f"fd_ema{d}"])
    print(f"| {r['recipe']} | {r['seed']} | {r['steps']} | {last['fd']} / {emas} | "
          f"{r['min_share_of_real_raw']}, {r[f'min_share_of_real_ema{best}']} |")
