"""The ticket (工单) as an aggregate: every change is a method that checks the transition,
returns the domain events it causes and bumps the version used for optimistic concurrency.

Nothing here does I/O. A change is saved as one unit (ticket row, events, outbox entries) by
the ticket store, conditional on the version the change started from.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from router.domain.calls import CallRecord
from router.domain.errors import InvalidTransition, NotYourTicket
from router.domain.routing import Disposition, Unit, UnitKind


class TicketStatus(StrEnum):
    DISPATCHED = "dispatched"  # 已派单: waiting in the unit's queue
    AWAITING_TRIAGE = "awaiting_triage"  # 待人工分拨
    TRANSFERRED = "transferred"  # 已转 110/119/120/122
    CLAIMED = "claimed"  # 已签收 by someone in the unit


_ALLOWED: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.AWAITING_TRIAGE: frozenset(
        {TicketStatus.DISPATCHED, TicketStatus.TRANSFERRED, TicketStatus.CLAIMED}
    ),
    TicketStatus.DISPATCHED: frozenset({TicketStatus.CLAIMED}),
    # a dispatcher who claimed a triage ticket then sends it on (see Ticket.dispatch_manually)
    TicketStatus.CLAIMED: frozenset({TicketStatus.DISPATCHED, TicketStatus.TRANSFERRED}),
    TicketStatus.TRANSFERRED: frozenset(),
}


class EventKind(StrEnum):
    """What happened to a ticket; one audit-trail entry and one `ticket.<kind>` message each."""

    CREATED = "created"
    DISPATCHED = "dispatched"  # sent on to a unit by a dispatcher
    TRANSFERRED = "transferred"  # sent on to an emergency line by a dispatcher
    CLAIMED = "claimed"  # 签收


def initial_status(disposition: Disposition) -> TicketStatus:
    return {
        Disposition.DISPATCHED: TicketStatus.DISPATCHED,
        Disposition.TRIAGE: TicketStatus.AWAITING_TRIAGE,
        Disposition.TRANSFERRED: TicketStatus.TRANSFERRED,
    }[disposition]


def check_transition(current: TicketStatus, target: TicketStatus) -> TicketStatus:
    """`target`, if a ticket in `current` may move there; otherwise InvalidTransition."""
    if target not in _ALLOWED[current]:
        raise InvalidTransition(f"a ticket that is {current} cannot become {target}",
                                current=current.value)
    return target


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One entry of a ticket's audit trail. `event_id` is derived from the ticket, the version
    the event produced and its place in the change, so saving a change twice is detectable."""

    event_id: str
    ticket_id: str
    version: int
    kind: EventKind
    actor: str | None
    occurred_at: datetime  # timezone-aware
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Ticket:
    """A work order, created from one call and changed only through its methods."""

    ticket_id: str
    call_id: str
    hotline: str
    channel: str
    received_at: datetime
    created_at: datetime
    text: str
    caller_contact: str | None
    place_text: str | None
    area: str | None
    category: str
    confidence: float
    suggested_category: str
    model_version: str
    urgency: str
    emergency_service: str | None
    disposition: Disposition
    unit: str
    rule_id: str
    route_reason: str
    status: TicketStatus
    override_agent_id: str | None = None
    raw_payload: Mapping[str, Any] = field(default_factory=dict)
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0  # 0 until the ticket is first saved

    def is_same_call(self, call: CallRecord) -> bool:
        """Whether `call` is this ticket's own call sent again (a replay or a retry), rather
        than another call that reuses its id: the same hotline and demand, and no other
        caller or place. A retry may leave out what it sent before; the receipt time is not
        compared (a desk retry without one is stamped anew)."""
        def restated(sent: str | None, kept: str | None) -> bool:
            return sent is None or sent == kept

        return ((call.call_id, call.hotline, call.text) == (self.call_id, self.hotline, self.text)
                and restated(call.caller_contact, self.caller_contact)
                and restated(call.place_text, self.place_text))

    def open(self, actor: str | None = None) -> TicketChange:
        """The change that brings this ticket into being (version 1, one `created` event)."""
        if self.version != 0:
            raise InvalidTransition(f"ticket {self.ticket_id} exists already",
                                    current=self.status.value)
        opened = dataclasses.replace(self, version=1, updated_at=self.created_at)
        return opened._change(self, actor or self.override_agent_id, self.created_at, [
            (EventKind.CREATED, {
                "disposition": self.disposition.value, "unit": self.unit,
                "rule_id": self.rule_id, "reason": self.route_reason,
                "category": self.category, "confidence": self.confidence,
                "suggested_category": self.suggested_category,
                "model_version": self.model_version, "urgency": self.urgency,
                "emergency_service": self.emergency_service})])

    def dispatch_manually(self, unit: Unit, category: str | None, dispatcher: str, at: datetime,
                          emergency_service: str | None = None) -> TicketChange:
        """人工分拨: a dispatcher sends a ticket the machine was unsure of to a unit, or to an
        emergency line (then `emergency_service` names the line)."""
        if self.disposition is not Disposition.TRIAGE:
            raise InvalidTransition(f"ticket {self.ticket_id} is not waiting for a dispatcher",
                                    current=self.status.value)
        if unit.kind is UnitKind.DISPATCHER:
            raise InvalidTransition(
                "a ticket is dispatched to a responsible unit, not back to triage",
                current=self.status.value)
        transfer = unit.kind is UnitKind.EMERGENCY
        status = check_transition(self.status, TicketStatus.TRANSFERRED if transfer
                                  else TicketStatus.DISPATCHED)
        reason = f"dispatched by {dispatcher} after triage ({self.rule_id})"
        sent = dataclasses.replace(
            self, unit=unit.code, category=category or self.category, status=status,
            disposition=Disposition.TRANSFERRED if transfer else Disposition.DISPATCHED,
            rule_id="manual-dispatch", route_reason=reason, claimed_by=None, claimed_at=None,
            emergency_service=(emergency_service if transfer else None) or self.emergency_service,
            version=self.version + 1, updated_at=at)
        kind = EventKind.TRANSFERRED if transfer else EventKind.DISPATCHED
        return sent._change(self, dispatcher, at, [(kind, {
            "from_unit": self.unit, "unit": sent.unit, "category": sent.category,
            "reason": reason, "emergency_service": sent.emergency_service})])

    def claim(self, unit: str, consumer: str, at: datetime) -> TicketChange:
        """签收: someone in the ticket's own unit signs for it."""
        if unit != self.unit:
            raise NotYourTicket(f"ticket {self.ticket_id} is not in unit {unit}'s queue")
        status = check_transition(self.status, TicketStatus.CLAIMED)
        claimed = dataclasses.replace(self, status=status, claimed_by=consumer, claimed_at=at,
                                      version=self.version + 1, updated_at=at)
        return claimed._change(self, consumer, at, [(EventKind.CLAIMED, {"unit": unit})])

    def _change(self, before: Ticket, actor: str | None, at: datetime,
                events: list[tuple[EventKind, Mapping[str, Any]]]) -> TicketChange:
        return TicketChange(
            ticket=self, expected_version=before.version,
            events=tuple(TicketEvent(event_id=event_id_for(self.ticket_id, self.version, i),
                                     ticket_id=self.ticket_id, version=self.version, kind=kind,
                                     actor=actor, occurred_at=at, detail=detail)
                         for i, (kind, detail) in enumerate(events)))


@dataclass(frozen=True, slots=True)
class TicketChange:
    """A ticket after a change, the version it must still have in the store, and the events."""

    ticket: Ticket
    expected_version: int  # 0: a new ticket
    events: tuple[TicketEvent, ...]

    @property
    def is_creation(self) -> bool:
        return self.expected_version == 0


_TICKET_NAMESPACE = uuid.UUID("6f1c0e52-12a4-5a45-9d7e-123450000000")


def ticket_id_for(call_id: str) -> str:
    """Deterministic: the same call always names the same ticket, whichever worker sees it."""
    return "T" + uuid.uuid5(_TICKET_NAMESPACE, call_id).hex[:20].upper()


def event_id_for(ticket_id: str, version: int, index: int = 0) -> str:
    return f"{ticket_id}.{version}.{index}"
