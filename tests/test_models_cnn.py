"""course_lib.models.cnn: shapes, parameter counts, float32 logits, bad input, and that it learns."""
import keras
import numpy as np
import pytest

from course_lib import data, training
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


def _full_batch_steps(model, x, y, steps):
    """``steps`` Adam steps, each on the whole of (x, y) as one batch: the same steps as
    ``fit(x, y, batch_size=len(x), epochs=steps)``, in one epoch (Keras' per-epoch overhead dwarfs a
    64-image step). The optimizer is built first (``training.build_optimizer``: one trace, not two)."""
    training.build_optimizer(model)
    model.fit(np.tile(x, (steps, 1, 1, 1)), np.tile(y, steps), batch_size=len(x), epochs=1, shuffle=False,
              verbose=0)


def test_learns_on_a_small_batch():
    """30 Adam steps on 64 Fashion-MNIST images: the loss (inference mode) must fall by half."""
    keras.utils.set_random_seed(0)
    xs, y = data.load_fashion_mnist("train", subset=64)
    x = data.images_to_float(xs)
    model = build_cnn(filters=(8, 16), dense_units=32, dropout=0.0)
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    first = model.evaluate(x, y, verbose=0)
    _full_batch_steps(model, x, y, 30)
    # Evaluated in inference mode, so this also checks the BatchNorm moving statistics caught up.
    assert model.evaluate(x, y, verbose=0) < 0.5 * first


# --------------------------------------------------------------------------- head, padding, convs per block

def _last_feature_map(model):
    """The output of the last conv block (before the head), as (H, W, C)."""
    head = "global_pool" if any(l.name == "global_pool" for l in model.layers) else "flatten"
    return tuple(model.get_layer(head).input.shape[1:])


def test_gap_head_parameter_count_and_no_dense_hidden_layer():
    model = build_cnn(filters=(32, 64, 128), convs_per_block=1, head="gap", dense_units=0)
    convs = _conv_params(3, 1, 32, False) + _conv_params(3, 32, 64, False) + _conv_params(3, 64, 128, False)
    bn = 4 * (32 + 64 + 128)
    assert model.count_params() == convs + bn + (128 + 1) * 10
    assert not any(isinstance(l, (keras.layers.Flatten,)) for l in model.layers)
    assert [l.name for l in model.layers if isinstance(l, keras.layers.Dense)] == ["logits_raw"]
    # the global pooling replaces the last block's down-sampling: 28 -> 14 -> 7, then the mean over 7x7
    assert [l.name for l in model.layers if isinstance(l, keras.layers.MaxPooling2D)] == ["block1_pool", "block2_pool"]
    assert _last_feature_map(model) == (7, 7, 128)
    assert model.get_layer("global_pool").output.shape[1:] == (128,)


def test_gap_head_is_the_mean_of_the_last_feature_map():
    keras.utils.set_random_seed(1)
    model = build_cnn(filters=(4, 6), convs_per_block=1, head="gap", dense_units=0, batchnorm=False, dropout=0.0)
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    features = keras.Model(model.input, model.get_layer("block2_relu1").output)(x)
    w, b = model.get_layer("logits_raw").get_weights()
    expected = np.mean(np.asarray(features), axis=(1, 2)) @ w + b
    np.testing.assert_allclose(model(x), expected, rtol=1e-5, atol=1e-5)


def test_gap_head_keeps_an_optional_hidden_dense_layer():
    model = build_cnn(filters=(8, 16), convs_per_block=1, head="gap", dense_units=32)
    assert model.get_layer("dense").input.shape[-1] == 16
    assert model.count_params() - build_cnn(filters=(8, 16), convs_per_block=1, head="gap",
                                            dense_units=0).count_params() == (16 + 1) * 32 + (32 + 1) * 10 - (16 + 1) * 10


def test_convs_per_block_per_block():
    model = build_cnn(filters=(8, 16, 32), convs_per_block=(1, 2, 3), head="gap", dense_units=0)
    convs = [l.name for l in model.layers if isinstance(l, keras.layers.Conv2D)]
    assert convs == ["block1_conv1", "block2_conv1", "block2_conv2", "block3_conv1", "block3_conv2", "block3_conv3"]
    assert build_cnn(convs_per_block=(2, 2)).count_params() == build_cnn().count_params()


def test_valid_padding_shrinks_every_conv_and_keeps_the_parameters():
    same = build_cnn(filters=(32, 64, 128), convs_per_block=1, head="gap", dense_units=0)
    valid = build_cnn(filters=(32, 64, 128), convs_per_block=1, head="gap", dense_units=0, padding="valid")
    sides = [valid.get_layer(n).output.shape[1] for n in ("block1_conv1", "block1_pool", "block2_conv1",
                                                          "block2_pool", "block3_conv1")]
    assert sides == [26, 13, 11, 5, 3]     # 28 - 2 = 26, //2 = 13, - 2 = 11, //2 = 5, - 2 = 3
    assert valid.count_params() == same.count_params()
    assert valid(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 10)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("downsample", ["maxpool", "avgpool", "stride", "none"])
@pytest.mark.parametrize("head", ["flatten", "gap"])
def test_size_check_agrees_with_keras(padding, downsample, head):
    """For each input side, build_cnn either builds (and Keras' last feature map is >= 1 pixel, with the
    side the check computed) or refuses with the smallest side that works."""
    from course_lib.models.cnn import _last_side

    kw = dict(filters=(4, 4, 4), convs_per_block=(1, 2, 1), kernel_size=3, padding=padding,
              downsample=downsample, head=head, dense_units=0)
    n_down = 3 - (head == "gap")
    for side in (1, 3, 5, 8, 11, 16, 21, 28):
        expected = _last_side(side, (1, 2, 1), 3, padding, downsample, n_down)
        if expected >= 1:
            model = build_cnn(input_shape=(side, side + 3, 1), **kw)
            assert _last_feature_map(model)[0] == expected, side
        else:
            with pytest.raises(ValueError, match=r"too small .* must be >= (\d+)") as err:
                build_cnn(input_shape=(side, 40, 1), **kw)
            smallest = int(str(err.value).rsplit(">= ", 1)[1])
            assert smallest > side
            build_cnn(input_shape=(smallest, smallest, 1), **kw)       # the stated minimum works
            if smallest > 1:
                with pytest.raises(ValueError, match="too small"):
                    build_cnn(input_shape=(smallest - 1, smallest - 1, 1), **kw)


@pytest.mark.parametrize("kwargs, match", [
    (dict(head="avg"), "head must be one of"),
    (dict(padding="full"), "padding must be one of"),
    (dict(filters=(8, 16, 32), convs_per_block=(1, 2)), r"one per block \(3 values"),
    (dict(filters=(8, 16), convs_per_block=(1, 0)), "convs_per_block must be a positive int"),
    (dict(filters=(8, 16), convs_per_block=(1, 1.5)), "convs_per_block must be a positive int"),
    (dict(input_shape=(9, 9, 1), padding="valid"), "with valid padding: height and width must be >= 16"),
])
def test_bad_new_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_cnn(**kwargs)


def test_gap_valid_variant_learns_on_a_small_batch():
    """The lesson's recipe family (global pooling, valid padding): 40 Adam steps on 64 images halve the loss
    (inference mode) and fit most of them."""
    keras.utils.set_random_seed(0)
    xs, y = data.load_fashion_mnist("train", subset=64)
    x = data.images_to_float(xs)
    model = build_cnn(filters=(8, 16, 32), convs_per_block=1, head="gap", dense_units=0, dropout=0.0,
                      padding="valid")
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    first, _ = model.evaluate(x, y, verbose=0)
    _full_batch_steps(model, x, y, 40)
    loss, acc = model.evaluate(x, y, verbose=0)
    assert loss < 0.5 * first and acc > 0.5, (first, loss, acc)
