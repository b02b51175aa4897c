"""course_lib.models.text: the recurrent text classifier that the RNN and BERT lessons use."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import data, metrics, runtime, training
from course_lib.models import text


@pytest.fixture(scope="module")
def small_vectorizer():
    return text.build_text_vectorizer(["free money now", "meeting at noon", "win a free prize"],
                                      max_tokens=50, sequence_length=6)


def test_vectorizer_shapes_and_padding(small_vectorizer):
    ids = np.asarray(small_vectorizer(tf.constant(["free money", "unknownword meeting at noon now"])))
    assert ids.shape == (2, 6) and ids.dtype == np.int64
    assert (ids[0, 2:] == 0).all() and (ids[0, :2] >= 2).all()  # padding is 0, known words >= 2
    assert ids[1, 0] == 1  # out-of-vocabulary is 1


@pytest.mark.parametrize("cell,bidirectional", [("lstm", False), ("gru", False), ("lstm", True)])
def test_classifier_output_and_masking(small_vectorizer, cell, bidirectional):
    runtime.set_seed(0)
    model = text.build_rnn_classifier(small_vectorizer, cell=cell, embedding_dim=8, units=5,
                                      bidirectional=bidirectional)
    logits = model(tf.constant(["free money now", "meeting"]))
    assert logits.shape == (2, 2) and logits.dtype == tf.float32
    rnn = model.get_layer("rnn")
    assert isinstance(rnn.forward_layer if bidirectional else rnn, keras.layers.LSTM if cell == "lstm" else keras.layers.GRU)
    assert model.get_layer("embedding").mask_zero
    # Masking: the same text padded to a longer sequence gives the same logits.
    long_vec = keras.layers.TextVectorization(max_tokens=50, output_sequence_length=12)
    long_vec.set_vocabulary(small_vectorizer.get_vocabulary()[2:])
    ids_short = small_vectorizer(tf.constant(["free money"]))
    ids_long = long_vec(tf.constant(["free money"]))
    emb, rnn_layer = model.get_layer("embedding"), model.get_layer("rnn")
    short = rnn_layer(emb(ids_short), mask=ids_short != 0)
    long = rnn_layer(emb(ids_long), mask=ids_long != 0)
    np.testing.assert_allclose(np.asarray(short), np.asarray(long), atol=1e-6)


def test_lstm_classifier_learns_spam():
    """Trains on 300 emails; must beat the majority-class baseline on 300 held-out emails."""
    runtime.set_seed(0)
    train = data.load_spam("train", subset=300)
    test = data.load_spam("validation", subset=300)
    vec = text.build_text_vectorizer(train.texts, max_tokens=3000, sequence_length=64)
    model = text.build_rnn_classifier(vec, cell="lstm", embedding_dim=32, units=32)
    training.default_compile(model, learning_rate=1e-2)
    ds = tf.data.Dataset.from_tensor_slices((train.texts, train.labels)).shuffle(300, seed=0).batch(32)
    test_ds = tf.data.Dataset.from_tensor_slices((test.texts, test.labels)).batch(100)
    loss_before = model.evaluate(test_ds, verbose=0)[0]
    model.fit(ds, epochs=4, verbose=0, shuffle=False)   # the dataset shuffles itself
    loss_after = model.evaluate(test_ds, verbose=0)[0]
    y, pred = training.predict_classes(model, test_ds)
    report = metrics.spam_report(y, pred, test.groups)
    majority = max(y.mean(), 1 - y.mean())  # about 0.69 (ham share)
    assert loss_after < loss_before - 0.1, (loss_before, loss_after)
    assert report["accuracy"] > majority + 0.08, (report, majority)
    assert report["spam_f1"] > 0.5, report


@pytest.mark.parametrize("kwargs,match", [
    (dict(texts="just one string"), "texts must be a list of strings, got a single string"),
    (dict(texts=[]), "texts is empty"),
    (dict(texts=["ok", 3]), "texts must contain only str; item 1 is int"),
    (dict(texts=["ok"], max_tokens=2), "max_tokens must be an int >= 3"),
    (dict(texts=["ok"], sequence_length=0), "sequence_length must be a positive int"),
    (dict(texts=["ok"], sequence_length=2.5), "sequence_length must be a positive int"),
])
def test_vectorizer_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        text.build_text_vectorizer(**kwargs)


@pytest.mark.parametrize("kwargs,match", [
    (dict(cell="rnn"), r"cell must be one of \('lstm', 'gru'\), got 'rnn'"),
    (dict(units=0), "units must be a positive int"),
    (dict(embedding_dim=True), "embedding_dim must be a positive int"),
    (dict(dropout=1.0), r"dropout must be a number in \[0, 1\)"),
    (dict(num_classes=1), "num_classes must be an int >= 2"),
])
def test_classifier_rejects_bad_arguments(small_vectorizer, kwargs, match):
    with pytest.raises(ValueError, match=match):
        text.build_rnn_classifier(small_vectorizer, **kwargs)


def test_classifier_rejects_bad_vectorizer():
    with pytest.raises(TypeError, match="vectorizer must be a keras.layers.TextVectorization"):
        text.build_rnn_classifier(lambda s: s)
    with pytest.raises(ValueError, match="call vectorizer.adapt"):
        text.build_rnn_classifier(keras.layers.TextVectorization(max_tokens=10))
