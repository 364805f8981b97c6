"""The responsible units (承办单位): each sees and works its own queue and tickets only.
Signing for comes with a claim from the queue; then contact, resolve, ask for an extension,
return to the dispatchers, suspend and resume, each on a ticket the unit holds (403 for
another unit's). The actor recorded is the person the token names, never the body's word
when the token names one."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from router.api.context import Caller, Context, Holder, actor, changed, require_unit, shown
from router.api.schemas import (
    AckIn,
    ClaimedTicket,
    ClaimIn,
    ContactIn,
    ExtensionIn,
    QueueOut,
    ResolveIn,
    ResumeIn,
    ReturnIn,
    SuspendIn,
    TicketOut,
)

router = APIRouter(prefix="/api/v1/units", tags=["units"])


@router.get("/{unit}/queue", response_model=QueueOut)
async def unit_queue(unit: str, caller: Caller, ctx: Context,
                     count: Annotated[int, Query(ge=1, le=1000)] = 50) -> QueueOut:
    """How much is waiting and pending in the unit's queue, and the newest entries."""
    require_unit(ctx, caller, unit)
    queues = ctx.components.queues
    depth = await asyncio.to_thread(queues.depth, unit)
    pending = await asyncio.to_thread(queues.pending, unit, count)
    recent = await asyncio.to_thread(queues.entries, unit, count)
    return QueueOut(
        unit=unit, waiting=depth["waiting"], urgent_waiting=depth["urgent_waiting"],
        pending=depth["pending"],
        pending_entries=[{"entry_id": p.entry_id, "consumer": p.consumer,
                          "idle_seconds": p.idle_seconds, "deliveries": p.deliveries}
                         for p in pending],
        recent_entries=[{"entry_id": e.entry_id, **e.fields} for e in recent])


@router.post("/{unit}/claims", response_model=list[ClaimedTicket])
async def claim(unit: str, body: ClaimIn, holder: Holder, ctx: Context
                ) -> list[ClaimedTicket]:
    """签收: take the next tickets from the unit's queue; they stay pending until acked.
    An entry whose ticket is no longer this unit's comes back without the ticket."""
    require_unit(ctx, holder, unit, to_work=True)
    consumer = actor(holder, body.consumer, "consumer")
    entries = await asyncio.to_thread(ctx.components.queues.claim, unit, consumer,
                                      body.count, body.reclaim_idle_seconds)
    signed = await ctx.desk.sign_for(unit, consumer,
                                     [(e.entry_id, e.ticket_id) for e in entries])
    return [ClaimedTicket(entry_id=s.entry_id,
                          ticket=shown(ctx, s.ticket) if s.ticket else None) for s in signed]


@router.post("/{unit}/acks")
async def acknowledge(unit: str, body: AckIn, caller: Caller, ctx: Context) -> dict[str, int]:
    """Done with these entries: they leave the unit's pending list."""
    require_unit(ctx, caller, unit, to_work=True)
    return {"acknowledged": await asyncio.to_thread(ctx.components.queues.acknowledge, unit,
                                                    body.entry_ids)}


_ANSWERS: dict[int | str, dict[str, str]] = {
    403: {"description": "not this unit's staff, or not this unit's ticket"},
    404: {"description": "no such unit or ticket"},
    409: {"description": "the ticket's state does not allow it (the body has its status)"},
}


@router.post("/{unit}/tickets/{ticket_id}/contact", response_model=TicketOut,
             responses=_ANSWERS)
async def contact(unit: str, ticket_id: str, body: ContactIn, caller: Caller, ctx: Context
                  ) -> TicketOut:
    """The unit reached the citizen: the first contact stops the first-response clock."""
    require_unit(ctx, caller, unit, to_work=True)
    who = actor(caller, body.actor_id, "actor_id")
    return await changed(ctx, ctx.desk.contact(unit, ticket_id, who, body.note))


@router.post("/{unit}/tickets/{ticket_id}/resolve", response_model=TicketOut,
             responses=_ANSWERS)
async def resolve(unit: str, ticket_id: str, body: ResolveIn, caller: Caller, ctx: Context
                  ) -> TicketOut:
    """办结, with the reply given to the citizen; the centre's callback clock starts."""
    require_unit(ctx, caller, unit, to_work=True)
    who = actor(caller, body.actor_id, "actor_id")
    return await changed(ctx, ctx.desk.resolve(unit, ticket_id, who, body.reply))


@router.post("/{unit}/tickets/{ticket_id}/extension-request", response_model=TicketOut,
             responses=_ANSWERS)
async def request_extension(unit: str, ticket_id: str, body: ExtensionIn, caller: Caller,
                            ctx: Context) -> TicketOut:
    """延期: ask the centre for a later resolution due time, before the current one passes."""
    require_unit(ctx, caller, unit, to_work=True)
    who = actor(caller, body.actor_id, "actor_id")
    return await changed(ctx, ctx.desk.request_extension(unit, ticket_id, who, body.reason,
                                                         body.due_at))


@router.post("/{unit}/tickets/{ticket_id}/return", response_model=TicketOut,
             responses=_ANSWERS)
async def return_ticket(unit: str, ticket_id: str, body: ReturnIn, caller: Caller,
                        ctx: Context) -> TicketOut:
    """退单: back to the dispatchers with a reason code; after the returns allowed the ticket
    waits for the centre's ruling (审定)."""
    require_unit(ctx, caller, unit, to_work=True)
    who = actor(caller, body.actor_id, "actor_id")
    return await changed(ctx, ctx.desk.return_ticket(unit, ticket_id, who, body.reason_code,
                                                     body.text))


@router.post("/{unit}/tickets/{ticket_id}/suspend", response_model=TicketOut,
             responses=_ANSWERS)
async def suspend(unit: str, ticket_id: str, body: SuspendIn, caller: Caller, ctx: Context
                  ) -> TicketOut:
    """挂起: waiting for the citizen; the resolution and first-response clocks pause."""
    require_unit(ctx, caller, unit, to_work=True)
    who = actor(caller, body.actor_id, "actor_id")
    return await changed(ctx, ctx.desk.suspend(unit, ticket_id, who, body.reason))


@router.post("/{unit}/tickets/{ticket_id}/resume", response_model=TicketOut,
             responses=_ANSWERS)
async def resume(unit: str, ticket_id: str, body: ResumeIn, caller: Caller, ctx: Context
                 ) -> TicketOut:
    require_unit(ctx, caller, unit, to_work=True)
    who = actor(caller, body.actor_id, "actor_id")
    return await changed(ctx, ctx.desk.resume(unit, ticket_id, who))
