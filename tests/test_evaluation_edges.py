"""course_lib.evaluation at its edges (found by mutation testing, benchmarks/MUTATION.md): rank-deficient
covariances, float32 inputs, the symmetry tolerance, k = all references, feature extraction from
multi-input and convolutional models, and error messages that name the argument."""
import re

import numpy as np
import pytest

from course_lib import evaluation as ev


def dependent_features(seed=0, n=40):
    """(n, 6) features of rank 3: three columns are combinations of the others, so the covariance
    has three zero eigenvalues, which round-off makes slightly negative."""
    a = np.random.default_rng(seed).normal(size=(n, 3))
    return np.hstack([a, a[:, :1] + a[:, 1:2], 2 * a[:, 1:2], a[:, 2:3] - a[:, :1]])


def test_rank_deficient_covariance_gives_a_finite_exact_distance():
    a = dependent_features()
    assert np.linalg.eigvalsh(np.cov(a, rowvar=False)).min() < 0      # the round-off this test is about
    assert ev.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert ev.frechet_distance(a, a + 1.0) == pytest.approx(6.0, rel=1e-6)   # only the means differ: ||1||^2
    # a singular covariance given directly: N(0, diag(4, 0)) vs N(0, diag(1, 0)) -> (2 - 1)^2
    assert ev.gaussian_frechet_distance([0, 0], np.diag([4.0, 0.0]), [0, 0], np.diag([1.0, 0.0])) == pytest.approx(1.0)


def test_float32_inputs_are_computed_in_float64():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + np.eye(5), np.diag(rng.uniform(0.5, 2.0, 5))
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    f32 = [np.float32(v) for v in (mu1, s1, mu2, s2)]
    exact = ev.gaussian_frechet_distance(*[v.astype("float64") for v in f32])   # same numbers, float64
    assert ev.gaussian_frechet_distance(*f32) == pytest.approx(exact, rel=1e-12, abs=1e-12)


def test_symmetry_tolerance_scales_with_the_matrix():
    # asymmetry from round-off grows with the entries: 1e-3 on a scale of 1e6 is accepted ...
    big = np.array([[1e6, 1e-3], [0.0, 1e6]])
    assert ev.gaussian_frechet_distance([0, 0], big, [0, 0], np.diag([1e6, 1e6])) >= 0
    # ... while on a scale of 1 an asymmetry of 1.5e-8 (just above 1e-8) is refused
    small = np.array([[1.0, 1.5e-8], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"\bcov1\b"):
        ev.gaussian_frechet_distance([0, 0], small, [0, 0], np.eye(2))
    with pytest.raises(ValueError, match=r"\bcov2\b"):
        ev.gaussian_frechet_distance([0, 0], np.eye(2), [0, 0], np.array([[1e6, 1.0], [0.0, 1e6]]))


def test_two_rows_are_enough_and_one_is_not():
    a = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert ev.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError) as err:
        ev.frechet_distance(a, np.zeros((1, 2)))
    assert re.search(r"\bfeats_b\b", str(err.value)) and re.search(r"\bgot 1\b", str(err.value))
    with pytest.raises(ValueError, match=r"\bfeats_b\b"):
        ev.frechet_distance(a, np.zeros((2, 3, 1)))
    assert ev.frechet_distance(np.array([[0, 1], [2, 3]]), a) == pytest.approx(0.0, abs=1e-9)   # ints are numbers


# --------------------------------------------------------------------------- class_coverage

def test_class_coverage_single_label_and_single_class():
    counts, frac = ev.class_coverage(np.array([2]), 3)
    assert counts.tolist() == [0, 0, 1] and frac.tolist() == [0.0, 0.0, 1.0]
    counts, frac = ev.class_coverage(np.array([0, 0]), 1)
    assert counts.tolist() == [2] and frac.tolist() == [1.0]
    counts, _ = ev.class_coverage(np.array([1, 1], dtype=np.uint8), 2)   # unsigned labels are integers
    assert counts.tolist() == [0, 2]


@pytest.mark.parametrize("num_classes", [2.5, True, "3", 0])
def test_class_coverage_refuses_non_integer_class_counts(num_classes):
    with pytest.raises(ValueError, match=r"\bnum_classes\b"):
        ev.class_coverage(np.array([0, 1]), num_classes)


def test_class_coverage_refuses_empty_labels():
    with pytest.raises(ValueError, match=r"\blabels\b"):
        ev.class_coverage(np.array([], dtype=int), 3)


# --------------------------------------------------------------------------- nearest_neighbours

def test_nearest_neighbours_default_k_and_dtypes():
    refs = np.array([[0.0], [10.0], [3.0]])
    idx, dist = ev.nearest_neighbours(np.array([[2.0], [9.0]]), refs)
    assert idx.shape == (2, 1) and idx.dtype == np.int64 and dist.dtype == np.float64
    assert idx[:, 0].tolist() == [2, 1] and dist[:, 0].tolist() == pytest.approx([1.0, 1.0])


def test_nearest_neighbours_k_equals_all_references_sorts_them_all():
    refs = np.array([[0.0], [10.0], [3.0], [7.0], [-4.0]])
    idx, dist = ev.nearest_neighbours(np.array([[2.0], [8.0]]), refs, k=5)
    assert idx.tolist() == [[2, 0, 3, 4, 1], [3, 1, 2, 0, 4]]     # by hand: |2 - r| and |8 - r|
    np.testing.assert_allclose(dist, [[1, 2, 5, 6, 8], [1, 2, 5, 8, 12]])
    idx4, _ = ev.nearest_neighbours(np.array([[2.0], [8.0]]), refs, k=4)     # k = R - 1
    assert idx4.tolist() == [[2, 0, 3, 4], [3, 1, 2, 0]]


@pytest.mark.parametrize("k", [1.5, True, 0, 6])
def test_nearest_neighbours_refuses_bad_k(k):
    with pytest.raises(ValueError, match=r"\bk\b"):
        ev.nearest_neighbours(np.zeros((2, 3)), np.zeros((5, 3)), k=k)


# --------------------------------------------------------------------------- feature_extractor

def test_feature_extractor_uses_the_last_dense_layer_of_three():
    import keras

    inp = keras.Input((4,))
    h1 = keras.layers.Dense(6, activation="relu", name="h1")(inp)
    h2 = keras.layers.Dense(5, activation="relu", name="h2")(h1)
    model = keras.Model(inp, keras.layers.Dense(3, name="out")(h2), name="clf")
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    extractor = ev.feature_extractor(model)
    np.testing.assert_allclose(extractor(x), keras.Model(inp, h2)(x), rtol=1e-6)   # input of "out" = h2
    assert extractor.name == "clf_features"


def test_feature_extractor_flattens_convolutional_and_sequence_features():
    import keras

    inp = keras.Input((6, 6, 1))
    conv = keras.layers.Conv2D(2, 3, name="conv")(inp)                  # (N, 4, 4, 2)
    model = keras.Model(inp, keras.layers.Dense(3)(keras.layers.Flatten()(conv)))
    feats = ev.feature_extractor(model, "conv")(np.zeros((2, 6, 6, 1), "float32"))
    assert tuple(feats.shape) == (2, 32)
    seq_in = keras.Input((5, 3))
    seq = keras.layers.Dense(4, name="per_step")(seq_in)                # (N, 5, 4): rank 3
    seq_model = keras.Model(seq_in, keras.layers.Dense(2)(keras.layers.Flatten()(seq)))
    assert tuple(ev.feature_extractor(seq_model, "per_step")(np.zeros((2, 5, 3), "float32")).shape) == (2, 20)


def test_feature_extractor_multi_input_model():
    import keras

    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    h = keras.layers.Dense(4, name="h")(keras.layers.Concatenate()([a, b]))
    model = keras.Model([a, b], keras.layers.Dense(2)(h))
    xa, xb = np.ones((2, 3), "float32"), np.ones((2, 2), "float32")
    np.testing.assert_allclose(ev.feature_extractor(model)([xa, xb]), model.get_layer("h")(np.ones((2, 5), "float32")),
                               rtol=1e-6)


def test_feature_extractor_errors_name_the_problem():
    import keras

    inp = keras.Input((4,))
    no_dense = keras.Model(inp, keras.layers.ReLU()(inp))
    with pytest.raises(ValueError) as err:
        ev.feature_extractor(no_dense)
    assert re.search(r"\bDense\b", str(err.value)) and re.search(r"\blayer_name\b", str(err.value))
    with pytest.raises(TypeError, match=r"\bgot function\b"):
        ev.feature_extractor(lambda x: x)
