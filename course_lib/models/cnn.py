"""The course CNN for 28x28 images (Fashion-MNIST), in a few configurable variants.

    build_cnn()                          conv-conv-pool blocks, BatchNorm, Dropout -> logits (N, 10)
    build_cnn(downsample="stride")       all-convolutional: stride-2 convs instead of pooling
    build_cnn(head="gap", dense_units=0) global average pooling -> logits: no big Dense head

Logits are float32 even under a mixed-precision policy (the last layer is cast), so losses and
softmax stay numerically safe.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from course_lib import _args
from course_lib._args import int_at_least

DOWNSAMPLE = ("maxpool", "avgpool", "stride", "none")
HEADS = ("flatten", "gap")
PADDINGS = ("same", "valid")


def _per_block(name: str, value, n_blocks: int) -> tuple:
    """An int >= 1, or one such int per block, as a tuple of ``n_blocks`` ints."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_blocks:
            raise ValueError(f"{name} must be a positive int or one per block ({n_blocks} values, as many as "
                             f"filters), got {value!r}")
        return tuple(int_at_least(name, v, note=" (or a sequence of them, one per block)") for v in value)
    return (int_at_least(name, value, note=" (or a sequence of them, one per block)"),) * n_blocks


def _last_side(side: int, convs: tuple, kernel_size: int, padding: str, downsample: str, n_down: int) -> int:
    """Height (or width) of the last feature map for an input side ``side``; 0 if a layer runs out of pixels."""
    for b, n_convs in enumerate(convs):
        down = b < n_down
        for c in range(n_convs):
            stride = 2 if (downsample == "stride" and down and c == n_convs - 1) else 1
            side = -(-side // stride) if padding == "same" else (side - kernel_size) // stride + 1
            if side < 1:
                return 0
        if down and downsample in ("maxpool", "avgpool"):
            side //= 2
            if side < 1:
                return 0
    return side


def build_cnn(input_shape=(28, 28, 1), num_classes: int = 10, filters=(32, 64),
              convs_per_block: int = 2, kernel_size: int = 3, downsample: str = "maxpool",
              batchnorm: bool = True, dropout: float = 0.25, dense_units: int = 128,
              name: str = "course_cnn", bn_momentum: float = 0.9, head: str = "flatten",
              padding: str = "same") -> keras.Model:
    """Build the course CNN. Input (N, *input_shape) float in [0, 1]; output float32 logits (N, num_classes).

    Each block: ``convs_per_block`` x [Conv(k, padding) -> (BN) -> ReLU], then a 2x down-sampling
    (max/avg pooling, or the block's last conv uses stride 2 for ``downsample="stride"``), then Dropout.
    convs_per_block: an int, or one int per block (e.g. ``(1, 2, 2)``).
    padding: "same" keeps each conv's output the size of its input; "valid" shrinks it by
    kernel_size - 1 (28 -> 26 for 3x3), so every later layer has fewer positions to compute.
    Head: Flatten (``head="flatten"``) or GlobalAveragePooling2D (``head="gap"``: one number per
    channel, the mean over the last feature map; the last block is then not down-sampled, the global
    pooling does it) -> Dense(dense_units, ReLU) -> Dropout -> Dense(num_classes).
    With ``head="gap", dense_units=0`` the head has only (filters[-1] + 1) * num_classes weights
    (Lin, Chen & Yan 2014, "Network in Network"), where Flatten feeds every position of the last
    feature map into the Dense layer.

    bn_momentum: BatchNorm moving-average momentum. 0.9 (not Keras' 0.99) so the inference
    statistics are usable after a few dozen steps, as in quick mode; with 0.99 a 50-step run
    evaluates near chance.
    """
    downsample = _args.one_of("downsample", downsample, DOWNSAMPLE)
    input_shape = _args.image_shape("input_shape", input_shape)
    if (not isinstance(filters, (list, tuple)) or not filters
            or any(isinstance(f, bool) or not isinstance(f, (int, np.integer)) or f < 1 for f in filters)):
        raise ValueError(f"filters must be a non-empty sequence of positive ints, got {filters!r}")
    int_at_least("num_classes", num_classes, minimum=2)
    _args.fraction("dropout", dropout)
    int_at_least("kernel_size", kernel_size, minimum=1)
    int_at_least("dense_units", dense_units, minimum=0, note=" (0 = no hidden dense layer)")
    _args.fraction("bn_momentum", bn_momentum)
    convs = _per_block("convs_per_block", convs_per_block, len(filters))
    _args.flag("batchnorm", batchnorm)
    head = _args.one_of("head", head, HEADS)
    padding = _args.one_of("padding", padding, PADDINGS)
    n_down = len(filters) - (head == "gap")          # "gap": the global pooling replaces the last one
    sizes = (convs, kernel_size, padding, downsample, n_down)
    if _last_side(min(input_shape[:2]), *sizes) < 1:
        smallest = next(n for n in range(1, 1 << 16) if _last_side(n, *sizes) >= 1)
        raise ValueError(f"input_shape {input_shape} is too small for {n_down} blocks of 2x2 {downsample}"
                         f"{' with valid padding' if padding == 'valid' else ''}: "
                         f"height and width must be >= {smallest}")

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for b, f in enumerate(filters):
        down = b < n_down
        for c in range(convs[b]):
            last = c == convs[b] - 1
            stride = 2 if (downsample == "stride" and last and down) else 1
            x = layers.Conv2D(f, kernel_size, strides=stride, padding=padding, use_bias=not batchnorm,
                              name=f"block{b + 1}_conv{c + 1}")(x)
            if batchnorm:
                x = layers.BatchNormalization(momentum=bn_momentum, name=f"block{b + 1}_bn{c + 1}")(x)
            x = layers.ReLU(name=f"block{b + 1}_relu{c + 1}")(x)
        if downsample == "maxpool" and down:
            x = layers.MaxPooling2D(2, name=f"block{b + 1}_pool")(x)
        elif downsample == "avgpool" and down:
            x = layers.AveragePooling2D(2, name=f"block{b + 1}_pool")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"block{b + 1}_dropout")(x)
    if head == "gap":
        x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    else:
        x = layers.Flatten(name="flatten")(x)
    if dense_units:
        x = layers.Dense(dense_units, activation="relu", name="dense")(x)
        if dropout:
            x = layers.Dropout(min(2 * dropout, 0.5), name="dense_dropout")(x)
    x = layers.Dense(num_classes, name="logits_raw")(x)
    outputs = layers.Activation("linear", dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name=name)
