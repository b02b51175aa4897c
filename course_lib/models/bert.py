"""BERT-style text models on keras_hub parts (Devlin et al. 2019, "BERT: Pre-training of Deep
Bidirectional Transformers for Language Understanding").

    build_tiny_bert(vocabulary_size)        keras_hub BertBackbone, small config (2 layers, hidden 64)
    encode_texts(preprocessor, texts)       str (N,) -> {"token_ids", "segment_ids": int32 (N, T),
                                                        "padding_mask": bool (N, T)} as numpy
    encode_head_tail(tokenizer, texts)      the same, keeping the first and last pieces of long texts
    mlm_dataset(features, mask_generator)   tf.data of ({... + "mask_positions" (b, P)}, mask_ids (b, P),
                                                        mask_weights (b, P)) for masked-LM training
    pretrain_mlm(backbone, features, ...)   self-supervised MLM pretraining -> (BertMaskedLM, History)
    build_classifier(backbone, pooling)     dict of (N, T) inputs -> float32 logits (N, num_classes)
    split_top(backbone, top_layers)         (lower, top): lower layers as a feature extractor, and a
                                            classifier on the top layers, for fine-tuning only the top
    top_inputs(hidden_states, features)     top's input dict from cached lower-layer outputs (N, T, D)
    sentence_embeddings(model, inputs)      the mean-pooled (N, D) vectors a "mean" classifier feeds its head
    warmup_linear_decay(peak, warmup, total) BERT's learning-rate schedule (pretraining and fine-tuning)
    check_hf_bert_config(path)             the parsed config.json of a Hugging Face BERT checkpoint, checked

Features are the dicts that keras_hub's BERT preprocessors produce; every model here consumes
them unchanged, so a tiny BERT and a pretrained encoder (course_lib.pretrained) are interchangeable.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import keras
import numpy as np

from course_lib import _args, data, training
from course_lib._args import int_at_least

FEATURE_KEYS = ("token_ids", "segment_ids", "padding_mask")
POOLINGS = ("cls", "mean")
# config.json entries keras_hub reads to build a BertBackbone from a Hugging Face checkpoint
HF_CONFIG_INTS = ("vocab_size", "num_hidden_layers", "num_attention_heads", "hidden_size",
                  "intermediate_size", "max_position_embeddings")


def check_hf_bert_config(path, fix: str = "restore the file") -> dict:
    """The parsed config.json of a Hugging Face BERT checkpoint folder, checked before keras_hub reads it.

    path: the config.json file. fix: how to repair it, appended to every error message. Returns the
    dict; raises ValueError naming the file when it is not JSON, not a BERT config, or lacks one of
    HF_CONFIG_INTS as a positive int (or hidden_size is not divisible by num_attention_heads).
    """
    path = Path(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} cannot be read ({e}); {fix}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}); {fix}") from None
    if not isinstance(config, dict) or config.get("model_type") != "bert":
        got = config.get("model_type") if isinstance(config, dict) else type(config).__name__
        raise ValueError(f"{path} must be a BERT config (\"model_type\": \"bert\"), got {got!r}; {fix}")
    bad = [k for k in HF_CONFIG_INTS
           if isinstance(config.get(k), bool) or not isinstance(config.get(k), int) or config[k] < 1]
    if bad:
        raise ValueError(f"{path} must give {', '.join(bad)} as positive ints, got "
                         f"{ {k: config.get(k) for k in bad} }; {fix}")
    if config["hidden_size"] % config["num_attention_heads"]:
        raise ValueError(f"{path}: hidden_size ({config['hidden_size']}) must be divisible by "
                         f"num_attention_heads ({config['num_attention_heads']}); {fix}")
    return config


def build_tiny_bert(vocabulary_size: int, num_layers: int = 2, num_heads: int = 2, hidden_dim: int = 64,
                    intermediate_dim: int = 256, max_sequence_length: int = 128, dropout: float = 0.1,
                    name: str = "tiny_bert"):
    """A small BERT encoder (keras_hub BertBackbone): token + position + segment embeddings,
    ``num_layers`` post-norm Transformer encoder blocks.

    Inputs {"token_ids", "segment_ids": int (N, T), "padding_mask": (N, T)}, T <= max_sequence_length.
    Outputs {"sequence_output": (N, T, hidden_dim), "pooled_output": (N, hidden_dim)} (pooled = tanh
    Dense on the [CLS] position).
    """
    import keras_hub

    vocabulary_size = int_at_least("vocabulary_size", vocabulary_size, 2)
    num_layers = int_at_least("num_layers", num_layers)
    num_heads = int_at_least("num_heads", num_heads)
    hidden_dim = int_at_least("hidden_dim", hidden_dim)
    if hidden_dim % num_heads:
        raise ValueError(f"hidden_dim ({hidden_dim}) must be divisible by num_heads ({num_heads})")
    intermediate_dim = int_at_least("intermediate_dim", intermediate_dim)
    max_sequence_length = int_at_least("max_sequence_length", max_sequence_length, 2)
    _args.fraction("dropout", dropout)
    return keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=num_heads,
        hidden_dim=hidden_dim, intermediate_dim=intermediate_dim, dropout=dropout,
        max_sequence_length=max_sequence_length, name=name)


def _check_texts(texts) -> list:
    return _args.texts("texts", texts)


def _check_backbone(backbone):
    """TypeError unless backbone is a keras_hub BERT backbone (it has transformer_layers)."""
    if not isinstance(backbone, keras.Model) or not getattr(backbone, "transformer_layers", None):
        raise TypeError(f"backbone must be a keras_hub BertBackbone (from build_tiny_bert or "
                        f"pretrained.load_minilm_backbone), got {type(backbone).__name__}")
    return backbone


def _check_length(backbone, features):
    """ValueError unless the features' sequence length T fits the backbone's position embedding."""
    t, limit = np.shape(features["token_ids"])[1], getattr(backbone, "max_sequence_length", None)
    if limit is not None and t > limit:
        raise ValueError(f"features have sequence length {t}, but the backbone has only {limit} positions "
                         "(max_sequence_length): encode with a shorter sequence_length")


def encode_texts(preprocessor, texts, batch_size: int = 256) -> dict:
    """Run a keras_hub BERT preprocessor over a list of strings, in batches; numpy feature dict.

    texts: list of N str. Returns {"token_ids", "segment_ids": int32 (N, T), "padding_mask": bool (N, T)}.
    """
    texts = _check_texts(texts)
    _args.function("preprocessor", preprocessor, "a keras_hub preprocessor (a callable on strings)")
    batch_size = int_at_least("batch_size", batch_size)
    import tensorflow as tf

    encode = _graph_of(preprocessor)
    parts = {k: [] for k in FEATURE_KEYS}
    for start in range(0, len(texts), batch_size):
        out = encode(tf.constant(texts[start:start + batch_size]))
        for k in FEATURE_KEYS:
            parts[k].append(np.asarray(out[k]))
    return {k: np.concatenate(v) for k, v in parts.items()}


_GRAPH_OF = {}   # {"preprocessor": the last one encode_texts used, "graph": its tf.function}


def _graph_of(preprocessor):
    """``preprocessor`` as a tf.function on a batch of strings (N,), traced once and kept for the next
    call with the same preprocessor. On 1,024 emails a graph runs the tokenizer 33-47x faster than eager
    calls batch by batch, and a new tf.data ``map`` per call (what this used before) costs 0.75-0.97 s more
    per call (benchmarks/bench_tokenizer.py, RESULTS.md)."""
    import tensorflow as tf

    if _GRAPH_OF.get("preprocessor") is not preprocessor:
        _GRAPH_OF.update(preprocessor=preprocessor, graph=tf.function(
            preprocessor, input_signature=[tf.TensorSpec([None], tf.string)]))
    return _GRAPH_OF["graph"]


def encode_head_tail(tokenizer, texts, sequence_length: int = 128, cls_id: int = 101, sep_id: int = 102,
                     batch_size: int = 256) -> dict:
    """Like ``encode_texts``, but a long text keeps its first *and* its last pieces.

    tokenizer: maps a batch of strings to token ids per string (e.g. keras_hub's BertTokenizer).
    texts: list of N str. Each text becomes ``[CLS] pieces [SEP]``, zero-padded to sequence_length;
    a text with more than ``sequence_length - 2`` pieces keeps the first half of that budget and the
    last half (head + tail truncation, which Sun et al. 2019, "How to Fine-Tune BERT for Text
    Classification?", found best for long documents). Short texts come out as ``encode_texts`` with
    a BERT packer gives them. Returns {"token_ids", "segment_ids": int32 (N, T), "padding_mask": bool (N, T)}.
    """
    texts = _check_texts(texts)
    _args.function("tokenizer", tokenizer, "a tokenizer (a callable on a batch of strings)")
    sequence_length = int_at_least("sequence_length", sequence_length, 4)
    batch_size = int_at_least("batch_size", batch_size)
    import tensorflow as tf

    budget = sequence_length - 2
    head = budget - budget // 2
    ids = np.zeros((len(texts), sequence_length), "int32")
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(tf.constant(list(texts[start:start + batch_size])))
        for j, pieces in enumerate(batch.to_list() if hasattr(batch, "to_list") else batch):
            pieces = [int(p) for p in pieces]
            if len(pieces) > budget:
                pieces = pieces[:head] + pieces[len(pieces) - (budget - head):]
            row = [cls_id] + pieces + [sep_id]
            ids[start + j, :len(row)] = row
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": ids != 0}


def _check_features(features):
    if not isinstance(features, dict) or any(k not in features for k in FEATURE_KEYS):
        raise ValueError(f"features must be a dict with keys {FEATURE_KEYS} (from encode_texts), got "
                         f"{sorted(features) if isinstance(features, dict) else type(features).__name__}")
    shapes = {k: np.shape(features[k]) for k in FEATURE_KEYS}
    if len(set(shapes.values())) != 1 or len(shapes["token_ids"]) != 2:
        raise ValueError(f"features must all have the same shape (N, T), got {shapes}")
    for k in FEATURE_KEYS:
        kind = np.asarray(features[k]).dtype.kind
        if kind not in ("biu" if k == "padding_mask" else "iu"):
            raise ValueError(f"features[{k!r}] must hold {'booleans' if k == 'padding_mask' else 'integer ids'}, "
                             f"got dtype {np.asarray(features[k]).dtype}")
    return shapes["token_ids"]


def mlm_dataset(features: dict, mask_generator, batch_size: int = 32, shuffle: bool = True,
                seed: int = 0, steps: int | None = None):
    """tf.data for masked-language modelling: ``steps`` (x, y, sample_weight) batches.

    features: numpy dict from encode_texts, shapes (N, T). mask_generator: a keras_hub
    MaskedLMMaskGenerator (selects ~15% of the non-special tokens; of those 80% -> [MASK], 10% -> a
    random token, 10% unchanged). steps: number of batches (default: one pass, N // batch_size);
    each pass over the data is a new shuffle with new masks. x: {"token_ids" (masked),
    "segment_ids", "padding_mask": (b, T), "mask_positions": (b, P)}; y: original ids at those
    positions (b, P); sample_weight: 1.0 for a real selection, 0.0 for padding of the P slots.

    The masks are drawn here, eagerly, batch by batch, after ``keras.utils.set_random_seed(seed)``
    (which this function calls): the generator's TensorFlow random ops are reproducible that way,
    but not inside a tf.data ``map``, where the global seed does not fix them (measured). All
    ``steps`` batches are held in memory (ids, masks and selections): 36 MB for 800 x 32 x 128.
    """
    import tensorflow as tf

    n, _ = _check_features(features)
    _args.function("mask_generator", mask_generator, "a keras_hub MaskedLMMaskGenerator")
    batch_size = int_at_least("batch_size", batch_size)
    if batch_size > n:
        raise ValueError(f"batch_size must be <= the number of examples ({n}), got {batch_size}")
    per_pass = n // batch_size
    steps = per_pass if steps is None else int_at_least("steps", steps)
    keras.utils.set_random_seed(seed)
    order_rng = np.random.default_rng(seed)
    passes = -(-steps // per_pass)
    order = np.concatenate([(order_rng.permutation(n) if shuffle else np.arange(n))[:per_pass * batch_size]
                            for _ in range(passes)])[:steps * batch_size]
    token_ids = features["token_ids"][order]
    masked = [mask_generator(tf.constant(token_ids[i:i + batch_size]))
              for i in range(0, len(order), batch_size)]
    x = {"token_ids": np.concatenate([np.asarray(m["token_ids"]) for m in masked]),
         "segment_ids": features["segment_ids"][order], "padding_mask": features["padding_mask"][order],
         "mask_positions": np.concatenate([np.asarray(m["mask_positions"]) for m in masked])}
    y = np.concatenate([np.asarray(m["mask_ids"]) for m in masked])
    w = np.concatenate([np.asarray(m["mask_weights"], "float32") for m in masked])
    return data.prefetch(tf.data.Dataset.from_tensor_slices((x, y, w)).batch(batch_size))


def pretrain_mlm(backbone, features: dict, mask_token_id: int, unselectable_token_ids, steps: int,
                 batch_size: int = 32, learning_rate: float = 1e-3, mask_selection_rate: float = 0.15,
                 max_selections: int | None = None, seed: int = 0, verbose="auto", callbacks=()):
    """Masked-language-model pretraining of ``backbone`` on unlabelled token features.

    Trains a keras_hub BertMaskedLM (the backbone + an MLM head tied to the token embedding) for
    ``steps`` optimizer steps, AdamW with linear warm-up (10%) and linear decay. Returns
    (mlm_model, history); history has per-"epoch" (one pass of ``steps // 10`` steps) ``loss`` and
    ``accuracy`` on the masked positions. The backbone's weights are updated in place.
    """
    import keras_hub

    _check_backbone(backbone)
    _, t = _check_features(features)
    _check_length(backbone, features)
    steps = int_at_least("steps", steps)
    _args.positive_number("learning_rate", learning_rate)
    _args.number_in("mask_selection_rate", mask_selection_rate, 0, 1, low_open=True, high_open=True)
    int_at_least("mask_token_id", mask_token_id, 0)
    if isinstance(unselectable_token_ids, (str, bytes)) or not hasattr(unselectable_token_ids, "__iter__"):
        raise ValueError(f"unselectable_token_ids must be a list of token ids, got {unselectable_token_ids!r}")
    unselectable_token_ids = [int_at_least("unselectable_token_ids", i, 0) for i in unselectable_token_ids]
    if max_selections is not None:
        int_at_least("max_selections", max_selections)
    max_selections = max_selections or int(np.ceil(mask_selection_rate * t)) + 1
    generator = keras_hub.layers.MaskedLMMaskGenerator(
        vocabulary_size=backbone.vocabulary_size, mask_selection_rate=mask_selection_rate,
        mask_token_id=int(mask_token_id), mask_selection_length=max_selections,
        unselectable_token_ids=[int(i) for i in unselectable_token_ids])
    ds = mlm_dataset(features, generator, batch_size, shuffle=True, seed=seed, steps=steps).repeat()
    model = keras_hub.models.BertMaskedLM(backbone, preprocessor=None)
    warmup = max(1, steps // 10)
    schedule = warmup_linear_decay(learning_rate, warmup, steps)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    chunks = min(10, steps)
    training.build_optimizer(model)     # before fit, so fit traces its step once
    with warnings.catch_warnings():  # the [CLS] pooler gets no gradient from the MLM loss: expected
        warnings.filterwarnings("ignore", message=".*Gradients do not exist.*pooled_dense.*")
        warnings.filterwarnings("ignore", message=".*shuffle=True.*")
        history = model.fit(ds, epochs=chunks, steps_per_epoch=steps // chunks, verbose=verbose,
                            callbacks=list(callbacks))
    return model, history


def warmup_linear_decay(peak: float, warmup_steps: int, total_steps: int):
    """BERT's learning-rate schedule (Devlin et al. 2019): a linear rise to ``peak`` over
    ``warmup_steps`` optimizer steps, then a linear fall to 0 at ``total_steps``.

    Returns a keras LearningRateSchedule (step -> float32 rate) for any Keras optimizer.
    """
    _args.positive_number("peak", peak)
    warmup_steps = int_at_least("warmup_steps", warmup_steps)
    total_steps = int_at_least("total_steps", total_steps)
    if warmup_steps > total_steps:
        raise ValueError(f"warmup_steps ({warmup_steps}) must be <= total_steps ({total_steps})")
    decay = keras.optimizers.schedules.PolynomialDecay(float(peak), max(total_steps - warmup_steps, 1), 0.0)
    return _Warmup(peak, warmup_steps, decay)


class _Warmup(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, peak, warmup, after):
        self.peak, self.warmup, self.after = float(peak), int(warmup), after

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warm = self.peak * (step + 1.0) / self.warmup
        return keras.ops.where(step < self.warmup, warm, self.after(step - self.warmup))

    def get_config(self):
        return {"peak": self.peak, "warmup": self.warmup}


def build_classifier(backbone, num_classes: int = 2, pooling: str = "cls", dropout: float = 0.1,
                     name: str = "bert_classifier") -> keras.Model:
    """A classification head on a BERT backbone.

    pooling="cls": the backbone's pooled [CLS] vector (BERT's choice); "mean": the average of
    sequence_output over real tokens (padding_mask), as sentence-transformers models such as MiniLM
    are trained. Inputs: the feature dict (N, T); output float32 logits (N, num_classes).
    """
    _args.one_of("pooling", pooling, POOLINGS)
    _check_backbone(backbone)
    head = _classification_head(num_classes, dropout)
    inputs = {k: keras.Input(shape=(None,), dtype="bool" if k == "padding_mask" else "int32", name=k)
              for k in FEATURE_KEYS}
    out = backbone(inputs)
    if pooling == "cls":
        x = out["pooled_output"]
    else:
        x = MeanPool(name="mean_pool")(out["sequence_output"], inputs["padding_mask"])
    return keras.Model(inputs, head(x), name=name)


def _classification_head(num_classes, dropout):
    """(N, D) pooled vectors -> float32 logits (N, num_classes): dropout, Dense (checked arguments)."""
    num_classes = int_at_least("num_classes", num_classes, 2)
    _args.fraction("dropout", dropout)

    def head(x):
        if dropout:
            x = keras.layers.Dropout(dropout, name="head_dropout")(x)
        x = keras.layers.Dense(num_classes, name="logits_raw")(x)
        return keras.layers.Activation("linear", dtype="float32", name="logits")(x)
    return head


def split_top(backbone, top_layers: int, num_classes: int = 2, dropout: float = 0.1,
              name: str = "top_classifier") -> tuple[keras.Model, keras.Model]:
    """Split a BERT backbone for fine-tuning only its top ``top_layers`` Transformer layers.

    Returns (lower, top):
    - lower: feature dict (N, T) -> hidden states (N, T, hidden_dim) after the embeddings and the
      lower ``num_layers - top_layers`` layers. Run it once (``predict``) and keep its outputs.
    - top: {"hidden_states": (N, T, hidden_dim), "padding_mask": bool (N, T)} -> float32 logits
      (N, num_classes): the top layers (the backbone's own layer objects, so training ``top``
      updates ``backbone``), mean pooling over real tokens (layer "mean_pool"), dropout, Dense.

    ``top(hidden_states=lower(x), padding_mask=...)`` computes what
    ``build_classifier(backbone, pooling="mean")(x)`` computes, but each training step of ``top``
    runs only the top layers: with 2 of 6 layers, about a third of the work of a full step.
    """
    layers = list(_check_backbone(backbone).transformer_layers)
    top_layers = int_at_least("top_layers", top_layers, 1)
    if top_layers >= len(layers):
        raise ValueError(f"top_layers must be < the backbone's {len(layers)} layers (fine-tune all "
                         f"of them with build_classifier), got {top_layers}")
    head = _classification_head(num_classes, dropout)
    lower = keras.Model(backbone.input, layers[len(layers) - top_layers - 1].output, name="lower_layers")
    hidden = keras.Input(shape=(None, backbone.hidden_dim), name="hidden_states")
    mask = keras.Input(shape=(None,), dtype="bool", name="padding_mask")
    x = hidden
    for layer in layers[len(layers) - top_layers:]:
        x = layer(x, padding_mask=mask)
    logits = head(MeanPool(name="mean_pool")(x, mask))
    return lower, keras.Model({"hidden_states": hidden, "padding_mask": mask}, logits, name=name)


class MeanPool(keras.layers.Layer):
    """Average of (N, T, D) vectors over the positions where padding_mask (N, T) is True -> (N, D)."""

    def call(self, sequence, padding_mask):
        m = keras.ops.cast(keras.ops.expand_dims(padding_mask, -1), sequence.dtype)
        return keras.ops.sum(sequence * m, axis=1) / keras.ops.maximum(keras.ops.sum(m, axis=1), 1.0)


def classifier_dataset(features: dict, labels, batch_size: int = 32, shuffle: bool = False, seed: int = 0):
    """tf.data of (feature dict (b, T), int32 labels (b,)) batches."""
    import tensorflow as tf

    n, _ = _check_features(features)
    if np.shape(labels) != (n,):
        raise ValueError(f"labels must have shape ({n},) to match features, got {np.shape(labels)}")
    labels = _args.class_indices("labels", labels)
    batch_size = int_at_least("batch_size", batch_size)
    _args.flag("shuffle", shuffle)
    ds = tf.data.Dataset.from_tensor_slices(({k: features[k] for k in FEATURE_KEYS}, labels.astype("int32")))
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return data.prefetch(ds.batch(batch_size))


def subset_features(features: dict, index) -> dict:
    """The rows ``index`` (int array) of every array in a feature dict."""
    _check_features(features)
    return {k: np.asarray(v)[index] for k, v in features.items()}


def attention_scores(backbone, features: dict) -> tuple[list, np.ndarray]:
    """Every layer's attention weights, by re-running the backbone's own layers (inference mode).

    features: dict of (N, T) arrays. Returns (scores, sequence_output): scores is a list of
    num_layers float arrays (N, num_heads, T, T) (rows: queries, columns: keys; padded keys get 0);
    sequence_output (N, T, hidden_dim) equals backbone(features)["sequence_output"].
    """
    _check_backbone(backbone)
    _check_features(features)
    _check_length(backbone, features)
    mask = features["padding_mask"]
    x = backbone.embeddings_add((backbone.token_embedding(features["token_ids"]),
                                 backbone.position_embedding(backbone.token_embedding(features["token_ids"])),
                                 backbone.segment_embedding(features["segment_ids"])))
    x = backbone.embeddings_layer_norm(x)
    scores = []
    for layer in backbone.transformer_layers:
        x, s = layer(x, padding_mask=mask, return_attention_scores=True, training=False)
        scores.append(np.asarray(s))
    return scores, np.asarray(x)


def compact_vocabulary(token_ids, size: int, vocabulary_size: int,
                       special_ids=(0, 100, 101, 102, 103)) -> np.ndarray:
    """A lookup table from a big vocabulary to a small one, for models too small to afford it all.

    token_ids: int array (any shape) of ids in [0, vocabulary_size) (e.g. a training split).
    The new vocabulary holds the ``special_ids`` first, in that order (default: BERT's [PAD], [UNK],
    [CLS], [SEP], [MASK] -> new ids 0..4), then the most frequent other ids, ``size`` in all. Every
    id left out maps to the second special id ([UNK]). Returns int32 (vocabulary_size,):
    ``lookup[old_ids]`` are the new ids.
    """
    token_ids = np.asarray(token_ids)
    vocabulary_size = int_at_least("vocabulary_size", vocabulary_size, 2)
    special_ids = [int_at_least("special_ids", i, 0) for i in special_ids]
    size = int_at_least("size", size, len(special_ids) + 1)
    if size > vocabulary_size:
        raise ValueError(f"size ({size}) must be <= vocabulary_size ({vocabulary_size})")
    if not np.issubdtype(token_ids.dtype, np.integer) or token_ids.size == 0:
        raise ValueError(f"token_ids must be a non-empty integer array, got dtype {token_ids.dtype}")
    if token_ids.min() < 0 or token_ids.max() >= vocabulary_size:
        raise ValueError(f"token_ids must lie in [0, vocabulary_size={vocabulary_size})")
    if len(special_ids) < 2 or min(special_ids) < 0 or max(special_ids) >= vocabulary_size:
        raise ValueError(f"special_ids must hold >= 2 ids in [0, {vocabulary_size}), got {special_ids}")
    counts = np.bincount(token_ids.ravel(), minlength=vocabulary_size)
    counts[special_ids] = -1
    frequent = np.argsort(-counts, kind="stable")[: size - len(special_ids)]
    lookup = np.full(vocabulary_size, 1, dtype="int32")  # [UNK] = the second special id -> 1
    lookup[special_ids] = np.arange(len(special_ids))
    lookup[frequent] = np.arange(len(special_ids), size)
    return lookup


def top_inputs(hidden_states, features: dict) -> dict:
    """The input dict of ``split_top``'s ``top`` model, from cached lower-layer outputs.

    hidden_states: float (N, T, D), ``lower.predict(features)``; features: the feature dict (N, T)
    they came from. Returns {"hidden_states": (N, T, D), "padding_mask": bool (N, T)}.
    """
    n, t = _check_features(features)
    hidden_states = _args.numeric_array("hidden_states", hidden_states, ndim=3, shape="(N, T, D)")
    if hidden_states.shape[:2] != (n, t):
        raise ValueError(f"hidden_states must have shape ({n}, {t}, D) to match features, got "
                         f"{hidden_states.shape}")
    return {"hidden_states": hidden_states, "padding_mask": np.asarray(features["padding_mask"], bool)}


def sentence_embeddings(model: keras.Model, inputs: dict, batch_size: int = 64) -> np.ndarray:
    """The mean-pooled vectors a classifier feeds its head, in inference mode: float32 numpy (N, D).

    model: a classifier with a "mean_pool" layer: ``build_classifier(backbone, pooling="mean")``
    (inputs: the feature dict (N, T)) or the ``top`` of ``split_top`` (inputs: ``top_inputs(...)``).
    With untrained or frozen weights these are the encoder's sentence embeddings (MiniLM's own use).
    """
    if not isinstance(model, keras.Model) or "mean_pool" not in [layer.name for layer in model.layers]:
        raise ValueError("model must be a keras.Model with a 'mean_pool' layer (build_classifier(..., "
                         f"pooling='mean') or split_top's top), got {type(model).__name__}")
    if not isinstance(inputs, dict) or "padding_mask" not in inputs:
        raise ValueError(f"inputs must be the dict of arrays the model takes (with a 'padding_mask'), got "
                         f"{sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__}")
    batch_size = int_at_least("batch_size", batch_size)
    pooled = keras.Model(model.input, model.get_layer("mean_pool").output)
    return np.asarray(pooled.predict(data.batches(inputs, batch_size=batch_size), verbose=0), dtype="float32")
