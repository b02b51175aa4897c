"""Benchmark for lesson 02 (pooling): numpy pooling vs TensorFlow, and pooled vs strided CNN step time.

    python benchmarks/bench_pool.py [--rounds 20]

(a) Max pooling forward and backward on a batch of 32 x 28x28x32 float32, 3x3 windows, stride 2,
    "same": Python loops over output positions (the notebook's readable backward), vectorised numpy
    (sliding_window_view + argmax + np.add.at, the exercise solutions' approach), and TensorFlow
    (tf.nn.max_pool2d, GradientTape). All results are checked against TensorFlow first.
(b) One training step (batch 128, Adam) of build_cnn(downsample="maxpool") vs
    build_cnn(downsample="stride"), both batchnorm=False as in the notebook: same parameters, 0.41x
    the convolution multiply-adds. Does the compute saving show up in wall time?
Fast methods run interleaved, `--rounds` times each; median and best are printed, with ratios.
"""
import argparse
import os
import platform
import time
from datetime import datetime, timezone

ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=20)
args = ap.parse_args()
os.environ["COURSE_QUICK"] = "0"

from course_lib import runtime  # noqa: E402

runtime.setup(seed=0, verbose=False)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

from course_lib.models.cnn import build_cnn  # noqa: E402

POOL, STRIDE, PADDING = 3, 2, "same"


def geometry(n):
    out = -(-n // STRIDE)
    total = max((out - 1) * STRIDE + POOL - n, 0)
    return out, total // 2, total - total // 2


def padded(x):
    n, h, w, c = x.shape
    (ho, t, b), (wo, le, r) = geometry(h), geometry(w)
    return np.pad(x, ((0, 0), (t, b), (le, r), (0, 0)), constant_values=-np.inf), ho, wo, t, le


def forward_loops(x):
    xp, ho, wo, _, _ = padded(x)
    out = np.empty((x.shape[0], ho, wo, x.shape[3]), x.dtype)
    for i in range(ho):
        for j in range(wo):
            out[:, i, j] = xp[:, i * STRIDE:i * STRIDE + POOL, j * STRIDE:j * STRIDE + POOL].max(axis=(1, 2))
    return out


def windows(xp, ho, wo):
    return sliding_window_view(xp, (POOL, POOL), axis=(1, 2))[:, ::STRIDE, ::STRIDE][:, :ho, :wo]


def forward_vec(x):
    xp, ho, wo, _, _ = padded(x)
    return windows(xp, ho, wo).max(axis=(-2, -1))


def backward_loops(dout, x):
    n, h, w, c = x.shape
    xp, ho, wo, t, le = padded(x)
    dxp = np.zeros(xp.shape)
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                for ch in range(c):
                    win = xp[b, i * STRIDE:i * STRIDE + POOL, j * STRIDE:j * STRIDE + POOL, ch]
                    r, s = np.unravel_index(np.argmax(win), win.shape)
                    dxp[b, i * STRIDE + r, j * STRIDE + s, ch] += dout[b, i, j, ch]
    return dxp[:, t:t + h, le:le + w]


def backward_vec(dout, x):
    n, h, w, c = x.shape
    xp, ho, wo, t, le = padded(x)
    r, s = np.divmod(windows(xp, ho, wo).reshape(n, ho, wo, c, POOL * POOL).argmax(-1), POOL)
    dxp = np.zeros(xp.shape)
    np.add.at(dxp, (np.arange(n)[:, None, None, None], np.arange(ho)[None, :, None, None] * STRIDE + r,
                    np.arange(wo)[None, None, :, None] * STRIDE + s, np.arange(c)), dout)
    return dxp[:, t:t + h, le:le + w]


def tf_forward(x):
    return tf.nn.max_pool2d(x, POOL, STRIDE, PADDING.upper()).numpy()


def tf_backward(dout, x):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = tf.nn.max_pool2d(xt, POOL, STRIDE, PADDING.upper())
    return tape.gradient(y, xt, output_gradients=tf.constant(dout)).numpy()


def timed(fn, *a):
    start = time.perf_counter()
    fn(*a)
    return time.perf_counter() - start


def interleaved(methods, rounds):
    times = {k: [] for k in methods}
    for _ in range(rounds):
        for k, (fn, a) in methods.items():
            times[k].append(timed(fn, *a))
    return {k: (float(np.median(v)), float(np.min(v))) for k, v in times.items()}


print(f"# bench_pool.py  {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC  {platform.processor() or platform.machine()}, "
      f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; TF {tf.__version__}, NumPy {np.__version__}")

rng = np.random.default_rng(0)
x = rng.standard_normal((32, 28, 28, 32)).astype("float32")
y_ref = tf_forward(x)
dout = rng.standard_normal(y_ref.shape).astype("float32")
dx_ref = tf_backward(dout, x)
assert np.array_equal(forward_loops(x), y_ref) and np.array_equal(forward_vec(x), y_ref)
assert np.allclose(backward_vec(dout, x), dx_ref, atol=1e-6)
assert np.allclose(backward_loops(dout[:1], x[:1]), dx_ref[:1], atol=1e-6)

print(f"\n(a) max pooling {POOL}x{POOL} stride {STRIDE} {PADDING}, x {x.shape} float32; median / best of {args.rounds}")
fwd = interleaved({"loops over output positions": (forward_loops, (x,)), "numpy vectorised": (forward_vec, (x,)),
                   "tf.nn.max_pool2d": (tf_forward, (x,))}, args.rounds)
bwd = interleaved({"numpy vectorised": (backward_vec, (dout, x)), "tf GradientTape": (tf_backward, (dout, x))},
                  args.rounds)
bwd_loop_1 = min(timed(backward_loops, dout[:1], x[:1]) for _ in range(3))
for name, table in (("forward", fwd), ("backward", bwd)):
    tf_key = "tf.nn.max_pool2d" if name == "forward" else "tf GradientTape"
    for k, (med, best) in table.items():
        print(f"  {name:8s} {k:30s} median {med * 1e3:8.2f} ms  best {best * 1e3:8.2f} ms  "
              f"({med / table[tf_key][0]:.1f}x TF median)")
print(f"  backward 4 nested loops (notebook)   {bwd_loop_1 * 1e3:8.1f} ms per image -> {bwd_loop_1 * 32:.2f} s "
      f"for the batch (scaled), {bwd_loop_1 * 32 / bwd['numpy vectorised'][0]:.0f}x the vectorised median")

print(f"\n(b) one training step, batch 128 of 28x28x1, Adam; median / best of {args.rounds}")
xb = rng.random((128, 28, 28, 1)).astype("float32")
yb = rng.integers(0, 10, 128).astype("int32")
models = {}
for name in ("maxpool", "stride"):
    m = build_cnn(downsample=name, batchnorm=False)
    m.compile(optimizer=keras.optimizers.Adam(1e-3),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for _ in range(3):   # trace and warm up
        m.train_on_batch(xb, yb)
    models[name] = m
steps = interleaved({name: (m.train_on_batch, (xb, yb)) for name, m in models.items()}, args.rounds)
for name, (med, best) in steps.items():
    print(f"  build_cnn(downsample={name!r:9s}) {models[name].count_params():,} params  median {med * 1e3:7.1f} ms  "
          f"best {best * 1e3:7.1f} ms  ({med / steps['maxpool'][0]:.2f}x maxpool median)")
print(f"load average at the end {os.getloadavg()[0]:.1f}")
