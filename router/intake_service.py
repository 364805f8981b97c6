"""The intake use case: turn validated calls into tickets, once each (接诉即办).

Synchronous on purpose: it runs in a worker thread so the classifier and the database never
stall the stream's event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from router.config_files import RouterConfig
from router.domain.calls import CallRecord
from router.domain.catalogue import CatalogueMatch
from router.domain.outbox import messages_for
from router.domain.routing import RoutingDecision, RoutingRequest
from router.domain.tickets import Ticket, initial_status, ticket_id_for
from router.ports import (
    ClassifierLike,
    Handover,
    NewTicketStore,
    PredictionLike,
    UrgencyLike,
    UrgencyRulesLike,
)


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the machine makes of one demand, before anything is stored."""

    prediction: PredictionLike
    urgency: UrgencyLike
    area: str | None
    threshold: float
    decision: RoutingDecision
    category: str  # the agent's choice where one was made, else the item's or the model's
    named: CatalogueMatch | None = None  # the catalogue item the text names


@dataclass(frozen=True, slots=True)
class CallOutcome:
    ticket: Ticket
    created: bool  # False: the call id already had a ticket (replay or duplicate)
    # The call id already names a ticket of another call: not a replay, a clash of ids.
    conflict: bool = False


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CallAssessor:
    """Classify, grade urgency and route calls in a batch; stores nothing.

    Intake, the agents' suggestions and the offline evaluation share it, so what is
    suggested and measured is what intake does.
    """

    def __init__(self, config: RouterConfig, classifier: ClassifierLike,
                 urgency_rules: UrgencyRulesLike,
                 normalise: Callable[[str], str] = lambda text: text) -> None:
        self._config = config
        # the catalogue's terms are simplified Chinese in half width: match the text so folded
        self._normalise = normalise
        self._classifier = classifier
        # The one place the auto-dispatch threshold is decided: configured overrides, then
        # the model's fitted per-category thresholds, then the configured default.
        self._triage = config.triage.policy(classifier.thresholds)
        self._urgency = urgency_rules

    def assess(self, calls: Sequence[CallRecord]) -> list[Assessment]:
        texts = [call.text for call in calls]
        predictions = self._classifier.predict(texts)
        urgencies = self._urgency.assess_batch(texts)
        return [self._assess_one(call, prediction, urgency) for call, prediction, urgency in zip(
            calls, predictions, urgencies, strict=True)]

    def _assess_one(self, call: CallRecord, prediction: PredictionLike, urgency: UrgencyLike
                    ) -> Assessment:
        routing = self._config.routing
        area = call.area if call.area in routing.areas else routing.resolve_area(
            call.place_text, call.text)
        override = call.override
        chosen = override.category if override and override.category else None
        named = self._config.catalogue.find(self._normalise(call.text))
        category = chosen or (named.item.category if named else prediction.category)
        threshold = self._triage.threshold_for(prediction.category)
        decision = routing.decide(RoutingRequest(
            hotline=call.hotline, channel=call.channel.value, category=category,
            confidence=prediction.confidence, auto_dispatch_threshold=threshold,
            urgency=str(urgency.urgency), emergency_service=urgency.emergency_service,
            area=area, category_overridden=chosen is not None,
            unit_override=override.unit if override else None,
            content_words=prediction.content_tokens,
            min_content_words=self._triage.min_content_words,
            danger_signals=urgency.danger_signals, catalogue=named,
        ))
        return Assessment(prediction, urgency, area, threshold, decision, category, named)


class IntakeService:
    def __init__(self, config: RouterConfig, classifier: ClassifierLike,
                 urgency_rules: UrgencyRulesLike, repository: NewTicketStore,
                 clock: Callable[[], datetime] = _utcnow,
                 handover: Handover = lambda _messages: None,
                 normalise: Callable[[str], str] = lambda text: text) -> None:
        self._assessor = CallAssessor(config, classifier, urgency_rules, normalise)
        self._sla = config.sla.policy
        self._repository = repository
        self._clock = clock
        self._handover = handover

    def assess(self, calls: Sequence[CallRecord]) -> list[Assessment]:
        """Classify, grade urgency and route, in one batch; stores nothing."""
        return self._assessor.assess(calls)

    def record(self, calls: Sequence[CallRecord],
               observe: Callable[[str, float], None] = lambda _stage, _seconds: None,
               ) -> list[CallOutcome]:
        """A ticket for each call, creating only those whose call id is new.

        `observe(stage, seconds)` hears how long classification and persistence took.
        """
        started = time.perf_counter()
        unique: dict[str, CallRecord] = {}
        for call in calls:
            unique.setdefault(call.call_id, call)
        existing = self._repository.find_by_call_ids(unique)
        new_calls = [call for call_id, call in unique.items() if call_id not in existing]
        now = self._clock()
        classify_started = time.perf_counter()
        changes = [self._ticket(call, assessment, now).open(self._sla) for call, assessment in zip(
            new_calls, self.assess(new_calls), strict=True)]
        new_tickets = [change.ticket for change in changes]
        classify_seconds = time.perf_counter() - classify_started
        observe("classify", classify_seconds)
        # The tickets, their `created` events and what they must tell the outside world
        # (queue entry or transfer, announcement) in one transaction: the outbox.
        messages = messages_for(changes)
        created = self._repository.create(changes, messages)
        lost_races = [t.call_id for t in new_tickets if t.call_id not in created]
        existing.update(self._repository.find_by_call_ids(lost_races))
        fresh = {t.call_id: t for t in new_tickets if t.call_id in created}
        if fresh:
            created_ids = {t.ticket_id for t in fresh.values()}
            self._handover([m for m in messages if m.ticket_id in created_ids])
        outcomes = []
        for call in calls:  # one outcome per input record; only a call's first is "created"
            ticket = fresh.pop(call.call_id, None)
            if ticket is not None:
                existing[call.call_id] = ticket
                outcomes.append(CallOutcome(ticket, created=True))
            else:
                known = existing[call.call_id]
                outcomes.append(CallOutcome(known, created=False,
                                            conflict=not known.is_same_call(call)))
        observe("persist", time.perf_counter() - started - classify_seconds)
        return outcomes

    def _ticket(self, call: CallRecord, assessment: Assessment, now: datetime) -> Ticket:
        decision, prediction, urgency = (assessment.decision, assessment.prediction,
                                         assessment.urgency)
        reason = decision.reason
        if urgency.matched_rule:
            reason += f"; urgency {urgency.urgency} by {urgency.matched_rule}"
            if urgency.matched_terms:
                reason += f" ({'/'.join(urgency.matched_terms)})"
        if urgency.line_note:
            reason += f"; {urgency.line_note}"
        return Ticket(
            ticket_id=ticket_id_for(call.call_id), call_id=call.call_id, hotline=call.hotline,
            channel=call.channel.value, received_at=call.received_at, created_at=now,
            text=call.text, caller_contact=call.caller_contact, place_text=call.place_text,
            area=assessment.area, category=assessment.category,
            confidence=round(float(prediction.confidence), 4),
            suggested_category=prediction.category, model_version=prediction.model_version,
            urgency=str(urgency.urgency),
            emergency_service=decision.emergency_service or urgency.emergency_service,
            disposition=decision.disposition, unit=decision.unit, rule_id=decision.rule_id,
            route_reason=reason, status=initial_status(decision.disposition),
            override_agent_id=call.override.agent_id if call.override else None,
            raw_payload=call.raw_payload,
        )
