"""The demand classifier (诉求分类): raw message text in, first-level category out.

A trained `DemandClassifier` is read-only: `predict` touches no shared mutable state, so
one instance may serve several executor threads at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from classifiers.artifacts import load_artifact, save_artifact
from classifiers.errors import ModelArtifactError
from classifiers.features import DemandFeatures
from classifiers.own_features import trusted_features
from classifiers.tokenise import DemandTokenizer, content_words

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL_PATH = MODELS_DIR / "demand_classifier.joblib"
ARTIFACT_FORMAT = 3  # bump when the pickled classes change shape
TOP_K = 3

FloatArray = npt.NDArray[np.float64]


class Scorer(Protocol):
    """A fitted linear model (or ensemble) giving one score per category."""

    def decision_function(self, features: sp.csr_matrix) -> FloatArray: ...


class Calibrator(Protocol):
    """Maps category scores (and message length in tokens) to probabilities."""

    def predict_proba(self, scores: FloatArray, lengths: Sequence[int]) -> FloatArray: ...


@dataclass(frozen=True)
class Prediction:
    category: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    model_version: str
    # words that say what the call is about: the model's tokens less the caller's openers
    # and politeness ("我想咨询一下" has none); a fragment can still score high, so routing
    # sends a call with too few of them to a person whatever the confidence
    content_tokens: int = 0


@dataclass
class DemandClassifier:
    """Tokeniser + features + scorer + calibrator, with per-category dispatch thresholds.

    `thresholds` are data fitted in training (one per category); whether a prediction is
    dispatched automatically is the router's decision, which may override them.
    """

    tokenizer: DemandTokenizer
    features: DemandFeatures
    scorer: Scorer
    calibrator: Calibrator
    categories: tuple[str, ...]
    thresholds: Mapping[str, float]
    model_version: str
    training_report: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only view: callers must not tune thresholds on a shared instance.
        self.thresholds = MappingProxyType(dict(self.thresholds))

    @classmethod
    def load(cls, path: str | Path | None = None) -> DemandClassifier:
        artifact_path = Path(path) if path is not None else DEFAULT_MODEL_PATH
        model = load_artifact(artifact_path, ARTIFACT_FORMAT, "demand classifier artifact")
        if not isinstance(model, cls):
            raise ModelArtifactError(f"{artifact_path}: artifact holds {type(model).__name__}")
        return model

    def save(self, path: str | Path) -> Path:
        return save_artifact(self, path, ARTIFACT_FORMAT)

    def __getstate__(self) -> dict[str, Any]:
        # MappingProxyType does not pickle; store thresholds as a plain dict
        return {**self.__dict__, "thresholds": dict(self.thresholds)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.thresholds = MappingProxyType(dict(self.thresholds))

    def tokenise(self, texts: Sequence[str]) -> list[list[str]]:
        return [self.tokenizer.tokens(text) for text in texts]

    def predict_proba(self, texts: Sequence[str]) -> FloatArray:
        """Calibrated probabilities, columns in `categories` order."""
        return self._probabilities(self.tokenise(texts))

    def _probabilities(self, tokenised: list[list[str]]) -> FloatArray:
        with trusted_features():
            scores = self.scorer.decision_function(self.features.transform(tokenised))
            return self.calibrator.predict_proba(scores, [len(tokens) for tokens in tokenised])

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        tokenised = self.tokenise(texts)
        probabilities = self._probabilities(tokenised)
        top = np.argsort(-probabilities, axis=1)[:, :TOP_K]
        # plain Python lists: indexing numpy scalars one by one costs more than the model
        top_probabilities = np.take_along_axis(probabilities, top, axis=1).tolist()
        names = self.categories
        predictions = []
        rows = zip(top.tolist(), top_probabilities, tokenised, strict=True)
        for order, row, tokens in rows:
            alternatives = tuple(zip([names[i] for i in order], row, strict=True))
            predictions.append(
                Prediction(names[order[0]], row[0], alternatives, self.model_version,
                           content_words(tokens))
            )
        return predictions
