"""Numerical gradient checks: centred differences against analytic or tf.GradientTape gradients.

    numerical_gradient(f, x, dout=None, eps=1e-6)           -> float64 array, shape of x
    relative_error(analytic, numeric)                        -> float in [0, 1]
    check_numpy(f, inputs, grads, dout=None, eps=1e-6)       -> {input name: relative error}
    check_keras(layer_or_model, x, y=None, loss_fn=None)     -> {weight path or "inputs": relative error}

The centred difference (f(x + eps) - f(x - eps)) / (2 eps) has error O(eps^2) from truncation and
O(machine epsilon / eps) from rounding, so in float64 eps ~ 1e-6 gives ~1e-10 accuracy; in float32
use eps ~ 1e-3 and expect ~1e-3 at best. Rules of thumb for the relative error (float64):
below 1e-7 the gradient is right, above 1e-3 it is wrong (see the lesson 03 notebook).

The relative error is norm-wise, ||a - n|| / (||a|| + ||n||): unlike an entry-wise ratio it does not
blow up on entries where both gradients are (nearly) zero, such as those behind a dead ReLU.
"""
from __future__ import annotations

import numpy as np

from course_lib import _args

GOOD_FLOAT64 = 1e-7   # a right gradient in float64 is well below this
BAD = 1e-3            # a relative error above this means a wrong gradient


def _check_callable(f, name):
    _args.function(name, f)


def _check_eps(eps):
    return _args.positive_number("eps", eps)


def _as_float_array(x, name):
    try:
        arr = np.array(x, dtype="float64")  # a copy: callers' arrays are never touched
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _pick_entries(shape, max_entries, rng):
    """Flat indices to perturb: all of them, or ``max_entries`` distinct ones at random."""
    size = int(np.prod(shape))
    if max_entries is None:
        return np.arange(size)
    max_entries = _args.int_at_least("max_entries", max_entries, note=" or None")
    if max_entries >= size:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_entries, replace=False))


def relative_error(analytic, numeric) -> float:
    """||analytic - numeric|| / (||analytic|| + ||numeric||) in [0, 1], 0.0 when both are zero.

    Shapes must agree; NaN or inf in either is refused (ValueError), never turned into a NaN error.
    ``numerical_gradient(..., max_entries=k)`` leaves the entries it skipped NaN: compare only the
    perturbed ones, e.g. ``mask = ~np.isnan(numeric)``.
    """
    a = _args.numeric_array("analytic", analytic).astype("float64")
    n = _args.numeric_array("numeric", numeric).astype("float64")
    if a.shape != n.shape:
        raise ValueError(f"analytic gradient has shape {a.shape} but numeric gradient has shape {n.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - n) / denom)


def _objective(f, dout):
    """Scalar objective sum(f(...) * dout), or f(...) itself when dout is None (f must be scalar)."""
    def obj(*args, **kwargs):
        out = np.asarray(f(*args, **kwargs), dtype="float64")
        if not np.isfinite(out).all():
            raise ValueError(f"f returned NaN or inf (shape {out.shape}): its gradient cannot be checked there")
        if dout is None:
            if out.size != 1:
                raise ValueError(f"f returned shape {out.shape}; pass dout (the upstream gradient, same "
                                 "shape as f's output) when f is not scalar")
            return float(out.reshape(()))
        if out.shape != dout.shape:
            raise ValueError(f"dout has shape {dout.shape} but f returned shape {out.shape}; they must match")
        return float(np.sum(out * dout))
    return obj


def numerical_gradient(f, x, dout=None, eps: float = 1e-6, max_entries: int | None = None,
                       seed: int = 0) -> np.ndarray:
    """Centred-difference gradient of sum(f(x) * dout) with respect to x.

    f: numpy function of one array; x: array of any shape (copied to float64, never modified);
    dout: upstream gradient, same shape as f(x) (None when f returns a scalar).
    max_entries: perturb only that many randomly chosen entries (the rest are NaN in the result).
    Returns float64, shape x.shape.
    """
    _check_callable(f, "f")
    eps = _check_eps(eps)
    x = _as_float_array(x, "x")
    dout = None if dout is None else _as_float_array(dout, "dout")
    seed = _args.int_at_least("seed", seed, 0)
    obj = _objective(f, dout)
    grad = np.full(x.shape, np.nan)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in _pick_entries(x.shape, max_entries, np.random.default_rng(seed)):
        old = flat[i]
        flat[i] = old + eps
        plus = obj(x)
        flat[i] = old - eps
        minus = obj(x)
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def check_numpy(f, inputs: dict, grads: dict, dout=None, eps: float = 1e-6,
                max_entries: int | None = None, seed: int = 0) -> dict:
    """Compare analytic gradients of a numpy function with centred differences.

    f: called as f(**inputs); returns an array (then pass ``dout``, same shape) or a scalar.
    inputs: {name: array}; grads: {name: analytic gradient of sum(f * dout) w.r.t. that input, same
    shape}. Only the names in ``grads`` are checked. max_entries: check at most that many random
    entries per input. Returns {name: relative error}.
    """
    _check_callable(f, "f")
    eps = _check_eps(eps)
    if not isinstance(inputs, dict) or not isinstance(grads, dict):
        raise TypeError("inputs and grads must be dicts {name: array}")
    unknown = sorted(set(grads) - set(inputs))
    if unknown:
        raise ValueError(f"grads names {unknown} that are not in inputs {sorted(inputs)}")
    if not grads:
        raise ValueError("grads is empty: give at least one analytic gradient to check")
    arrays = {k: _as_float_array(v, f"inputs[{k!r}]") for k, v in inputs.items()}
    dout = None if dout is None else _as_float_array(dout, "dout")
    seed = _args.int_at_least("seed", seed, 0)
    obj = _objective(f, dout)
    rng = np.random.default_rng(seed)
    errors = {}
    for name, g in grads.items():
        g = _as_float_array(g, f"grads[{name!r}]")
        x = arrays[name]
        if g.shape != x.shape:
            raise ValueError(f"grads[{name!r}] has shape {g.shape}, but inputs[{name!r}] has shape {x.shape}")
        idx = _pick_entries(x.shape, max_entries, rng)
        flat, num = x.reshape(-1), np.empty(len(idx))
        for j, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + eps
            plus = obj(**arrays)
            flat[i] = old - eps
            minus = obj(**arrays)
            flat[i] = old
            num[j] = (plus - minus) / (2 * eps)
        errors[name] = relative_error(g.reshape(-1)[idx], num)
    return errors


def check_keras(target, x, y=None, loss_fn=None, wrt: str = "weights", eps: float | None = None,
                max_entries: int | None = 20, seed: int = 0, training: bool = False) -> dict:
    """Compare tf.GradientTape gradients of a Keras layer or model with centred differences.

    target: a keras Layer or Model; x: its input (array or tensor, batch first).
    Objective: loss_fn(y, target(x)) when loss_fn is given (must return a scalar), otherwise
    sum(target(x) * dout) with a fixed random dout.
    wrt: "weights" (every trainable variable) or "inputs".
    eps: default 1e-6 for float64 weights/inputs, 1e-3 otherwise (float32 rounding limits the
    accuracy to ~1e-3; use float64 layers, ``dtype="float64"``, for a sharp check; Keras losses compute
    in float32 unless built with ``dtype="float64"`` too).
    max_entries: entries perturbed per tensor (None: all). Returns {variable path or "inputs": relative error}.
    """
    import keras
    import tensorflow as tf

    if not isinstance(target, keras.layers.Layer):
        raise TypeError(f"target must be a keras Layer or Model, got {type(target).__name__}")
    if wrt not in ("weights", "inputs"):
        raise ValueError(f"wrt must be 'weights' or 'inputs', got {wrt!r}")
    if loss_fn is not None:
        _check_callable(loss_fn, "loss_fn")
        if y is None:
            raise ValueError("loss_fn needs targets: pass y")
    x_np = np.asarray(x)
    if not np.issubdtype(x_np.dtype, np.number):
        raise TypeError(f"x must be a numeric array, got dtype {x_np.dtype}")
    x_np = _args.numeric_array("x", x_np)
    training = _args.flag("training", training)
    seed = _args.int_at_least("seed", seed, 0)
    if not target.built:
        target(x_np[:1] if x_np.ndim else x_np)
    variables = list(target.trainable_variables)
    if wrt == "weights" and not variables:
        raise ValueError(f"{target.name} has no trainable weights; use wrt='inputs'")
    # a Model's own policy says float32 even when its layers are float64: trust the weights first
    precisions = {str(target.compute_dtype)} | {str(getattr(v, "dtype", "")) for v in variables}
    dtype = tf.float64 if "float64" in precisions else tf.as_dtype(target.compute_dtype)
    if eps is None:
        eps = 1e-6 if dtype == tf.float64 else 1e-3
    eps = _check_eps(eps)
    x_t = tf.constant(x_np, dtype=dtype)
    out_shape = tuple(target(x_t, training=training).shape)
    dout = tf.constant(np.random.default_rng(seed).standard_normal(out_shape), dtype=dtype)

    def objective(inp):
        out = target(inp, training=training)
        if loss_fn is None:
            return tf.reduce_sum(tf.cast(out, dtype) * dout)
        val = tf.convert_to_tensor(loss_fn(y, out))
        if val.shape.rank not in (0, None) and val.shape.num_elements() != 1:
            raise ValueError(f"loss_fn must return a scalar, got shape {tuple(val.shape)}")
        return tf.reshape(tf.cast(val, dtype), [])

    def finite(value) -> float:
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"the objective of {target.name} is {value} at x (or at x with one entry "
                             "moved by eps): gradients cannot be checked on NaN or inf")
        return value

    def value_at(inp) -> float:
        return finite(objective(inp))

    with tf.GradientTape() as tape:
        tape.watch(x_t)
        value = objective(x_t)
    finite(value)
    sources = [x_t] if wrt == "inputs" else variables
    analytic = tape.gradient(value, sources)
    rng = np.random.default_rng(seed + 1)
    errors = {}
    if wrt == "inputs":
        base = x_np.astype(dtype.as_numpy_dtype)
        g = np.zeros(base.shape) if analytic[0] is None else np.asarray(analytic[0], dtype="float64")
        idx = _pick_entries(base.shape, max_entries, rng)
        num = np.empty(len(idx))
        flat = base.reshape(-1)
        for j, i in enumerate(idx):
            old = flat[i]
            flat[i] = old + eps
            plus = value_at(tf.constant(base))
            flat[i] = old - eps
            minus = value_at(tf.constant(base))
            flat[i] = old
            num[j] = (plus - minus) / (2 * eps)
        errors["inputs"] = relative_error(g.reshape(-1)[idx], num)
        return errors
    for v, g in zip(variables, analytic):
        original = np.array(v.numpy())
        g = np.zeros(original.shape) if g is None else np.asarray(g, dtype="float64")
        idx = _pick_entries(original.shape, max_entries, rng)
        num = np.empty(len(idx))
        work = original.copy()
        flat = work.reshape(-1)
        try:
            for j, i in enumerate(idx):
                old = flat[i]
                flat[i] = old + eps
                v.assign(work)
                plus = value_at(x_t)
                flat[i] = old - eps
                v.assign(work)
                minus = value_at(x_t)
                flat[i] = old
                num[j] = (plus - minus) / (2 * eps)
        finally:
            v.assign(original)
        errors[getattr(v, "path", v.name)] = relative_error(g.reshape(-1)[idx], num)
    return errors
