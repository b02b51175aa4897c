"""course_lib.models.cnn: shapes, parameter counts, float32 logits, bad input, and that it learns."""
import keras
import numpy as np
import pytest

from course_lib import data
from course_lib.models.cnn import build_cnn


def _conv_params(k, c_in, f, bias):
    return k * k * c_in * f + (f if bias else 0)


def test_default_shapes_and_parameter_count():
    model = build_cnn()
    assert model.output_shape == (None, 10)
    # conv weights (no bias: BatchNorm follows), 4 BN params per channel, dense head.
    convs = _conv_params(3, 1, 32, False) + _conv_params(3, 32, 32, False) \
        + _conv_params(3, 32, 64, False) + _conv_params(3, 64, 64, False)
    bn = 4 * (32 + 32 + 64 + 64)
    head = (7 * 7 * 64 + 1) * 128 + (128 + 1) * 10
    assert model.count_params() == convs + bn + head


def test_stride_variant_has_no_pooling_and_same_output_grid():
    pooled, strided = build_cnn(), build_cnn(downsample="stride")
    assert not any(isinstance(l, keras.layers.MaxPooling2D) for l in strided.layers)
    assert pooled.get_layer("flatten").output.shape == strided.get_layer("flatten").output.shape
    assert strided.get_layer("block2_conv2").strides == (2, 2)


@pytest.mark.parametrize("kwargs", [dict(batchnorm=False, dropout=0.0, dense_units=0),
                                    dict(downsample="avgpool", filters=(8,), convs_per_block=1)])
def test_variants_build_and_predict(kwargs):
    model = build_cnn(**kwargs)
    y = model(np.zeros((2, 28, 28, 1), "float32"), training=False)
    assert y.shape == (2, 10)
    if not kwargs.get("batchnorm", True):
        assert model.get_layer("block1_conv1").use_bias


def test_logits_are_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_cnn(filters=(8,), convs_per_block=1, dense_units=16)
        assert model.get_layer("block1_conv1").compute_dtype == "float16"
        assert model(np.zeros((1, 28, 28, 1), "float32")).dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("kwargs, match", [
    (dict(downsample="median"), "downsample must be one of"),
    (dict(input_shape=(28, 28)), "input_shape must be"),
    (dict(filters=()), "filters must be"),
    (dict(filters=(32, 0)), "filters must be"),
    (dict(num_classes=1), "num_classes must be"),
    (dict(dropout=1.0), "dropout must be"),
    (dict(convs_per_block=0), "convs_per_block must be"),
    (dict(kernel_size=0), "kernel_size must be"),
    (dict(dense_units=-1), "dense_units must be"),
    (dict(bn_momentum=1.0), "bn_momentum must be"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_cnn(**kwargs)


def test_learns_on_a_small_batch():
    """30 Adam steps on 64 Fashion-MNIST images: the loss (inference mode) must fall by half."""
    keras.utils.set_random_seed(0)
    xs, y = data.load_fashion_mnist("train", subset=64)
    x = data.images_to_float(xs)
    model = build_cnn(filters=(8, 16), dense_units=32, dropout=0.0)
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=64, epochs=30, verbose=0)
    # Evaluated in inference mode, so this also checks the BatchNorm moving statistics caught up.
    assert model.evaluate(x, y, verbose=0) < 0.5 * first
