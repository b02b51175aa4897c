"""XLA (``jit_compile=True``) against TensorFlow's default executor for lesson 06's Transformers, on this CPU.

    python benchmarks/bench_bert_xla.py --emails 256 --rounds 4

DEVELOPERS.md records XLA as 2-3x slower on this CPU for the course's CNNs. Lesson 06's CPU profile
spends most of its time in three Transformer workloads; this script measures each with and without XLA,
side by side in one process, alternating the two round by round so that the machine's speed swings
(benchmarks/RESULTS.md, "the machine, not the pipeline") hit both alike:

1. ``lower``: MiniLM's layers 1-4 run forward on real training emails (head + tail, 128 pieces, batch 32),
   what the lesson caches for every email (``bert.split_top``, ``lower.predict``);
2. ``top``: one training epoch of MiniLM's layers 5-6 + head on those cached outputs (batch 16, Adam),
   the lesson's CPU fine-tune;
3. ``tiny``: training steps of the lesson's tiny BERT classifier (2 layers, hidden 64, batch 32).

It prints milliseconds per email for each round, the median ratio (default / XLA: above 1 means XLA is
faster), the first call's cost (tracing, plus compiling for XLA), and the largest difference between
the two executors' outputs (lower layers) or losses (training).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--emails", type=int, default=256, help="training emails per timed pass (default 256)")
    ap.add_argument("--rounds", type=int, default=4, help="timed passes per executor, alternated (default 4)")
    ap.add_argument("--workloads", nargs="+", default=["lower", "top", "tiny"], choices=["lower", "top", "tiny"])
    return ap.parse_args()


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def compiled_pair(build, compile_kwargs=None):
    """The same model twice (identical weights): compiled for TensorFlow's executor and for XLA.
    compile_kwargs: a function returning compile()'s arguments (each model needs its own optimizer)."""
    models = {}
    for jit in (False, True):
        model = build()
        model.compile(jit_compile=jit, **(compile_kwargs() if compile_kwargs else {}))
        models[jit] = model
    models[True].set_weights(models[False].get_weights())
    return models


def report(name, per_email, first, diff, what):
    ratios = [a / b for a, b in zip(per_email[False], per_email[True])]
    print(f"{name}: ms per email, default executor {[round(1000 * t, 1) for t in per_email[False]]}, "
          f"XLA {[round(1000 * t, 1) for t in per_email[True]]}; median ratio default/XLA "
          f"{np.median(ratios):.2f} (rounds {min(ratios):.2f}-{max(ratios):.2f}); first call "
          f"{first[False]:.1f} s default, {first[True]:.1f} s XLA; largest |difference| of the {what} {diff:.1e}",
          flush=True)


def time_training(name, models, inputs, y, batch_size, rounds):
    """One warm-up fit on 2 batches, then ``rounds`` one-epoch fits of each model in turn; report()s them."""
    fit = lambda model, n=None: model.fit({k: v[:n] for k, v in inputs.items()}, y[:n], batch_size=batch_size,
                                          epochs=1, shuffle=False, verbose=0)
    first = {jit: timed(lambda: fit(model, 2 * batch_size))[0] for jit, model in models.items()}
    per_email, losses = {False: [], True: []}, {False: [], True: []}
    for _ in range(rounds):
        for jit, model in models.items():
            seconds, hist = timed(lambda: fit(model))
            per_email[jit].append(seconds / len(y))
            losses[jit].append(hist.history["loss"][-1])
    report(name, per_email, first, float(np.abs(np.subtract(losses[True], losses[False])).max()),
           "epoch losses (the two draw different dropout masks)")


def main():
    args = parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf
    from course_lib import data, pretrained
    from course_lib.models import bert

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, TF {tf.__version__}, "
          f"Keras {keras.__version__}; {args.emails} emails, {args.rounds} rounds", flush=True)
    keras.utils.set_random_seed(0)
    train = data.load_spam("train", subset=args.emails)
    x = bert.encode_head_tail(pretrained.load_minilm_tokenizer(), train.texts, 128)
    y = train.labels.astype("int32")
    minilm = pretrained.load_minilm_backbone()
    adam = lambda lr: lambda: dict(optimizer=keras.optimizers.Adam(lr),
                                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    if "lower" in args.workloads or "top" in args.workloads:
        lower = compiled_pair(lambda: bert.split_top(minilm, top_layers=2)[0])
        first, outs = {}, {}
        for jit, model in lower.items():
            first[jit], outs[jit] = timed(lambda: model.predict({k: v[:32] for k, v in x.items()}, batch_size=32, verbose=0))
        per_email = {False: [], True: []}
        for _ in range(args.rounds):
            for jit, model in lower.items():
                seconds, outs[jit] = timed(lambda: model.predict(x, batch_size=32, verbose=0))
                per_email[jit].append(seconds / len(y))
        report("lower (MiniLM layers 1-4, forward)", per_email, first,
               float(np.abs(outs[True] - outs[False]).max()), "layer-4 outputs")
        hidden = outs[False]

    if "top" in args.workloads:
        inputs = bert.top_inputs(hidden, x)
        tops = compiled_pair(lambda: bert.split_top(minilm, top_layers=2)[1],
                             adam(1e-4))
        time_training("top (MiniLM layers 5-6 + head, training)", tops, inputs, y, 16, args.rounds)

    if "tiny" in args.workloads:
        packer = pretrained.load_minilm_preprocessor(sequence_length=128)
        feats = bert.encode_texts(packer, train.texts)
        lookup = bert.compact_vocabulary(feats["token_ids"], 8000, vocabulary_size=30522)
        feats = {**feats, "token_ids": lookup[feats["token_ids"]]}
        tiny = compiled_pair(lambda: bert.build_classifier(bert.build_tiny_bert(8000), pooling="mean"),
                             adam(5e-4))
        time_training("tiny (tiny BERT classifier, training)", tiny, feats, y, 32, args.rounds)


if __name__ == "__main__":
    main()
