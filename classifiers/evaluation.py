"""Evaluation of a trained classifier on labelled messages: the figures `eval` prints."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from classifiers.model import DemandClassifier


def classification_report(
    labels: Sequence[str], predicted: Sequence[str], categories: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class P/R/F1/support and the confusion matrix (rows = truth)."""
    order = sorted(set(categories) | set(labels))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=order, zero_division=0
    )
    return {
        "messages": len(labels),
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "macro_f1": round(
            float(f1_score(labels, predicted, labels=order, average="macro", zero_division=0)), 4
        ),
        "per_class": {
            label: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for label, p, r, f, s in zip(order, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": {
            "labels": order,
            "rows_true_columns_predicted": confusion_matrix(labels, predicted, labels=order)
            .astype(int)
            .tolist(),
        },
    }


def evaluate(
    classifier: DemandClassifier, texts: Sequence[str], labels: Sequence[str], batch_size: int = 256
) -> dict[str, Any]:
    """Predict in batches as the router does and report quality, throughput and coverage."""
    started = time.perf_counter()
    predictions = []
    for start in range(0, len(texts), batch_size):
        predictions.extend(classifier.predict(texts[start : start + batch_size]))
    seconds = time.perf_counter() - started
    predicted = [prediction.category for prediction in predictions]
    report = classification_report(labels, predicted, classifier.categories)
    # at the thresholds fitted in training, one per category: what this model alone achieves
    confident = np.array([p.confidence >= classifier.thresholds[p.category] for p in predictions],
                         dtype=bool)
    correct = np.array(predicted) == np.array(labels)
    report["auto_dispatch"] = {
        "coverage": round(float(confident.mean()), 4) if len(confident) else 0.0,
        "precision": round(float(correct[confident].mean()), 4) if confident.any() else 0.0,
    }
    report["messages_per_second"] = round(len(texts) / seconds, 1) if seconds > 0 else None
    report["model_version"] = classifier.model_version
    return report
