"""The linear scorer: NB-weighted one-vs-rest SVMs (NBSVM, Wang & Manning 2012).

Each category's features are scaled by their naive-Bayes log-count ratio before a binary
linear SVM is fitted, which sharpens the category's tell-tale words. The scaling folds into
the weights, so prediction is a single sparse × dense product.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.svm import LinearSVC

from classifiers.model import FloatArray


def log_count_ratio(
    present: sp.csr_matrix, is_category: npt.NDArray[np.bool_], alpha: float
) -> npt.NDArray[np.float64]:
    """log( P(feature | category) / P(feature | other) ) on binary presence, smoothed."""
    inside = np.asarray(present[is_category].sum(axis=0)).ravel() + alpha
    outside = np.asarray(present[~is_category].sum(axis=0)).ravel() + alpha
    ratio = np.log((inside / inside.sum()) / (outside / outside.sum()))
    return np.asarray(ratio, dtype=np.float64)


class DemandScorer:
    """One score per category (a margin, uncalibrated), columns in category order."""

    def __init__(self, categories: tuple[str, ...], svm_c: float = 0.1, nb_alpha: float = 1.0):
        self.categories = categories
        self.svm_c = svm_c
        self.nb_alpha = nb_alpha
        # features × categories, C-contiguous: a sparse × dense product over a transposed
        # view would copy the whole weight matrix on every call
        self.weights_: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self.intercept_: npt.NDArray[np.float64] = np.zeros(0)

    def fit(self, features: sp.csr_matrix, labels: np.ndarray[Any, Any]) -> DemandScorer:
        if set(labels) != set(self.categories):
            raise ValueError("training folds must contain every category")
        present = (features > 0).astype(np.float64).tocsr()
        coef = np.zeros((len(self.categories), features.shape[1]), dtype=np.float32)
        intercept = np.zeros(len(self.categories))
        for index, category in enumerate(self.categories):
            is_category = np.asarray(labels == category)
            ratio = log_count_ratio(present, is_category, self.nb_alpha)
            svm = LinearSVC(C=self.svm_c, class_weight="balanced")
            svm.fit(features @ sp.diags(ratio), is_category.astype(int))
            coef[index] = svm.coef_.ravel() * ratio
            intercept[index] = float(svm.intercept_[0])
        self.weights_, self.intercept_ = np.ascontiguousarray(coef.T), intercept
        return self

    def decision_function(self, features: sp.csr_matrix) -> FloatArray:
        scores = features @ self.weights_
        return np.asarray(scores, dtype=np.float64) + self.intercept_
