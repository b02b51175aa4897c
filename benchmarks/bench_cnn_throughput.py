"""Training throughput of lesson 01's candidate CNN on this CPU: batch size, threads, input pipeline.

    python benchmarks/bench_cnn_throughput.py --rounds 2

Issue 18's lead: during the 5-minute budget runs (bench_cnn_budget.py) the process used only 1.1-1.6
of the 2 cores. Each configuration runs in its own process (TensorFlow's thread pools are fixed at
start-up), the configurations alternate round by round so the machine's drift hits all alike, and each
reports training images per second over ``--images`` images after a warm-up epoch fragment, and the
process CPU seconds per wall second (2.0 = both cores busy).

Model: bench_cnn_budget's gap32v-flip (3 conv blocks 32/64/128, valid padding, global average pooling,
random horizontal flips in tf.data), Adam. Data: Fashion-MNIST training images.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys

CONFIGS = {
    "b128": dict(batch=128),
    "b256": dict(batch=256),
    "b512": dict(batch=512),
    "b256-intra2-inter1": dict(batch=256, intra=2, inter=1),
    "b256-no-flip": dict(batch=256, flip=False),
}

CHILD = r'''
import json, os, sys, time
cfg = json.loads(sys.argv[1])
import tensorflow as tf
if "intra" in cfg:
    tf.config.threading.set_intra_op_parallelism_threads(cfg["intra"])
    tf.config.threading.set_inter_op_parallelism_threads(cfg["inter"])
import keras
from keras import layers
from course_lib import data
from course_lib.models.cnn import build_cnn
keras.utils.set_random_seed(0)
x, y = data.load_fashion_mnist("train")
x, y = data.images_to_float(x), y.astype("int32")
model = build_cnn(filters=(32, 64, 128), convs_per_block=1, head="gap", dense_units=0, dropout=0.0, padding="valid")
model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.optimizer.build(model.trainable_variables)
ds = tf.data.Dataset.from_tensor_slices((x, y)).cache().shuffle(len(y), seed=0).batch(cfg["batch"])
if cfg.get("flip", True):
    flip = layers.RandomFlip("horizontal", seed=0)
    ds = ds.map(lambda a, b: (flip(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
ds = ds.repeat().prefetch(tf.data.AUTOTUNE)
warm = max(1, 2048 // cfg["batch"])
model.fit(ds, steps_per_epoch=warm, epochs=1, verbose=0)              # trace + warm the cache
steps = max(1, cfg["images"] // cfg["batch"])
t, c = time.perf_counter(), time.process_time()
model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0)
wall, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"images_per_s": steps * cfg["batch"] / wall, "cpu_per_wall": cpu / wall, "wall_s": wall}))
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--images", type=int, default=15360, help="timed training images per run")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_NUM_INTRAOP_THREADS", None)
    results = {}
    for r in range(args.rounds):
        for name in args.configs:
            cfg = dict(CONFIGS[name], images=args.images)
            out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True, text=True,
                                 env=env, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row.update(config=name, round=r, load=round(os.getloadavg()[0], 2))
            print(json.dumps(row), flush=True)
            results.setdefault(name, []).append(row)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    base = max(r["images_per_s"] for r in results[args.configs[0]])
    for name, rows in results.items():
        best = max(r["images_per_s"] for r in rows)
        cpu = sum(r["cpu_per_wall"] for r in rows) / len(rows)
        print(f"{name:22s} best {best:7.0f} images/s ({best / base:.2f}x {args.configs[0]}), "
              f"CPU/wall {cpu:.2f}, runs {[round(r['images_per_s']) for r in rows]}")


if __name__ == "__main__":
    main()
