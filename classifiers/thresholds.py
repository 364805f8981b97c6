"""Per-category auto-dispatch thresholds chosen from out-of-fold probabilities.

For each category we take the lowest confidence threshold at which the tickets the model
would auto-dispatch to that category are correct at least `target_precision` of the time
(measured out of fold). Below it a human dispatcher decides. A threshold is never below
`FLOOR` (a prediction more likely wrong than right is never automatic) and is 1.0 — never
automatic — when no threshold reaches the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from classifiers.model import FloatArray

FLOOR = 0.5
MIN_SUPPORT = 10  # a precision measured on fewer predictions is too noisy to trust


def _lowest_threshold(
    confidence: FloatArray, correct: np.ndarray[Any, Any], target: float
) -> float:
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    counts = np.arange(1, len(order) + 1)
    precision = hits / counts
    # Only cut between distinct confidence values: ties are dispatched together.
    sorted_conf = confidence[order]
    boundary = np.append(sorted_conf[1:] < sorted_conf[:-1], True)
    ok = (precision >= target) & (counts >= MIN_SUPPORT) & boundary
    if not ok.any():
        return 1.0
    return max(FLOOR, float(sorted_conf[np.flatnonzero(ok)[-1]]))


def choose_thresholds(
    probabilities: FloatArray,
    labels: Sequence[str],
    categories: tuple[str, ...],
    target_precision: float,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Thresholds per category plus a report of coverage and precision at them."""
    y = np.asarray(labels)
    predicted_index = probabilities.argmax(axis=1)
    predicted = np.asarray(categories)[predicted_index]
    confidence = probabilities.max(axis=1)
    thresholds: dict[str, float] = {}
    per_category: dict[str, Any] = {}
    automatic = np.zeros(len(y), dtype=bool)
    for category in categories:
        mine = predicted == category
        correct = (y[mine] == category).astype(np.float64)
        threshold = _lowest_threshold(confidence[mine], correct, target_precision)
        thresholds[category] = threshold
        passed = mine & (confidence >= threshold)
        automatic |= passed
        per_category[category] = {
            "threshold": round(threshold, 4),
            "predicted": int(mine.sum()),
            "auto_dispatched": int(passed.sum()),
            "coverage": round(float(passed.sum() / max(mine.sum(), 1)), 4),
            "precision": round(float((y[passed] == category).mean()) if passed.any() else 0.0, 4),
        }
    report = {
        "target_precision": target_precision,
        "overall_coverage": round(float(automatic.mean()), 4),
        "overall_precision": round(float((predicted[automatic] == y[automatic]).mean()), 4)
        if automatic.any()
        else 0.0,
        "per_category": per_category,
    }
    return thresholds, report


def dispatch_outcome(
    probabilities: FloatArray,
    labels: np.ndarray[Any, Any],
    categories: tuple[str, ...],
    thresholds: dict[str, float],
) -> dict[str, float]:
    """Share of messages auto-dispatched at `thresholds`, and how many of those are right."""
    predicted = np.asarray(categories)[probabilities.argmax(axis=1)]
    cutoff = np.array([thresholds[category] for category in predicted])
    automatic = probabilities.max(axis=1) >= cutoff
    correct = predicted[automatic] == labels[automatic]
    return {
        "coverage": round(float(automatic.mean()), 4),
        "precision": round(float(correct.mean()), 4) if automatic.any() else 0.0,
    }
