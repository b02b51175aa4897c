"""keras_hub's MiniLM preprocessor (WordPiece + packing): eager calls, one traced tf.function, a tf.data map.

    python benchmarks/bench_tokenizer.py --emails 1024 --rounds 3

``bert.encode_texts`` runs the preprocessor as a tf.function traced once (``bert._graph_of``); this
script measures why, side by side in one process: the same batches of 256 real training emails through
the preprocessor called eagerly, through the traced graph, and through a new ``tf.data`` pipeline that
maps it (what ``encode_texts`` did before: each call builds and traces the pipeline anew), alternating
round by round. Prints the seconds per round for each and the ratios to the graph's.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emails", type=int, default=1024, help="training emails per round (default 1024)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per variant, alternated (default 3)")
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    from course_lib import data, pretrained

    texts = list(data.load_spam("train", subset=args.emails).texts)
    preprocessor = pretrained.load_minilm_preprocessor(sequence_length=128)
    graph = tf.function(preprocessor, input_signature=[tf.TensorSpec([None], tf.string)])

    def by_batches(f):
        for s in range(0, len(texts), 256):
            np.asarray(f(tf.constant(texts[s:s + 256]))["token_ids"])

    def tf_data_map():                                             # a new pipeline per call
        ds = tf.data.Dataset.from_tensor_slices(texts).batch(256).map(preprocessor)
        for out in ds:
            np.asarray(out["token_ids"])

    variants = {"eager": lambda: by_batches(preprocessor), "graph": lambda: by_batches(graph), "tf.data map": tf_data_map}
    graph(tf.constant(texts[:8])), preprocessor(tf.constant(texts[:8]))   # warm-up (and the graph's tracing)
    seconds = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    ratios = [e / g for e, g in zip(seconds["eager"], seconds["graph"])]
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, TF {tf.__version__}; "
          f"{len(texts)} emails in batches of 256")
    print(f"eager {[round(t, 2) for t in seconds['eager']]} s, graph {[round(t, 2) for t in seconds['graph']]} s, "
          f"tf.data map {[round(t, 2) for t in seconds['tf.data map']]} s; eager / graph {min(ratios):.0f}-{max(ratios):.0f}x; "
          f"tf.data map - graph {min(np.subtract(seconds['tf.data map'], seconds['graph'])):.2f}-"
          f"{max(np.subtract(seconds['tf.data map'], seconds['graph'])):.2f} s per call")


if __name__ == "__main__":
    main()
