"""The linear scorer: one score per category from the sparse TF-IDF features."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.svm import LinearSVC

from classifiers.model import FloatArray


class DemandScorer:
    """One-vs-rest linear SVM; scores are uncalibrated margins in category order."""

    def __init__(self, categories: tuple[str, ...], svm_c: float = 0.5) -> None:
        self.categories = categories
        self.svm = LinearSVC(C=svm_c, class_weight="balanced")

    def fit(self, features: sp.csr_matrix, labels: np.ndarray[Any, Any]) -> DemandScorer:
        self.svm.fit(features, labels)
        if tuple(self.svm.classes_) != self.categories:
            raise ValueError("training folds must contain every category")
        return self

    def decision_function(self, features: sp.csr_matrix) -> FloatArray:
        return np.asarray(self.svm.decision_function(features), dtype=np.float64)
