"""Training: grouped cross-validation, calibration on out-of-fold scores, thresholds."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedGroupKFold
from tqdm import tqdm

from classifiers.calibration import SHORT_TOKENS, DemandCalibrator
from classifiers.dataset import LabelledMessages
from classifiers.errors import TrainingDataError
from classifiers.features import DemandFeatures, Tokens
from classifiers.model import ARTIFACT_FORMAT, DemandClassifier, FloatArray
from classifiers.scoring import DemandScorer
from classifiers.thresholds import choose_thresholds, dispatch_outcome
from classifiers.tokenise import DemandTokenizer

_T = TypeVar("_T")


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
    tokenizer_version: str = "rjieba-precise-2"
    scorer: str = "nbsvm-1"
    features: str = "word12-char12-lead12"


@dataclass(frozen=True)
class OutOfFold:
    scores: FloatArray  # scorer output per message, columns in category order
    short_scores: FloatArray  # the same for the message's first SHORT_TOKENS tokens
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
    progress: bool = False,
) -> OutOfFold:
    """Scores for every message from a model that never saw its near-duplicate group."""
    y = np.asarray(labels)
    scores = np.zeros((len(messages), len(categories)))
    short_scores = np.zeros_like(scores)
    macro, accuracy = [], []
    folds = StratifiedGroupKFold(
        n_splits=settings.cv_folds, shuffle=True, random_state=settings.seed
    )
    splits = folds.split(np.zeros(len(y)), y, np.asarray(groups))
    for train, test in _shown(splits, "cross-validation", "folds", settings.cv_folds, progress):
        features, scorer = _fit_fold(
            [messages[i] for i in train],
            y[train],
            [groups[i] for i in train],
            categories,
            settings,
        )
        fold_scores = scorer.decision_function(features.transform([messages[i] for i in test]))
        scores[test] = fold_scores
        short = [messages[i][:SHORT_TOKENS] for i in test]
        short_scores[test] = scorer.decision_function(features.transform(short))
        predicted = np.asarray(categories)[fold_scores.argmax(axis=1)]
        macro.append(float(f1_score(y[test], predicted, average="macro")))
        accuracy.append(float(accuracy_score(y[test], predicted)))
    return OutOfFold(scores, short_scores, tuple(macro), tuple(accuracy))


@dataclass(frozen=True)
class CalibrationSet:
    """Out-of-fold scores of full and shortened messages, pooled, with lengths and labels."""

    scores: FloatArray
    lengths: list[int]
    labels: list[str]
    groups: list[str]
    is_short: np.ndarray[Any, np.dtype[np.bool_]]

    @classmethod
    def pool(
        cls, oof: OutOfFold, messages: Sequence[Tokens], labelled: LabelledMessages
    ) -> CalibrationSet:
        full_lengths = [len(tokens) for tokens in messages]
        short_lengths = [min(length, SHORT_TOKENS) for length in full_lengths]
        count = len(messages)
        return cls(
            scores=np.vstack([oof.scores, oof.short_scores]),
            lengths=full_lengths + short_lengths,
            labels=list(labelled.labels) * 2,
            groups=list(labelled.groups) * 2,
            is_short=np.repeat([False, True], count),
        )


def calibrated_out_of_fold_f1(
    pool: CalibrationSet, settings: TrainingSettings
) -> dict[str, list[float]]:
    """Macro-F1 per fold of the calibrated decision, calibrator fitted out of fold.

    Folds keep a message and its shortened copy (and near-duplicates) together.
    """
    y = np.asarray(pool.labels)
    folds = StratifiedGroupKFold(
        n_splits=settings.cv_folds, shuffle=True, random_state=settings.seed + 1
    )
    result: dict[str, list[float]] = {"full": [], "short": []}
    for train, test in folds.split(pool.scores, y, np.asarray(pool.groups)):
        calibrator = DemandCalibrator().fit(
            pool.scores[train], [pool.lengths[i] for i in train], y[train]
        )
        predicted = np.asarray(
            calibrator.predict(pool.scores[test], [pool.lengths[i] for i in test])
        )
        for name, mask in (("full", ~pool.is_short[test]), ("short", pool.is_short[test])):
            result[name].append(float(f1_score(y[test][mask], predicted[mask], average="macro")))
    return result


def model_version(settings: TrainingSettings, messages: LabelledMessages) -> str:
    described = {**asdict(settings), "artifact_format": ARTIFACT_FORMAT}
    digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode())
    for text, label in zip(messages.texts, messages.labels, strict=True):
        digest.update(label.encode())
        digest.update(text.encode())
    return f"{datetime.now(UTC):%Y%m%d}-{digest.hexdigest()[:8]}"


def _shown(items: Iterable[_T], what: str, unit: str, total: int, progress: bool
           ) -> Iterator[_T]:
    """The items, with a progress bar (rate, time left) on a terminal; nothing elsewhere."""
    yield from tqdm(items, desc=what, unit=unit, total=total, file=sys.stderr,
                    disable=not (progress and sys.stderr.isatty()))


def train_classifier(
    messages: LabelledMessages,
    settings: TrainingSettings = TrainingSettings(),
    stop_words: Sequence[str] = (),
    progress: bool = False,
) -> DemandClassifier:
    """Cross-validate, calibrate and choose thresholds out of fold, then fit on everything.
    `progress` shows the tokenising and the folds on a terminal (stderr)."""
    if settings.cv_folds < 2:
        raise TrainingDataError("cross-validation needs at least 2 folds to set thresholds")
    categories = tuple(sorted(set(messages.labels)))
    if len(categories) < 2:
        raise TrainingDataError("training data needs at least two distinct labels")
    started = time.perf_counter()
    tokenizer = DemandTokenizer(stop_words)
    tokenised = [tokenizer.tokens(text) for text in _shown(
        messages.texts, "tokenising", "messages", len(messages.texts), progress)]
    oof = out_of_fold_scores(tokenised, messages.labels, messages.groups, categories, settings,
                             progress)
    pool = CalibrationSet.pool(oof, tokenised, messages)
    calibrated_f1 = calibrated_out_of_fold_f1(pool, settings)
    calibrator = DemandCalibrator().fit(pool.scores, pool.lengths, pool.labels)
    # label order inside the calibrator is sorted, like `categories`, so columns line up
    probabilities = calibrator.predict_proba(pool.scores, pool.lengths)
    # thresholds must hold for short call summaries as well as long written messages
    thresholds, threshold_report = choose_thresholds(
        probabilities, pool.labels, categories, settings.target_precision
    )
    threshold_report["by_length"] = {
        name: dispatch_outcome(
            probabilities[mask], np.asarray(pool.labels)[mask], categories, thresholds
        )
        for name, mask in (("full", ~pool.is_short), ("short", pool.is_short))
    }
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
        "cv_calibrated_macro_f1_mean": float(np.mean(calibrated_f1["full"])),
        "cv_calibrated_macro_f1_sd": float(np.std(calibrated_f1["full"])),
        "cv_short_text_macro_f1_mean": float(np.mean(calibrated_f1["short"])),
        "cv_short_text_macro_f1_sd": float(np.std(calibrated_f1["short"])),
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
