"""The HTTP API: the agent desktop's intake and suggestions, and each unit's own queue.

Every route but the probes and /metrics needs `Authorization: Bearer <token>`. A unit's token
opens that unit's queue only; the dispatch centre's token is the centre's staff (agents and
dispatchers), who create tickets and may look at any unit.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text

from connectors.exceptions import MalformedCallRecord
from connectors.intake.json_calls import parse_call_document
from router.access import UnitTokens
from router.bootstrap import Components
from router.domain.calls import CallRecord, Channel
from router.domain.errors import InvalidTransition
from router.domain.tickets import Ticket
from router.pipeline import Publisher
from router.triage import TriageDesk, UnknownTarget, UnknownTicket

Submit = Callable[[str, bytes], Awaitable[None]]


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
    hotline: str
    channel: str
    received_at: datetime
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


class CallAccepted(BaseModel):
    call_id: str
    state: str = Field(description="'ticketed' when the ticket exists, else 'accepted'")
    ticket: TicketOut | None = None


class DispatchIn(BaseModel):
    unit: str = Field(..., description="the responsible unit, or an emergency line's unit")
    category: str | None = Field(None, description="the dispatcher's category, if it differs")
    dispatcher_id: str = Field(..., min_length=1, max_length=128)


class ClaimIn(BaseModel):
    consumer: str = Field(..., min_length=1, max_length=128, description="who signs for it")
    count: int = Field(1, ge=1, le=100)
    reclaim_idle_seconds: float | None = Field(
        None, ge=0, description="also take over entries a colleague left idle this long")


class ClaimedTicket(BaseModel):
    entry_id: str
    ticket: TicketOut | None


class AckIn(BaseModel):
    entry_ids: list[str] = Field(..., min_length=1, max_length=1000)


class QueueOut(BaseModel):
    unit: str
    waiting: int
    pending: int
    pending_entries: list[dict[str, Any]]
    recent_entries: list[dict[str, Any]]


def caller_unit(request: Request,
                authorization: Annotated[str | None, Header()] = None) -> str:
    """The unit whose token came with the request; 401 without a valid one."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    tokens: UnitTokens = request.app.state.unit_tokens
    unit = tokens.unit_of(token) if token else None
    if unit is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid unit token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    return unit


Caller = Annotated[str, Depends(caller_unit)]


def _ticket_out(ticket: Ticket) -> TicketOut:
    return TicketOut(
        ticket_id=ticket.ticket_id, call_id=ticket.call_id, hotline=ticket.hotline,
        channel=ticket.channel, received_at=ticket.received_at, status=ticket.status.value,
        disposition=ticket.disposition.value, unit=ticket.unit, rule_id=ticket.rule_id,
        reason=ticket.route_reason, category=ticket.category,
        suggested_category=ticket.suggested_category, confidence=ticket.confidence,
        model_version=ticket.model_version, urgency=ticket.urgency,
        emergency_service=ticket.emergency_service, area=ticket.area, text=ticket.text,
        place_text=ticket.place_text, caller_contact=ticket.caller_contact,
        claimed_by=ticket.claimed_by)


def create_api(components: Components, submit: Submit, publisher: Publisher) -> FastAPI:
    api = FastAPI(title="12345 hotline ticket router", version="0.1.0",
                  description=__doc__)
    config, repository, queues = components.config, components.repository, components.queues
    centre = config.routing.dispatcher_unit
    desk = TriageDesk(config.routing, components.classifier.categories, repository, queues,
                      publisher)

    api.state.unit_tokens = components.unit_tokens

    def require_centre(unit: str) -> None:
        if unit != centre:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only the dispatch centre may do this")

    def require_unit(caller: str, unit: str) -> None:
        if unit not in config.routing.units:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no unit {unit!r}")
        if caller not in (unit, centre):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "a unit sees only its own queue")

    @api.get("/healthz", tags=["probes"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz", tags=["probes"])
    async def readyz(response: Response) -> dict[str, str]:
        checks: dict[str, Callable[[], object]] = {"database": _check_database,
                                                   "redis": components.redis.ping}
        result = {}
        for name, check in checks.items():
            try:
                await asyncio.to_thread(check)
                result[name] = "ok"
            except Exception as exc:
                result[name] = type(exc).__name__
                response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return result

    def _check_database() -> None:
        with components.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    @api.get("/metrics", tags=["probes"], response_class=Response)
    async def metrics() -> Response:
        await asyncio.to_thread(_refresh_queue_gauges)
        return Response(generate_latest(components.metrics.registry),
                        media_type=CONTENT_TYPE_LATEST)

    def _refresh_queue_gauges() -> None:
        for unit in config.routing.units:
            depth = queues.depth(unit)
            components.metrics.queue_pending.labels(unit).set(
                depth["waiting"] + depth["pending"])

    @api.post("/api/v1/suggestions", response_model=SuggestionOut, tags=["agent desktop"])
    async def suggest(body: SuggestionIn, caller: Caller) -> SuggestionOut:
        """Category, urgency and unit for a demand the agent is still typing; stores nothing."""
        require_centre(caller)
        if body.hotline not in config.hotlines:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                                {"reason": "unknown_hotline", "detail": body.hotline})
        if len(body.text) > components.settings.max_text_chars:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                                {"reason": "text_too_long", "detail": len(body.text)})
        call = CallRecord(call_id="suggestion", hotline=body.hotline, channel=body.channel,
                          received_at=datetime.now().astimezone(), text=body.text,
                          place_text=body.place_text)
        [assessment] = await asyncio.to_thread(components.service.assess, [call])
        decision, prediction = assessment.decision, assessment.prediction
        return SuggestionOut(
            category=prediction.category, confidence=prediction.confidence,
            alternatives=[Alternative(category=c, confidence=p)
                          for c, p in prediction.alternatives],
            model_version=prediction.model_version, urgency=str(assessment.urgency.urgency),
            emergency_service=assessment.urgency.emergency_service, area=assessment.area,
            disposition=decision.disposition.value, unit=decision.unit,
            unit_name=config.routing.units[decision.unit].name, rule_id=decision.rule_id,
            reason=decision.reason)

    @api.post("/api/v1/calls", response_model=CallAccepted, tags=["agent desktop"],
              status_code=status.HTTP_201_CREATED,
              responses={202: {"model": CallAccepted}, 422: {"description": "invalid call"}})
    async def create_call(body: CallIn, caller: Caller, response: Response) -> CallAccepted:
        """Create a ticket from a call. Answers 201 with the ticket once it exists, or 202 when
        it is still on its way after `intake_wait_seconds` (poll GET /api/v1/calls/{call_id})."""
        require_centre(caller)
        document = body.model_dump(mode="json", exclude={"agent_id", "override"})
        document["call_id"] = body.call_id or f"DESK-{uuid.uuid4().hex}"
        if body.override and (body.override.category or body.override.unit):
            document["override"] = {**body.override.model_dump(), "agent_id": body.agent_id}
        try:  # the same validation as the stream's, so the desktop hears about errors at once
            call = parse_call_document(document, config.hotlines,
                                       components.settings.max_text_chars)
        except MalformedCallRecord as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                                {"reason": exc.reason.value, "detail": exc.detail}) from None
        await submit(call.call_id, json.dumps(document, ensure_ascii=False).encode("utf-8"))
        ticket = await _wait_for_ticket(call.call_id, components.settings.api.intake_wait_seconds)
        if ticket is None:
            response.status_code = status.HTTP_202_ACCEPTED
            response.headers["Location"] = f"/api/v1/calls/{call.call_id}"
            return CallAccepted(call_id=call.call_id, state="accepted")
        return CallAccepted(call_id=call.call_id, state="ticketed", ticket=_ticket_out(ticket))

    async def _wait_for_ticket(call_id: str, wait_seconds: float) -> Ticket | None:
        deadline = time.monotonic() + wait_seconds
        while True:
            found = await asyncio.to_thread(repository.find_by_call_ids, [call_id])
            if call_id in found or time.monotonic() >= deadline:
                return found.get(call_id)
            await asyncio.sleep(0.05)

    @api.get("/api/v1/calls/{call_id}", response_model=CallAccepted, tags=["agent desktop"])
    async def get_call(call_id: str, caller: Caller) -> CallAccepted:
        require_centre(caller)
        ticket = await _wait_for_ticket(call_id, 0)
        if ticket is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no ticket for this call (yet)")
        return CallAccepted(call_id=call_id, state="ticketed", ticket=_ticket_out(ticket))

    @api.post("/api/v1/tickets/{ticket_id}/dispatch", response_model=TicketOut,
              tags=["dispatch centre"],
              responses={404: {"description": "no such ticket"},
                         409: {"description": "the ticket is not waiting for a dispatcher"},
                         422: {"description": "unknown unit or category"}})
    async def dispatch(ticket_id: str, body: DispatchIn, caller: Caller) -> TicketOut:
        """人工分拨: send a ticket from the triage queue to a unit (or an emergency line).
        The dispatcher's category, when it differs from the model's, is kept as training data."""
        require_centre(caller)
        try:
            ticket = await desk.dispatch(ticket_id, body.unit, body.category, body.dispatcher_id)
        except UnknownTicket as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        except UnknownTarget as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
        except InvalidTransition as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return _ticket_out(ticket)

    @api.get("/api/v1/units/{unit}/queue", response_model=QueueOut, tags=["units"])
    async def unit_queue(unit: str, caller: Caller, count: int = 50) -> QueueOut:
        """How much is waiting and pending in the unit's queue, and the newest entries."""
        require_unit(caller, unit)
        depth = await asyncio.to_thread(queues.depth, unit)
        pending = await asyncio.to_thread(queues.pending, unit, count)
        recent = await asyncio.to_thread(queues.entries, unit, count)
        return QueueOut(
            unit=unit, waiting=depth["waiting"], pending=depth["pending"],
            pending_entries=[{"entry_id": p.entry_id, "consumer": p.consumer,
                              "idle_seconds": p.idle_seconds, "deliveries": p.deliveries}
                             for p in pending],
            recent_entries=[{"entry_id": e.entry_id, **e.fields} for e in recent])

    @api.post("/api/v1/units/{unit}/claims", response_model=list[ClaimedTicket], tags=["units"])
    async def claim(unit: str, body: ClaimIn, caller: Caller) -> list[ClaimedTicket]:
        """签收: take the next tickets from the unit's queue; they stay pending until acked."""
        require_unit(caller, unit)
        entries = await asyncio.to_thread(queues.claim, unit, body.consumer, body.count,
                                          body.reclaim_idle_seconds)
        ids = [e.ticket_id for e in entries]
        await asyncio.to_thread(repository.claim, unit, ids, body.consumer,
                                datetime.now().astimezone())
        found = {t.ticket_id: t for t in await asyncio.to_thread(repository.get_many, ids)}
        return [ClaimedTicket(entry_id=e.entry_id,
                              ticket=_ticket_out(found[e.ticket_id])
                              if e.ticket_id in found else None) for e in entries]

    @api.post("/api/v1/units/{unit}/acks", tags=["units"])
    async def acknowledge(unit: str, body: AckIn, caller: Caller) -> dict[str, int]:
        """Done with these entries: they leave the unit's pending list."""
        require_unit(caller, unit)
        return {"acknowledged": await asyncio.to_thread(queues.acknowledge, unit,
                                                        body.entry_ids)}

    return api
