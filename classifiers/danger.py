"""The danger model: how likely a short call summary is an emergency no rule recognised.

A logistic regression over character 1–2-grams of the normalised text, trained on the written
development calls (`tests/data/spoken_calls/dev.jsonl`) and, as ordinary demands, the titles
of real citizen messages (short, like a summary; no emergency among them). Characters, not
words, because the summaries are short, colloquial and partly traditional, and jieba splits
rare phrasings unpredictably. It never transfers a call by itself: it stands behind the
rules, and a call it finds likely dangerous goes to a dispatcher first (`possible_emergency`)
instead of straight to a unit. `explain` names the n-grams that pushed the score up, so the
reason can be read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from classifiers.artifacts import load_artifact, save_artifact
from classifiers.errors import ModelArtifactError
from classifiers.own_features import trusted_features
from classifiers.text import normalise_text

# How an agent opens a summary says nothing about danger, but the written calls open this way
# far more often than the web posts used as ordinary demands: left in, the model would learn
# the agent's style instead of the caller's situation.
_OPENER = re.compile(
    r"^(?:市民|来电人?|来电市民|来电者|居民)(?:来电)?(?:人)?(?:称|说|反映|表示|讲)?[,:，：]?")


# Punctuation and digits say how a text was written (a web title has no commas, an agent's
# summary has several), not what happened: only letters and ideographs are kept.
_NOT_A_WORD_CHARACTER = re.compile(r"[^\w]|[\d_]")


def _features_text(text: str) -> str:
    return _NOT_A_WORD_CHARACTER.sub("", _OPENER.sub("", normalise_text(text)))

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_DANGER_MODEL_PATH = MODELS_DIR / "danger_model.joblib"
ARTIFACT_FORMAT = 1
NOT_EMERGENCY = "none"


@dataclass(frozen=True, slots=True)
class DangerScore:
    emergency: float  # P(any emergency line)
    lines: dict[str, float]  # P(line) for each emergency line

    def likeliest_line(self) -> str | None:
        return max(self.lines, key=self.lines.__getitem__) if self.lines else None


@dataclass
class DangerModel:
    c: float = 10.0
    # Unweighted classes: with balanced weights the few written emergencies outweigh the
    # thousands of ordinary demands and a quarter more of ordinary calls land in the net.
    balanced: bool = False
    # n-grams seen in fewer documents than this are dropped: no rare name rides along
    vectoriser: TfidfVectorizer = field(default_factory=lambda: TfidfVectorizer(
        analyzer="char", ngram_range=(1, 2), sublinear_tf=True, min_df=3))
    model: LogisticRegression | None = None
    report: dict[str, Any] = field(default_factory=dict)

    def fit(self, texts: Sequence[str], lines: Sequence[str | None]) -> DangerModel:
        """`lines`: the emergency line of each text, or None when it is no emergency."""
        features = self.vectoriser.fit_transform([_features_text(text) for text in texts])
        labels = np.asarray([line or NOT_EMERGENCY for line in lines])
        self.model = LogisticRegression(C=self.c, max_iter=3000,
                                        class_weight="balanced" if self.balanced else None)
        self.model.fit(features, labels)
        return self

    def emergency_probability(self, texts: Sequence[str]) -> list[float]:
        """P(any emergency line) per text."""
        return [score.emergency for score in self.scores(texts)]

    def scores(self, texts: Sequence[str]) -> list[DangerScore]:
        if self.model is None:
            raise ModelArtifactError("danger model is not trained")
        if not texts:
            return []
        with trusted_features():
            features = self.vectoriser.transform([_features_text(text) for text in texts])
            probabilities = self.model.predict_proba(features)
        classes = [str(name) for name in self.model.classes_]
        none_column = classes.index(NOT_EMERGENCY)
        lines = [(index, name) for index, name in enumerate(classes) if index != none_column]
        return [DangerScore(round(1.0 - float(row[none_column]), 4),
                            {name: float(row[index]) for index, name in lines})
                for row in probabilities.tolist()]

    def explain(self, text: str, top: int = 3) -> tuple[str, ...]:
        """The character pairs of `text` that raise its emergency score most."""
        if self.model is None:
            return ()
        row = self.vectoriser.transform([_features_text(text)])
        none_column = list(self.model.classes_).index(NOT_EMERGENCY)
        # against "none": a positive weight there lowers the emergency score
        weights = -self.model.coef_[none_column]
        names = self._feature_names()
        # two-character n-grams only: a lone 了 or 里 weighs in but explains nothing
        scored = sorted(((float(weights[j] * value), str(names[j]))
                         for j, value in zip(row.indices, row.data, strict=True)
                         if len(names[j]) > 1), reverse=True)
        return tuple(name for score, name in scored[:top] if score > 0)

    def _feature_names(self) -> list[str]:
        # built once: the vectoriser makes a new array of every feature name on each call
        names: list[str] | None = self.__dict__.get("_names")
        if names is None:
            names = [str(name) for name in self.vectoriser.get_feature_names_out()]
            self.__dict__["_names"] = names
        return names

    def __getstate__(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "_names"}

    def save(self, path: str | Path) -> Path:
        return save_artifact(self, path, ARTIFACT_FORMAT)

    @classmethod
    def load(cls, path: str | Path | None = None) -> DangerModel:
        artifact = Path(path) if path is not None else DEFAULT_DANGER_MODEL_PATH
        model = load_artifact(artifact, ARTIFACT_FORMAT, "danger model")
        if not isinstance(model, cls) or model.model is None:
            raise ModelArtifactError(f"{artifact}: holds no trained danger model")
        return model
