"""What each ticket event must tell the outside world (the transactional outbox's contents).

A change is saved together with the messages it causes, in one transaction; the relay then
delivers them. Deciding *which* messages a change causes is a domain rule, so it lives here:
- a ticket put in a queue (created for a unit or for the dispatchers, or sent on by a
  dispatcher) gets one entry in that unit's work queue;
- a ticket handed to an emergency line gets one transfer message;
- every event is announced on the ticket-events topic, without text or personal data.
One event makes one outbox entry holding all of its deliveries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from router.domain.routing import Disposition
from router.domain.tickets import EventKind, Ticket, TicketChange, TicketEvent


class Destination(StrEnum):
    UNIT_QUEUE = "unit_queue"  # the unit's Redis stream; `target` names the unit
    TICKET_EVENTS = "ticket_events"  # Kafka: every event, no personal data
    EMERGENCY_TRANSFERS = "emergency_transfers"  # Kafka: what 110/119/120/122 need to act


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one destination."""

    destination: Destination
    target: str | None
    key: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """What one event must tell the world: one outbox entry, delivered as a whole. Its id is
    the event's, so a redelivery after a crash is recognised (the unit queues' marker; the
    `event_id` in the Kafka messages)."""

    message_id: str
    ticket_id: str
    hotline: str
    deliveries: tuple[Delivery, ...]

    def dedupe_key(self, delivery: Delivery) -> str:
        return f"{self.message_id}:{delivery.destination.value}"


# Events that put the ticket in a queue: a unit's, or the dispatchers' after a return.
_HANDED_OVER = frozenset({EventKind.CREATED, EventKind.DISPATCHED, EventKind.TRANSFERRED,
                          EventKind.RULED, EventKind.RETURNED, EventKind.REOPENED})
# What of an event's detail the announcement carries: codes, counts and times, never the
# notes, replies or reasons people typed (they may name the citizen).
_ANNOUNCED_DETAIL = ("clock", "round", "level", "crossed_at", "due_at", "reason_code",
                     "returns", "needs_ruling", "reached", "solved", "satisfaction", "into",
                     "ticket_id", "reopens", "duplicates", "from_unit", "repeats",
                     "call_id", "channel")


def messages_for(changes: Sequence[TicketChange]) -> list[OutboxMessage]:
    return [OutboxMessage(message_id=event.event_id, ticket_id=event.ticket_id,
                          hotline=change.ticket.hotline,
                          deliveries=tuple(_deliveries(change.ticket, event)))
            for change in changes for event in change.events]


def _deliveries(ticket: Ticket, event: TicketEvent) -> list[Delivery]:
    deliveries = []
    if event.kind in _HANDED_OVER:
        if ticket.disposition is Disposition.TRANSFERRED:
            deliveries.append(Delivery(Destination.EMERGENCY_TRANSFERS, None, ticket.ticket_id,
                                       transfer_payload(ticket)))
        else:
            deliveries.append(Delivery(Destination.UNIT_QUEUE, ticket.unit, ticket.ticket_id,
                                       queue_payload(ticket)))
    deliveries.append(Delivery(Destination.TICKET_EVENTS, None, ticket.ticket_id,
                               event_payload(ticket, event)))
    return deliveries


# What cannot wait for the queue's turn: read before everything else in the unit's queue.
URGENT_LANE_URGENCIES = frozenset({"emergency", "2h"})


def queue_lane(ticket: Ticket) -> str:
    return "urgent" if ticket.urgency in URGENT_LANE_URGENCIES else "normal"


def queue_payload(ticket: Ticket) -> dict[str, str]:
    # No text and no caller contact in the queue: the unit reads those through the API.
    return {"ticket_id": ticket.ticket_id, "call_id": ticket.call_id, "hotline": ticket.hotline,
            "category": ticket.category, "urgency": ticket.urgency, "area": ticket.area or "",
            "received_at": ticket.received_at.isoformat(), "lane": queue_lane(ticket),
            "rule_id": ticket.rule_id}


def transfer_payload(ticket: Ticket) -> dict[str, Any]:
    # The emergency line needs everything to act: text, place and how to call back.
    return {"ticket_id": ticket.ticket_id, "call_id": ticket.call_id,
            "service": ticket.emergency_service, "unit": ticket.unit, "text": ticket.text,
            "place_text": ticket.place_text, "area": ticket.area,
            "caller_contact": ticket.caller_contact, "reason": ticket.route_reason,
            "received_at": ticket.received_at.isoformat()}


def event_payload(ticket: Ticket, event: TicketEvent) -> dict[str, Any]:
    return {
        "event": f"ticket.{event.kind.value}", "event_id": event.event_id,
        "version": event.version, "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor, "ticket_id": ticket.ticket_id, "call_id": ticket.call_id,
        "hotline": ticket.hotline, "channel": ticket.channel, "category": ticket.category,
        "confidence": ticket.confidence, "model_version": ticket.model_version,
        "urgency": ticket.urgency, "area": ticket.area, "disposition": ticket.disposition.value,
        "unit": ticket.unit, "status": ticket.status.value, "rule_id": ticket.rule_id,
        "received_at": ticket.received_at.isoformat(),
        "created_at": ticket.created_at.isoformat(),
        "detail": {key: event.detail[key] for key in _ANNOUNCED_DETAIL if key in event.detail},
    }
