"""The dispatch centre (派单中心): tickets the machine was unsure of or a unit returned, the
centre's decisions on a ticket's life (审定, 延期, 回访, merging, 督办), and any ticket's file.
Managers read every file; only the centre's staff act."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, status

from router.api.context import (
    Caller,
    Context,
    actor,
    changed,
    require_dispatcher,
    require_reader,
    shown,
)
from router.api.schemas import (
    CallbackIn,
    CloseIn,
    DispatchIn,
    EscalateIn,
    EventOut,
    ExtensionDecisionIn,
    MergeIn,
    RulingIn,
    TicketOut,
    event_out,
)
from router.domain.tickets import Ticket

router = APIRouter(prefix="/api/v1/tickets", tags=["dispatch centre"])

_ANSWERS: dict[int | str, dict[str, str]] = {
    403: {"description": "not the dispatch centre's staff"},
    404: {"description": "no such ticket"},
    409: {"description": "the ticket's state does not allow it (the body has its status)"},
}


@router.post("/{ticket_id}/dispatch", response_model=TicketOut,
             responses={**_ANSWERS, 422: {"description": "unknown unit or category"}})
async def dispatch(ticket_id: str, body: DispatchIn, caller: Caller, ctx: Context
                   ) -> TicketOut:
    """人工分拨: send a ticket from the triage queue, or one a unit returned, to a unit (or an
    emergency line). The dispatcher's category, when it differs from the model's, is kept as
    training data."""
    require_dispatcher(ctx, caller)
    who = actor(caller, body.dispatcher_id, "dispatcher_id")
    return await changed(ctx, ctx.desk.dispatch(ticket_id, body.unit, body.category, who))


@router.post("/{ticket_id}/ruling", response_model=TicketOut, responses=_ANSWERS)
async def rule(ticket_id: str, body: RulingIn, caller: Caller, ctx: Context) -> TicketOut:
    """审定: after the returns allowed, the centre fixes the unit; it cannot return it again."""
    require_dispatcher(ctx, caller)
    who = actor(caller, body.dispatcher_id, "dispatcher_id")
    return await changed(ctx, ctx.desk.rule(ticket_id, body.unit, who, body.note))


@router.post("/{ticket_id}/extension-decision", response_model=TicketOut, responses=_ANSWERS)
async def decide_extension(ticket_id: str, body: ExtensionDecisionIn, caller: Caller,
                           ctx: Context) -> TicketOut:
    """延期: grant (the resolution due time moves; the original is kept) or refuse."""
    require_dispatcher(ctx, caller)
    who = actor(caller, body.dispatcher_id, "dispatcher_id")
    return await changed(ctx, ctx.desk.decide_extension(ticket_id, body.grant, who, body.note))


@router.post("/{ticket_id}/callback", response_model=TicketOut, responses=_ANSWERS)
async def callback(ticket_id: str, body: CallbackIn, caller: Caller, ctx: Context
                   ) -> TicketOut:
    """回访: solved and not dissatisfied closes the ticket; not solved or dissatisfied reopens
    it with the same unit; a citizen not reached too often closes it unreached."""
    require_dispatcher(ctx, caller)
    who = actor(caller, body.dispatcher_id, "dispatcher_id")
    return await changed(ctx, ctx.desk.record_callback(ticket_id, who, body.reached,
                                                       body.solved, body.satisfaction,
                                                       body.note))


@router.post("/{ticket_id}/close", response_model=TicketOut, responses=_ANSWERS)
async def close(ticket_id: str, body: CloseIn, caller: Caller, ctx: Context) -> TicketOut:
    """Close a resolved ticket without a callback that reached the citizen."""
    require_dispatcher(ctx, caller)
    who = actor(caller, body.dispatcher_id, "dispatcher_id")
    return await changed(ctx, ctx.desk.close(ticket_id, who, body.reason))


@router.post("/{ticket_id}/merge", response_model=TicketOut, responses=_ANSWERS)
async def merge(ticket_id: str, body: MergeIn, caller: Caller, ctx: Context) -> TicketOut:
    """A duplicate: this ticket stops and is attached to `into`, which counts it."""
    require_dispatcher(ctx, caller)
    who = actor(caller, body.dispatcher_id, "dispatcher_id")
    return await changed(ctx, ctx.desk.merge(ticket_id, body.into, who))


@router.post("/{ticket_id}/escalate", response_model=TicketOut, responses=_ANSWERS)
async def escalate(ticket_id: str, body: EscalateIn, caller: Caller, ctx: Context
                   ) -> TicketOut:
    """督办: raise the ticket's supervision level."""
    require_dispatcher(ctx, caller)
    who = actor(caller, body.dispatcher_id, "dispatcher_id")
    return await changed(ctx, ctx.desk.escalate(ticket_id, who, body.reason))


async def _readable(ticket_id: str, caller: Caller, ctx: Context) -> Ticket:
    """The ticket, for the centre, a manager, or the unit holding it (403 for another)."""
    ticket = await asyncio.to_thread(ctx.components.repository.get, ticket_id)
    holds_it = ticket is not None and ticket.unit == caller.unit and not caller.is_manager
    if not holds_it:
        require_reader(ctx, caller)
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket {ticket_id}")
    return ticket


@router.get("/{ticket_id}", response_model=TicketOut, responses=_ANSWERS)
async def get_ticket(ticket_id: str, caller: Caller, ctx: Context) -> TicketOut:
    """A ticket as it stands now, with its clocks: the centre and managers see any, a unit
    the ones it holds."""
    return shown(ctx, await _readable(ticket_id, caller, ctx))


@router.get("/{ticket_id}/events", response_model=list[EventOut], responses=_ANSWERS)
async def ticket_events(ticket_id: str, caller: Caller, ctx: Context) -> list[EventOut]:
    """The ticket's audit trail, oldest first: who did what, when."""
    await _readable(ticket_id, caller, ctx)
    events = await asyncio.to_thread(ctx.components.repository.events, ticket_id)
    return [event_out(event) for event in events]
