"""Lesson 04 performance claims: one packed matmul per LSTM step vs one per gate; Keras unroll.

(a) numpy LSTM step: the packed form (x @ kernel (D, 4H), h @ recurrent_kernel (H, 4H), split) against
    the per-gate form (8 matmuls with (D, H) and (H, H) blocks). Lesson 04, exercise 1 says the packed
    form is what Keras does "because one large product is faster than four small ones".
(b) keras.layers.LSTM / SimpleRNN training step on the marked-recall task of lesson 04 (batch 64,
    32 units), unroll=False (a symbolic while loop) vs unroll=True (the loop written out in the graph).

Both forms are checked to agree before timing. Interleaved rounds; median and best reported.
Run: python benchmarks/bench_rnn.py
     OPENBLAS_NUM_THREADS=1 python benchmarks/bench_rnn.py   # numpy part without BLAS threading
(on a shared 2-core machine, multi-threaded BLAS times are dominated by thread contention)
"""
from __future__ import annotations

import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def step_packed(x, h, c, kernel, rec, bias):
    zi, zf, zc, zo = np.split(x @ kernel + h @ rec + bias, 4, axis=-1)
    c = sigmoid(zf) * c + sigmoid(zi) * np.tanh(zc)
    return sigmoid(zo) * np.tanh(c), c


def step_per_gate(x, h, c, gates):
    pre = {k: x @ W + h @ U + b for k, (W, U, b) in gates.items()}
    c = sigmoid(pre["f"]) * c + sigmoid(pre["i"]) * np.tanh(pre["c"])
    return sigmoid(pre["o"]) * np.tanh(c), c


def bench_numpy(rounds=30, steps=50):
    rng = np.random.default_rng(0)
    print("(a) numpy LSTM step, float32, time for", steps, "steps")
    for n, d, hdim in [(32, 64, 64), (128, 128, 256)]:
        x = rng.standard_normal((n, d), dtype="float32")
        h = rng.standard_normal((n, hdim), dtype="float32")
        c = rng.standard_normal((n, hdim), dtype="float32")
        kernel = 0.1 * rng.standard_normal((d, 4 * hdim), dtype="float32")
        rec = 0.1 * rng.standard_normal((hdim, 4 * hdim), dtype="float32")
        bias = 0.1 * rng.standard_normal(4 * hdim, dtype="float32")
        gates = {g: (np.ascontiguousarray(kernel[:, k * hdim:(k + 1) * hdim]),
                     np.ascontiguousarray(rec[:, k * hdim:(k + 1) * hdim]), bias[k * hdim:(k + 1) * hdim])
                 for k, g in enumerate("ifco")}
        a, b = step_packed(x, h, c, kernel, rec, bias), step_per_gate(x, h, c, gates)
        assert np.allclose(a[0], b[0], atol=1e-5) and np.allclose(a[1], b[1], atol=1e-5)
        times = {"packed": [], "per gate": []}
        for _ in range(rounds):
            for name, fn in [("packed", lambda: step_packed(x, h, c, kernel, rec, bias)),
                             ("per gate", lambda: step_per_gate(x, h, c, gates))]:
                t = time.perf_counter()
                for _ in range(steps):
                    fn()
                times[name].append(time.perf_counter() - t)
        med = {k: np.median(v) * 1e3 for k, v in times.items()}
        best = {k: np.min(v) * 1e3 for k, v in times.items()}
        print(f"  N={n} D={d} H={hdim}: packed median {med['packed']:.2f} ms (best {best['packed']:.2f}), "
              f"per gate median {med['per gate']:.2f} ms (best {best['per gate']:.2f}); "
              f"per-gate / packed = {med['per gate'] / med['packed']:.2f} (median), "
              f"{best['per gate'] / best['packed']:.2f} (best)")


def bench_keras(rounds=5, steps=10):
    import keras
    import tensorflow as tf

    print("(b) Keras training step, batch 64, 32 units, K=4 symbols + marker, ms per step")
    rng = np.random.default_rng(0)
    for T in (20, 50):
        x = rng.random((64, T, 5)).astype("float32")
        y = rng.integers(0, 4, 64)
        ms = {}
        models = {}
        for kind in ("LSTM", "SimpleRNN"):
            for unroll in (False, True):
                keras.utils.set_random_seed(0)
                layer = getattr(keras.layers, kind)(32, unroll=unroll)
                m = keras.Sequential([keras.Input((T, 5)), layer, keras.layers.Dense(4)])
                m.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
                m.train_on_batch(x, y)  # trace
                models[kind, unroll] = m
                ms[kind, unroll] = []
        for _ in range(rounds):  # interleaved
            for key, m in models.items():
                t = time.perf_counter()
                for _ in range(steps):
                    m.train_on_batch(x, y)
                ms[key].append((time.perf_counter() - t) / steps * 1e3)
        for kind in ("LSTM", "SimpleRNN"):
            loop, unr = np.median(ms[kind, False]), np.median(ms[kind, True])
            print(f"  T={T} {kind}: while loop {loop:.1f} ms, unroll=True {unr:.1f} ms, speed-up {loop / unr:.2f}x")


if __name__ == "__main__":
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    bench_numpy()
    bench_keras()
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
