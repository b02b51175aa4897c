"""The wait at the end of every pass over a tf.data pipeline with the autotuner on, side by side.

    python benchmarks/bench_tfdata_wait.py                       # fits of 30-110 steps, 2 rounds
    python benchmarks/bench_tfdata_wait.py --steps 420 --rounds 1  # one lesson-01-sized epoch each

What it measures: ``model.fit`` for one epoch of ``--steps`` batches of 128 Fashion-MNIST-sized
images, on four input pipelines, in turn (so the machine's noise hits all of them alike):

    autotune  tf.data from tensors, .batch(128).prefetch(tf.data.AUTOTUNE): the usual recipe
    course    the same through course_lib.data.prefetch: prefetch(2), autotuner off
    arrays    model.fit(x, y, batch_size=128): Keras' own pipeline (it prefetches with AUTOTUNE)
    batches   model.fit(course_lib.data.batches(x, y, 128)): arrays through data.prefetch

For each fit it records the wall time, when the last batch ended (a callback) and the wait between
the last batch and ``fit`` returning. It also prints, for every fit that waited more than 0.1 s, the
autotuner's wake-up time nearest to its end: the autotuner's thread sleeps 10 ms, 20 ms, 40 ms, ...
doubling from the start of the pass, so it wakes at 10 * (2^k - 1) ms: 2.55 s, 5.11 s, 10.23 s,
20.47 s, 40.95 s, 81.91 s. A fit that ends at one of those times, long after its last batch, waited
for the autotuner. ``predict`` over 4x as many images, arrays vs ``data.batches``, is timed the same
way (its end cannot be split from its last batch by a callback, so only the wall time is compared).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import datetime, timezone

WAKES_S = [0.01 * (2 ** k - 1) for k in range(1, 16)]   # 0.01, 0.03, ..., 20.47, 40.95, 81.91, ... s


def nearest_wake(t):
    return min(WAKES_S, key=lambda w: abs(w - t))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, nargs="+", default=[30, 45, 60, 80, 110], help="batches per fit")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    os.environ["COURSE_QUICK"] = "0"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from course_lib import runtime
    runtime.setup(seed=0, verbose=False)
    import keras
    import numpy as np
    import tensorflow as tf

    from course_lib import data
    from course_lib.models.cnn import build_cnn

    rng = np.random.default_rng(0)
    n = 128 * max(args.steps)
    x = rng.random((4 * n, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 4 * n).astype("int32")

    def pipeline(kind, steps):
        xs, ys = x[:128 * steps], y[:128 * steps]
        if kind == "autotune":
            return tf.data.Dataset.from_tensor_slices((xs, ys)).batch(128).prefetch(tf.data.AUTOTUNE)
        if kind == "course":
            return data.prefetch(tf.data.Dataset.from_tensor_slices((xs, ys)).batch(128))
        if kind == "batches":
            return data.batches(xs, ys, 128)
        return None                                                     # arrays

    class LastBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.t = time.perf_counter()

    model = build_cnn(filters=(32, 64), convs_per_block=1, padding="valid", head="gap", dense_units=0, dropout=0.0)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:256], y[:256], batch_size=128, verbose=0)               # trace outside the timings
    model.fit(pipeline("autotune", 2), verbose=0)
    model.predict(x[:256], verbose=0)
    model.predict(data.batches(x[:256], batch_size=512), verbose=0)
    print(json.dumps({"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                      "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, TF {tf.__version__}, "
                                 f"Keras {keras.__version__}", "load_avg": os.getloadavg()[0]}), flush=True)
    kinds = ("autotune", "course", "arrays", "batches")
    rows = []
    for r in range(args.rounds):
        for steps in args.steps:
            for kind in kinds:
                cb = LastBatch()
                ds = pipeline(kind, steps)
                t = time.perf_counter()
                if ds is None:
                    model.fit(x[:128 * steps], y[:128 * steps], batch_size=128, shuffle=False, verbose=0, callbacks=[cb])
                else:
                    model.fit(ds, verbose=0, callbacks=[cb])
                end = time.perf_counter()
                row = {"round": r, "kind": "fit " + kind, "steps": steps, "wall_s": round(end - t, 2),
                       "last_batch_s": round(cb.t - t, 2), "wait_s": round(end - cb.t, 2)}
                if row["wait_s"] > 0.1:
                    row["nearest_wake_s"] = round(nearest_wake(end - t), 2)
                rows.append(row)
                print(json.dumps(row), flush=True)
            for kind in ("arrays", "batches"):
                xs = x[:4 * 128 * steps]
                t = time.perf_counter()
                model.predict(xs if kind == "arrays" else data.batches(xs, batch_size=512), batch_size=512, verbose=0)
                row = {"round": r, "kind": "predict " + kind, "steps": steps, "wall_s": round(time.perf_counter() - t, 2)}
                rows.append(row)
                print(json.dumps(row), flush=True)

    print("\n| call | runs | wall, total (s) | last batch, total (s) | wait after it: total / max (s) | "
          "runs that waited > 0.1 s |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in [f"fit {k}" for k in kinds] + ["predict arrays", "predict batches"]:
        mine = [r for r in rows if r["kind"] == kind]
        waits = [r.get("wait_s", 0.0) for r in mine]
        last = "-" if "last_batch_s" not in mine[0] else f"{sum(r['last_batch_s'] for r in mine):.1f}"
        wait = "-" if "wait_s" not in mine[0] else f"{sum(waits):.1f} / {max(waits):.2f}"
        waited = "-" if "wait_s" not in mine[0] else str(sum(w > 0.1 for w in waits))
        print(f"| {kind} | {len(mine)} | {sum(r['wall_s'] for r in mine):.1f} | {last} | {wait} | {waited} |")


if __name__ == "__main__":
    main()
