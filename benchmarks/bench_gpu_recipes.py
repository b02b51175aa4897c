"""The lessons' GPU-full recipes, run to completion on this CPU: accuracy does not depend on the device.

    .venv/bin/python benchmarks/bench_gpu_recipes.py 01 05 06 [--out DIR] [--precision float32|t4]

Each lesson notebook is executed top to bottom, in default mode, into a scratch copy (the committed
notebook is not touched), with ``COURSE_SIMULATE_GPU`` set so that ``runtime.setup()`` and
``quick.pick`` / ``quick.by_hardware`` choose the **GPU profile**: the same cells, sizes and recipes a
learner's Colab GPU runs. ``--precision float32`` (the default) simulates a GPU without tensor cores
(``k80``: float32, the GPU recipes), because float16 has no fast kernels on this CPU; ``t4`` adds
``mixed_float16`` as on a real T4 (about 3x slower here). Every assertion in the notebook runs, so a
recipe that misses its lesson's GPU target fails here.

Prints the wall time, the slowest cells and the lines of each lesson's results, and writes the
executed notebook and its figures (PNG) to ``--out`` for inspection. Wall times are CPU times of this
machine, not GPU times; RESULTS.md gives the GPU estimates separately, labelled as estimates.
"""
from __future__ import annotations

import argparse
import base64
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {"01": "01_convolution", "05": "05_gan", "06": "06_bert_classification"}
# Lines of the notebooks' printed output that carry each lesson's results.
RESULT_LINES = {
    "01": r"test accuracy|epochs in|params|per-class|hardest",
    "05": r"Fréchet|D accuracy|smallest class|coverage|classifier test accuracy|median distance|copies|images,",
    "06": r"F1|accuracy|profile|MiniLM|bag of words|LSTM|tiny BERT",
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lessons", nargs="+", choices=sorted(NOTEBOOKS))
    ap.add_argument("--precision", choices=("float32", "t4"), default="float32",
                    help="float32: simulate a GPU without tensor cores (k80); t4: mixed_float16 as on a T4")
    ap.add_argument("--out", type=Path, default=Path("/tmp/gpu_recipes"), help="executed notebooks and figures")
    ap.add_argument("--cell-timeout", type=int, default=6 * 3600)
    args = ap.parse_args(argv)

    import nbformat
    from nbclient import NotebookClient

    os.environ["COURSE_QUICK"] = "0"
    os.environ["COURSE_SIMULATE_GPU"] = "k80" if args.precision == "float32" else "t4"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"COURSE_SIMULATE_GPU={os.environ['COURSE_SIMULATE_GPU']}; started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
          flush=True)
    failed = 0
    for lesson in args.lessons:
        name = NOTEBOOKS[lesson]
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        client = NotebookClient(nb, timeout=args.cell_timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(ROOT / "notebooks")}})
        start = time.time()
        error = None
        cell_times = []
        try:
            client.execute()
        except Exception as e:   # an assertion of the notebook failed: report it, keep what ran
            error = e
        wall = time.time() - start
        for i, cell in enumerate(nb.cells):
            meta = cell.get("metadata", {}).get("execution", {})
            t0, t1 = meta.get("iopub.execute_input"), meta.get("shell.execute_reply")
            if t0 and t1:
                from datetime import datetime
                cell_times.append(((datetime.fromisoformat(t1.replace("Z", "+00:00"))
                                    - datetime.fromisoformat(t0.replace("Z", "+00:00"))).total_seconds(), i))
        out_nb = args.out / f"{name}.{args.precision}.ipynb"
        nbformat.write(nb, out_nb)
        n_png = 0
        for i, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                png = out.get("data", {}).get("image/png")
                if png:
                    n_png += 1
                    (args.out / f"{name}.{args.precision}.cell{i:02d}.png").write_bytes(base64.b64decode(png))
        status = "passed every assertion" if error is None else f"FAILED: {str(error).splitlines()[-1][:300]}"
        print(f"\n=== {name} (GPU profile, {args.precision}): {wall:.0f} s wall on this CPU; {status}")
        print("slowest cells:", ", ".join(f"[{i}] {s:.0f} s" for s, i in sorted(cell_times, reverse=True)[:5]))
        pattern = re.compile(RESULT_LINES[lesson])
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stdout":
                    for line in out["text"].splitlines():
                        if pattern.search(line):
                            print("  ", line.rstrip())
        print(f"executed notebook: {out_nb}; {n_png} figures next to it", flush=True)
        failed += error is not None
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
