"""course_lib._args: the shared argument checks (their boundaries; the modules' use is in test_bad_input)."""
import numpy as np
import pytest

from course_lib import _args

NAN = float("nan")


def test_int_at_least_accepts_numpy_ints_and_refuses_bools_floats_strings():
    assert _args.int_at_least("n", np.int64(3)) == 3 and type(_args.int_at_least("n", np.int64(3))) is int
    assert _args.int_at_least("n", 0, 0) == 0
    for bad in (True, 2.0, "2", None, 0):
        with pytest.raises(ValueError, match=r"n must be a positive int, got"):
            _args.int_at_least("n", bad)
    with pytest.raises(ValueError, match=r"size must be an int >= 6 \(at least\), got 5"):
        _args.int_at_least("size", 5, 6, note=" (at least)")


def test_number_in_ends_and_non_numbers():
    assert _args.fraction("p", 0) == 0.0 and _args.fraction("p", np.float32(0.5)) == 0.5
    for bad in (1.0, -0.1, NAN, float("inf"), "0.5", True, None):
        with pytest.raises(ValueError, match=r"p must be a number in \[0, 1\), got"):
            _args.fraction("p", bad)
    with pytest.raises(ValueError, match=r"r must be a number in \(0, 1\), got 0"):
        _args.number_in("r", 0, 0, 1, low_open=True, high_open=True)
    assert _args.number_in("r", 1, 0, 1) == 1.0                      # closed ends by default
    with pytest.raises(ValueError, match="lr must be a positive number, got 0"):
        _args.positive_number("lr", 0)
    with pytest.raises(ValueError, match="x must be a number >= 2, got 1"):
        _args.number_in("x", 1, 2)


def test_flag_one_of_function():
    assert _args.flag("f", np.bool_(True)) is True
    for bad in ("no", 1, None):
        with pytest.raises(ValueError, match="f must be True or False"):
            _args.flag("f", bad)
    with pytest.raises(ValueError, match=r"mode must be one of \('a', 'b'\), got \['a'\]"):
        _args.one_of("mode", ["a"], ("a", "b"))
    with pytest.raises(TypeError, match="f must be a function, got int"):
        _args.function("f", 3)


def test_numeric_array_and_class_indices():
    assert _args.numeric_array("x", [[1, 2]], ndim=2).shape == (1, 2)
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\), got \(2,\)"):
        _args.numeric_array("x", [1, 2], ndim=2, shape="(N, D)")
    with pytest.raises(ValueError, match=r"x contains NaN or inf \(at flat index 1\)"):
        _args.numeric_array("x", [1.0, NAN])
    assert np.isnan(_args.numeric_array("x", [NAN], finite=False)).all()
    with pytest.raises(ValueError, match=r"x must have at least 2 row\(s\)"):
        _args.numeric_array("x", [[1.0]], min_rows=2)
    assert _args.class_indices("y", np.array([[1.0], [0.0]])).tolist() == [1, 0]   # (N, 1), whole floats
    assert _args.class_indices("y", np.array([True, False])).tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"y must be class indices in \[0, 3\), got 3"):
        _args.class_indices("y", [0, 3], 3)


def test_texts_and_image_shape():
    assert _args.texts("t", np.array(["a", "b"])) == ["a", "b"]
    for bad, match in [("abc", "got a single string"), (iter(["a"]), "got list_iterator"), ([], "t is empty"),
                       (["a", 1], "item 1 is int")]:
        with pytest.raises(ValueError, match=match):
            _args.texts("t", bad)
    assert _args.image_shape("s", [28, 28, np.int64(1)]) == (28, 28, 1)
    for bad in ((28, 28), (28, 0, 1), (28.0, 28, 1), "281", (None, 28, 1)):
        with pytest.raises(ValueError, match=r"s must be \(height, width, channels\), three positive ints"):
            _args.image_shape("s", bad)
