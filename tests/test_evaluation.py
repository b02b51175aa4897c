"""course_lib.evaluation: Fréchet distance against closed forms, class coverage, nearest neighbours."""
import numpy as np
import pytest

from course_lib import evaluation as ev


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_frechet_identical_feature_sets_is_zero():
    x = np.random.default_rng(0).normal(size=(500, 16))
    assert ev.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)
    assert ev.frechet_distance(x, x + 3.0) == pytest.approx(16 * 9.0, rel=1e-8)  # only the means differ


def test_gaussian_frechet_1d_and_diagonal_closed_forms():
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2
    assert ev.gaussian_frechet_distance([1.0], [[4.0]], [-2.0], [[9.0]]) == pytest.approx(9 + 1)
    # diagonal: ||mu1 - mu2||^2 + sum (sqrt(a) - sqrt(b))^2
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert ev.gaussian_frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_gaussian_frechet_matches_trace_formula_for_non_commuting_covariances():
    # tr((S1 S2)^1/2) = sum of square roots of the (real, >= 0) eigenvalues of S1 S2
    rng = np.random.default_rng(2)
    s1, s2 = random_spd(rng, 8), random_spd(rng, 8)
    assert not np.allclose(s1 @ s2, s2 @ s1)
    eig = np.linalg.eigvals(s1 @ s2).real
    expected = np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(eig, 0, None)).sum()
    got = ev.gaussian_frechet_distance(np.zeros(8), s1, np.zeros(8), s2)
    assert got == pytest.approx(expected, rel=1e-8)
    assert got == pytest.approx(ev.gaussian_frechet_distance(np.zeros(8), s2, np.zeros(8), s1), rel=1e-8)


def test_frechet_from_samples_approaches_closed_form():
    rng = np.random.default_rng(3)
    s1, s2 = random_spd(rng, 4), random_spd(rng, 4)
    mu1, mu2 = np.zeros(4), np.ones(4)
    x = rng.multivariate_normal(mu1, s1, size=50_000)
    y = rng.multivariate_normal(mu2, s2, size=50_000)
    exact = ev.gaussian_frechet_distance(mu1, s1, mu2, s2)
    assert ev.frechet_distance(x, y) == pytest.approx(exact, rel=0.05)


@pytest.mark.parametrize("a, b, match", [
    (np.zeros((10,)), np.zeros((10, 3)), r"feats_a must have shape \(N, D\)"),
    (np.zeros((10, 3)), np.zeros((10, 4)), "same feature size D"),
    (np.zeros((1, 3)), np.zeros((10, 3)), "at least 2 rows"),
    (np.full((10, 3), np.nan), np.zeros((10, 3)), "NaN or inf"),
    (np.array([["a", "b"], ["c", "d"]]), np.zeros((2, 2)), "must be a numeric array"),
])
def test_frechet_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        ev.frechet_distance(a, b)


def test_gaussian_frechet_bad_input():
    with pytest.raises(ValueError, match="mu1 and mu2 must both have shape"):
        ev.gaussian_frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match=r"cov2 must have shape \(3, 3\)"):
        ev.gaussian_frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="cov1 must be symmetric"):
        ev.gaussian_frechet_distance(np.zeros(2), [[1.0, 0.5], [0.0, 1.0]], np.zeros(2), np.eye(2))


def test_class_coverage_counts_and_fractions():
    counts, frac = ev.class_coverage(np.array([0, 2, 2, 3, 3, 3]), 5)
    np.testing.assert_array_equal(counts, [1, 0, 2, 3, 0])
    np.testing.assert_allclose(frac, [1 / 6, 0, 2 / 6, 3 / 6, 0])


@pytest.mark.parametrize("labels, k, match", [
    (np.array([0, 5]), 5, r"must be in \[0, 5\)"),
    (np.array([0.0, 1.0]), 5, "must be integers"),
    (np.zeros((2, 2), int), 5, "1-D array"),
    (np.array([0, 1]), 0, "num_classes must be a positive int"),
])
def test_class_coverage_bad_input(labels, k, match):
    with pytest.raises(ValueError, match=match):
        ev.class_coverage(labels, k)


def test_nearest_neighbours_matches_brute_force():
    rng = np.random.default_rng(4)
    refs, queries = rng.normal(size=(300, 5, 5, 1)), rng.normal(size=(37, 5, 5, 1))
    idx, dist = ev.nearest_neighbours(queries, refs, k=3, chunk=10)
    full = np.linalg.norm(queries.reshape(37, 1, -1) - refs.reshape(1, 300, -1), axis=-1)
    np.testing.assert_array_equal(idx, np.argsort(full, 1)[:, :3])
    np.testing.assert_allclose(dist, np.sort(full, 1)[:, :3], rtol=1e-9)
    idx0, dist0 = ev.nearest_neighbours(refs[:4], refs, k=1)   # a training image is its own neighbour
    np.testing.assert_array_equal(idx0[:, 0], np.arange(4))
    np.testing.assert_allclose(dist0, 0, atol=1e-6)


def test_nearest_neighbours_bad_input():
    with pytest.raises(ValueError, match="must share their trailing shape"):
        ev.nearest_neighbours(np.zeros((2, 4, 4)), np.zeros((3, 5, 5)))
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 3\]"):
        ev.nearest_neighbours(np.zeros((2, 4)), np.zeros((3, 4)), k=4)


def test_feature_extractor_returns_penultimate_features():
    import keras

    inp = keras.Input((6,))
    h = keras.layers.Dense(5, activation="relu", name="hidden")(inp)
    model = keras.Model(inp, keras.layers.Dense(3, name="out")(keras.layers.Dropout(0.5)(h)))
    x = np.random.default_rng(5).normal(size=(4, 6)).astype("float32")
    feats = ev.feature_extractor(model)(x)
    np.testing.assert_allclose(feats, model.get_layer("hidden")(x), rtol=1e-6)  # dropout is off
    assert ev.feature_extractor(model, "hidden")(x).shape == (4, 5)
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        ev.feature_extractor(model, "nope")
    with pytest.raises(TypeError, match="classifier must be a keras.Model"):
        ev.feature_extractor(lambda x: x)
