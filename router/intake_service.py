"""The intake use case: turn validated calls into tickets, once each (接诉即办).

Synchronous on purpose: it runs in a worker thread so the classifier and the database never
stall the stream's event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from router.config_files import RouterConfig
from router.domain.calls import CallRecord, caller_key
from router.domain.catalogue import CatalogueMatch
from router.domain.hotspots import (
    PROACTIVE_CHANNEL,
    KeyChange,
    Report,
    SurgeChange,
    proactive_call_id,
    proactive_text,
)
from router.domain.outbox import messages_for
from router.domain.routing import Disposition, RoutingDecision, RoutingRequest
from router.domain.sla import SlaPolicy
from router.domain.tickets import Ticket, TicketChange, initial_status, ticket_id_for
from router.ports import (
    ClassifierLike,
    Handover,
    NewTicketStore,
    PredictionLike,
    RepeatCall,
    SurgeCounter,
    UrgencyLike,
    UrgencyRulesLike,
)

log = logging.getLogger(__name__)

# How often a worker looks for raised hotspots whose proactive ticket was never opened (and
# first at its first batch): the raise and the ticket are two transactions.
PROACTIVE_CATCH_UP_SECONDS = 60.0


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
    repeat: bool = False  # 催办: counted on `ticket`, an open ticket of the same caller
    incident: bool = False  # counted on `ticket`, the lead of an open incident of its area


@dataclass(slots=True)
class _Created:
    created: dict[str, Ticket]  # call id → its new ticket
    counted: set[str]  # call ids counted as repeats
    attached: dict[str, str]  # call id → lead ticket of the incident it was counted on


def _same_text(first: str, second: str) -> float:
    return 1.0 if first == second else 0.0


def _counter(call: CallRecord, now: datetime, policy: SlaPolicy
             ) -> Callable[[Ticket], TicketChange]:
    def count(ticket: Ticket) -> TicketChange:
        return ticket.record_repeat(call.call_id, call.channel.value, call.received_at, now,
                                    policy)
    return count


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
                 normalise: Callable[[str], str] = lambda text: text,
                 similarity: Callable[[str, str], float] = _same_text,
                 surges: SurgeCounter | None = None,
                 on_surge: Callable[[Sequence[KeyChange]], None] = lambda _changes: None,
                 origin: str = "hotline-router") -> None:
        self._assessor = CallAssessor(config, classifier, urgency_rules, normalise)
        self._routing = config.routing
        self._origin = origin
        self._sla = config.sla.policy
        self._repeat_policy = config.repeats
        self._similarity = similarity
        self._surges = surges
        self._proactive_due = 0.0  # monotonic time of the next look for missed ones
        self._on_surge = on_surge
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
        now = self._clock()
        # the callers' open tickets are looked up for every call, not only the new ones: it
        # saves a second look, and a replayed call's key adds only tickets no one asks for
        seen = self._repository.known_calls(
            unique, {key for call in unique.values()
                     if (key := caller_key(call.caller_contact)) is not None},
            now - self._repeat_policy.window)
        existing, reported = seen.tickets, seen.reported
        new_calls = [call for call_id, call in unique.items()
                     if call_id not in existing and call_id not in reported]
        classify_started = time.perf_counter()
        proposed = [self._ticket(call, assessment, now) for call, assessment in zip(
            new_calls, self.assess(new_calls), strict=True)]
        classify_seconds = time.perf_counter() - classify_started
        observe("classify", classify_seconds)
        repeats, first_calls = self._repeats(new_calls, proposed, now, seen.open_by_caller)
        fresh = self._create(first_calls, repeats)
        refused = [r for r in repeats if r.call.call_id not in fresh.counted]
        if refused:  # their tickets closed meanwhile: they are new demands after all
            by_call = dict(zip((c.call_id for c in new_calls), proposed, strict=True))
            again = self._create([by_call[r.call.call_id] for r in refused], [])
            fresh.created.update(again.created)
            fresh.attached.update(again.attached)
        lost_races = [t.call_id for t in proposed if t.call_id not in fresh.created
                      and t.call_id not in fresh.counted and t.call_id not in fresh.attached]
        existing.update(self._repository.find_by_call_ids(lost_races))
        counted_on = {r.call.call_id: r.ticket_id for r in repeats
                      if r.call.call_id in fresh.counted}
        counted_on.update(fresh.attached)
        holders = {t.ticket_id: t for t in self._repository.get_many(
            sorted({*counted_on.values(), *(r.ticket_id for r in reported.values())}))}
        outcomes = []
        answered: set[str] = set()
        for call in calls:  # one outcome per input record; only a call's first is "created"
            first_time = call.call_id not in answered
            answered.add(call.call_id)
            ticket = fresh.created.pop(call.call_id, None)
            if ticket is not None:
                existing[call.call_id] = ticket
                outcomes.append(CallOutcome(ticket, created=True))
            elif call.call_id in counted_on or call.call_id in reported:
                # counted on another ticket, now or before: compare with what was counted
                kept = reported.get(call.call_id)
                text, hotline = (kept.text, kept.hotline) if kept else (
                    unique[call.call_id].text, unique[call.call_id].hotline)
                holder = holders[counted_on.get(call.call_id) or (kept.ticket_id if kept
                                                                   else "")]
                new_report = first_time and kept is None
                attached = call.call_id in fresh.attached
                outcomes.append(CallOutcome(
                    holder, created=False, repeat=new_report and not attached,
                    incident=new_report and attached,
                    conflict=(call.hotline, call.text) != (hotline, text)))
            else:
                known = existing[call.call_id]
                outcomes.append(CallOutcome(known, created=False,
                                            conflict=not known.is_same_call(call)))
        observe("persist", time.perf_counter() - started - classify_seconds)
        self._count_surges([(o, call) for o, call in zip(outcomes, calls, strict=True)
                            if (o.created or o.repeat or o.incident)
                            and unique[call.call_id] is call])
        return outcomes

    def _count_surges(self, counted: Sequence[tuple[CallOutcome, CallRecord]]) -> None:
        """未诉先办: every new report (a ticket made or a repeat counted) goes to its
        category × area's surge detector, in the call's own time. Derived state: a failure
        here is logged and never holds up intake."""
        if self._surges is None:
            return
        self._catch_up_proactive()
        if not counted:
            return
        reports = [Report(outcome.ticket.category, outcome.ticket.area, call.received_at)
                   for outcome, call in counted if outcome.ticket.area is not None]
        try:
            changes = self._surges.count(reports)
        except Exception:
            log.exception("surges not counted for a batch of %d reports", len(reports))
            return
        if changes:
            self._on_surge(changes)
            self._open_proactive([c for c in changes if c.change.raised is not None])

    def _catch_up_proactive(self) -> None:
        """A worker killed between committing a raise and opening its ticket left a hotspot
        without one: now and then each active hotspot's ticket is opened if it is missing
        (its call id names the surge, so an existing one, even closed, is left alone)."""
        if self._surges is None or time.monotonic() < self._proactive_due:
            return
        self._proactive_due = time.monotonic() + PROACTIVE_CATCH_UP_SECONDS
        try:
            by_call = {proactive_call_id(self._origin, change): change for change in (
                KeyChange(s.category, s.area, SurgeChange(raised=s.surge))
                for s in self._surges.active())}
            have = self._repository.find_by_call_ids(by_call)
        except Exception:
            log.exception("raised hotspots not checked for their proactive tickets")
            return
        missing = [change for call_id, change in by_call.items() if call_id not in have]
        if missing:
            log.warning("opening the proactive tickets of %d raised hotspots that had none",
                        len(missing))
            self._open_proactive(missing)

    def _open_proactive(self, raised: Sequence[KeyChange]) -> None:
        """未诉先办: a raised hotspot becomes a ticket to the unit responsible for its category
        in its area, before more people call. One per surge whichever worker raised it (its
        call id names the surge); a failure is logged and never holds up intake."""
        if not raised:
            return
        now = self._clock()
        window = self._surges.policy.window if self._surges else timedelta(minutes=10)
        tickets = []
        for change in raised:
            surge = change.change.raised
            assert surge is not None
            area = self._routing.areas.get(change.area)
            decision = self._routing.decide(RoutingRequest(
                hotline="12345", channel=PROACTIVE_CHANNEL, category=change.category,
                confidence=1.0, auto_dispatch_threshold=0.0, urgency="24h", area=change.area,
                category_overridden=True))
            call_id = proactive_call_id(self._origin, change)
            tickets.append(Ticket(
                ticket_id=ticket_id_for(call_id), call_id=call_id, hotline="12345",
                channel=PROACTIVE_CHANNEL, received_at=surge.raised_at, created_at=now,
                text=proactive_text(change, area.name if area else change.area, window),
                caller_contact=None, place_text=None, area=change.area,
                category=change.category, confidence=1.0, suggested_category=change.category,
                model_version="hotspot", urgency="24h", emergency_service=None,
                disposition=decision.disposition, unit=decision.unit, rule_id=decision.rule_id,
                route_reason=f"未诉先办 hotspot; {decision.reason}",
                status=initial_status(decision.disposition),
                raw_payload={"hotspot": {"reports": surge.reports, "expected": surge.expected,
                                         "tail_probability": surge.tail_probability}}))
        try:
            self._create(tickets, [])
        except Exception:
            log.exception("proactive tickets not opened for %d hotspots", len(tickets))

    def _create(self, tickets: Sequence[Ticket], repeats: Sequence[RepeatCall]) -> _Created:
        """The tickets, their `created` events and what they must tell the outside world
        (queue entry or transfer, announcement), and the repeats counted on their tickets,
        in one transaction: the outbox."""
        changes = [ticket.open(self._sla) for ticket in tickets]
        messages = messages_for(changes)
        done = self._repository.create_placed(changes, messages, repeats)
        fresh = {c.ticket.call_id: c.ticket for c in changes if c.ticket.call_id in done.created}
        if fresh:
            created_ids = {t.ticket_id for t in fresh.values()}
            self._handover([m for m in messages if m.ticket_id in created_ids])
        return _Created(fresh, {r.call.call_id for r in repeats
                                if r.call.call_id in done.counted}, dict(done.attached))

    def _repeats(self, calls: Sequence[CallRecord], proposed: Sequence[Ticket], now: datetime,
                 open_by_caller: Mapping[str, list[Ticket]]
                 ) -> tuple[list[RepeatCall], list[Ticket]]:
        """催办: which calls count on an open ticket of the same caller (`open_by_caller`:
        those of the repeat window), about the same category and similar enough; the rest
        make tickets. Never an emergency, a transfer or an agent's explicit choice."""
        policy = self._repeat_policy
        candidates = {key: list(found) for key, found in open_by_caller.items()}
        repeats: list[RepeatCall] = []
        first: list[Ticket] = []
        for call, ticket in zip(calls, proposed, strict=True):
            eligible = (ticket.caller_key is not None and call.override is None
                        and ticket.disposition is not Disposition.TRANSFERRED
                        and ticket.urgency != "emergency")
            best: tuple[float, Ticket] | None = None
            if eligible:
                for earlier in candidates.get(ticket.caller_key or "", []):
                    if earlier.category != ticket.category:
                        continue
                    score = self._similarity(call.text, earlier.text)
                    if score >= policy.min_similarity and (best is None or score > best[0]):
                        best = (score, earlier)
            if best is None:
                first.append(ticket)
                if eligible:  # a later call of this batch may repeat it
                    candidates.setdefault(ticket.caller_key or "", []).append(ticket)
                continue
            repeats.append(RepeatCall(call, best[1].ticket_id, best[0], _counter(call, now,
                                                                                 self._sla)))
        return repeats, first

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
            raw_payload=call.raw_payload, caller_key=caller_key(call.caller_contact),
        )
