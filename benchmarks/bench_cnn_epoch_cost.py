"""Seconds per 54,000-image training epoch of lesson 01's CNN candidates, side by side in one process.

    python benchmarks/bench_cnn_epoch_cost.py --rounds 2

Each model (build_cnn configurations of bench_cnn_budget.py, Adam, cached tf.data through
data.prefetch, no flips) is traced on 5 batches, then timed for one pass over ``--images`` Fashion-MNIST
training images; the rounds alternate the models so the machine's drift hits all alike. Prints images
per second and the implied time for a 54,000-image epoch (lesson 01's training split), without the
validation pass. Results and the machine: RESULTS.md, "Lesson 01: a CNN built for the CPU budget".
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

C2V = dict(filters=(32, 64), convs_per_block=2, padding="valid", dense_units=0, dropout=0.25)
CONFIGS = {
    "c2v b128": (C2V, 128),
    "c2v b256": (C2V, 256),
    "c2v noBN b128": (dict(C2V, batchnorm=False), 128),
    "c2v f24,48 b128": (dict(C2V, filters=(24, 48)), 128),
    "c2v stride b128": (dict(C2V, downsample="stride"), 128),
    "lesson b128": (dict(filters=(32, 64), convs_per_block=1), 128),   # section 5's CNN
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=15_360)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    from course_lib import runtime
    runtime.setup(seed=0, verbose=False)
    import keras
    import tensorflow as tf

    from course_lib import data
    from course_lib.models.cnn import build_cnn

    x, y = data.load_fashion_mnist("train")
    x, y = data.images_to_float(x[:args.images]), y[:args.images].astype("int32")
    for _ in range(args.rounds):
        for name, (cfg, batch) in CONFIGS.items():
            model = build_cnn(**cfg)
            model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
            ds = data.prefetch(tf.data.Dataset.from_tensor_slices((x, y)).cache().batch(batch))
            model.fit(ds.take(5), verbose=0)
            start = time.time()
            model.fit(ds, verbose=0)
            rate = len(y) / (time.time() - start)
            print(f"{name:18s} params {model.count_params():7d}  {rate:6.0f} img/s  "
                  f"-> 54k epoch {54_000 / rate:5.1f} s", flush=True)


if __name__ == "__main__":
    main()
