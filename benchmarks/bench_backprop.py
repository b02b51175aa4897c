"""Lesson 03: cost of one SGD step of the 2-layer MLP (784-128-10, batch 128), numpy vs Keras.

Side by side in one run, interleaved rounds, median and best of each. The numpy step is the
lesson's forward/backward-pair code (re-typed here: benchmarks do not import notebooks).

    python benchmarks/bench_backprop.py
"""
import os
import platform
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

B, D, H, K, ROUNDS, STEPS = 128, 784, 128, 10, 15, 20
rng = np.random.default_rng(0)


def np_step(p, x, y, lr=0.25):
    a = x @ p["W1"] + p["b1"]
    h = np.maximum(a, 0)
    z = h @ p["W2"] + p["b2"]
    z = z - z.max(1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    dz = np.exp(log_p)
    dz[np.arange(len(y)), y] -= 1
    dz /= len(y)
    da = (dz @ p["W2"].T) * (a > 0)
    grads = {"W1": x.T @ da, "b1": da.sum(0), "W2": h.T @ dz, "b2": dz.sum(0)}
    for k in p:
        p[k] -= lr * grads[k]
    return -log_p[np.arange(len(y)), y].mean()


def make_keras(dtype, compiled):
    model = keras.Sequential([keras.Input((D,), dtype=dtype), keras.layers.Dense(H, activation="relu", dtype=dtype),
                              keras.layers.Dense(K, dtype=dtype)])
    opt = keras.optimizers.SGD(0.25)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype=dtype)

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss
    return tf.function(step) if compiled else step


def main():
    y = rng.integers(0, K, B)
    runners = {}
    for dt in ("float64", "float32"):
        x = rng.random((B, D)).astype(dt)
        p = {"W1": rng.normal(0, 0.05, (D, H)).astype(dt), "b1": np.zeros(H, dt),
             "W2": rng.normal(0, 0.1, (H, K)).astype(dt), "b2": np.zeros(K, dt)}
        runners[f"numpy {dt}"] = (lambda p=p, x=x: np_step(p, x, y))
        for compiled in (False, True):
            step, xt, yt = make_keras(dt, compiled), tf.constant(x), tf.constant(y)
            step(xt, yt)  # build / trace
            runners[f"Keras {dt}, {'tf.function' if compiled else 'eager'}"] = (lambda s=step, a=xt, b=yt: s(a, b))
    times = {k: [] for k in runners}
    for _ in range(ROUNDS):
        for name, run in runners.items():
            t = time.perf_counter()
            for _ in range(STEPS):
                run()
            times[name].append((time.perf_counter() - t) / STEPS * 1e3)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; TF {tf.__version__}, numpy {np.__version__}")
    base = np.median(times["numpy float64"])
    print("| step | median ms | best ms | vs numpy float64 |\n|---|---|---|---|")
    for name, ts in times.items():
        print(f"| {name} | {np.median(ts):.2f} | {min(ts):.2f} | {base / np.median(ts):.2f}x faster |")


if __name__ == "__main__":
    main()
