"""The dispatch centre (派单中心): tickets the machine was unsure of, and any ticket's file."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, status

from router.api.context import Caller, Context, Holder, actor, conflict, require_centre
from router.api.schemas import DispatchIn, EventOut, TicketOut, event_out, ticket_out
from router.domain.errors import InvalidTransition
from router.ticket_desk import UnknownTarget, UnknownTicket

router = APIRouter(prefix="/api/v1/tickets", tags=["dispatch centre"])


@router.post("/{ticket_id}/dispatch", response_model=TicketOut,
             responses={404: {"description": "no such ticket"},
                        409: {"description": "not waiting for a dispatcher, or someone else"
                                             " sent it first; the body has its current status"},
                        422: {"description": "unknown unit or category"}})
async def dispatch(ticket_id: str, body: DispatchIn, holder: Holder, ctx: Context) -> TicketOut:
    """人工分拨: send a ticket from the triage queue to a unit (or an emergency line).
    The dispatcher's category, when it differs from the model's, is kept as training data."""
    require_centre(ctx, holder.unit)
    dispatcher = actor(holder, body.dispatcher_id, "dispatcher_id")
    try:
        ticket = await ctx.desk.dispatch(ticket_id, body.unit, body.category, dispatcher)
    except UnknownTicket as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except UnknownTarget as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    except InvalidTransition as exc:
        raise conflict(exc) from None
    return ticket_out(ticket)


@router.get("/{ticket_id}", response_model=TicketOut)
async def get_ticket(ticket_id: str, caller: Caller, ctx: Context) -> TicketOut:
    """A ticket as it stands now."""
    require_centre(ctx, caller)
    ticket = await asyncio.to_thread(ctx.components.repository.get, ticket_id)
    if ticket is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket {ticket_id}")
    return ticket_out(ticket)


@router.get("/{ticket_id}/events", response_model=list[EventOut])
async def ticket_events(ticket_id: str, caller: Caller, ctx: Context) -> list[EventOut]:
    """The ticket's audit trail, oldest first: who did what, when."""
    require_centre(ctx, caller)
    events = await asyncio.to_thread(ctx.components.repository.events, ticket_id)
    if not events:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no ticket {ticket_id}")
    return [event_out(event) for event in events]
