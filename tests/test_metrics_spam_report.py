"""course_lib.metrics.spam_report on a confusion example counted by hand (no value computed by the code
under test). Each expected number is a fraction of the counts written next to the data."""
import math
import re

import numpy as np
import pytest

from course_lib import metrics

# 12 emails, counted by hand:
#            truth  prediction  group
ROWS = [(1, 1, "spam"),       # TP
        (1, 1, "spam"),       # TP
        (1, 1, "spam"),       # TP
        (1, 0, "spam"),       # FN
        (0, 1, "hard_ham"),   # FP on hard ham
        (0, 0, "hard_ham"),   # TN
        (0, 0, "hard_ham"),   # TN
        (0, 0, "hard_ham"),   # TN
        (0, 1, "easy_ham"),   # FP on easy ham
        (0, 1, "easy_ham"),   # FP on easy ham
        (0, 0, "easy_ham"),   # TN
        (0, 0, "easy_ham")]   # TN
# TP = 3, FP = 3 (1 hard + 2 easy), FN = 1, TN = 5; 4 hard ham of which 1 flagged; 8 ham of which 3 flagged.
Y_TRUE = np.array([r[0] for r in ROWS])
Y_PRED = np.array([r[1] for r in ROWS])
GROUPS = np.array([r[2] for r in ROWS])


def test_hand_counted_confusion_example():
    report = metrics.spam_report(Y_TRUE, Y_PRED, GROUPS)
    assert report["spam_precision"] == pytest.approx(3 / (3 + 3))     # TP / (TP + FP) = 0.5
    assert report["spam_recall"] == pytest.approx(3 / (3 + 1))        # TP / (TP + FN) = 0.75: a swap shows
    assert report["spam_f1"] == pytest.approx(2 * 0.5 * 0.75 / (0.5 + 0.75))   # harmonic 0.6, arithmetic 0.625
    assert report["hard_ham_fpr"] == pytest.approx(1 / 4)    # over hard ham only (all ham: 3/8)
    assert report["accuracy"] == pytest.approx(8 / 12)       # TP + TN = 3 + 5
    assert report["n"] == 12
    assert set(report) == {"accuracy", "spam_precision", "spam_recall", "spam_f1", "hard_ham_fpr", "n"}


def test_result_is_plain_python_numbers():
    report = metrics.spam_report(list(Y_TRUE), list(Y_PRED), list(GROUPS))   # lists work like arrays
    assert type(report["n"]) is int and type(report["hard_ham_fpr"]) is float
    assert report["spam_recall"] == pytest.approx(0.75)


def test_only_hard_ham_counts_for_the_hard_ham_rate():
    # every easy-ham email flagged, no hard-ham email flagged: the hard-ham FPR is exactly 0
    y_true = [0, 0, 0, 0, 1]
    y_pred = [1, 1, 0, 0, 1]
    groups = ["easy_ham", "easy_ham", "hard_ham", "hard_ham", "spam"]
    assert metrics.spam_report(y_true, y_pred, groups)["hard_ham_fpr"] == 0.0
    # every hard-ham email flagged: 1.0 (not 2 of 4 ham)
    assert metrics.spam_report(y_true, [0, 0, 1, 1, 1], groups)["hard_ham_fpr"] == 1.0


def test_no_hard_ham_or_no_groups_gives_nan():
    assert math.isnan(metrics.spam_report([0, 1], [0, 1])["hard_ham_fpr"])
    assert math.isnan(metrics.spam_report([0, 1], [0, 1], ["easy_ham", "spam"])["hard_ham_fpr"])


def test_degenerate_predictions_give_zero_not_nan():
    # never predicts spam: no TP + FP, precision defined as 0; recall 0 of 2; F1 0
    r = metrics.spam_report([1, 1, 0], [0, 0, 0])
    assert (r["spam_precision"], r["spam_recall"], r["spam_f1"]) == (0.0, 0.0, 0.0)
    assert r["accuracy"] == pytest.approx(1 / 3)
    # no spam at all and none predicted: recall over 0 positives is defined as 0
    r = metrics.spam_report([0, 0], [0, 0])
    assert (r["spam_precision"], r["spam_recall"], r["spam_f1"], r["accuracy"]) == (0.0, 0.0, 0.0, 1.0)
    # one TP, nothing else: perfect
    r = metrics.spam_report([1], [1])
    assert (r["spam_precision"], r["spam_recall"], r["spam_f1"], r["accuracy"]) == (1.0, 1.0, 1.0, 1.0)


def test_precision_and_recall_single_sided_errors():
    # 1 TP, 1 FP, 0 FN: precision 1/2, recall 1
    r = metrics.spam_report([1, 0], [1, 1])
    assert (r["spam_precision"], r["spam_recall"]) == (0.5, 1.0)
    assert r["spam_f1"] == pytest.approx(2 / 3)                 # 2 * 0.5 * 1 / 1.5
    # 1 TP, 0 FP, 1 FN: precision 1, recall 1/2
    r = metrics.spam_report([1, 1], [1, 0])
    assert (r["spam_precision"], r["spam_recall"]) == (1.0, 0.5)


def test_bad_labels_message_shows_the_offending_values():
    with pytest.raises(ValueError) as err:
        metrics.spam_report([0, 7, 1], [0, 1, 1])
    assert re.search(r"\b7\b", str(err.value)), str(err.value)


@pytest.mark.parametrize("args, names", [
    (([0, 2], [0, 1], None), ["y_true"]),                # y_true not 0/1
    (([0, 1], [0, -1], None), ["y_pred"]),               # y_pred not 0/1
    (([0, 1, 1], [0, 1], None), ["y_true", "y_pred"]),   # lengths differ
    (([], [], None), ["y_true"]),                        # empty
    (([0, 1], [0, 1], ["hard_ham"]), ["groups"]),        # groups length differs
])
def test_bad_input_is_refused_naming_the_argument(args, names):
    # The wording may change (input validation is being reworked); the standard that the message
    # names the offending argument does not. \b: the name as a word, not inside another one.
    with pytest.raises(ValueError) as err:
        metrics.spam_report(*args)
    for name in names:
        assert re.search(rf"\b{name}\b", str(err.value)), (name, str(err.value))
