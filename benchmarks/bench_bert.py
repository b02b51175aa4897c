"""Lesson 06 targets, measured side by side in one run.

    python benchmarks/bench_bert.py [--minilm-steps 100] [--mlm-steps 800] [--seq-len 128]

Targets (issue 7):
  1. MiniLM fine-tuned (CPU budget: --minilm-steps steps of 16 emails): spam F1 >= 0.97 on the test split.
  2. Tiny BERT with MLM pretraining beats the same model from scratch at 200 labels (validation F1,
     mean over --seeds fine-tuning seeds).
Prints one JSON line per measurement and a summary; the numbers go into benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--mlm-steps", type=int, default=800)
    ap.add_argument("--ft-steps", type=int, default=60, help="fine-tuning steps at 200 labels")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--pooling", choices=("mean", "cls"), default="mean",
                    help="tiny-BERT classifier head: mean of the outputs (the notebook) or [CLS]")
    ap.add_argument("--minilm-steps", type=int, default=100)
    ap.add_argument("--minilm-lr", type=float, default=1e-4,
                    help="peak learning rate (10%% linear warm-up, linear decay to 0), as in the notebook")
    ap.add_argument("--skip-tiny", action="store_true", help="measure MiniLM only")
    ap.add_argument("--minilm-trainable-layers", type=int, default=None,
                    help="partial fine-tuning: train only the top K Transformer layers and the head "
                         "(embeddings and lower layers frozen); default: all weights train")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")

    import keras
    from course_lib import data, metrics, pretrained, runtime, training
    from course_lib.models import bert

    runtime.setup(seed=0, verbose=False)
    out = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
           "load_avg_start": os.getloadavg()[0]}
    train, val, test = (data.load_spam(s) for s in ("train", "validation", "test"))
    packer = pretrained.load_minilm_preprocessor(args.seq_len)
    tx, vx, sx = (bert.encode_texts(packer, s.texts) for s in (train, val, test))

    def report(model, x, split):
        y, p = training.predict_classes(model, bert.classifier_dataset(x, split.labels, 64))
        return metrics.spam_report(y, p, split.groups)

    if not args.skip_tiny:
        # ---- 2. tiny BERT: MLM vs scratch at 200 labels
        lookup = bert.compact_vocabulary(tx["token_ids"], 8000, 30522)
        ttx, tvx = ({**x, "token_ids": lookup[x["token_ids"]]} for x in (tx, vx))
        build = lambda: bert.build_tiny_bert(8000, 2, 2, 64, 256, 128)
        keras.utils.set_random_seed(0)
        tiny = build()
        t = time.time()
        _, hist = bert.pretrain_mlm(tiny, ttx, 4, [0, 2, 3], steps=args.mlm_steps, learning_rate=1e-3, verbose=0)
        out["mlm_seconds"] = round(time.time() - t, 1)
        out["mlm_loss_first_last"] = [round(hist.history["loss"][0], 3), round(hist.history["loss"][-1], 3)]
        weights = tiny.get_weights()
        f1 = {"scratch": [], "mlm": []}
        for seed in range(args.seeds):
            idx = data.stratified_indices(train.groups, 200, seed)
            for name in f1:
                keras.utils.set_random_seed(seed)
                bb = build()
                if name == "mlm":
                    bb.set_weights(weights)
                m = training.default_compile(bert.build_classifier(bb, pooling=args.pooling), 1e-3)
                ds = bert.classifier_dataset(bert.subset_features(ttx, idx), train.labels[idx], 32, shuffle=True, seed=seed)
                m.fit(ds.repeat(), steps_per_epoch=args.ft_steps, epochs=1, verbose=0)
                f1[name].append(round(report(m, tvx, val)["spam_f1"], 3))
        out["tiny_pooling"] = args.pooling
        out["tiny_200_labels_val_f1"] = f1
        out["target_mlm_beats_scratch_at_200"] = bool(np.mean(f1["mlm"]) > np.mean(f1["scratch"]))
        print(json.dumps(out), flush=True)

    # ---- 1. MiniLM fine-tuned on a CPU budget
    keras.utils.set_random_seed(0)
    backbone = pretrained.load_minilm_backbone()
    if args.minilm_trainable_layers is not None:
        k = args.minilm_trainable_layers
        frozen = [backbone.token_embedding, backbone.position_embedding, backbone.segment_embedding,
                  backbone.embeddings_layer_norm] + list(backbone.transformer_layers[:len(backbone.transformer_layers) - k])
        for layer in frozen:
            layer.trainable = False
    clf = bert.build_classifier(backbone, pooling="mean")
    training.default_compile(clf, bert.warmup_linear_decay(
        args.minilm_lr, max(1, args.minilm_steps // 10), args.minilm_steps))
    idx = data.stratified_indices(train.groups, min(16 * args.minilm_steps, len(train)), seed=1)
    ds = bert.classifier_dataset(bert.subset_features(tx, idx), train.labels[idx], 16, shuffle=True)
    t = time.time()
    clf.fit(ds, epochs=1, steps_per_epoch=args.minilm_steps, verbose=0)
    out["minilm_steps"] = args.minilm_steps
    out["minilm_peak_lr"] = args.minilm_lr
    out["minilm_trainable_layers"] = args.minilm_trainable_layers
    out["minilm_trainable_params"] = int(sum(np.prod(w.shape) for w in clf.trainable_weights))
    out["minilm_train_seconds"] = round(time.time() - t, 1)
    t = time.time()
    r = report(clf, sx, test)
    out["minilm_test_eval_seconds"] = round(time.time() - t, 1)
    out["minilm_test"] = {k: round(v, 4) for k, v in r.items() if k != "n"}
    out["target_minilm_f1_097"] = bool(r["spam_f1"] >= 0.97)
    out["load_avg_end"] = os.getloadavg()[0]
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
