"""Confusion matrix and classification report: scikit-learn's documented example, hand-counted
cases (including classes never predicted or never present), and a property test against plain
loops over the samples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.tools.metrics import classification_report, confusion_matrix


def test_scikit_learn_documented_example():
    # sklearn.metrics.classification_report docs:
    #               precision    recall  f1-score   support
    #      class 0       0.50      1.00      0.67         1
    #      class 1       0.00      0.00      0.00         1
    #      class 2       1.00      0.67      0.80         3
    #     accuracy                           0.60         5
    #    macro avg       0.50      0.56      0.49         5
    # weighted avg       0.70      0.60      0.61         5
    report = classification_report([0, 1, 2, 2, 2], [0, 0, 2, 2, 1],
                                   ["class 0", "class 1", "class 2"])
    rows = [(s.precision, s.recall, s.f1, s.support) for s in report.per_class]
    assert np.round(rows, 2).tolist() == [[0.5, 1.0, 0.67, 1], [0.0, 0.0, 0.0, 1],
                                          [1.0, 0.67, 0.8, 3]]
    assert round(report.accuracy, 2) == 0.60
    macro, weighted = report.macro_avg, report.weighted_avg
    assert np.round([macro.precision, macro.recall, macro.f1], 2).tolist() == [0.50, 0.56, 0.49]
    assert np.round([weighted.precision, weighted.recall, weighted.f1], 2).tolist() == \
        [0.70, 0.60, 0.61]
    assert macro.support == weighted.support == 5
    assert [s.name for s in report.per_class] == ["class 0", "class 1", "class 2"]


def test_confusion_matrix_rows_are_true_columns_predicted():
    # scikit-learn's confusion_matrix example: y_true [2, 0, 2, 2, 0, 1], y_pred [0, 0, 2, 2, 0, 2]
    counts = confusion_matrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2], 3)
    assert counts.tolist() == [[2, 0, 0], [0, 0, 1], [1, 0, 2]]
    assert counts.dtype == np.int64


def test_exact_fractions_by_hand():
    # class 0: TP 2, FP 1, FN 1 -> P 2/3, R 2/3, F1 2/3; class 1: TP 3, FP 1, FN 1 -> 3/4 each
    y_true = [0, 0, 0, 1, 1, 1, 1]
    y_pred = [0, 0, 1, 1, 1, 1, 0]
    report = classification_report(y_true, y_pred, ["a", "b"])
    a, b = report.per_class
    assert (a.precision, a.recall, a.f1, a.support) == pytest.approx((2 / 3, 2 / 3, 2 / 3, 3))
    assert (b.precision, b.recall, b.f1, b.support) == pytest.approx((3 / 4, 3 / 4, 3 / 4, 4))
    assert report.accuracy == pytest.approx(5 / 7)
    assert report.macro_avg.f1 == pytest.approx((2 / 3 + 3 / 4) / 2)
    assert report.weighted_avg.f1 == pytest.approx((3 * 2 / 3 + 4 * 3 / 4) / 7)


def test_zero_division_counts_as_zero():
    # class 2 never occurs and is never predicted; class 1 occurs but is never predicted.
    report = classification_report([0, 0, 1], [0, 0, 0], ["x", "y", "z"])
    x, y, z = report.per_class
    assert (x.precision, x.recall) == pytest.approx((2 / 3, 1.0))
    assert (y.precision, y.recall, y.f1, y.support) == (0.0, 0.0, 0.0, 1)
    assert (z.precision, z.recall, z.f1, z.support) == (0.0, 0.0, 0.0, 0)
    # the macro average includes the empty class, as sklearn does when given the labels
    assert report.macro_avg.recall == pytest.approx(1 / 3)
    assert report.weighted_avg.recall == pytest.approx(2 / 3)


def test_perfect_predictions():
    labels = [2, 0, 1, 1, 2, 2]
    report = classification_report(labels, labels, ["a", "b", "c"])
    assert report.accuracy == 1.0
    assert all(s.precision == s.recall == s.f1 == 1.0 for s in report.per_class)
    assert report.confusion.tolist() == [[1, 0, 0], [0, 2, 0], [0, 0, 3]]


def test_to_dict_is_json_ready():
    data = classification_report([0, 1], [0, 0], ["a", "b"]).to_dict()
    assert set(data) == {"accuracy", "per_class", "macro_avg", "weighted_avg", "confusion_matrix"}
    assert data["per_class"][0] == {"class": "a", "precision": 0.5, "recall": 1.0,
                                    "f1": pytest.approx(2 / 3), "support": 1}
    assert data["confusion_matrix"] == [[1, 0], [1, 0]]


def test_bad_labels_are_refused():
    with pytest.raises(ValueError, match="outside 0..1"):
        confusion_matrix([0, 2], [0, 1], 2)
    with pytest.raises(ValueError, match="equally long"):
        confusion_matrix([0, 1], [0], 2)


@given(st.integers(1, 5).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), max_size=40))))
def test_against_loops_over_the_samples(case):
    k, pairs = case
    y_true = [t for t, _ in pairs]
    y_pred = [p for _, p in pairs]
    report = classification_report(np.array(y_true, dtype=np.int64),
                                   np.array(y_pred, dtype=np.int64), [str(c) for c in range(k)])
    for c, scores in enumerate(report.per_class):
        tp = sum(1 for t, p in pairs if t == c and p == c)
        fp = sum(1 for t, p in pairs if t != c and p == c)
        fn = sum(1 for t, p in pairs if t == c and p != c)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        assert scores.support == tp + fn
        assert (scores.precision, scores.recall, scores.f1) == pytest.approx(
            (precision, recall, f1))
        for d in range(k):
            assert report.confusion[c, d] == sum(1 for t, p in pairs if t == c and p == d)
    correct = sum(1 for t, p in pairs if t == p)
    assert report.accuracy == pytest.approx(correct / len(pairs) if pairs else 0.0)
