"""Calibration: turning category scores into probabilities that hold for long and short text.

Scores of a linear model shrink with the amount of text, and a model trained on long written
posts is over-confident on a short call summary. The calibrator is a multinomial logistic
regression on out-of-fold scores that also sees the message length, so its slope can change
with length. It is trained on full messages and on their first `SHORT_TOKENS` tokens (a
stand-in for a title or a short summary).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from classifiers.model import FloatArray

SHORT_TOKENS = 10


def _design(scores: FloatArray, lengths: Sequence[int]) -> FloatArray:
    shortness = 1.0 / np.sqrt(1.0 + np.asarray(lengths, dtype=np.float64))[:, None]
    return np.hstack([scores, scores * shortness, shortness])


class DemandCalibrator:
    """Multinomial Platt scaling with a length interaction; columns in sorted label order."""

    def __init__(self, c: float = 10.0) -> None:
        self.model = LogisticRegression(C=c, max_iter=3000)

    def fit(
        self, scores: FloatArray, lengths: Sequence[int], labels: Sequence[str]
    ) -> DemandCalibrator:
        self.model.fit(_design(scores, lengths), np.asarray(labels))
        return self

    def predict_proba(self, scores: FloatArray, lengths: Sequence[int]) -> FloatArray:
        return np.asarray(self.model.predict_proba(_design(scores, lengths)), dtype=np.float64)

    def predict(self, scores: FloatArray, lengths: Sequence[int]) -> list[str]:
        return [str(label) for label in self.model.predict(_design(scores, lengths))]
