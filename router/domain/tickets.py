"""The ticket (工单) and the statuses it may move through."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from router.domain.errors import InvalidTransition
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
    # a dispatcher who claimed a triage ticket then sends it on (see plan_manual_dispatch)
    TicketStatus.CLAIMED: frozenset({TicketStatus.DISPATCHED, TicketStatus.TRANSFERRED}),
    TicketStatus.TRANSFERRED: frozenset(),
}


def initial_status(disposition: Disposition) -> TicketStatus:
    return {
        Disposition.DISPATCHED: TicketStatus.DISPATCHED,
        Disposition.TRIAGE: TicketStatus.AWAITING_TRIAGE,
        Disposition.TRANSFERRED: TicketStatus.TRANSFERRED,
    }[disposition]


def statuses_that_may_become(target: TicketStatus) -> frozenset[TicketStatus]:
    return frozenset(status for status, targets in _ALLOWED.items() if target in targets)


def check_transition(current: TicketStatus, target: TicketStatus) -> TicketStatus:
    """`target`, if a ticket in `current` may move there; otherwise InvalidTransition."""
    if target not in _ALLOWED[current]:
        raise InvalidTransition(f"a ticket that is {current} cannot become {target}")
    return target


@dataclass(frozen=True, slots=True)
class Ticket:
    """A work order as created from one call."""

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
    handed_off_at: datetime | None = None
    claimed_by: str | None = None


_TICKET_NAMESPACE = uuid.UUID("6f1c0e52-12a4-5a45-9d7e-123450000000")


def ticket_id_for(call_id: str) -> str:
    """Deterministic: the same call always names the same ticket, whichever worker sees it."""
    return "T" + uuid.uuid5(_TICKET_NAMESPACE, call_id).hex[:20].upper()


@dataclass(frozen=True, slots=True)
class ManualDispatch:
    """A dispatcher's decision on a triage ticket (人工分拨), ready to be applied."""

    unit: str
    category: str
    status: TicketStatus
    disposition: Disposition
    rule_id: str
    reason: str
    emergency_service: str | None = None  # the line, when the unit is an emergency line


def plan_manual_dispatch(ticket: Ticket, unit: Unit, category: str | None, dispatcher: str,
                         emergency_service: str | None = None) -> ManualDispatch:
    """Where a dispatcher sends a ticket the machine was unsure of, or InvalidTransition."""
    if ticket.disposition is not Disposition.TRIAGE:
        raise InvalidTransition(f"ticket {ticket.ticket_id} is not waiting for a dispatcher")
    if unit.kind is UnitKind.DISPATCHER:
        raise InvalidTransition("a ticket is dispatched to a responsible unit, not back to triage")
    transfer = unit.kind is UnitKind.EMERGENCY
    status = check_transition(ticket.status, TicketStatus.TRANSFERRED if transfer
                              else TicketStatus.DISPATCHED)
    return ManualDispatch(
        unit=unit.code, category=category or ticket.category, status=status,
        disposition=Disposition.TRANSFERRED if transfer else Disposition.DISPATCHED,
        rule_id="manual-dispatch",
        reason=f"dispatched by {dispatcher} after triage ({ticket.rule_id})",
        emergency_service=emergency_service if transfer else None)
