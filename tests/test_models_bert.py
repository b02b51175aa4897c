"""Tiny-BERT builders and helpers: shapes, parameter counts, MLM batches, bad input."""
import numpy as np
import pytest

from course_lib.models import bert


def _features(n=8, t=12, vocab=50, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, vocab, size=(n, t)).astype("int32")
    lengths = rng.integers(4, t + 1, size=n)
    mask = np.arange(t)[None] < lengths[:, None]
    ids[:, 0] = 2
    ids[~mask] = 0
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}


def test_tiny_bert_param_count_and_classifier_shapes():
    bb = bert.build_tiny_bert(50, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16, max_sequence_length=12)
    V, P, H, I = 50, 12, 8, 16
    expected = V * H + P * H + 2 * H + 2 * H + 4 * (H * H + H) + 2 * H + H * I + I + I * H + H + 2 * H + H * H + H
    assert bb.count_params() == expected
    for pooling in bert.POOLINGS:
        logits = bert.build_classifier(bb, num_classes=3, pooling=pooling)(_features())
        assert tuple(logits.shape) == (8, 3) and np.asarray(logits).dtype == np.float32


def test_mean_pool_ignores_padding():
    seq = np.arange(2 * 3 * 2, dtype="float32").reshape(2, 3, 2)
    mask = np.array([[1, 1, 0], [1, 0, 0]], bool)
    out = np.asarray(bert.MeanPool()(seq, mask))
    np.testing.assert_allclose(out, [seq[0, :2].mean(0), seq[1, 0]])


def _code_points(length):
    """A stand-in preprocessor: str (N,) -> features (N, length), the first code points of each text."""
    import tensorflow as tf

    def preprocess(texts):
        ids = tf.strings.unicode_decode(texts, "UTF-8").to_tensor(shape=[None, length])
        return {"token_ids": ids, "segment_ids": tf.zeros_like(ids), "padding_mask": ids != 0}
    return preprocess


def test_encode_texts_equals_the_preprocessor_batch_by_batch():
    texts = ["spam", "", "ham and eggs", "Ünïcode ☃"]
    for length in (3, 6, 3):                          # a new preprocessor each time: its own graph
        preprocess = _code_points(length)
        want = {k: np.asarray(v) for k, v in preprocess(np.array(texts)).items()}
        for batch_size in (3, 256):                   # a last batch of another size; one batch
            got = bert.encode_texts(preprocess, texts, batch_size=batch_size)
            assert {k: (v.shape, v.dtype) for k, v in got.items()} == {k: (v.shape, v.dtype) for k, v in want.items()}
            for k in bert.FEATURE_KEYS:
                np.testing.assert_array_equal(got[k], want[k])


def _mask_generator():
    import keras_hub
    return keras_hub.layers.MaskedLMMaskGenerator(vocabulary_size=50, mask_selection_rate=0.3, mask_token_id=4,
                                                  mask_selection_length=5, unselectable_token_ids=[0, 2, 3])


def _batches(ds):
    return [(x["token_ids"].numpy(), x["mask_positions"].numpy(), y.numpy(), w.numpy()) for x, y, w in ds]


def test_mlm_dataset_batches():
    feats = _features()
    batches = _batches(bert.mlm_dataset(feats, _mask_generator(), batch_size=4, steps=5))
    assert len(batches) == 5                                  # steps batches, passes repeated as needed
    now_mask = []
    for ids, pos, y, w in batches:
        assert ids.shape == (4, 12) and pos.shape == y.shape == w.shape == (4, 5) and w.sum() > 0
        real = w > 0
        assert not np.isin(y[real], [0, 2, 3]).any()           # specials are never selected
        now_mask.extend(ids[np.arange(4)[:, None], pos][real] == 4)
    assert np.mean(now_mask) > 0.5                             # ~80% of the selected become [MASK]
    assert len(_batches(bert.mlm_dataset(feats, _mask_generator(), batch_size=4))) == 2   # default: one pass


def test_mlm_dataset_is_reproducible_from_its_seed():
    feats = _features(n=16, t=24)
    a, b, c = (_batches(bert.mlm_dataset(feats, _mask_generator(), batch_size=4, steps=6, seed=s))
               for s in (3, 3, 4))
    for (ids_a, pos_a, y_a, w_a), (ids_b, pos_b, y_b, w_b) in zip(a, b):
        np.testing.assert_array_equal(ids_a, ids_b)
        np.testing.assert_array_equal(pos_a, pos_b)
        np.testing.assert_array_equal(w_a, w_b)
    assert any((pa != pc).any() for (_, pa, _, _), (_, pc, _, _) in zip(a, c))   # another seed, other masks


def test_mlm_dataset_rejects_batch_larger_than_data():
    with pytest.raises(ValueError, match="batch_size must be <= the number of examples"):
        bert.mlm_dataset(_features(n=3), _mask_generator(), batch_size=4)


def test_compact_vocabulary_keeps_specials_and_frequent():
    ids = np.array([[0, 101, 7, 7, 7, 9, 9, 11, 102]])
    lookup = bert.compact_vocabulary(ids, size=7, vocabulary_size=200)
    assert lookup.shape == (200,)
    assert list(lookup[[0, 100, 101, 102, 103]]) == [0, 1, 2, 3, 4]
    assert lookup[7] == 5 and lookup[9] == 6 and lookup[11] == 1   # 11 did not fit -> [UNK]


@pytest.mark.parametrize("kwargs, match", [
    (dict(vocabulary_size=0), "vocabulary_size must be an int >= 2"),
    (dict(vocabulary_size=50, hidden_dim=10, num_heads=3), "divisible by num_heads"),
    (dict(vocabulary_size=50, dropout=1.0), r"dropout must be a number in \[0, 1\)"),
])
def test_build_tiny_bert_rejects_bad_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bert.build_tiny_bert(**kwargs)


def test_bad_inputs():
    f = _features()
    with pytest.raises(ValueError, match="features must be a dict with keys"):
        bert.classifier_dataset({"token_ids": f["token_ids"]}, np.zeros(8))
    with pytest.raises(ValueError, match=r"labels must have shape \(8,\)"):
        bert.classifier_dataset(f, np.zeros(7))
    with pytest.raises(ValueError, match="texts must be a list of strings"):
        bert.encode_texts(None, "one string")
    with pytest.raises(ValueError, match="size \\(300\\) must be <= vocabulary_size"):
        bert.compact_vocabulary(f["token_ids"], 300, 200)
    with pytest.raises(ValueError, match="token_ids must lie in"):
        bert.compact_vocabulary(f["token_ids"], 10, 20)
    with pytest.raises(ValueError, match="pooling must be one of"):
        bert.build_classifier(None, pooling="max")


def test_warmup_linear_decay_rises_then_falls_to_zero():
    peak, warmup, total = 1e-3, 10, 50
    schedule = bert.warmup_linear_decay(peak, warmup, total)
    rates = np.array([float(schedule(step)) for step in range(total + 1)])
    assert np.allclose(rates[:warmup], peak * np.arange(1, warmup + 1) / warmup)         # linear rise
    assert np.isclose(rates.max(), peak) and rates.argmax() in (warmup - 1, warmup)
    after = rates[warmup:]
    assert np.allclose(after, peak * (1 - np.arange(total - warmup + 1) / (total - warmup)), atol=1e-9)
    assert rates[-1] == 0.0


@pytest.mark.parametrize("args, match", [
    ((0.0, 1, 10), "peak must be"), ((1e-3, 0, 10), "warmup_steps must be"),
    ((1e-3, 11, 10), "warmup_steps .* must be <= total_steps"), ((True, 1, 10), "peak must be"),
])
def test_warmup_linear_decay_rejects_bad_args(args, match):
    with pytest.raises(ValueError, match=match):
        bert.warmup_linear_decay(*args)


def test_split_top_reproduces_the_backbone_and_trains_only_the_top():
    import keras
    keras.utils.set_random_seed(0)
    bb = bert.build_tiny_bert(50, num_layers=3, num_heads=2, hidden_dim=8, intermediate_dim=16,
                              max_sequence_length=12)
    x = _features(n=5)
    lower, top = bert.split_top(bb, top_layers=2, num_classes=3)
    hidden = np.asarray(lower(x))
    assert hidden.shape == (5, 12, 8)
    pooled = keras.Model(top.input, top.get_layer("mean_pool").output)
    expected = bert.MeanPool()(bb(x)["sequence_output"], x["padding_mask"])
    np.testing.assert_allclose(pooled({"hidden_states": hidden, "padding_mask": x["padding_mask"]}),
                               expected, atol=1e-5)
    before = [w.copy() for w in bb.get_weights()]
    top.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    top.fit({"hidden_states": hidden, "padding_mask": x["padding_mask"]}, np.arange(5) % 3, verbose=0)
    top_ids = {id(v) for layer in bb.transformer_layers[1:] for v in layer.weights}
    moved = {id(v): not np.allclose(np.asarray(v), b) for v, b in zip(bb.weights, before)}
    assert not any(m for i, m in moved.items() if i not in top_ids)      # embeddings, layer 1, pooler
    assert any(m for i, m in moved.items() if i in top_ids)              # the top layers trained
    assert np.allclose(np.asarray(lower(x)), hidden)          # the lower layers did not move


@pytest.mark.parametrize("kwargs, match", [
    ({"top_layers": 0}, "top_layers"), ({"top_layers": 3}, "top_layers must be < "),
    ({"top_layers": 1, "num_classes": 1}, "num_classes"), ({"top_layers": 1, "dropout": 1.0}, "dropout")])
def test_split_top_rejects_bad_args(kwargs, match):
    bb = bert.build_tiny_bert(50, num_layers=3, num_heads=2, hidden_dim=8, intermediate_dim=16,
                              max_sequence_length=12)
    with pytest.raises(ValueError, match=match):
        bert.split_top(bb, **kwargs)
    with pytest.raises(TypeError, match="BertBackbone"):
        bert.split_top(object(), 1)


def _digits_tokenizer(batch):          # "3 4 5" -> [3, 4, 5]: a stand-in whose pieces we can read
    return [[int(w) for w in t.decode().split()] for t in batch.numpy()]


def test_encode_head_tail_keeps_first_and_last_pieces():
    texts = [" ".join(str(i) for i in range(1000, 1300)), "7 8 9"]
    f = bert.encode_head_tail(_digits_tokenizer, texts, sequence_length=10, batch_size=1)
    assert f["token_ids"].dtype == np.int32 and f["token_ids"].shape == (2, 10)
    np.testing.assert_array_equal(f["token_ids"][0], [101, 1000, 1001, 1002, 1003, 1296, 1297, 1298, 1299, 102])
    np.testing.assert_array_equal(f["token_ids"][1], [101, 7, 8, 9, 102, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(f["padding_mask"].sum(1), [10, 5])
    assert not f["segment_ids"].any()
    odd = bert.encode_head_tail(_digits_tokenizer, texts[:1], sequence_length=9)["token_ids"][0]
    np.testing.assert_array_equal(odd, [101, 1000, 1001, 1002, 1003, 1297, 1298, 1299, 102])   # 4 + 3


def test_encode_head_tail_rejects_bad_args():
    with pytest.raises(ValueError, match="texts must be a list"):
        bert.encode_head_tail(_digits_tokenizer, "1 2 3")
    with pytest.raises(ValueError, match="texts is empty"):
        bert.encode_head_tail(_digits_tokenizer, [])
    with pytest.raises(ValueError, match="sequence_length"):
        bert.encode_head_tail(_digits_tokenizer, ["1 2"], sequence_length=3)


def _predictable_features(n=64, t=16, vocab=50):
    """Each row counts upward from a random start: every masked piece is inferable from its neighbours."""
    starts = np.random.default_rng(0).integers(0, vocab - 5, size=n)
    ids = (5 + (starts[:, None] + np.arange(t)[None]) % (vocab - 5)).astype("int32")
    ids[:, 0] = 2
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids, bool)}


def test_pretrain_mlm_learns_and_is_reproducible(monkeypatch):
    import keras
    import keras_hub

    traces = []
    step = keras_hub.models.BertMaskedLM.train_step
    monkeypatch.setattr(keras_hub.models.BertMaskedLM, "train_step",
                        lambda self, data: traces.append(1) or step(self, data))   # runs once per trace

    def run():
        keras.utils.set_random_seed(0)
        backbone = bert.build_tiny_bert(50, num_layers=1, num_heads=2, hidden_dim=32, intermediate_dim=64,
                                        max_sequence_length=16, dropout=0.0)
        _, hist = bert.pretrain_mlm(backbone, _predictable_features(), mask_token_id=4,
                                    unselectable_token_ids=[0, 2, 3], steps=200, batch_size=16,
                                    learning_rate=3e-3, seed=1, verbose=0)
        return hist.history
    first, second = run(), run()
    assert len(traces) == 2                                      # one trace per run: optimizer built before fit
    assert first["loss"] == second["loss"]                       # same seed, same numbers
    assert first["loss"][-1] < first["loss"][0] - 0.4            # learning happened
    assert first["accuracy"][-1] > 0.15 > 7 * (1 / 50)           # far above guessing one of 50 pieces


def _numpy_mean_over_real(sequence, mask):
    """(N, T, D), bool (N, T) -> (N, D): the average over real positions, written independently."""
    sequence, mask = np.asarray(sequence, "float64"), np.asarray(mask, bool)
    return np.stack([s[m].mean(0) for s, m in zip(sequence, mask)])


def test_sentence_embeddings_of_split_top_equal_the_backbone_mean():
    import keras
    keras.utils.set_random_seed(1)
    bb = bert.build_tiny_bert(50, num_layers=3, num_heads=2, hidden_dim=8, intermediate_dim=16,
                              max_sequence_length=12)
    x = _features(n=7, seed=3)
    expected = _numpy_mean_over_real(bb(x)["sequence_output"], x["padding_mask"])
    lower, top = bert.split_top(bb, top_layers=1)
    inputs = bert.top_inputs(lower.predict(x, verbose=0), x)
    assert set(inputs) == {"hidden_states", "padding_mask"} and inputs["padding_mask"].dtype == bool
    emb = bert.sentence_embeddings(top, inputs, batch_size=3)       # batches of 3: 3 + 3 + 1
    assert emb.shape == (7, 8) and emb.dtype == np.float32
    np.testing.assert_allclose(emb, expected, atol=1e-5)
    full = bert.sentence_embeddings(bert.build_classifier(bb, pooling="mean"), x)
    np.testing.assert_allclose(full, expected, atol=1e-5)
    ragged = {**x, "padding_mask": x["padding_mask"].copy()}
    ragged["padding_mask"][:, 4:] = False                        # fewer real pieces: another mean
    assert np.abs(bert.sentence_embeddings(top, bert.top_inputs(inputs["hidden_states"], ragged))
                  - emb).max() > 1e-3


def test_sentence_embeddings_and_top_inputs_reject_bad_args():
    bb = bert.build_tiny_bert(50, num_layers=2, num_heads=2, hidden_dim=8, intermediate_dim=16,
                              max_sequence_length=12)
    x = _features(n=4)
    with pytest.raises(ValueError, match="'mean_pool' layer"):
        bert.sentence_embeddings(bert.build_classifier(bb, pooling="cls"), x)
    with pytest.raises(ValueError, match="'mean_pool' layer"):
        bert.sentence_embeddings("model", x)
    with pytest.raises(ValueError, match="inputs must be the dict"):
        bert.sentence_embeddings(bert.build_classifier(bb, pooling="mean"), x["token_ids"])
    with pytest.raises(ValueError, match=r"hidden_states must have shape \(4, 12, D\)"):
        bert.top_inputs(np.zeros((4, 11, 8)), x)
    with pytest.raises(ValueError, match=r"hidden_states must have shape \(N, T, D\)"):
        bert.top_inputs(np.zeros((4, 12)), x)
    with pytest.raises(ValueError, match="features must be a dict"):
        bert.top_inputs(np.zeros((4, 12, 8)), x["token_ids"])
