"""Benchmark for lesson 01: naive loops vs vectorised numpy vs tf.nn.conv2d, side by side in one run.

    python benchmarks/bench_conv.py            # batch 32, 28x28x16 -> 32 filters, 3x3, stride 1, "same"

Targets (issue 3): the vectorised numpy convolution is >= 100x faster than the naive loops and within
3x of tf.nn.conv2d on CPU. The implementations are the lesson's (notebooks/01_convolution.ipynb,
section 3), copied here so the benchmark runs without the notebook.

The naive loops are far too slow for the whole batch, so they run on the first NAIVE_IMAGES images
and the time is scaled linearly to the batch (every image costs the same number of operations; the
script prints both the measured and the scaled time). The fast methods run in interleaved rounds
(one call of each per round) so that a machine shared with other jobs slows them alike; the report
gives the median and the best round. Prints a JSON line at the end for benchmarks/RESULTS.md.
"""
import json
import os
import platform
import statistics
import time
from datetime import datetime, timezone

import numpy as np
import tensorflow as tf
from numpy.lib.stride_tricks import sliding_window_view

N, H, W, C, K, F = 32, 28, 28, 16, 3, 32
NAIVE_IMAGES = 1
ROUNDS = 30


def same_pads(n, k):
    total = max((n - 1) + k - n, 0)          # stride 1
    return total // 2, total - total // 2


def pad_same(x, k):
    (t, b), (le, r) = same_pads(x.shape[1], k), same_pads(x.shape[2], k)
    return np.pad(x, ((0, 0), (t, b), (le, r), (0, 0)))


def conv_naive_python(x, w, b):
    """Seven nested Python loops (notebook: conv2d_naive), stride 1, "same"."""
    n_, h_, w_, c_ = x.shape
    kh, kw, _, f_ = w.shape
    xp = pad_same(x, kh)
    y = np.zeros((n_, h_, w_, f_), dtype=x.dtype)
    for n in range(n_):
        for i in range(h_):
            for j in range(w_):
                for f in range(f_):
                    acc = b[f]
                    for u in range(kh):
                        for v in range(kw):
                            for c in range(c_):
                                acc += xp[n, i + u, j + v, c] * w[u, v, c, f]
                    y[n, i, j, f] = acc
    return y


def conv_naive_window(x, w, b):
    """Four loops, the kernel sum done by numpy on each window (the CS231n 'naive' forward pass)."""
    n_, h_, w_, _ = x.shape
    kh, kw, _, f_ = w.shape
    xp = pad_same(x, kh)
    y = np.zeros((n_, h_, w_, f_), dtype=x.dtype)
    for n in range(n_):
        for i in range(h_):
            for j in range(w_):
                window = xp[n, i:i + kh, j:j + kw, :]
                for f in range(f_):
                    y[n, i, j, f] = np.sum(window * w[:, :, :, f]) + b[f]
    return y


def conv_im2col(x, w, b):
    """sliding_window_view -> one contiguous patch matrix -> one matmul (notebook: conv2d_fast)."""
    kh, kw, c_, f_ = w.shape
    win = sliding_window_view(pad_same(x, kh), (kh, kw), axis=(1, 2))    # (N, H, W, C, kh, kw)
    n_, ho, wo = win.shape[:3]
    cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n_ * ho * wo, kh * kw * c_)
    return (cols @ w.reshape(kh * kw * c_, f_) + b).reshape(n_, ho, wo, f_)


def conv_einsum(x, w, b):
    """sliding_window_view + einsum (no explicit im2col matrix)."""
    win = sliding_window_view(pad_same(x, w.shape[0]), w.shape[:2], axis=(1, 2))
    return np.einsum("nhwcij,ijcf->nhwf", win, w, optimize=True) + b


def conv_tf(x, w, b):
    return (tf.nn.conv2d(x, w, strides=1, padding="SAME") + b).numpy()


def timed(fn, *args):
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def main():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, H, W, C)).astype("float32")
    w = rng.normal(size=(K, K, C, F)).astype("float32")
    b = rng.normal(size=F).astype("float32")
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, TF {tf.__version__}, NumPy {np.__version__}",
              "load_avg_start": round(os.getloadavg()[0], 1),
              "problem": f"x({N},{H},{W},{C}) float32, w({K},{K},{C},{F}), stride 1, same"}

    ref = conv_tf(x, w, b)
    for fn in (conv_im2col, conv_einsum):
        np.testing.assert_allclose(fn(x, w, b), ref, rtol=1e-4, atol=1e-3)
    part = x[:NAIVE_IMAGES]
    for fn in (conv_naive_python, conv_naive_window):
        np.testing.assert_allclose(fn(part, w, b), ref[:NAIVE_IMAGES], rtol=1e-4, atol=1e-3)

    fast = {"numpy im2col": conv_im2col, "numpy einsum": conv_einsum, "tf.nn.conv2d": conv_tf}
    times = {name: [] for name in fast}
    for _ in range(ROUNDS):
        for name, fn in fast.items():
            times[name].append(timed(fn, x, w, b))
    med = {name: statistics.median(t) for name, t in times.items()}
    best = {name: min(t) for name, t in times.items()}

    scale = N / NAIVE_IMAGES
    naive = {}
    for name, fn in (("naive 7 Python loops", conv_naive_python), ("naive 4 loops + np.sum", conv_naive_window)):
        t = timed(fn, part, w, b)
        naive[name] = t * scale
        print(f"{name:24s} {t:8.2f} s on {NAIVE_IMAGES} image(s) -> {t * scale:8.1f} s scaled to batch {N}")
    for name in fast:
        print(f"{name:24s} median {med[name] * 1e3:8.2f} ms   best {best[name] * 1e3:8.2f} ms   ({ROUNDS} rounds)")

    im2col = med["numpy im2col"]
    for name, t in naive.items():
        print(f"im2col speed-up over {name}: {t / im2col:,.0f}x (target >= 100x)")
    print(f"im2col / tf.nn.conv2d time ratio: {im2col / med['tf.nn.conv2d']:.2f} (median), "
          f"{best['numpy im2col'] / best['tf.nn.conv2d']:.2f} (best) (target <= 3)")
    print(f"einsum / tf.nn.conv2d time ratio: {med['numpy einsum'] / med['tf.nn.conv2d']:.2f} (median)")
    result.update({f"{k}_s_scaled": round(v, 2) for k, v in naive.items()})
    result.update({f"{k}_ms_median": round(v * 1e3, 3) for k, v in med.items()})
    result.update({f"{k}_ms_best": round(v * 1e3, 3) for k, v in best.items()})
    result["speedup_im2col_vs_naive7"] = round(naive["naive 7 Python loops"] / im2col)
    result["speedup_im2col_vs_naive4"] = round(naive["naive 4 loops + np.sum"] / im2col)
    result["ratio_im2col_vs_tf_median"] = round(im2col / med["tf.nn.conv2d"], 2)
    result["load_avg_end"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
