"""Recurrent networks of lesson 04: the marked-symbol recall model, and gradients through time.

    build_memory_model(kind, length, num_symbols=4, units=32, ...)
        -> compiled keras.Model: float32 (N, length, num_symbols + 1) -> float32 logits (N, num_symbols)
    train_memory_model(kind, length, train_size, epochs, ...)
        -> (model, History), trained on ``data.marked_recall`` sequences
    state_gradient_norms(cell, x, ...)
        -> float64 (T,): the mean over the batch of ||dL/dh_t||, t = 1..T, when a recurrent cell reads x

The model is one recurrent layer (LSTM: Hochreiter & Schmidhuber 1997, "Long Short-Term Memory",
with the unit forget bias of Jozefowicz, Zaremba & Sutskever 2015; or a SimpleRNN: Elman 1990) and
a linear read-out of its last state. It is compiled with Adam and per-tensor gradient-norm clipping
(Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural networks").
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from course_lib import _args, data, training

KINDS = ("LSTM", "SimpleRNN")


def build_memory_model(kind: str, length: int, num_symbols: int = 4, units: int = 32,
                       unit_forget_bias: bool = True, learning_rate: float = 1e-2,
                       clipnorm: float | None = 1.0, unroll: bool = True, seed: int = 0) -> keras.Model:
    """A compiled recurrent classifier for ``data.marked_recall``: (N, length, num_symbols + 1) -> logits (N, num_symbols).

    kind: "LSTM" or "SimpleRNN" (``model.layers[0]``; its cell is ``model.layers[0].cell``).
    unit_forget_bias: the LSTM's forget-gate bias starts at 1 (Keras' default) or at 0; the
    SimpleRNN has no forget gate, so it must stay True there. clipnorm: Keras' per-tensor gradient
    clipping (each weight's gradient is rescaled to norm <= clipnorm), None for none. unroll: write
    the time loop out in the graph (faster for short sequences). seed: the initial weights, through
    ``keras.utils.set_random_seed`` (which also seeds Python, numpy and TensorFlow). Loss: sparse
    categorical cross-entropy on the logits (float32, also under a mixed-precision policy); metric:
    accuracy.
    """
    kind = _args.one_of("kind", kind, KINDS)
    length = _args.int_at_least("length", length)
    num_symbols = _args.int_at_least("num_symbols", num_symbols, 2)
    units = _args.int_at_least("units", units)
    unit_forget_bias = _args.flag("unit_forget_bias", unit_forget_bias)
    if kind == "SimpleRNN" and not unit_forget_bias:
        raise ValueError("unit_forget_bias=False needs kind='LSTM': a SimpleRNN has no forget gate")
    _args.positive_number("learning_rate", learning_rate)
    if clipnorm is not None:
        clipnorm = _args.positive_number("clipnorm", clipnorm)
    unroll = _args.flag("unroll", unroll)
    keras.utils.set_random_seed(_args.int_at_least("seed", seed, 0))
    if kind == "LSTM":
        rnn = keras.layers.LSTM(units, unroll=unroll, unit_forget_bias=unit_forget_bias)
    else:
        rnn = keras.layers.SimpleRNN(units, unroll=unroll)
    model = keras.Sequential([keras.Input((length, num_symbols + 1)), rnn,
                              keras.layers.Dense(num_symbols, dtype="float32")], name=f"{kind}_T{length}")
    model.compile(keras.optimizers.Adam(learning_rate, clipnorm=clipnorm),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return training.build_optimizer(model)      # so fit traces its step once


def train_memory_model(kind: str, length: int, train_size: int, epochs: int, num_symbols: int = 4,
                       units: int = 32, unit_forget_bias: bool = True, learning_rate: float = 1e-2,
                       clipnorm: float | None = 1.0, stop_at_accuracy: float | None = 0.99,
                       batch_size: int = 64, seed: int = 0, data_seed: int = 1, callbacks=()):
    """Build ``build_memory_model(kind, length, ..., seed=seed)`` and train it; returns (model, History).

    Trains on ``data.marked_recall(train_size, length, num_symbols, seed=data_seed)`` (lags drawn
    from 1..length) for at most ``epochs`` epochs, stopping after the first epoch whose training
    accuracy reaches ``stop_at_accuracy`` (``training.StopAtMetric``; None: always all epochs).
    callbacks: more keras callbacks for ``fit``. Evaluate on your own test sequences, e.g.
    ``data.marked_recall(1000, length, num_symbols, seed=2, lag=length)``.
    """
    train_size = _args.int_at_least("train_size", train_size)
    epochs = _args.int_at_least("epochs", epochs)
    batch_size = _args.int_at_least("batch_size", batch_size)
    if not isinstance(callbacks, (list, tuple)) or not all(isinstance(c, keras.callbacks.Callback) for c in callbacks):
        raise TypeError(f"callbacks must be a list of keras.callbacks.Callback, got {callbacks!r:.80}")
    stops = [] if stop_at_accuracy is None else [training.StopAtMetric("accuracy", stop_at_accuracy)]
    if stops and not 0 < stops[0].target <= 1:
        raise ValueError(f"stop_at_accuracy must be a number in (0, 1] or None, got {stop_at_accuracy!r}")
    model = build_memory_model(kind, length, num_symbols, units, unit_forget_bias, learning_rate, clipnorm,
                               seed=seed)
    x, y = data.marked_recall(train_size, length, num_symbols, seed=data_seed)
    train = data.batches(x, y, batch_size, shuffle=True, seed=data_seed)     # no autotuner wait per epoch
    history = model.fit(train, epochs=epochs, shuffle=False, verbose=0, callbacks=stops + list(callbacks))
    return model, history


def _default_readout(num_classes, batch, seed, dtype):
    """Mean cross-entropy of a random linear read-out of h_T against random labels, all from ``seed``."""
    head = keras.layers.Dense(num_classes, dtype=dtype, kernel_initializer=keras.initializers.GlorotUniform(seed))
    labels = tf.constant(np.random.default_rng(seed).integers(0, num_classes, batch))
    return lambda h: tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, head(h), from_logits=True))


def state_gradient_norms(cell, x, readout=None, num_classes: int = 4, seed: int = 0,
                         dtype: str = "float64") -> np.ndarray:
    """How much gradient reaches each step: mean over the batch of ||dL/dh_t||, t = 1..T. Returns float64 (T,).

    cell: a Keras recurrent cell (``keras.layers.LSTMCell``, ``SimpleRNNCell``, ``GRUCell``, or a
    trained layer's ``.cell``); an unbuilt cell is built for x's feature size first. The cell is
    not changed: a copy in ``dtype`` with the same weights runs the steps one by one from a zero
    state, under ``tf.GradientTape``, so that every output h_t is a tensor to differentiate by.
    dtype: float64 by default, whatever the precision policy; gradients that vanish over many steps
    fall below float16's smallest positive number (about 6e-8) and lose accuracy in float32.
    x: (N, T, D) numbers. readout: a function h_T (N, units) -> scalar loss L (TensorFlow ops);
    by default the mean cross-entropy of a linear read-out with random weights against random
    labels in [0, num_classes), both drawn from ``seed``.
    """
    if isinstance(cell, keras.layers.RNN):
        raise TypeError(f"cell must be a Keras recurrent cell, got the layer {type(cell).__name__}: pass its .cell")
    if not isinstance(cell, keras.layers.Layer) or not hasattr(cell, "state_size"):
        raise TypeError(f"cell must be a Keras recurrent cell such as keras.layers.LSTMCell (a layer's .cell), "
                        f"got {type(cell).__name__}")
    x = _args.numeric_array("x", x, ndim=3, shape="(N, T, D)", min_rows=1)
    if x.shape[1] < 1 or x.shape[2] < 1:
        raise ValueError(f"x must have shape (N, T, D) with T >= 1 and D >= 1, got {x.shape}")
    if readout is not None:
        _args.function("readout", readout, "a function h_T -> scalar loss")
    num_classes = _args.int_at_least("num_classes", num_classes, 2)
    seed = _args.int_at_least("seed", seed, 0)
    dtype = _args.one_of("dtype", dtype, ("float16", "float32", "float64"))
    if not cell.built:
        cell.build((None, x.shape[2]))
    want = cell.get_weights()[0].shape[0]
    if want != x.shape[2]:
        raise ValueError(f"x has {x.shape[2]} features per step but the cell was built for {want}")
    copy = type(cell).from_config({**cell.get_config(), "dtype": dtype})
    copy.build((None, x.shape[2]))
    copy.set_weights(cell.get_weights())
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    states = [tf.zeros((len(x), int(s)), dtype) for s in sizes]
    loss_of = readout or _default_readout(num_classes, len(x), seed, dtype)
    xs = tf.constant(x, dtype)
    with tf.GradientTape() as tape:
        outputs = []
        for t in range(x.shape[1]):
            h, states = copy(xs[:, t], states)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            outputs.append(h)
        loss = loss_of(outputs[-1])
    grads = tape.gradient(loss, outputs)
    if any(g is None for g in grads):
        raise ValueError("readout(h_T) does not depend on h_T: no gradient flows back to the steps")
    return np.array([float(tf.reduce_mean(tf.norm(tf.cast(g, "float64"), axis=-1))) for g in grads])
