"""Recurrent text classifiers (LSTM / GRU) that read raw strings: the course's text baseline.

    build_text_vectorizer(texts, max_tokens, sequence_length)
        -> keras.layers.TextVectorization, adapted: string (N,) -> int64 token ids (N, sequence_length),
           0 = padding, 1 = out-of-vocabulary
    build_rnn_classifier(vectorizer, cell="lstm"|"gru", ...)
        -> keras.Model: string (N,) -> float32 logits (N, 2)   (class 1 = spam / positive)

The model is  TextVectorization -> Embedding(mask_zero=True) -> [Bidirectional] LSTM or GRU
-> Dropout -> Dense(2). Because the embedding emits a mask for token id 0, the recurrent layer skips
padding steps: its state after the last real token is the sequence summary, whatever the padding.
The logits (N, 2) fit ``training.default_compile`` (sparse categorical cross-entropy on logits)
and ``training.predict_classes`` (argmax); they stay float32 under a mixed-precision policy.

LSTM: Hochreiter & Schmidhuber (1997), "Long Short-Term Memory", with the forget gate of Gers,
Schmidhuber & Cummins (2000), "Learning to Forget". GRU: Cho et al. (2014), "Learning Phrase
Representations using RNN Encoder-Decoder for Statistical Machine Translation".
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from course_lib import _args
from course_lib._args import int_at_least

CELLS = ("lstm", "gru")


def build_text_vectorizer(texts, max_tokens: int = 20000, sequence_length: int = 256,
                          name: str = "vectorizer") -> layers.TextVectorization:
    """A TextVectorization layer adapted on ``texts``.

    texts: list / array of N >= 1 str (e.g. ``data.load_spam("train").texts``). Lower-cases, strips
    punctuation, splits on whitespace, keeps the ``max_tokens`` most frequent tokens (ids 2..;
    0 = padding, 1 = out-of-vocabulary) and pads / truncates every text to ``sequence_length`` ids.
    Returns the layer: string (N,) -> int64 (N, sequence_length).
    """
    texts = _args.texts("texts", texts)
    max_tokens = int_at_least("max_tokens", max_tokens, 3)
    sequence_length = int_at_least("sequence_length", sequence_length)
    vectorizer = layers.TextVectorization(max_tokens=max_tokens, output_mode="int",
                                          output_sequence_length=sequence_length, name=name)
    vectorizer.adapt(np.array(texts, dtype=object))
    return vectorizer


def build_rnn_classifier(vectorizer: layers.TextVectorization, cell: str = "lstm",
                         embedding_dim: int = 64, units: int = 64, bidirectional: bool = False,
                         dropout: float = 0.2, num_classes: int = 2,
                         name: str | None = None) -> keras.Model:
    """Raw strings -> recurrent classifier. Input string (N,); output float32 logits (N, num_classes).

    vectorizer: an adapted TextVectorization (see ``build_text_vectorizer``); it is shared, not copied.
    cell: "lstm" or "gru" (Keras defaults: LSTM with unit forget bias, GRU with reset_after=True).
    Layers are named "embedding" (vocab, embedding_dim; mask_zero=True), "rnn" (the
    LSTM/GRU, or the Bidirectional wrapper), "dropout" and "logits".
    """
    if not isinstance(vectorizer, layers.TextVectorization):
        raise TypeError(f"vectorizer must be a keras.layers.TextVectorization (see build_text_vectorizer), "
                        f"got {type(vectorizer).__name__}")
    vocab_size = vectorizer.vocabulary_size()
    if vocab_size < 3:
        raise ValueError(f"vectorizer has a vocabulary of {vocab_size} tokens: call vectorizer.adapt(texts) "
                         "first (or use build_text_vectorizer)")
    cell = _args.one_of("cell", cell, CELLS)
    embedding_dim = int_at_least("embedding_dim", embedding_dim)
    units = int_at_least("units", units)
    num_classes = int_at_least("num_classes", num_classes, 2)
    _args.fraction("dropout", dropout)
    _args.flag("bidirectional", bidirectional)

    text = keras.Input(shape=(), dtype="string", name="text")
    ids = vectorizer(text)
    x = layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(ids)
    rnn_cls = layers.LSTM if cell == "lstm" else layers.GRU
    if bidirectional:
        rnn = layers.Bidirectional(rnn_cls(units), name="rnn")
    else:
        rnn = rnn_cls(units, name="rnn")
    x = rnn(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(num_classes, name="logits_raw")(x)
    logits = layers.Activation("linear", dtype="float32", name="logits")(x)
    return keras.Model(text, logits, name=name or f"{'bi' if bidirectional else ''}{cell}_classifier")
