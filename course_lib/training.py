"""Training: a thin layer over ``keras.Model.fit``.

It adds only what every lesson repeats: build the model inside the runtime strategy's scope, feed
tf.data, early stopping with best-weights restore, and a ``History`` you can plot with
``plots.history``; and, for many short runs of one compiled model, ``restart`` and
``LearningRateEveryStep``; ``build_optimizer`` so that ``fit`` traces its step once. Anything else,
pass straight through to Keras.

Bad input is refused before training (``check_batches``: not a dataset, unbatched, empty, no
targets, one-hot targets for a sparse loss), and a loss that turns NaN or inf stops it
(``CheckFiniteLoss``), naming the batch of data that holds NaN/inf, if any.
"""
from __future__ import annotations

import math
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from course_lib import _args

SCAN_BATCHES = 100   # batches searched for NaN/inf when a loss turns non-finite


def _check_learning_rate(learning_rate):
    """A positive finite number, a keras LearningRateSchedule or a callable; returned unchanged."""
    if not (isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule) or callable(learning_rate)):
        _args.positive_number("learning_rate", learning_rate)
    return learning_rate


def _check_strategy(strategy):
    if strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(f"strategy must be a tf.distribute.Strategy (as runtime.setup() returns) or None, "
                        f"got {type(strategy).__name__}")
    return strategy


def _check_model(model, what="a keras.Model"):
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be {what}, got {type(model).__name__}")
    return model


def default_compile(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Adam + sparse categorical cross-entropy on logits + accuracy.

    learning_rate: a number > 0 or a keras LearningRateSchedule (e.g. ``bert.warmup_linear_decay``).
    The accuracy metric is created here (what Keras makes of "accuracy" for class-index labels), and
    a built model gets its optimizer's variables (``build_optimizer``): left to ``fit``, both would be
    created while TensorFlow traces the training step, which then traces it a second time.
    """
    _check_model(model)
    _check_learning_rate(learning_rate)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return build_optimizer(model)


def build_optimizer(model: keras.Model) -> keras.Model:
    """Create the variables of a compiled, built model's optimizer now, under its strategy; returns it.

    Left to ``fit``, Keras creates them inside the first traced training step, and TensorFlow then
    traces that step a second time (seconds per ``fit`` on a CPU). The variables and the numbers are the
    same either way. Does nothing for a model that is not built yet or whose optimizer is built.
    """
    _check_model(model)
    if getattr(model, "optimizer", None) is None:
        raise ValueError("model must be compiled first: it has no optimizer")
    if model.built and not model.optimizer.built:
        with model.distribute_strategy.scope():
            model.optimizer.build(model.trainable_variables)
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
        step = int(optimizer.iterations)
        value = self.schedule(step)
        try:
            rate = float(value)
        except (TypeError, ValueError):
            rate = float("nan")
        if not rate >= 0 or not math.isfinite(rate):
            raise ValueError(f"schedule({step}) must return a learning rate >= 0, got {value!r}")
        try:
            optimizer.learning_rate = rate
        except TypeError as e:          # Keras: a rate given as a LearningRateSchedule cannot be set
            raise ValueError("LearningRateEveryStep needs an optimizer compiled with a plain float learning "
                             "rate, not a LearningRateSchedule") from e


def _first_non_finite(dataset, max_batches: int = SCAN_BATCHES) -> str | None:
    """Where ``dataset`` first holds NaN or inf, e.g. "batch 3, inputs", searching ``max_batches``."""
    parts = ("inputs", "targets", "sample weights")
    for b, element in enumerate(dataset.take(max_batches)):
        element = element if isinstance(element, tuple) else (element,)
        for part, value in zip(parts, element):
            for t in tf.nest.flatten(value):
                if t.dtype.is_floating and not bool(tf.reduce_all(tf.math.is_finite(t))):
                    return f"batch {b + 1}, {part}"
    return None


def non_finite_loss_error(key: str, value: float, when: str, name: str, dataset) -> Exception:
    """The error to raise when the logged ``key`` (a loss) is NaN or inf ``when`` training on ``dataset``.

    ValueError when the first SCAN_BATCHES batches of ``dataset`` hold NaN or inf (bad data),
    FloatingPointError otherwise (the training diverged).
    """
    where = _first_non_finite(dataset) if dataset is not None else None
    if where:
        return ValueError(f"{name} contains NaN or inf ({where}), so the {key} became {value} at {when}; "
                          "clean the data first (np.isfinite(x).all() must hold)")
    return FloatingPointError(f"the {key} became {value} at {when}, although the first {SCAN_BATCHES} batches "
                              f"of {name} are finite: the training diverged. Try a lower learning rate.")


class CheckFiniteLoss(keras.callbacks.Callback):
    """Stop training with an error as soon as a logged loss (any log name containing "loss") is NaN or inf.

    train / validation: the datasets being fitted; when the loss turns non-finite they are searched
    for NaN/inf, and the error says whether the data (ValueError) or the training (FloatingPointError,
    a divergence) is to blame. ``training.fit`` and ``gan.GAN.fit`` add this callback themselves.
    """

    def __init__(self, train=None, validation=None):
        super().__init__()
        self.datasets = {"train": train, "validation": validation}
        self.epoch = 0

    def _check(self, logs, when):
        for key, value in (logs or {}).items():
            if "loss" in key and isinstance(value, (int, float)) and not math.isfinite(value):
                name = "validation" if key.startswith("val_") else "train"
                raise non_finite_loss_error(key, value, when, name, self.datasets[name])

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs, f"batch {batch + 1} of epoch {self.epoch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        self._check(logs, f"the end of epoch {epoch + 1}")


def _model_input_shape(model):
    """The shape of the model's single input (e.g. (None, 28, 28, 1)), or None if it has several or none."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    return tuple(inputs[0].shape) if inputs and len(inputs) == 1 else None


def _is_sparse_loss(loss) -> bool:
    return (isinstance(loss, keras.losses.SparseCategoricalCrossentropy)
            or loss in ("sparse_categorical_crossentropy", keras.losses.sparse_categorical_crossentropy))


def check_batches(name: str, dataset, model: keras.Model | None = None) -> None:
    """TypeError / ValueError unless ``dataset`` is a non-empty tf.data.Dataset of batched
    (inputs, targets) or (inputs, targets, sample_weights) that fit ``model``.

    Catches: numpy arrays or other objects instead of a dataset; inputs without targets; an unbatched
    dataset (a component without batch dimension, or inputs one dimension short of the model's);
    an empty dataset; one-hot targets (b, K) for a sparse categorical cross-entropy loss.
    """
    if not isinstance(dataset, tf.data.Dataset):
        hint = "; wrap arrays with tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)" \
            if isinstance(dataset, (np.ndarray, tuple, list)) else ""
        raise TypeError(f"{name} must be a tf.data.Dataset of batches, got {type(dataset).__name__}{hint}")
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise ValueError(f"{name} must yield (inputs, targets) batches, got elements {spec}")
    unbatched = f"{name} looks unbatched: call {name}.batch(batch_size) first"
    for part in tf.nest.flatten(spec):
        if isinstance(part, tf.TensorSpec) and part.shape.rank == 0:
            raise ValueError(f"{unbatched} (an element has shape (), with no batch dimension)")
    want = _model_input_shape(model) if model is not None else None
    if want is not None and isinstance(spec[0], tf.TensorSpec) and spec[0].shape.rank == len(want) - 1:
        raise ValueError(f"{unbatched} (its inputs have shape {tuple(spec[0].shape)}; the model takes {want})")
    if int(dataset.cardinality()) == 0:
        raise ValueError(f"{name} is empty: it yields no batches")
    y = spec[1]
    if (model is not None and _is_sparse_loss(getattr(model, "loss", None)) and isinstance(y, tf.TensorSpec)
            and y.shape.rank is not None and y.shape.rank >= 2 and (y.shape[-1] or 0) > 1):
        raise ValueError(f"{name}'s targets have shape {tuple(y.shape)} (one-hot?), but the loss is sparse "
                         "categorical cross-entropy, which takes class indices of shape (batch,): use "
                         "y.argmax(-1), or compile with keras.losses.CategoricalCrossentropy")


def build_in_scope(build_model: Callable[[], keras.Model], strategy=None,
                   learning_rate: float = 1e-3) -> keras.Model:
    """Call ``build_model()`` inside ``strategy.scope()``; compile with defaults if it did not."""
    if not callable(build_model):
        raise TypeError(f"build_model must be a function that returns a keras.Model, got {type(build_model).__name__}")
    _check_learning_rate(learning_rate)
    strategy = _check_strategy(strategy) or tf.distribute.get_strategy()
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
    A loss that turns NaN or inf stops the training with an error (see ``CheckFiniteLoss``): a
    ValueError naming the batch when the data holds NaN/inf, else a FloatingPointError.
    """
    epochs = _args.int_at_least("epochs", epochs)
    _check_strategy(strategy)
    patience = None if patience is None else _args.int_at_least("patience", patience, note=" or None")
    if not isinstance(callbacks, (list, tuple)) or not all(isinstance(c, keras.callbacks.Callback) for c in callbacks):
        raise TypeError(f"callbacks must be a list of keras.callbacks.Callback, got {callbacks!r:.80}")
    _check_learning_rate(learning_rate)
    if not isinstance(train, tf.data.Dataset):       # fail before building the model
        check_batches("train", train)
    model = build_model if isinstance(build_model, keras.Model) else build_in_scope(build_model, strategy, learning_rate)
    if not model.compiled:
        default_compile(model, learning_rate)
    check_batches("train", train, model)
    if validation is not None:
        check_batches("validation", validation, model)
    if isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
        # Keras 3's fit() cannot feed MultiWorkerMirroredStrategy (keras-team/keras#20585);
        # use the explicit tf.distribute loop, which can.
        if validation is not None or callbacks or fit_kwargs:
            raise ValueError("under MultiWorkerMirroredStrategy, fit() supports only train and epochs "
                             "(Keras 3 cannot run model.fit there; see custom_loop_fit)")
        return model, custom_loop_fit(model, train, epochs, model.distribute_strategy)
    cbs = [CheckFiniteLoss(train, validation)] + list(callbacks)
    if validation is not None and patience is not None:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                 restore_best_weights=True))
    fit_kwargs.setdefault("shuffle", False)  # tf.data does the shuffling (data.fashion_mnist_dataset)
    build_optimizer(model)                   # a model compiled elsewhere: trace the step once
    try:
        history = model.fit(train, validation_data=validation, epochs=epochs, callbacks=cbs,
                            verbose=verbose, **fit_kwargs)
    except tf.errors.InvalidArgumentError as e:    # e.g. NaN labels cast to int for a sparse loss
        for name, ds in (("train", train), ("validation", validation)):
            where = _first_non_finite(ds) if ds is not None else None
            if where:
                raise ValueError(f"{name} contains NaN or inf ({where}); clean the data first") from e
        raise
    return model, history


def custom_loop_fit(model: keras.Model, train: tf.data.Dataset, epochs: int, strategy,
                    per_example_loss=None) -> keras.callbacks.History:
    """Train with an explicit ``strategy.run`` loop (works for every tf.distribute strategy).

    per_example_loss(y, logits) -> (b,) losses; default sparse categorical cross-entropy on logits.
    Each replica averages its losses over the *global* batch, so summed gradients equal the
    single-device gradient. Returns a History with the per-epoch mean "loss".
    """
    if not isinstance(model, keras.Model) or not model.compiled:
        raise TypeError(f"model must be a compiled keras.Model, got {type(model).__name__}")
    epochs = _args.int_at_least("epochs", epochs)
    check_batches("train", train)
    if not isinstance(strategy, tf.distribute.Strategy):
        raise TypeError(f"strategy must be a tf.distribute.Strategy, got {type(strategy).__name__}")
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
        loss = sum(losses) / max(len(losses), 1)
        if not math.isfinite(loss):
            raise non_finite_loss_error("loss", loss, f"epoch {epoch + 1}", "train", train)
        history.on_epoch_end(epoch, {"loss": loss})
    return history


def predict_classes(model: keras.Model, dataset: tf.data.Dataset):
    """(y_true int (N,), y_pred int (N,)) over a non-empty dataset of (x, y) batches, y class indices (b,).

    One pass, so a shuffled dataset is fine. On one device each batch goes through the model's
    compiled predict function (traced once per model, then reused: several times faster than eager
    calls); under a multi-replica strategy the model is called eagerly instead, because Keras'
    ``predict_on_batch`` would run the whole batch on every replica and return it once per replica.
    """
    _check_model(model)
    check_batches("dataset", dataset, model)
    y = dataset.element_spec[1]
    if isinstance(y, tf.TensorSpec) and y.shape.rank is not None and y.shape.rank >= 2 and (y.shape[-1] or 1) > 1:
        raise ValueError(f"dataset's labels have shape {tuple(y.shape)} (one-hot?): predict_classes compares "
                         "class indices of shape (batch,); map the labels with tf.argmax(y, -1)")
    if model.distribute_strategy.num_replicas_in_sync == 1:
        predict = model.predict_on_batch
    else:
        predict = lambda x: model(x, training=False)      # noqa: E731
    ys, preds = [], []
    for x, y, *_ in dataset:
        preds.append(np.argmax(predict(x), axis=-1))
        ys.append(np.asarray(y).reshape(-1))
    if not preds:
        raise ValueError("dataset is empty: it yields no batches")
    return np.concatenate(ys), np.concatenate(preds)


class StopAtMetric(keras.callbacks.Callback):
    """Stop training after the first epoch whose logged ``monitor`` reaches ``target``.

    monitor: a name in the epoch logs, e.g. "accuracy", "val_accuracy", "loss".
    mode: "max" stops when the value is >= target (accuracies), "min" when it is <= target (losses).
    After training, ``stopped_epoch`` is the (1-based) epoch it stopped after, or None if the target
    was never reached. Keras' ``EarlyStopping`` stops when a metric has stopped improving; this one
    stops when it is good enough, which saves the remaining epochs of an easy run. It never cancels
    a stop that another callback asked for.
    """

    def __init__(self, monitor: str = "accuracy", target: float = 0.99, mode: str = "max"):
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be the name of a logged metric, such as 'accuracy', got {monitor!r}")
        super().__init__()
        self.monitor = monitor
        self.target = _args.number_in("target", target)
        self.mode = _args.one_of("mode", mode, ("max", "min"))
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(f"StopAtMetric: monitor {self.monitor!r} is not in the epoch logs, which hold "
                             f"{sorted(logs)} (compile the model with metrics=[...] to log it)")
        value = float(logs[self.monitor])
        if (value >= self.target) if self.mode == "max" else (value <= self.target):
            self.model.stop_training = True
            self.stopped_epoch = epoch + 1
