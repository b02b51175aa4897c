"""The course CNN for 28x28 images (Fashion-MNIST), in a few configurable variants.

    build_cnn()                          conv-conv-pool blocks, BatchNorm, Dropout -> logits (N, 10)
    build_cnn(downsample="stride")       all-convolutional: stride-2 convs instead of pooling

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


def build_cnn(input_shape=(28, 28, 1), num_classes: int = 10, filters=(32, 64),
              convs_per_block: int = 2, kernel_size: int = 3, downsample: str = "maxpool",
              batchnorm: bool = True, dropout: float = 0.25, dense_units: int = 128,
              name: str = "course_cnn", bn_momentum: float = 0.9) -> keras.Model:
    """Build the course CNN. Input (N, *input_shape) float in [0, 1]; output float32 logits (N, num_classes).

    Each block: ``convs_per_block`` x [Conv(k, same) -> (BN) -> ReLU], then a 2x down-sampling
    (max/avg pooling, or the block's last conv uses stride 2 for ``downsample="stride"``), then Dropout.
    Head: Flatten -> Dense(dense_units, ReLU) -> Dropout -> Dense(num_classes).

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
    int_at_least("convs_per_block", convs_per_block, minimum=1)
    _args.flag("batchnorm", batchnorm)
    smallest = 2 ** len(filters) if downsample in ("maxpool", "avgpool") else 1
    if min(input_shape[:2]) < smallest:
        raise ValueError(f"input_shape {input_shape} is too small for {len(filters)} blocks of 2x2 {downsample}: "
                         f"height and width must be >= {smallest}")

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for b, f in enumerate(filters):
        for c in range(convs_per_block):
            last = c == convs_per_block - 1
            stride = 2 if (downsample == "stride" and last) else 1
            x = layers.Conv2D(f, kernel_size, strides=stride, padding="same", use_bias=not batchnorm,
                              name=f"block{b + 1}_conv{c + 1}")(x)
            if batchnorm:
                x = layers.BatchNormalization(momentum=bn_momentum, name=f"block{b + 1}_bn{c + 1}")(x)
            x = layers.ReLU(name=f"block{b + 1}_relu{c + 1}")(x)
        if downsample == "maxpool":
            x = layers.MaxPooling2D(2, name=f"block{b + 1}_pool")(x)
        elif downsample == "avgpool":
            x = layers.AveragePooling2D(2, name=f"block{b + 1}_pool")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"block{b + 1}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    if dense_units:
        x = layers.Dense(dense_units, activation="relu", name="dense")(x)
        if dropout:
            x = layers.Dropout(min(2 * dropout, 0.5), name="dense_dropout")(x)
    x = layers.Dense(num_classes, name="logits_raw")(x)
    outputs = layers.Activation("linear", dtype="float32", name="logits")(x)
    return keras.Model(inputs, outputs, name=name)
