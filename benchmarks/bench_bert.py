"""Lesson 06 targets, measured side by side in one run.

    python benchmarks/bench_bert.py [--minilm-steps 100] [--mlm-steps 800] [--seq-len 128]
    python benchmarks/bench_bert.py --skip-tiny --minilm-epochs 2        # the notebook's GPU setting
    python benchmarks/bench_bert.py --skip-tiny --top-cached 2           # the notebook's CPU setting
    python benchmarks/bench_bert.py --skip-tiny --minilm-epochs 1 --truncate head_tail   # F1 0.971
    python benchmarks/bench_bert.py --skip-tiny --step-times             # full vs top-2 step, side by side
    python benchmarks/bench_bert.py --skip-tiny --top-cached 2 --top-n 0 --top-epochs 1 --truncate head_tail \
        --top-seeds 0,1,2 --eval-split validation --cache /tmp/bert_cache   # CPU recipes, chosen on validation
    python benchmarks/bench_bert.py --skip-minilm --label-sizes 100,200 --seeds 5 --seed-start 10 \
        --ft-schedule constant --ft-lr 1e-3 --ft-steps-scale 0.5        # a tiny fine-tuning recipe, 5 seeds

Targets (issue 7):
  1. MiniLM fine-tuned (CPU budget: --minilm-steps steps of 16 emails): spam F1 >= 0.97 on the test split.
  2. Tiny BERT with MLM pretraining beats the same model from scratch at 200 labels (validation F1,
     mean over --seeds fine-tuning seeds). The tiny section mirrors the notebook: one MLM pretraining,
     then one compiled classifier restarted for every run (training.restart), fine-tuned with
     --ft-schedule for the notebook's steps per label count (x --ft-steps-scale).
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
    ap.add_argument("--mlm-lr", type=float, default=1e-3, help="MLM peak learning rate (the notebook's 1e-3)")
    ap.add_argument("--label-sizes", default="200",
                    help="comma-separated labelled subset sizes for the tiny BERT; 'all' = the training split")
    ap.add_argument("--ft-steps-scale", type=float, default=1.0,
                    help="x the notebook's fine-tuning steps (100: 100, 200: 120, 1000: 160, all: 240)")
    ap.add_argument("--ft-schedule", choices=("warmup_decay", "constant"), default="warmup_decay",
                    help="the notebook's 10%% linear warm-up + linear decay to 0, or a constant rate")
    ap.add_argument("--ft-lr", type=float, default=5e-4, help="peak (or constant) fine-tuning learning rate")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed-start", type=int, default=0, help="fine-tuning seeds are seed-start, seed-start+1, ...")
    ap.add_argument("--pooling", choices=("mean", "cls"), default="mean",
                    help="tiny-BERT classifier head: mean of the outputs (the notebook) or [CLS]")
    ap.add_argument("--minilm-steps", type=int, default=100)
    ap.add_argument("--minilm-seed", type=int, default=0,
                    help="seed of the head's initialisation, dropout and the shuffling order (MiniLM)")
    ap.add_argument("--minilm-lr", type=float, default=1e-4,
                    help="peak learning rate (10%% linear warm-up, linear decay to 0), as in the notebook")
    ap.add_argument("--minilm-epochs", type=int, default=None,
                    help="instead of --minilm-steps: fine-tune on the whole training split for this many "
                         "epochs (the notebook's GPU setting is 2) and report the test split after each epoch")
    ap.add_argument("--top-cached", type=int, default=None, metavar="K",
                    help="the notebook's CPU setting: fine-tune only the top K layers + head on cached "
                         "outputs of the frozen lower layers (bert.split_top), --top-n emails, --top-epochs")
    ap.add_argument("--top-n", type=int, default=480, help="training emails for --top-cached; 0 = all")
    ap.add_argument("--top-epochs", type=int, default=3)
    ap.add_argument("--top-lr", type=float, default=3e-4)
    ap.add_argument("--top-seeds", default=None,
                    help="comma-separated seeds (head init, dropout, order) for --top-cached; with it the "
                         "split --eval-split is scored after every epoch, and a frozen probe is fitted too")
    ap.add_argument("--eval-split", choices=("validation", "test"), default="validation",
                    help="with --top-seeds: the split scored (select on validation; test once, at the end)")
    ap.add_argument("--cache", default=None, metavar="DIR",
                    help="with --top-seeds: keep the lower layers' outputs (and each run's trained top "
                         "weights) in DIR; a later --eval-split test run reuses the weights, no retraining")
    ap.add_argument("--no-probe", action="store_true", help="with --top-seeds: skip the frozen probe")
    ap.add_argument("--bow", action="store_true",
                    help="with --top-seeds: also score the lesson's full-email bag of words on --eval-split")
    ap.add_argument("--step-times", action="store_true",
                    help="only time training steps of 16 emails: full fine-tuning vs the top 2 layers on "
                         "cached inputs, side by side on the same batches")
    ap.add_argument("--truncate", choices=("head", "head_tail"), default="head",
                    help="which pieces of a long email MiniLM sees: the first seq_len - 2 (the notebook), "
                         "or the first half and the last half of that budget (Sun et al. 2019)")
    ap.add_argument("--skip-tiny", action="store_true", help="measure MiniLM only")
    ap.add_argument("--skip-minilm", action="store_true", help="measure the tiny BERT only")
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
    if args.top_cached and args.top_seeds:   # CPU recipes on cached lower layers, several seeds
        split = val if args.eval_split == "validation" else test
        out.update(top_cached_seeds(args, train, split, args.eval_split, args.truncate))
        out["load_avg_end"] = os.getloadavg()[0]
        print(json.dumps(out), flush=True)
        return
    packer = pretrained.load_minilm_preprocessor(args.seq_len)
    tx, vx, sx = (bert.encode_texts(packer, s.texts) for s in (train, val, test))
    if args.truncate == "head_tail":      # MiniLM only; the tiny BERT keeps the head
        minilm_tx, minilm_sx = (bert.encode_head_tail(pretrained.load_minilm_tokenizer(), s.texts, args.seq_len)
                                for s in (train, test))
    else:
        minilm_tx, minilm_sx = tx, sx
    out["truncate"] = args.truncate

    def report(model, x, split):
        y, p = training.predict_classes(model, bert.classifier_dataset(x, split.labels, 64))
        return metrics.spam_report(y, p, split.groups)

    if not args.skip_tiny:
        out.update(tiny_bert_runs(args, train, val, tx, vx, report))
        print(json.dumps(out), flush=True)
    if args.skip_minilm:
        return

    if args.step_times:
        out.update(step_times(tx, train.labels, args.seq_len))
        out["load_avg_end"] = os.getloadavg()[0]
        print(json.dumps(out), flush=True)
        return
    if args.top_cached:
        out.update(top_cached(args, train, test, tx, sx))
        out["load_avg_end"] = os.getloadavg()[0]
        print(json.dumps(out), flush=True)
        return

    # ---- 1. MiniLM fine-tuned on a CPU budget
    keras.utils.set_random_seed(args.minilm_seed)
    out["minilm_seed"] = args.minilm_seed
    backbone = pretrained.load_minilm_backbone()
    if args.minilm_trainable_layers is not None:
        k = args.minilm_trainable_layers
        frozen = [backbone.token_embedding, backbone.position_embedding, backbone.segment_embedding,
                  backbone.embeddings_layer_norm] + list(backbone.transformer_layers[:len(backbone.transformer_layers) - k])
        for layer in frozen:
            layer.trainable = False
    clf = bert.build_classifier(backbone, pooling="mean")
    if args.minilm_epochs:
        idx, epochs = np.arange(len(train)), args.minilm_epochs
        total = epochs * -(-len(idx) // 16)
    else:
        idx = data.stratified_indices(train.groups, min(16 * args.minilm_steps, len(train)), seed=1)
        epochs, total = 1, args.minilm_steps
    training.default_compile(clf, bert.warmup_linear_decay(args.minilm_lr, max(1, total // 10), total))
    ds = bert.classifier_dataset(bert.subset_features(minilm_tx, idx), train.labels[idx], 16, shuffle=True,
                                 seed=args.minilm_seed)
    t, train_seconds = time.time(), 0.0
    for epoch in range(1, epochs + 1):
        clf.fit(ds, epochs=1, steps_per_epoch=None if args.minilm_epochs else total, verbose=0)
        train_seconds += time.time() - t
        if epoch < epochs:   # the test split after each epoch; the target is judged on the last
            r = report(clf, minilm_sx, test)
            print(json.dumps({"epoch": epoch, "train_seconds_so_far": round(train_seconds, 1),
                              "test": {k: round(v, 4) for k, v in r.items() if k != "n"}}), flush=True)
        t = time.time()
    args.minilm_steps = total
    out["minilm_steps"] = args.minilm_steps
    out["minilm_peak_lr"] = args.minilm_lr
    out["minilm_trainable_layers"] = args.minilm_trainable_layers
    out["minilm_trainable_params"] = int(sum(np.prod(w.shape) for w in clf.trainable_weights))
    out["minilm_epochs"] = args.minilm_epochs
    out["minilm_train_emails"] = len(idx)
    out["minilm_train_seconds"] = round(train_seconds, 1)
    t = time.time()
    r = report(clf, minilm_sx, test)
    out["minilm_test_eval_seconds"] = round(time.time() - t, 1)
    out["minilm_test"] = {k: round(v, 4) for k, v in r.items() if k != "n"}
    out["target_minilm_f1_097"] = bool(r["spam_f1"] >= 0.97)
    out["load_avg_end"] = os.getloadavg()[0]
    print(json.dumps(out), flush=True)


FT_STEPS = {100: 100, 200: 120, 1000: 160, None: 240}     # the notebook's, per labelled subset size


def tiny_bert_runs(args, train, val, tx, vx, report):
    """Tiny BERT: MLM pretraining once, then scratch vs pretrained fine-tuning runs (validation F1)."""
    import keras
    from course_lib import data, training
    from course_lib.models import bert

    lookup = bert.compact_vocabulary(tx["token_ids"], 8000, 30522)
    ttx, tvx = ({**x, "token_ids": lookup[x["token_ids"]]} for x in (tx, vx))
    build = lambda: bert.build_tiny_bert(8000, 2, 2, 64, 256, 128)     # noqa: E731
    keras.utils.set_random_seed(0)
    tiny = build()
    t = time.time()
    _, hist = bert.pretrain_mlm(tiny, ttx, 4, [0, 2, 3], steps=args.mlm_steps, learning_rate=args.mlm_lr,
                                 verbose=0)
    res = {"mlm_seconds": round(time.time() - t, 1),
           "mlm_loss_first_last": [round(hist.history["loss"][0], 3), round(hist.history["loss"][-1], 3)],
           "mlm_steps": args.mlm_steps, "mlm_lr": args.mlm_lr, "tiny_pooling": args.pooling,
           "ft_schedule": args.ft_schedule, "ft_lr": args.ft_lr,
           "ft_steps_scale": args.ft_steps_scale}
    pretrained_weights = tiny.get_weights()

    def initial_weights(pretrained_start, seed):
        keras.utils.set_random_seed(seed)
        backbone = build()
        if pretrained_start:
            backbone.set_weights(pretrained_weights)
        return bert.build_classifier(backbone, pooling=args.pooling).get_weights()

    clf = training.default_compile(bert.build_classifier(build(), pooling=args.pooling), args.ft_lr)
    sizes = [None if n == "all" else int(n) for n in args.label_sizes.split(",")]
    t = time.time()
    for n in sizes:
        steps = max(1, round(FT_STEPS.get(n, 120) * args.ft_steps_scale))
        f1 = {"scratch": [], "mlm": []}
        for seed in range(args.seed_start, args.seed_start + args.seeds):
            idx = np.arange(len(train)) if n is None else data.stratified_indices(train.groups, n, seed)
            for name in f1:
                training.restart(clf, initial_weights(name == "mlm", seed))
                ds = bert.classifier_dataset(bert.subset_features(ttx, idx), train.labels[idx], 32,
                                             shuffle=True, seed=seed)
                callbacks = []
                if args.ft_schedule == "warmup_decay":
                    schedule = bert.warmup_linear_decay(args.ft_lr, max(1, steps // 10), steps)
                    callbacks = [training.LearningRateEveryStep(schedule)]
                clf.fit(ds.repeat(), steps_per_epoch=steps, epochs=1, verbose=0, callbacks=callbacks)
                f1[name].append(round(report(clf, tvx, val)["spam_f1"], 3))
        key = n or "all"
        res[f"tiny_{key}_labels_steps"] = steps
        res[f"tiny_{key}_labels_val_f1"] = f1
        res[f"tiny_{key}_labels_mean_gain"] = round(float(np.mean(f1["mlm"]) - np.mean(f1["scratch"])), 4)
        res[f"tiny_{key}_labels_mlm_wins"] = f"{sum(m > s for m, s in zip(f1['mlm'], f1['scratch']))}/{args.seeds}"
        print(json.dumps({"labels": key, "steps": steps, "val_f1": f1}), flush=True)
    res["tiny_fine_tuning_seconds"] = round(time.time() - t, 1)
    if 200 in sizes:
        res["target_mlm_beats_scratch_at_200"] = bool(res["tiny_200_labels_mean_gain"] > 0)
    return res


def top_cached(args, train, test, tx, sx):
    """The notebook's CPU path: split_top, one pass of the lower layers, train the top K + head."""
    import keras
    from course_lib import data, metrics, pretrained, training
    from course_lib.models import bert

    keras.utils.set_random_seed(0)
    lower, top = bert.split_top(pretrained.load_minilm_backbone(), top_layers=args.top_cached)
    idx = data.stratified_indices(train.groups, args.top_n, seed=1)
    x = bert.subset_features(tx, idx)
    t = time.time()
    h_train, h_test = (lower.predict(f, batch_size=32, verbose=0) for f in (x, sx))
    res = {"top_layers": args.top_cached, "top_n": args.top_n, "top_epochs": args.top_epochs,
           "top_lr": args.top_lr, "lower_pass_seconds": round(time.time() - t, 1),
           "lower_pass_emails": len(idx) + len(test)}
    keras.utils.set_random_seed(0)
    total = args.top_epochs * -(-len(idx) // 16)
    training.default_compile(top, bert.warmup_linear_decay(args.top_lr, max(1, total // 10), total))
    t = time.time()
    top.fit({"hidden_states": h_train, "padding_mask": x["padding_mask"]}, train.labels[idx],
            batch_size=16, epochs=args.top_epochs, shuffle=True, verbose=0)
    res["top_steps"] = total
    res["top_train_seconds"] = round(time.time() - t, 1)
    t = time.time()
    pred = top.predict({"hidden_states": h_test, "padding_mask": sx["padding_mask"]}, batch_size=64, verbose=0)
    res["top_test_eval_seconds"] = round(time.time() - t, 1)
    r = metrics.spam_report(test.labels, pred.argmax(1), test.groups)
    res["top_test"] = {k: round(v, 4) for k, v in r.items() if k != "n"}
    return res


def top_cached_seeds(args, train, split, split_name, truncate):
    """CPU recipes for MiniLM: the top K layers + head on cached lower-layer outputs, several seeds.

    The lower layers' outputs of the training emails and of ``split`` are computed once (and kept in
    --cache); every seed then builds a fresh head (and resets the top layers to MiniLM's weights),
    trains --top-epochs on --top-n emails (0: all), and scores ``split`` after every epoch. A frozen
    probe (the notebook's: Normalization + Dense on the mean-pooled vectors) is fitted on the same emails.
    """
    import keras
    from course_lib import data, metrics, pretrained, training
    from course_lib.models import bert

    k, n = args.top_cached, args.top_n or len(train)
    idx = np.arange(len(train)) if n == len(train) else data.stratified_indices(train.groups, n, seed=1)
    seq = args.seq_len
    if truncate == "head_tail":
        tok = pretrained.load_minilm_tokenizer()
        enc = lambda s: bert.encode_head_tail(tok, s.texts, seq)         # noqa: E731
    else:
        packer = pretrained.load_minilm_preprocessor(seq)
        enc = lambda s: bert.encode_texts(packer, s.texts)               # noqa: E731
    feats = {"train": bert.subset_features(enc(train), idx), split_name: enc(split)}
    res = {"recipe": {"top_layers": k, "train_emails": len(idx), "epochs": args.top_epochs, "peak_lr": args.top_lr,
                      "truncate": truncate, "seq_len": seq}, "eval_split": split_name}
    cache = os.path.join(args.cache, f"{truncate}_{seq}_top{k}") if args.cache else None
    if cache:
        os.makedirs(cache, exist_ok=True)
    keras.utils.set_random_seed(0)
    lower, _ = bert.split_top(pretrained.load_minilm_backbone(), top_layers=k)
    hidden, wall, cpu = {}, time.time(), time.process_time()
    for name, f in feats.items():
        path = cache and os.path.join(cache, f"{name}_{n if name == 'train' else 'all'}.npy")
        every = cache and name == "train" and os.path.join(cache, f"train_{len(train)}.npy")
        if path and os.path.exists(path):
            hidden[name] = np.load(path)
        elif every and os.path.exists(every):           # a subset of every training email's outputs
            hidden[name] = np.load(every)[idx]
        else:
            hidden[name] = lower.predict(f, batch_size=32, verbose=0)
            if path:
                np.save(path, hidden[name])
    res["lower_pass"] = {"emails": sum(len(h) for h in hidden.values()), "wall_s": round(time.time() - wall, 1),
                         "cpu_s": round(time.process_time() - cpu, 1), "load_avg": os.getloadavg()[0]}
    print(json.dumps(res), flush=True)
    if args.bow:        # the lesson's baseline on the same split: TF-IDF bag of words on the full email
        res["bow_full_email"] = bow_baseline(train, split)
        print(json.dumps({"bow_full_email": res["bow_full_email"]}), flush=True)
    x_train = bert.top_inputs(hidden["train"], feats["train"])
    x_eval = bert.top_inputs(hidden[split_name], feats[split_name])
    y_train = train.labels[idx]

    def score(model_or_pred):
        pred = model_or_pred if isinstance(model_or_pred, np.ndarray) else \
            model_or_pred.predict(x_eval, batch_size=64, verbose=0).argmax(1)
        r = metrics.spam_report(split.labels, pred, split.groups)
        return {m: round(float(r[m]), 4) for m in ("accuracy", "spam_f1", "hard_ham_fpr")}

    runs = {}
    for seed in [int(s) for s in args.top_seeds.split(",")]:
        keras.utils.set_random_seed(seed)
        _, top = bert.split_top(pretrained.load_minilm_backbone(), top_layers=k)   # MiniLM's weights again
        tag = f"seed{seed}_n{len(idx)}_e{args.top_epochs}_lr{args.top_lr:g}"
        wpath = cache and os.path.join(cache, tag + ".weights.h5")
        run = {"seed": seed}
        if not args.no_probe and seed == int(args.top_seeds.split(",")[0]):
            t = time.time()
            emb_train, emb_eval = (bert.sentence_embeddings(top, x) for x in (x_train, x_eval))
            probe = keras.Sequential([keras.Input(emb_train.shape[1:]), keras.layers.Normalization(),
                                      keras.layers.Dense(2)], name="probe")
            probe.layers[0].adapt(emb_train)
            training.default_compile(probe, learning_rate=1e-2)
            probe.fit(emb_train, y_train, epochs=60, batch_size=64, verbose=0)
            res["probe"] = {**score(probe.predict(emb_eval, verbose=0).argmax(1)),
                            "wall_s": round(time.time() - t, 1)}
            print(json.dumps({"probe": res["probe"]}), flush=True)
        if wpath and os.path.exists(wpath) and split_name == "test":
            top.load_weights(wpath)                      # trained in the validation run: no retraining
            run["reused_weights"] = os.path.basename(wpath)
            run["epochs"] = [score(top)]
        else:
            total = args.top_epochs * -(-len(idx) // 16)
            training.default_compile(top, bert.warmup_linear_decay(args.top_lr, max(1, total // 10), total))
            run["epochs"], wall, cpu = [], time.time(), time.process_time()
            for _ in range(args.top_epochs):
                top.fit(x_train, y_train, batch_size=16, epochs=1, shuffle=True, verbose=0)
                run["epochs"].append(score(top))
            run["train_wall_s"] = round(time.time() - wall, 1)
            run["train_cpu_s"] = round(time.process_time() - cpu, 1)
            run["steps"] = total
            run["load_avg"] = os.getloadavg()[0]
            if wpath:
                top.save_weights(wpath)
        runs[seed] = run
        print(json.dumps(run), flush=True)
    last = [r["epochs"][-1]["spam_f1"] for r in runs.values()]
    res["runs"] = runs
    res[f"{split_name}_spam_f1_last_epoch"] = last
    res[f"{split_name}_spam_f1_mean"] = round(float(np.mean(last)), 4)
    return res


def bow_baseline(train, split, epochs=6):
    """Lesson 06's full-email bag of words (TF-IDF + logistic regression, its settings), scored on ``split``."""
    import keras
    import tensorflow as tf
    from course_lib import metrics, training

    keras.utils.set_random_seed(0)
    vec = keras.layers.TextVectorization(max_tokens=20000, output_mode="tf_idf")
    vec.adapt(tf.constant(train.texts))
    model = keras.Sequential([keras.Input((), dtype="string"), vec, keras.layers.Dense(2)], name="bow_logreg")
    training.default_compile(model, learning_rate=1e-2)
    model.fit(tf.constant(train.texts), train.labels, epochs=epochs, batch_size=64, verbose=0)
    r = metrics.spam_report(split.labels, model.predict(tf.constant(split.texts), verbose=0).argmax(1), split.groups)
    return {m: round(float(r[m]), 4) for m in ("accuracy", "spam_f1", "hard_ham_fpr")}


def step_times(tx, labels, seq_len, warmup=3, timed=12):
    """Seconds per training step of 16 emails: all weights vs the top 2 layers on cached inputs."""
    import keras
    from course_lib import pretrained, training
    from course_lib.models import bert

    batch = {k: v[:16] for k, v in tx.items()}
    y = labels[:16]
    res = {"step_times_batch": [16, seq_len], "warmup_steps": warmup, "timed_steps": timed}
    backbone = pretrained.load_minilm_backbone()
    full = training.default_compile(bert.build_classifier(backbone, pooling="mean"), 1e-5)
    lower, top = bert.split_top(backbone, top_layers=2)
    top_x = {"hidden_states": lower.predict(batch, verbose=0), "padding_mask": batch["padding_mask"]}
    training.default_compile(top, 1e-5)
    for name, model, x in [("full", full, batch), ("top2_cached", top, top_x)]:
        for _ in range(warmup):
            model.train_on_batch(x, y)
        t = time.time()
        for _ in range(timed):
            model.train_on_batch(x, y)
        res[f"{name}_seconds_per_step"] = round((time.time() - t) / timed, 3)
    res["ratio_full_over_top2"] = round(res["full_seconds_per_step"] / res["top2_cached_seconds_per_step"], 2)
    return res


if __name__ == "__main__":
    main()
