"""Import time of TensorFlow + Keras with two ml_dtypes versions, alternated in one run.

    python benchmarks/bench_import.py --other /tmp/mlt/0.7.0 --rounds 8

Every process of the course that uses TensorFlow (a notebook kernel, a pytest worker, a grading
sandbox) pays this import. ``--other`` is a folder holding an unpacked ml_dtypes wheel, put first on
sys.path of every other process; the rest use the venv's own ml_dtypes. Prints the median wall and
CPU seconds of `import ml_dtypes` and of `import tensorflow, keras`, per version.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys

PROBE = ("import time, resource; t = time.perf_counter(); import ml_dtypes; m = time.perf_counter() - t; "
         "import tensorflow, keras; w = time.perf_counter() - t; r = resource.getrusage(resource.RUSAGE_SELF); "
         "print(ml_dtypes.__version__, m, w, r.ru_utime + r.ru_stime)")


def run(pythonpath: str | None) -> tuple[str, float, float, float]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    version, *nums = out.stdout.split()
    return (version, *map(float, nums))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--other", required=True, help="folder with an unpacked ml_dtypes wheel")
    ap.add_argument("--rounds", type=int, default=8)
    args = ap.parse_args()
    results: dict[str, list] = {}
    for _ in range(args.rounds):
        for path in (None, args.other):
            version, *nums = run(path)
            results.setdefault(version, []).append(nums)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    for version, rows in results.items():
        med = [statistics.median(col) for col in zip(*rows)]
        print(f"ml_dtypes {version}: import ml_dtypes {med[0]:.2f} s, import tensorflow+keras {med[1]:.2f} s wall, "
              f"{med[2]:.2f} s CPU (median of {len(rows)})")


if __name__ == "__main__":
    main()
