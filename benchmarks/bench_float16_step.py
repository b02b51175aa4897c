"""One training step of a small Keras CNN in float32 and in mixed_float16, side by side, on this CPU.

    .venv/bin/python benchmarks/bench_float16_step.py               # the course's stack
    /path/to/colab-venv/bin/python benchmarks/bench_float16_step.py # e.g. tests/hosted/simulate_colab.py's venv

Why: the simulated T4 (COURSE_SIMULATE_GPU=t4) runs every notebook in mixed_float16 on the CPU. Whether
that fits in CI depends on the CPU's float16 kernels (oneDNN has them only with AVX-512) and on the
TensorFlow version. Model: Conv32-Conv32-pool-Dense10 on 28x28x1, batch 128, Adam; prints the mean of
3 steps after a warm-up step, per policy. RESULTS.md records the numbers with the machine.
"""
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, TF {tf.__version__}, "
      f"Keras {keras.__version__}")
x = np.random.default_rng(0).random((128, 28, 28, 1), dtype="float32")
y = np.random.default_rng(1).integers(0, 10, 128)
for policy in ("float32", "mixed_float16"):
    keras.mixed_precision.set_global_policy(policy)
    model = keras.Sequential([keras.Input((28, 28, 1)),
                              keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
                              keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                              keras.layers.Dense(10, dtype="float32")])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.train_on_batch(x, y)                        # warm-up: traces the step
    start = time.perf_counter()
    for _ in range(3):
        model.train_on_batch(x, y)
    print(f"{policy:14s} {(time.perf_counter() - start) / 3 * 1000:8.0f} ms per step", flush=True)
keras.mixed_precision.set_global_policy("float32")
