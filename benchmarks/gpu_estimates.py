"""Estimated GPU wall times of the lessons' GPU-full recipes: compute counted, not measured on a GPU.

    .venv/bin/python benchmarks/gpu_estimates.py [--cpu-seconds 01=S 05=S 06=S]

No GPU is available to the course's CI, so GPU times are **estimates**, built from three numbers:
1. the recipe's training compute, counted: TensorFlow's profiler counts the floating-point operations
   of one forward pass of each model (batch 1), times 3 for forward + backward (the backward pass of a
   conv or dense layer costs two matmuls per forward one), times the examples the recipe trains on;
2. the rate this CPU achieved on that recipe (``--cpu-seconds``: the training wall time measured by
   ``bench_gpu_recipes.py``), to show how close the count is to what a real run costs;
3. a T4's published peak rates (NVIDIA T4 datasheet: 8.1 TFLOPS float32, 65 TFLOPS mixed float16 on
   tensor cores), at an assumed utilisation of 10-40 %: small models (28x28 images, batch 64-128) keep
   a GPU far from its peak, so the range is wide on purpose;
4. a per-step overhead of 2-10 ms (assumed: Python, tf.function dispatch and the input pipeline of a
   Keras ``fit`` step), which dominates for models this small.

Prints one line per recipe; benchmarks/RESULTS.md quotes them, labelled as estimates.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
T4_PEAK = {"float32": 8.1e12, "mixed_float16": 65e12}     # NVIDIA T4 datasheet, FLOP/s
UTILISATION = (0.10, 0.40)
STEP_OVERHEAD = (0.002, 0.010)                             # seconds per training step, assumed


def forward_flops(model, input_specs) -> float:
    """Floating-point operations of one forward pass, counted by TensorFlow's profiler."""
    import tensorflow as tf

    fn = tf.function(lambda *xs: model(list(xs) if len(xs) > 1 else xs[0], training=False))
    graph = fn.get_concrete_function(*input_specs).graph
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    return float(tf.compat.v1.profiler.profile(graph=graph, options=opts).total_float_ops)


def recipes():
    """(lesson, what, training FLOPs, training steps) for each GPU-full recipe, as the notebooks run it."""
    import keras
    import tensorflow as tf

    from course_lib.models import gan as G
    from course_lib.models.cnn import build_cnn

    out = []
    cnn = build_cnn(filters=(32, 64), convs_per_block=2)
    f = forward_flops(cnn, [tf.TensorSpec((1, 28, 28, 1), tf.float32)])
    epochs = 15                                            # the notebook's GPU recipe
    out.append(("01", f"deeper CNN ({cnn.count_params():,} params), {epochs} epochs x 54,000 images",
                3 * f * epochs * 54_000 + f * epochs * 6_000,      # + validation (forward only)
                epochs * (-(-54_000 // 128))))

    g, d = G.build_generator(64, 32), G.build_discriminator(32)
    fg = forward_flops(g, [tf.TensorSpec((1, 64), tf.float32)])
    fd = forward_flops(d, [tf.TensorSpec((1, 28, 28, 1), tf.float32)])
    steps, batch = 20 * 938, 64
    # per example and step: D on real + fake (fwd + bwd), G forward for D's step; G step: G and D fwd + bwd
    per_example = 3 * fd * 2 + fg + 3 * (fg + fd)
    out.append(("05", f"DCGAN width 32, {steps:,} steps x batch {batch}", per_example * steps * batch, steps))

    from course_lib import pretrained
    from course_lib.models import bert

    backbone = pretrained.load_minilm_backbone()
    clf = bert.build_classifier(backbone, pooling="mean")
    spec = {k: tf.TensorSpec((1, 128), tf.int32) for k in ("token_ids", "segment_ids", "padding_mask")}
    fb = forward_flops(keras.Model(clf.inputs, clf.outputs), [spec])
    train, test = 4_142, 888
    out.append(("06", f"MiniLM-L6 ({clf.count_params():,} params) fine-tuned in full, 1 epoch x {train:,} "
                      f"emails x 128 pieces, + {test} test emails", 3 * fb * train + fb * test, -(-train // 16)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpu-seconds", nargs="*", default=[], metavar="LESSON=SECONDS",
                    help="measured training seconds on this CPU per recipe (from bench_gpu_recipes.py)")
    args = ap.parse_args(argv)
    cpu = {k: float(v) for k, v in (a.split("=") for a in args.cpu_seconds)}
    print("ESTIMATES, not measurements: no GPU was used. T4 peak 8.1 TFLOPS float32, 65 TFLOPS mixed "
          f"float16 (datasheet); assumed utilisation {UTILISATION[0]:.0%}-{UTILISATION[1]:.0%} and "
          f"{STEP_OVERHEAD[0] * 1e3:.0f}-{STEP_OVERHEAD[1] * 1e3:.0f} ms of overhead per step.")
    for lesson, what, flops, steps in recipes():
        line = f"{lesson}: {what}: {flops / 1e12:.1f} TFLOP of training compute, {steps:,} steps"
        if lesson in cpu:
            line += f"; this CPU: {cpu[lesson]:.0f} s measured = {flops / cpu[lesson] / 1e9:.0f} GFLOP/s effective"
        for policy, peak in T4_PEAK.items():
            lo = flops / (peak * UTILISATION[1]) + steps * STEP_OVERHEAD[0]
            hi = flops / (peak * UTILISATION[0]) + steps * STEP_OVERHEAD[1]
            line += f"; T4 {policy}: est. {lo:.0f}-{hi:.0f} s"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
