"""A tiny demand classifier trained on sentences written for these tests (no real data)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from classifiers import DemandClassifier
from classifiers.training import TrainingSettings, train_classifier
from tests.classifiers.written_corpus import written_messages


@pytest.fixture(scope="session")
def tiny_settings() -> TrainingSettings:
    return replace(TrainingSettings(), cv_folds=3, min_df=2)


@pytest.fixture(scope="session")
def tiny_classifier(tiny_settings: TrainingSettings) -> DemandClassifier:
    return train_classifier(written_messages(), tiny_settings, stop_words=["的", "了", "您好"])


@pytest.fixture(scope="session")
def tiny_artifact(
    tiny_classifier: DemandClassifier, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return tiny_classifier.save(tmp_path_factory.mktemp("model") / "demand.joblib")
