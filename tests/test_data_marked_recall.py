"""course_lib.data.marked_recall: the synthetic memory task of lesson 04."""
import numpy as np
import pytest

from course_lib import data


@pytest.mark.parametrize("n,length,k,lag", [(50, 9, 4, None), (7, 1, 2, 1), (20, 6, 3, 6), (30, 12, 5, 2)])
def test_one_marker_one_hot_symbols_and_the_target_at_the_marker(n, length, k, lag):
    x, y = data.marked_recall(n, length, num_symbols=k, seed=3, lag=lag)
    assert x.shape == (n, length, k + 1) and x.dtype == np.float32 and y.shape == (n,) and y.dtype == np.int32
    assert set(np.unique(x)) <= {0.0, 1.0}
    np.testing.assert_array_equal(x[..., :k].sum(-1), 1)              # one symbol per step
    np.testing.assert_array_equal(x[..., k].sum(-1), 1)               # one marker per sequence
    where = x[..., k].argmax(-1)
    np.testing.assert_array_equal(y, x[np.arange(n), where, :k].argmax(-1))
    if lag is not None:
        np.testing.assert_array_equal(where, length - lag)            # lag 1 = the last step


def test_random_lags_cover_one_to_length():
    x, _ = data.marked_recall(2000, 6, seed=0)
    lags = 6 - x[..., 4].argmax(-1)
    assert set(lags) == set(range(1, 7))


def test_seeded_and_balanced():
    a, b, c = (data.marked_recall(400, 8, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert np.bincount(a[1], minlength=4).min() > 60                 # 4 symbols, about 100 each


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=0), "n must be a positive int"),
    (dict(length=2.0), "length must be a positive int"),
    (dict(num_symbols=1), "num_symbols must be an int >= 2"),
    (dict(lag=0), "lag must be a positive int"),
    (dict(lag=6), r"lag must be an int in \[1, length\] = \[1, 5\], or None, got 6"),
    (dict(seed=-1), "seed must be an int >= 0"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.marked_recall(**(dict(n=4, length=5) | kwargs))
