"""What the services need from the classifier and the ticket store, described structurally."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from router.domain.tickets import Ticket


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


class TicketStore(Protocol):
    def find_by_call_ids(self, call_ids: Iterable[str]) -> dict[str, Ticket]: ...
    def create(self, new_tickets: Sequence[Ticket]) -> set[str]: ...
