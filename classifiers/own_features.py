"""Predicting on features this package built itself."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import sklearn


def trusted_features() -> AbstractContextManager[Any]:
    """scikit-learn's checks off for one prediction: the features are finite by
    construction (TF-IDF weights, scores, lengths) and the estimators were fitted and
    checked here. On a one-call batch the checks were about a fifth of the prediction."""
    checks_off: AbstractContextManager[Any] = sklearn.config_context(
        assume_finite=True, skip_parameter_validation=True)
    return checks_off
