"""What the services need from the classifier, described structurally (no import of it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class PredictionLike(Protocol):
    @property
    def category(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def alternatives(self) -> tuple[tuple[str, float], ...]: ...
    @property
    def model_version(self) -> str: ...


class ClassifierLike(Protocol):
    @property
    def model_version(self) -> str: ...
    @property
    def thresholds(self) -> Mapping[str, float]: ...
    def predict(self, texts: Sequence[str]) -> Sequence[PredictionLike]: ...


class UrgencyLike(Protocol):
    @property
    def urgency(self) -> str: ...
    @property
    def emergency_service(self) -> str | None: ...
    @property
    def matched_rule(self) -> str | None: ...
    @property
    def matched_terms(self) -> tuple[str, ...]: ...


class UrgencyRulesLike(Protocol):
    def assess(self, text: str) -> UrgencyLike: ...
