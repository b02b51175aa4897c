"""course_lib.data.gan_dataset: the endless, shuffled [-1, 1] image pipeline of lesson 05's GAN."""
import numpy as np
import pytest

from course_lib import data


def labelled_images(n, h=3, w=2):
    """n uint8 images (n, h, w); image i is filled with the value 20 * i, so a pixel says which image it is."""
    return np.repeat(np.arange(n, dtype=np.uint8)[:, None, None] * 20, h * w, axis=1).reshape(n, h, w)


def image_ids(batch):
    """Recover the image index of each row of a float batch in [-1, 1] (inverse of the scaling above)."""
    pixels = (np.asarray(batch)[:, 0, 0, 0] + 1) / 2 * 255
    return np.rint(pixels / 20).astype(int).tolist()


def first_batches(ds, k):
    return [b.numpy() for b in ds.take(k)]


def test_batches_have_the_right_shape_dtype_and_range():
    x = labelled_images(12, 5, 4)
    x[0, 0, 0], x[1, 0, 1] = 0, 255
    batches = first_batches(data.gan_dataset(x, batch_size=12, seed=0), 2)
    for b in batches:
        assert b.shape == (12, 5, 4, 1) and b.dtype == np.float32
        assert b.min() == -1.0 and b.max() == 1.0          # pixel 0 -> -1, pixel 255 -> +1


def test_each_image_is_scaled_to_minus_one_one_exactly():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    (batch,) = first_batches(data.gan_dataset(x, batch_size=6, seed=3), 1)
    expected = x.astype(np.float64) / 255 * 2 - 1
    for row in batch:                                      # every row is one input image, scaled
        errors = np.abs(expected - row[..., 0]).reshape(6, -1).max(1)
        assert errors.min() < 1e-6, errors


def test_one_pass_is_a_shuffled_permutation_and_the_next_pass_another_order():
    x = labelled_images(10)
    batches = first_batches(data.gan_dataset(x, batch_size=5, seed=0), 4)
    first, second = image_ids(np.concatenate(batches[:2])), image_ids(np.concatenate(batches[2:]))
    assert sorted(first) == list(range(10)) and sorted(second) == list(range(10))
    assert first != list(range(10)), "not shuffled"
    assert first != second, "the same order on every pass"


def test_endless_with_full_batches_only():
    x = labelled_images(10)
    ds = data.gan_dataset(x, batch_size=4, seed=0)
    assert tuple(ds.element_spec.shape) == (4, 3, 2, 1)          # static batch size: drop_remainder
    batches = first_batches(ds, 7)                                # 28 images from 10: repeats
    assert [len(b) for b in batches] == [4] * 7
    counts = np.bincount(sum((image_ids(b) for b in batches), []), minlength=10)
    assert counts.min() >= 2 and counts.sum() == 28


def test_seed_fixes_the_order():
    x = labelled_images(10)
    order = lambda seed: image_ids(np.concatenate(first_batches(data.gan_dataset(x, batch_size=5, seed=seed), 2)))
    assert order(0) == order(0)
    assert order(0) != order(1)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"x": np.zeros((4, 3, 3), np.float32)}, ValueError, r"x must hold uint8 pixel values.*already converted to float"),
    ({"x": np.zeros((4, 3, 3, 1), np.uint8)}, ValueError, r"x must have shape \(N, H, W\), got \(4, 3, 3, 1\)"),
    ({"batch_size": 0}, ValueError, r"batch_size must be a positive int, got 0"),
    ({"batch_size": True}, ValueError, r"batch_size must be a positive int, got True"),
    ({"batch_size": 5}, ValueError, r"batch_size must be at most the number of images \(4\), got 5"),
    ({"seed": -1}, ValueError, r"seed must be an int >= 0, got -1"),
    ({"seed": 1.5}, ValueError, r"seed must be an int >= 0, got 1.5"),
])
def test_bad_arguments_are_refused_with_their_name(kwargs, error, message):
    args = {"x": labelled_images(4), "batch_size": 2, "seed": 0, **kwargs}
    with pytest.raises(error, match=message):
        data.gan_dataset(**args)
