"""The HTTP API's request and response bodies (pydantic), and how a ticket is shown."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from router.domain.calls import Channel
from router.domain.sla import Clock, SlaPolicy
from router.domain.tickets import ReturnReason, Satisfaction, Ticket, TicketEvent


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


class ClockOut(BaseModel):
    name: str
    round: int = Field(description="1, then +1 each time it starts again (a new unit)")
    phase: str = Field(description="running, paused or stopped")
    calendar: str
    target_seconds: float = Field(description="calendar time allowed, extensions included")
    started_at: datetime
    due_at: datetime | None = Field(description="None while paused")
    original_due_at: datetime = Field(description="the due time before any extension")
    elapsed_seconds: float = Field(description="calendar time used so far")
    remaining_seconds: float = Field(description="calendar time left; negative once breached")
    breached_at: datetime | None
    stopped_at: datetime | None
    crossed: list[str] = Field(description="warnings, breach and escalation steps passed")


class ExtensionRequestOut(BaseModel):
    reason: str
    due_at: datetime
    requested_by: str
    requested_at: datetime


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
    clocks: list[ClockOut] = Field(default_factory=list)
    return_count: int = 0
    returned_from: str | None = None
    ruled_unit: str | None = None
    reopen_count: int = 0
    escalation_level: int = 0
    merged_into: str | None = None
    duplicate_count: int = 0
    extension_request: ExtensionRequestOut | None = None
    first_contact_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    callback_attempts: int = 0
    solved: bool | None = None
    satisfaction: str | None = None
    responded_in_time: bool | None = None
    repeat_count: int = Field(0, description="催办: the caller's later calls counted on it")


class EventOut(BaseModel):
    event_id: str
    version: int
    kind: str
    actor: str | None
    occurred_at: datetime
    detail: dict[str, Any]


class CallAccepted(BaseModel):
    call_id: str
    state: str = Field(description="'ticketed' when its ticket exists; 'repeat' when it was"
                                    " counted on an open ticket of the same caller (催办);"
                                    " 'incident' when it was counted on the lead ticket of"
                                    " an open incident (other callers, the same matter);"
                                    " else 'accepted'")
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


def clock_out(clock: Clock, policy: SlaPolicy, now: datetime) -> ClockOut:
    calendar = policy.calendar(clock.calendar)
    elapsed = clock.elapsed_at(now, calendar)
    return ClockOut(
        name=clock.name.value, round=clock.round, phase=clock.phase.value,
        calendar=clock.calendar, target_seconds=clock.target.total_seconds(),
        started_at=clock.started_at, due_at=clock.due_at, original_due_at=clock.original_due_at,
        elapsed_seconds=elapsed.total_seconds(),
        remaining_seconds=(clock.target - elapsed).total_seconds(),
        breached_at=clock.breached_at, stopped_at=clock.stopped_at, crossed=list(clock.crossed))


def ticket_out(ticket: Ticket, policy: SlaPolicy | None = None, now: datetime | None = None
               ) -> TicketOut:
    """A ticket as the API shows it; with the policy, its clocks as they stand `now`."""
    moment = now or datetime.now(UTC)
    request = ticket.extension_request
    return TicketOut(
        clocks=[clock_out(c, policy, moment) for c in ticket.clocks] if policy else [],
        return_count=ticket.return_count, returned_from=ticket.returned_from,
        ruled_unit=ticket.ruled_unit, reopen_count=ticket.reopen_count,
        escalation_level=ticket.escalation_level, merged_into=ticket.merged_into,
        duplicate_count=ticket.duplicate_count,
        extension_request=ExtensionRequestOut(
            reason=request.reason, due_at=request.due_at, requested_by=request.requested_by,
            requested_at=request.requested_at) if request else None,
        first_contact_at=ticket.first_contact_at, resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at, callback_attempts=ticket.callback_attempts,
        solved=ticket.solved,
        satisfaction=ticket.satisfaction.value if ticket.satisfaction else None,
        responded_in_time=ticket.responded_in_time, repeat_count=ticket.repeat_count,
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


# -- the ticket's life ---------------------------------------------------------------------

Note = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500,
                                             strip_whitespace=True)]
ActorId = Annotated[str | None, Field(
    min_length=1, max_length=128,
    description="who did it; needed only with a token that names no person")]


class ContactIn(BaseModel):
    note: Note = Field(description="what was said to the citizen")
    actor_id: ActorId = None


class ResolveIn(BaseModel):
    reply: Note = Field(description="the answer given to the citizen (办结 reply)")
    actor_id: ActorId = None


class ExtensionIn(BaseModel):
    reason: ShortText
    due_at: AwareDatetime = Field(description="the resolution due time asked for, with offset")
    actor_id: ActorId = None


class ReturnIn(BaseModel):
    reason_code: ReturnReason = Field(description="wrong_place 属地不符, unclear_ownership"
                                                  " 权属不清, overlapping_duties 职能交叉, other")
    text: Annotated[str | None, StringConstraints(max_length=500)] = Field(
        None, description="required with reason_code other")
    actor_id: ActorId = None


class SuspendIn(BaseModel):
    reason: ShortText = Field(description="what the unit waits for from the citizen")
    actor_id: ActorId = None


class ResumeIn(BaseModel):
    actor_id: ActorId = None


class RulingIn(BaseModel):
    unit: str = Field(description="the unit that must handle it; it can no longer return it")
    note: Annotated[str | None, StringConstraints(max_length=500)] = None
    dispatcher_id: ActorId = None


class ExtensionDecisionIn(BaseModel):
    grant: bool
    note: Annotated[str | None, StringConstraints(max_length=500)] = None
    dispatcher_id: ActorId = None


class CallbackIn(BaseModel):
    reached: bool = Field(description="whether the citizen answered")
    solved: bool | None = Field(None, description="the citizen's word; required when reached")
    satisfaction: Satisfaction | None = Field(
        None, description="satisfied 满意, basically_satisfied 基本满意, unsatisfied 不满意;"
                          " required when reached")
    note: Annotated[str | None, StringConstraints(max_length=2000)] = None
    dispatcher_id: ActorId = None


class CloseIn(BaseModel):
    reason: ShortText
    dispatcher_id: ActorId = None


class MergeIn(BaseModel):
    into: str = Field(description="the ticket this one repeats")
    dispatcher_id: ActorId = None


class EscalateIn(BaseModel):
    reason: ShortText
    dispatcher_id: ActorId = None
