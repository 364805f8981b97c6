"""Training: grouped cross-validation, calibration on out-of-fold scores, thresholds."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedGroupKFold

from classifiers.dataset import LabelledMessages
from classifiers.errors import TrainingDataError
from classifiers.features import DemandFeatures, Tokens
from classifiers.model import DemandClassifier, FloatArray
from classifiers.scoring import DemandScorer
from classifiers.thresholds import choose_thresholds
from classifiers.tokenise import DemandTokenizer


@dataclass(frozen=True)
class TrainingSettings:
    min_df: int = 3  # in distinct near-duplicate groups: keeps names out of the vocabulary
    max_df: float = 0.5
    svm_c: float = 0.1
    nb_alpha: float = 1.0
    lead_weight: float = 0.7
    cv_folds: int = 5
    target_precision: float = 0.95  # of auto-dispatched tickets, per category
    seed: int = 20200
    tokenizer_version: str = "rjieba-precise-1"
    scorer: str = "nbsvm-1"


@dataclass(frozen=True)
class OutOfFold:
    scores: FloatArray  # scorer output per message, columns in category order
    fold_macro_f1: tuple[float, ...]
    fold_accuracy: tuple[float, ...]


def _fit_fold(
    messages: Sequence[Tokens],
    labels: np.ndarray[Any, Any],
    groups: Sequence[str],
    categories: tuple[str, ...],
    settings: TrainingSettings,
) -> tuple[DemandFeatures, DemandScorer]:
    features = DemandFeatures(
        min_df=settings.min_df, max_df=settings.max_df, lead_weight=settings.lead_weight
    )
    features.fit(messages, groups)
    scorer = DemandScorer(categories, svm_c=settings.svm_c, nb_alpha=settings.nb_alpha)
    scorer.fit(features.transform(messages), labels)
    return features, scorer


def out_of_fold_scores(
    messages: Sequence[Tokens],
    labels: Sequence[str],
    groups: Sequence[str],
    categories: tuple[str, ...],
    settings: TrainingSettings,
) -> OutOfFold:
    """Scores for every message from a model that never saw its near-duplicate group."""
    y = np.asarray(labels)
    scores = np.zeros((len(messages), len(categories)))
    macro, accuracy = [], []
    folds = StratifiedGroupKFold(
        n_splits=settings.cv_folds, shuffle=True, random_state=settings.seed
    )
    for train, test in folds.split(np.zeros(len(y)), y, np.asarray(groups)):
        features, scorer = _fit_fold(
            [messages[i] for i in train],
            y[train],
            [groups[i] for i in train],
            categories,
            settings,
        )
        fold_scores = scorer.decision_function(features.transform([messages[i] for i in test]))
        scores[test] = fold_scores
        predicted = np.asarray(categories)[fold_scores.argmax(axis=1)]
        macro.append(float(f1_score(y[test], predicted, average="macro")))
        accuracy.append(float(accuracy_score(y[test], predicted)))
    return OutOfFold(scores, tuple(macro), tuple(accuracy))


def fit_calibrator(scores: FloatArray, labels: Sequence[str]) -> LogisticRegression:
    """Multinomial logistic regression on out-of-fold scores (a multi-class Platt scaling)."""
    calibrator = LogisticRegression(C=10.0, max_iter=2000)
    calibrator.fit(scores, np.asarray(labels))
    return calibrator


def calibrated_out_of_fold_f1(
    scores: FloatArray, messages: LabelledMessages, settings: TrainingSettings
) -> list[float]:
    """Macro-F1 per fold of argmax calibrated probability, calibrator fitted out of fold."""
    y = np.asarray(messages.labels)
    folds = StratifiedGroupKFold(
        n_splits=settings.cv_folds, shuffle=True, random_state=settings.seed + 1
    )
    result = []
    for train, test in folds.split(scores, y, np.asarray(messages.groups)):
        predicted = fit_calibrator(scores[train], y[train]).predict(scores[test])
        result.append(float(f1_score(y[test], predicted, average="macro")))
    return result


def model_version(settings: TrainingSettings, messages: LabelledMessages) -> str:
    digest = hashlib.sha256(json.dumps(asdict(settings), sort_keys=True).encode())
    for text, label in zip(messages.texts, messages.labels, strict=True):
        digest.update(label.encode())
        digest.update(text.encode())
    return f"{datetime.now(UTC):%Y%m%d}-{digest.hexdigest()[:8]}"


def train_classifier(
    messages: LabelledMessages,
    settings: TrainingSettings = TrainingSettings(),
    stop_words: Sequence[str] = (),
) -> DemandClassifier:
    """Cross-validate, calibrate and choose thresholds out of fold, then fit on everything."""
    if settings.cv_folds < 2:
        raise TrainingDataError("cross-validation needs at least 2 folds to set thresholds")
    categories = tuple(sorted(set(messages.labels)))
    if len(categories) < 2:
        raise TrainingDataError("training data needs at least two distinct labels")
    started = time.perf_counter()
    tokenizer = DemandTokenizer(stop_words)
    tokenised = [tokenizer.tokens(text) for text in messages.texts]
    oof = out_of_fold_scores(tokenised, messages.labels, messages.groups, categories, settings)
    calibrated_f1 = calibrated_out_of_fold_f1(oof.scores, messages, settings)
    calibrator = fit_calibrator(oof.scores, messages.labels)
    # calibrator.classes_ is sorted, like `categories`, so columns line up
    oof_probabilities = calibrator.predict_proba(oof.scores)
    thresholds, threshold_report = choose_thresholds(
        oof_probabilities, messages.labels, categories, settings.target_precision
    )
    features, scorer = _fit_fold(
        tokenised, np.asarray(messages.labels), messages.groups, categories, settings
    )
    report: dict[str, Any] = {
        "settings": asdict(settings),
        "messages": len(messages),
        "groups": len(set(messages.groups)),
        "vocabulary_size": features.vocabulary_size,
        "cv_macro_f1": list(oof.fold_macro_f1),
        "cv_macro_f1_mean": float(np.mean(oof.fold_macro_f1)),
        "cv_macro_f1_sd": float(np.std(oof.fold_macro_f1)),
        "cv_accuracy_mean": float(np.mean(oof.fold_accuracy)),
        # the product decides on calibrated probabilities; this scores that decision with the
        # calibrator itself cross-validated over the same kind of grouped folds
        "cv_calibrated_macro_f1_mean": float(np.mean(calibrated_f1)),
        "cv_calibrated_macro_f1_sd": float(np.std(calibrated_f1)),
        "thresholds": threshold_report,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    return DemandClassifier(
        tokenizer=tokenizer,
        features=features,
        scorer=scorer,
        calibrator=calibrator,
        categories=categories,
        thresholds=thresholds,
        model_version=model_version(settings, messages),
        training_report=report,
    )
