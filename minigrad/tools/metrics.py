"""How good a classifier's predictions are: the confusion matrix and per-class precision, recall
and F1, defined as scikit-learn defines them (classification_report with zero_division=0).

For one class, counting over all samples:
    TP = predicted this class and it is;  FP = predicted it, but it is another;
    FN = it is this class, but predicted another.
    precision = TP / (TP + FP)   (of the samples we called this class, how many are)
    recall    = TP / (TP + FN)   (of the samples of this class, how many we found)
    F1        = 2 · precision · recall / (precision + recall)   (their harmonic mean)
    support   = TP + FN          (how many samples of this class there are)
A ratio whose denominator is zero (no predictions of a class, or no samples of it) counts as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """counts[i, j] = how many samples of true class i were predicted as class j.

    y_true, y_pred: (N,) integer labels in 0..num_classes-1. Returns (num_classes, num_classes)
    int64: rows are the true classes, columns the predictions (scikit-learn's orientation), so
    the diagonal holds the correct predictions and each row sums to that class's support.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D and equally long; "
                         f"got shapes {y_true.shape} and {y_pred.shape}")
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"{name} has labels outside 0..{num_classes - 1}")
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


@dataclass(frozen=True)
class ClassScores:
    """One line of the report: a class, or an average over the classes."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class ClassificationReport:
    per_class: tuple[ClassScores, ...]
    accuracy: float
    macro_avg: ClassScores      # plain mean over the classes: every class counts the same
    weighted_avg: ClassScores   # mean weighted by support: frequent classes count more
    confusion: np.ndarray       # (K, K), see confusion_matrix

    def to_dict(self) -> dict:
        def scores(s: ClassScores) -> dict:
            return {"class": s.name, "precision": s.precision, "recall": s.recall,
                    "f1": s.f1, "support": s.support}
        return {"accuracy": self.accuracy,
                "per_class": [scores(s) for s in self.per_class],
                "macro_avg": scores(self.macro_avg),
                "weighted_avg": scores(self.weighted_avg),
                "confusion_matrix": self.confusion.tolist()}


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator elementwise, 0 where the denominator is 0 (zero_division=0)."""
    out = np.zeros(len(numerator), dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def classification_report(y_true, y_pred, class_names) -> ClassificationReport:
    """Precision, recall, F1 and support for every class in `class_names` (labels 0..K-1, even
    those that never occur), the accuracy, and the macro and weighted averages."""
    names = [str(n) for n in class_names]
    counts = confusion_matrix(y_true, y_pred, len(names))
    tp = np.diag(counts).astype(np.float64)
    predicted = counts.sum(axis=0)   # column sums: TP + FP
    support = counts.sum(axis=1)     # row sums: TP + FN
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    per_class = tuple(ClassScores(name, float(p), float(r), float(f), int(s))
                      for name, p, r, f, s in zip(names, precision, recall, f1, support))

    total = int(support.sum())
    weights = support / total if total else np.zeros(len(names))
    macro = ClassScores("macro avg", float(precision.mean()), float(recall.mean()),
                        float(f1.mean()), total)
    weighted = ClassScores("weighted avg", float(precision @ weights), float(recall @ weights),
                           float(f1 @ weights), total)
    accuracy = float(tp.sum() / total) if total else 0.0
    return ClassificationReport(per_class, accuracy, macro, weighted, counts)
