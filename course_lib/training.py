"""Training: a thin layer over ``keras.Model.fit``.

It adds only what every lesson repeats: build the model inside the runtime strategy's scope, feed
tf.data, early stopping with best-weights restore, and a ``History`` you can plot with
``plots.history``; and, for many short runs of one compiled model, ``restart`` and
``LearningRateEveryStep``. Anything else, pass straight through to Keras.
"""
from __future__ import annotations

from typing import Callable

import keras
import tensorflow as tf


def default_compile(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Adam + sparse categorical cross-entropy on logits + accuracy."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def restart(model: keras.Model, weights: list) -> keras.Model:
    """Start a compiled model's training again from ``weights``, without recompiling.

    weights: a list like ``model.get_weights()`` (e.g. from a freshly built model of the same
    architecture, or saved before training). Sets the weights and puts the optimizer back to step 0
    with zero moments (and, under mixed precision, its initial loss scale); its learning rate (or
    schedule) is kept. Use it for many short runs of one
    architecture (seeds, training-set sizes): a freshly compiled model traces its training step
    again, which costs seconds per run on a CPU.
    """
    if not isinstance(model, keras.Model) or not model.compiled:
        raise TypeError(f"model must be a compiled keras.Model, got {type(model).__name__}")
    current = model.get_weights()
    if not isinstance(weights, (list, tuple)) or len(weights) != len(current):
        raise ValueError(f"weights must be a list of {len(current)} arrays (as model.get_weights() "
                         f"returns), got {type(weights).__name__} of length {len(weights) if hasattr(weights, '__len__') else '?'}")
    for i, (w, c) in enumerate(zip(weights, current)):
        if tuple(getattr(w, "shape", ())) != c.shape:
            raise ValueError(f"weights[{i}] must have shape {c.shape}, got {tuple(getattr(w, 'shape', ()))}")
    model.set_weights(weights)
    optimizer = model.optimizer
    if optimizer.built:
        for v in optimizer.variables:
            if v.name == "dynamic_scale":           # LossScaleOptimizer (mixed_float16 on a GPU)
                v.assign(keras.ops.full(v.shape, optimizer.initial_scale, v.dtype))
            elif v.name != "learning_rate":         # step counters and moments
                v.assign(keras.ops.zeros(v.shape, v.dtype))
    return model


class LearningRateEveryStep(keras.callbacks.Callback):
    """Set the optimizer's learning rate to ``schedule(step)`` before every training step.

    schedule: a callable step (int, from 0) -> float, e.g. ``bert.warmup_linear_decay(peak,
    warmup, total)``; step is the optimizer's own step count, so it starts again at 0 after
    ``restart``. For a model compiled once with a plain learning rate and trained many times with
    different schedules (different run lengths): a schedule given to the optimizer at compile time
    is fixed into the traced training step. Keras' own ``LearningRateScheduler`` acts per epoch.
    """

    def __init__(self, schedule):
        if not callable(schedule):
            raise TypeError(f"schedule must be a callable step -> learning rate, got {type(schedule).__name__}")
        super().__init__()
        self.schedule = schedule

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        rate = float(self.schedule(int(optimizer.iterations)))
        try:
            optimizer.learning_rate = rate
        except TypeError as e:          # Keras: a rate given as a LearningRateSchedule cannot be set
            raise ValueError("LearningRateEveryStep needs an optimizer compiled with a plain float learning "
                             "rate, not a LearningRateSchedule") from e


def build_in_scope(build_model: Callable[[], keras.Model], strategy=None,
                   learning_rate: float = 1e-3) -> keras.Model:
    """Call ``build_model()`` inside ``strategy.scope()``; compile with defaults if it did not."""
    if not callable(build_model):
        raise TypeError(f"build_model must be a function that returns a keras.Model, got {type(build_model).__name__}")
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = build_model()
        if not isinstance(model, keras.Model):
            raise TypeError(f"build_model() must return a keras.Model, got {type(model).__name__}")
        if not model.compiled:
            default_compile(model, learning_rate)
    return model


def fit(build_model: Callable[[], keras.Model] | keras.Model, train: tf.data.Dataset,
        validation: tf.data.Dataset | None = None, epochs: int = 1, strategy=None,
        patience: int | None = 3, callbacks: list | tuple = (), verbose="auto",
        learning_rate: float = 1e-3, **fit_kwargs):
    """Train and return ``(model, history)``.

    build_model: a zero-argument function returning a (compiled or not) keras.Model, so it can be
        built inside ``strategy.scope()``; or an already built model (used as is).
    train / validation: tf.data datasets of batched (inputs, targets).
    patience: early stopping on val_loss with best-weights restore (None turns it off; needs
        ``validation``).
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not isinstance(train, tf.data.Dataset):
        raise TypeError(f"train must be a tf.data.Dataset of batches, got {type(train).__name__}")
    if validation is not None and not isinstance(validation, tf.data.Dataset):
        raise TypeError(f"validation must be a tf.data.Dataset or None, got {type(validation).__name__}")
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience < 1):
        raise ValueError(f"patience must be a positive int or None, got {patience!r}")
    model = build_model if isinstance(build_model, keras.Model) else build_in_scope(build_model, strategy, learning_rate)
    if not model.compiled:
        default_compile(model, learning_rate)
    if isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
        # Keras 3's fit() cannot feed MultiWorkerMirroredStrategy (keras-team/keras#20585);
        # use the explicit tf.distribute loop, which can.
        if validation is not None or callbacks or fit_kwargs:
            raise ValueError("under MultiWorkerMirroredStrategy, fit() supports only train and epochs "
                             "(Keras 3 cannot run model.fit there; see custom_loop_fit)")
        return model, custom_loop_fit(model, train, epochs, model.distribute_strategy)
    cbs = list(callbacks)
    if validation is not None and patience is not None:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                 restore_best_weights=True))
    fit_kwargs.setdefault("shuffle", False)  # tf.data does the shuffling (data.fashion_mnist_dataset)
    history = model.fit(train, validation_data=validation, epochs=epochs, callbacks=cbs,
                        verbose=verbose, **fit_kwargs)
    return model, history


def custom_loop_fit(model: keras.Model, train: tf.data.Dataset, epochs: int, strategy,
                    per_example_loss=None) -> keras.callbacks.History:
    """Train with an explicit ``strategy.run`` loop (works for every tf.distribute strategy).

    per_example_loss(y, logits) -> (b,) losses; default sparse categorical cross-entropy on logits.
    Each replica averages its losses over the *global* batch, so summed gradients equal the
    single-device gradient. Returns a History with the per-epoch mean "loss".
    """
    loss_fn = per_example_loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)
    optimizer = model.optimizer
    dist = strategy.experimental_distribute_dataset(train)

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.nn.compute_average_loss(loss_fn(y, model(x, training=True)))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function
    def step(x, y):
        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(replica_step, args=(x, y)), axis=None)

    history = keras.callbacks.History()
    history.set_model(model)
    history.on_train_begin()
    for epoch in range(epochs):
        losses = [float(step(x, y)) for x, y in dist]
        history.on_epoch_end(epoch, {"loss": sum(losses) / max(len(losses), 1)})
    return history


def predict_classes(model: keras.Model, dataset: tf.data.Dataset):
    """(y_true int (N,), y_pred int (N,)) over a dataset of (x, y) batches.

    One pass, so a shuffled dataset is fine. On one device each batch goes through the model's
    compiled predict function (traced once per model, then reused: several times faster than eager
    calls); under a multi-replica strategy the model is called eagerly instead, because Keras'
    ``predict_on_batch`` would run the whole batch on every replica and return it once per replica.
    """
    import numpy as np

    if model.distribute_strategy.num_replicas_in_sync == 1:
        predict = model.predict_on_batch
    else:
        predict = lambda x: model(x, training=False)      # noqa: E731
    ys, preds = [], []
    for x, y in dataset:
        preds.append(np.argmax(predict(x), axis=-1))
        ys.append(np.asarray(y))
    return np.concatenate(ys), np.concatenate(preds)
