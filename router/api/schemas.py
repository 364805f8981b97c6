"""The HTTP API's request and response bodies (pydantic), and how a ticket is shown."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from router.domain.calls import Channel
from router.domain.tickets import Ticket, TicketEvent


class OverrideIn(BaseModel):
    category: str | None = Field(None, description="the agent's category instead of the model's")
    unit: str | None = Field(None, description="a unit code to dispatch to instead")


class CallIn(BaseModel):
    call_id: str | None = Field(None, description="the CTI call id; send it so retries are safe")
    hotline: str = Field("12345", examples=["12345"])
    channel: Channel = Channel.PHONE
    received_at: datetime | None = None
    caller_contact: str | None = Field(None, max_length=500)
    text: str = Field(..., min_length=1, description="the citizen's demand, as recorded")
    place_text: str | None = Field(None, max_length=500)
    area: str | None = None
    agent_id: str | None = Field(None, max_length=64)
    override: OverrideIn | None = None


class SuggestionIn(BaseModel):
    text: str = Field(..., min_length=1)
    place_text: str | None = None
    hotline: str = "12345"
    channel: Channel = Channel.PHONE


class Alternative(BaseModel):
    category: str
    confidence: float


class SuggestionOut(BaseModel):
    category: str
    confidence: float
    alternatives: list[Alternative]
    model_version: str
    urgency: str
    emergency_service: str | None
    area: str | None
    disposition: str
    unit: str
    unit_name: str
    rule_id: str
    reason: str


class TicketOut(BaseModel):
    ticket_id: str
    call_id: str
    version: int = Field(description="changes so far; each change adds one")
    hotline: str
    channel: str
    received_at: datetime = Field(description="ISO 8601 with its offset (stored in UTC)")
    created_at: datetime
    updated_at: datetime | None
    status: str
    disposition: str
    unit: str
    rule_id: str
    reason: str
    category: str
    suggested_category: str
    confidence: float
    model_version: str
    urgency: str
    emergency_service: str | None
    area: str | None
    text: str
    place_text: str | None
    caller_contact: str | None
    claimed_by: str | None
    claimed_at: datetime | None


class EventOut(BaseModel):
    event_id: str
    version: int
    kind: str
    actor: str | None
    occurred_at: datetime
    detail: dict[str, Any]


class CallAccepted(BaseModel):
    call_id: str
    state: str = Field(description="'ticketed' when the ticket exists, else 'accepted'")
    ticket: TicketOut | None = None


class DispatchIn(BaseModel):
    unit: str = Field(..., description="the responsible unit, or an emergency line's unit")
    category: str | None = Field(None, description="the dispatcher's category, if it differs")
    dispatcher_id: str | None = Field(
        None, min_length=1, max_length=128,
        description="needed only with a token that names no person; a person's token wins")


class ClaimIn(BaseModel):
    consumer: str | None = Field(
        None, min_length=1, max_length=128,
        description="who signs for it; needed only with a token that names no person")
    count: int = Field(1, ge=1, le=100)
    reclaim_idle_seconds: float | None = Field(
        None, ge=0, le=30 * 24 * 3600,
        description="also take over entries a colleague left idle this long")


class ClaimedTicket(BaseModel):
    entry_id: str
    ticket: TicketOut | None


# a Redis stream id, with a "u" in front for the urgent lane
EntryId = Annotated[str, StringConstraints(pattern=r"^u?[0-9]{1,20}-[0-9]{1,20}$")]


class AckIn(BaseModel):
    entry_ids: list[EntryId] = Field(..., min_length=1, max_length=1000,
                                     description="Redis stream entry ids, as claims gave them")


class QueueOut(BaseModel):
    unit: str
    waiting: int
    urgent_waiting: int = Field(0, description="of `waiting`, the urgent lane: claimed first")
    pending: int
    pending_entries: list[dict[str, Any]]
    recent_entries: list[dict[str, Any]]


def ticket_out(ticket: Ticket) -> TicketOut:
    return TicketOut(
        ticket_id=ticket.ticket_id, call_id=ticket.call_id, version=ticket.version,
        hotline=ticket.hotline, channel=ticket.channel, received_at=ticket.received_at,
        created_at=ticket.created_at, updated_at=ticket.updated_at,
        status=ticket.status.value, disposition=ticket.disposition.value, unit=ticket.unit,
        rule_id=ticket.rule_id, reason=ticket.route_reason, category=ticket.category,
        suggested_category=ticket.suggested_category, confidence=ticket.confidence,
        model_version=ticket.model_version, urgency=ticket.urgency,
        emergency_service=ticket.emergency_service, area=ticket.area, text=ticket.text,
        place_text=ticket.place_text, caller_contact=ticket.caller_contact,
        claimed_by=ticket.claimed_by, claimed_at=ticket.claimed_at)


def event_out(event: TicketEvent) -> EventOut:
    return EventOut(event_id=event.event_id, version=event.version, kind=event.kind.value,
                    actor=event.actor, occurred_at=event.occurred_at, detail=dict(event.detail))
