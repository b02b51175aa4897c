import numpy as np
import pytest

from course_lib.checks import CheckFailure
from course_lib.checks.basics import check_softmax


def good_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_accepts_a_stable_softmax():
    assert "all 6 cases match" in check_softmax(good_softmax)


@pytest.mark.parametrize("wrong, message", [
    (lambda z: np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True), r"huge logits.*NaN or inf.*subtract the row maximum"),
    (lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum(axis=0, keepdims=True), r"\[one row.*max abs error"),
    (lambda z: good_softmax(z)[0], r"shape \(5,\), expected \(1, 5\)"),
    (lambda z: None, "returned None"),
])
@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning",
                            "ignore:invalid value encountered in divide:RuntimeWarning")   # the naive softmax's own
def test_rejects_typical_mistakes(wrong, message):
    with pytest.raises(CheckFailure, match=message):
        check_softmax(wrong)


def test_not_implemented_is_reported_plainly():
    def todo(z):
        raise NotImplementedError()
    with pytest.raises(CheckFailure, match="not implemented yet"):
        check_softmax(todo)
