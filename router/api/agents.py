"""The agent desktop (坐席): suggestions while typing, creating a ticket from a call."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from connectors.exceptions import MalformedCallRecord
from connectors.intake.json_calls import parse_call_document
from router.api.context import ApiContext, Caller, Context, require_centre, shown
from router.api.schemas import (
    Alternative,
    CallAccepted,
    CallIn,
    SuggestionIn,
    SuggestionOut,
)
from router.domain.calls import CallRecord
from router.domain.errors import TransientFailure
from router.domain.tickets import Ticket
from router.ports import TicketStore

router = APIRouter(prefix="/api/v1", tags=["agent desktop"])


@router.post("/suggestions", response_model=SuggestionOut)
async def suggest(body: SuggestionIn, caller: Caller, ctx: Context) -> SuggestionOut:
    """Category, urgency and unit for a demand the agent is still typing; stores nothing."""
    require_centre(ctx, caller)
    config = ctx.components.config
    # Exactly the validation of intake: what the agent sees suggested is what would be taken.
    call = _parse(ctx, {"call_id": "suggestion", "hotline": body.hotline,
                        "channel": body.channel.value, "text": body.text,
                        "place_text": body.place_text})
    [assessment] = await asyncio.to_thread(ctx.components.service.assess, [call])
    decision, prediction = assessment.decision, assessment.prediction
    return SuggestionOut(
        category=prediction.category, confidence=prediction.confidence,
        alternatives=[Alternative(category=c, confidence=p) for c, p in prediction.alternatives],
        model_version=prediction.model_version, urgency=str(assessment.urgency.urgency),
        emergency_service=assessment.urgency.emergency_service, area=assessment.area,
        disposition=decision.disposition.value, unit=decision.unit,
        unit_name=config.routing.units[decision.unit].name, rule_id=decision.rule_id,
        reason=decision.reason)


@router.post("/calls", response_model=CallAccepted, status_code=status.HTTP_201_CREATED,
             responses={202: {"model": CallAccepted}, 422: {"description": "invalid call"},
                        409: {"description": "the call id names a ticket of a different call"},
                        503: {"description": "the broker did not take the call in time"}})
async def create_call(body: CallIn, caller: Caller, ctx: Context, response: Response
                      ) -> CallAccepted:
    """Create a ticket from a call. Answers 201 with the ticket once it exists, or 202 when
    it is still on its way after `intake_wait_seconds` (poll GET /api/v1/calls/{call_id})."""
    require_centre(ctx, caller)
    settings = ctx.components.settings
    document = body.model_dump(mode="json", exclude={"agent_id", "override"})
    document["call_id"] = body.call_id or f"DESK-{uuid.uuid4().hex}"
    if body.override and (body.override.category or body.override.unit):
        document["override"] = {**body.override.model_dump(), "agent_id": body.agent_id}
    call = _parse(ctx, document)
    repository = ctx.components.repository
    # A retry is sent again like a new call rather than looked for first (a look cost every
    # new call a database round trip): intake answers it with the ticket its id already has,
    # and a different call under a used id with that ticket too, refused below.
    notice = ctx.notices.expect(call.call_id)
    try:
        try:
            await ctx.submit(call.call_id,
                             json.dumps(document, ensure_ascii=False).encode("utf-8"))
        except TransientFailure:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                "intake did not confirm the call in time; send it again with"
                                " the same call_id (a repeat makes no second ticket)",
                                headers={"Retry-After": "5"}) from None
        ticket = await wait_for_ticket(repository, call.call_id,
                                       settings.api.intake_wait_seconds, notice)
    finally:
        ctx.notices.forget(call.call_id, notice)
    if ticket is None:
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"/api/v1/calls/{call.call_id}"
        return CallAccepted(call_id=call.call_id, state="accepted")
    await _refuse_a_different_call(repository, ticket, call)
    state = await _state(repository, call.call_id, ticket)
    return CallAccepted(call_id=call.call_id, state=state, ticket=shown(ctx, ticket))


def _parse(ctx: ApiContext, document: dict[str, Any]) -> CallRecord:
    """The stream's own validation, so the desktop hears about an error at once (422)."""
    try:
        return parse_call_document(document, ctx.components.config.hotlines,
                                   ctx.components.settings.max_text_chars,
                                   categories=ctx.components.classifier.categories)
    except MalformedCallRecord as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY,
                            {"reason": exc.reason.value, "detail": exc.detail}) from None


async def _refuse_a_different_call(store: TicketStore, ticket: Ticket, call: CallRecord
                                   ) -> None:
    """409 when the call id already names another call: its own ticket's, or the repeat
    counted on another ticket under that id."""
    if ticket.call_id == call.call_id:
        different = not ticket.is_same_call(call)
    else:
        reported = (await asyncio.to_thread(store.reported_calls, [call.call_id])).get(
            call.call_id)
        different = reported is not None and (reported.hotline, reported.text) != (
            call.hotline, call.text)
    if different:
        raise HTTPException(status.HTTP_409_CONFLICT, {
            "reason": "call_id_conflict",
            "detail": f"call id {call.call_id} already names ticket {ticket.ticket_id}"
                      " of a different call"})


@router.get("/calls/{call_id}", response_model=CallAccepted)
async def get_call(call_id: str, caller: Caller, ctx: Context) -> CallAccepted:
    require_centre(ctx, caller)
    ticket = await wait_for_ticket(ctx.components.repository, call_id, 0)
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no ticket for this call (yet)")
    state = await _state(ctx.components.repository, call_id, ticket)
    return CallAccepted(call_id=call_id, state=state, ticket=shown(ctx, ticket))


async def wait_for_ticket(store: TicketStore, call_id: str, wait_seconds: float,
                          notice: asyncio.Future[Ticket] | None = None) -> Ticket | None:
    """The call's ticket once it exists, or None after `wait_seconds`.

    Without a `notice`, the database is looked at now and then every so often. With one (a
    call just sent), the notice wakes the wait the moment this worker commits the ticket;
    the database is looked at only when it is slow to come, at growing pauses, for a call
    that another worker took (its partition moved meanwhile)."""
    deadline = time.monotonic() + wait_seconds
    pause = _FIRST_PAUSE_SECONDS
    while True:
        if notice is not None:
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(
                    asyncio.shield(notice), min(pause, max(deadline - time.monotonic(), 0.0)))
        found = await asyncio.to_thread(_ticket_of_call, store, call_id)
        if found is not None or time.monotonic() >= deadline:
            return found
        if notice is None:
            await asyncio.sleep(min(pause, max(deadline - time.monotonic(), 0.0)))
        pause = min(pause * 2, _LONGEST_PAUSE_SECONDS)


_FIRST_PAUSE_SECONDS, _LONGEST_PAUSE_SECONDS = 1.0, 2.0


async def _state(store: TicketStore, call_id: str, ticket: Ticket) -> str:
    """'ticketed' for the call's own ticket; else how it was counted on `ticket`."""
    if ticket.call_id == call_id:
        return "ticketed"
    reported = (await asyncio.to_thread(store.reported_calls, [call_id])).get(call_id)
    return reported.kind if reported is not None else "repeat"


def _ticket_of_call(store: TicketStore, call_id: str) -> Ticket | None:
    """The call's own ticket, or the open ticket it was counted on as a repeat (催办)."""
    own = store.find_by_call_ids([call_id]).get(call_id)
    if own is not None:
        return own
    reported = store.reported_calls([call_id]).get(call_id)
    if reported is None:
        return None
    holders = store.get_many([reported.ticket_id])
    return holders[0] if holders else None
